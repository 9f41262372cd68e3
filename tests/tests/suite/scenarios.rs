//! Every scenario file of the project (tests/scenarios and each rules/*/scenarios) must pass.

use reckon_sdk::scenario::run_paths;
use reckon_tests::root;

#[test]
fn every_scenario_passes() {
    let mut paths = vec![root().join("tests/scenarios")];
    for entry in std::fs::read_dir(root().join("rules")).expect("rules folder") {
        let scen = entry.expect("entry").path().join("scenarios");
        if scen.is_dir() {
            paths.push(scen);
        }
    }
    let report = run_paths(&paths);
    assert!(
        report.invalid.is_empty() && report.failed == 0,
        "{}",
        report.text()
    );
    assert!(
        report.passed >= 38,
        "expected every translated case to run, ran {}",
        report.passed
    );
}

#[test]
fn a_wrong_expectation_fails_with_the_differing_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = std::fs::read_to_string(
        root().join("tests/scenarios/schedules/bs-ex2-digix-advance-rfbd.yaml"),
    )
    .expect("case file");
    // The guide's printed (wrong) value must be reported as a mismatch, not accepted.
    let wrong = src.replacen("\"161.29\"", "\"160.00\"", 1);
    assert_ne!(wrong, src, "the case file holds the corrected stub amount");
    std::fs::write(dir.path().join("wrong.yaml"), wrong).expect("write");
    let report = run_paths(&[dir.path().to_path_buf()]);
    assert_eq!(
        (report.passed, report.failed, report.exit_code()),
        (0, 1, 1)
    );
    let text = report.text();
    assert!(
        text.contains("row 1 amount expected 160.00, got 161.29"),
        "{text}"
    );
    assert!(text.ends_with("0 passed, 1 failed\n"), "{text}");
}

#[test]
fn an_unclaimed_refusal_or_a_wrong_error_code_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = std::fs::read_to_string(
        root().join("tests/scenarios/schedules/error-unknown-product.yaml"),
    )
    .expect("case file");
    std::fs::write(
        dir.path().join("a.yaml"),
        src.replace("code: unknown_product", "code: end_before_start"),
    )
    .expect("write");
    let unclaimed: String = src
        .lines()
        .filter(|l| !l.contains("error: {code: unknown_product"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(
        dir.path().join("b.yaml"),
        unclaimed.replace("scenario: error-unknown-product", "scenario: unclaimed"),
    )
    .expect("write");
    let report = run_paths(&[dir.path().to_path_buf()]);
    assert_eq!(report.failed, 2, "{}", report.text());
}

#[test]
fn an_invalid_scenario_exits_2_with_its_position() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("bad.yaml"),
        "scenario: bad\nsteps:\n  - activate: O-1\n  - expect:\n      schedules: {line: O-1/L1, columns: [start, colour], rows: []}\n  - teleport: O-1\n",
    )
    .expect("write");
    let report = run_paths(&[dir.path().to_path_buf()]);
    assert_eq!(report.exit_code(), 2);
    let text = report.text();
    assert!(text.contains("bad.yaml:5:"), "{text}");
    assert!(text.contains("colour"), "{text}");
    assert!(
        text.contains("bad.yaml:6:5") && text.contains("teleport"),
        "{text}"
    );
}

/// `rules_errors`: a scenario passes only when its rules are refused with exactly the listed
/// errors; a missing, extra or differing error fails it, and steps are not allowed beside it.
#[test]
fn rules_errors_must_match_the_refusal_exactly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = std::fs::read_to_string(
        root().join("tests/scenarios/revenue/rr-17-split-percent-sum.yaml"),
    )
    .expect("case file");
    // The accepted split (30 + 70) loads, so the expected error is missing.
    let loads = src
        .replace("percent: 60", "percent: 70")
        .replace("scenario: rr-17-split-percent-sum", "scenario: loads");
    // Another code than the one the rules are refused with.
    let other = src
        .replace("code: split_percent_sum", "code: bad_split_entries")
        .replace("scenario: rr-17-split-percent-sum", "scenario: other");
    let stepped = src
        .replace("steps: []", "steps:\n  - activate: O-1")
        .replace("scenario: rr-17-split-percent-sum", "scenario: stepped");
    for (name, text) in [("a.yaml", &loads), ("b.yaml", &other), ("c.yaml", &src)] {
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    let report = run_paths(&[dir.path().to_path_buf()]);
    let text = report.text();
    assert_eq!((report.passed, report.failed), (1, 2), "{text}");
    assert!(
        text.contains("error 1 expected split_percent_sum, got no error"),
        "{text}"
    );
    assert!(
        text.contains("error 1 code expected bad_split_entries, got split_percent_sum"),
        "{text}"
    );
    std::fs::write(dir.path().join("d.yaml"), stepped).expect("write");
    let report = run_paths(&[dir.path().join("d.yaml")]);
    assert_eq!(report.exit_code(), 2, "{}", report.text());
    assert!(
        report.text().contains("write `steps: []`"),
        "{}",
        report.text()
    );
}

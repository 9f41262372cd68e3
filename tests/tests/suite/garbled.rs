//! Random and garbled YAML never panics the rule loader or the scenario parser; it is accepted or
//! rejected with positioned errors.

use proptest::prelude::*;
use reckon_engine::rules::load_str;
use reckon_sdk::scenario::parse_str;
use std::path::Path;

const VALID: &str = r#"billing_preferences:
  - {name: std, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}
payment_terms:
  - {name: net_30, default: true, start: invoice_date, offset: {days: 30}}
products:
  - code: ACE
    price_type: recurring
    list_price: "100.00"
    billing_frequency: monthly
    attributes: {tier: gold}
system: {batch_size: 100}
callbacks:
  tax: {wasm: tax.wasm, limits: {fuel: 1000}}
orders:
  - id: O-1
    account: A
    lines: [{id: L1, product: ACE, start: 2016-01-01, end: 2016-12-31}]
"#;

fn mutate(src: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut b: Vec<u8> = src.as_bytes().to_vec();
    const ALPHABET: &[u8] = b" \n\t-:{}[],'\"&*!|>#%@`?0123456789abcxyz.\\";
    for &(pos, op, ch) in edits {
        if b.is_empty() {
            break;
        }
        let i = pos % b.len();
        let c = ALPHABET[ch as usize % ALPHABET.len()];
        match op % 3 {
            0 => b[i] = c,
            1 => b.insert(i, c),
            _ => {
                b.remove(i);
            }
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn garbled_rule_files_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..12)) {
        let text = mutate(VALID, &edits);
        if let Err(errors) = load_str("garbled.yaml", &text) {
            prop_assert!(!errors.is_empty());
            for e in errors {
                prop_assert_eq!(e.file.as_str(), "garbled.yaml");
            }
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
        let _ = load_str("any.yaml", &text);
        let _ = parse_str("any.yaml", &text, Path::new("."));
    }

    #[test]
    fn garbled_scenarios_never_panic(edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)) {
        let src = format!("scenario: s\nrules:\n{}\nsteps:\n  - activate: O-1\n  - expect: {{total: {{line: O-1/L1, amount: \"1200.00\"}}}}\n",
            VALID.lines().map(|l| format!("  {l}")).collect::<Vec<_>>().join("\n"));
        let text = mutate(&src, &edits);
        if let Ok(s) = parse_str("s.yaml", &text, Path::new(".")) {
            let _ = s.run();
        }
    }
}

#[test]
fn the_unmutated_file_is_valid() {
    load_str("valid.yaml", VALID).expect("the base of the mutations is valid");
}

#[test]
fn alias_bombs_are_refused_not_expanded() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n",
            p = i - 1
        ));
    }
    let errors = load_str("bomb.yaml", &text).expect_err("refused");
    assert!(
        errors
            .iter()
            .any(|e| e.code == "syntax_error" && e.allowed.contains("too large")),
        "{errors:?}"
    );
}

//! The plugin host: load checks, the hostile suite (07 §11, H1–H14 as far as fixtures exist),
//! each failure followed by healthy calls on the same host that must stay byte-identical.

use reckon_engine::callbacks::{
    AccountInfo, DocumentKind, Invoice, Money, NumberingRequest, TaxRequest,
};
use reckon_plugin_host::calllog::Budget;
use reckon_plugin_host::plugin::{Kind, Plugin};
use reckon_plugin_host::{FailureKind, Limits, Point};
use reckon_tests::component_from_wat;
use std::collections::BTreeMap;

const HEALTHY_CALLS: usize = 10_000;

fn money(a: &str) -> Money {
    Money {
        amount: a.into(),
        currency: "USD".into(),
    }
}

fn invoice() -> Invoice {
    Invoice {
        id: "D-1".into(),
        account: AccountInfo {
            id: "A".into(),
            name: "Acme".into(),
            currency: "USD".into(),
            parent: None,
            legal_entity: None,
            address: None,
            tax_exempt: None,
            attributes: BTreeMap::new(),
        },
        currency: "USD".into(),
        invoice_date: "2016-03-05".into(),
        due_date: None,
        payment_term: None,
        bill_to: None,
        lines: vec![],
        subtotal: money("0.00"),
        tax: None,
        total: money("0.00"),
        run_name: None,
        group_key: None,
    }
}

fn tax_request() -> TaxRequest {
    TaxRequest {
        config: BTreeMap::new(),
        dry_run: false,
        document: DocumentKind::Invoice,
        invoice: invoice(),
    }
}

fn numbering_request(seq: u64) -> NumberingRequest {
    NumberingRequest {
        config: BTreeMap::new(),
        document: DocumentKind::Invoice,
        invoice: invoice(),
        prefix: "INV-".into(),
        sequence: seq,
    }
}

/// A core module for the tax world: `memory`, a bump `cabi_realloc`, the host `log` import, and
/// `calculate-tax` with BODY (which must leave the result area's address on the stack).
fn tax_wat(body: &str, memory_pages: u32) -> String {
    format!(
        r#"(module
  (import "reckon:plugins/host@0.1.0" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") {memory_pages})
  (global $heap (mut i32) (i32.const 65536))
  (func $realloc (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get 2) (i32.const 1)))
                           (i32.xor (i32.sub (local.get 2) (i32.const 1)) (i32.const -1))))
    (global.set $heap (i32.add (local.get $p) (local.get 3)))
    (block $done (loop $grow
      (br_if $done (i32.le_u (global.get $heap) (i32.shl (memory.size) (i32.const 16))))
      (if (i32.eq (memory.grow (i32.const 1)) (i32.const -1)) (then unreachable))
      (br $grow)))
    (local.get $p))
  (func $f (param i32) (result i32) {body})
  (func (export "calculate-tax") (param i32) (result i32) (call $f (local.get 0)))
)"#
    )
}

/// `ok([])`: result discriminant 0 and an empty list at address 16.
const OK_EMPTY: &str = "(i32.store8 (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 0)) (i32.store (i32.const 24) (i32.const 0)) (i32.const 16)";

fn wasm(body: &str, limits: Limits) -> Result<Plugin, reckon_plugin_host::PluginLoadError> {
    let bytes = component_from_wat("tax-calculator", &tax_wat(body, 2));
    Plugin::from_bytes(
        "fixture",
        Point::Tax,
        Kind::Wasm,
        "fixture.wasm",
        &bytes,
        limits,
        BTreeMap::new(),
    )
}

fn rhai(
    src: &str,
    point: Point,
    limits: Limits,
) -> Result<Plugin, reckon_plugin_host::PluginLoadError> {
    Plugin::from_bytes(
        "fixture",
        point,
        Kind::Rhai,
        "fixture.rhai",
        src.as_bytes(),
        limits,
        BTreeMap::new(),
    )
}

fn limits() -> Limits {
    Limits::default()
}

/// The healthy plugins the hostile calls share a host with; each must keep answering identically.
struct Healthy {
    wasm: Plugin,
    rhai: Plugin,
    wasm_reference: String,
    rhai_reference: String,
}

impl Healthy {
    fn new() -> Self {
        let wasm = wasm(OK_EMPTY, limits()).expect("healthy wasm loads");
        let rhai = rhai(r#"fn number_invoice(request) { request.prefix + year(request.invoice.invoice_date) + "-" + zero_pad(request.sequence, 6) }"#, Point::InvoiceNumbering, limits()).expect("healthy rhai loads");
        let wasm_reference =
            serde_json::to_string(&wasm.tax(&tax_request()).expect("healthy call")).expect("json");
        let rhai_reference = rhai
            .numbering(&numbering_request(1), &|_| false)
            .expect("healthy call");
        assert_eq!(rhai_reference, "INV-2016-000001");
        Healthy {
            wasm,
            rhai,
            wasm_reference,
            rhai_reference,
        }
    }

    fn still_healthy(&self, calls: usize) {
        let req = tax_request();
        let nreq = numbering_request(1);
        for _ in 0..calls {
            assert_eq!(
                serde_json::to_string(&self.wasm.tax(&req).expect("healthy")).expect("json"),
                self.wasm_reference
            );
            assert_eq!(
                self.rhai.numbering(&nreq, &|_| false).expect("healthy"),
                self.rhai_reference
            );
        }
    }
}

fn expect_kind<T: std::fmt::Debug>(
    r: Result<T, reckon_plugin_host::PluginFailure>,
    kind: FailureKind,
    reason: Option<&str>,
) {
    let f = match r {
        Ok(v) => panic!("the hostile call must fail ({kind}), it returned {v:?}"),
        Err(f) => f,
    };
    assert_eq!(f.kind, kind, "{f}");
    if let Some(reason) = reason {
        assert_eq!(f.reason.as_deref(), Some(reason), "{f}");
    }
}

fn on_big_stack(f: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(f)
        .expect("thread")
        .join()
        .expect("no abort, no panic");
}

/// Every case of `plugins/testdata/hostile/cases.yaml`: the typed failure, no abort, under 2 s,
/// then 10,000 healthy calls on the same host, byte-identical to the reference.
#[test]
fn hostile_suite_fails_typed_and_the_host_stays_healthy() {
    on_big_stack(|| {
        let dir = reckon_tests::root().join("plugins/testdata/hostile");
        let manifest: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(dir.join("cases.yaml")).expect("manifest"),
        )
        .expect("yaml");
        let cases = manifest["cases"].as_sequence().expect("cases");
        assert!(cases.len() >= 20, "the suite lost cases");
        let healthy = Healthy::new();
        for case in cases {
            let name = case["name"].as_str().expect("name");
            let file = dir.join(case["file"].as_str().expect("file"));
            let src = std::fs::read_to_string(&file).expect("fixture");
            let lim = limits().merged(Some(&case["limits"]));
            let kind = case["kind"].as_str().expect("kind");
            let reason = case.get("reason").and_then(|r| r.as_str());
            let t0 = std::time::Instant::now();
            let failure = match case["runtime"].as_str() {
                Some("wasm") => wasm(src.trim(), lim)
                    .unwrap_or_else(|e| panic!("{name}: loads: {e}"))
                    .tax(&tax_request())
                    .map(|v| format!("{v:?}")),
                _ => rhai(&src, Point::InvoiceNumbering, lim)
                    .unwrap_or_else(|e| panic!("{name}: loads: {e}"))
                    .numbering(&numbering_request(1), &|_| false),
            }
            .expect_err(name);
            assert!(
                t0.elapsed() < std::time::Duration::from_secs(2),
                "{name} took {:?}",
                t0.elapsed()
            );
            assert_eq!(failure.kind.as_str(), kind, "{name}: {failure}");
            if let Some(reason) = reason {
                assert_eq!(failure.reason.as_deref(), Some(reason), "{name}: {failure}");
            }
            healthy.still_healthy(HEALTHY_CALLS);
        }
        drop(healthy);
        assert_pool_drains();
    });
}

/// After the hostile calls, no pool slot is leaked: every component instance, core instance,
/// memory and table the calls took is back (07 §11). Other tests of this binary may be calling
/// plugins at this moment, so the pool is polled until it is empty; a leaked slot never comes
/// back and fails the test.
fn assert_pool_drains() {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let in_use = reckon_plugin_host::wasm::pool_in_use().expect("the pooling allocator");
        if in_use == (0, 0, 0, 0) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "pool slots still in use after the hostile suite (component instances, core instances, memories, tables): {in_use:?}"
        );
        std::thread::yield_now();
    }
}

/// The pool check can fail: while a store is alive its slots show as in use.
#[test]
fn pool_metrics_see_a_live_instance() {
    let p = wasm(OK_EMPTY, limits()).expect("loads");
    p.tax(&tax_request()).expect("healthy call");
    let held = p
        .as_wasm()
        .expect("wasm")
        .hold_instance_for_test()
        .expect("instance");
    let (components, cores, memories, _) =
        reckon_plugin_host::wasm::pool_in_use().expect("the pooling allocator");
    assert!(
        components >= 1 && cores >= 1 && memories >= 1,
        "{components} {cores} {memories}"
    );
    drop(held);
}

#[test]
fn oversized_aliasing_output_is_refused_with_bounded_allocation() {
    on_big_stack(|| {
        // H7: 100,000 line-tax entries whose line-id all alias one 1 MiB string at 4 MiB.
        let body = r#"
          (local $i i32) (local $a i32)
          (drop (memory.grow (i32.const 100)))
          (local.set $i (i32.const 0))
          (loop $l
            (local.set $a (i32.add (i32.const 131072) (i32.mul (local.get $i) (i32.const 32))))
            (i32.store (local.get $a) (i32.const 4194304))
            (i32.store offset=4 (local.get $a) (i32.const 1048576))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
          (i32.store8 (i32.const 16) (i32.const 0)) (i32.store (i32.const 20) (i32.const 131072)) (i32.store (i32.const 24) (i32.const 100000))
          (i32.const 16)"#;
        let p = wasm(body, limits()).expect("loads");
        expect_kind(p.tax(&tax_request()), FailureKind::OutputTooLarge, None);
    });
}

#[test]
fn wasm_load_checks_name_their_reason() {
    let reason = |bytes: &[u8], point: Point, lim: Limits| {
        Plugin::from_bytes(
            "x",
            point,
            Kind::Wasm,
            "x.wasm",
            bytes,
            lim,
            BTreeMap::new(),
        )
        .expect_err("refused")
        .reason
    };
    let core = wat::parse_str("(module)").expect("wat");
    assert_eq!(reason(&core, Point::Tax, limits()), "not_a_component");
    assert_eq!(
        reason(b"definitely not wasm", Point::Tax, limits()),
        "invalid_wasm"
    );
    let good = component_from_wat("tax-calculator", &tax_wat(OK_EMPTY, 2));
    assert_eq!(
        reason(&good[..good.len() / 2], Point::Tax, limits()),
        "invalid_wasm"
    );
    assert_eq!(
        reason(&vec![0u8; 5 << 20], Point::Tax, limits()),
        "too_large"
    );
    // The right artefact for another point.
    assert_eq!(
        reason(&good, Point::InvoiceNumbering, limits()),
        "world_mismatch"
    );
    // H11: authority the contract does not grant.
    for (import, want) in [
        ("wasi:clocks/monotonic-clock@0.2.0", "forbidden_import"),
        ("acme:net/http@1.0.0", "unknown_import"),
        ("reckon:plugins/host@0.2.0", "unknown_import"),
    ] {
        let component = wat::parse_str(format!("(component (import \"{import}\" (instance)))"))
            .expect("component WAT");
        let e = Plugin::from_bytes(
            "x",
            Point::Tax,
            Kind::Wasm,
            "x.wasm",
            &component,
            limits(),
            BTreeMap::new(),
        )
        .expect_err("refused");
        assert_eq!(e.reason, want, "{import}: {e}");
        assert!(e.message.contains(import), "{e}");
    }
    // H11: tax-us built with std imports WASI and is refused, naming the import.
    let std_build = std::fs::read(reckon_tests::example_wasm("tax-us-std")).expect("tax-us-std");
    let e = Plugin::from_bytes(
        "tax_us_std",
        Point::Tax,
        Kind::Wasm,
        "tax-us-std.wasm",
        &std_build,
        limits(),
        BTreeMap::new(),
    )
    .expect_err("a std build is refused");
    assert_eq!(e.reason, "forbidden_import", "{e}");
    assert!(e.message.contains("imports wasi:"), "{e}");
    // H3: a declared minimum over the cap is refused at load.
    let big = component_from_wat("tax-calculator", &tax_wat(OK_EMPTY, 1000));
    assert_eq!(
        reason(
            &big,
            Point::Tax,
            Limits {
                memory_mib: 32,
                ..limits()
            }
        ),
        "memory_too_large"
    );
}

#[test]
fn rhai_output_shape_errors_name_the_field() {
    let p = rhai(
        r#"fn calculate_tax(r) { [#{line_id: "a", breakups: []}] }"#,
        Point::Tax,
        limits(),
    )
    .expect("loads");
    let f = p.tax(&tax_request()).expect_err("missing tax");
    assert_eq!(
        (f.kind, f.reason.as_deref(), f.path.as_deref()),
        (
            FailureKind::InvalidOutput,
            Some("missing_field"),
            Some("[0].tax")
        )
    );
    let p = rhai(r#"fn calculate_tax(r) { [#{line_id: "a", tax: #{amount: "0", currency: "USD"}, breakups: [], extra: 1}] }"#, Point::Tax, limits()).expect("loads");
    let f = p.tax(&tax_request()).expect_err("extra field");
    assert_eq!(
        (f.reason.as_deref(), f.path.as_deref()),
        (Some("unknown_field"), Some("[0].extra"))
    );
}

#[test]
fn rhai_load_checks_name_their_reason() {
    let reason = |src: &[u8]| {
        Plugin::from_bytes(
            "x",
            Point::InvoiceNumbering,
            Kind::Rhai,
            "x.rhai",
            src,
            limits(),
            BTreeMap::new(),
        )
        .expect_err("refused")
        .reason
    };
    assert_eq!(
        reason(b"fn number_invoice(r) { eval(\"1\") }"),
        "invalid_script"
    );
    assert_eq!(
        reason(b"import \"x\" as y; fn number_invoice(r) { 1 }"),
        "invalid_script"
    );
    assert_eq!(
        reason(
            format!(
                "fn number_invoice(r) {{ {}1{} }}",
                "(".repeat(10_000),
                ")".repeat(10_000)
            )
            .as_bytes()
        ),
        "invalid_script"
    );
    assert_eq!(reason(&[0xff, 0xfe, 0x00]), "not_utf8");
    assert_eq!(reason(&vec![b' '; 300 * 1024]), "too_large");
    assert_eq!(reason(b"fn something_else(r) { 1 }"), "world_mismatch");
    assert_eq!(reason(b"fn number_invoice(a, b) { 1 }"), "world_mismatch");
}

#[test]
fn top_level_code_never_runs_and_state_never_leaks() {
    // H12: a top-level loop is never executed; H14: mutating the request changes nothing next time.
    let p = rhai(
        "loop {} fn number_invoice(r) { r.prefix += \"X\"; r.prefix + zero_pad(r.sequence, 3) }",
        Point::InvoiceNumbering,
        limits(),
    )
    .expect("loads");
    let req = numbering_request(7);
    let first = p.numbering(&req, &|_| false).expect("the call succeeds");
    for _ in 0..100 {
        assert_eq!(p.numbering(&req, &|_| false).expect("same"), first);
    }
    assert_eq!(first, "INV-X007");
}

#[test]
fn oversized_input_never_reaches_the_plugin() {
    // H10: the input is measured first; the script would otherwise log.
    let p = rhai(
        "fn number_invoice(r) { print(\"called\"); \"N1\" }",
        Point::InvoiceNumbering,
        Limits {
            max_input_kib: 1,
            ..limits()
        },
    )
    .expect("loads");
    let mut req = numbering_request(1);
    req.invoice.id = "x".repeat(2048);
    expect_kind(
        p.numbering(&req, &|_| false),
        FailureKind::InputTooLarge,
        None,
    );
}

/// Every example's case files through the `plugin test` path: output equal to `*.expected.json`
/// (an expected `{"error": {kind, reason}}` names the failure instead).
#[test]
fn examples_pass_their_case_files() {
    let root = reckon_tests::root().join("plugins/examples");
    let wasm = [
        ("tax-us", Point::Tax),
        ("zero-tax", Point::Tax),
        ("ssp-allocator", Point::RevenueAllocation),
    ];
    let rhai = [
        ("group_by_ready_date", Point::InvoiceGrouping),
        ("numbering", Point::InvoiceNumbering),
        ("run_filter_segment", Point::InvoiceRunFilter),
    ];
    let mut ran = 0;
    let mut cases: Vec<(std::path::PathBuf, std::path::PathBuf, Point, Kind)> = Vec::new();
    for (name, point) in wasm {
        cases.push((
            reckon_tests::example_wasm(name),
            root.join(name).join("cases"),
            point,
            Kind::Wasm,
        ));
    }
    for (name, point) in rhai {
        cases.push((
            root.join("rhai").join(format!("{name}.rhai")),
            root.join("rhai/cases").join(name),
            point,
            Kind::Rhai,
        ));
    }
    for (plugin_path, case_dir, point, kind) in cases {
        let plugin = Plugin::load(
            "example",
            point,
            kind,
            &plugin_path,
            limits(),
            BTreeMap::new(),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", plugin_path.display()));
        let Ok(entries) = std::fs::read_dir(&case_dir) else {
            continue;
        };
        let mut inputs: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().ends_with(".input.json"))
            .collect();
        inputs.sort();
        for input in inputs {
            let expected_path = std::path::PathBuf::from(
                input
                    .to_string_lossy()
                    .replace(".input.json", ".expected.json"),
            );
            let request: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&input).expect("input"))
                    .expect("input JSON");
            let expected: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&expected_path).expect("expected"))
                    .expect("expected JSON");
            let got = plugin
                .call_json(&request)
                .unwrap_or_else(|e| panic!("{}: not a request: {e}", input.display()));
            match (expected.get("error"), got) {
                (Some(err), Err(f)) => {
                    assert_eq!(err["kind"], f.kind.as_str(), "{}: {f}", input.display());
                    if let Some(r) = err.get("reason") {
                        assert_eq!(r.as_str(), f.reason.as_deref(), "{}: {f}", input.display());
                    }
                }
                (Some(_), Ok(text)) => panic!("{}: expected an error, got {text}", input.display()),
                (None, Err(f)) => panic!("{}: failed: {f}", input.display()),
                (None, Ok(text)) => {
                    let got: serde_json::Value = serde_json::from_str(&text).expect("output JSON");
                    assert_eq!(got, expected, "{}", input.display());
                }
            }
            ran += 1;
        }
    }
    assert!(
        ran >= 10,
        "expected the example case files to run, ran {ran}"
    );
}

#[test]
fn calls_are_deterministic_and_thread_safe() {
    // 07 §11: 100 calls with one input give byte-identical output; 8 threads × 1,000 calls equal
    // a serial run.
    let tax_us = std::sync::Arc::new(
        Plugin::load(
            "tax_us",
            Point::Tax,
            Kind::Wasm,
            &reckon_tests::example_wasm("tax-us"),
            limits(),
            BTreeMap::new(),
        )
        .expect("tax-us loads"),
    );
    let input = reckon_tests::root().join("plugins/examples/tax-us/cases/ca_taxable.input.json");
    let request: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(input).expect("case")).expect("json");
    let reference = tax_us.call_json(&request).expect("request").expect("ok");
    // The fuel a call used (07 §9 `--stats`, §11 determinism): the same on every fresh store.
    let fuel = reckon_plugin_host::plugin::last_call_budget().expect("a budget");
    assert!(
        matches!(fuel, Budget::Fuel(n) if n > 0 && n < limits().fuel),
        "{fuel:?}"
    );
    for _ in 0..100 {
        assert_eq!(
            tax_us.call_json(&request).expect("request").expect("ok"),
            reference
        );
        assert_eq!(reckon_plugin_host::plugin::last_call_budget(), Some(fuel));
    }
    // Rhai counts operations the same way.
    let numbering = rhai(
        r#"fn number_invoice(r) { let n = 0; for i in 0..10 { n += i; } r.prefix + n }"#,
        Point::InvoiceNumbering,
        limits(),
    )
    .expect("loads");
    let mut seen = None;
    for _ in 0..100 {
        assert_eq!(
            numbering
                .numbering(&numbering_request(1), &|_| false)
                .expect("ok"),
            "INV-45"
        );
        let ops = reckon_plugin_host::plugin::last_call_budget();
        assert!(
            matches!(ops, Some(Budget::Operations(n)) if n > 10),
            "{ops:?}"
        );
        assert!(seen.is_none() || seen == ops, "{seen:?} then {ops:?}");
        seen = ops;
    }
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let p = tax_us.clone();
            let req = request.clone();
            std::thread::spawn(move || {
                (0..1_000)
                    .map(|_| p.call_json(&req).expect("request").expect("ok"))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for t in threads {
        for out in t.join().expect("no panic") {
            assert_eq!(out, reference);
        }
    }
}

mod mapping {
    //! 07 §11 mapping: request → JSON → request is the identity, the allocation-free size walk
    //! equals the JSON length, and JSON → Rhai → JSON is the identity.
    use proptest::prelude::*;
    use reckon_engine::callbacks::{
        Address, GroupingRequest, Line, LineGroup, Money, ProductInfo, RunInfo,
    };
    use reckon_plugin_host::rhai_host::{from_dynamic, to_dynamic};
    use std::collections::BTreeMap;

    fn text() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 _./é\"\\\\-]{0,12}"
    }

    fn line() -> impl Strategy<Value = Line> {
        (
            text(),
            text(),
            proptest::option::of(text()),
            any::<bool>(),
            any::<bool>(),
            (0i64..10_000_000),
            proptest::collection::btree_map(text(), text(), 0..3),
        )
            .prop_map(
                |(id, code, postal, taxable, exempt, cents, attributes)| Line {
                    id,
                    account_id: "A".into(),
                    order_id: None,
                    order_line_id: Some("O-1/L1".into()),
                    product: ProductInfo {
                        code,
                        name: "P".into(),
                        price_type: "recurring".into(),
                        tax_code: None,
                        revenue_policy: None,
                        attributes: BTreeMap::new(),
                    },
                    location: None,
                    ship_to: postal.map(|p| Address {
                        postal_code: Some(p),
                        ..Default::default()
                    }),
                    quantity: "1".into(),
                    amount: Money {
                        amount: rust_decimal::Decimal::new(cents, 2).to_string(),
                        currency: "USD".into(),
                    },
                    period_start: "2016-01-01".into(),
                    period_end: "2016-01-31".into(),
                    ready_for_invoice: "2016-01-01".into(),
                    payment_term: "net_30".into(),
                    taxable,
                    tax_inclusive: false,
                    tax_code: None,
                    exempt,
                    attributes,
                },
            )
    }

    fn request() -> impl Strategy<Value = GroupingRequest> {
        (
            proptest::collection::vec(line(), 0..6),
            proptest::collection::btree_map(text(), text(), 0..3),
        )
            .prop_map(|(lines, config)| {
                let ids = lines.iter().map(|l| l.id.clone()).collect();
                GroupingRequest {
                    config,
                    run: RunInfo {
                        name: "r".into(),
                        kind: "invoice".into(),
                        dry_run: true,
                        process_through: None,
                        invoice_date: None,
                        period: Some("2016-01".into()),
                    },
                    account: reckon_engine::callbacks::AccountInfo {
                        id: "A".into(),
                        name: "Acme".into(),
                        currency: "USD".into(),
                        parent: None,
                        legal_entity: None,
                        address: None,
                        tax_exempt: None,
                        attributes: BTreeMap::new(),
                    },
                    lines,
                    default_groups: vec![LineGroup {
                        key: "A".into(),
                        line_ids: ids,
                    }],
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        #[test]
        fn json_round_trips_and_the_size_walk_is_exact(req in request()) {
            let json = serde_json::to_vec(&req).unwrap();
            prop_assert_eq!(reckon_engine::validate::json_size(&req), json.len());
            let back: GroupingRequest = serde_json::from_slice(&json).unwrap();
            prop_assert_eq!(back, req);
        }

        #[test]
        fn rhai_maps_round_trip(req in request()) {
            let v = serde_json::to_value(&req).unwrap();
            prop_assert_eq!(from_dynamic(&to_dynamic(&v), "").unwrap(), v.clone());
            // The engine's direct path (typed request → Rhai) gives the same maps.
            let via_serde = rhai::serde::to_dynamic(&req).unwrap();
            prop_assert_eq!(from_dynamic(&via_serde, "").unwrap(), v.clone());
            // The host's direct conversion (interned strings, shared sub-records) gives the
            // same maps, with the same Rhai types.
            let direct = reckon_plugin_host::rhai_conv::ToRhai::to_rhai(&req);
            prop_assert_eq!(from_dynamic(&direct, "").unwrap(), v);
            prop_assert_eq!(format!("{direct:?}"), format!("{via_serde:?}"));
        }
    }
}

//! `reckon bench --plugins`: the plugin benchmarks of 07 §12 (B1–B4), each against a native Rust
//! implementation of the same callback measured in the same run.

use reckon_engine::callbacks as cb;
use reckon_plugin_host::plugin::{Kind, Plugin};
use reckon_plugin_host::rhai_conv::ToRhai;
use reckon_plugin_host::{Limits, Point};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;
use std::time::Instant;

fn money(a: &str) -> cb::Money {
    cb::Money {
        amount: a.into(),
        currency: "USD".into(),
    }
}

fn account() -> cb::AccountInfo {
    cb::AccountInfo {
        id: "ACME".into(),
        name: "Acme".into(),
        currency: "USD".into(),
        parent: None,
        legal_entity: None,
        address: None,
        tax_exempt: None,
        attributes: BTreeMap::new(),
    }
}

fn line(i: usize, ready: &str) -> cb::Line {
    cb::Line {
        id: format!("S-{i}"),
        account_id: "ACME".into(),
        order_id: Some("O-1".into()),
        order_line_id: Some("O-1/L1".into()),
        product: cb::ProductInfo {
            code: "P".into(),
            name: "Product".into(),
            price_type: "recurring".into(),
            tax_code: Some("SAAS".into()),
            revenue_policy: None,
            attributes: BTreeMap::new(),
        },
        location: None,
        ship_to: Some(cb::Address {
            postal_code: Some("94105".into()),
            country: Some("US".into()),
            region: Some("CA".into()),
            city: Some("San Francisco".into()),
            ..Default::default()
        }),
        quantity: "1".into(),
        amount: money("100.00"),
        period_start: "2016-03-01".into(),
        period_end: "2016-03-31".into(),
        ready_for_invoice: ready.into(),
        payment_term: "net_30".into(),
        taxable: true,
        tax_inclusive: false,
        tax_code: Some("SAAS".into()),
        exempt: false,
        attributes: BTreeMap::new(),
    }
}

fn tax_request(n: usize) -> cb::TaxRequest {
    let lines: Vec<cb::Line> = (0..n).map(|i| line(i, "2016-03-20")).collect();
    cb::TaxRequest {
        config: BTreeMap::new(),
        dry_run: false,
        document: cb::DocumentKind::Invoice,
        invoice: cb::Invoice {
            id: "D-1".into(),
            account: account(),
            currency: "USD".into(),
            invoice_date: "2016-03-20".into(),
            due_date: None,
            payment_term: None,
            bill_to: None,
            lines,
            subtotal: money("0.00"),
            tax: None,
            total: money("0.00"),
            run_name: None,
            group_key: None,
        },
    }
}

fn grouping_request(n: usize) -> cb::GroupingRequest {
    let dates = ["2016-03-20", "2016-04-20", "2016-05-20", "2016-06-20"];
    let lines: Vec<cb::Line> = (0..n).map(|i| line(i, dates[i % 4])).collect();
    let ids = lines.iter().map(|l| l.id.clone()).collect();
    cb::GroupingRequest {
        config: BTreeMap::new(),
        run: cb::RunInfo {
            name: "run".into(),
            kind: "invoice".into(),
            dry_run: false,
            process_through: Some("2016-06-30".into()),
            invoice_date: Some("2016-06-30".into()),
            period: None,
        },
        account: account(),
        lines,
        default_groups: vec![cb::LineGroup {
            key: "ACME".into(),
            line_ids: ids,
        }],
    }
}

/// Native zero tax, validated like a plugin's output.
fn native_zero_tax(req: &cb::TaxRequest) -> Vec<cb::LineTax> {
    let out: Vec<cb::LineTax> = req
        .invoice
        .lines
        .iter()
        .map(|l| cb::LineTax {
            line_id: l.id.clone(),
            tax: money("0.00"),
            breakups: vec![],
        })
        .collect();
    reckon_engine::validate::tax(req, &out, 1024).expect("valid");
    out
}

/// Native split by ready date, validated like a plugin's output.
fn native_grouping(req: &cb::GroupingRequest) -> Vec<cb::LineGroup> {
    let ready: BTreeMap<&str, &str> = req
        .lines
        .iter()
        .map(|l| (l.id.as_str(), l.ready_for_invoice.as_str()))
        .collect();
    let mut out = Vec::new();
    for c in &req.default_groups {
        let mut by: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for id in &c.line_ids {
            by.entry(ready[id.as_str()]).or_default().push(id.clone());
        }
        for (d, ids) in by {
            out.push(cb::LineGroup {
                key: format!("{}/{d}", c.key),
                line_ids: ids,
            });
        }
    }
    reckon_engine::validate::grouping(req, &out, 1024).expect("valid");
    out
}

/// Seconds of CPU time this thread has used. On a shared machine a benchmark's wall clock also
/// counts the time other processes hold the cores; the thread's CPU clock counts only this
/// thread's own work (the same calls, fresh stores and drops included), so figures from a busy
/// machine stay comparable. Falls back to the wall clock where there is no such clock.
pub fn thread_cpu_seconds() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
        if unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64()
}

fn time_per_call(calls: usize, mut f: impl FnMut()) -> f64 {
    // Median of 5 runs, µs of thread CPU time per call.
    let mut runs: Vec<f64> = (0..5)
        .map(|_| {
            let t0 = thread_cpu_seconds();
            for _ in 0..calls {
                f();
            }
            (thread_cpu_seconds() - t0) * 1e6 / calls as f64
        })
        .collect();
    runs.sort_by(|a, b| a.total_cmp(b));
    runs[2]
}

/// Whether benchmark `id` runs: all of them, unless `RECKON_BENCH_ONLY` lists some
/// (`RECKON_BENCH_ONLY=B2,B3`, for profiling one of them).
fn only(id: &str) -> bool {
    std::env::var("RECKON_BENCH_ONLY").map_or(true, |v| v.split(',').any(|x| x.trim() == id))
}

/// Run B1–B4 with plugins from `examples` (the `plugins/examples` folder, built).
pub fn run(examples: &Path, calls: usize) -> String {
    let mut out = String::new();
    let dist = examples.join("dist");
    let load = |name: &str, point| {
        let t0 = Instant::now();
        let p = Plugin::load(
            name,
            point,
            Kind::Wasm,
            &dist.join(format!("{name}.wasm")),
            Limits::default(),
            BTreeMap::new(),
        );
        (p, t0.elapsed().as_secs_f64() * 1e3)
    };
    let (zero, _) = load("zero-tax", Point::Tax);
    let (tax_us, tax_us_ms) = load("tax-us", Point::Tax);
    let (Ok(zero), Ok(tax_us)) = (zero, tax_us) else {
        let _ = writeln!(
            out,
            "plugin benchmarks skipped: build the examples with plugins/examples/build.sh"
        );
        return out;
    };
    let req1 = tax_request(1);
    if only("B1") {
        let wasm_us = time_per_call(calls, || {
            zero.tax(&req1).expect("zero-tax");
        });
        let native_us = time_per_call(calls, || {
            native_zero_tax(&req1);
        });
        let _ = writeln!(out, "B1 WASM call, zero-tax, 1 line (fresh store + instantiate + call + validate): {wasm_us:.2} µs/call; native Rust: {native_us:.2} µs/call; ratio {:.1}×", wasm_us / native_us);
        if let Some(w) = zero.as_wasm() {
            let median = |fresh: bool| {
                let mut runs: Vec<f64> = (0..5)
                    .filter_map(|_| {
                        w.bench_tax_calls(&req1, calls, fresh, &thread_cpu_seconds)
                            .ok()
                    })
                    .map(|s| s * 1e6 / calls as f64)
                    .collect();
                runs.sort_by(|a, b| a.total_cmp(b));
                runs.get(runs.len() / 2).copied()
            };
            if let (Some(fresh), Some(warm)) = (median(true), median(false)) {
                let _ = writeln!(out, "   B1 as 07 §12 defines it, same converted input: fresh store + instantiate + call {fresh:.2} µs − warm call on one instance {warm:.2} µs = per-call overhead {:.2} µs (target ≤ 5 µs)", fresh - warm);
            }
        }
    }
    if only("B2") {
        for n in [1usize, 20, 200] {
            let req = tax_request(n);
            let per = time_per_call((calls / n.max(1)).max(100), || {
                tax_us.tax(&req).expect("tax-us");
            });
            let _ = writeln!(
                out,
                "B2 tax-us, {n} lines: {per:.2} µs/call ({:.2} µs/line)",
                per / n as f64
            );
        }
    }
    let mut rhai_ms = f64::NAN;
    if only("B3") {
        let script = examples.join("rhai/group_by_ready_date.rhai");
        let t0 = Instant::now();
        let rhai = Plugin::load(
            "group_by_ready_date",
            Point::InvoiceGrouping,
            Kind::Rhai,
            &script,
            Limits::default(),
            BTreeMap::new(),
        );
        rhai_ms = t0.elapsed().as_secs_f64() * 1e3;
        match rhai {
            Ok(rhai) => {
                let req = grouping_request(10);
                let r_us = time_per_call(calls / 4, || {
                    rhai.grouping(&req).expect("grouping");
                });
                let n_us = time_per_call(calls / 4, || {
                    native_grouping(&req);
                });
                let _ = writeln!(out, "B3 Rhai group_by_ready_date, 10 lines, 4 dates (input conversion included): {r_us:.2} µs/call; native Rust: {n_us:.2} µs/call; ratio {:.1}×", r_us / n_us);
                // The input conversion alone: the host's direct, interning conversion against
                // the generic serde one it replaced (same request, same maps).
                let direct_us = time_per_call(calls / 4, || {
                    drop(std::hint::black_box(req.to_rhai()));
                });
                let serde_us = time_per_call(calls / 4, || {
                    drop(std::hint::black_box(
                        reckon_plugin_host::rhai_conv::via_serde(&req),
                    ));
                });
                let _ = writeln!(out, "   B3 input conversion: direct {direct_us:.2} µs; through serde (the earlier path) {serde_us:.2} µs; ratio {:.1}×", serde_us / direct_us);
            }
            Err(e) => {
                let _ = writeln!(out, "B3 skipped: {e}");
            }
        }
    }
    let _ = writeln!(out, "B4 load: tax-us component {tax_us_ms:.1} ms (compile + checks); Rhai script {rhai_ms:.2} ms");
    out
}

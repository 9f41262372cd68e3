//! `reckon bench --changes N`: N asset-based amendments (03 A) on lines of 36 monthly schedules
//! each, with the same-run baseline of the sled store against the in-memory store. The book is
//! ⌈N / 4⌉ lines over three years, one account each; each line's first year is invoiced (one auto-approved run)
//! before anything is timed, so the amendments net, credit and draw as well as replace. Each line
//! is then amended four times, mid-month, in its second and third years (quantity 2, 3, 2, 4);
//! every amendment is one atomic, durable commit. Only the amendments are timed.

use chrono::NaiveDate;
use reckon_engine::changes::Amend;
use reckon_engine::model::{Account, Order};
use reckon_engine::rules::{RuleLoader, RuleSet};
use reckon_engine::store::{MemStore, SledStore, Store};
use reckon_engine::Engine;
use rust_decimal::Decimal;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

const RULES: &str = r#"
system: {batch_size: 500}
billing_preferences:
  - {name: bdom1, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}
products:
  - {code: SAAS, name: Platform, price_type: recurring, list_price: "120.00", selling_frequency: monthly, billing_frequency: monthly, billing_rule: advance}
"#;

/// Amendments per line.
const PER_LINE: usize = 4;

fn rules() -> Result<RuleSet, String> {
    let mut l = RuleLoader::new();
    l.add_text("bench-changes.yaml", RULES);
    l.finish().map_err(|e| format!("bench rules: {}", e[0]))
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "date".to_string())
}

/// Activate `lines` lines of 36 monthly schedules and invoice their first year.
fn book(engine: &Engine, lines: usize) -> Result<(), String> {
    let start = date(2026, 1, 1)?;
    let mut ids = Vec::with_capacity(lines);
    for i in 0..lines {
        let acct: Account = serde_yaml::from_str(&format!("{{id: A{i:06}, currency: USD}}"))
            .map_err(|e| e.to_string())?;
        engine.upsert_account(acct).map_err(|e| e.to_string())?;
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{i}, account: A{i:06}, order_date: 2026-01-01, lines: [{{id: L1, product: SAAS, start: 2026-01-01, end: 2028-12-31}}]}}"
        ))
        .map_err(|e| e.to_string())?;
        engine.submit_order(order).map_err(|e| e.to_string())?;
        ids.push(format!("O-{i}"));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    for r in engine
        .activate_all(&refs, start)
        .map_err(|e| e.to_string())?
    {
        r.map_err(|e| e.to_string())?;
    }
    let step: serde_yaml::Value = serde_yaml::from_str(
        "{name: YEAR1, process_through: 2026-12-31, invoice_date: 2026-12-31, auto_approve: true}",
    )
    .map_err(|e| e.to_string())?;
    engine
        .invoice_run_step(&step, date(2026, 12, 31)?)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Time `n` amendments on a fresh book in `store`; returns the seconds.
fn measure(store: Arc<dyn Store>, n: usize) -> Result<f64, String> {
    let engine = Engine::new(store, rules()?);
    let lines = n.div_ceil(PER_LINE);
    book(&engine, lines)?;
    let plan = [
        (date(2027, 2, 16)?, 2),
        (date(2027, 8, 16)?, 3),
        (date(2028, 2, 16)?, 2),
        (date(2028, 8, 16)?, 4),
    ];
    let t0 = Instant::now();
    let mut done = 0;
    'all: for (on, q) in plan {
        for i in 0..lines {
            if done == n {
                break 'all;
            }
            engine
                .amend(&Amend {
                    line: format!("O-{i}/L1"),
                    on,
                    quantity: Some(Decimal::from(q)),
                    ..Default::default()
                })
                .map_err(|e| e.to_string())?;
            done += 1;
        }
    }
    Ok(t0.elapsed().as_secs_f64())
}

/// Run the benchmark with `n` amendments in memory and on sled.
pub fn run(n: usize) -> String {
    let mut out = String::new();
    let lines = n.div_ceil(PER_LINE);
    let _ = writeln!(
        out,
        "{n} amendments on {lines} lines of 36 monthly schedules (first year invoiced), {PER_LINE} per line:"
    );
    let tmp = std::env::temp_dir().join(format!("reckon-bench-changes-{}", std::process::id()));
    let mem = measure(Arc::new(MemStore::new()), n);
    let sled = SledStore::open(&tmp)
        .map_err(|e| e.to_string())
        .and_then(|s| measure(Arc::new(s), n));
    let _ = std::fs::remove_dir_all(&tmp);
    for (label, r) in [
        ("in-memory store", &mem),
        ("sled store (durable commits)", &sled),
    ] {
        match r {
            Ok(s) => {
                let _ = writeln!(
                    out,
                    "  {label:<30} {n:>8} changes in {s:>8.3} s = {:>9.0} changes/s",
                    n as f64 / s
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  {label:<30} failed: {e}");
            }
        }
    }
    if let (Ok(m), Ok(s)) = (mem, sled) {
        let _ = writeln!(out, "  ratio sled / in-memory: {:.2}×", s / m);
    }
    out
}

//! `reckon bench --usage N`: rate N usage inputs (03 B) with the same-run baseline of the sled
//! store against the in-memory store. The book is ⌈N / 100,000⌉ usage lines of one year (12
//! monthly rows, graduated tiers), one account each. Inputs are loaded and rated in batches of
//! 10,000 in usage-date order (one atomic, durable commit per load and per rate step); each rate
//! step re-rates every touched row once, pricing only the inputs attached since the row was last
//! priced, so throughput does not fall as rows fill. Loading and rating are timed separately.

use chrono::NaiveDate;
use reckon_engine::model::{Account, Order};
use reckon_engine::rules::{RuleLoader, RuleSet};
use reckon_engine::store::{MemStore, SledStore, Store};
use reckon_engine::usage::rating::{LoadUsage, RateUsage};
use reckon_engine::Engine;
use rust_decimal::Decimal;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

const RULES: &str = r#"
billing_preferences:
  - {name: bdom1, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}
usage_tiers:
  - {name: G, model: graduated, tiers: [{up_to: 1000, unit_price: "0.05"}, {up_to: 100000, unit_price: "0.04"}, {unit_price: "0.03"}]}
products:
  - {code: API, name: API calls, price_type: usage, billing_rule: arrears, usage_tiers: G}
"#;

/// Inputs per line.
const PER_LINE: usize = 100_000;
/// Inputs per load and rate step.
const BATCH: usize = 10_000;

fn rules() -> Result<RuleSet, String> {
    let mut l = RuleLoader::new();
    l.add_text("bench-usage.yaml", RULES);
    l.finish().map_err(|e| format!("bench rules: {}", e[0]))
}

fn book(engine: &Engine, lines: usize) -> Result<(), String> {
    let mut ids = Vec::with_capacity(lines);
    for i in 0..lines {
        let acct: Account = serde_yaml::from_str(&format!("{{id: A{i:06}, currency: USD}}"))
            .map_err(|e| e.to_string())?;
        engine.upsert_account(acct).map_err(|e| e.to_string())?;
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{i}, account: A{i:06}, order_date: 2026-01-01, lines: [{{id: L1, product: API, start: 2026-01-01, end: 2026-12-31}}]}}"
        ))
        .map_err(|e| e.to_string())?;
        engine.submit_order(order).map_err(|e| e.to_string())?;
        ids.push(format!("O-{i}"));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    for r in engine
        .activate_all(&refs, start)
        .map_err(|e| e.to_string())?
    {
        r.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Load and rate `n` inputs on a fresh book in `store`: (load seconds, rate seconds, Σ rated).
fn measure(store: Arc<dyn Store>, n: usize) -> Result<(f64, f64, Decimal), String> {
    let engine = Engine::new(store, rules()?);
    let lines = n.div_ceil(PER_LINE).max(1);
    book(&engine, lines)?;
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    let (mut load, mut rate) = (0.0, 0.0);
    let mut done = 0;
    while done < n {
        let k = BATCH.min(n - done);
        let batch: Vec<LoadUsage> = (done..done + k)
            .map(|j| LoadUsage {
                line: format!("O-{}/L1", j % lines),
                // Dates advance through the year with the input number.
                date: first + chrono::Days::new((j as u64 * 365) / n as u64),
                quantity: Decimal::from(1 + (j % 7) as i64),
                start: None,
                end: None,
                uom: None,
                description: None,
            })
            .collect();
        let t0 = Instant::now();
        engine.load_usage_batch(&batch).map_err(|e| e.to_string())?;
        load += t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let run = engine
            .rate_usage(&RateUsage::default())
            .map_err(|e| e.to_string())?;
        rate += t1.elapsed().as_secs_f64();
        if run.rated as usize != k {
            return Err(format!("rated {} of {k}", run.rated));
        }
        done += k;
    }
    let mut total = Decimal::ZERO;
    for i in 0..lines {
        total += engine
            .line_total(&format!("O-{i}/L1"))
            .map_err(|e| e.to_string())?;
    }
    Ok((load, rate, total))
}

/// Run the benchmark with `n` inputs in memory and on sled.
pub fn run(n: usize) -> String {
    let mut out = String::new();
    let lines = n.div_ceil(PER_LINE).max(1);
    let _ = writeln!(
        out,
        "{n} usage inputs on {lines} lines of 12 monthly usage rows (graduated tiers), loaded and rated in batches of {BATCH}:"
    );
    let tmp = std::env::temp_dir().join(format!("reckon-bench-usage-{}", std::process::id()));
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
            Ok((l, s, total)) => {
                let _ = writeln!(
                    out,
                    "  {label:<30} rate {n:>9} inputs in {s:>8.3} s = {:>9.0} inputs/s (load {:>8.3} s = {:>9.0} inputs/s); rated total {total}",
                    n as f64 / s,
                    l,
                    n as f64 / l
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  {label:<30} failed: {e}");
            }
        }
    }
    if let (Ok(m), Ok(s)) = (&mem, &sled) {
        let _ = writeln!(
            out,
            "  ratio sled / in-memory (rating time): {:.2}×",
            s.1 / m.1
        );
        if m.2 != s.2 {
            let _ = writeln!(out, "  MISMATCH: the two stores rated different totals");
        }
    }
    out
}

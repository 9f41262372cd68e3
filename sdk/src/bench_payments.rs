//! `reckon bench --payments N`: N payments auto-applied (05 §2.2) over the open invoices of
//! ⌈N / 10⌉ accounts, then the A/R aging (05 §5) over the same book, each measured on the
//! in-memory store and on sled (durable commits) in the same run. Each account has one line of
//! 12 monthly schedules of 100.00, billed by two auto-approved runs (two invoices of 600.00,
//! due on receipt); it then pays 10 × 100.00, each payment one atomic commit applied oldest due first.
//! Only the payments and the aging are timed.

use chrono::NaiveDate;
use reckon_engine::model::{Account, Order};
use reckon_engine::receivables::payments::{ApplyMode, PaymentRequest};
use reckon_engine::rules::{RuleLoader, RuleSet};
use reckon_engine::store::{MemStore, SledStore, Store};
use reckon_engine::Engine;
use rust_decimal::Decimal;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

const RULES: &str = r#"
system: {batch_size: 500}
payment_terms:
  - {name: upon_receipt, label: Due upon Receipt, default: true}
billing_preferences:
  - {name: bdom1, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}
products:
  - {code: SAAS, name: Platform, price_type: recurring, list_price: "100.00", selling_frequency: monthly, billing_frequency: monthly, billing_rule: advance}
"#;

/// Payments per account.
const PER_ACCOUNT: usize = 10;

fn rules() -> Result<RuleSet, String> {
    let mut l = RuleLoader::new();
    l.add_text("bench-payments.yaml", RULES);
    l.finish().map_err(|e| format!("bench rules: {}", e[0]))
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "date".to_string())
}

fn book(engine: &Engine, accounts: usize) -> Result<(), String> {
    let mut ids = Vec::with_capacity(accounts);
    for i in 0..accounts {
        let acct: Account = serde_yaml::from_str(&format!("{{id: A{i:06}, currency: USD}}"))
            .map_err(|e| e.to_string())?;
        engine.upsert_account(acct).map_err(|e| e.to_string())?;
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{i}, account: A{i:06}, order_date: 2026-01-01, lines: [{{id: L1, product: SAAS, start: 2026-01-01, end: 2026-12-31}}]}}"
        ))
        .map_err(|e| e.to_string())?;
        engine.submit_order(order).map_err(|e| e.to_string())?;
        ids.push(format!("O-{i}"));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    for r in engine
        .activate_all(&refs, date(2026, 1, 1)?)
        .map_err(|e| e.to_string())?
    {
        r.map_err(|e| e.to_string())?;
    }
    for (name, through) in [("H1", date(2026, 6, 30)?), ("H2", date(2026, 12, 31)?)] {
        let step: serde_yaml::Value = serde_yaml::from_str(&format!(
            "{{name: {name}, process_through: {through}, invoice_date: {through}, auto_approve: true}}"
        ))
        .map_err(|e| e.to_string())?;
        engine
            .invoice_run_step(&step, through)
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// (payments seconds, aging seconds, the aging total) on a fresh book in `store`.
fn measure(store: Arc<dyn Store>, n: usize) -> Result<(f64, f64, Decimal), String> {
    let engine = Engine::new(store, rules()?);
    let accounts = n.div_ceil(PER_ACCOUNT);
    book(&engine, accounts)?;
    let on = date(2027, 1, 15)?;
    let t0 = Instant::now();
    let mut done = 0;
    'all: for k in 0..PER_ACCOUNT {
        for i in 0..accounts {
            if done == n {
                break 'all;
            }
            let req = PaymentRequest {
                account: format!("A{i:06}"),
                amount: Decimal::new(10_000, 2),
                currency: None,
                on,
                method: Some("bench".into()),
                external_id: Some(format!("P{k}")),
                apply: Some(ApplyMode::Auto),
            };
            engine.payment(&req, on).map_err(|e| e.to_string())?;
            done += 1;
        }
    }
    let pay = t0.elapsed().as_secs_f64();
    let ids: Vec<String> = (0..accounts).map(|i| format!("A{i:06}")).collect();
    let set = engine.aging_buckets(None).map_err(|e| e.to_string())?;
    let t1 = Instant::now();
    let aging = engine
        .aging(&ids, "USD", date(2027, 3, 31)?, &set, false)
        .map_err(|e| e.to_string())?;
    let age = t1.elapsed().as_secs_f64();
    let total = aging.rows.last().map(|r| r.total).unwrap_or_default();
    Ok((pay, age, total))
}

/// Run the benchmark with `n` payments in memory and on sled.
pub fn run(n: usize) -> String {
    let mut out = String::new();
    let accounts = n.div_ceil(PER_ACCOUNT);
    let _ = writeln!(
        out,
        "{n} payments auto-applied over {accounts} accounts (two open invoices of 600.00 each), then the aging of the book:"
    );
    let tmp = std::env::temp_dir().join(format!("reckon-bench-payments-{}", std::process::id()));
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
            Ok((p, a, total)) => {
                let _ = writeln!(
                    out,
                    "  {label:<30} {n:>8} payments in {p:>8.3} s = {:>9.0} payments/s; aging of {accounts} accounts in {a:>7.3} s = {:>9.0} accounts/s (open A/R {total})",
                    n as f64 / p,
                    accounts as f64 / a
                );
            }
            Err(e) => {
                let _ = writeln!(out, "  {label:<30} failed: {e}");
            }
        }
    }
    if let (Ok(m), Ok(s)) = (mem, sled) {
        let _ = writeln!(
            out,
            "  ratio sled / in-memory: payments {:.2}×, aging {:.2}×",
            s.0 / m.0,
            s.1 / m.1
        );
    }
    out
}

//! `reckon bench --payments N`: N payments auto-applied (05 §2.2) over the open invoices of
//! ⌈N / 10⌉ accounts, then the A/R aging (05 §5) over the same book, each measured on the
//! in-memory store and on sled (durable commits) in the same run. Each account has one line of
//! 12 monthly schedules of 100.00, billed by two auto-approved runs (two invoices of 600.00,
//! due on receipt); it then pays 10 × 100.00, applied oldest due first. The payments go in two
//! ways: one `payment` call each (one atomic, durable commit per payment, as an interactive host
//! sends them), and one `payment_run` (a lockbox file: each payment still all-or-nothing, one
//! durable commit per `batch_size` payments). The book is built once in memory (timed
//! separately) and copied into each measured store; only the payments and the aging are timed.

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

/// A store's records in key order.
type Records = Vec<(Vec<u8>, Vec<u8>)>;

/// Timings of one arm: payments seconds, and (after a payment run) aging seconds and total.
struct Arm {
    pay: f64,
    aging: Option<(f64, Decimal)>,
}

/// The payment requests in the order they are sent: every account's k-th payment, then the
/// (k + 1)-th, so each payment finds the account's invoices as the previous one left them.
fn requests(n: usize, on: NaiveDate) -> Vec<PaymentRequest> {
    let accounts = n.div_ceil(PER_ACCOUNT);
    let mut out = Vec::with_capacity(n);
    'all: for k in 0..PER_ACCOUNT {
        for i in 0..accounts {
            if out.len() == n {
                break 'all;
            }
            out.push(PaymentRequest {
                account: format!("A{i:06}"),
                amount: Decimal::new(10_000, 2),
                currency: None,
                on,
                method: Some("bench".into()),
                external_id: Some(format!("P{k}")),
                apply: Some(ApplyMode::Auto),
            });
        }
    }
    out
}

/// The payments of `reqs` into a copy of `book` in `store`, one call each or as one run; the
/// aging of the book afterwards when `age` is set.
fn measure(
    store: Arc<dyn Store>,
    book: &[(Vec<u8>, Vec<u8>)],
    reqs: &[PaymentRequest],
    as_run: bool,
    age: bool,
) -> Result<Arm, String> {
    for chunk in book.chunks(50_000) {
        let mut b = reckon_engine::store::Batch::default();
        for (k, v) in chunk {
            b.put(k.clone(), v.clone());
        }
        store.commit(b).map_err(|e| e.to_string())?;
    }
    let engine = Engine::new(store, rules()?);
    let on = date(2027, 1, 15)?;
    let t0 = Instant::now();
    if as_run {
        for r in engine.payment_run(reqs, on).map_err(|e| e.to_string())? {
            r.map_err(|e| e.to_string())?;
        }
    } else {
        for r in reqs {
            engine.payment(r, on).map_err(|e| e.to_string())?;
        }
    }
    let pay = t0.elapsed().as_secs_f64();
    let aging = if age {
        let accounts = reqs.len().div_ceil(PER_ACCOUNT);
        let ids: Vec<String> = (0..accounts).map(|i| format!("A{i:06}")).collect();
        let set = engine.aging_buckets(None).map_err(|e| e.to_string())?;
        let t1 = Instant::now();
        let aging = engine
            .aging(&ids, "USD", date(2027, 3, 31)?, &set, false)
            .map_err(|e| e.to_string())?;
        let total = aging.rows.last().map(|r| r.total).unwrap_or_default();
        Some((t1.elapsed().as_secs_f64(), total))
    } else {
        None
    };
    Ok(Arm { pay, aging })
}

/// Run the benchmark with `n` payments in memory and on sled.
pub fn run(n: usize) -> String {
    let mut out = String::new();
    let accounts = n.div_ceil(PER_ACCOUNT);
    let _ = writeln!(
        out,
        "{n} payments auto-applied over {accounts} accounts (two open invoices of 600.00 each), then the aging of the book:"
    );
    let built = (|| -> Result<(Records, f64), String> {
        let t = Instant::now();
        let scratch = Arc::new(MemStore::new());
        book(&Engine::new(scratch.clone(), rules()?), accounts)?;
        let entries = scratch.scan(b"").map_err(|e| e.to_string())?;
        Ok((entries, t.elapsed().as_secs_f64()))
    })();
    let (entries, setup) = match built {
        Ok(b) => b,
        Err(e) => {
            let _ = writeln!(out, "  book set-up failed: {e}");
            return out;
        }
    };
    let _ = writeln!(
        out,
        "  book set-up (in memory, not timed below): {accounts} accounts, {} records in {setup:.1} s",
        entries.len()
    );
    let reqs = match date(2027, 1, 15) {
        Ok(on) => requests(n, on),
        Err(e) => {
            let _ = writeln!(out, "  {e}");
            return out;
        }
    };
    let sled = |tag: &str, as_run: bool| {
        let dir = std::env::temp_dir().join(format!(
            "reckon-bench-payments-{}-{tag}",
            std::process::id()
        ));
        let r = SledStore::open(&dir)
            .map_err(|e| e.to_string())
            .and_then(|s| measure(Arc::new(s), &entries, &reqs, as_run, as_run));
        let _ = std::fs::remove_dir_all(&dir);
        r
    };
    let arms = [
        (
            "in-memory, one call per payment",
            measure(Arc::new(MemStore::new()), &entries, &reqs, false, false),
        ),
        (
            "sled, one durable commit per payment",
            sled("single", false),
        ),
        (
            "in-memory, payment run",
            measure(Arc::new(MemStore::new()), &entries, &reqs, true, true),
        ),
        ("sled, payment run (one flush per 500)", sled("run", true)),
    ];
    for (label, r) in &arms {
        match r {
            Ok(a) => {
                let mut line = format!(
                    "  {label:<40} {n:>8} payments in {:>8.3} s = {:>9.0} payments/s",
                    a.pay,
                    n as f64 / a.pay
                );
                if let Some((t, total)) = &a.aging {
                    let _ = write!(
                        line,
                        "; aging of {accounts} accounts in {t:>7.3} s = {:>9.0} accounts/s (open A/R {total})",
                        accounts as f64 / t
                    );
                }
                let _ = writeln!(out, "{line}");
            }
            Err(e) => {
                let _ = writeln!(out, "  {label:<40} failed: {e}");
            }
        }
    }
    if let [(_, Ok(m1)), (_, Ok(s1)), (_, Ok(m2)), (_, Ok(s2))] = &arms {
        let _ = writeln!(
            out,
            "  ratio sled / in-memory: one call per payment {:.2}×, payment run {:.2}×; on sled the run is {:.2}× faster than single calls",
            s1.pay / m1.pay,
            s2.pay / m2.pay,
            s1.pay / s2.pay
        );
        if let (Some((ma, _)), Some((sa, _))) = (m2.aging, s2.aging) {
            let _ = writeln!(out, "  ratio sled / in-memory: aging {:.2}×", sa / ma);
        }
    }
    out
}

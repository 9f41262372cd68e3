//! `reckon bench --revenue N`: month-end revenue over a synthetic book of N agreements × 36
//! periods (06 item 7): for each of the 36 months one immediate actual run over every
//! agreement, then the period close. Agreements are ASC 606 orders of two lines (ratable and
//! ratable_day, 36 months from 2026-01-01), created by activation (not timed). The same book runs
//! on the in-memory store and on a sled store (durable group commits) in the same process; the
//! figure is agreement-periods per second, and the ratio is sled time / in-memory time.

use chrono::NaiveDate;
use reckon_engine::model::{Account, LegalEntity, Order};
use reckon_engine::revenue::run::{RevenueRunDef, RunKind};
use reckon_engine::rules::RuleLoader;
use reckon_engine::store::{MemStore, SledStore, Store};
use reckon_engine::Engine;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

/// Periods per agreement.
pub const PERIODS: usize = 36;

const RULES: &str = r#"
system: {enable_asc606: true}
revenue_policies:
  - {name: RAT, rule: ratable}
  - {name: DAY, rule: ratable_day}
products:
  - {code: SUB, name: Subscription, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, revenue_policy: RAT}
  - {code: SVC, name: Services, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, revenue_policy: DAY}
"#;

fn engine_on(store: Arc<dyn Store>, agreements: usize) -> Result<Engine, String> {
    let mut l = RuleLoader::new();
    l.add_text("bench-revenue.yaml", RULES);
    let rules = l.finish().map_err(|e| format!("bench rules: {}", e[0]))?;
    let engine = Engine::new(store, rules);
    let le: LegalEntity =
        serde_yaml::from_str("{id: LE1, currency: USD}").map_err(|e| e.to_string())?;
    engine.upsert_legal_entity(le).map_err(|e| e.to_string())?;
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    let mut ids = Vec::with_capacity(agreements);
    for a in 0..agreements {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: A{a:06}, currency: USD, legal_entity: LE1}}"
        ))
        .map_err(|e| e.to_string())?;
        engine.upsert_account(acct).map_err(|e| e.to_string())?;
        // Net prices vary so the rounding differs between agreements.
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{a:06}, account: A{a:06}, order_date: 2026-01-01, ready_for_revenue_date: 2026-01-01, lines: [\
{{id: L1, product: SUB, quantity: 1, start: 2026-01-01, end: 2028-12-31, net_price: \"{}.{:02}\"}}, \
{{id: L2, product: SVC, quantity: 1, start: 2026-01-15, end: 2028-12-20, net_price: \"{}.00\"}}]}}",
            36_000 + a % 977,
            a % 100,
            5_000 + a % 313
        ))
        .map_err(|e| e.to_string())?;
        engine.submit_order(order).map_err(|e| e.to_string())?;
        ids.push(format!("O-{a:06}"));
    }
    for chunk in ids.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for r in engine
            .activate_all(&refs, start)
            .map_err(|e| e.to_string())?
        {
            r.map_err(|e| e.to_string())?;
        }
    }
    Ok(engine)
}

/// 36 month-end closes; seconds and agreement-periods generated.
fn close_36(engine: &Engine) -> Result<(f64, usize), String> {
    let t = Instant::now();
    let mut generated = 0;
    for m in 0..PERIODS {
        let r = engine
            .revenue_run(&RevenueRunDef {
                name: format!("bench-{m}"),
                kind: RunKind::Actual,
                run_type: None,
                legal_entity: Some("LE1".into()),
                period: None,
                filters: Vec::new(),
                filter_logic: None,
                schedule: None,
            })
            .map_err(|e| e.to_string())?;
        generated += r.count("succeeded");
        if r.count("failed") > 0 {
            return Err(format!("run bench-{m}: {} failed", r.count("failed")));
        }
        engine.close_period("LE1").map_err(|e| e.to_string())?;
    }
    Ok((t.elapsed().as_secs_f64(), generated))
}

/// Run the benchmark over `agreements` agreements; the report as text.
pub fn run(agreements: usize) -> String {
    let mut out = String::new();
    let result = (|| -> Result<(), String> {
        let mem = engine_on(Arc::new(MemStore::new()), agreements)?;
        let (mem_s, mem_n) = close_36(&mem)?;
        drop(mem);
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let sled = SledStore::open(&dir.path().join("store")).map_err(|e| e.to_string())?;
        let disk = engine_on(Arc::new(sled), agreements)?;
        let (sled_s, sled_n) = close_36(&disk)?;
        // Every agreement is generated once per period, in both stores.
        let expected = agreements * PERIODS;
        if mem_n != expected || sled_n != expected {
            return Err(format!(
                "generated {mem_n} (memory) and {sled_n} (sled) agreement-periods, expected {expected}"
            ));
        }
        let w = disk.revenue_waterfall("LE1").map_err(|e| e.to_string())?;
        let recognised: rust_decimal::Decimal = w.rows.iter().map(|r| r.total).sum();
        let fees: rust_decimal::Decimal = disk
            .revenue_agreements()
            .map_err(|e| e.to_string())?
            .iter()
            .flat_map(|a| a.fees.iter().map(|f| f.amount))
            .sum();
        if recognised != fees {
            return Err(format!("recognised {recognised}, the fees sum to {fees}"));
        }
        let _ = writeln!(
            out,
            "revenue: {agreements} agreements × {PERIODS} periods (2 fees each), 36 actual runs + closes"
        );
        let _ = writeln!(
            out,
            "  in-memory: {:.2} s, {:.0} agreement-periods/s",
            mem_s,
            mem_n as f64 / mem_s
        );
        let _ = writeln!(
            out,
            "  sled:      {:.2} s, {:.0} agreement-periods/s (sled / in-memory {:.2}×)",
            sled_s,
            sled_n as f64 / sled_s,
            sled_s / mem_s
        );
        let _ = writeln!(
            out,
            "  recognised over the book: {recognised} USD = Σ fee amounts (checked)"
        );
        Ok(())
    })();
    if let Err(e) = result {
        let _ = writeln!(out, "revenue bench failed: {e}");
    }
    out
}

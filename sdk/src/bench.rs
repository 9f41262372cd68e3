//! `reckon bench`: schedule generation and activation throughput on a synthetic book, with
//! baselines measured in the same run.

use chrono::NaiveDate;
use reckon_engine::model::{Account, BillingRule, DayCount, Order, OrderLine, Treatment};
use reckon_engine::money::Rounding;
use reckon_engine::rules;
use reckon_engine::schedule::{generate, Price, Terms};
use reckon_engine::store::{MemStore, SledStore, Store};
use reckon_engine::Engine;
use rust_decimal::Decimal;
use std::fmt::Write;
use std::sync::Arc;
use std::time::Instant;

/// Benchmark sizes.
#[derive(Debug, Clone, Copy)]
pub struct BenchConfig {
    /// Lines for schedule generation.
    pub lines: usize,
    /// Orders for activation (each one line of 12 periods).
    pub orders: usize,
}

/// A small deterministic generator (xorshift), so the book is the same on every run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn synthetic_terms(rng: &mut Rng) -> (Terms, Price) {
    let base = NaiveDate::from_ymd_opt(2024, 1, 1).expect("valid");
    let start = base + chrono::Days::new(rng.below(730));
    let periods = 12 + rng.below(25) as u32; // 12–36 monthly periods
    let end = start
        .checked_add_months(chrono::Months::new(periods))
        .and_then(|d| d.pred_opt())
        .expect("valid");
    let cycle_day = 1 + rng.below(28) as u32;
    let t = Terms {
        start,
        end: Some(end),
        months: 1,
        cycle_day,
        calendar_month: None,
        rule: if rng.below(2) == 0 {
            BillingRule::Advance
        } else {
            BillingRule::Arrears
        },
        offset_days: 0,
        ready_for_billing: None,
        treatment: Treatment::SeparatePeriod,
        day_count: DayCount::BillingPeriod,
        rounding: Rounding::HalfUp,
        scale: 2,
    };
    (
        t,
        Price::Rate(Decimal::new(1000 + rng.below(100_000) as i64, 2)),
    )
}

/// Run the benchmark and return its report.
pub fn run(cfg: BenchConfig) -> String {
    let mut out = String::new();
    // 1. Schedule generation, and a baseline walking the same periods without pricing them.
    let mut rng = Rng(0x5eed_cafe);
    let book: Vec<(Terms, Price)> = (0..cfg.lines).map(|_| synthetic_terms(&mut rng)).collect();
    let t0 = Instant::now();
    let mut periods = 0usize;
    let mut checksum = Decimal::ZERO;
    for (t, p) in &book {
        let s = generate(t, *p, 0, 0).expect("synthetic lines are valid");
        periods += s.len();
        checksum += s.iter().map(|x| x.amount).sum::<Decimal>();
    }
    let gen = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let mut baseline_periods = 0usize;
    for (t, _) in &book {
        // Baseline: the calendar walk alone (month stepping, no proration or money).
        let mut d = t.start;
        let end = t.end.expect("finite");
        while d <= end {
            baseline_periods += 1;
            d = d.checked_add_months(chrono::Months::new(1)).expect("valid");
        }
    }
    let base = t0.elapsed().as_secs_f64();
    let _ = writeln!(out, "schedule generation: {} lines, {periods} periods in {gen:.3} s = {:.0} periods/s (checksum {checksum})", cfg.lines, periods as f64 / gen);
    let _ = writeln!(out, "  baseline calendar walk: {baseline_periods} periods in {base:.3} s = {:.0} periods/s; generation costs {:.2}× the walk", baseline_periods as f64 / base, gen / base);
    // 2. Activation into the in-memory store vs sled (durable: one flush per activation).
    let rules = rules::load_str(
        "bench.yaml",
        "products:\n  - {code: P, price_type: recurring, list_price: \"99.00\", selling_frequency: monthly, billing_frequency: monthly}\n",
    )
    .expect("bench rules are valid");
    let mem = activation(Arc::new(MemStore::new()), &rules, cfg.orders);
    let dir = tempfile::tempdir().expect("temp dir");
    let sled = activation(
        Arc::new(SledStore::open(dir.path()).expect("sled opens")),
        &rules,
        cfg.orders,
    );
    let dir2 = tempfile::tempdir().expect("temp dir");
    let grouped = activation_grouped(
        Arc::new(SledStore::open(dir2.path()).expect("sled opens")),
        &rules,
        cfg.orders,
    );
    let n = cfg.orders as f64;
    let _ = writeln!(out, "activation (1 line × 12 schedules each):");
    let _ = writeln!(
        out,
        "  in-memory store, one commit per order:   {} orders in {mem:.3} s = {:.0} orders/s",
        cfg.orders,
        n / mem
    );
    let _ = writeln!(
        out,
        "  sled store, durable commit per order:    {} orders in {sled:.3} s = {:.0} orders/s",
        cfg.orders,
        n / sled
    );
    let _ = writeln!(
        out,
        "  sled store, group commit (activate_all): {} orders in {grouped:.3} s = {:.0} orders/s",
        cfg.orders,
        n / grouped
    );
    let _ = writeln!(
        out,
        "  ratio sled / in-memory time: {:.1}× per order, {:.1}× grouped",
        sled / mem,
        grouped / mem
    );
    out
}

fn activation(store: Arc<dyn Store>, rules: &rules::RuleSet, n: usize) -> f64 {
    let engine = bench_engine(store, rules, n);
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid");
    let t0 = Instant::now();
    for i in 0..n {
        engine
            .activate(&format!("O-{i}"), start)
            .expect("activates");
    }
    t0.elapsed().as_secs_f64()
}

fn activation_grouped(store: Arc<dyn Store>, rules: &rules::RuleSet, n: usize) -> f64 {
    let engine = bench_engine(store, rules, n);
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid");
    let ids: Vec<String> = (0..n).map(|i| format!("O-{i}")).collect();
    let t0 = Instant::now();
    for chunk in ids.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for r in engine.activate_all(&refs, start).expect("commits") {
            r.expect("activates");
        }
    }
    t0.elapsed().as_secs_f64()
}

fn bench_engine(store: Arc<dyn Store>, rules: &rules::RuleSet, n: usize) -> Engine {
    let engine = Engine::new(store, rules.clone());
    engine
        .upsert_account(Account {
            id: "A".into(),
            name: None,
            currency: "USD".into(),
            parent: None,
            billing_preference: None,
            payment_term: None,
            billing_day_of_month: None,
            calendar_cycle_start: None,
            legal_entity: None,
            locations: vec![],
            attributes: Default::default(),
            extra: Default::default(),
        })
        .expect("account");
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid");
    for i in 0..n {
        engine.submit_order(bench_order(i, start)).expect("order");
    }
    engine
}

fn bench_order(i: usize, start: NaiveDate) -> Order {
    Order {
        id: format!("O-{i}"),
        account: "A".into(),
        location: None,
        order_date: Some(start),
        ready_for_billing_date: None,
        ready_for_revenue_date: None,
        billing_preference: None,
        payment_term: None,
        lines: vec![OrderLine {
            id: "L1".into(),
            product: "P".into(),
            quantity: Decimal::ONE,
            start: Some(start),
            end: NaiveDate::from_ymd_opt(2026, 12, 31),
            net_price: None,
            list_price: None,
            discount_percent: None,
            billing_preference: None,
            payment_term: None,
            parent: None,
            options: vec![],
            segments: vec![],
            attributes: Default::default(),
            extra: Default::default(),
        }],
    }
}

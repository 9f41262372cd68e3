//! Revenue recognition (06): property tests — every fee's periods sum exactly to the fee, every
//! allocation sums to the price — and the rules-check errors of 06 §3 (RR-17).

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use reckon_engine::allocation::largest_remainder;
use reckon_engine::dates::month_index;
use reckon_engine::revenue::calc::{cumulative, horizon, NoFacts};
use reckon_engine::revenue::{Fee, FeeMilestone, Rule};
use reckon_engine::rules::load_str;
use reckon_engine::store::MemStore;
use reckon_engine::Engine;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn fee(rule: Rule, amount: Decimal, start: NaiveDate, end: NaiveDate, leap: bool) -> Fee {
    Fee {
        fee_ref: "O-1/L1#1".into(),
        line: "O-1/L1".into(),
        chain: 0,
        rule,
        policy: "P".into(),
        fee_type: "flat".into(),
        amount,
        transaction_price: amount,
        start,
        end,
        obligation: None,
        origin: "order".into(),
        parent: None,
        ignore_leap_year: leap,
        line_net_price: amount,
        milestones: vec![],
        percent_actual: BTreeMap::new(),
        percent_forecast: BTreeMap::new(),
        manual: BTreeMap::new(),
        manual_forecast: BTreeMap::new(),
        frozen: None,
        revenue_account: "revenue".into(),
        deferred_account: "deferred_revenue".into(),
        percent: Decimal::ONE_HUNDRED,
        change: None,
        frozen_by: None,
    }
}

/// A fee of a generated rule, amount and term; milestone and percent-complete fees get inputs
/// that complete them (milestone percents summing to 100, a last percent of 100).
fn fees() -> impl Strategy<Value = Fee> {
    (
        0u64..9_000,
        0u64..1_200,
        -100_000_000i64..100_000_000,
        prop_oneof![Just(0u32), Just(2), Just(3)],
        any::<bool>(),
        0usize..5,
        proptest::collection::vec((1u64..60, 0u64..1_200), 1..5),
    )
        .prop_map(|(s, len, cents, scale, leap, kind, parts)| {
            let start = d(2000, 1, 1) + Days::new(s);
            let end = start + Days::new(len);
            let amount = Decimal::new(cents, scale);
            let rule = [
                Rule::Ratable,
                Rule::RatableDay,
                Rule::Immediate,
                Rule::Milestone,
                Rule::PercentComplete,
            ][kind];
            let mut f = fee(
                rule,
                amount,
                start,
                if rule == Rule::Immediate { start } else { end },
                leap,
            );
            let total: u64 = parts.iter().map(|p| p.0).sum();
            match rule {
                Rule::Milestone => {
                    // Percents summing to exactly 100 (the last takes the remainder).
                    let mut left = Decimal::ONE_HUNDRED;
                    for (i, (w, at)) in parts.iter().enumerate() {
                        let pct = if i + 1 == parts.len() {
                            left
                        } else {
                            (Decimal::ONE_HUNDRED * Decimal::from(*w) / Decimal::from(total))
                                .round_dp(2)
                        };
                        left -= pct;
                        f.milestones.push(FeeMilestone {
                            name: format!("m{i}"),
                            percent: pct,
                            expected: None,
                            actual: Some(start + Days::new(*at % (len + 1))),
                        });
                    }
                }
                Rule::PercentComplete => {
                    let first = month_index(start);
                    let months = (month_index(end) - first + 1) as u64;
                    let mut pct = Decimal::ZERO;
                    let mut cum = 0;
                    for (i, (w, _)) in parts.iter().enumerate() {
                        cum += w;
                        pct = if i + 1 == parts.len() {
                            Decimal::ONE_HUNDRED
                        } else {
                            (Decimal::ONE_HUNDRED * Decimal::from(cum) / Decimal::from(total))
                                .round_dp(1)
                        };
                        let m = first + ((i as u64 * months) / parts.len() as u64) as i32;
                        f.percent_actual
                            .insert(reckon_engine::revenue::calc::period_name(m), pct);
                    }
                    let _ = pct;
                    let last = reckon_engine::revenue::calc::period_name(month_index(end));
                    f.percent_actual.insert(last, Decimal::ONE_HUNDRED);
                }
                _ => {}
            }
            f
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// 06 §1: rows are differences of rounded cumulative targets, so they sum to the fee exactly
    /// once its horizon is reached, every row is at the currency's scale, and for the time rules
    /// the cumulative never overshoots the fee.
    #[test]
    fn every_fee_s_periods_sum_exactly_to_the_fee(f in fees()) {
        let scale = f.amount.scale();
        let first = month_index(f.start) - 2;
        let last = horizon(&f) + 2;
        let mut prev = Decimal::ZERO;
        let mut sum = Decimal::ZERO;
        for p in first..=last {
            let c = cumulative(&f, p, scale, &NoFacts);
            let row = c - prev;
            prop_assert!(row.round_dp(scale) == row, "row {row} not at scale {scale}");
            if matches!(f.rule, Rule::Ratable | Rule::RatableDay) {
                prop_assert!(c.abs() <= f.amount.abs(), "cumulative {c} beyond {}", f.amount);
                prop_assert!(row.is_zero() || row.is_sign_negative() == f.amount.is_sign_negative());
            }
            sum += row;
            prev = c;
        }
        prop_assert_eq!(sum, f.amount);
    }

    /// 06 §5: the largest-remainder split sums to the total exactly, and each part is within one
    /// minor unit of its exact share.
    #[test]
    fn allocations_sum_to_the_price(
        cents in -10_000_000_000i64..10_000_000_000,
        scale in prop_oneof![Just(0u32), Just(2), Just(3)],
        weights in proptest::collection::vec(0u32..100_000, 1..12),
    ) {
        prop_assume!(weights.iter().any(|w| *w > 0));
        let total = Decimal::new(cents, scale);
        let w: Vec<Decimal> = weights.iter().map(|x| Decimal::from(*x)).collect();
        let parts = largest_remainder(total, &w, scale);
        prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), total);
        let sum_w: Decimal = w.iter().copied().sum();
        let unit = Decimal::new(1, scale);
        for (p, wi) in parts.iter().zip(&w) {
            let exact = total * *wi / sum_w;
            prop_assert!((*p - exact).abs() < unit, "{p} vs exact {exact}");
        }
    }
}

/// A world of `lines` one-time lines (net price, SSP, split percent of the first chain or none)
/// under ASC 606 with relative SSP.
fn world(lines: &[(i64, u32, Option<u32>)], relative: bool) -> (Engine, String) {
    let mut products = String::new();
    let mut splits = String::new();
    let mut order_lines = String::new();
    for (i, (cents, ssp, split)) in lines.iter().enumerate() {
        let policy = match split {
            Some(p) => {
                splits.push_str(&format!(
                    "    - {{name: S{i}, type: split, entries: [{{sequence: 1, percent: {p}, revenue_policy: NOW}}, {{sequence: 2, percent: {}, revenue_policy: RAT}}]}}\n",
                    100 - p
                ));
                format!("revenue_policy: RAT, split_merge_policy: S{i}")
            }
            None => "revenue_policy: RAT".into(),
        };
        products.push_str(&format!(
            "    - {{code: P{i}, name: P{i}, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, {policy}}}\n"
        ));
        order_lines.push_str(&format!(
            "      - {{id: L{i}, product: P{i}, quantity: 1, start: 2018-01-10, end: 2018-07-20, net_price: \"{}\", ssp: \"{ssp}\"}}\n",
            Decimal::new(*cents, 2)
        ));
    }
    let alloc = if relative {
        "relative_ssp"
    } else {
        "transaction_price"
    };
    let text = format!(
        "system: {{enable_asc606: true, revenue_allocation: {alloc}}}\n\
revenue_policies:\n    - {{name: NOW, rule: immediate}}\n    - {{name: RAT, rule: ratable_day}}\n\
split_merge_policies:\n    - {{name: UNUSED, type: merge}}\n{splits}\
products:\n{products}\
legal_entities:\n    - {{id: LE1, currency: USD}}\n\
accounts:\n    - {{id: ACME, currency: USD, legal_entity: LE1}}\n\
orders:\n  - id: O-1\n    account: ACME\n    order_date: 2018-01-01\n    ready_for_revenue_date: 2018-01-01\n    lines:\n{order_lines}"
    );
    let rules = load_str("world.yaml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
    let engine = Engine::new(Arc::new(MemStore::new()), rules.clone());
    for le in &rules.legal_entities {
        engine.upsert_legal_entity(le.clone()).unwrap();
    }
    for a in &rules.accounts {
        engine.upsert_account(a.clone()).unwrap();
    }
    for o in &rules.orders {
        engine.submit_order(o.clone()).unwrap();
    }
    (engine, text)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// End to end (06 §4–§8): an agreement's allocations sum to its transaction price, chains
    /// split their line exactly, obligations carry their fees' sums, and after every period is
    /// generated and closed each fee's rows sum exactly to the fee.
    #[test]
    fn agreements_allocate_exactly_and_recognise_every_fee(
        lines in proptest::collection::vec((1i64..50_000_000, 0u32..1_000, prop_oneof![Just(None), (1u32..100).prop_map(Some)]), 1..5),
        relative in any::<bool>(),
    ) {
        prop_assume!(!relative || lines.iter().any(|l| l.1 > 0));
        let (engine, text) = world(&lines, relative);
        engine.activate("O-1", d(2018, 1, 1)).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let ag = engine.revenue_agreement("O-1").unwrap().unwrap();
        let tp: Decimal = ag.lines.iter().map(|l| l.transaction_price).sum();
        let alloc: Decimal = ag.lines.iter().map(|l| l.allocation).sum();
        prop_assert_eq!(tp, alloc);
        let net: Decimal = lines.iter().map(|l| Decimal::new(l.0, 2)).sum();
        prop_assert_eq!(tp, net);
        for l in &ag.lines {
            let chains: Decimal = ag.fees.iter().filter(|f| f.line == l.order_line).map(|f| f.amount).sum();
            prop_assert_eq!(chains, l.allocation);
        }
        let mut ob_total = Decimal::ZERO;
        for r in &ag.obligations {
            let o = engine.revenue_obligation(r).unwrap().unwrap();
            let fees: Decimal = ag.fees.iter().filter(|f| f.obligation.as_deref() == Some(r.as_str())).map(|f| f.amount).sum();
            prop_assert_eq!(o.allocation, fees);
            ob_total += o.allocation;
        }
        prop_assert_eq!(ob_total, alloc);
        for _ in 0..9 {
            let p = month_index(engine.revenue_period("LE1").unwrap().current);
            engine.generate_actual("O-1", p).unwrap().ok();
            engine.close_period("LE1").unwrap();
        }
        let sums = engine.revenue_summaries("O-1").unwrap();
        for f in &ag.fees {
            let total: Decimal = sums.iter().flat_map(|s| &s.rows).filter(|(r, _)| *r == f.fee_ref).map(|(_, v)| *v).sum();
            prop_assert_eq!(total, f.amount, "fee {}", f.fee_ref);
        }
        let last = sums.last().unwrap();
        prop_assert_eq!(last.unrecognised, Decimal::ZERO);
        prop_assert_eq!(last.recognised_to_date, alloc);
    }
}

fn codes(text: &str) -> Vec<(String, String, String)> {
    match load_str("rev.yaml", text) {
        Ok(_) => vec![],
        Err(errs) => errs
            .into_iter()
            .map(|e| (e.code.to_string(), e.path.clone(), e.found.clone()))
            .collect(),
    }
}

const ONE: &str = "price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance";

/// RR-17 (06 §14): a split of 30 + 60 is refused with split_percent_sum naming the policy,
/// found 90, allowed 100; 30 + 70 is accepted. The error carries file, line and column.
#[test]
fn rr17_split_percentages_must_sum_to_100() {
    let policy = |b: u32| {
        format!(
            "revenue_policies:\n  - {{name: NOW, rule: immediate}}\n  - {{name: RAT, rule: ratable}}\n\
split_merge_policies:\n  - name: LEASE\n    type: split\n    entries:\n      - {{sequence: 1, percent: 30, revenue_policy: NOW}}\n      - {{sequence: 2, percent: {b}, revenue_policy: RAT}}\n"
        )
    };
    let errs = load_str("rev.yaml", &policy(60)).unwrap_err();
    assert_eq!(errs.len(), 1, "{errs:?}");
    let e = &errs[0];
    assert_eq!(e.code, "split_percent_sum");
    assert!(e.found.contains("90") && e.found.contains("LEASE"), "{e}");
    assert_eq!(e.allowed, "100");
    // The entries list starts on line 8 (its first entry).
    assert_eq!((e.file.as_str(), e.pos.line), ("rev.yaml", 8), "{e}");
    assert!(load_str("rev.yaml", &policy(70)).is_ok());
}

/// Every rules-check code of 06 §3, each at its row's key.
#[test]
fn revenue_rules_check_rejects_every_bad_document() {
    let cases: Vec<(String, &str, &str)> = vec![
        (format!("products:\n  - {{code: P, name: P, {ONE}, revenue_policy: NOPE}}\n"), "unknown_revenue_policy", "products[0].revenue_policy"),
        ("system: {default_revenue_policy: NOPE}\n".into(), "unknown_revenue_policy", "system.default_revenue_policy"),
        ("revenue_policies:\n  - {name: R, rule: ratable, is_milestone: true}\n".into(), "bad_milestone_policy", "revenue_policies[0].is_milestone"),
        ("revenue_policies:\n  - {name: R, rule: ratable, milestones: [{name: a, percent: 100}]}\n".into(), "bad_milestone_policy", "revenue_policies[0].milestones"),
        ("revenue_policies:\n  - {name: R, rule: milestone, milestones: [{name: a, percent: 50}, {name: a, percent: 50}]}\n".into(), "bad_milestones", "revenue_policies[0].milestones[1].name"),
        ("revenue_policies:\n  - {name: R, rule: milestone, milestones: [{name: a, percent: 40}, {name: b, percent: 50}]}\n".into(), "bad_milestones", "revenue_policies[0].milestones"),
        ("revenue_policies:\n  - {name: R, rule: ratable}\nsplit_merge_policies:\n  - {name: S, type: split, entries: [{sequence: 1, percent: 100, revenue_policy: R}]}\n".into(), "bad_split_entries", "split_merge_policies[0].entries"),
        ("revenue_policies:\n  - {name: R, rule: ratable}\nsplit_merge_policies:\n  - {name: S, type: merge, entries: [{sequence: 1, percent: 50, revenue_policy: R}, {sequence: 2, percent: 50, revenue_policy: R}]}\n".into(), "bad_split_entries", "split_merge_policies[0].entries"),
        ("revenue_policies:\n  - {name: R, rule: ratable}\nsplit_merge_policies:\n  - {name: S, type: split, entries: [{sequence: 1, percent: 50, revenue_policy: R}, {sequence: 1, percent: 50, revenue_policy: R}]}\n".into(), "bad_split_entries", "split_merge_policies[0].entries[1].sequence"),
        ("revenue_policies:\n  - {name: R, rule: ratable}\nsplit_merge_policies:\n  - {name: S, type: split, entries: [{sequence: 1, percent: 50, revenue_policy: R}, {sequence: 2, percent: 50, revenue_policy: R}]}\nproducts:\n  - {code: U, name: U, price_type: usage, selling_frequency: monthly, billing_frequency: usage, billing_rule: arrears, split_merge_policy: S}\n".into(), "split_on_usage_product", "products[0].split_merge_policy"),
        ("revenue_policies:\n  - {name: R, rule: immediate}\nproducts:\n  - {code: U, name: U, price_type: usage, selling_frequency: monthly, billing_frequency: usage, billing_rule: arrears, revenue_policy: R}\n".into(), "rule_not_allowed_for_product", "products[0].revenue_policy"),
        (format!("revenue_policies:\n  - {{name: R, rule: prepay}}\nproducts:\n  - {{code: P, name: P, {ONE}, revenue_policy: R}}\n"), "rule_not_allowed_for_product", "products[0].revenue_policy"),
        (format!("split_merge_policies:\n  - {{name: M, type: merge}}\nproducts:\n  - {{code: P, name: P, {ONE}, split_merge_policy: M}}\n"), "merge_without_revenue_policy", "products[0].split_merge_policy"),
        (format!("products:\n  - {{code: P, name: P, {ONE}, revenue_policy: none, ssp: \"-1.00\"}}\n"), "negative_ssp", "products[0].ssp"),
        ("legal_entities:\n  - {id: LE1, currency: USD, revenue_period: 2018-01-15}\n".into(), "period_not_month_end", "legal_entities[0].revenue_period"),
    ];
    for (text, code, path) in cases {
        let got = codes(&text);
        assert!(
            got.iter().any(|(c, p, _)| c == code && p == path),
            "expected {code} at {path} for\n{text}\ngot {got:?}"
        );
    }
}

/// The SDK's month-end close (`Reckon::close_revenue_month`) over a sled store, then the GL
/// journal and the waterfall through `reckon report`. Figures: RR-01 (300 ratable over
/// 2018-01..03 → 100.00 a month) and the journal form of 06 §11.
#[test]
fn month_end_close_waterfall_and_journal_through_the_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    {
        let mut r = reckon_sdk::Reckon::open(&store).expect("open");
        r.load_rules_str(
            "rules.yaml",
            &format!(
                "revenue_policies:\n  - {{name: RAT, rule: ratable}}\n\
products:\n  - {{code: SVC, name: S, {ONE}, revenue_policy: RAT}}\n\
legal_entities:\n  - {{id: LE1, currency: USD}}\n\
accounts:\n  - {{id: ACME, currency: USD, legal_entity: LE1}}\n\
orders:\n  - {{id: O-1, account: ACME, order_date: 2018-01-01, ready_for_revenue_date: 2018-01-01, lines: [{{id: L1, product: SVC, quantity: 1, start: 2018-01-01, end: 2018-03-31, net_price: \"300.00\"}}]}}\n"
            ),
        )
        .expect("rules");
        r.load_rule_data().expect("data");
        r.activate("O-1", d(2018, 1, 1)).expect("activate");
        let w = r.close_revenue_month("LE1", "2018-02").expect("close");
        assert_eq!(w.periods, vec!["2018-01", "2018-02", "2018-03"]);
        assert_eq!(w.first_projected, 2);
        let hundred = Decimal::new(10000, 2);
        assert_eq!(w.rows[0].amounts, vec![hundred, hundred, hundred]);
        assert_eq!(w.rows[0].total, Decimal::new(30000, 2));
        // A repeat of a closed month is refused and changes nothing.
        let e = r.close_revenue_month("LE1", "2018-01").unwrap_err();
        assert_eq!(e.code(), "period_closed");
    }
    let s = store.to_str().expect("utf-8");
    let (code, out) = reckon_tests::reckon(&[
        "report",
        "revenue_journal",
        "--store",
        s,
        "--legal-entity",
        "LE1",
        "--period",
        "2018-02",
    ]);
    assert_eq!(code, 0, "{out}");
    let memo = "Recognize 100.00 USD revenue for agreement \"O-1\" for period ending 2018-02-28";
    let memo_csv = format!("\"{}\"", memo.replace('"', "\"\""));
    assert_eq!(
        out,
        format!(
            "entry,date,legal_entity,agreement,fee,account,debit,credit,currency,memo\r\n\
E-2018-02-000001,2018-02-28,LE1,O-1,O-1/L1#1,deferred_revenue,100.00,,USD,{memo_csv}\r\n\
E-2018-02-000001,2018-02-28,LE1,O-1,O-1/L1#1,revenue,,100.00,USD,{memo_csv}\r\n"
        )
    );
    let (code, out) = reckon_tests::reckon(&[
        "report",
        "revenue_journal",
        "--store",
        s,
        "--legal-entity",
        "LE1",
        "--period",
        "2018-02",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let j: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(j["totals"][0]["debit"], "100.00");
    assert_eq!(j["totals"][0]["credit"], "100.00");
    assert_eq!(j["entries"][0]["memo"], memo);
    let (code, out) = reckon_tests::reckon(&[
        "report",
        "revenue_journal",
        "--store",
        s,
        "--legal-entity",
        "LE1",
        "--period",
        "2018-03",
    ]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("period_open"), "{out}");
    let (code, out) = reckon_tests::reckon(&[
        "report",
        "revenue_waterfall",
        "--store",
        s,
        "--legal-entity",
        "LE1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("O-1,USD,100.00,100.00,100.00,300.00"), "{out}");
}

// ---- 06 §7 contract modifications, through the engine API that 03's changes call ----------

use reckon_engine::revenue::change::RevenueChange;

/// An engine with one ASC 606 order `O-1` of one line (`product` with `policy`) activated.
fn one_line(rule: &str, net: &str, start: &str, end: &str, price_type: &str) -> Engine {
    let product = match price_type {
        "usage" => "price_type: usage, selling_frequency: monthly, billing_frequency: usage, billing_rule: arrears".to_string(),
        _ => ONE.to_string(),
    };
    let text = format!(
        "system: {{enable_asc606: true}}\n\
revenue_policies:\n  - {{name: POL, rule: {rule}}}\n\
products:\n  - {{code: P, name: P, {product}, revenue_policy: POL}}\n\
legal_entities:\n  - {{id: LE1, currency: USD}}\n\
accounts:\n  - {{id: ACME, currency: USD, legal_entity: LE1}}\n\
orders:\n  - {{id: O-1, account: ACME, order_date: {start}, ready_for_revenue_date: {start}, lines: [{{id: L1, product: P, quantity: 1, start: {start}, end: {end}, net_price: \"{net}\"}}]}}\n"
    );
    let rules = load_str("m.yaml", &text).unwrap_or_else(|e| panic!("{e:?}"));
    let engine = Engine::new(Arc::new(MemStore::new()), rules.clone());
    engine
        .upsert_legal_entity(rules.legal_entities[0].clone())
        .unwrap();
    engine.upsert_account(rules.accounts[0].clone()).unwrap();
    engine.submit_order(rules.orders[0].clone()).unwrap();
    engine
        .activate("O-1", rules.orders[0].order_date.unwrap())
        .unwrap();
    engine
}

fn m(s: &str) -> Decimal {
    s.parse().unwrap()
}

fn date(s: &str) -> NaiveDate {
    reckon_engine::dates::parse_date(s).unwrap()
}

/// Generate and close `n` periods; the agreement's rows per period (fee ref → amount).
fn run_months(engine: &Engine, n: usize) {
    for _ in 0..n {
        let p = month_index(engine.revenue_period("LE1").unwrap().current);
        engine.generate_actual("O-1", p).unwrap().ok();
        engine.close_period("LE1").unwrap();
    }
}

fn fee_rows(engine: &Engine, fee: &str) -> Vec<(String, Decimal)> {
    engine
        .revenue_summaries("O-1")
        .unwrap()
        .iter()
        .flat_map(|s| {
            s.rows
                .iter()
                .filter(|(r, _)| r == fee)
                .map(|(_, v)| (s.period.clone(), *v))
                .collect::<Vec<_>>()
        })
        .collect()
}

fn net_rows(engine: &Engine) -> Vec<Decimal> {
    engine
        .revenue_summaries("O-1")
        .unwrap()
        .iter()
        .map(|s| s.rows.iter().map(|(_, v)| *v).sum())
        .collect()
}

fn rows(v: &[(&str, &str)]) -> Vec<(String, Decimal)> {
    v.iter().map(|(p, a)| (p.to_string(), m(a))).collect()
}

fn obligation(engine: &Engine) -> reckon_engine::revenue::Obligation {
    engine.revenue_obligation("O-1#1").unwrap().unwrap()
}

/// RR-19: 300 ratable over 2017-01..03 cancelled on 2017-02-15 → a cut fee of −150.00 dated
/// 2017-02-15..03-31 with rows −50.00 / −100.00; net 100 / 50 / 0; the obligation 150. A
/// rollback appends the opposite fee and the line nets back to 100 a month.
#[test]
fn rr19_cancel_cuts_the_remaining_ratable_amount() {
    let e = one_line("ratable", "300.00", "2017-01-01", "2017-03-31", "one_time");
    run_months(&e, 1);
    let added = e
        .revenue_change(
            "O-1/L1",
            &RevenueChange::Cancel {
                on: date("2017-02-15"),
                same_day_cancellation: true,
            },
        )
        .unwrap()
        .unwrap();
    assert_eq!(added, vec!["O-1/L1#2"]);
    let ag = e.revenue_agreement("O-1").unwrap().unwrap();
    let cut = &ag.fees[1];
    assert_eq!(
        (
            cut.amount,
            cut.start,
            cut.end,
            cut.rule,
            cut.origin.as_str()
        ),
        (
            m("-150.00"),
            date("2017-02-15"),
            date("2017-03-31"),
            Rule::Ratable,
            "cancel"
        )
    );
    let o = obligation(&e);
    assert_eq!(
        (o.transaction_price, o.allocation),
        (m("150.00"), m("150.00"))
    );
    run_months(&e, 2);
    assert_eq!(
        fee_rows(&e, "O-1/L1#2"),
        rows(&[("2017-02", "-50.00"), ("2017-03", "-100.00")])
    );
    assert_eq!(net_rows(&e), vec![m("100.00"), m("50.00"), m("0")]);
    // The fee is immutable: the original is still 300.
    assert_eq!(ag.fees[0].amount, m("300.00"));
}

#[test]
fn rr19_ratable_day_variant_and_rollback() {
    let e = one_line(
        "ratable_day",
        "300.00",
        "2017-01-01",
        "2017-03-31",
        "one_time",
    );
    e.revenue_change(
        "O-1/L1",
        &RevenueChange::Cancel {
            on: date("2017-02-15"),
            same_day_cancellation: true,
        },
    )
    .unwrap();
    run_months(&e, 3);
    assert_eq!(
        fee_rows(&e, "O-1/L1#1"),
        rows(&[
            ("2017-01", "103.33"),
            ("2017-02", "93.34"),
            ("2017-03", "103.33")
        ])
    );
    assert_eq!(
        fee_rows(&e, "O-1/L1#2"),
        rows(&[("2017-02", "-46.67"), ("2017-03", "-103.33")])
    );

    let e = one_line("ratable", "300.00", "2017-01-01", "2017-03-31", "one_time");
    e.revenue_change(
        "O-1/L1",
        &RevenueChange::Cancel {
            on: date("2017-02-15"),
            same_day_cancellation: true,
        },
    )
    .unwrap();
    assert_eq!(e.revenue_rollback("O-1/L1").unwrap(), vec!["O-1/L1#3"]);
    let ag = e.revenue_agreement("O-1").unwrap().unwrap();
    assert_eq!(
        (ag.fees[2].amount, ag.fees[2].start, ag.fees[2].end),
        (m("150.00"), date("2017-02-15"), date("2017-03-31"))
    );
    assert_eq!(obligation(&e).allocation, m("300.00"));
    run_months(&e, 3);
    assert_eq!(net_rows(&e), vec![m("100.00"), m("100.00"), m("100.00")]);
}

/// RR-20: 300 ratable 2017-01..06, amended on 2017-04-01 to a line value of 600 → a delta fee
/// +300 over 2017-04-01..06-30 (100.00 × 3); net 50 ×3 then 150 ×3; the obligation 600.
/// RR-21: 600 → 500 on 2017-05-01 → delta −100, −50.00 in May and June; the obligation 500.
#[test]
fn rr20_rr21_amendment_deltas() {
    let e = one_line("ratable", "300.00", "2017-01-01", "2017-06-30", "one_time");
    e.revenue_change(
        "O-1/L1",
        &RevenueChange::Amend {
            first_unserved: date("2017-04-01"),
            net_old: m("300"),
            net_new: m("600"),
            new_end: None,
        },
    )
    .unwrap();
    assert_eq!(obligation(&e).allocation, m("600.00"));
    run_months(&e, 6);
    assert_eq!(
        fee_rows(&e, "O-1/L1#2"),
        rows(&[
            ("2017-04", "100.00"),
            ("2017-05", "100.00"),
            ("2017-06", "100.00")
        ])
    );
    assert_eq!(
        net_rows(&e),
        ["50", "50", "50", "150", "150", "150"].map(m).to_vec()
    );

    let e = one_line("ratable", "600.00", "2017-01-01", "2017-06-30", "one_time");
    e.revenue_change(
        "O-1/L1",
        &RevenueChange::Amend {
            first_unserved: date("2017-05-01"),
            net_old: m("600"),
            net_new: m("500"),
            new_end: None,
        },
    )
    .unwrap();
    let o = obligation(&e);
    assert_eq!(
        (o.transaction_price, o.allocation),
        (m("500.00"), m("500.00"))
    );
    run_months(&e, 6);
    assert_eq!(
        fee_rows(&e, "O-1/L1#2"),
        rows(&[("2017-05", "-50.00"), ("2017-06", "-50.00")])
    );
}

/// RR-22: a renewal 2019-07-01..07-31 for 300 → a new fee of 300 recognised in 2019-07; the
/// obligation ends 2019-07-31 with TP 600.
#[test]
fn rr22_renewal_adds_a_fee() {
    let e = one_line("ratable", "300.00", "2019-01-01", "2019-06-30", "one_time");
    e.revenue_change(
        "O-1/L1",
        &RevenueChange::Renew {
            new_end: date("2019-07-31"),
            net_price: m("300"),
        },
    )
    .unwrap();
    let o = obligation(&e);
    assert_eq!(
        (o.end, o.transaction_price),
        (date("2019-07-31"), m("600.00"))
    );
    assert_eq!(
        e.revenue_agreement("O-1").unwrap().unwrap().end,
        date("2019-07-31")
    );
    run_months(&e, 7);
    assert_eq!(fee_rows(&e, "O-1/L1#2"), rows(&[("2019-07", "300.00")]));
}

/// RR-24 / RR-25: a percent-complete fee 2018-01..06 extended to 2018-08-31 with the price
/// unchanged → no new fee, % inputs accepted for 2018-07 and 2018-08, the obligation ends
/// 2018-08-31. Cancelled with last served day 2018-07-15 (E = 07-16) while 70 % is entered for
/// the open period 2018-07: the fee is frozen at R = 70,000 and a manual cut fee −30,000 dated
/// 2018-07-16..08-31 is appended, which produces no rows.
#[test]
fn rr24_rr25_percent_complete_extension_and_cancel() {
    let e = one_line(
        "percent_complete",
        "100000.00",
        "2018-01-01",
        "2018-06-30",
        "one_time",
    );
    let added = e
        .revenue_change(
            "O-1/L1",
            &RevenueChange::Amend {
                first_unserved: date("2018-07-01"),
                net_old: m("100000"),
                net_new: m("100000"),
                new_end: Some(date("2018-08-31")),
            },
        )
        .unwrap()
        .unwrap();
    assert!(added.is_empty());
    assert_eq!(obligation(&e).end, date("2018-08-31"));
    run_months(&e, 6);
    e.percent_complete("fee:O-1/L1#1", "2018-07", m("70"), false)
        .unwrap();
    e.revenue_change(
        "O-1/L1",
        &RevenueChange::Cancel {
            on: date("2018-07-15"),
            same_day_cancellation: false,
        },
    )
    .unwrap();
    let ag = e.revenue_agreement("O-1").unwrap().unwrap();
    assert_eq!(ag.fees[0].frozen, Some(m("70000.00")));
    let cut = &ag.fees[1];
    assert_eq!(
        (cut.amount, cut.rule, cut.start, cut.end),
        (
            m("-30000.00"),
            Rule::Manual,
            date("2018-07-16"),
            date("2018-08-31")
        )
    );
    run_months(&e, 2);
    assert_eq!(fee_rows(&e, "O-1/L1#1"), rows(&[("2018-07", "70000.00")]));
    assert!(fee_rows(&e, "O-1/L1#2").is_empty());
    let last = e.revenue_summaries("O-1").unwrap().pop().unwrap();
    assert_eq!(last.unrecognised, Decimal::ZERO);
}

/// 06 §7: prepay and true-up lines refuse amendments (modification_unsupported); a change after
/// the line's end is change_out_of_term; both change nothing.
#[test]
fn modification_errors_change_nothing() {
    let e = one_line("prepay", "1200.00", "2018-01-01", "2018-12-31", "usage");
    let before = e.revenue_agreement("O-1").unwrap();
    let err = e
        .revenue_change(
            "O-1/L1",
            &RevenueChange::Amend {
                first_unserved: date("2018-06-01"),
                net_old: m("1200"),
                net_new: m("1500"),
                new_end: None,
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "modification_unsupported");
    let err = e
        .revenue_change(
            "O-1/L1",
            &RevenueChange::Cancel {
                on: date("2019-01-02"),
                same_day_cancellation: true,
            },
        )
        .unwrap_err();
    assert_eq!(err.code(), "change_out_of_term");
    assert_eq!(e.revenue_agreement("O-1").unwrap(), before);
}

/// `reckon report revenue_reconcile` (06 §10) over RR-13's figures: 120,000 ratable over 2018,
/// invoiced in January, a −500 adjustment in February → February billed 0, recognised 9,500,
/// adjustments −500, deferred 110,000 → 100,500, unrecognised 110,000 → 100,000.
#[test]
fn reconciliation_report_rolls_deferred_and_unrecognised_forward() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    {
        let mut r = reckon_sdk::Reckon::open(&store).expect("open");
        r.load_rules_str(
            "rules.yaml",
            "revenue_policies:\n  - {name: RAT, rule: ratable}\n\
products:\n  - {code: YEAR, name: Y, price_type: recurring, selling_frequency: yearly, billing_frequency: yearly, billing_rule: advance, revenue_policy: RAT}\n\
legal_entities:\n  - {id: LE1, currency: USD}\n\
accounts:\n  - {id: ACME, currency: USD, legal_entity: LE1}\n\
orders:\n  - {id: O-1, account: ACME, order_date: 2018-01-01, ready_for_revenue_date: 2018-01-01, lines: [{id: L1, product: YEAR, quantity: 1, start: 2018-01-01, end: 2018-12-31, net_price: \"120000.00\"}]}\n",
        )
        .expect("rules");
        r.load_rule_data().expect("data");
        r.activate("O-1", d(2018, 1, 1)).expect("activate");
        let step: serde_yaml::Value = serde_yaml::from_str(
            "{name: JAN, process_through: 2018-01-31, invoice_date: 2018-01-15, auto_approve: true}",
        )
        .expect("step");
        r.invoice_run(&step, d(2018, 1, 15)).expect("invoice run");
        r.close_revenue_month("LE1", "2018-01")
            .expect("close january");
        r.engine()
            .revenue_adjustment("agreement:O-1", Decimal::new(-50000, 2), "goodwill")
            .expect("adjustment");
        r.close_revenue_month("LE1", "2018-02")
            .expect("close february");
    }
    let s = store.to_str().expect("utf-8");
    let (code, out) = reckon_tests::reckon(&[
        "report",
        "revenue_reconcile",
        "--store",
        s,
        "--legal-entity",
        "LE1",
        "--period",
        "2018-02",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("O-1,USD,0.00,9500.00,-500.00,110000.00,100500.00,110000.00,100000.00"),
        "{out}"
    );
}

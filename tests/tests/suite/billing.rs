//! Invoicing invariants (04) over random sequences of runs, approvals, cancellations, deletions,
//! splits, regenerations, ad-hoc invoices and credit-and-rebills: no schedule is ever on two live
//! documents, schedule statuses follow their documents, line taxes always sum to the header,
//! numbers are gapless and never reused, and the A/R postings balance and agree with every
//! approved document's balance (05 §1.4 as far as invoicing posts).

use chrono::NaiveDate;
use proptest::prelude::*;
use reckon_engine::billing::actions::{AdhocLine, AdhocRequest, RebillRequest};
use reckon_engine::billing::{DocStatus, DocType, Document};
use reckon_engine::model::{Account, Order};
use reckon_engine::receivables::payments::{ApplyMode, PaymentRequest};
use reckon_engine::rules::RuleLoader;
use reckon_engine::store::MemStore;
use reckon_engine::{Engine, RuleSet, ScheduleStatus};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const RULES: &str = r#"
billing_preferences:
  - {name: bdom1, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}
products:
  - {code: FEE, name: Fee, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, taxable: true, tax_code: T}
  - {code: SUB, name: Subscription, price_type: recurring, list_price: "10.00", selling_frequency: monthly, billing_frequency: monthly, billing_rule: advance, taxable: true, tax_code: T}
  - {code: INCL, name: Inclusive fee, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, taxable: true, tax_inclusive: true, tax_code: T}
tax_rates:
  - {tax_code: T, country: US, level: state, name: State, rate: "7.5"}
  - {tax_code: T, country: US, level: city, name: City, rate: "1.25"}
"#;

fn rules() -> RuleSet {
    let mut l = RuleLoader::new();
    l.add_text("billing-properties.yaml", RULES);
    l.finish().expect("rules")
}

const ACCOUNTS: [&str; 3] = ["A", "B", "C"];

fn date(m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2016, m, d).expect("date")
}

/// A generated line: (account, product, price in cents, start month, months).
type LineSpec = (usize, usize, i64, u32, u32);

fn line_spec() -> impl Strategy<Value = LineSpec> {
    (0usize..3, 0usize..3, -5_000i64..20_000, 1u32..=6, 1u32..=4)
}

#[derive(Debug, Clone)]
enum Op {
    Run {
        through: u32,
        memo: usize,
        approve: bool,
    },
    Approve(usize),
    Cancel(usize),
    Delete(usize),
    Split(usize, u8),
    Regenerate(usize),
    Adhoc(usize, i64, bool),
    Rebill(usize, bool),
    Pay(usize, i64, bool),
    Refund(usize, i64),
    WriteOff(usize),
    Unapply(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u32..=9, 0usize..3, any::<bool>()).prop_map(|(through, memo, approve)| Op::Run { through, memo, approve }),
        2 => (0usize..64).prop_map(Op::Approve),
        1 => (0usize..64).prop_map(Op::Cancel),
        1 => (0usize..64).prop_map(Op::Delete),
        1 => (0usize..64, any::<u8>()).prop_map(|(k, mask)| Op::Split(k, mask)),
        1 => (0usize..64).prop_map(Op::Regenerate),
        1 => (0usize..3, 0i64..50_000, any::<bool>()).prop_map(|(a, c, ap)| Op::Adhoc(a, c, ap)),
        1 => (0usize..64, any::<bool>()).prop_map(|(k, ap)| Op::Rebill(k, ap)),
        2 => (0usize..3, 1i64..30_000, any::<bool>()).prop_map(|(a, c, auto)| Op::Pay(a, c, auto)),
        1 => (0usize..3, 1i64..10_000).prop_map(|(a, c)| Op::Refund(a, c)),
        1 => (0usize..64).prop_map(Op::WriteOff),
        1 => (0usize..64).prop_map(Op::Unapply),
    ]
}

fn book(engine: &Engine, lines: &[LineSpec]) {
    for a in ACCOUNTS {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: {a}, currency: USD, locations: [{{id: HQ, country: US}}]}}"
        ))
        .expect("account");
        engine.upsert_account(acct).expect("upsert");
    }
    for (i, (a, p, cents, start, months)) in lines.iter().enumerate() {
        let product = ["FEE", "SUB", "INCL"][*p];
        let price = Decimal::new(*cents, 2);
        let (end, price) = if product == "SUB" {
            let end = date(*start + months, 1).pred_opt().expect("date");
            (format!(", end: {end}"), String::new())
        } else {
            (String::new(), format!(", net_price: \"{price}\""))
        };
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{i}, account: {}, location: HQ, order_date: 2016-01-01, lines: [{{id: L1, product: {product}, start: {}{end}{price}}}]}}",
            ACCOUNTS[*a],
            date(*start, 1)
        ))
        .expect("order");
        engine.submit_order(order).expect("submit");
        engine
            .activate(&format!("O-{i}"), date(1, 1))
            .expect("activate");
    }
}

fn all_documents(engine: &Engine) -> Vec<Document> {
    let mut out = Vec::new();
    for t in [DocType::Invoice, DocType::CreditMemo] {
        for a in ACCOUNTS {
            out.extend(engine.documents(t, a).expect("documents"));
        }
    }
    out
}

fn check_invariants(engine: &Engine, lines: usize) -> Result<(), TestCaseError> {
    let docs = all_documents(engine);
    // 1. Exactly-once: a schedule is on at most one live document line — not cancelled, and not
    // replaced (an invoice credited in full and rebilled keeps its lines, 04 §8.1).
    let mut on: BTreeMap<String, (String, DocStatus)> = BTreeMap::new();
    for d in docs.iter().filter(|d| d.status != DocStatus::Cancelled) {
        for l in d.lines.iter().filter(|_| d.replaced_by.is_empty()) {
            if let Some(s) = &l.schedule {
                let prev = on.insert(s.clone(), (d.reference(), d.status));
                prop_assert!(
                    prev.is_none(),
                    "{s} billed twice: {prev:?} and {}",
                    d.reference()
                );
            }
        }
        // 2. Line taxes sum to the header; lines' totals to the total; total = subtotal − discount + tax.
        let tax: Decimal = d.lines.iter().map(|l| l.tax).sum();
        let total: Decimal = d.lines.iter().map(|l| l.total).sum();
        prop_assert_eq!(tax, d.tax, "{} line taxes", d.reference());
        prop_assert_eq!(total, d.total, "{} line totals", d.reference());
        prop_assert_eq!(d.subtotal - d.discount + d.tax, d.total);
        prop_assert!(d.total >= Decimal::ZERO || d.doc_type == DocType::Invoice);
        let breakups: Decimal = d.tax_breakups.iter().map(|b| b.amount).sum();
        if d.error_status.is_none() {
            prop_assert_eq!(breakups, d.tax, "{} break-ups", d.reference());
        }
    }
    // 3. Statuses follow the documents.
    for i in 0..lines {
        for s in engine.schedules(&format!("O-{i}/L1")).expect("schedules") {
            let want = match on.get(&s.id) {
                None => ScheduleStatus::PendingBilling,
                Some((_, DocStatus::Draft)) => ScheduleStatus::PendingInvoiced,
                Some((_, _)) => ScheduleStatus::Invoiced,
            };
            prop_assert_eq!(s.status, want, "{}", s.id);
            prop_assert_eq!(s.invoice.clone(), on.get(&s.id).map(|(r, _)| r.clone()));
        }
    }
    // 3b. 05 §7: billed + unbilled = the billable total of the account's lines.
    let mut billable: BTreeMap<String, Decimal> = BTreeMap::new();
    for i in 0..lines {
        let line = format!("O-{i}/L1");
        let account = engine
            .asset(&line)
            .expect("asset")
            .map(|a| a.account)
            .unwrap_or_default();
        *billable.entry(account).or_default() += engine.line_total(&line).expect("total");
    }
    for (account, total) in &billable {
        let s = engine
            .account_summary(account, date(12, 31))
            .expect("summary");
        prop_assert_eq!(
            s.billed_amount + s.unbilled_amount,
            *total,
            "{} billed + unbilled",
            account
        );
    }
    // 4. Numbers: unique, and per document type exactly 1..=N (gapless, cancelled keep theirs).
    for (t, prefix) in [(DocType::Invoice, "INV-"), (DocType::CreditMemo, "CM-")] {
        let mut seen = BTreeSet::new();
        for d in docs.iter().filter(|d| d.doc_type == t) {
            if let Some(n) = &d.number {
                let seq: u64 = n
                    .strip_prefix(prefix)
                    .and_then(|x| x.parse().ok())
                    .ok_or_else(|| TestCaseError::fail(format!("number {n}")))?;
                prop_assert!(seen.insert(seq), "{n} issued twice");
                prop_assert!(d.status != DocStatus::Draft, "{n} on a draft");
            }
        }
        let expected: BTreeSet<u64> = (1..=seen.len() as u64).collect();
        prop_assert_eq!(seen, expected, "{} numbers have a gap", prefix);
    }
    // 5. A/R: every transaction balances; an approved invoice's balance is what its receivable
    // postings say, an approved memo's unapplied amount what its customer-credit postings say;
    // drafts post nothing.
    let mut receivable: BTreeMap<String, Decimal> = BTreeMap::new();
    let mut credit: BTreeMap<String, Decimal> = BTreeMap::new();
    for a in ACCOUNTS {
        for t in engine.ar_transactions(a).expect("ledger") {
            prop_assert!(t.imbalance().is_zero(), "{} unbalanced", t.number);
            prop_assert!(t.amount > Decimal::ZERO, "{} amount", t.number);
            for p in &t.postings {
                let signed = match p.side {
                    reckon_engine::billing::ar::Side::Debit => p.amount,
                    reckon_engine::billing::ar::Side::Credit => -p.amount,
                };
                match p.ledger_account.as_str() {
                    "receivable" => *receivable.entry(p.reference.clone()).or_default() += signed,
                    "customer_credit" => *credit.entry(p.reference.clone()).or_default() -= signed,
                    _ => {}
                }
            }
        }
    }
    for a in ACCOUNTS {
        for p in engine.payments(a).expect("payments") {
            prop_assert!(
                p.unapplied() >= Decimal::ZERO,
                "{} overapplied",
                p.reference()
            );
            prop_assert_eq!(
                credit.get(&p.reference()).copied().unwrap_or_default(),
                p.unapplied(),
                "{} unapplied",
                p.reference()
            );
        }
    }
    for d in &docs {
        let r = d.reference();
        match (d.doc_type, d.status) {
            (DocType::Invoice, DocStatus::Approved) => {
                prop_assert_eq!(
                    receivable.get(&r).copied().unwrap_or_default(),
                    d.balance,
                    "{} balance",
                    r
                );
                prop_assert!(d.balance >= Decimal::ZERO, "{} negative balance", r);
            }
            (DocType::CreditMemo, DocStatus::Approved) => {
                prop_assert_eq!(
                    credit.get(&r).copied().unwrap_or_default(),
                    d.total - d.credits_applied,
                    "{} unapplied",
                    r
                );
            }
            (_, DocStatus::Draft) => {
                prop_assert!(
                    !receivable.contains_key(&r) && !credit.contains_key(&r),
                    "{} draft posted",
                    r
                );
            }
            _ => {}
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn no_schedule_is_billed_twice_and_documents_stay_consistent(
        lines in prop::collection::vec(line_spec(), 1..8),
        ops in prop::collection::vec(op(), 1..24),
    ) {
        let engine = Engine::new(Arc::new(MemStore::new()), rules());
        book(&engine, &lines);
        check_invariants(&engine, lines.len())?;
        for (i, op) in ops.iter().enumerate() {
            let docs: Vec<String> = all_documents(&engine).iter().map(Document::reference).collect();
            let pick = |k: usize| docs.get(k % docs.len().max(1)).cloned();
            match op {
                Op::Run { through, memo, approve } => {
                    let step: serde_yaml::Value = serde_yaml::from_str(&format!(
                        "{{name: R{i}, process_through: {}, invoice_date: {}, credit_memo_creation: {}, auto_approve: {approve}}}",
                        date(*through, 28),
                        date(*through, 28),
                        ["single_for_negative_invoice", "per_negative_schedule", "per_invoice"][*memo],
                    )).expect("step");
                    engine.invoice_run_step(&step, date(*through, 28)).expect("run");
                }
                // Refusals (not a draft, has applications, …) are expected outcomes here; the
                // invariants below must hold either way.
                Op::Approve(k) => if let Some(r) = pick(*k) { let _ = engine.approve(&r, date(9, 30)); },
                Op::Cancel(k) => if let Some(r) = pick(*k) {
                    let _ = if r.starts_with("invoice:") { engine.cancel_invoice(&r, date(9, 30)) } else { engine.cancel_credit_memo(&r, date(9, 30)) };
                },
                Op::Delete(k) => if let Some(r) = pick(*k) { let _ = engine.delete_document(&r); },
                Op::Split(k, mask) => if let Some(r) = pick(*k) {
                    let lines: Vec<u32> = (0..8).filter(|b| mask & (1 << b) != 0).map(|b| b + 1).collect();
                    let _ = engine.split_invoice(&r, &lines);
                },
                Op::Regenerate(k) => if let Some(r) = pick(*k) { let _ = engine.regenerate(&r, date(9, 30)); },
                Op::Adhoc(a, cents, approve) => {
                    let req = AdhocRequest {
                        account: ACCOUNTS[*a].into(),
                        invoice_date: Some(date(9, 1)),
                        lines: vec![AdhocLine { product: "FEE".into(), amount: Some(Decimal::new(*cents, 2)), ..Default::default() }],
                        approve: *approve,
                        ..Default::default()
                    };
                    engine.adhoc_invoice(&req, date(9, 1)).expect("adhoc");
                }
                Op::Rebill(k, approve) => if let Some(r) = pick(*k) {
                    let req = RebillRequest { invoice: r, invoice_date: date(9, 15), approve: *approve };
                    let _ = engine.credit_and_rebill(&req, date(9, 15));
                },
                Op::Pay(a, cents, auto) => {
                    let req = PaymentRequest {
                        account: ACCOUNTS[*a].into(),
                        amount: Decimal::new(*cents, 2),
                        currency: None,
                        on: date(9, 20),
                        method: None,
                        external_id: Some(format!("p{i}")),
                        apply: Some(if *auto { ApplyMode::Auto } else { ApplyMode::None }),
                    };
                    engine.payment(&req, date(9, 20)).expect("payment");
                }
                Op::Refund(a, cents) => {
                    let _ = engine.refund(&format!("payment:{}#1", ACCOUNTS[*a]), Decimal::new(*cents, 2), date(9, 25));
                }
                Op::WriteOff(k) => if let Some(r) = pick(*k) { let _ = engine.write_off(&r, None, date(9, 26)); },
                Op::Unapply(k) => if let Some(r) = pick(*k) {
                    let account = r.split(':').nth(1).and_then(|x| x.split('#').next()).unwrap_or("A").to_string();
                    let _ = engine.unapply(&format!("payment:{account}#1"), &r, None, date(9, 27));
                },
            }
            check_invariants(&engine, lines.len())?;
        }
    }
}

/// NUM-GAPLESS (04 §14): approve A; B fails on tax; approve C → A INV-000001, C INV-000002; B,
/// once its tax is fixed, INV-000003; C cancelled keeps its number and the next is INV-000004.
#[test]
fn numbering_is_gapless_across_a_tax_failure() {
    let base = r#"
products:
  - {code: OK, name: Untaxed, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance}
  - {code: TX, name: Taxed, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, taxable: true, tax_code: NEW}
"#;
    let load = |extra: &str| {
        let mut l = RuleLoader::new();
        l.add_text("gapless.yaml", &format!("{base}{extra}"));
        l.finish().expect("rules")
    };
    let mut engine = Engine::new(Arc::new(MemStore::new()), load(""));
    for (a, product) in [("A", "OK"), ("B", "TX"), ("C", "OK"), ("D", "OK")] {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: {a}, currency: USD, locations: [{{id: HQ, country: US}}]}}"
        ))
        .expect("account");
        engine.upsert_account(acct).expect("upsert");
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{a}, account: {a}, order_date: 2016-03-01, lines: [{{id: L1, product: {product}, net_price: \"10.00\", start: 2016-03-01}}]}}"
        ))
        .expect("order");
        engine.submit_order(order).expect("submit");
        engine
            .activate(&format!("O-{a}"), date(3, 1))
            .expect("activate");
    }
    let step: serde_yaml::Value = serde_yaml::from_str(
        "{name: MARCH, process_through: 2016-03-31, invoice_date: 2016-03-31}",
    )
    .expect("step");
    engine.invoice_run_step(&step, date(3, 31)).expect("run");
    let number = |e: &Engine, r: &str| e.document(r).expect("read").expect("doc").number;
    engine
        .approve("invoice:A#1", date(4, 1))
        .expect("approve A");
    let err = engine
        .approve("invoice:B#1", date(4, 1))
        .expect_err("B has no tax rate");
    assert_eq!(err.code(), "tax_calculation_error", "{err}");
    let b = engine.document("invoice:B#1").expect("read").expect("doc");
    assert_eq!(b.status, DocStatus::Draft);
    assert_eq!(b.error_status.as_deref(), Some("tax_calculation_error"));
    assert_eq!(b.number, None);
    engine
        .approve("invoice:C#1", date(4, 1))
        .expect("approve C");
    assert_eq!(
        number(&engine, "invoice:A#1").as_deref(),
        Some("INV-000001")
    );
    assert_eq!(
        number(&engine, "invoice:C#1").as_deref(),
        Some("INV-000002")
    );
    // Fix B's tax: the rate exists from now on; approval retries tax and takes the next number.
    engine.set_rules(load(
        "tax_rates:\n  - {tax_code: NEW, country: US, level: state, name: State, rate: \"10\"}\n",
    ));
    let b = engine
        .approve("invoice:B#1", date(4, 2))
        .expect("approve B");
    assert_eq!(b.number.as_deref(), Some("INV-000003"));
    assert_eq!(b.tax, Decimal::new(100, 2));
    assert_eq!(b.error_status, None);
    engine
        .cancel_invoice("invoice:C#1", date(4, 2))
        .expect("cancel C");
    assert_eq!(
        number(&engine, "invoice:C#1").as_deref(),
        Some("INV-000002")
    );
    let d = engine
        .approve("invoice:D#1", date(4, 3))
        .expect("approve D");
    assert_eq!(d.number.as_deref(), Some("INV-000004"));
}

/// STATUS-01 (04 §14): a change to a `pending_invoiced` schedule makes its draft stale; approval is
/// refused with `invoice_stale`; regenerating gives a fresh draft that approves.
#[test]
fn a_changed_schedule_makes_its_draft_stale_until_regenerated() {
    let engine = Engine::new(Arc::new(MemStore::new()), rules());
    book(&engine, &[(0, 0, 10_000, 3, 1)]);
    let step: serde_yaml::Value =
        serde_yaml::from_str("{name: R, process_through: 2016-03-31, invoice_date: 2016-03-31}")
            .expect("step");
    engine.invoice_run_step(&step, date(3, 31)).expect("run");
    let marked = engine
        .mark_schedules_changed(&["O-0/L1#1".to_string()])
        .expect("mark");
    assert_eq!(marked, vec!["invoice:A#1".to_string()]);
    let draft = engine
        .document("invoice:A#1")
        .expect("read")
        .expect("draft");
    assert_eq!(draft.error_status.as_deref(), Some("stale_schedules"));
    let err = engine
        .approve("invoice:A#1", date(4, 1))
        .expect_err("stale");
    assert_eq!(err.code(), "invoice_stale");
    let again = engine
        .document("invoice:A#1")
        .expect("read")
        .expect("draft");
    assert_eq!(again.status, DocStatus::Draft);
    assert_eq!(again.number, None);
    let new = engine
        .regenerate("invoice:A#1", date(4, 1))
        .expect("regenerate");
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].replaces.as_deref(), Some("invoice:A#1"));
    assert_eq!(new[0].error_status, None);
    let approved = engine
        .approve(&new[0].reference(), date(4, 1))
        .expect("approve");
    assert_eq!(approved.number.as_deref(), Some("INV-000001"));
    // An approved invoice is not a draft: changing its schedule marks nothing.
    assert!(engine
        .mark_schedules_changed(&["O-0/L1#1".to_string()])
        .expect("mark")
        .is_empty());
}

/// A run prepared on several threads writes exactly what the same run on one thread writes: the
/// same documents, numbers (auto-approval takes them from counters every account shares),
/// schedules and counters, byte for byte, over several commits (`batch_size` 7) and a rerun.
#[test]
fn a_parallel_run_writes_what_a_sequential_run_writes() {
    let store_of = |threads: usize| {
        let mut l = RuleLoader::new();
        l.add_text(
            "parallel.yaml",
            &format!("system: {{batch_size: 7}}\n{RULES}"),
        );
        let store = Arc::new(MemStore::new());
        let engine =
            Engine::new(store.clone(), l.finish().expect("rules")).with_run_threads(threads);
        for a in 0..60 {
            let acct: Account = serde_yaml::from_str(&format!(
                "{{id: P{a:03}, currency: USD, locations: [{{id: HQ, country: US}}]}}"
            ))
            .expect("account");
            engine.upsert_account(acct).expect("upsert");
            for o in 0..(1 + a % 3) {
                let (product, price) = match (a + o) % 4 {
                    0 => ("SUB", String::new()),
                    1 => ("FEE", format!(", net_price: \"{}.25\"", 5 + a)),
                    2 => ("INCL", format!(", net_price: \"{}.10\"", 3 + o)),
                    _ => ("FEE", format!(", net_price: \"-{}.50\"", 1 + a % 5)),
                };
                let end = if product == "SUB" {
                    ", end: 2016-04-30"
                } else {
                    ""
                };
                let order: Order = serde_yaml::from_str(&format!(
                    "{{id: O-{a}-{o}, account: P{a:03}, location: HQ, order_date: 2016-01-01, lines: [{{id: L1, product: {product}, start: 2016-01-01{end}{price}}}]}}"
                ))
                .expect("order");
                engine.submit_order(order).expect("submit");
                engine
                    .activate(&format!("O-{a}-{o}"), date(1, 1))
                    .expect("activate");
            }
        }
        for (name, through, approve) in [("FEB", 2, true), ("APR", 4, false), ("APR2", 4, true)] {
            let step: serde_yaml::Value = serde_yaml::from_str(&format!(
                "{{name: {name}, process_through: 2016-0{through}-28, invoice_date: 2016-0{through}-28, auto_approve: {approve}, credit_memo_creation: per_negative_schedule}}"
            ))
            .expect("step");
            let exec = engine
                .invoice_run_step(&step, date(through, 28))
                .expect("run");
            assert_eq!(exec.failed, 0);
        }
        reckon_engine::store::Store::scan(store.as_ref(), b"").expect("dump")
    };
    let sequential = store_of(1);
    assert!(
        sequential.len() > 300,
        "the book bills something: {} records",
        sequential.len()
    );
    for threads in [2, 4] {
        let parallel = store_of(threads);
        assert_eq!(parallel.len(), sequential.len(), "{threads} threads");
        for (p, s) in parallel.iter().zip(&sequential) {
            assert_eq!(
                p,
                s,
                "{threads} threads: record {}",
                String::from_utf8_lossy(&s.0)
            );
        }
    }
}

/// A long run tells its progress after every commit (`system.batch_size` accounts) and once at
/// its end; the observer sees counts only.
#[test]
fn an_invoice_run_reports_its_progress_after_every_commit() {
    let mut l = RuleLoader::new();
    l.add_text(
        "progress.yaml",
        &format!("system: {{batch_size: 2}}\n{RULES}"),
    );
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let engine = Engine::new(Arc::new(MemStore::new()), l.finish().expect("rules"))
        .with_run_threads(2)
        .with_progress(move |p| {
            log.lock()
                .expect("log")
                .push((p.accounts_done, p.accounts_total, p.schedules, p.done))
        });
    for a in 0..5 {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: P{a}, currency: USD, locations: [{{id: HQ, country: US}}]}}"
        ))
        .expect("account");
        engine.upsert_account(acct).expect("upsert");
        let order: Order = serde_yaml::from_str(&format!(
            "{{id: O-{a}, account: P{a}, order_date: 2016-01-01, lines: [{{id: L1, product: FEE, net_price: \"10.00\", start: 2016-01-01}}]}}"
        ))
        .expect("order");
        engine.submit_order(order).expect("submit");
        engine
            .activate(&format!("O-{a}"), date(1, 1))
            .expect("activate");
    }
    let step: serde_yaml::Value =
        serde_yaml::from_str("{name: R, process_through: 2016-01-31, invoice_date: 2016-01-31}")
            .expect("step");
    engine.invoice_run_step(&step, date(1, 31)).expect("run");
    // Five accounts of one schedule each, two accounts per commit: after 2 and 4, then the end.
    assert_eq!(
        *seen.lock().expect("log"),
        vec![(2, 5, 2, false), (4, 5, 4, false), (5, 5, 5, true)]
    );
}

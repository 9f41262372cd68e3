//! The A/R ledger's invariants (05 §1.4) over a seeded random workload of receivables
//! operations: invoices (taxed, approved or drafted), payments applied automatically, by list or
//! not at all, manual applications and unapplications, refunds, write-offs, credit memos,
//! cancellations, wallets (create, add, remove, renew, terminate, drawdown at approval) and late
//! fees. After every step the touched account is checked: every transaction balances, every
//! stored balance is what the ledger alone says (invoices, payments, memos, wallets), nothing is
//! negative, and a refused step posted nothing. `RECKON_AR_OPS` sets the number of operations
//! (default 100,000); the seed is printed on failure.

use chrono::{Duration, NaiveDate};
use reckon_engine::billing::actions::{AdhocLine, AdhocRequest};
use reckon_engine::billing::ar::Side;
use reckon_engine::billing::lifecycle::{CreditLine, CreditRequest};
use reckon_engine::billing::{DocStatus, DocType};
use reckon_engine::model::Account;
use reckon_engine::receivables::payments::{ApplyMode, PaymentRequest};
use reckon_engine::receivables::wallets::WalletAction;
use reckon_engine::rules::RuleLoader;
use reckon_engine::store::{MemStore, Store};
use reckon_engine::Engine;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

const RULES: &str = r#"
payment_terms:
  - {name: net10, label: Net 10, default: true, start: invoice_date, offset: {days: 10}}
products:
  - {code: FEE, name: Fee, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance, taxable: true, tax_code: T}
  - {code: USAGE, name: Usage, price_type: usage, billing_rule: arrears, taxable: true, tax_code: T}
  - {code: LATE, name: Late fee, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance}
tax_rates:
  - {tax_code: T, country: US, level: state, name: State, rate: "8.875"}
wallet_policies:
  - {name: usage, priority: 10, low_balance_threshold: "20.00", renew: {method: target, target: "150.00", trigger: threshold, threshold: "5.00"}}
  - {name: all, priority: 50, applies_to: all, expires_after_days: 40, renew: {method: fixed, amount: "25.00", trigger: interval, interval: weekly, paid: false}}
late_fee_policies:
  - {name: lf, product: LATE, grace_days: 3, basis: percent, percent: "2", minimum: "1.00", maximum: "40.00", frequency: monthly, max_occurrences: 3}
"#;

const ACCOUNTS: usize = 2_500;

/// xorshift64*: a small deterministic generator (the workload must replay from its seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn cents(&mut self, max: i64) -> Decimal {
        Decimal::new(1 + self.below(max as u64) as i64, 2)
    }
}

fn account(i: usize) -> String {
    format!("A{i:02}")
}

fn signed(side: Side, amount: Decimal) -> Decimal {
    match side {
        Side::Debit => amount,
        Side::Credit => -amount,
    }
}

/// 05 §1.4 for one account, from its ledger alone against every stored record.
fn check(engine: &Engine, a: &str) -> Result<(), String> {
    let mut by_ledger: BTreeMap<(&'static str, String), Decimal> = BTreeMap::new();
    let txns = engine.ar_transactions(a).map_err(|e| e.to_string())?;
    for t in &txns {
        if !t.imbalance().is_zero() || t.amount <= Decimal::ZERO {
            return Err(format!("{} unbalanced or not positive: {t:?}", t.number));
        }
        for p in &t.postings {
            if p.amount <= Decimal::ZERO {
                return Err(format!("{} has a posting of {}", t.number, p.amount));
            }
            let kind = match p.ledger_account.as_str() {
                "receivable" => "receivable",
                "customer_credit" => "credit",
                "wallet" => "wallet",
                _ => continue,
            };
            // Liabilities are credit-normal.
            let v = if kind == "receivable" {
                signed(p.side, p.amount)
            } else {
                -signed(p.side, p.amount)
            };
            *by_ledger.entry((kind, p.reference.clone())).or_default() += v;
        }
    }
    let get = |k: &'static str, r: &str| {
        by_ledger
            .get(&(k, r.to_string()))
            .copied()
            .unwrap_or_default()
    };
    let mut open = Decimal::ZERO;
    let mut unapplied = Decimal::ZERO;
    for d in engine
        .documents(DocType::Invoice, a)
        .map_err(|e| e.to_string())?
    {
        let r = d.reference();
        let want = d.total - d.credits_applied - d.wallet_applied - d.paid - d.written_off;
        match d.status {
            DocStatus::Approved => {
                if get("receivable", &r) != d.balance
                    || d.balance != want
                    || d.balance < Decimal::ZERO
                {
                    return Err(format!(
                        "{r}: ledger {} stored {} formula {want}",
                        get("receivable", &r),
                        d.balance
                    ));
                }
                open += d.balance;
            }
            _ if !get("receivable", &r).is_zero() => {
                let mine: Vec<String> = txns
                    .iter()
                    .filter(|t| t.postings.iter().any(|p| p.reference == r))
                    .map(|t| format!("{} {} {} {:?}", t.number, t.kind, t.amount, t.postings))
                    .collect();
                return Err(format!(
                    "{r} ({:?}) has receivable postings: {mine:#?} {d:?}",
                    d.status
                ));
            }
            _ => {}
        }
    }
    for m in engine
        .documents(DocType::CreditMemo, a)
        .map_err(|e| e.to_string())?
    {
        let r = m.reference();
        if m.status == DocStatus::Approved {
            let u = m.total - m.credits_applied;
            if get("credit", &r) != u || u < Decimal::ZERO {
                return Err(format!("{r}: ledger {} unapplied {u}", get("credit", &r)));
            }
            unapplied += u;
        }
    }
    for p in engine.payments(a).map_err(|e| e.to_string())? {
        let r = p.reference();
        if get("credit", &r) != p.unapplied() || p.unapplied() < Decimal::ZERO {
            return Err(format!(
                "{r}: ledger {} unapplied {}",
                get("credit", &r),
                p.unapplied()
            ));
        }
        unapplied += p.unapplied();
    }
    // Invariant 3.
    let receivable: Decimal = by_ledger
        .iter()
        .filter(|((k, _), _)| *k == "receivable")
        .map(|(_, v)| *v)
        .sum();
    let credit: Decimal = by_ledger
        .iter()
        .filter(|((k, _), _)| *k == "credit")
        .map(|(_, v)| *v)
        .sum();
    if receivable - credit != open - unapplied {
        return Err(format!(
            "receivable {receivable} − credit {credit} ≠ open {open} − unapplied {unapplied}"
        ));
    }
    for w in engine.wallets(a).map_err(|e| e.to_string())? {
        if get("wallet", &w.id) != w.balance()
            || w.paid < Decimal::ZERO
            || w.granted < Decimal::ZERO
            || w.ongoing_balance() > w.balance()
        {
            return Err(format!(
                "wallet {}: ledger {} paid {} granted {}",
                w.id,
                get("wallet", &w.id),
                w.paid,
                w.granted
            ));
        }
    }
    Ok(())
}

/// One random operation on account `a`; whether it was accepted.
fn step(engine: &Engine, rng: &mut Rng, i: usize, on: NaiveDate, a: &str) -> bool {
    let a = a.to_string();
    let invoices = engine.documents(DocType::Invoice, &a).unwrap_or_default();
    let pick_invoice = |rng: &mut Rng| {
        (!invoices.is_empty())
            .then(|| invoices[rng.below(invoices.len() as u64) as usize].reference())
    };
    let payments = engine.payments(&a).unwrap_or_default();
    let pick_source = |rng: &mut Rng| {
        if payments.is_empty() || rng.below(4) == 0 {
            let memos = engine
                .documents(DocType::CreditMemo, &a)
                .unwrap_or_default();
            (!memos.is_empty()).then(|| memos[rng.below(memos.len() as u64) as usize].reference())
        } else {
            Some(payments[rng.below(payments.len() as u64) as usize].reference())
        }
    };
    let wallet = |rng: &mut Rng| format!("W{}", rng.below(3));
    match rng.below(16) {
        0..=2 => {
            let lines = (0..1 + rng.below(3))
                .map(|_| AdhocLine {
                    product: if rng.below(2) == 0 { "FEE" } else { "USAGE" }.into(),
                    amount: Some(rng.cents(40_000)),
                    ..Default::default()
                })
                .collect();
            let req = AdhocRequest {
                account: a.clone(),
                lines,
                approve: rng.below(4) != 0,
                ..Default::default()
            };
            engine.adhoc_invoice(&req, on).is_ok()
        }
        3 => match pick_invoice(rng) {
            Some(r) => engine.approve(&r, on).is_ok(),
            None => false,
        },
        4..=5 => {
            let apply = match rng.below(3) {
                0 => ApplyMode::Auto,
                1 => ApplyMode::None,
                _ => ApplyMode::List(pick_invoice(rng).into_iter().map(|r| (r, None)).collect()),
            };
            let req = PaymentRequest {
                account: a.clone(),
                amount: rng.cents(50_000),
                currency: None,
                on,
                method: None,
                external_id: Some(format!("p{}", rng.below(i as u64 + 1))),
                apply: Some(apply),
            };
            engine.payment(&req, on).is_ok()
        }
        6 => match (pick_source(rng), pick_invoice(rng)) {
            (Some(s), Some(r)) => {
                let amount = (rng.below(2) == 0).then(|| rng.cents(20_000));
                engine.apply(&s, &r, amount, None, on).is_ok()
            }
            _ => false,
        },
        7 => match (pick_source(rng), pick_invoice(rng)) {
            (Some(s), Some(r)) => {
                let amount = (rng.below(2) == 0).then(|| rng.cents(20_000));
                engine.unapply(&s, &r, amount, on).is_ok()
            }
            _ => false,
        },
        8 => match pick_source(rng) {
            Some(s) => engine.refund(&s, rng.cents(20_000), on).is_ok(),
            None => false,
        },
        9 => match pick_invoice(rng) {
            Some(r) => {
                let amount = (rng.below(2) == 0).then(|| rng.cents(10_000));
                engine.write_off(&r, amount, on).is_ok()
            }
            None => false,
        },
        10 => match pick_invoice(rng) {
            Some(r) => {
                let req = CreditRequest {
                    invoice: r,
                    reason: "goodwill".into(),
                    date: on,
                    lines: vec![CreditLine {
                        line: 1 + rng.below(2) as u32,
                        amount: rng.cents(20_000),
                    }],
                    approve: rng.below(3) != 0,
                };
                engine.credit_memo(&req, on).is_ok()
            }
            None => false,
        },
        11 => match pick_invoice(rng) {
            Some(r) => engine.cancel_invoice(&r, on).is_ok(),
            None => false,
        },
        12..=14 => {
            let action = ["create", "add", "remove", "renew", "terminate"][rng.below(5) as usize];
            let req = WalletAction {
                account: a.clone(),
                wallet: Some(wallet(rng)),
                action: action.into(),
                amount: (action != "terminate").then(|| rng.cents(30_000)),
                policy: Some(if rng.below(2) == 0 { "usage" } else { "all" }.into()),
                paid: Some(rng.below(3) != 0),
                refund: Some(rng.below(2) == 0),
                disposition: None,
                currency: None,
            };
            engine.wallet(&req, on).is_ok()
        }
        _ => engine.late_fees(on, Some(&a)).is_ok(),
    }
}

#[test]
fn the_ledger_balances_and_rebuilds_every_balance_over_random_operations() {
    let ops: usize = std::env::var("RECKON_AR_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("RECKON_AR_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_05ab_c0ff_ee01);
    let mut l = RuleLoader::new();
    l.add_text("ar-properties.yaml", RULES);
    let engine = Engine::new(Arc::new(MemStore::new()), l.finish().expect("rules"));
    for i in 0..ACCOUNTS {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: {}, currency: USD, late_fee_policy: lf, locations: [{{id: HQ, country: US}}]}}",
            account(i)
        ))
        .expect("account");
        engine.upsert_account(acct).expect("upsert");
    }
    let mut rng = Rng(seed);
    let start = NaiveDate::from_ymd_opt(2016, 1, 1).expect("date");
    let mut posted = 0usize;
    for i in 0..ops {
        // The clock moves a day every 250 operations (wallet renewals and expiry, late fees).
        let on = start + Duration::days((i / 250) as i64);
        if std::env::var("RECKON_AR_TRACE").is_ok() && i % 10_000 == 0 {
            eprintln!("op {i} at {:?}", std::time::Instant::now());
        }
        let a = account(rng.below(ACCOUNTS as u64) as usize);
        let ledger_before = engine.ar_transactions(&a).map(|t| t.len()).unwrap_or(0);
        let ok = step(&engine, &mut rng, i, on, &a);
        let ledger_after = engine.ar_transactions(&a).map(|t| t.len()).unwrap_or(0);
        // A refused step posts nothing. (Time passing inside an accepted wallet step may post
        // renewals and expiries; a refused one rolls those back too.)
        if !ok {
            assert_eq!(
                ledger_after, ledger_before,
                "seed {seed} op {i} ({a}): a refused step posted"
            );
        }
        posted += ledger_after - ledger_before.min(ledger_after);
        if let Err(e) = check(&engine, &a) {
            panic!("seed {seed} op {i} ({a}): {e}");
        }
    }
    // Invariant 5 for the whole book at the end.
    for k in 0..ACCOUNTS {
        if let Err(e) = check(&engine, &account(k)) {
            panic!("seed {seed} at the end ({}): {e}", account(k));
        }
    }
    assert!(posted > 0, "the workload posted nothing");
}

/// A book of `accounts` accounts with two approved ad-hoc invoices each (100.00 and 50.00 +
/// 8.875 % tax), on a fresh in-memory store.
fn payment_book(accounts: usize) -> (Engine, Arc<MemStore>) {
    let mut l = RuleLoader::new();
    l.add_text("ar-payment-run.yaml", RULES);
    let store = Arc::new(MemStore::new());
    let engine = Engine::new(store.clone(), l.finish().expect("rules"));
    let on = NaiveDate::from_ymd_opt(2016, 1, 1).expect("date");
    for i in 0..accounts {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: {}, currency: USD, locations: [{{id: HQ, country: US}}]}}",
            account(i)
        ))
        .expect("account");
        engine.upsert_account(acct).expect("upsert");
        for amount in ["100.00", "50.00"] {
            let doc = engine
                .adhoc_invoice(
                    &AdhocRequest {
                        account: account(i),
                        location: Some("HQ".into()),
                        invoice_date: Some(on),
                        lines: vec![AdhocLine {
                            product: "FEE".into(),
                            amount: Some(amount.parse().expect("amount")),
                            ..Default::default()
                        }],
                        approve: true,
                        ..Default::default()
                    },
                    on,
                )
                .expect("ad-hoc invoice");
            assert_eq!(doc.status, DocStatus::Approved);
        }
    }
    (engine, store)
}

#[test]
fn a_payment_run_writes_what_single_payments_write() {
    // Requests over 30 accounts, several per account (auto-applied oldest due first, an
    // overpayment, a repeated external id, a different one with the same id), and refused ones
    // in between: an unknown account, a negative amount, another currency. The run (groups of
    // `batch_size`, default 500, so all in one group here; and again with groups of 7) must leave
    // the store byte for byte as the same requests sent one by one, and return the same results.
    let on = NaiveDate::from_ymd_opt(2016, 1, 20).expect("date");
    let mut reqs = Vec::new();
    for k in 0..4 {
        for i in 0..30 {
            let amount = Decimal::new(2_500 + 1_337 * ((i * 7 + k * 3) % 11) as i64, 2);
            reqs.push(PaymentRequest {
                account: account(i),
                amount,
                currency: None,
                on,
                method: Some("lockbox".into()),
                external_id: Some(format!("LB-{i}-{}", k.min(2))),
                apply: Some(ApplyMode::Auto),
            });
        }
        reqs.push(PaymentRequest {
            account: "NOBODY".into(),
            amount: Decimal::ONE,
            currency: None,
            on,
            method: None,
            external_id: None,
            apply: None,
        });
        reqs.push(PaymentRequest {
            account: account(k),
            amount: Decimal::new(-100, 2),
            currency: None,
            on,
            method: None,
            external_id: None,
            apply: None,
        });
        reqs.push(PaymentRequest {
            account: account(k),
            amount: Decimal::ONE,
            currency: Some("EUR".into()),
            on,
            method: None,
            external_id: None,
            apply: None,
        });
    }
    let (single, single_store) = payment_book(30);
    let one_by_one: Vec<Result<String, String>> = reqs
        .iter()
        .map(|r| {
            single
                .payment(r, on)
                .map(|p| format!("{} {} {}", p.reference(), p.applied, p.unapplied()))
                .map_err(|e| e.code().to_string())
        })
        .collect();
    let refused = one_by_one.iter().filter(|r| r.is_err()).count();
    // 4 × 3 refusals, plus k = 3 repeating k = 2's external ids with other amounts.
    assert!(
        refused >= 12,
        "the workload must include refusals: {refused}"
    );
    let expected = single_store.scan(b"").expect("scan");
    for group in [None, Some(7)] {
        let (run, run_store) = payment_book(30);
        let results: Vec<Result<String, String>> = match group {
            None => run.payment_run(&reqs, on),
            Some(g) => run.payment_run_in_groups(&reqs, on, g),
        }
        .expect("payment run")
        .into_iter()
        .map(|r| {
            r.map(|p| format!("{} {} {}", p.reference(), p.applied, p.unapplied()))
                .map_err(|e| e.code().to_string())
        })
        .collect();
        assert_eq!(results, one_by_one, "groups {group:?}: results differ");
        let got = run_store.scan(b"").expect("scan");
        assert_eq!(got.len(), expected.len(), "groups {group:?}: record count");
        for ((gk, gv), (ek, ev)) in got.iter().zip(&expected) {
            assert_eq!(
                (String::from_utf8_lossy(gk), String::from_utf8_lossy(gv)),
                (String::from_utf8_lossy(ek), String::from_utf8_lossy(ev)),
                "groups {group:?}"
            );
        }
    }
}

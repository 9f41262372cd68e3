//! The receivables vocabulary of scenario files (05 §10) this version runs: steps `payment`,
//! `apply`, `unapply`, `refund`, `write_off`; expectations `balance` (an invoice's, or an
//! account's) and `payments`.

use super::{checked_table, compare_table, text, Mismatch, TABLE_FIRST, TABLE_ROWS};
use chrono::NaiveDate;
use reckon_engine::billing::{DocStatus, DocType};
use reckon_engine::dates::parse_date;
use reckon_engine::receivables::payments::{ApplyMode, PaymentRequest};
use reckon_engine::receivables::wallets::WalletAction;
use reckon_engine::schema::{opt, parse_decimal, req, Finding, Ty};
use reckon_engine::yaml::Node;
use reckon_engine::{Engine, EngineError};
use rust_decimal::Decimal;

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &[
    "payment",
    "apply",
    "unapply",
    "refund",
    "write_off",
    "wallet",
    "late_fees",
    "cancel_late_fee",
];

const WALLET: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the account"),
    opt(
        "wallet",
        Ty::Text,
        "wallet id (may be omitted when the account has one)",
    ),
    req(
        "action",
        Ty::Enum(&["create", "add", "remove", "renew", "terminate"]),
        "05 §3.3",
    ),
    opt("amount", Ty::Money(false), "funds"),
    opt("policy", Ty::Text, "create: a wallet_policies name"),
    opt("paid", Ty::Bool, "create / add: paid (default) or granted"),
    opt("refund", Ty::Bool, "remove: pay paid funds back to cash"),
    opt(
        "disposition",
        Ty::Enum(&["refund", "void"]),
        "terminate: default the policy's on_terminate",
    ),
    opt("currency", Ty::Currency, "create: must be the account's"),
    opt("on", Ty::Date, "the step's date"),
]);

const LATE_FEES: Ty = Ty::Obj(&[
    opt("on", Ty::Date, "the run date (default the clock)"),
    opt("account", Ty::Text, "one account (default all)"),
]);

const CANCEL_LATE_FEE: Ty = Ty::Obj(&[
    req("invoice", Ty::Text, "the late-fee invoice"),
    req("line", Ty::Int(1, 100_000), "its fee line"),
    opt("on", Ty::Date, "the step's date"),
]);

const WALLET_EXPECT: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the account"),
    opt(
        "wallet",
        Ty::Text,
        "wallet id (default the account's only one)",
    ),
    opt("as_of", Ty::Date, "the clock passes to this date first"),
    opt("balance", Ty::Money(false), "paid + granted"),
    opt("ongoing_balance", Ty::Money(false), "balance − reserved"),
    opt("paid", Ty::Money(false), "paid funds"),
    opt("granted", Ty::Money(false), "granted funds"),
    opt("reserved", Ty::Money(false), "reserved by rated usage"),
    opt(
        "status",
        Ty::Enum(&["active", "terminated", "expired"]),
        "status",
    ),
    opt("expires_on", Ty::Text, "a date or null"),
]);

const EVENTS: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the account"),
    req("columns", Ty::List(&Ty::Text), "kind, date, ref, balance"),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const APPLY_ITEM: Ty = Ty::Either(&[
    Ty::Text,
    Ty::Obj(&[
        req("invoice", Ty::Text, "invoice:ACME#1"),
        opt(
            "amount",
            Ty::Money(false),
            "default min(balance, remaining)",
        ),
    ]),
]);

const PAYMENT: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the paying account"),
    req("amount", Ty::Money(false), "amount received, > 0"),
    opt("currency", Ty::Currency, "must be the account's"),
    opt("on", Ty::Date, "effective date (default the clock)"),
    opt("entered", Ty::Date, "the step's clock date"),
    opt("method", Ty::Text, "free text"),
    opt(
        "external_id",
        Ty::Text,
        "idempotency key, unique per account",
    ),
    opt(
        "apply",
        Ty::Either(&[Ty::Enum(&["auto", "none"]), Ty::List(&APPLY_ITEM)]),
        "auto, none or a list (default: the account's auto_apply)",
    ),
]);

const APPLY: Ty = Ty::Obj(&[
    req("source", Ty::Text, "payment:ACME#1 or credit_memo:ACME#1"),
    req("invoice", Ty::Text, "invoice:ACME#1"),
    opt(
        "amount",
        Ty::Money(false),
        "default min(unapplied, balance)",
    ),
    opt("on", Ty::Date, "effective date"),
    opt("entered", Ty::Date, "the step's clock date"),
]);

const UNAPPLY: Ty = Ty::Obj(&[
    req("source", Ty::Text, "payment or credit memo"),
    req("invoice", Ty::Text, "invoice:ACME#1"),
    opt(
        "amount",
        Ty::Money(false),
        "default all the source applied to it",
    ),
    opt("entered", Ty::Date, "the step's clock date"),
]);

const REFUND: Ty = Ty::Obj(&[
    req("source", Ty::Text, "payment or credit memo"),
    req("amount", Ty::Money(false), "≤ the source's unapplied"),
    opt("on", Ty::Date, "date"),
]);

const WRITE_OFF: Ty = Ty::Obj(&[
    req("invoice", Ty::Text, "invoice:ACME#1"),
    opt("amount", Ty::Money(false), "default the balance"),
    opt("on", Ty::Date, "date"),
    opt("reason", Ty::Text, "free text"),
]);

const BALANCE: Ty = Ty::Obj(&[
    opt("invoice", Ty::Text, "one invoice's balance fields"),
    opt("account", Ty::Text, "or an account's"),
    opt("balance", Ty::Money(false), "invoice balance"),
    opt("paid", Ty::Money(false), "payments applied"),
    opt("credits_applied", Ty::Money(false), "credit memos applied"),
    opt("written_off", Ty::Money(false), "written off"),
    opt("wallet_applied", Ty::Money(false), "wallet draws"),
    opt(
        "days_outstanding",
        Ty::Int(0, 1_000_000),
        "05 §5, as of the clock",
    ),
    opt(
        "payment_status",
        Ty::Enum(&["unpaid", "partially_paid", "paid"]),
        "unpaid, partially_paid, paid",
    ),
    opt(
        "invoice_balance",
        Ty::Money(false),
        "Σ open approved invoice balances",
    ),
    opt(
        "unapplied",
        Ty::Money(false),
        "Σ unapplied payments and memos",
    ),
]);

const PAYMENTS: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the account"),
    req(
        "columns",
        Ty::List(&Ty::Text),
        "ref, external_id, amount, on, method, applied, refunded, unapplied, status",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const AGING: Ty = Ty::Obj(&[
    req("as_of", Ty::Date, "as of"),
    opt("currency", Ty::Currency, "default the scenario's"),
    opt(
        "buckets",
        Ty::Text,
        "an aging_buckets name (default the default set)",
    ),
    opt(
        "detail",
        Ty::Bool,
        "one row per invoice after its account's",
    ),
    req(
        "columns",
        Ty::List(&Ty::Text),
        "account, invoice, days, the bucket labels, unapplied, total",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const SUMMARY: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the account"),
    req("as_of", Ty::Date, "as of"),
    opt("invoice_balance", Ty::Money(false), "05 §7"),
    opt("unapplied_credit", Ty::Money(false), "05 §7"),
    opt("overdue_amount", Ty::Money(false), "05 §7"),
    opt("unbilled_amount", Ty::Money(false), "05 §7"),
    opt("billed_amount", Ty::Money(false), "05 §7"),
    opt("annual_recurring_billing", Ty::Money(false), "05 §7"),
    opt("next_invoice_date", Ty::Text, "05 §7 (a date or null)"),
    opt("last_invoice_through", Ty::Text, "05 §7 (a date or null)"),
    opt("last_invoice_date", Ty::Text, "05 §7 (a date or null)"),
]);

const DSO: Ty = Ty::Obj(&[
    req("from", Ty::Date, "first day"),
    req("to", Ty::Date, "last day"),
    opt(
        "method",
        Ty::Enum(&["standard", "countback"]),
        "default standard",
    ),
    opt("currency", Ty::Currency, "default the scenario's"),
    req("days", Ty::Text, "the DSO, 2 decimals, or null"),
]);

/// A receivables step (its validated value).
#[derive(Debug, Clone)]
pub(super) struct Action {
    kind: &'static str,
    v: serde_yaml::Value,
}

/// A receivables expectation.
#[derive(Debug, Clone)]
pub(super) enum Check {
    Balance {
        invoice: Option<String>,
        account: Option<String>,
        fields: Vec<(String, String)>,
    },
    Payments {
        account: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Aging {
        v: serde_yaml::Value,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Dso(serde_yaml::Value),
    Summary(serde_yaml::Value),
    Wallet(serde_yaml::Value),
    Events {
        account: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
}

/// Validate and parse one receivables step.
pub(super) fn parse_action(
    action: &str,
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Action {
    let (kind, ty) = match action {
        "payment" => ("payment", &PAYMENT),
        "apply" => ("apply", &APPLY),
        "unapply" => ("unapply", &UNAPPLY),
        "refund" => ("refund", &REFUND),
        "wallet" => ("wallet", &WALLET),
        "late_fees" => ("late_fees", &LATE_FEES),
        "cancel_late_fee" => ("cancel_late_fee", &CANCEL_LATE_FEE),
        _ => ("write_off", &WRITE_OFF),
    };
    ty.check(v, path, findings);
    Action {
        kind,
        v: v.to_value(),
    }
}

/// Validate and parse the receivables keys of an `expect:` map.
pub(super) fn parse_checks(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(t) = v.get("balance") {
        BALANCE.check(t, &format!("{path}.balance"), findings);
        let fields = t
            .as_map()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k), text(v)))
                    .filter(|(k, _)| k != "invoice" && k != "account")
                    .collect()
            })
            .unwrap_or_default();
        out.push(Check::Balance {
            invoice: t.get("invoice").map(text),
            account: t.get("account").map(text),
            fields,
        });
    }
    if let Some((t, columns, rows, first)) = checked_table(v, "aging", &AGING, path, findings) {
        out.push(Check::Aging {
            v: t.to_value(),
            columns,
            rows,
            first,
        });
    }
    if let Some(t) = v.get("summary") {
        SUMMARY.check(t, &format!("{path}.summary"), findings);
        out.push(Check::Summary(t.to_value()));
    }
    if let Some(t) = v.get("dso") {
        DSO.check(t, &format!("{path}.dso"), findings);
        out.push(Check::Dso(t.to_value()));
    }
    if let Some(t) = v.get("wallet") {
        WALLET_EXPECT.check(t, &format!("{path}.wallet"), findings);
        out.push(Check::Wallet(t.to_value()));
    }
    if let Some((t, columns, rows, first)) = checked_table(v, "events", &EVENTS, path, findings) {
        out.push(Check::Events {
            account: t.get("account").map(text).unwrap_or_default(),
            columns,
            rows,
            first,
        });
    }
    if let Some((t, columns, rows, first)) = checked_table(v, "payments", &PAYMENTS, path, findings)
    {
        out.push(Check::Payments {
            account: t.get("account").map(text).unwrap_or_default(),
            columns,
            rows,
            first,
        });
    }
    out
}

fn s(v: &serde_yaml::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| match x {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn money(v: &serde_yaml::Value, k: &str) -> Option<Decimal> {
    s(v, k).and_then(|x| parse_decimal(&x))
}

fn date(v: &serde_yaml::Value, k: &str) -> Option<NaiveDate> {
    s(v, k).and_then(|x| parse_date(&x))
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    let what = s(&a.v, "source")
        .or_else(|| s(&a.v, "invoice"))
        .or_else(|| s(&a.v, "account"))
        .unwrap_or_default();
    format!("{} {what}", a.kind)
}

/// The step's own date (08: `entered`, else `on`).
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    date(&a.v, "entered").or_else(|| date(&a.v, "on"))
}

/// Run one receivables step at `clock`.
pub(super) fn execute(engine: &Engine, a: &Action, clock: NaiveDate) -> Result<(), EngineError> {
    let v = &a.v;
    match a.kind {
        "payment" => {
            let apply = match v.get("apply") {
                None => None,
                Some(serde_yaml::Value::String(m)) if m == "none" => Some(ApplyMode::None),
                Some(serde_yaml::Value::String(_)) => Some(ApplyMode::Auto),
                Some(serde_yaml::Value::Sequence(items)) => Some(ApplyMode::List(
                    items
                        .iter()
                        .map(|i| match i {
                            serde_yaml::Value::String(r) => (r.clone(), None),
                            other => (
                                s(other, "invoice").unwrap_or_default(),
                                money(other, "amount"),
                            ),
                        })
                        .collect(),
                )),
                Some(_) => None,
            };
            let req = PaymentRequest {
                account: s(v, "account").unwrap_or_default(),
                amount: money(v, "amount").unwrap_or_default(),
                currency: s(v, "currency"),
                on: date(v, "on").unwrap_or(clock),
                method: s(v, "method"),
                external_id: s(v, "external_id"),
                apply,
            };
            engine.payment(&req, clock).map(|_| ())
        }
        "apply" => engine
            .apply(
                &s(v, "source").unwrap_or_default(),
                &s(v, "invoice").unwrap_or_default(),
                money(v, "amount"),
                date(v, "on"),
                clock,
            )
            .map(|_| ()),
        "unapply" => engine
            .unapply(
                &s(v, "source").unwrap_or_default(),
                &s(v, "invoice").unwrap_or_default(),
                money(v, "amount"),
                clock,
            )
            .map(|_| ()),
        "wallet" => engine
            .wallet(
                &WalletAction {
                    account: s(v, "account").unwrap_or_default(),
                    wallet: s(v, "wallet"),
                    action: s(v, "action").unwrap_or_default(),
                    amount: money(v, "amount"),
                    policy: s(v, "policy"),
                    paid: v.get("paid").and_then(|b| b.as_bool()),
                    refund: v.get("refund").and_then(|b| b.as_bool()),
                    disposition: s(v, "disposition"),
                    currency: s(v, "currency"),
                },
                clock,
            )
            .map(|_| ()),
        "late_fees" => engine
            .late_fees(clock, s(v, "account").as_deref())
            .map(|_| ()),
        "cancel_late_fee" => engine
            .cancel_late_fee(
                &s(v, "invoice").unwrap_or_default(),
                s(v, "line").and_then(|l| l.parse().ok()).unwrap_or(0),
                clock,
            )
            .map(|_| ()),
        "refund" => engine
            .refund(
                &s(v, "source").unwrap_or_default(),
                money(v, "amount").unwrap_or_default(),
                clock,
            )
            .map(|_| ()),
        _ => engine
            .write_off(
                &s(v, "invoice").unwrap_or_default(),
                money(v, "amount"),
                clock,
            )
            .map(|_| ()),
    }
}

/// An invoice's `payment_status` (05 §10): `paid` whenever the balance is 0.
fn payment_status(balance: Decimal, total: Decimal) -> &'static str {
    if balance.is_zero() {
        "paid"
    } else if balance < total {
        "partially_paid"
    } else {
        "unpaid"
    }
}

/// Every account of the store that has documents or payments, in id order.
fn all_accounts(engine: &Engine) -> Vec<String> {
    let mut ids: Vec<String> = engine
        .rules()
        .accounts
        .iter()
        .map(|a| a.id.clone())
        .collect();
    ids.extend(engine.account_ids().unwrap_or_default());
    ids.sort();
    ids.dedup();
    ids
}

/// An expected field as text: null (or `"null"`) is empty, strings as written, other scalars as
/// YAML prints them.
fn expected_text(want: &serde_yaml::Value) -> String {
    match want {
        serde_yaml::Value::Null => String::new(),
        serde_yaml::Value::String(x) if x == "null" => String::new(),
        serde_yaml::Value::String(x) => x.clone(),
        other => serde_yaml::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

/// The date a wallet expectation lets the clock pass to (its `as_of`).
pub(super) fn passes_to(c: &Check) -> Option<NaiveDate> {
    match c {
        Check::Wallet(v) => date(v, "as_of"),
        _ => None,
    }
}

/// Check one receivables expectation.
pub(super) fn check(
    engine: &Engine,
    n: usize,
    c: &Check,
    clock: NaiveDate,
    out: &mut Vec<Mismatch>,
) {
    let currency_of = |v: &serde_yaml::Value| {
        s(v, "currency").unwrap_or_else(|| {
            engine
                .account_ids()
                .ok()
                .and_then(|ids| ids.first().cloned())
                .and_then(|a| engine.account(&a).ok().flatten())
                .map(|a| a.currency)
                .unwrap_or_else(|| "USD".into())
        })
    };
    match c {
        Check::Aging {
            v,
            columns,
            rows,
            first,
        } => {
            let what = "expect aging".to_string();
            let as_of = date(v, "as_of").unwrap_or_default();
            let result = engine
                .aging_buckets(s(v, "buckets").as_deref())
                .and_then(|set| {
                    engine.aging(
                        &all_accounts(engine),
                        &currency_of(v),
                        as_of,
                        &set,
                        v.get("detail").and_then(|d| d.as_bool()).unwrap_or(false),
                    )
                });
            match result {
                Ok(aging) => {
                    let cells: Vec<Vec<String>> = aging
                        .rows
                        .iter()
                        .map(|r| {
                            columns
                                .iter()
                                .map(|c| match c.as_str() {
                                    "account" => r.account.clone().unwrap_or_default(),
                                    "invoice" => r.invoice.clone().unwrap_or_default(),
                                    "days" => r.days.map(|d| d.to_string()).unwrap_or_default(),
                                    "unapplied" => r.unapplied.to_string(),
                                    "total" => r.total.to_string(),
                                    label => aging
                                        .labels
                                        .iter()
                                        .position(|l| l == label)
                                        .map(|i| r.buckets[i].to_string())
                                        .unwrap_or_default(),
                                })
                                .collect()
                        })
                        .collect();
                    // Bucket columns compare as money.
                    let money_cols: Vec<String> = columns
                        .iter()
                        .map(|c| {
                            if aging.labels.contains(c) {
                                "amount".to_string()
                            } else {
                                c.clone()
                            }
                        })
                        .collect();
                    compare_table(out, n, &what, &money_cols, rows, *first, &cells, 2);
                }
                Err(e) => out.push(Mismatch {
                    step: n,
                    what,
                    field: "aging".into(),
                    expected: "a report".into(),
                    got: e.to_string(),
                }),
            }
            return;
        }
        Check::Summary(v) => {
            let a = s(v, "account").unwrap_or_default();
            let what = format!("expect summary {a}");
            match engine.account_summary(&a, date(v, "as_of").unwrap_or_default()) {
                Ok(sum) => {
                    let json = serde_json::to_value(&sum).unwrap_or_default();
                    for (k, want) in v.as_mapping().into_iter().flatten() {
                        let k = k.as_str().unwrap_or_default();
                        if k == "account" || k == "as_of" {
                            continue;
                        }
                        let want = expected_text(want);
                        let got = match json.get(k) {
                            None | Some(serde_json::Value::Null) => String::new(),
                            Some(serde_json::Value::String(x)) => x.clone(),
                            Some(x) => x.to_string(),
                        };
                        let money = k.ends_with("_amount")
                            || k.ends_with("_balance")
                            || k.ends_with("_credit")
                            || k == "annual_recurring_billing";
                        let ok = if money {
                            super::same("amount", &want, &got, 2)
                        } else {
                            want == got
                        };
                        if !ok {
                            out.push(Mismatch {
                                step: n,
                                what: what.clone(),
                                field: k.to_string(),
                                expected: want,
                                got,
                            });
                        }
                    }
                }
                Err(e) => out.push(Mismatch {
                    step: n,
                    what,
                    field: "summary".into(),
                    expected: "a summary".into(),
                    got: e.to_string(),
                }),
            }
            return;
        }
        Check::Wallet(v) => {
            let a = s(v, "account").unwrap_or_default();
            let what = format!("expect wallet {a}");
            let ws = match engine.wallets(&a) {
                Ok(ws) => ws,
                Err(e) => {
                    out.push(Mismatch {
                        step: n,
                        what,
                        field: "records".into(),
                        expected: "readable".into(),
                        got: e.to_string(),
                    });
                    return;
                }
            };
            let id = s(v, "wallet");
            let w = match &id {
                Some(id) => ws.iter().find(|w| &w.id == id),
                None if ws.len() == 1 => ws.first(),
                None => None,
            };
            let Some(w) = w else {
                out.push(Mismatch {
                    step: n,
                    what,
                    field: "wallet".into(),
                    expected: id.unwrap_or_else(|| "the account's only wallet".into()),
                    got: format!("{} wallets", ws.len()),
                });
                return;
            };
            let have = [
                ("balance", w.balance().to_string()),
                ("ongoing_balance", w.ongoing_balance().to_string()),
                ("paid", w.paid.to_string()),
                ("granted", w.granted.to_string()),
                ("reserved", w.reserved.to_string()),
                ("status", w.status.as_str().to_string()),
                (
                    "expires_on",
                    w.expires_on.map(|d| d.to_string()).unwrap_or_default(),
                ),
            ];
            for (k, want) in v.as_mapping().into_iter().flatten() {
                let k = k.as_str().unwrap_or_default();
                let Some((_, got)) = have.iter().find(|(f, _)| *f == k) else {
                    continue;
                };
                let want = expected_text(want);
                let column = if k == "status" || k == "expires_on" {
                    k
                } else {
                    "amount"
                };
                if !super::same(column, &want, got, 2) {
                    out.push(Mismatch {
                        step: n,
                        what: what.clone(),
                        field: k.to_string(),
                        expected: want,
                        got: got.clone(),
                    });
                }
            }
            return;
        }
        Check::Events {
            account,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect events {account}");
            match engine.events(account) {
                Ok(evs) => {
                    let cells: Vec<Vec<String>> = evs
                        .iter()
                        .map(|e| {
                            columns
                                .iter()
                                .map(|c| match c.as_str() {
                                    "kind" => e.kind.clone(),
                                    "date" => e.date.to_string(),
                                    "ref" => e.reference.clone(),
                                    "balance" => e.balance.to_string(),
                                    _ => String::new(),
                                })
                                .collect()
                        })
                        .collect();
                    compare_table(out, n, &what, columns, rows, *first, &cells, 2);
                }
                Err(e) => out.push(Mismatch {
                    step: n,
                    what,
                    field: "records".into(),
                    expected: "readable".into(),
                    got: e.to_string(),
                }),
            }
            return;
        }
        Check::Dso(v) => {
            let what = "expect dso".to_string();
            let r = engine.dso(
                &all_accounts(engine),
                &currency_of(v),
                date(v, "from").unwrap_or_default(),
                date(v, "to").unwrap_or_default(),
                s(v, "method").as_deref() == Some("countback"),
            );
            let want = s(v, "days").unwrap_or_else(|| "null".into());
            let got = match r {
                Ok(Some(d)) => d.to_string(),
                Ok(None) => "null".into(),
                Err(e) => e.to_string(),
            };
            if !(super::same("amount", &want, &got, 2) || want == got) {
                out.push(Mismatch {
                    step: n,
                    what,
                    field: "days".into(),
                    expected: want,
                    got,
                });
            }
            return;
        }
        _ => {}
    }
    let mut push = |what: &str, field: &str, expected: &str, got: String| {
        out.push(Mismatch {
            step: n,
            what: what.to_string(),
            field: field.to_string(),
            expected: expected.to_string(),
            got,
        })
    };
    match c {
        Check::Balance {
            invoice,
            account,
            fields,
        } => {
            let (what, have): (String, Vec<(&str, String)>) = if let Some(r) = invoice {
                let what = format!("expect balance {r}");
                match engine.document(r) {
                    Ok(Some(d)) => (
                        what,
                        vec![
                            ("balance", d.balance.to_string()),
                            ("paid", d.paid.to_string()),
                            ("credits_applied", d.credits_applied.to_string()),
                            ("written_off", d.written_off.to_string()),
                            ("wallet_applied", d.wallet_applied.to_string()),
                            (
                                "days_outstanding",
                                engine
                                    .days_outstanding(&d, clock)
                                    .ok()
                                    .flatten()
                                    .map(|x| x.to_string())
                                    .unwrap_or_default(),
                            ),
                            (
                                "payment_status",
                                payment_status(d.balance, d.total).to_string(),
                            ),
                        ],
                    ),
                    Ok(None) => {
                        return push(&what, "invoice", "to exist", "no such invoice".into())
                    }
                    Err(e) => return push(&what, "records", "readable", e.to_string()),
                }
            } else {
                let a = account.clone().unwrap_or_default();
                let what = format!("expect balance {a}");
                let invoices = match engine.documents(DocType::Invoice, &a) {
                    Ok(x) => x,
                    Err(e) => return push(&what, "records", "readable", e.to_string()),
                };
                let memos = engine
                    .documents(DocType::CreditMemo, &a)
                    .unwrap_or_default();
                let payments = engine.payments(&a).unwrap_or_default();
                let open: Decimal = invoices
                    .iter()
                    .filter(|d| d.status == DocStatus::Approved)
                    .map(|d| d.balance)
                    .sum();
                let unapplied: Decimal = memos
                    .iter()
                    .filter(|m| m.status == DocStatus::Approved)
                    .map(|m| m.total - m.credits_applied)
                    .chain(payments.iter().map(|p| p.unapplied()))
                    .sum();
                (
                    what,
                    vec![
                        ("invoice_balance", open.to_string()),
                        ("unapplied", unapplied.to_string()),
                    ],
                )
            };
            for (k, want) in fields {
                let got = have
                    .iter()
                    .find(|(f, _)| f == k)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                if !super::same(k, want, &got, 2) {
                    push(&what, k, want, got);
                }
            }
        }
        Check::Payments {
            account,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect payments {account}");
            match engine.payments(account) {
                Ok(ps) => {
                    let cells: Vec<Vec<String>> = ps
                        .iter()
                        .map(|p| {
                            let json = serde_json::to_value(p).unwrap_or_default();
                            columns
                                .iter()
                                .map(|c| match c.as_str() {
                                    "ref" => p.reference(),
                                    "unapplied" => p.unapplied().to_string(),
                                    "status" => p.status().to_string(),
                                    other => match json.get(other) {
                                        None | Some(serde_json::Value::Null) => String::new(),
                                        Some(serde_json::Value::String(s)) => s.clone(),
                                        Some(x) => x.to_string(),
                                    },
                                })
                                .collect()
                        })
                        .collect();
                    compare_table(out, n, &what, columns, rows, *first, &cells, 2);
                }
                Err(e) => push(&what, "records", "readable", e.to_string()),
            }
        }
        Check::Aging { .. }
        | Check::Dso(_)
        | Check::Summary(_)
        | Check::Wallet(_)
        | Check::Events { .. } => {}
    }
}

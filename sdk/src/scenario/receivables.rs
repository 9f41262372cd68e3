//! The receivables vocabulary of scenario files (05 §10) this version runs: steps `payment`,
//! `apply`, `unapply`, `refund`, `write_off`; expectations `balance` (an invoice's, or an
//! account's) and `payments`.

use super::{compare_table, table, text, Mismatch, TABLE_FIRST, TABLE_ROWS};
use chrono::NaiveDate;
use reckon_engine::billing::{DocStatus, DocType};
use reckon_engine::dates::parse_date;
use reckon_engine::receivables::payments::{ApplyMode, PaymentRequest};
use reckon_engine::schema::{opt, parse_decimal, req, Finding, Ty};
use reckon_engine::yaml::Node;
use reckon_engine::{Engine, EngineError};
use rust_decimal::Decimal;

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &["payment", "apply", "unapply", "refund", "write_off"];

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
    if let Some(t) = v.get("payments") {
        PAYMENTS.check(t, &format!("{path}.payments"), findings);
        let (columns, rows, first) = table(t, &format!("{path}.payments"), findings);
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

/// Check one receivables expectation.
pub(super) fn check(engine: &Engine, n: usize, c: &Check, out: &mut Vec<Mismatch>) {
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
    }
}

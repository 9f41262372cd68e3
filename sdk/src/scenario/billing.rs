//! The invoicing vocabulary of scenario files (04 §12): steps `invoice_run`, `approve`,
//! `cancel_invoice`, `cancel_credit_memo`, `delete`, `credit_memo`, `render`; expectations
//! `invoices`, `invoice_lines`, `credit_memos`, `run`.

use super::{compare_table, table, text, Mismatch, TABLE_FIRST, TABLE_ROWS};
use chrono::NaiveDate;
use reckon_engine::billing::lifecycle::{CreditLine, CreditRequest};
use reckon_engine::billing::{DocType, Document};
use reckon_engine::dates::parse_date;
use reckon_engine::money::minor_units;
use reckon_engine::schema::{opt, parse_decimal, req, Finding, Ty};
use reckon_engine::schema_tables::INVOICE_RUN;
use reckon_engine::yaml::Node;
use reckon_engine::{Engine, EngineError};

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &[
    "invoice_run",
    "run_scheduled",
    "preview",
    "approve",
    "cancel_invoice",
    "cancel_credit_memo",
    "delete",
    "credit_memo",
    "render",
];

const CREDIT_MEMO: Ty = Ty::Obj(&[
    req("invoice", Ty::Text, "the approved invoice, invoice:ACME#1"),
    opt(
        "reason",
        Ty::Enum(&["write_off", "refund", "billing_error", "goodwill"]),
        "reason code (default billing_error)",
    ),
    opt("date", Ty::Date, "memo date (default the clock)"),
    req(
        "lines",
        Ty::List(&Ty::Obj(&[
            req("line", Ty::Int(1, 1_000_000), "the invoice line's n"),
            req("amount", Ty::Money(false), "amount to credit, > 0"),
        ])),
        "lines to credit",
    ),
    opt("approve", Ty::Bool, "approve at once (default false)"),
]);

/// `preview`: the account and any invoice-run option (04 §10).
const PREVIEW: Ty = Ty::Any;

const PREVIEW_TABLE: Ty = Ty::Obj(&[
    req(
        "columns",
        Ty::List(&Ty::Text),
        "any 04 §1 field, and `suppressed`",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const RUN_SCHEDULED: Ty = Ty::Obj(&[req(
    "through",
    Ty::Date,
    "execute every due occurrence on or before this date",
)]);

const TABLE_BY_ACCOUNT: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the bill-to account"),
    req("columns", Ty::List(&Ty::Text), "any 04 §1 field"),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const TABLE_BY_INVOICE: Ty = Ty::Obj(&[
    req("invoice", Ty::Text, "invoice:ACME#1 or credit_memo:ACME#1"),
    req("columns", Ty::List(&Ty::Text), "any 04 §1 line field"),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const RUN: Ty = Ty::Obj(&[
    req("name", Ty::Text, "run name"),
    opt("on", Ty::Date, "the execution (default the latest)"),
    opt("invoices", Ty::Int(0, i64::MAX), "invoices created"),
    opt("credit_memos", Ty::Int(0, i64::MAX), "credit memos created"),
    opt("suppressed", Ty::Int(0, i64::MAX), "invoices suppressed"),
    opt("failed", Ty::Int(0, i64::MAX), "accounts failed"),
    opt("schedules", Ty::Int(0, i64::MAX), "schedules billed"),
]);

/// An invoicing step.
#[derive(Debug, Clone)]
pub(super) enum Action {
    InvoiceRun(serde_yaml::Value),
    RunScheduled(serde_yaml::Value),
    Preview(serde_yaml::Value),
    Approve(String),
    CancelInvoice(String),
    CancelCreditMemo(String),
    Delete(String),
    CreditMemo(serde_yaml::Value),
    /// Render the document in its format and store a new version (04 §11.2).
    Render(String),
}

/// An invoicing expectation.
#[derive(Debug, Clone)]
pub(super) enum Check {
    Documents {
        doc_type: DocType,
        account: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Lines {
        document: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Run {
        name: String,
        on: Option<String>,
        fields: Vec<(String, String)>,
    },
    Preview {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
}

/// Validate and parse one invoicing step.
pub(super) fn parse_action(
    action: &str,
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Action {
    match action {
        "invoice_run" => {
            INVOICE_RUN.check(v, path, findings);
            Action::InvoiceRun(v.to_value())
        }
        "credit_memo" => {
            CREDIT_MEMO.check(v, path, findings);
            Action::CreditMemo(v.to_value())
        }
        "preview" => {
            PREVIEW.check(v, path, findings);
            Action::Preview(v.to_value())
        }
        "run_scheduled" => {
            RUN_SCHEDULED.check(v, path, findings);
            Action::RunScheduled(v.to_value())
        }
        _ => {
            Ty::Text.check(v, path, findings);
            let r = text(v);
            match action {
                "approve" => Action::Approve(r),
                "cancel_invoice" => Action::CancelInvoice(r),
                "cancel_credit_memo" => Action::CancelCreditMemo(r),
                "render" => Action::Render(r),
                _ => Action::Delete(r),
            }
        }
    }
}

/// Validate and parse the invoicing keys of an `expect:` map.
pub(super) fn parse_checks(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Vec<Check> {
    let mut out = Vec::new();
    for (key, doc_type) in [
        ("invoices", DocType::Invoice),
        ("credit_memos", DocType::CreditMemo),
    ] {
        if let Some(t) = v.get(key) {
            TABLE_BY_ACCOUNT.check(t, &format!("{path}.{key}"), findings);
            let (columns, rows, first) = table(t, &format!("{path}.{key}"), findings);
            out.push(Check::Documents {
                doc_type,
                account: t.get("account").map(text).unwrap_or_default(),
                columns,
                rows,
                first,
            });
        }
    }
    if let Some(t) = v.get("invoice_lines") {
        TABLE_BY_INVOICE.check(t, &format!("{path}.invoice_lines"), findings);
        let (columns, rows, first) = table(t, &format!("{path}.invoice_lines"), findings);
        out.push(Check::Lines {
            document: t.get("invoice").map(text).unwrap_or_default(),
            columns,
            rows,
            first,
        });
    }
    if let Some(t) = v.get("preview") {
        PREVIEW_TABLE.check(t, &format!("{path}.preview"), findings);
        let (columns, rows, first) = table(t, &format!("{path}.preview"), findings);
        out.push(Check::Preview {
            columns,
            rows,
            first,
        });
    }
    if let Some(t) = v.get("run") {
        RUN.check(t, &format!("{path}.run"), findings);
        let fields = t
            .as_map()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k), text(v)))
                    .filter(|(k, _)| k != "name" && k != "on")
                    .collect()
            })
            .unwrap_or_default();
        out.push(Check::Run {
            name: t.get("name").map(text).unwrap_or_default(),
            on: t.get("on").map(text),
            fields,
        });
    }
    out
}

fn str_of(v: &serde_yaml::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| match x {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    match a {
        Action::InvoiceRun(v) => format!("invoice_run {}", str_of(v, "name").unwrap_or_default()),
        Action::RunScheduled(v) => {
            format!("run_scheduled {}", str_of(v, "through").unwrap_or_default())
        }
        Action::Preview(v) => format!("preview {}", str_of(v, "account").unwrap_or_default()),
        Action::Approve(r) => format!("approve {r}"),
        Action::CancelInvoice(r) => format!("cancel_invoice {r}"),
        Action::CancelCreditMemo(r) => format!("cancel_credit_memo {r}"),
        Action::Delete(r) => format!("delete {r}"),
        Action::Render(r) => format!("render {r}"),
        Action::CreditMemo(v) => {
            format!("credit_memo {}", str_of(v, "invoice").unwrap_or_default())
        }
    }
}

/// The step's own date (08: `entered`, `on`, `date`, `invoice_date`, `through`).
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    let v = match a {
        Action::InvoiceRun(v)
        | Action::CreditMemo(v)
        | Action::RunScheduled(v)
        | Action::Preview(v) => v,
        _ => return None,
    };
    ["entered", "on", "date", "invoice_date", "through"]
        .iter()
        .find_map(|k| str_of(v, k))
        .and_then(|d| parse_date(&d))
}

/// Run one invoicing step at `clock`.
pub(super) fn execute(engine: &Engine, a: &Action, clock: NaiveDate) -> Result<(), EngineError> {
    match a {
        Action::InvoiceRun(v) => super::documents::invoice_run(engine, v, clock),
        Action::RunScheduled(_) => super::documents::run_scheduled(engine, clock),
        Action::Preview(v) => engine.preview(v, clock).map(|_| ()),
        Action::Approve(r) => engine.approve(r, clock).map(|_| ()),
        Action::CancelInvoice(r) => engine.cancel_invoice(r).map(|_| ()),
        Action::CancelCreditMemo(r) => engine.cancel_credit_memo(r).map(|_| ()),
        Action::Delete(r) => engine.delete_document(r),
        Action::Render(r) => super::documents::render_step(engine, r, clock),
        Action::CreditMemo(v) => {
            let lines = v
                .get("lines")
                .and_then(|l| l.as_sequence())
                .map(|l| {
                    l.iter()
                        .map(|x| CreditLine {
                            line: str_of(x, "line").and_then(|n| n.parse().ok()).unwrap_or(0),
                            amount: str_of(x, "amount")
                                .and_then(|a| parse_decimal(&a))
                                .unwrap_or_default(),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let req = CreditRequest {
                invoice: str_of(v, "invoice").unwrap_or_default(),
                reason: str_of(v, "reason").unwrap_or_else(|| "billing_error".into()),
                date: str_of(v, "date")
                    .and_then(|d| parse_date(&d))
                    .unwrap_or(clock),
                lines,
                approve: v.get("approve").and_then(|b| b.as_bool()).unwrap_or(false),
            };
            engine.credit_memo(&req, clock).map(|_| ())
        }
    }
}

/// A JSON value as a table cell (`null` → empty, as the YAML `~` / `null` reads).
fn json_cell(v: Option<&serde_json::Value>) -> String {
    match v {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(x) => x.to_string(),
    }
}

/// Tax break-ups as `CA State 6.25% 6.25; LA County 1% 1.00`.
fn breakups_cell(b: &[reckon_engine::billing::Breakup]) -> String {
    b.iter()
        .map(|x| format!("{} {}% {}", x.name, x.rate, x.amount))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A document's cell: any 04 §1 field, plus `ref`, `credit_status`, `date`, `applied`.
fn doc_cell(d: &Document, json: &serde_json::Value, column: &str) -> String {
    match column {
        "tax_breakups" => breakups_cell(&d.tax_breakups),
        "ref" => d.reference(),
        "credit_status" => d.credit_status().to_string(),
        "date" => d.invoice_date.to_string(),
        "applied" => d.credits_applied.to_string(),
        "lines" => d.lines.len().to_string(),
        _ => json_cell(json.get(column)),
    }
}

fn scale(currency: &str) -> u32 {
    minor_units(currency).unwrap_or(2)
}

/// Check one invoicing expectation.
pub(super) fn check(engine: &Engine, n: usize, c: &Check, out: &mut Vec<Mismatch>) {
    let fail = |out: &mut Vec<Mismatch>, what: String, e: EngineError| {
        out.push(Mismatch {
            step: n,
            what,
            field: "records".into(),
            expected: "readable".into(),
            got: e.to_string(),
        })
    };
    match c {
        Check::Documents {
            doc_type,
            account,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect {}s {account}", doc_type.as_str());
            match engine.documents(*doc_type, account) {
                Ok(docs) => {
                    let cells: Vec<Vec<String>> = docs
                        .iter()
                        .map(|d| {
                            let json = serde_json::to_value(d).unwrap_or_default();
                            columns
                                .iter()
                                .map(|c| {
                                    super::documents::doc_cell(engine, d, c)
                                        .unwrap_or_else(|| doc_cell(d, &json, c))
                                })
                                .collect()
                        })
                        .collect();
                    let sc = docs.first().map_or(2, |d| scale(&d.currency));
                    compare_table(out, n, &what, columns, rows, *first, &cells, sc);
                }
                Err(e) => fail(out, what, e),
            }
        }
        Check::Lines {
            document,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect invoice_lines {document}");
            match engine.document(document) {
                Ok(Some(d)) => {
                    let cells: Vec<Vec<String>> = d
                        .lines
                        .iter()
                        .map(|l| {
                            let json = serde_json::to_value(l).unwrap_or_default();
                            columns
                                .iter()
                                .map(|c| match (c.as_str(), &l.credits) {
                                    // The invoice line a memo line credits: `invoice:ACME#1/2`.
                                    ("credits", Some((inv, n))) => format!("{inv}/{n}"),
                                    ("breakups", _) => breakups_cell(&l.breakups),
                                    _ => json_cell(json.get(c)),
                                })
                                .collect()
                        })
                        .collect();
                    compare_table(
                        out,
                        n,
                        &what,
                        columns,
                        rows,
                        *first,
                        &cells,
                        scale(&d.currency),
                    );
                }
                Ok(None) => out.push(Mismatch {
                    step: n,
                    what,
                    field: "document".into(),
                    expected: "to exist".into(),
                    got: "no such document".into(),
                }),
                Err(e) => fail(out, what, e),
            }
        }
        Check::Preview {
            columns,
            rows,
            first,
        } => {
            let docs = engine.last_preview();
            let cells: Vec<Vec<String>> = docs
                .iter()
                .map(|(d, suppressed)| {
                    let json = serde_json::to_value(d).unwrap_or_default();
                    columns
                        .iter()
                        .map(|c| match c.as_str() {
                            "suppressed" => suppressed.to_string(),
                            "document" => d.doc_type.as_str().to_string(),
                            _ => doc_cell(d, &json, c),
                        })
                        .collect()
                })
                .collect();
            let sc = docs.first().map_or(2, |(d, _)| scale(&d.currency));
            compare_table(out, n, "expect preview", columns, rows, *first, &cells, sc);
        }
        Check::Run { name, on, fields } => {
            let what = format!("expect run {name}");
            let execs = match engine.run_executions(name) {
                Ok(x) => x,
                Err(e) => return fail(out, what, e),
            };
            let exec = match on {
                Some(d) => execs.iter().find(|x| x.on.to_string() == *d),
                None => execs.last(),
            };
            let Some(exec) = exec else {
                out.push(Mismatch {
                    step: n,
                    what,
                    field: "execution".into(),
                    expected: on.clone().unwrap_or_else(|| "one".into()),
                    got: "none".into(),
                });
                return;
            };
            let json = serde_json::to_value(exec).unwrap_or_default();
            for (k, want) in fields {
                let have = json_cell(json.get(k));
                if have != *want {
                    out.push(Mismatch {
                        step: n,
                        what: what.clone(),
                        field: k.clone(),
                        expected: want.clone(),
                        got: have,
                    });
                }
            }
        }
    }
}

//! The invoicing vocabulary of scenario files (04 §12): steps `invoice_run`, `approve`,
//! `cancel_invoice`, `cancel_credit_memo`, `delete`, `credit_memo`, `render`, `split_invoice`,
//! `regenerate`, `adhoc_invoice`, `credit_and_rebill`; expectations `invoices`,
//! `invoice_lines`, `credit_memos`, `run`, `preview`, `ledger`.

use super::{checked_table, compare_table, table, text, Mismatch, TABLE_FIRST, TABLE_ROWS};
use chrono::NaiveDate;
use reckon_engine::billing::actions::{AdhocLine, AdhocRequest, RebillRequest};
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
    "split_invoice",
    "regenerate",
    "adhoc_invoice",
    "credit_and_rebill",
    "statement",
];

const STATEMENT: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the account"),
    req("as_of", Ty::Date, "the statement date"),
    opt(
        "from",
        Ty::Date,
        "first day (default the day after the previous statement, else the first transaction)",
    ),
]);

const SUB_TABLE: Ty = Ty::Obj(&[
    req("columns", Ty::List(&Ty::Text), "fields"),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const STATEMENT_CHECK: Ty = Ty::Obj(&[
    req("name", Ty::Text, "STMT-{account}-{as_of}"),
    opt("from", Ty::Date, "first day covered"),
    opt(
        "opening_balance",
        Ty::Money(false),
        "balance as of from − 1",
    ),
    opt("closing_balance", Ty::Money(false), "balance as of as_of"),
    opt(
        "lines",
        SUB_TABLE,
        "transactions: number, type, effective_on, reference, amount, balance",
    ),
    opt(
        "open_invoices",
        SUB_TABLE,
        "invoice, number, invoice_date, due_date, days_past_due, balance",
    ),
]);

const SPLIT: Ty = Ty::Obj(&[
    req("invoice", Ty::Text, "the draft invoice"),
    req(
        "lines",
        Ty::List(&Ty::Int(1, 1_000_000)),
        "the lines (n) that move to the new draft",
    ),
]);

const ADHOC: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the bill-to account"),
    opt("invoice_date", Ty::Date, "invoice date (default the clock)"),
    opt("location", Ty::Text, "one of the account's locations"),
    opt(
        "payment_term",
        Ty::Text,
        "payment term (default the account's)",
    ),
    opt("currency", Ty::Currency, "must be the account's"),
    req(
        "lines",
        Ty::List(&Ty::Obj(&[
            req("product", Ty::Text, "product code"),
            opt("description", Ty::Text, "display text"),
            opt("quantity", Ty::Decimal("0", ""), "quantity (default 1)"),
            opt("unit_price", Ty::Money(false), "unit price"),
            opt(
                "amount",
                Ty::Money(false),
                "amount (default round(quantity × unit_price) − discount)",
            ),
            opt("discount", Ty::Money(false), "discount"),
            opt("period_start", Ty::Date, "service period"),
            opt("period_end", Ty::Date, "service period"),
        ])),
        "manual lines",
    ),
    opt("approve", Ty::Bool, "approve at once (default false)"),
]);

const REBILL: Ty = Ty::Obj(&[
    req("invoice", Ty::Text, "the approved invoice"),
    opt(
        "invoice_date",
        Ty::Date,
        "date of the memo and the new invoice (default the clock)",
    ),
    opt(
        "approve",
        Ty::Bool,
        "approve the new invoice (default false)",
    ),
]);

const FORECAST: Ty = Ty::Obj(&[
    opt("account", Ty::Text, "one bill-to account (default all)"),
    req("from", Ty::YearMonth, "first month"),
    req("to", Ty::YearMonth, "last month"),
    opt("product", Ty::Text, "one product"),
    opt("currency", Ty::Currency, "one currency"),
    opt(
        "price_type",
        Ty::Enum(&["one_time", "recurring", "usage"]),
        "one price type",
    ),
    req(
        "columns",
        Ty::List(&Ty::Text),
        "month, count, total, a status (its amount) or STATUS_count",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const LEDGER: Ty = Ty::Obj(&[
    req("account", Ty::Text, "the customer account"),
    req("columns", Ty::List(&Ty::Text), "any 05 §1.2 field"),
    TABLE_ROWS,
    TABLE_FIRST,
]);

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
    SplitInvoice(serde_yaml::Value),
    Regenerate(String),
    Adhoc(serde_yaml::Value),
    Rebill(serde_yaml::Value),
    Statement(serde_yaml::Value),
}

/// A named table inside an expectation: (key, columns, rows, first).
pub(super) type SubTable = (String, Vec<String>, Vec<Vec<String>>, Option<usize>);

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
    Statement {
        name: String,
        fields: Vec<(String, String)>,
        tables: Vec<SubTable>,
    },
    Forecast {
        query: reckon_engine::billing::forecast::ForecastQuery,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Ledger {
        account: String,
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
        "split_invoice" => {
            SPLIT.check(v, path, findings);
            Action::SplitInvoice(v.to_value())
        }
        "adhoc_invoice" => {
            ADHOC.check(v, path, findings);
            Action::Adhoc(v.to_value())
        }
        "credit_and_rebill" => {
            REBILL.check(v, path, findings);
            Action::Rebill(v.to_value())
        }
        "statement" => {
            STATEMENT.check(v, path, findings);
            Action::Statement(v.to_value())
        }
        _ => {
            Ty::Text.check(v, path, findings);
            let r = text(v);
            match action {
                "approve" => Action::Approve(r),
                "cancel_invoice" => Action::CancelInvoice(r),
                "cancel_credit_memo" => Action::CancelCreditMemo(r),
                "render" => Action::Render(r),
                "regenerate" => Action::Regenerate(r),
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
        if let Some((t, columns, rows, first)) =
            checked_table(v, key, &TABLE_BY_ACCOUNT, path, findings)
        {
            out.push(Check::Documents {
                doc_type,
                account: t.get("account").map(text).unwrap_or_default(),
                columns,
                rows,
                first,
            });
        }
    }
    if let Some((t, columns, rows, first)) =
        checked_table(v, "invoice_lines", &TABLE_BY_INVOICE, path, findings)
    {
        out.push(Check::Lines {
            document: t.get("invoice").map(text).unwrap_or_default(),
            columns,
            rows,
            first,
        });
    }
    if let Some((_, columns, rows, first)) =
        checked_table(v, "preview", &PREVIEW_TABLE, path, findings)
    {
        out.push(Check::Preview {
            columns,
            rows,
            first,
        });
    }
    if let Some(t) = v.get("statement") {
        let p = format!("{path}.statement");
        STATEMENT_CHECK.check(t, &p, findings);
        let mut tables = Vec::new();
        for k in ["lines", "open_invoices"] {
            if let Some(sub) = t.get(k) {
                let (columns, rows, first) = table(sub, &format!("{p}.{k}"), findings);
                tables.push((k.to_string(), columns, rows, first));
            }
        }
        let fields = t
            .as_map()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k), text(v)))
                    .filter(|(k, _)| {
                        matches!(k.as_str(), "from" | "opening_balance" | "closing_balance")
                    })
                    .collect()
            })
            .unwrap_or_default();
        out.push(Check::Statement {
            name: t.get("name").map(text).unwrap_or_default(),
            fields,
            tables,
        });
    }
    if let Some((t, columns, rows, first)) = checked_table(v, "forecast", &FORECAST, path, findings)
    {
        let month = |k: &str| {
            t.get(k)
                .map(text)
                .and_then(|m| reckon_engine::billing::forecast::parse_month(&m))
                .unwrap_or_default()
        };
        out.push(Check::Forecast {
            query: reckon_engine::billing::forecast::ForecastQuery {
                account: t.get("account").map(text),
                from: month("from"),
                to: month("to"),
                product: t.get("product").map(text),
                price_type: t.get("price_type").map(text),
                currency: t.get("currency").map(text),
            },
            columns,
            rows,
            first,
        });
    }
    if let Some((t, columns, rows, first)) = checked_table(v, "ledger", &LEDGER, path, findings) {
        out.push(Check::Ledger {
            account: t.get("account").map(text).unwrap_or_default(),
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
        Action::SplitInvoice(v) => {
            format!("split_invoice {}", str_of(v, "invoice").unwrap_or_default())
        }
        Action::Regenerate(r) => format!("regenerate {r}"),
        Action::Statement(v) => format!("statement {}", str_of(v, "account").unwrap_or_default()),
        Action::Adhoc(v) => format!("adhoc_invoice {}", str_of(v, "account").unwrap_or_default()),
        Action::Rebill(v) => {
            format!(
                "credit_and_rebill {}",
                str_of(v, "invoice").unwrap_or_default()
            )
        }
    }
}

/// The step's own date (08: `entered`, `on`, `date`, `invoice_date`, `through`).
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    let v = match a {
        Action::InvoiceRun(v)
        | Action::CreditMemo(v)
        | Action::RunScheduled(v)
        | Action::Preview(v)
        | Action::Adhoc(v)
        | Action::Rebill(v)
        | Action::Statement(v) => v,
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
        Action::RunScheduled(_) => {
            super::documents::run_scheduled(engine, clock)?;
            // 06 §9: scheduled revenue runs are executed by the same step.
            engine.run_scheduled_revenue(clock).map(|_| ())
        }
        Action::Preview(v) => engine.preview(v, clock).map(|_| ()),
        Action::Approve(r) => engine.approve(r, clock).map(|_| ()),
        Action::CancelInvoice(r) => engine.cancel_invoice(r, clock).map(|_| ()),
        Action::CancelCreditMemo(r) => engine.cancel_credit_memo(r, clock).map(|_| ()),
        Action::Delete(r) => engine.delete_document(r),
        Action::Render(r) => super::documents::render_step(engine, r, clock),
        Action::SplitInvoice(v) => {
            let lines: Vec<u32> = v
                .get("lines")
                .and_then(|l| l.as_sequence())
                .map(|l| {
                    l.iter()
                        .filter_map(|x| x.as_u64().map(|n| n as u32))
                        .collect()
                })
                .unwrap_or_default();
            engine
                .split_invoice(&str_of(v, "invoice").unwrap_or_default(), &lines)
                .map(|_| ())
        }
        Action::Regenerate(r) => engine.regenerate(r, clock).map(|_| ()),
        Action::Statement(v) => engine
            .statement(
                &str_of(v, "account").unwrap_or_default(),
                date_of(v, "as_of").unwrap_or(clock),
                date_of(v, "from"),
            )
            .map(|_| ()),
        Action::Adhoc(v) => engine.adhoc_invoice(&adhoc_request(v), clock).map(|_| ()),
        Action::Rebill(v) => {
            let req = RebillRequest {
                invoice: str_of(v, "invoice").unwrap_or_default(),
                invoice_date: date_of(v, "invoice_date").unwrap_or(clock),
                approve: v.get("approve").and_then(|b| b.as_bool()).unwrap_or(false),
            };
            engine.credit_and_rebill(&req, clock).map(|_| ())
        }
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

fn date_of(v: &serde_yaml::Value, k: &str) -> Option<NaiveDate> {
    str_of(v, k).and_then(|d| parse_date(&d))
}

fn decimal_of(v: &serde_yaml::Value, k: &str) -> Option<rust_decimal::Decimal> {
    str_of(v, k).and_then(|d| parse_decimal(&d))
}

/// The `adhoc_invoice` step's request (validated by [`ADHOC`]).
fn adhoc_request(v: &serde_yaml::Value) -> AdhocRequest {
    AdhocRequest {
        account: str_of(v, "account").unwrap_or_default(),
        invoice_date: date_of(v, "invoice_date"),
        location: str_of(v, "location"),
        payment_term: str_of(v, "payment_term"),
        currency: str_of(v, "currency"),
        lines: v
            .get("lines")
            .and_then(|l| l.as_sequence())
            .map(|l| {
                l.iter()
                    .map(|x| AdhocLine {
                        product: str_of(x, "product").unwrap_or_default(),
                        description: str_of(x, "description"),
                        quantity: decimal_of(x, "quantity"),
                        unit_price: decimal_of(x, "unit_price"),
                        amount: decimal_of(x, "amount"),
                        discount: decimal_of(x, "discount"),
                        period_start: date_of(x, "period_start"),
                        period_end: date_of(x, "period_end"),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        approve: v.get("approve").and_then(|b| b.as_bool()).unwrap_or(false),
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
        "replaced_by" => d.replaced_by.join(", "),
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
        Check::Statement {
            name,
            fields,
            tables,
        } => {
            let what = format!("expect statement {name}");
            let st = match engine.stored_statement(name) {
                Ok(Some(s)) => s,
                Ok(None) => {
                    out.push(Mismatch {
                        step: n,
                        what,
                        field: "statement".into(),
                        expected: "to exist".into(),
                        got: "no such statement".into(),
                    });
                    return;
                }
                Err(e) => return fail(out, what, e),
            };
            let sc = scale(&st.currency);
            let json = serde_json::to_value(&st).unwrap_or_default();
            for (k, want) in fields {
                let have = json_cell(json.get(k));
                if !super::same(k, want, &have, sc) {
                    out.push(Mismatch {
                        step: n,
                        what: what.clone(),
                        field: k.clone(),
                        expected: want.clone(),
                        got: have,
                    });
                }
            }
            for (k, columns, rows, first) in tables {
                let items = json
                    .get(k)
                    .and_then(|v| v.as_array())
                    .cloned()
                    .unwrap_or_default();
                let cells: Vec<Vec<String>> = items
                    .iter()
                    .map(|it| columns.iter().map(|c| json_cell(it.get(c))).collect())
                    .collect();
                compare_table(
                    out,
                    n,
                    &format!("{what} {k}"),
                    columns,
                    rows,
                    *first,
                    &cells,
                    sc,
                );
            }
        }
        Check::Forecast {
            query,
            columns,
            rows,
            first,
        } => {
            use reckon_engine::billing::forecast::{status_name, STATUSES};
            let what = "expect forecast".to_string();
            match engine.forecast(query) {
                Ok(months) => {
                    let cells: Vec<Vec<String>> = months
                        .iter()
                        .map(|m| {
                            columns
                                .iter()
                                .map(|c| {
                                    let i = |name: &str| {
                                        STATUSES.iter().position(|s| status_name(*s) == name)
                                    };
                                    match c.as_str() {
                                        "month" => m.month.clone(),
                                        "currency" => m.currency.clone(),
                                        "count" => m.count().to_string(),
                                        "total" => m.total().to_string(),
                                        other => match other.strip_suffix("_count") {
                                            Some(s) => i(s)
                                                .map(|i| m.counts[i].to_string())
                                                .unwrap_or_default(),
                                            None => i(other)
                                                .map(|i| m.amounts[i].to_string())
                                                .unwrap_or_default(),
                                        },
                                    }
                                })
                                .collect()
                        })
                        .collect();
                    compare_table(out, n, &what, columns, rows, *first, &cells, 2);
                }
                Err(e) => fail(out, what, e),
            }
        }
        Check::Ledger {
            account,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect ledger {account}");
            match engine.ar_transactions(account) {
                Ok(txns) => {
                    let cells: Vec<Vec<String>> = txns
                        .iter()
                        .map(|t| {
                            let json = serde_json::to_value(t).unwrap_or_default();
                            columns.iter().map(|c| json_cell(json.get(c))).collect()
                        })
                        .collect();
                    let sc = txns.first().map_or(2, |t| scale(&t.currency));
                    compare_table(out, n, &what, columns, rows, *first, &cells, sc);
                }
                Err(e) => fail(out, what, e),
            }
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

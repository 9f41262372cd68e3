//! The documents and e-mail vocabulary of scenario files (04 §11–§12): steps `render` (adds a
//! stored version), `send`, `deliver_emails`, `mail_sink`; the `outbox` expectation; the
//! `documents` and `delivery_status` columns of `invoices` / `credit_memos`; and what a run's
//! documents get after an `invoice_run` / `run_scheduled` step (rendering, auto-send).
//!
//! **The clock.** Scenario dates have no time of day: a step at date D acts at D 00:00. A
//! `deliver_emails` step is one worker pass at that instant: it attempts every entry due then,
//! once. An entry retried after `retry_minutes` is due `m` minutes after its attempt, so on this
//! clock it is attempted by the first `deliver_emails` on a later date (decision 68).

use super::{checked_table, compare_table, text, Mismatch, TABLE_FIRST, TABLE_ROWS};
use crate::documents as docs;
use crate::mail::MemorySink;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use reckon_engine::billing::{Document, RunExecution};
use reckon_engine::schema::{opt, req, Finding, Ty};
use reckon_engine::yaml::Node;
use reckon_engine::{Code, Engine, EngineError};

/// The action steps this module owns (`render` is parsed by `billing.rs` and run here).
pub(super) const ACTIONS: &[&str] = &["send", "deliver_emails", "mail_sink"];

const DELIVER: Ty = Ty::Obj(&[
    opt("on", Ty::Date, "the pass's date (default the clock)"),
    opt("entered", Ty::Date, "the pass's date (default the clock)"),
]);
const MAIL_SINK: Ty = Ty::Obj(&[
    req(
        "reject_next",
        Ty::Int(0, 1_000_000),
        "refuse the next N messages",
    ),
    opt(
        "code",
        Ty::Int(400, 599),
        "the SMTP reply code of a refusal: 4xx retried, 5xx failed (default 451)",
    ),
]);
const OUTBOX_COLUMNS: &[&str] = &[
    "id",
    "document",
    "to",
    "subject",
    "attachment",
    "version",
    "status",
    "attempts",
    "last_error",
    "origin",
];
const OUTBOX: Ty = Ty::Obj(&[
    req(
        "columns",
        Ty::List(&Ty::Enum(OUTBOX_COLUMNS)),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

/// A documents step.
#[derive(Debug, Clone)]
pub(super) enum Action {
    Send(String),
    DeliverEmails(Option<NaiveDate>),
    MailSink { reject_next: u32, code: u16 },
}

/// A documents expectation.
#[derive(Debug, Clone)]
pub(super) enum Check {
    Outbox {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
}

/// What a scenario's documents steps share: the in-memory mail sink.
#[derive(Debug, Default)]
pub(super) struct Context {
    sink: MemorySink,
}

/// Validate and parse one documents step.
pub(super) fn parse_action(
    action: &str,
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Action {
    match action {
        "send" => {
            Ty::Text.check(v, path, findings);
            Action::Send(text(v))
        }
        "deliver_emails" => {
            if !matches!(v.kind, reckon_engine::yaml::Kind::Null) {
                DELIVER.check(v, path, findings);
            }
            let date = ["entered", "on"]
                .iter()
                .find_map(|k| v.get(k))
                .and_then(|d| reckon_engine::dates::parse_date(&text(d)));
            Action::DeliverEmails(date)
        }
        _ => {
            MAIL_SINK.check(v, path, findings);
            let num = |k: &str| v.get(k).map(text).and_then(|t| t.parse::<u32>().ok());
            Action::MailSink {
                reject_next: num("reject_next").unwrap_or(0),
                code: num("code")
                    .and_then(|c| u16::try_from(c).ok())
                    .unwrap_or(451),
            }
        }
    }
}

/// Validate and parse the documents keys of an `expect:` map.
pub(super) fn parse_checks(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some((_, columns, rows, first)) = checked_table(v, "outbox", &OUTBOX, path, findings) {
        out.push(Check::Outbox {
            columns,
            rows,
            first,
        });
    }
    out
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    match a {
        Action::Send(r) => format!("send {r}"),
        Action::DeliverEmails(_) => "deliver_emails".into(),
        Action::MailSink { reject_next, code } => {
            format!("mail_sink reject_next {reject_next} code {code}")
        }
    }
}

/// The step's own date (08): `deliver_emails: {on: D}`.
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    match a {
        Action::DeliverEmails(d) => *d,
        _ => None,
    }
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

/// An SDK error as a step refusal (document errors keep their code).
fn refusal(reference: &str, e: crate::SdkError) -> EngineError {
    match e {
        crate::SdkError::Engine(e) => e,
        crate::SdkError::Document(d) => {
            let code = match d.code() {
                "unknown_template" => Code::UnknownTemplate,
                "template_kind_mismatch" => Code::TemplateKindMismatch,
                _ => Code::RenderFailed,
            };
            EngineError::refused(code, reference, "template", d.to_string())
        }
        other => EngineError::refused(Code::RenderFailed, reference, "document", other.to_string()),
    }
}

fn templates(engine: &Engine) -> Result<reckon_documents::Templates, EngineError> {
    docs::templates_of(engine.rules()).map_err(|e| refusal("templates", e))
}

/// Run one documents step at `clock`.
pub(super) fn execute(
    engine: &Engine,
    ctx: &mut Context,
    a: &Action,
    clock: NaiveDate,
) -> Result<(), EngineError> {
    match a {
        Action::Send(r) => {
            let t = templates(engine)?;
            docs::send(engine, &t, r, midnight(clock), "send")
                .map(|_| ())
                .map_err(|e| refusal(r, e))
        }
        Action::DeliverEmails(_) => {
            let t = templates(engine)?;
            docs::deliver_emails(engine, &t, &mut ctx.sink, midnight(clock))
                .map(|_| ())
                .map_err(|e| refusal("deliver_emails", e))
        }
        Action::MailSink { reject_next, code } => {
            ctx.sink.reject_next(*reject_next, *code);
            Ok(())
        }
    }
}

/// The `render: REF` step: render in the document's format and store a new version.
pub(super) fn render_step(engine: &Engine, r: &str, clock: NaiveDate) -> Result<(), EngineError> {
    let t = templates(engine)?;
    docs::render_and_store(engine, &t, r, clock)
        .map(|_| ())
        .map_err(|e| refusal(r, e))
}

/// After an `invoice_run` step: the run, then its documents (rendering, auto-send).
pub(super) fn invoice_run(
    engine: &Engine,
    v: &serde_yaml::Value,
    clock: NaiveDate,
) -> Result<(), EngineError> {
    let exec = engine.invoice_run_step(v, clock)?;
    after(engine, &exec, Some(v), clock)
}

/// After a `run_scheduled` step: each execution's documents.
pub(super) fn run_scheduled(engine: &Engine, clock: NaiveDate) -> Result<(), EngineError> {
    for exec in engine.run_scheduled(clock)? {
        after(engine, &exec, None, exec.on)?;
    }
    Ok(())
}

fn after(
    engine: &Engine,
    exec: &RunExecution,
    step: Option<&serde_yaml::Value>,
    on: NaiveDate,
) -> Result<(), EngineError> {
    let Some(def) = docs::run_definition(engine, &exec.run, step) else {
        return Ok(());
    };
    let t = templates(engine)?;
    docs::after_run(engine, &t, &def, exec, on).map_err(|e| refusal(&exec.run, e))
}

/// The document columns this module owns: `documents` (the stored versions as `v1 pdf
/// default_invoice; v2 …`; size and hash are not compared) and `delivery_status`.
pub(super) fn doc_cell(engine: &Engine, d: &Document, column: &str) -> Option<String> {
    match column {
        "documents" => Some(
            engine
                .document_versions(&d.reference())
                .unwrap_or_default()
                .iter()
                .map(|v| format!("v{} {} {}", v.version, v.format, v.template))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        "delivery_status" => Some(
            engine
                .delivery_status(d)
                .ok()
                .flatten()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
        ),
        _ => None,
    }
}

/// Check one documents expectation.
pub(super) fn check(engine: &Engine, n: usize, c: &Check, out: &mut Vec<Mismatch>) {
    match c {
        Check::Outbox {
            columns,
            rows,
            first,
        } => match engine.outbox() {
            Ok(entries) => {
                let cells: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        columns
                            .iter()
                            .map(|c| match c.as_str() {
                                "id" => e.id.to_string(),
                                "document" => e.document.clone(),
                                "to" => e.to.join(", "),
                                "subject" => e.subject.clone(),
                                "attachment" => e.attachment.clone(),
                                "version" => e.version.to_string(),
                                "status" => e.status.as_str().to_string(),
                                "attempts" => e.attempts.to_string(),
                                "last_error" => e.last_error.clone().unwrap_or_default(),
                                "origin" => e.origin.clone(),
                                _ => String::new(),
                            })
                            .collect()
                    })
                    .collect();
                compare_table(out, n, "expect outbox", columns, rows, *first, &cells, 2);
            }
            Err(e) => out.push(Mismatch {
                step: n,
                what: "expect outbox".into(),
                field: "records".into(),
                expected: "readable".into(),
                got: e.to_string(),
            }),
        },
    }
}

//! Scenario files (spec 08): parse, validate with positions, run on a fresh store, report.

mod billing;
mod changes;
mod documents;
mod plans;
mod receivables;
mod revenue;
mod usage;

use chrono::NaiveDate;
use reckon_engine::dates::parse_date;
use reckon_engine::model::{Account, LegalEntity, Order};
use reckon_engine::money::{minor_units, round, Rounding};
use reckon_engine::rules::{RuleError, RuleLoader};
use reckon_engine::schema::{opt, parse_decimal, req, Field, Finding, Ty};
use reckon_engine::schema_tables::{ACCOUNT, LEGAL_ENTITY, ORDER};
use reckon_engine::store::MemStore;
use reckon_engine::yaml::{self, Kind, Node, Pos};
use reckon_engine::{Engine, EngineError, Schedule};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const RULES_REF: Ty = Ty::Either(&[Ty::Text, Ty::List(&Ty::Text), Ty::Map(&Ty::Any)]);
const ENVELOPE: Ty = Ty::Obj(&[
    req("scenario", Ty::Text, "unique name"),
    opt("description", Ty::Text, "what it checks"),
    opt("source", Ty::Text, "where the numbers come from"),
    opt("currency", Ty::Currency, "default currency of the world"),
    opt(
        "rules",
        RULES_REF,
        "rule documents inline, or a path / list of paths relative to this file",
    ),
    opt(
        "legal_entities",
        Ty::List(&LEGAL_ENTITY),
        "selling entities",
    ),
    opt("accounts", Ty::List(&ACCOUNT), "customer accounts"),
    opt("orders", Ty::List(&ORDER), "orders, not yet activated"),
    opt(
        "rules_errors",
        Ty::List(&RULES_ERROR),
        "the rule-check errors the rules must be refused with, in file order (then `steps: []`)",
    ),
    req("steps", Ty::List(&Ty::Any), "steps, run in order"),
]);
/// One expected rule-check error of `rules_errors`.
const RULES_ERROR: Ty = Ty::Obj(&[
    req("code", Ty::Text, "the error code (split_percent_sum)"),
    opt(
        "path",
        Ty::Text,
        "the field path (revenue_policies[0].split)",
    ),
    opt("line", Ty::Int(1, 1_000_000), "line in this file"),
    opt("message_contains", Ty::Text, "text the message contains"),
]);
/// The `rows` key of every table expectation.
pub(crate) const TABLE_ROWS: Field = req(
    "rows",
    Ty::List(&Ty::List(&Ty::Any)),
    "every row unless `first`",
);
/// The `first` key of every table expectation.
pub(crate) const TABLE_FIRST: Field = opt(
    "first",
    Ty::Int(0, 1_000_000),
    "only the first N rows are listed",
);
const SCHEDULES: Ty = Ty::Obj(&[
    req("line", Ty::Text, "O-1/L1"),
    req("columns", Ty::List(&Ty::Enum(COLUMNS)), "compared columns"),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const TOTAL: Ty = Ty::Obj(&[
    req("line", Ty::Text, "O-1/L1"),
    req("amount", Ty::Money(false), "sum of billable schedules"),
]);
const ERROR: Ty = Ty::Obj(&[
    req("code", Ty::Text, "error code"),
    opt("message_contains", Ty::Text, "substring of the message"),
]);
const EXPECT: Ty = Ty::Obj(&[
    opt("schedules", SCHEDULES, "02 §6"),
    opt("total", TOTAL, "02 §6"),
    opt("invoices", Ty::Any, "04 §12"),
    opt("invoice_lines", Ty::Any, "04 §12"),
    opt("credit_memos", Ty::Any, "04 §12"),
    opt("run", Ty::Any, "04 §12"),
    opt("preview", Ty::Any, "04 §10"),
    opt("ledger", Ty::Any, "05 §10: the account's A/R transactions"),
    opt(
        "forecast",
        Ty::Any,
        "04 §10: schedules per month of ready and status",
    ),
    opt("statement", Ty::Any, "04 §11.1: a stored statement"),
    opt(
        "balance",
        Ty::Any,
        "05 §10: an invoice's or an account's balance",
    ),
    opt("payments", Ty::Any, "an account's payments"),
    opt("aging", Ty::Any, "05 §5 A/R aging as of a date"),
    opt("dso", Ty::Any, "05 §6 DSO over a period"),
    opt("summary", Ty::Any, "05 §7 the account billing summary"),
    opt(
        "wallet",
        Ty::Any,
        "05 §3.2 one wallet's balances and status",
    ),
    opt("events", Ty::Any, "05 §3.5 an account's logged events"),
    opt("outbox", Ty::Any, "04 §12"),
    opt(
        "revenue",
        Ty::Any,
        "06 §13: actual rows of a fee, obligation, agreement or entity",
    ),
    opt(
        "deferred",
        Ty::Any,
        "06 §10: summaries per generated period",
    ),
    opt(
        "period",
        Ty::Any,
        "06 §8: an entity's open period and counts",
    ),
    opt("fees", Ty::Any, "06 §13: an agreement's fees"),
    opt("obligations", Ty::Any, "06 §13: an agreement's obligations"),
    opt("agreement_lines", Ty::Any, "06 §13: an agreement's lines"),
    opt("revenue_run", Ty::Any, "06 §9: a revenue run's result"),
    opt("journal", Ty::Any, "06 §11: the last journal export"),
    opt("agreement", Ty::Any, "06 §2: an agreement's fields"),
    opt("snapshots", Ty::Any, "06 §9: a fee's snapshots"),
    opt("asset", Ty::Any, "03 §D: an asset's status and terms"),
    opt(
        "usage_schedules",
        Ty::Any,
        "03 §D: a line's usage schedules",
    ),
    opt("usage_inputs", Ty::Any, "03 §D: every usage input"),
    opt("usage_run", Ty::Any, "03 §D: the last rate step's summary"),
]);
/// Columns of the `schedules` expectation that this engine version compares.
pub const COLUMNS: &[&str] = &[
    "ref",
    "start",
    "end",
    "ready",
    "amount",
    "quantity",
    "type",
    "status",
    "kind",
    "category",
    "superseded",
    "origin",
    "debit_schedule",
    "available_credit",
    "cancellation_date",
    "swapped_from",
    "item",
    "payment_term",
    "completed",
];

/// Steps this version runs, and steps that later versions of the engine own (spec section).
const FUTURE_STEPS: &[(&str, &str)] = &[
    ("wallet", "05"),
    ("late_fees", "05"),
    ("cancel_late_fee", "05"),
];
const STEPS: &[&str] = &[
    "activate",
    "usage",
    "rate_usage",
    "unrate_usage",
    "retry_usage",
    "expect",
    "error",
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
    "payment",
    "apply",
    "unapply",
    "refund",
    "write_off",
    "send",
    "deliver_emails",
    "mail_sink",
    "ready_for_revenue",
    "agreement",
    "revenue_run",
    "close_period",
    "reopen_period",
    "percent_complete",
    "milestone",
    "revenue_entry",
    "revenue_adjustment",
    "edit_fee",
    "move_fee",
    "journal",
    "actual_to_forecast",
    "forecast_to_budget",
    "snapshot",
    "delete_snapshot",
    "amend",
    "cancel",
    "renew",
    "swap",
    "rollback",
    "complete_milestone",
];

/// A validation error in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileError {
    /// The file.
    pub file: String,
    /// Line.
    pub line: usize,
    /// Column.
    pub col: usize,
    /// Message.
    pub message: String,
}

impl std::fmt::Display for FileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

fn ferr(file: &str, pos: Pos, message: String) -> FileError {
    FileError {
        file: file.to_string(),
        line: pos.line,
        col: pos.col,
        message,
    }
}

fn from_finding(file: &str, f: Finding) -> FileError {
    ferr(
        file,
        f.pos,
        format!(
            "{}: {}: found {}, expected {}",
            f.code, f.path, f.found, f.allowed
        ),
    )
}

fn from_rule(e: RuleError) -> FileError {
    FileError {
        file: e.file.clone(),
        line: e.pos.line,
        col: e.pos.col,
        message: format!(
            "{}: {}: found {}, expected {}",
            e.code, e.path, e.found, e.allowed
        ),
    }
}

/// One step, validated.
#[derive(Debug, Clone)]
enum Step {
    Activate(String),
    Billing(billing::Action),
    Receivables(receivables::Action),
    Documents(documents::Action),
    Revenue(revenue::Action),
    Changes(changes::Action),
    Usage(usage::Action),
    Plans(plans::Action),
    Expect(Vec<Expectation>),
    Error {
        code: String,
        contains: Option<String>,
    },
}

#[derive(Debug, Clone)]
enum Expectation {
    Schedules {
        line: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Total {
        line: String,
        amount: String,
    },
    Billing(billing::Check),
    Receivables(receivables::Check),
    Documents(documents::Check),
    Revenue(revenue::Check),
    Changes(changes::Check),
    Usage(usage::Check),
}

/// A parsed, validated scenario, ready to run.
pub struct Scenario {
    /// Name.
    pub name: String,
    /// File.
    pub file: String,
    currency: Option<String>,
    rules: reckon_engine::RuleSet,
    plugins: Arc<reckon_plugin_host::PluginSet>,
    legal_entities: Vec<LegalEntity>,
    accounts: Vec<Account>,
    orders: Vec<Order>,
    steps: Vec<(usize, Step)>,
    /// `rules_errors`: the expected rule-check errors and those the rules were refused with.
    rules_check: Option<(Vec<ExpectedRuleError>, Vec<RuleError>)>,
}

/// One entry of a scenario's `rules_errors`.
#[derive(Debug, Clone, serde::Deserialize)]
struct ExpectedRuleError {
    code: String,
    path: Option<String>,
    line: Option<usize>,
    message_contains: Option<String>,
}

/// A difference between expected and actual.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mismatch {
    /// 1-based step number.
    pub step: usize,
    /// What the step was (`expect schedules O-1/L1`, `activate O-1`).
    pub what: String,
    /// The field (`row 3 amount`, `total`, `error`).
    pub field: String,
    /// Expected.
    pub expected: String,
    /// Got.
    pub got: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} ({}): {} expected {}, got {}",
            self.step, self.what, self.field, self.expected, self.got
        )
    }
}

/// The result of one scenario.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Outcome {
    /// Scenario name.
    pub name: String,
    /// File.
    pub file: String,
    /// Passed.
    pub passed: bool,
    /// Every mismatch.
    pub mismatches: Vec<Mismatch>,
}

fn text(n: &Node) -> String {
    match &n.kind {
        Kind::Null => String::new(),
        Kind::Scalar { text, .. } => text.clone(),
        _ => format!("{:?}", n.to_value()),
    }
}

/// Parse and validate a scenario file; every problem is reported with its position.
pub fn parse_file(path: &Path) -> Result<Scenario, Vec<FileError>> {
    let file = path.display().to_string();
    let src = std::fs::read_to_string(path)
        .map_err(|e| vec![ferr(&file, Pos::default(), format!("cannot read: {e}"))])?;
    parse_str(&file, &src, path.parent().unwrap_or(Path::new(".")))
}

/// Parse and validate scenario text; `base` resolves rule paths.
pub fn parse_str(file: &str, src: &str, base: &Path) -> Result<Scenario, Vec<FileError>> {
    let docs = yaml::parse(src)
        .map_err(|e| vec![ferr(file, e.pos, format!("syntax_error: {}", e.message))])?;
    let [doc] = docs.as_slice() else {
        return Err(vec![ferr(
            file,
            Pos { line: 1, col: 1 },
            format!("expected one YAML document, found {}", docs.len()),
        )]);
    };
    let mut errors = Vec::new();
    let mut findings = Vec::new();
    ENVELOPE.check(doc, "", &mut findings);
    errors.extend(findings.into_iter().map(|f| from_finding(file, f)));
    // Rules: inline documents (positions in this file) or paths.
    let mut loader = RuleLoader::new();
    if let Some(r) = doc.get("rules") {
        match &r.kind {
            Kind::Map(_) => loader.add_node(file, r),
            Kind::Scalar { .. } | Kind::Seq(_) => {
                let paths: Vec<&Node> = match r.as_seq() {
                    Some(items) => items.iter().collect(),
                    None => vec![r],
                };
                for p in paths {
                    let rel = PathBuf::from(text(p));
                    let full = base.join(&rel);
                    let res = if full.is_dir() {
                        loader.add_dir(&full)
                    } else {
                        std::fs::read_to_string(&full)
                            .map(|t| loader.add_text(&full.display().to_string(), &t))
                    };
                    if let Err(e) = res {
                        errors.push(ferr(
                            file,
                            p.pos,
                            format!("rules path {}: {e}", rel.display()),
                        ));
                    }
                }
            }
            Kind::Null => {}
        }
    }
    let expected_rule_errors: Option<Vec<ExpectedRuleError>> = doc
        .get("rules_errors")
        .and_then(|n| serde_yaml::from_value(n.to_value()).ok());
    let mut refused = Vec::new();
    let rules = match loader.finish() {
        Ok(r) => Some(r),
        Err(e) => {
            refused.extend(e);
            None
        }
    };
    let plugins = match &rules {
        Some(r) => match reckon_plugin_host::load(r) {
            Ok(p) => Some(p),
            Err(errs) => {
                refused.extend(errs);
                None
            }
        },
        None => None,
    };
    let rules_check = match expected_rule_errors {
        Some(want) => {
            if doc
                .get("steps")
                .and_then(Node::as_seq)
                .is_some_and(|s| !s.is_empty())
            {
                errors.push(ferr(
                    file,
                    doc.get("steps").map_or(doc.pos, |n| n.pos),
                    "a scenario with `rules_errors` has no steps: write `steps: []`".into(),
                ));
            }
            refused.sort_by(|a, b| {
                (&a.file, a.pos.line, a.pos.col).cmp(&(&b.file, b.pos.line, b.pos.col))
            });
            Some((want, std::mem::take(&mut refused)))
        }
        None => {
            errors.extend(refused.into_iter().map(from_rule));
            None
        }
    };
    let steps = parse_steps(file, doc, &mut errors);
    if !errors.is_empty() {
        errors.sort_by_key(|e| (e.file.clone(), e.line, e.col));
        return Err(errors);
    }
    let typed = |key: &str| {
        doc.get(key)
            .map(|n| n.to_value())
            .unwrap_or(serde_yaml::Value::Sequence(vec![]))
    };
    let bad = |key: &str, e: serde_yaml::Error| {
        vec![ferr(
            file,
            doc.get(key).map_or(doc.pos, |n| n.pos),
            format!("{key}: {e}"),
        )]
    };
    let legal_entities: Vec<LegalEntity> =
        serde_yaml::from_value(typed("legal_entities")).map_err(|e| bad("legal_entities", e))?;
    let accounts: Vec<Account> =
        serde_yaml::from_value(typed("accounts")).map_err(|e| bad("accounts", e))?;
    let orders: Vec<Order> =
        serde_yaml::from_value(typed("orders")).map_err(|e| bad("orders", e))?;
    Ok(Scenario {
        name: doc.get("scenario").map(text).unwrap_or_default(),
        file: file.to_string(),
        currency: doc.get("currency").map(text),
        rules: rules.unwrap_or_default(),
        plugins: Arc::new(plugins.unwrap_or_default()),
        legal_entities,
        accounts,
        orders,
        steps,
        rules_check,
    })
}

/// The mismatches between a scenario's `rules_errors` and the errors its rules were refused with
/// (one per missing, unexpected or differing error; step 0).
fn rules_check_mismatches(want: &[ExpectedRuleError], got: &[RuleError]) -> Vec<Mismatch> {
    let miss = |field: String, expected: String, got: String| Mismatch {
        step: 0,
        what: "rules_errors".into(),
        field,
        expected,
        got,
    };
    let mut out = Vec::new();
    for i in 0..want.len().max(got.len()) {
        let field = format!("error {}", i + 1);
        match (want.get(i), got.get(i)) {
            (Some(w), Some(g)) => {
                let message = format!("{}: found {}, expected {}", g.path, g.found, g.allowed);
                if w.code != g.code {
                    out.push(miss(field.clone() + " code", w.code.clone(), g.code.into()));
                }
                if let Some(p) = w.path.as_ref().filter(|p| **p != g.path) {
                    out.push(miss(field.clone() + " path", p.clone(), g.path.clone()));
                }
                if let Some(l) = w.line.filter(|l| *l != g.pos.line) {
                    out.push(miss(
                        field.clone() + " line",
                        l.to_string(),
                        g.pos.line.to_string(),
                    ));
                }
                if let Some(t) = w
                    .message_contains
                    .as_ref()
                    .filter(|t| !message.contains(t.as_str()))
                {
                    out.push(miss(field + " message", format!("contains `{t}`"), message));
                }
            }
            (Some(w), None) => out.push(miss(field, w.code.clone(), "no error".into())),
            (None, Some(g)) => out.push(miss(
                field,
                "no error".into(),
                format!("{} at {}:{}:{}", g.code, g.file, g.pos.line, g.pos.col),
            )),
            (None, None) => {}
        }
    }
    out
}

/// A table expectation's node with its `columns`, `rows` and `first`.
pub(crate) type TableParts<'a> = (&'a Node, Vec<String>, Vec<Vec<String>>, Option<usize>);

/// The table expectation under `key` of an `expect:` map, checked against `ty` (findings at
/// `path.key`), with its parts; `None` when the key is absent.
pub(crate) fn checked_table<'a>(
    v: &'a Node,
    key: &str,
    ty: &Ty,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Option<TableParts<'a>> {
    let t = v.get(key)?;
    let at = format!("{path}.{key}");
    ty.check(t, &at, findings);
    let (columns, rows, first) = table(t, &at, findings);
    Some((t, columns, rows, first))
}

/// The `columns`, `rows` and `first` of a table expectation; a row whose cell count differs from
/// the columns' is a finding at that row.
pub(crate) fn table(
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> (Vec<String>, Vec<Vec<String>>, Option<usize>) {
    let columns: Vec<String> = v
        .get("columns")
        .and_then(Node::as_seq)
        .map(|c| c.iter().map(text).collect())
        .unwrap_or_default();
    let mut rows = Vec::new();
    for (ri, row) in v
        .get("rows")
        .and_then(Node::as_seq)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let cells: Vec<String> = row
            .as_seq()
            .map(|c| c.iter().map(text).collect())
            .unwrap_or_default();
        if cells.len() != columns.len() {
            findings.push(Finding {
                code: "bad_value",
                pos: row.pos,
                path: format!("{path}.rows[{ri}]"),
                found: format!("{} cells", cells.len()),
                allowed: format!("one cell per column ({})", columns.len()),
            });
        }
        rows.push(cells);
    }
    let first = v
        .get("first")
        .and_then(|f| f.as_str())
        .and_then(|f| f.parse().ok());
    (columns, rows, first)
}

fn parse_steps(file: &str, doc: &Node, errors: &mut Vec<FileError>) -> Vec<(usize, Step)> {
    let mut out = Vec::new();
    let Some(steps) = doc.get("steps").and_then(Node::as_seq) else {
        return out;
    };
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let Some([(k, v)]) = s.as_map() else {
            errors.push(ferr(
                file,
                s.pos,
                format!("steps[{i}]: a step is a map with exactly one action key"),
            ));
            continue;
        };
        let action = k.as_str().unwrap_or_default();
        let mut findings = Vec::new();
        let path = format!("steps[{i}].{action}");
        match action {
            "activate" => {
                Ty::Text.check(v, &path, &mut findings);
                out.push((n, Step::Activate(text(v))));
            }
            "error" => {
                ERROR.check(v, &path, &mut findings);
                if i == 0
                    || !matches!(
                        out.last(),
                        Some((
                            _,
                            Step::Activate(_)
                                | Step::Billing(_)
                                | Step::Receivables(_)
                                | Step::Documents(_)
                                | Step::Revenue(_)
                                | Step::Changes(_)
                                | Step::Usage(_)
                                | Step::Plans(_)
                        ))
                    )
                {
                    errors.push(ferr(file, k.pos, format!("{path}: an `error:` expectation must follow the step it is about (an action step)")));
                }
                out.push((
                    n,
                    Step::Error {
                        code: v.get("code").map(text).unwrap_or_default(),
                        contains: v.get("message_contains").map(text),
                    },
                ));
            }
            "expect" => {
                EXPECT.check(v, &path, &mut findings);
                let mut exps = Vec::new();
                if let Some(sch) = v.get("schedules") {
                    let (columns, rows, first) =
                        table(sch, &format!("{path}.schedules"), &mut findings);
                    exps.push(Expectation::Schedules {
                        line: sch.get("line").map(text).unwrap_or_default(),
                        columns,
                        rows,
                        first,
                    });
                }
                if let Some(t) = v.get("total") {
                    exps.push(Expectation::Total {
                        line: t.get("line").map(text).unwrap_or_default(),
                        amount: t.get("amount").map(text).unwrap_or_default(),
                    });
                }
                exps.extend(
                    billing::parse_checks(v, &path, &mut findings)
                        .into_iter()
                        .map(Expectation::Billing),
                );
                exps.extend(
                    receivables::parse_checks(v, &path, &mut findings)
                        .into_iter()
                        .map(Expectation::Receivables),
                );
                exps.extend(
                    documents::parse_checks(v, &path, &mut findings)
                        .into_iter()
                        .map(Expectation::Documents),
                );
                exps.extend(
                    revenue::parse_checks(v, &path, &mut findings)
                        .into_iter()
                        .map(Expectation::Revenue),
                );
                exps.extend(
                    changes::parse_checks(v, &path, &mut findings)
                        .into_iter()
                        .map(Expectation::Changes),
                );
                exps.extend(
                    usage::parse_checks(v, &path, &mut findings)
                        .into_iter()
                        .map(Expectation::Usage),
                );
                out.push((n, Step::Expect(exps)));
            }
            a if usage::ACTIONS.contains(&a) => {
                out.push((
                    n,
                    Step::Usage(usage::parse_action(a, v, &path, &mut findings)),
                ));
            }
            a if changes::ACTIONS.contains(&a) => {
                out.push((
                    n,
                    Step::Changes(changes::parse_action(a, v, &path, &mut findings)),
                ));
            }
            a if plans::ACTIONS.contains(&a) => {
                out.push((n, Step::Plans(plans::parse_action(v, &path, &mut findings))));
            }
            a if documents::ACTIONS.contains(&a) => {
                out.push((
                    n,
                    Step::Documents(documents::parse_action(a, v, &path, &mut findings)),
                ));
            }
            a if billing::ACTIONS.contains(&a) => {
                out.push((
                    n,
                    Step::Billing(billing::parse_action(a, v, &path, &mut findings)),
                ));
            }
            a if revenue::ACTIONS.contains(&a) => {
                out.push((
                    n,
                    Step::Revenue(revenue::parse_action(a, n, v, &path, &mut findings)),
                ));
            }
            a if receivables::ACTIONS.contains(&a) => {
                out.push((
                    n,
                    Step::Receivables(receivables::parse_action(a, v, &path, &mut findings)),
                ));
            }
            other => {
                let msg = match FUTURE_STEPS.iter().find(|(s, _)| *s == other) {
                    Some((_, spec)) => format!("{path}: step `{other}` (spec {spec}) is not supported by this engine version"),
                    None => format!("unknown_key: steps[{i}]: found step `{other}`, expected one of {}", STEPS.join(", ")),
                };
                errors.push(ferr(file, k.pos, msg));
            }
        }
        errors.extend(findings.into_iter().map(|f| from_finding(file, f)));
    }
    out
}

impl Scenario {
    /// Run on a fresh in-memory store.
    pub fn run(&self) -> Outcome {
        if let Some((want, got)) = &self.rules_check {
            let mismatches = rules_check_mismatches(want, got);
            return Outcome {
                name: self.name.clone(),
                file: self.file.clone(),
                passed: mismatches.is_empty(),
                mismatches,
            };
        }
        let mut mismatches = Vec::new();
        let engine = Engine::new(Arc::new(MemStore::new()), self.rules.clone())
            .with_callbacks(self.plugins.clone())
            .with_price_currency(self.currency.clone());
        // 08: the clock starts at the earliest order date; `activate` has no date of its own.
        let mut clock = self
            .rules
            .orders
            .iter()
            .chain(&self.orders)
            .filter_map(|o| o.order_date)
            .min()
            .unwrap_or(NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid"));
        let mut setup = |what: &str, r: Result<(), EngineError>| {
            if let Err(e) = r {
                mismatches.push(Mismatch {
                    step: 0,
                    what: what.into(),
                    field: "setup".into(),
                    expected: "accepted".into(),
                    got: format!("refused: {e}"),
                });
            }
        };
        // Records declared in rule files come first; the envelope's may replace them.
        for le in self.rules.legal_entities.iter().chain(&self.legal_entities) {
            setup(
                &format!("legal entity {}", le.id),
                engine.upsert_legal_entity(le.clone()),
            );
        }
        for a in self.rules.accounts.iter().chain(&self.accounts) {
            setup(
                &format!("account {}", a.id),
                engine.upsert_account(a.clone()),
            );
        }
        for o in self.rules.orders.iter().chain(&self.orders) {
            setup(&format!("order {}", o.id), engine.submit_order(o.clone()));
        }
        let mut mail = documents::Context::default();
        let mut rev = revenue::Context::default();
        let mut last: Option<(usize, String, Result<(), EngineError>)> = None;
        let check_unclaimed = |last: &mut Option<(usize, String, Result<(), EngineError>)>,
                               mismatches: &mut Vec<Mismatch>| {
            if let Some((n, what, Err(e))) = last.take() {
                mismatches.push(Mismatch {
                    step: n,
                    what,
                    field: "result".into(),
                    expected: "success".into(),
                    got: format!("refused: {e}"),
                });
            }
        };
        for (n, step) in &self.steps {
            match step {
                Step::Activate(order) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    let r = engine.activate(order, clock).map(|_| ());
                    last = Some((*n, format!("activate {order}"), r));
                }
                Step::Billing(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = billing::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = billing::execute(&engine, a, clock);
                    last = Some((*n, billing::describe(a), r));
                }
                Step::Receivables(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = receivables::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = receivables::execute(&engine, a, clock);
                    last = Some((*n, receivables::describe(a), r));
                }
                Step::Documents(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = documents::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = documents::execute(&engine, &mut mail, a, clock);
                    last = Some((*n, documents::describe(a), r));
                }
                Step::Revenue(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = revenue::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = revenue::execute(&engine, &mut rev, a, clock);
                    last = Some((*n, revenue::describe(a), r));
                }
                Step::Changes(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = changes::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = changes::execute(&engine, a, clock);
                    last = Some((*n, changes::describe(a), r));
                }
                Step::Usage(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = usage::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = usage::execute(&engine, a, clock);
                    last = Some((*n, usage::describe(a), r));
                }
                Step::Plans(a) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    if let Some(d) = plans::own_date(a) {
                        clock = clock.max(d);
                    }
                    pass_time(&engine, *n, clock, &mut mismatches);
                    let r = plans::execute(&engine, a, clock);
                    last = Some((*n, plans::describe(a), r));
                }
                Step::Error { code, contains } => {
                    let what = format!("error {code}");
                    match last.take() {
                        Some((_, _, Err(e))) => {
                            if e.code() != code {
                                mismatches.push(Mismatch {
                                    step: *n,
                                    what,
                                    field: "code".into(),
                                    expected: code.clone(),
                                    got: format!("{} ({e})", e.code()),
                                });
                            } else if let Some(c) = contains {
                                if !e.to_string().contains(c.as_str()) {
                                    mismatches.push(Mismatch {
                                        step: *n,
                                        what,
                                        field: "message".into(),
                                        expected: format!("to contain `{c}`"),
                                        got: e.to_string(),
                                    });
                                }
                            }
                        }
                        Some((_, prev, Ok(()))) => mismatches.push(Mismatch {
                            step: *n,
                            what,
                            field: "result".into(),
                            expected: format!("refused with {code}"),
                            got: format!("`{prev}` succeeded"),
                        }),
                        None => {}
                    }
                }
                Step::Expect(exps) => {
                    check_unclaimed(&mut last, &mut mismatches);
                    // A wallet expectation's `as_of` lets the clock pass first, for every
                    // check of the step.
                    for d in exps.iter().filter_map(|e| match e {
                        Expectation::Receivables(c) => receivables::passes_to(c),
                        _ => None,
                    }) {
                        pass_time(&engine, *n, d, &mut mismatches);
                    }
                    for e in exps {
                        if let Expectation::Revenue(c) = e {
                            revenue::check(&engine, &rev, *n, c, &mut mismatches);
                        } else {
                            self.check(&engine, *n, e, clock, &mut mismatches);
                        }
                    }
                }
            }
        }
        check_unclaimed(&mut last, &mut mismatches);
        Outcome {
            name: self.name.clone(),
            file: self.file.clone(),
            passed: mismatches.is_empty(),
            mismatches,
        }
    }

    fn scale_of(&self, engine: &Engine, line: &str) -> u32 {
        engine
            .asset(line)
            .ok()
            .flatten()
            .and_then(|a| minor_units(&a.currency))
            .or_else(|| self.currency.as_deref().and_then(minor_units))
            .unwrap_or(2)
    }

    fn check(
        &self,
        engine: &Engine,
        n: usize,
        e: &Expectation,
        clock: NaiveDate,
        out: &mut Vec<Mismatch>,
    ) {
        match e {
            Expectation::Schedules {
                line,
                columns,
                rows,
                first,
            } => {
                let what = format!("expect schedules {line}");
                let got = match engine.schedules(line) {
                    Ok(g) => g,
                    Err(err) => {
                        out.push(Mismatch {
                            step: n,
                            what,
                            field: "schedules".into(),
                            expected: "readable".into(),
                            got: err.to_string(),
                        });
                        return;
                    }
                };
                let scale = self.scale_of(engine, line);
                let info = changes::line_info(engine, line, columns);
                let cells: Vec<Vec<String>> = got
                    .iter()
                    .map(|s| {
                        columns
                            .iter()
                            .map(|c| {
                                changes::cell(s, c, &info)
                                    .or_else(|| plans::cell(s, c))
                                    .unwrap_or_else(|| cell(s, c))
                            })
                            .collect()
                    })
                    .collect();
                compare_table(out, n, &what, columns, rows, *first, &cells, scale);
            }
            Expectation::Billing(c) => billing::check(engine, n, c, out),
            Expectation::Receivables(c) => receivables::check(engine, n, c, clock, out),
            Expectation::Documents(c) => documents::check(engine, n, c, out),
            Expectation::Revenue(_) => {}
            Expectation::Changes(c) => changes::check(engine, n, c, out),
            Expectation::Usage(c) => usage::check(engine, n, c, out),
            Expectation::Total { line, amount } => {
                let what = format!("expect total {line}");
                match engine.line_total(line) {
                    Ok(t) => {
                        let scale = self.scale_of(engine, line);
                        let have = round(t, scale, Rounding::HalfUp).to_string();
                        if !same("amount", amount, &have, scale) {
                            out.push(Mismatch {
                                step: n,
                                what,
                                field: "amount".into(),
                                expected: amount.clone(),
                                got: have,
                            });
                        }
                    }
                    Err(err) => out.push(Mismatch {
                        step: n,
                        what,
                        field: "amount".into(),
                        expected: amount.clone(),
                        got: err.to_string(),
                    }),
                }
            }
        }
    }
}

/// 05 §3.3: the clock passes to `clock` before a step (automatic wallet events).
fn pass_time(engine: &Engine, n: usize, clock: NaiveDate, out: &mut Vec<Mismatch>) {
    if let Err(e) = engine.pass_time(clock) {
        out.push(Mismatch {
            step: n,
            what: "the clock passing".into(),
            field: "wallets".into(),
            expected: "automatic events".into(),
            got: e.to_string(),
        });
    }
}

/// Compare an expected table with the actual cells (`got[i][j]` is row i, column j): every row
/// unless `first`, cell by cell, money at `scale`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compare_table(
    out: &mut Vec<Mismatch>,
    n: usize,
    what: &str,
    columns: &[String],
    rows: &[Vec<String>],
    first: Option<usize>,
    got: &[Vec<String>],
    scale: u32,
) {
    let shown = first.unwrap_or(got.len()).min(got.len());
    if first.is_none() && rows.len() != got.len() {
        out.push(Mismatch {
            step: n,
            what: what.to_string(),
            field: "rows".into(),
            expected: rows.len().to_string(),
            got: got.len().to_string(),
        });
    } else if first.is_some_and(|f| got.len() < f) {
        out.push(Mismatch {
            step: n,
            what: what.to_string(),
            field: "rows".into(),
            expected: format!("at least {}", first.unwrap_or(0)),
            got: got.len().to_string(),
        });
    }
    for (i, row) in rows.iter().enumerate() {
        let Some(have_row) = got.get(i).filter(|_| i < shown.max(rows.len())) else {
            out.push(Mismatch {
                step: n,
                what: what.to_string(),
                field: format!("row {}", i + 1),
                expected: format!("[{}]", row.join(", ")),
                got: "no row".into(),
            });
            continue;
        };
        for ((c, want), have) in columns.iter().zip(row).zip(have_row) {
            if !same(c, want, have, scale) {
                out.push(Mismatch {
                    step: n,
                    what: what.to_string(),
                    field: format!("row {} {c}", i + 1),
                    expected: want.clone(),
                    got: have.clone(),
                });
            }
        }
    }
}

fn word<T: Serialize>(v: T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn cell(s: &Schedule, column: &str) -> String {
    match column {
        "ref" => s.id.clone(),
        "start" => s.start.to_string(),
        "end" => s.end.to_string(),
        "ready" => s.ready.to_string(),
        "amount" => s.amount.to_string(),
        "quantity" => s.quantity.normalize().to_string(),
        "type" => word(s.schedule_type),
        "status" => word(s.status),
        "kind" => s.kind.clone(),
        "category" => s.category.clone(),
        _ => String::new(),
    }
}

/// Columns compared as dates.
const DATE_COLUMNS: &[&str] = &[
    "start",
    "end",
    "ready",
    "invoice_date",
    "due_date",
    "period_start",
    "period_end",
    "date",
    "on",
    "approved_on",
    "process_through",
    "cancellation_date",
    "completed",
];
/// Columns compared as money at the currency's minor unit.
const MONEY_COLUMNS: &[&str] = &[
    "amount",
    "opening_balance",
    "closing_balance",
    "pending_billing",
    "pending_invoiced",
    "invoiced",
    "pending_milestone",
    "superseded",
    "cancelled",
    "starting_balance",
    "ending_balance",
    "tax",
    "total",
    "subtotal",
    "discount",
    "balance",
    "net",
    "applied",
    "credits_applied",
    "wallet_applied",
    "paid",
    "unapplied",
    "refunded",
    "invoice_balance",
    "written_off",
    "credited",
    "available_credit",
];

pub(crate) fn same(column: &str, want: &str, have: &str, scale: u32) -> bool {
    if DATE_COLUMNS.contains(&column) {
        if want.is_empty() || have.is_empty() {
            return want == have;
        }
        return parse_date(want).is_some() && parse_date(want) == parse_date(have);
    }
    if MONEY_COLUMNS.contains(&column) {
        if want.is_empty() || have.is_empty() {
            return want == have;
        }
        return match (parse_decimal(want), parse_decimal(have)) {
            (Some(a), Some(b)) => {
                round(a, scale, Rounding::HalfUp) == round(b, scale, Rounding::HalfUp)
            }
            // `superseded` is a money column of forecasts and a flag of schedules (03 §D).
            (None, None) => want == have,
            _ => false,
        };
    }
    if column == "quantity" {
        return matches!((parse_decimal(want), parse_decimal(have)), (Some(a), Some(b)) if a == b);
    }
    want == have
}

/// Every scenario file under the paths (files, or folders searched recursively for *.yaml / *.yml).
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        if p.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(p)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for e in entries {
                walk(&e, out)?;
            }
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p.to_path_buf());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if !p.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("{}: no such file or folder", p.display()),
            ));
        }
        if p.is_file() {
            out.push(p.clone());
        } else {
            walk(p, &mut out)?;
        }
    }
    Ok(out)
}

/// The whole report of a `scenario run`.
#[derive(Debug, Clone, Serialize, Default)]
pub struct Report {
    /// Outcomes of the scenarios that ran.
    pub scenarios: Vec<Outcome>,
    /// Files that could not be read or did not validate.
    pub invalid: Vec<FileError>,
    /// Passed count.
    pub passed: usize,
    /// Failed count.
    pub failed: usize,
}

impl Report {
    /// Exit status: 2 for invalid files, 1 for failures, 0 otherwise.
    pub fn exit_code(&self) -> i32 {
        if !self.invalid.is_empty() {
            2
        } else if self.failed > 0 {
            1
        } else {
            0
        }
    }

    /// The text form (08): one line per scenario, mismatches indented, closing line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for e in &self.invalid {
            out.push_str(&format!("error {e}\n"));
        }
        for o in &self.scenarios {
            out.push_str(&format!(
                "{} {}\n",
                if o.passed { "ok  " } else { "FAIL" },
                o.name
            ));
            for m in &o.mismatches {
                out.push_str(&format!("  {m}\n"));
            }
        }
        out.push_str(&format!("{} passed, {} failed\n", self.passed, self.failed));
        out
    }
}

/// Run every scenario under the paths.
pub fn run_paths(paths: &[PathBuf]) -> Report {
    let mut report = Report::default();
    let files = match collect(paths) {
        Ok(f) => f,
        Err(e) => {
            report.invalid.push(FileError {
                file: String::new(),
                line: 0,
                col: 0,
                message: e.to_string(),
            });
            return report;
        }
    };
    let mut names = std::collections::BTreeMap::new();
    for f in files {
        match parse_file(&f) {
            Ok(s) => {
                if let Some(first) = names.insert(s.name.clone(), s.file.clone()) {
                    report.invalid.push(FileError {
                        file: s.file.clone(),
                        line: 1,
                        col: 1,
                        message: format!("duplicate scenario name `{}` (also in {first})", s.name),
                    });
                    continue;
                }
                let o = s.run();
                if o.passed {
                    report.passed += 1;
                } else {
                    report.failed += 1;
                }
                report.scenarios.push(o);
            }
            Err(errs) => report.invalid.extend(errs),
        }
    }
    report
}

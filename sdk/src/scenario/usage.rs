//! The usage vocabulary of scenario files (03 §D): steps `usage`, `rate_usage`,
//! `unrate_usage`, `retry_usage`; expectations `usage_schedules`, `usage_inputs`, `usage_run`.

use super::{checked_table, compare_table, text, Mismatch, TABLE_FIRST, TABLE_ROWS};
use chrono::NaiveDate;
use reckon_engine::dates::parse_date;
use reckon_engine::money::{round, Rounding};
use reckon_engine::schema::{opt, parse_decimal, req, Finding, Ty};
use reckon_engine::usage::rating::{LoadUsage, RateUsage};
use reckon_engine::yaml::Node;
use reckon_engine::{Engine, EngineError};
use rust_decimal::Decimal;

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &["usage", "rate_usage", "unrate_usage", "retry_usage"];

const USAGE: Ty = Ty::Obj(&[
    opt("line", Ty::Text, "the asset (O-1/L1)"),
    opt(
        "asset_number",
        Ty::Text,
        "the asset number (= the line ref)",
    ),
    req("date", Ty::Date, "usage date"),
    req("quantity", Ty::Decimal("", ""), "quantity (≥ 0)"),
    opt("start", Ty::Date, "usage window start (default date)"),
    opt("end", Ty::Date, "usage window end (default date)"),
    opt("uom", Ty::Text, "unit of measure"),
    opt("description", Ty::Text, ""),
]);

const RATE: Ty = Ty::Obj(&[
    opt("through", Ty::Date, "only inputs dated on or before"),
    opt("line", Ty::Text, "only this line's inputs"),
    opt("inputs", Ty::List(&Ty::Text), "only these (usage#n)"),
]);

const REFS: Ty = Ty::Either(&[Ty::Text, Ty::List(&Ty::Text)]);

const USAGE_SCHEDULES: Ty = Ty::Obj(&[
    req("line", Ty::Text, "O-1/L1"),
    req(
        "columns",
        Ty::List(&Ty::Enum(USAGE_SCHEDULE_COLUMNS)),
        "usage schedule columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const USAGE_SCHEDULE_COLUMNS: &[&str] = &[
    "ref",
    "start",
    "end",
    "quantity",
    "included",
    "billable_quantity",
    "amount",
    "status",
    "superseded",
];

const USAGE_INPUT_COLUMNS: &[&str] = &[
    "ref",
    "line",
    "usage_date",
    "quantity",
    "status",
    "rated_amount",
    "message",
    "usage_schedule",
];

const USAGE_INPUTS: Ty = Ty::Obj(&[
    req(
        "columns",
        Ty::List(&Ty::Enum(USAGE_INPUT_COLUMNS)),
        "usage input columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);

const USAGE_RUN: Ty = Ty::Obj(&[
    opt("processed", Ty::Int(0, i64::MAX), "inputs taken"),
    opt("rated", Ty::Int(0, i64::MAX), "inputs rated"),
    opt("errors", Ty::Int(0, i64::MAX), "inputs in error"),
]);

/// A usage step (its validated value).
#[derive(Debug, Clone)]
pub(super) struct Action {
    kind: &'static str,
    v: serde_yaml::Value,
}

/// A usage expectation.
#[derive(Debug, Clone)]
pub(super) enum Check {
    Schedules {
        line: String,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Inputs {
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Run(Vec<(String, String)>),
}

/// Validate and parse one usage step.
pub(super) fn parse_action(
    action: &str,
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Action {
    let kind = match action {
        "usage" => {
            USAGE.check(v, path, findings);
            "usage"
        }
        "rate_usage" => {
            RATE.check(v, path, findings);
            "rate_usage"
        }
        "unrate_usage" => {
            REFS.check(v, path, findings);
            "unrate_usage"
        }
        _ => {
            REFS.check(v, path, findings);
            "retry_usage"
        }
    };
    Action {
        kind,
        v: v.to_value(),
    }
}

/// Validate and parse the usage keys of an `expect:` map.
pub(super) fn parse_checks(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some((t, columns, rows, first)) =
        checked_table(v, "usage_schedules", &USAGE_SCHEDULES, path, findings)
    {
        out.push(Check::Schedules {
            line: t.get("line").map(text).unwrap_or_default(),
            columns,
            rows,
            first,
        });
    }
    if let Some((_, columns, rows, first)) =
        checked_table(v, "usage_inputs", &USAGE_INPUTS, path, findings)
    {
        out.push(Check::Inputs {
            columns,
            rows,
            first,
        });
    }
    if let Some(t) = v.get("usage_run") {
        USAGE_RUN.check(t, &format!("{path}.usage_run"), findings);
        let fields = t
            .as_map()
            .map(|m| m.iter().map(|(k, v)| (text(k), text(v))).collect())
            .unwrap_or_default();
        out.push(Check::Run(fields));
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

fn date(v: &serde_yaml::Value, k: &str) -> Option<NaiveDate> {
    s(v, k).and_then(|x| parse_date(&x))
}

fn refs(v: &serde_yaml::Value) -> Vec<String> {
    match v {
        serde_yaml::Value::Sequence(xs) => xs
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        serde_yaml::Value::String(x) => vec![x.clone()],
        _ => Vec::new(),
    }
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    match a.kind {
        "usage" => format!(
            "usage {}",
            s(&a.v, "line")
                .or_else(|| s(&a.v, "asset_number"))
                .unwrap_or_default()
        ),
        "rate_usage" => "rate_usage".into(),
        k => format!("{k} {}", refs(&a.v).join(", ")),
    }
}

/// The step's own date (08: `date`, else `through`).
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    match a.kind {
        "usage" => date(&a.v, "date"),
        "rate_usage" => date(&a.v, "through"),
        _ => None,
    }
}

/// Run one usage step at `clock`.
pub(super) fn execute(engine: &Engine, a: &Action, clock: NaiveDate) -> Result<(), EngineError> {
    let v = &a.v;
    match a.kind {
        "usage" => engine
            .load_usage(&LoadUsage {
                line: s(v, "line")
                    .or_else(|| s(v, "asset_number"))
                    .unwrap_or_default(),
                date: date(v, "date").unwrap_or(clock),
                quantity: s(v, "quantity")
                    .and_then(|q| parse_decimal(&q))
                    .unwrap_or_default(),
                start: date(v, "start"),
                end: date(v, "end"),
                uom: s(v, "uom"),
                description: s(v, "description"),
            })
            .map(|_| ()),
        "rate_usage" => engine
            .rate_usage(&RateUsage {
                through: date(v, "through"),
                line: s(v, "line"),
                inputs: v.get("inputs").map(refs).unwrap_or_default(),
            })
            .map(|_| ()),
        "unrate_usage" => engine.unrate_usage(&refs(v)),
        _ => engine.retry_usage(&refs(v)),
    }
}

fn money(d: Decimal, scale: u32) -> String {
    round(d, scale, Rounding::HalfUp).to_string()
}

/// Compare decimals by value, money at `scale`.
fn equal_cells(columns: &[String], want: &[Vec<String>], got: &mut [Vec<String>]) {
    // Cells that are equal by value are shown as expected, so the table compare sees them equal.
    for (w, g) in want.iter().zip(got.iter_mut()) {
        for ((c, wc), gc) in columns.iter().zip(w).zip(g.iter_mut()) {
            let numeric = matches!(
                c.as_str(),
                "quantity" | "included" | "billable_quantity" | "amount" | "rated_amount"
            );
            if numeric {
                if let (Some(a), Some(b)) = (parse_decimal(wc), parse_decimal(gc)) {
                    if a == b {
                        *gc = wc.clone();
                    }
                }
            }
        }
    }
}

/// Check one usage expectation.
pub(super) fn check(engine: &Engine, n: usize, c: &Check, out: &mut Vec<Mismatch>) {
    match c {
        Check::Schedules {
            line,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect usage_schedules {line}");
            let scale = engine
                .asset(line)
                .ok()
                .flatten()
                .and_then(|a| reckon_engine::money::minor_units(&a.currency))
                .unwrap_or(2);
            let got = engine.usage_schedules(line).unwrap_or_default();
            let mut cells: Vec<Vec<String>> = got
                .iter()
                .map(|u| {
                    columns
                        .iter()
                        .map(|c| match c.as_str() {
                            "ref" => u.id.clone(),
                            "start" => u.start.to_string(),
                            "end" => u.end.to_string(),
                            "quantity" => u.quantity.normalize().to_string(),
                            "included" => u.included.normalize().to_string(),
                            "billable_quantity" => u.billable_quantity.normalize().to_string(),
                            "amount" => money(u.amount, scale),
                            "status" => serde_json::to_value(u.status)
                                .ok()
                                .and_then(|v| v.as_str().map(str::to_string))
                                .unwrap_or_default(),
                            "superseded" => u.superseded.to_string(),
                            _ => String::new(),
                        })
                        .collect()
                })
                .collect();
            equal_cells(columns, rows, &mut cells);
            compare_table(out, n, &what, columns, rows, *first, &cells, scale);
        }
        Check::Inputs {
            columns,
            rows,
            first,
        } => {
            let what = "expect usage_inputs".to_string();
            let got = engine.usage_inputs().unwrap_or_default();
            let mut cells: Vec<Vec<String>> = got
                .iter()
                .map(|i| {
                    let scale = engine
                        .asset(&i.line)
                        .ok()
                        .flatten()
                        .and_then(|a| reckon_engine::money::minor_units(&a.currency))
                        .unwrap_or(2);
                    columns
                        .iter()
                        .map(|c| match c.as_str() {
                            "ref" => i.reference(),
                            "line" => i.line.clone(),
                            "usage_date" => i.usage_date.to_string(),
                            "quantity" => i.quantity.normalize().to_string(),
                            "status" => i.status.as_str().to_string(),
                            "rated_amount" => {
                                i.rated_amount.map(|a| money(a, scale)).unwrap_or_default()
                            }
                            "message" => i.message.clone().unwrap_or_default(),
                            "usage_schedule" => i.usage_schedule.clone().unwrap_or_default(),
                            _ => String::new(),
                        })
                        .collect()
                })
                .collect();
            equal_cells(columns, rows, &mut cells);
            compare_table(out, n, &what, columns, rows, *first, &cells, 2);
        }
        Check::Run(fields) => {
            let run = engine.last_usage_run().ok().flatten().unwrap_or_default();
            for (k, want) in fields {
                let have = match k.as_str() {
                    "processed" => run.processed,
                    "rated" => run.rated,
                    _ => run.errors,
                }
                .to_string();
                if *want != have {
                    out.push(Mismatch {
                        step: n,
                        what: "expect usage_run".into(),
                        field: k.clone(),
                        expected: want.clone(),
                        got: have,
                    });
                }
            }
        }
    }
}

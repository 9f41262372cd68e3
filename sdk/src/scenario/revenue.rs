//! The revenue vocabulary of scenario files (06 §13) this version runs: steps
//! `ready_for_revenue`, `agreement`, `revenue_run`, `close_period`, `reopen_period`,
//! `percent_complete`, `milestone`, `revenue_entry` (actual entries), `revenue_adjustment`,
//! `edit_fee`, `move_fee`, `journal`; expectations `revenue`, `deferred`, `period`, `fees`,
//! `obligations`, `agreement_lines`, `revenue_run`, `journal` and `agreement`.

use super::{checked_table, compare_table, Mismatch, TABLE_FIRST, TABLE_ROWS};
use chrono::NaiveDate;
use reckon_engine::dates::parse_date;
use reckon_engine::revenue::journal::Journal;
use reckon_engine::revenue::run::RevenueRunDef;
use reckon_engine::revenue::{Agreement, AgreementStatus, Summary};
use reckon_engine::schema::{opt, parse_decimal, req, Finding, Ty};
use reckon_engine::yaml::Node;
use reckon_engine::{Code, Engine, EngineError};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &[
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
];

const READY: Ty = Ty::Obj(&[
    req("order", Ty::Text, "order id"),
    req("date", Ty::Date, "ready-for-revenue date"),
]);
const AGREEMENT: Ty = Ty::Obj(&[
    req("ref", Ty::Text, "agreement:O-1"),
    opt("status", Ty::Enum(&["activated", "draft"]), "status"),
    opt("revrec_active", Ty::Bool, "recognition gate"),
    opt("forecast_active", Ty::Bool, "forecast gate"),
]);
const REVENUE_RUN: Ty = Ty::Obj(&[
    opt(
        "name",
        Ty::Text,
        "a rules run's name, or the inline run's (default a fresh name)",
    ),
    opt(
        "kind",
        Ty::Enum(&["actual", "forecast", "rollback_actual", "rollback_forecast"]),
        "what the run does",
    ),
    opt(
        "type",
        Ty::Enum(&["immediate", "scheduled"]),
        "default immediate",
    ),
    opt("legal_entity", Ty::Text, "legal entity id"),
    opt("period", Ty::YearMonth, "YYYY-MM; must be the open period"),
    opt(
        "filters",
        Ty::List(&Ty::Any),
        "04 §2.2 rows over account, location, legal_entity, order",
    ),
    opt("filter_logic", Ty::Text, "expression over row numbers"),
    opt("schedule", Ty::Any, "scheduled runs only"),
    opt("date", Ty::Date, "the step's clock date"),
]);
const ENTITY: Ty = Ty::Obj(&[req("legal_entity", Ty::Text, "legal entity id")]);
const PERCENT: Ty = Ty::Obj(&[
    req("fee", Ty::Text, "fee:O-1/L1#1"),
    req("period", Ty::YearMonth, "YYYY-MM"),
    opt(
        "actual",
        Ty::Decimal("-1000000", "1000000"),
        "cumulative actual percent",
    ),
    opt(
        "forecast",
        Ty::Decimal("-1000000", "1000000"),
        "forecast percent",
    ),
]);
const MILESTONE: Ty = Ty::Obj(&[
    req("fee", Ty::Text, "fee:O-1/L1#1"),
    req("name", Ty::Text, "milestone name"),
    opt("expected", Ty::Date, "planned date"),
    opt("actual", Ty::Date, "completion date"),
]);
const ENTRY: Ty = Ty::Obj(&[
    req("fee", Ty::Text, "fee:O-1/L1#1"),
    req("period", Ty::YearMonth, "YYYY-MM"),
    opt(
        "kind",
        Ty::Enum(&["actual", "forecast", "budget"]),
        "actual (default), forecast or budget",
    ),
    req("amount", Ty::Money(false), "amount"),
]);
const ADJUSTMENT: Ty = Ty::Obj(&[
    req("agreement", Ty::Text, "agreement:O-1"),
    req("amount", Ty::Money(false), "amount, in the open period"),
    opt("comment", Ty::Text, "free text"),
]);
const EDIT_FEE: Ty = Ty::Obj(&[
    req("fee", Ty::Text, "fee:O-1/L1#1"),
    req("start", Ty::Date, "new start of an immediate fee"),
]);
const MOVE_FEE: Ty = Ty::Obj(&[
    req("fee", Ty::Text, "fee:O-1/L1#1"),
    req("obligation", Ty::Text, "obligation:O-1#2"),
]);
const JOURNAL: Ty = Ty::Obj(&[
    req("legal_entity", Ty::Text, "legal entity id"),
    req("period", Ty::YearMonth, "a closed period YYYY-MM"),
    opt("format", Ty::Text, "csv or json (default csv)"),
]);

const REVENUE: Ty = Ty::Obj(&[
    opt("fee", Ty::Text, "fee:O-1/L1#1"),
    opt("obligation", Ty::Text, "obligation:O-1#1"),
    opt("agreement", Ty::Text, "agreement:O-1"),
    opt("legal_entity", Ty::Text, "legal entity id"),
    opt(
        "kind",
        Ty::Enum(&["actual", "forecast", "budget"]),
        "actual (default), forecast, budget (fee, agreement)",
    ),
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "period",
            "amount",
            "cumulative",
            "unrecognised",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const DEFERRED: Ty = Ty::Obj(&[
    opt("agreement", Ty::Text, "agreement:O-1"),
    opt("legal_entity", Ty::Text, "legal entity id"),
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "period",
            "billed_to_date",
            "recognised_to_date",
            "deferred",
            "unrecognised",
            "billed",
            "recognised",
            "adjustments",
            "new_fees",
            "modification_fees",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const PERIOD: Ty = Ty::Obj(&[
    req("legal_entity", Ty::Text, "legal entity id"),
    opt("current", Ty::Date, "open period month end"),
    opt(
        "eligible",
        Ty::Int(0, i64::MAX),
        "agreements eligible for actuals",
    ),
    opt(
        "with_actuals",
        Ty::Int(0, i64::MAX),
        "agreements with a summary for it",
    ),
    opt(
        "ready_to_forecast",
        Ty::Int(0, i64::MAX),
        "eligible for forecasts, no forecast rows yet",
    ),
]);
const SNAPSHOTS: Ty = Ty::Obj(&[
    req("fee", Ty::Text, "fee:O-1/L1#1"),
    opt(
        "kind",
        Ty::Enum(&["actual", "forecast"]),
        "actual (default) or forecast",
    ),
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "period",
            "actual",
            "forecast",
            "budget",
            "variance_to_forecast",
            "variance_to_budget",
            "cumulative",
            "unrecognised",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const FEES: Ty = Ty::Obj(&[
    req("agreement", Ty::Text, "agreement:O-1"),
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "fee",
            "rule",
            "start",
            "end",
            "amount",
            "transaction_price",
            "obligation",
            "fee_type",
            "origin",
            "chain",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const OBLIGATIONS: Ty = Ty::Obj(&[
    req("agreement", Ty::Text, "agreement:O-1"),
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "obligation",
            "rule",
            "start",
            "end",
            "transaction_price",
            "allocation",
            "status",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const LINES: Ty = Ty::Obj(&[
    req("agreement", Ty::Text, "agreement:O-1"),
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "line",
            "net_price",
            "transaction_price",
            "allocation",
            "ssp",
            "start",
            "end",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const RUN: Ty = Ty::Obj(&[
    req("name", Ty::Text, "run name"),
    opt(
        "status",
        Ty::Enum(&["completed", "completed_with_errors", "failed"]),
        "run status",
    ),
    opt("succeeded", Ty::Int(0, i64::MAX), "count"),
    opt("failed", Ty::Int(0, i64::MAX), "count"),
    opt("skipped", Ty::Int(0, i64::MAX), "count"),
    opt(
        "entries",
        Ty::List(&Ty::List(&Ty::Text)),
        "[agreement, status, code] of failed and skipped entries",
    ),
]);
const JOURNAL_EXPECT: Ty = Ty::Obj(&[
    req(
        "columns",
        Ty::List(&Ty::Enum(&[
            "entry",
            "date",
            "legal_entity",
            "agreement",
            "fee",
            "account",
            "debit",
            "credit",
            "currency",
            "memo",
        ])),
        "compared columns",
    ),
    TABLE_ROWS,
    TABLE_FIRST,
]);
const AGREEMENT_EXPECT: Ty = Ty::Obj(&[
    req("ref", Ty::Text, "agreement:O-1"),
    opt("status", Ty::Enum(&["activated", "draft"]), "status"),
    opt("standard", Ty::Enum(&["asc605", "asc606"]), "standard"),
    opt("start", Ty::Date, "start"),
    opt("end", Ty::Date, "end"),
    opt("legal_entity", Ty::Text, "legal entity"),
    opt("currency", Ty::Currency, "currency"),
    opt("revrec_active", Ty::Bool, "gate"),
    opt("forecast_active", Ty::Bool, "gate"),
]);

/// A revenue step (its validated value).
#[derive(Debug, Clone)]
pub(super) struct Action {
    kind: &'static str,
    n: usize,
    v: serde_yaml::Value,
}

/// A revenue expectation.
#[derive(Debug, Clone)]
pub(super) enum Check {
    Table {
        key: &'static str,
        v: serde_yaml::Value,
        columns: Vec<String>,
        rows: Vec<Vec<String>>,
        first: Option<usize>,
    },
    Map {
        key: &'static str,
        v: serde_yaml::Value,
    },
}

/// What a scenario's revenue steps keep between steps: the last journal export.
#[derive(Debug, Default)]
pub(super) struct Context {
    journal: Option<Journal>,
}

/// Validate and parse one revenue step.
pub(super) fn parse_action(
    action: &str,
    n: usize,
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Action {
    let (kind, ty) = match action {
        "ready_for_revenue" => ("ready_for_revenue", &READY),
        "agreement" => ("agreement", &AGREEMENT),
        "revenue_run" => ("revenue_run", &REVENUE_RUN),
        "close_period" => ("close_period", &ENTITY),
        "reopen_period" => ("reopen_period", &ENTITY),
        "percent_complete" => ("percent_complete", &PERCENT),
        "milestone" => ("milestone", &MILESTONE),
        "revenue_entry" => ("revenue_entry", &ENTRY),
        "revenue_adjustment" => ("revenue_adjustment", &ADJUSTMENT),
        "edit_fee" => ("edit_fee", &EDIT_FEE),
        "move_fee" => ("move_fee", &MOVE_FEE),
        "actual_to_forecast" => ("actual_to_forecast", &ENTITY),
        "forecast_to_budget" => ("forecast_to_budget", &ENTITY),
        "snapshot" => ("snapshot", &ENTITY),
        "delete_snapshot" => ("delete_snapshot", &ENTITY),
        _ => ("journal", &JOURNAL),
    };
    ty.check(v, path, findings);
    Action {
        kind,
        n,
        v: v.to_value(),
    }
}

/// Validate and parse the revenue keys of an `expect:` map.
pub(super) fn parse_checks(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Vec<Check> {
    let mut out = Vec::new();
    let tables: [(&'static str, &Ty); 7] = [
        ("snapshots", &SNAPSHOTS),
        ("revenue", &REVENUE),
        ("deferred", &DEFERRED),
        ("fees", &FEES),
        ("obligations", &OBLIGATIONS),
        ("agreement_lines", &LINES),
        ("journal", &JOURNAL_EXPECT),
    ];
    for (key, ty) in tables {
        if let Some((t, columns, rows, first)) = checked_table(v, key, ty, path, findings) {
            out.push(Check::Table {
                key,
                v: t.to_value(),
                columns,
                rows,
                first,
            });
        }
    }
    let maps: [(&'static str, &Ty); 3] = [
        ("period", &PERIOD),
        ("revenue_run", &RUN),
        ("agreement", &AGREEMENT_EXPECT),
    ];
    for (key, ty) in maps {
        if let Some(t) = v.get(key) {
            ty.check(t, &format!("{path}.{key}"), findings);
            out.push(Check::Map {
                key,
                v: t.to_value(),
            });
        }
    }
    out
}

fn s(v: &serde_yaml::Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| match x {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

fn money(v: &serde_yaml::Value, k: &str) -> Option<Decimal> {
    s(v, k).and_then(|x| parse_decimal(&x))
}

fn date(v: &serde_yaml::Value, k: &str) -> Option<NaiveDate> {
    s(v, k).and_then(|x| parse_date(&x))
}

fn bool_of(v: &serde_yaml::Value, k: &str) -> Option<bool> {
    v.get(k).and_then(|x| x.as_bool())
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    let what = ["order", "ref", "name", "fee", "agreement", "legal_entity"]
        .iter()
        .find_map(|k| s(&a.v, k))
        .unwrap_or_default();
    format!("{} {what}", a.kind)
}

/// The step's own date (08: `date`).
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    date(&a.v, "date")
}

/// The keys of an inline run definition.
const RUN_KEYS: &[&str] = &[
    "name",
    "kind",
    "type",
    "legal_entity",
    "period",
    "filters",
    "filter_logic",
    "schedule",
];

/// Run one revenue step.
pub(super) fn execute(
    engine: &Engine,
    ctx: &mut Context,
    a: &Action,
    _clock: NaiveDate,
) -> Result<(), EngineError> {
    let v = &a.v;
    let fee = || s(v, "fee").unwrap_or_default();
    match a.kind {
        "ready_for_revenue" => engine
            .ready_for_revenue(
                &s(v, "order").unwrap_or_default(),
                date(v, "date").unwrap_or_default(),
            )
            .map(|_| ()),
        "agreement" => engine
            .set_agreement_gates(
                &s(v, "ref").unwrap_or_default(),
                s(v, "status").map(|x| {
                    if x == "draft" {
                        AgreementStatus::Draft
                    } else {
                        AgreementStatus::Activated
                    }
                }),
                bool_of(v, "revrec_active"),
                bool_of(v, "forecast_active"),
            )
            .map(|_| ()),
        "revenue_run" => {
            let name = s(v, "name");
            let only_name = v.as_mapping().is_some_and(|m| {
                m.keys()
                    .all(|k| matches!(k.as_str(), Some("name" | "date")))
            });
            let def = match (&name, only_name) {
                (Some(n), true) => engine.revenue_run_definition(n)?.ok_or_else(|| {
                    EngineError::refused(
                        Code::UnknownRun,
                        format!("revenue run {n}"),
                        "name",
                        "no revenue_runs row has this name",
                    )
                })?,
                _ => {
                    let mut m = serde_yaml::Mapping::new();
                    for k in RUN_KEYS {
                        if let Some(x) = v.get(*k) {
                            m.insert((*k).into(), x.clone());
                        }
                    }
                    if name.is_none() {
                        m.insert("name".into(), format!("step-{}", a.n).into());
                    }
                    serde_yaml::from_value::<RevenueRunDef>(serde_yaml::Value::Mapping(m)).map_err(
                        |e| {
                            EngineError::refused(
                                Code::InvalidRecord,
                                "revenue_run",
                                "",
                                e.to_string(),
                            )
                        },
                    )?
                }
            };
            engine.revenue_run(&def).map(|_| ())
        }
        "close_period" => engine
            .close_period(&s(v, "legal_entity").unwrap_or_default())
            .map(|_| ()),
        "reopen_period" => engine
            .reopen_period(&s(v, "legal_entity").unwrap_or_default())
            .map(|_| ()),
        "percent_complete" => {
            let period = s(v, "period").unwrap_or_default();
            match (money(v, "actual"), money(v, "forecast")) {
                (Some(x), _) => engine.percent_complete(&fee(), &period, x, false),
                (None, Some(x)) => engine.percent_complete(&fee(), &period, x, true),
                _ => Err(EngineError::refused(
                    Code::InvalidRecord,
                    fee(),
                    "actual",
                    "give actual or forecast",
                )),
            }
        }
        "milestone" => engine.milestone(
            &fee(),
            &s(v, "name").unwrap_or_default(),
            date(v, "expected"),
            date(v, "actual"),
        ),
        "revenue_entry" => match s(v, "kind").as_deref() {
            Some(k @ ("forecast" | "budget")) => engine.plan_entry(
                &fee(),
                &s(v, "period").unwrap_or_default(),
                k,
                money(v, "amount").unwrap_or_default(),
            ),
            _ => engine.manual_entry(
                &fee(),
                &s(v, "period").unwrap_or_default(),
                money(v, "amount").unwrap_or_default(),
            ),
        },
        "actual_to_forecast" => engine
            .actual_to_forecast(&s(v, "legal_entity").unwrap_or_default())
            .map(|_| ()),
        "forecast_to_budget" => engine
            .forecast_to_budget(&s(v, "legal_entity").unwrap_or_default())
            .map(|_| ()),
        "snapshot" => engine
            .snapshot(&s(v, "legal_entity").unwrap_or_default())
            .map(|_| ()),
        "delete_snapshot" => engine
            .delete_snapshot(&s(v, "legal_entity").unwrap_or_default())
            .map(|_| ()),
        "revenue_adjustment" => engine
            .revenue_adjustment(
                &s(v, "agreement").unwrap_or_default(),
                money(v, "amount").unwrap_or_default(),
                &s(v, "comment").unwrap_or_default(),
            )
            .map(|_| ()),
        "edit_fee" => engine.edit_fee_start(&fee(), date(v, "start").unwrap_or_default()),
        "move_fee" => engine.move_fee(&fee(), &s(v, "obligation").unwrap_or_default()),
        _ => {
            let format = s(v, "format").unwrap_or_else(|| "csv".into());
            if format != "csv" && format != "json" {
                return Err(EngineError::refused(
                    Code::UnknownFormat,
                    "journal",
                    "format",
                    format!("`{format}`; csv or json"),
                ));
            }
            let j = engine.revenue_journal(
                &s(v, "legal_entity").unwrap_or_default(),
                &s(v, "period").unwrap_or_default(),
            )?;
            ctx.journal = Some(j);
            Ok(())
        }
    }
}

fn m2(d: Decimal) -> String {
    reckon_engine::money::round(d, 2, reckon_engine::money::Rounding::HalfUp).to_string()
}

/// Per period: (amount, cumulative, unrecognised).
type Series = BTreeMap<String, (Decimal, Decimal, Decimal)>;

fn agreement_series(ag: &Agreement, sums: &[Summary]) -> Series {
    let mut out = Series::new();
    for s in sums {
        let adj: Decimal = ag
            .adjustments
            .iter()
            .filter(|a| a.period == s.period)
            .map(|a| a.amount)
            .sum();
        let amount: Decimal = s.rows.iter().map(|(_, v)| *v).sum::<Decimal>() + adj;
        out.insert(
            s.period.clone(),
            (amount, s.recognised_to_date, s.unrecognised),
        );
    }
    out
}

fn fee_series(engine: &Engine, fee: &str) -> Result<Series, EngineError> {
    let (ag, i) = engine.known_fee(fee)?;
    let f = &ag.fees[i];
    let mut out = Series::new();
    for s in engine.revenue_summaries(&ag.id)? {
        let amount = s
            .rows
            .iter()
            .filter(|(r, _)| *r == f.fee_ref)
            .map(|(_, v)| *v)
            .sum::<Decimal>();
        let cum = s
            .cumulative
            .iter()
            .find(|(r, _)| *r == f.fee_ref)
            .map(|(_, v)| *v)
            .unwrap_or_default();
        out.insert(s.period.clone(), (amount, cum, f.amount - cum));
    }
    Ok(out)
}

fn add(into: &mut Series, from: Series) {
    for (p, (a, c, u)) in from {
        let e = into.entry(p).or_default();
        e.0 += a;
        e.1 += c;
        e.2 += u;
    }
}

/// Forecast or budget rows of a fee or an agreement per period (amount; cumulative and
/// unrecognised are left 0).
fn plan_series(engine: &Engine, v: &serde_yaml::Value, kind: &str) -> Result<Series, EngineError> {
    let (ag, only) = match s(v, "fee") {
        Some(f) => {
            let (ag, i) = engine.known_fee(&f)?;
            let r = ag.fees[i].fee_ref.clone();
            (ag, Some(r))
        }
        None => (
            engine.known_agreement(&s(v, "agreement").unwrap_or_default())?,
            None,
        ),
    };
    let mut out = Series::new();
    for (fee, rows) in engine.revenue_plan(&ag.id, kind)? {
        if only.as_ref().is_some_and(|o| *o != fee) {
            continue;
        }
        for (p, a) in rows {
            out.entry(p).or_default().0 += a;
        }
    }
    Ok(out)
}

fn series(engine: &Engine, v: &serde_yaml::Value) -> Result<Series, EngineError> {
    if let Some(k @ ("forecast" | "budget")) = s(v, "kind").as_deref() {
        return plan_series(engine, v, k);
    }
    if let Some(f) = s(v, "fee") {
        return fee_series(engine, &f);
    }
    if let Some(o) = s(v, "obligation") {
        let r = o.strip_prefix("obligation:").unwrap_or(&o).to_string();
        let ob = engine.revenue_obligation(&r)?.ok_or_else(|| {
            EngineError::refused(
                Code::UnknownObligation,
                o.clone(),
                "obligation",
                "no such obligation",
            )
        })?;
        let mut out = Series::new();
        for f in &ob.fees {
            add(&mut out, fee_series(engine, f)?);
        }
        return Ok(out);
    }
    if let Some(a) = s(v, "agreement") {
        let ag = engine.known_agreement(&a)?;
        let sums = engine.revenue_summaries(&ag.id)?;
        return Ok(agreement_series(&ag, &sums));
    }
    let le = s(v, "legal_entity").unwrap_or_default();
    let mut out = Series::new();
    for ag in engine.entity_agreements(&le)? {
        let sums = engine.revenue_summaries(&ag.id)?;
        add(&mut out, agreement_series(&ag, &sums));
    }
    Ok(out)
}

fn summaries_of(engine: &Engine, v: &serde_yaml::Value) -> Result<Vec<Summary>, EngineError> {
    if let Some(a) = s(v, "agreement") {
        let ag = engine.known_agreement(&a)?;
        return engine.revenue_summaries(&ag.id);
    }
    // An entity's figures: per period, the sum over its agreements.
    let le = s(v, "legal_entity").unwrap_or_default();
    let mut by: BTreeMap<String, Summary> = BTreeMap::new();
    for ag in engine.entity_agreements(&le)? {
        for x in engine.revenue_summaries(&ag.id)? {
            let e = by.entry(x.period.clone()).or_insert_with(|| Summary {
                agreement: le.clone(),
                period: x.period.clone(),
                rows: vec![],
                billed_to_date: Decimal::ZERO,
                recognised_to_date: Decimal::ZERO,
                billed: Decimal::ZERO,
                recognised: Decimal::ZERO,
                adjustments: Decimal::ZERO,
                deferred: Decimal::ZERO,
                unrecognised: Decimal::ZERO,
                new_fees: Decimal::ZERO,
                modification_fees: Decimal::ZERO,
                fee_total: Decimal::ZERO,
                order_fee_total: Decimal::ZERO,
                cumulative: vec![],
            });
            e.billed_to_date += x.billed_to_date;
            e.recognised_to_date += x.recognised_to_date;
            e.billed += x.billed;
            e.recognised += x.recognised;
            e.adjustments += x.adjustments;
            e.deferred += x.deferred;
            e.unrecognised += x.unrecognised;
            e.new_fees += x.new_fees;
            e.modification_fees += x.modification_fees;
        }
    }
    Ok(by.into_values().collect())
}

fn table_cells(
    engine: &Engine,
    ctx: &Context,
    key: &str,
    v: &serde_yaml::Value,
    columns: &[String],
) -> Result<Vec<Vec<String>>, EngineError> {
    let pick = |map: &dyn Fn(&str) -> String| columns.iter().map(|c| map(c)).collect::<Vec<_>>();
    Ok(match key {
        "revenue" => series(engine, v)?
            .into_iter()
            .filter(|(_, (a, _, _))| !a.is_zero())
            .map(|(p, (a, c, u))| {
                pick(&|col| match col {
                    "period" => p.clone(),
                    "amount" => m2(a),
                    "cumulative" => m2(c),
                    _ => m2(u),
                })
            })
            .collect(),
        "snapshots" => {
            let fee = s(v, "fee").unwrap_or_default();
            let (ag, i) = engine.known_fee(&fee)?;
            let f = ag.fees[i].clone();
            let snaps: Vec<reckon_engine::revenue::Snapshot> =
                if s(v, "kind").as_deref() == Some("forecast") {
                    let mut all = Vec::new();
                    for sum in engine.revenue_summaries(&ag.id)? {
                        all.extend(engine.revenue_snapshots(&ag.id, &sum.period)?);
                    }
                    let open = engine.revenue_period(&ag.legal_entity)?.current;
                    let p = reckon_engine::revenue::calc::period_name(
                        reckon_engine::dates::month_index(open),
                    );
                    if !engine
                        .revenue_summaries(&ag.id)?
                        .iter()
                        .any(|x| x.period == p)
                    {
                        all.extend(engine.revenue_snapshots(&ag.id, &p)?);
                    }
                    all.into_iter().filter(|x| x.fee == f.fee_ref).collect()
                } else {
                    // Actual snapshots are the summaries' per-fee figures.
                    engine
                        .revenue_summaries(&ag.id)?
                        .iter()
                        .map(|x| {
                            let actual = x
                                .rows
                                .iter()
                                .find(|(r, _)| *r == f.fee_ref)
                                .map(|(_, a)| *a)
                                .unwrap_or_default();
                            let cumulative = x
                                .cumulative
                                .iter()
                                .find(|(r, _)| *r == f.fee_ref)
                                .map(|(_, a)| *a)
                                .unwrap_or_default();
                            reckon_engine::revenue::Snapshot {
                                fee: f.fee_ref.clone(),
                                period: x.period.clone(),
                                actual,
                                forecast: Decimal::ZERO,
                                budget: Decimal::ZERO,
                                variance_to_forecast: Decimal::ZERO,
                                variance_to_budget: Decimal::ZERO,
                                cumulative,
                                unrecognised: f.amount - cumulative,
                            }
                        })
                        .collect()
                };
            snaps
                .iter()
                .map(|x| {
                    pick(&|col| match col {
                        "period" => x.period.clone(),
                        "actual" => m2(x.actual),
                        "forecast" => m2(x.forecast),
                        "budget" => m2(x.budget),
                        "variance_to_forecast" => m2(x.variance_to_forecast),
                        "variance_to_budget" => m2(x.variance_to_budget),
                        "cumulative" => m2(x.cumulative),
                        _ => m2(x.unrecognised),
                    })
                })
                .collect()
        }
        "deferred" => summaries_of(engine, v)?
            .iter()
            .map(|x| {
                pick(&|col| match col {
                    "period" => x.period.clone(),
                    "billed_to_date" => m2(x.billed_to_date),
                    "recognised_to_date" => m2(x.recognised_to_date),
                    "deferred" => m2(x.deferred),
                    "unrecognised" => m2(x.unrecognised),
                    "billed" => m2(x.billed),
                    "recognised" => m2(x.recognised),
                    "adjustments" => m2(x.adjustments),
                    "new_fees" => m2(x.new_fees),
                    _ => m2(x.modification_fees),
                })
            })
            .collect(),
        "fees" => {
            let ag = engine.known_agreement(&s(v, "agreement").unwrap_or_default())?;
            ag.fees
                .iter()
                .map(|f| {
                    pick(&|col| match col {
                        "fee" => format!("fee:{}", f.fee_ref),
                        "rule" => f.rule.as_str().to_string(),
                        "start" => f.start.to_string(),
                        "end" => f.end.to_string(),
                        "amount" => m2(engine.fee_amount_now(&ag, f).unwrap_or(f.amount)),
                        "transaction_price" => m2(f.transaction_price),
                        "obligation" => f
                            .obligation
                            .as_ref()
                            .map(|o| format!("obligation:{o}"))
                            .unwrap_or_default(),
                        "fee_type" => f.fee_type.clone(),
                        "origin" => f.origin.clone(),
                        _ => f.chain.to_string(),
                    })
                })
                .collect()
        }
        "obligations" => {
            let ag = engine.known_agreement(&s(v, "agreement").unwrap_or_default())?;
            let mut rows = Vec::new();
            for r in &ag.obligations {
                let Some(o) = engine.revenue_obligation(r)? else {
                    continue;
                };
                let status = engine.obligation_status(&o)?;
                rows.push(pick(&|col| match col {
                    "obligation" => format!("obligation:{}", o.obligation_ref),
                    "rule" => o.rule.clone(),
                    "start" => o.start.to_string(),
                    "end" => o.end.to_string(),
                    "transaction_price" => m2(o.transaction_price),
                    "allocation" => m2(o.allocation),
                    _ => status.to_string(),
                }));
            }
            rows
        }
        "agreement_lines" => {
            let ag = engine.known_agreement(&s(v, "agreement").unwrap_or_default())?;
            ag.lines
                .iter()
                .map(|l| {
                    pick(&|col| match col {
                        "line" => l.order_line.clone(),
                        "net_price" => m2(l.net_price),
                        "transaction_price" => m2(l.transaction_price),
                        "allocation" => m2(l.allocation),
                        "start" => l.start.to_string(),
                        "end" => l.end.to_string(),
                        _ => l.ssp.map(m2).unwrap_or_default(),
                    })
                })
                .collect()
        }
        _ => {
            let Some(j) = &ctx.journal else {
                return Err(EngineError::refused(
                    Code::InvalidRecord,
                    "journal",
                    "journal",
                    "no `journal` step ran before this expectation",
                ));
            };
            let null = |d: Option<Decimal>| d.map(m2).unwrap_or_else(|| "null".into());
            let mut rows = Vec::new();
            for e in &j.entries {
                for l in &e.lines {
                    rows.push(pick(&|col| match col {
                        "entry" => e.entry.clone(),
                        "date" => e.date.clone(),
                        "legal_entity" => j.legal_entity.clone(),
                        "agreement" => e.agreement.clone(),
                        "fee" => e.fee.clone(),
                        "account" => l.account.clone(),
                        "debit" => null(l.debit),
                        "credit" => null(l.credit),
                        "currency" => l.currency.clone(),
                        _ => e.memo.clone(),
                    }));
                }
            }
            rows
        }
    })
}

fn normalise(col: &str, cell: &str) -> String {
    // Money columns compare at two decimals; a YAML null cell is `null`.
    if cell.is_empty() || cell == "~" {
        return "null".into();
    }
    const MONEY: &[&str] = &[
        "amount",
        "cumulative",
        "unrecognised",
        "billed_to_date",
        "recognised_to_date",
        "deferred",
        "billed",
        "recognised",
        "adjustments",
        "new_fees",
        "modification_fees",
        "transaction_price",
        "allocation",
        "net_price",
        "ssp",
        "debit",
        "credit",
        "actual",
        "forecast",
        "budget",
        "variance_to_forecast",
        "variance_to_budget",
    ];
    if MONEY.contains(&col) {
        if let Some(d) = parse_decimal(cell) {
            return m2(d);
        }
    }
    cell.to_string()
}

/// Check one revenue expectation.
pub(super) fn check(engine: &Engine, ctx: &Context, n: usize, c: &Check, out: &mut Vec<Mismatch>) {
    match c {
        Check::Table {
            key,
            v,
            columns,
            rows,
            first,
        } => {
            let what = format!("expect {key}");
            match table_cells(engine, ctx, key, v, columns) {
                Ok(cells) => {
                    let norm = |rows: &[Vec<String>]| -> Vec<Vec<String>> {
                        rows.iter()
                            .map(|r| {
                                r.iter()
                                    .zip(columns)
                                    .map(|(cell, col)| normalise(col, cell))
                                    .collect()
                            })
                            .collect()
                    };
                    compare_table(
                        out,
                        n,
                        &what,
                        columns,
                        &norm(rows),
                        *first,
                        &norm(&cells),
                        2,
                    );
                }
                Err(e) => out.push(Mismatch {
                    step: n,
                    what,
                    field: key.to_string(),
                    expected: "readable".into(),
                    got: e.to_string(),
                }),
            }
        }
        Check::Map { key, v } => {
            let what = format!("expect {key}");
            let have: Result<Vec<(&str, String)>, EngineError> = match *key {
                "period" => {
                    let le = s(v, "legal_entity").unwrap_or_default();
                    engine.period_counts(&le).and_then(|(p, e, w)| {
                        Ok(vec![
                            ("current", p.current.to_string()),
                            ("eligible", e.to_string()),
                            ("with_actuals", w.to_string()),
                            (
                                "ready_to_forecast",
                                engine.ready_to_forecast(&le)?.to_string(),
                            ),
                        ])
                    })
                }
                "agreement" => engine
                    .known_agreement(&s(v, "ref").unwrap_or_default())
                    .map(|a| {
                        vec![
                            (
                                "status",
                                if a.status == AgreementStatus::Draft {
                                    "draft"
                                } else {
                                    "activated"
                                }
                                .to_string(),
                            ),
                            (
                                "standard",
                                serde_json::to_value(a.standard)
                                    .ok()
                                    .and_then(|x| x.as_str().map(str::to_string))
                                    .unwrap_or_default(),
                            ),
                            ("start", a.start.to_string()),
                            ("end", a.end.to_string()),
                            ("legal_entity", a.legal_entity.clone()),
                            ("currency", a.currency.clone()),
                            ("revrec_active", a.revrec_active.to_string()),
                            ("forecast_active", a.forecast_active.to_string()),
                        ]
                    }),
                _ => {
                    let name = s(v, "name").unwrap_or_default();
                    engine.revenue_run_result(&name).and_then(|rs| {
                        let r = rs.into_iter().last().ok_or_else(|| {
                            EngineError::refused(
                                Code::UnknownRun,
                                name.clone(),
                                "name",
                                "no execution",
                            )
                        })?;
                        let entries: Vec<String> = r
                            .entries
                            .iter()
                            .filter(|e| e.status != "succeeded")
                            .map(|e| {
                                format!(
                                    "[agreement:{}, {}, {}]",
                                    e.agreement,
                                    e.status,
                                    e.code.clone().unwrap_or_default()
                                )
                            })
                            .collect();
                        Ok(vec![
                            ("status", r.status.clone()),
                            ("succeeded", r.count("succeeded").to_string()),
                            ("failed", r.count("failed").to_string()),
                            ("skipped", r.count("skipped").to_string()),
                            ("entries", entries.join(", ")),
                        ])
                    })
                }
            };
            let have = match have {
                Ok(h) => h,
                Err(e) => {
                    out.push(Mismatch {
                        step: n,
                        what,
                        field: key.to_string(),
                        expected: "readable".into(),
                        got: e.to_string(),
                    });
                    return;
                }
            };
            for (k, want) in v.as_mapping().into_iter().flatten() {
                let k = k.as_str().unwrap_or_default();
                let Some((_, got)) = have.iter().find(|(f, _)| *f == k) else {
                    continue;
                };
                let want = match want {
                    serde_yaml::Value::Sequence(items) => items
                        .iter()
                        .map(|row| match row {
                            serde_yaml::Value::Sequence(cells) => format!(
                                "[{}]",
                                cells
                                    .iter()
                                    .map(|c| c.as_str().map(str::to_string).unwrap_or_default())
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            _ => String::new(),
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    serde_yaml::Value::String(x) => x.clone(),
                    serde_yaml::Value::Bool(b) => b.to_string(),
                    serde_yaml::Value::Number(x) => x.to_string(),
                    _ => String::new(),
                };
                let same = match k {
                    "current" | "start" | "end" => parse_date(&want) == parse_date(got),
                    _ => want == *got,
                };
                if !same {
                    out.push(Mismatch {
                        step: n,
                        what: what.clone(),
                        field: k.to_string(),
                        expected: want,
                        got: got.clone(),
                    });
                }
            }
        }
    }
}

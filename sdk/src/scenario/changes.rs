//! The asset-based changes vocabulary of scenario files (03 §D) this version runs: steps
//! `amend`, `cancel`, `renew`, `swap`, `rollback`; the expectation `asset`; and the change columns of `schedules`
//! (`superseded`, `origin`, `debit_schedule`, `available_credit`, `cancellation_date`,
//! `swapped_from`).

use super::{text, Mismatch};
use chrono::NaiveDate;
use reckon_engine::changes::{Amend, Cancel, Renew, Rollback, Swap, SwapTo};
use reckon_engine::dates::parse_date;
use reckon_engine::model::BillingFrequency;
use reckon_engine::money::{round, Rounding};
use reckon_engine::schema::{opt, parse_decimal, req, Finding, Ty};
use reckon_engine::yaml::Node;
use reckon_engine::{Engine, EngineError, Schedule};
use rust_decimal::Decimal;
use std::collections::HashMap;

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &["amend", "cancel", "renew", "swap", "rollback"];

const FREQUENCIES: &[&str] = &[
    "monthly",
    "quarterly",
    "half_yearly",
    "yearly",
    "single_period",
    "one_time",
    "usage",
];

const AMEND: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the asset (O-1/L1)"),
    req("on", Ty::Date, "effective date E"),
    opt("entered", Ty::Date, "the step's clock (default on)"),
    opt("quantity", Ty::Decimal("0", ""), "new quantity"),
    opt(
        "list_price",
        Ty::Money(true),
        "new price per selling period",
    ),
    opt("discount_percent", Ty::Decimal("0", "100"), "new discount"),
    opt(
        "net_price",
        Ty::Money(true),
        "total for the new term [E, N]",
    ),
    opt("end", Ty::Date, "new end date N"),
    opt("billing_frequency", Ty::Enum(FREQUENCIES), "new frequency"),
    opt(
        "usage_tiers",
        Ty::Text,
        "new tier table (usage lines, 03 B.3)",
    ),
    opt(
        "ready_for_billing_date",
        Ty::Date,
        "ready date under billing rule ready_for_billing_date (default on)",
    ),
    opt(
        "segments",
        Ty::List(&SEGMENT),
        "ramp over [E, N]: contiguous segments (03 A.1)",
    ),
]);

const SEGMENT: Ty = Ty::Obj(&[
    req("start", Ty::Date, "segment start (the first: on)"),
    opt(
        "end",
        Ty::Date,
        "segment end (default the day before the next, the last: N)",
    ),
    opt("quantity", Ty::Decimal("0", ""), "quantity"),
    opt("list_price", Ty::Money(true), "price per selling period"),
    opt("net_price", Ty::Money(true), "total for the segment"),
    opt("discount_percent", Ty::Decimal("0", "100"), "discount"),
]);

const CANCEL: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the asset"),
    req("on", Ty::Date, "the entered date D"),
    opt("entered", Ty::Date, "the step's clock (default on)"),
    opt(
        "ready_for_billing_date",
        Ty::Date,
        "ready date under billing rule ready_for_billing_date (default on)",
    ),
]);

const RENEW: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the asset"),
    req("end", Ty::Date, "new end, after the current one"),
    opt("on", Ty::Date, "the step's clock"),
    opt("net_price", Ty::Money(true), "total for the renewal term"),
    opt(
        "list_price",
        Ty::Money(true),
        "new price per selling period",
    ),
    opt("quantity", Ty::Decimal("0", ""), "new quantity"),
    opt("discount_percent", Ty::Decimal("0", "100"), "new discount"),
    opt(
        "ready_for_billing_date",
        Ty::Date,
        "ready date under billing rule ready_for_billing_date (default on)",
    ),
]);

const SWAP_TO: Ty = Ty::Obj(&[
    req("id", Ty::Text, "the new line's id in the order"),
    req("product", Ty::Text, "product code"),
    opt(
        "quantity",
        Ty::Decimal("0", ""),
        "default the quantity moved",
    ),
    opt("list_price", Ty::Money(true), "price per selling period"),
    opt("net_price", Ty::Money(true), "total for its term"),
    opt("discount_percent", Ty::Decimal("0", "100"), "discount"),
    opt("end", Ty::Date, "default the old line's end"),
]);

const SWAP: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the outgoing asset"),
    req("on", Ty::Date, "the entered date D"),
    opt("entered", Ty::Date, "the step's clock (default on)"),
    opt(
        "quantity",
        Ty::Decimal("0", ""),
        "quantity moved (default all)",
    ),
    req("to", SWAP_TO, "the incoming line"),
    opt(
        "ready_for_billing_date",
        Ty::Date,
        "ready date under billing rule ready_for_billing_date (default on)",
    ),
]);

const ROLLBACK: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the asset"),
    opt("on", Ty::Date, "the step's clock"),
]);

const ASSET: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the asset"),
    opt(
        "status",
        Ty::Enum(&["active", "renewed", "cancelled", "swapped_out"]),
        "asset status",
    ),
    opt("start", Ty::Date, "line start"),
    opt("end", Ty::Date, "line end"),
    opt("quantity", Ty::Decimal("", ""), "quantity"),
    opt(
        "net_price",
        Ty::Money(true),
        "V, the amended contract value",
    ),
    opt(
        "billing_frequency",
        Ty::Enum(FREQUENCIES),
        "billing frequency",
    ),
    opt(
        "cancellation_date",
        Ty::Date,
        "the group's cancellation date",
    ),
]);

/// A change step (its validated value).
#[derive(Debug, Clone)]
pub(super) struct Action {
    kind: &'static str,
    v: serde_yaml::Value,
}

/// A changes expectation.
#[derive(Debug, Clone)]
pub(super) enum Check {
    Asset {
        line: String,
        fields: Vec<(String, String)>,
    },
}

/// Validate and parse one change step.
pub(super) fn parse_action(
    action: &str,
    v: &Node,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Action {
    let (kind, ty) = match action {
        "amend" => ("amend", &AMEND),
        "cancel" => ("cancel", &CANCEL),
        "rollback" => ("rollback", &ROLLBACK),
        "swap" => ("swap", &SWAP),
        _ => ("renew", &RENEW),
    };
    ty.check(v, path, findings);
    Action {
        kind,
        v: v.to_value(),
    }
}

/// Validate and parse the changes keys of an `expect:` map.
pub(super) fn parse_checks(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Vec<Check> {
    let mut out = Vec::new();
    if let Some(t) = v.get("asset") {
        ASSET.check(t, &format!("{path}.asset"), findings);
        let fields = t
            .as_map()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (text(k), text(v)))
                    .filter(|(k, _)| k != "line")
                    .collect()
            })
            .unwrap_or_default();
        out.push(Check::Asset {
            line: t.get("line").map(text).unwrap_or_default(),
            fields,
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

fn dec(v: &serde_yaml::Value, k: &str) -> Option<Decimal> {
    s(v, k).and_then(|x| parse_decimal(&x))
}

fn date(v: &serde_yaml::Value, k: &str) -> Option<NaiveDate> {
    s(v, k).and_then(|x| parse_date(&x))
}

fn frequency(v: &serde_yaml::Value) -> Option<BillingFrequency> {
    v.get("billing_frequency")
        .and_then(|f| serde_yaml::from_value(f.clone()).ok())
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    format!("{} {}", a.kind, s(&a.v, "line").unwrap_or_default())
}

/// The step's own date (08: `entered`, else `on`).
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    date(&a.v, "entered").or_else(|| date(&a.v, "on"))
}

/// Run one change step at `clock`.
pub(super) fn execute(engine: &Engine, a: &Action, clock: NaiveDate) -> Result<(), EngineError> {
    let v = &a.v;
    let line = s(v, "line").unwrap_or_default();
    match a.kind {
        "amend" if v.get("usage_tiers").is_some() => engine
            .amend_usage(&reckon_engine::usage::changes::AmendUsage {
                line,
                on: date(v, "on").unwrap_or(clock),
                end: date(v, "end"),
                usage_tiers: s(v, "usage_tiers"),
                ready_for_billing_date: date(v, "ready_for_billing_date"),
            })
            .map(|_| ()),
        "amend" => engine
            .amend(&Amend {
                line,
                on: date(v, "on").unwrap_or(clock),
                quantity: dec(v, "quantity"),
                list_price: dec(v, "list_price"),
                discount_percent: dec(v, "discount_percent"),
                net_price: dec(v, "net_price"),
                end: date(v, "end"),
                billing_frequency: frequency(v),
                ready_for_billing_date: date(v, "ready_for_billing_date"),
                segments: v
                    .get("segments")
                    .and_then(|x| serde_yaml::from_value(x.clone()).ok())
                    .unwrap_or_default(),
            })
            .map(|_| ()),
        "cancel" => engine
            .cancel_asset(&Cancel {
                line,
                on: date(v, "on").unwrap_or(clock),
                ready_for_billing_date: date(v, "ready_for_billing_date"),
            })
            .map(|_| ()),
        "swap" => {
            let to = v.get("to").cloned().unwrap_or_default();
            engine
                .swap(&Swap {
                    line,
                    on: date(v, "on").unwrap_or(clock),
                    quantity: dec(v, "quantity"),
                    to: SwapTo {
                        id: s(&to, "id").unwrap_or_default(),
                        product: s(&to, "product").unwrap_or_default(),
                        quantity: dec(&to, "quantity"),
                        list_price: dec(&to, "list_price"),
                        net_price: dec(&to, "net_price"),
                        discount_percent: dec(&to, "discount_percent"),
                        end: date(&to, "end"),
                    },
                    ready_for_billing_date: date(v, "ready_for_billing_date"),
                })
                .map(|_| ())
        }
        "rollback" => engine.rollback(&Rollback { line, on: clock }).map(|_| ()),
        _ => engine
            .renew(&Renew {
                line,
                on: clock,
                end: date(v, "end").unwrap_or(clock),
                net_price: dec(v, "net_price"),
                list_price: dec(v, "list_price"),
                quantity: dec(v, "quantity"),
                discount_percent: dec(v, "discount_percent"),
                ready_for_billing_date: date(v, "ready_for_billing_date"),
            })
            .map(|_| ()),
    }
}

/// What the change columns of a line need, read once per expectation.
#[derive(Default)]
pub(super) struct LineInfo {
    available: HashMap<String, Decimal>,
    cancellation_date: Option<NaiveDate>,
}

/// Read the line's available credits and cancellation date when `columns` name them.
pub(super) fn line_info(engine: &Engine, line: &str, columns: &[String]) -> LineInfo {
    let mut info = LineInfo::default();
    if columns.iter().any(|c| c == "available_credit") {
        info.available = engine.available_credit(line).unwrap_or_default();
    }
    if columns.iter().any(|c| c == "cancellation_date") {
        info.cancellation_date = engine
            .asset_terms(line)
            .ok()
            .flatten()
            .and_then(|t| t.cancellation_date);
    }
    info
}

/// A change column of one row (`None`: not a change column).
pub(super) fn cell(s: &Schedule, column: &str, info: &LineInfo) -> Option<String> {
    Some(match column {
        "superseded" => s.change.superseded.to_string(),
        "origin" => s.change.origin.clone().unwrap_or_default(),
        "debit_schedule" => s.change.debit_schedule.clone().unwrap_or_default(),
        "swapped_from" => s.change.swapped_from.clone().unwrap_or_default(),
        "available_credit" => info
            .available
            .get(&s.id)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        "cancellation_date" => info
            .cancellation_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
        _ => return None,
    })
}

/// Check one changes expectation.
pub(super) fn check(engine: &Engine, n: usize, c: &Check, out: &mut Vec<Mismatch>) {
    let Check::Asset { line, fields } = c;
    let what = format!("expect asset {line}");
    let asset = engine.asset(line).ok().flatten();
    let terms = engine.asset_terms(line).ok().flatten();
    let (Some(asset), Some(terms)) = (asset, terms) else {
        out.push(Mismatch {
            step: n,
            what,
            field: "line".into(),
            expected: "an active line".into(),
            got: "none".into(),
        });
        return;
    };
    let scale = reckon_engine::money::minor_units(&asset.currency).unwrap_or(2);
    for (k, want) in fields {
        let have = match k.as_str() {
            "status" => serde_json::to_value(terms.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            "start" => asset.terms.start.to_string(),
            "end" => asset.terms.end.map(|d| d.to_string()).unwrap_or_default(),
            "quantity" => terms.quantity.normalize().to_string(),
            "net_price" => round(terms.net_price, scale, Rounding::HalfUp).to_string(),
            "billing_frequency" => serde_json::to_value(terms.billing_frequency)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            "cancellation_date" => terms
                .cancellation_date
                .map(|d| d.to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        let equal = match k.as_str() {
            "net_price" | "quantity" => {
                matches!((parse_decimal(want), parse_decimal(&have)), (Some(a), Some(b)) if round(a, scale, Rounding::HalfUp) == round(b, scale, Rounding::HalfUp))
            }
            "start" | "end" | "cancellation_date" => {
                parse_date(want).is_some() && parse_date(want) == parse_date(&have)
            }
            _ => *want == have,
        };
        if !equal {
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

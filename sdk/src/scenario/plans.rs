//! The billing-plan vocabulary of scenario files (03 §D, C.3): the step `complete_milestone`
//! and the plan columns of `schedules` (`item`, `payment_term`, `completed`; `ready` is empty on
//! a milestone row until it is completed).

use super::text;
use chrono::NaiveDate;
use reckon_engine::dates::parse_date;
use reckon_engine::plans::activation::CompleteMilestone;
use reckon_engine::schema::{req, Finding, Ty};
use reckon_engine::yaml::Node;
use reckon_engine::{Engine, EngineError, Schedule};

/// The action steps this module owns.
pub(super) const ACTIONS: &[&str] = &["complete_milestone"];

const COMPLETE: Ty = Ty::Obj(&[
    req("line", Ty::Text, "the plan line (O-1/L1)"),
    req("item", Ty::Text, "the milestone item's name"),
    req("on", Ty::Date, "the completion date D"),
]);

/// A plan step, validated.
#[derive(Debug, Clone)]
pub(super) struct Action {
    line: String,
    item: String,
    on: Option<NaiveDate>,
}

/// Validate and parse one plan step.
pub(super) fn parse_action(v: &Node, path: &str, findings: &mut Vec<Finding>) -> Action {
    COMPLETE.check(v, path, findings);
    Action {
        line: v.get("line").map(text).unwrap_or_default(),
        item: v.get("item").map(text).unwrap_or_default(),
        on: v.get("on").and_then(|n| parse_date(&text(n))),
    }
}

/// The step as a mismatch report names it.
pub(super) fn describe(a: &Action) -> String {
    format!("complete_milestone {} {}", a.line, a.item)
}

/// The step's own date.
pub(super) fn own_date(a: &Action) -> Option<NaiveDate> {
    a.on
}

/// Run the step at `clock`.
pub(super) fn execute(engine: &Engine, a: &Action, clock: NaiveDate) -> Result<(), EngineError> {
    engine
        .complete_milestone(&CompleteMilestone {
            line: a.line.clone(),
            item: a.item.clone(),
            on: a.on.unwrap_or(clock),
        })
        .map(|_| ())
}

/// A plan column of one row (`None`: not a plan column).
pub(super) fn cell(s: &Schedule, column: &str) -> Option<String> {
    let plan = s.plan.as_ref();
    Some(match column {
        "item" => plan.map(|p| p.item.clone()).unwrap_or_default(),
        "payment_term" => plan
            .and_then(|p| p.payment_term.clone())
            .unwrap_or_default(),
        "completed" => plan
            .and_then(|p| p.completed)
            .map(|d| d.to_string())
            .unwrap_or_default(),
        "ready" if plan.is_some_and(|p| p.milestone && p.completed.is_none()) => String::new(),
        _ => return None,
    })
}

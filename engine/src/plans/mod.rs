//! Billing plans (03 C): `billing_plans` templates, plans without templates (inline fixed items)
//! and milestone plans. The pure part — reading a plan, its checks and its item rows — lives in
//! [`build`]; [`activation`] applies it to a line at activation, completes milestones and keeps
//! plan lines out of the changes a plan forbids (C.4).

pub mod activation;
pub mod build;

use crate::engine::Schedule;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use build::{
    check_line_plan, check_template, item_rows, LinePlan, Method, Offset, PlanError, PlanKind,
    PlanStart, Template,
};

/// What a billing-plan row carries besides the 02 record (03 C.2, C.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PlanRow {
    /// The plan item's name (the `item` column, 03 D).
    pub item: String,
    /// The item's payment term: the invoice of this row uses it (04 splits invoices by term).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_term: Option<String>,
    /// A milestone row (C.3).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub milestone: bool,
    /// The completion date of a milestone row (C.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed: Option<NaiveDate>,
}

impl PlanRow {
    /// A milestone row not yet completed.
    pub fn pending_milestone(&self) -> bool {
        self.milestone && self.completed.is_none()
    }
}

/// The plan a line was activated with, kept beside its asset (`plan/O/L`): C.4 locks the line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRecord {
    /// `fixed` or `milestone`.
    pub kind: PlanKind,
    /// The template it came from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// The plan items in order.
    pub items: Vec<String>,
}

/// The plan fields a row cut from `origin` keeps (A.3 slices, credits and restorations of a plan
/// row carry its item and payment term; only a restoration stays a milestone row).
pub fn slice_plan(rows: &[Schedule], origin: Option<&str>, kind: &str) -> Option<PlanRow> {
    let o = origin?;
    let mut p = rows.iter().find(|x| x.id == o)?.plan.clone()?;
    if kind != "restoration" {
        p.milestone = false;
    }
    Some(p)
}

/// The payment term of a row: its plan item's, else the asset's (04 §3.4 groups by it).
pub fn row_payment_term<'a>(s: &'a Schedule, asset_term: Option<&'a String>) -> Option<&'a String> {
    s.plan
        .as_ref()
        .and_then(|p| p.payment_term.as_ref())
        .or(asset_term)
}

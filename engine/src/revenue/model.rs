//! Typed revenue rule documents (06 §3) and the revenue keys of `system`, read from the rule
//! set's verbatim rows; and the stored records (06 §2).

use crate::rules::RuleSet;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A recognition rule (06 §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// Whole fee in the month of its start.
    Immediate,
    /// Months weigh 1, partial months their day fraction.
    Ratable,
    /// By days.
    RatableDay,
    /// What was billed.
    Subscription,
    /// By entered percentages.
    PercentComplete,
    /// By entered amounts.
    Manual,
    /// By completed milestones.
    Milestone,
    /// max(ratable, usage), capped at the fee.
    Prepay,
    /// Usage, with the commitment as a floor at the end.
    TrueUp,
}

impl Rule {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Rule::Immediate => "immediate",
            Rule::Ratable => "ratable",
            Rule::RatableDay => "ratable_day",
            Rule::Subscription => "subscription",
            Rule::PercentComplete => "percent_complete",
            Rule::Manual => "manual",
            Rule::Milestone => "milestone",
            Rule::Prepay => "prepay",
            Rule::TrueUp => "true_up",
        }
    }
}

/// A milestone of a policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MilestoneDef {
    /// Name, unique within the policy.
    pub name: String,
    /// Share of the fee in percent.
    pub percent: Decimal,
}

/// A `revenue_policies` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevenuePolicy {
    /// Unique name.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Rule as written.
    pub rule: Rule,
    /// `immediate` + `is_milestone` = `milestone`.
    #[serde(default)]
    pub is_milestone: bool,
    /// Milestones (milestone policies only).
    #[serde(default)]
    pub milestones: Option<Vec<MilestoneDef>>,
    /// GL revenue account.
    #[serde(default)]
    pub revenue_account: Option<String>,
    /// GL deferred account.
    #[serde(default)]
    pub deferred_account: Option<String>,
}

impl RevenuePolicy {
    /// The rule in effect (`immediate` + `is_milestone` is `milestone`).
    pub fn effective_rule(&self) -> Rule {
        if self.rule == Rule::Immediate && self.is_milestone {
            Rule::Milestone
        } else {
            self.rule
        }
    }

    /// The milestones of a milestone policy (default one `completion` at 100 %).
    pub fn milestone_list(&self) -> Vec<MilestoneDef> {
        self.milestones.clone().unwrap_or_else(|| {
            vec![MilestoneDef {
                name: "completion".into(),
                percent: Decimal::ONE_HUNDRED,
            }]
        })
    }
}

/// `split` or `merge`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMergeType {
    /// A line becomes several chains.
    Split,
    /// Lines share one obligation.
    Merge,
}

/// A split entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SplitEntry {
    /// Chain order.
    pub sequence: u32,
    /// Share of the line.
    pub percent: Decimal,
    /// Policy of the chain.
    pub revenue_policy: String,
}

/// A `split_merge_policies` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitMergePolicy {
    /// Unique name.
    pub name: String,
    /// Split or merge.
    #[serde(rename = "type")]
    pub kind: SplitMergeType,
    /// Split entries.
    #[serde(default)]
    pub entries: Option<Vec<SplitEntry>>,
}

impl SplitMergePolicy {
    /// The entries in `sequence` order.
    pub fn sorted_entries(&self) -> Vec<SplitEntry> {
        let mut e = self.entries.clone().unwrap_or_default();
        e.sort_by_key(|x| x.sequence);
        e
    }
}

/// The revenue keys of `system` (06 §3) with their defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevenueSettings {
    /// ASC 606 for agreements created from now on.
    pub enable_asc606: bool,
    /// Drop 29 February from day counts.
    pub ignore_leap_year: bool,
    /// `relative_ssp` instead of `transaction_price`.
    pub relative_ssp: bool,
    /// Policy of products without one.
    pub default_revenue_policy: Option<String>,
    /// New agreements start activated.
    pub agreement_auto_activate: bool,
    /// GL revenue account.
    pub gl_revenue_account: String,
    /// GL deferred account.
    pub gl_deferred_account: String,
}

/// The typed revenue documents of a rule set.
#[derive(Debug, Clone, Default)]
pub struct RevenueRules {
    /// Policies by name.
    pub policies: BTreeMap<String, RevenuePolicy>,
    /// Split/merge policies by name.
    pub split_merge: BTreeMap<String, SplitMergePolicy>,
}

impl RevenueRules {
    /// Read from a rule set (rows that do not type are skipped: the loader refused them).
    pub fn of(rules: &RuleSet) -> Self {
        let mut out = RevenueRules::default();
        for row in rules
            .documents
            .get("revenue_policies")
            .into_iter()
            .flatten()
        {
            if let Ok(p) = serde_yaml::from_value::<RevenuePolicy>(row.value.clone()) {
                out.policies.insert(p.name.clone(), p);
            }
        }
        for row in rules
            .documents
            .get("split_merge_policies")
            .into_iter()
            .flatten()
        {
            if let Ok(p) = serde_yaml::from_value::<SplitMergePolicy>(row.value.clone()) {
                out.split_merge.insert(p.name.clone(), p);
            }
        }
        out
    }
}

fn sys_bool(rules: &RuleSet, k: &str, default: bool) -> bool {
    rules
        .system
        .extra
        .get(k)
        .and_then(|v| v.as_bool())
        .unwrap_or(default)
}

fn sys_text(rules: &RuleSet, k: &str) -> Option<String> {
    rules
        .system
        .extra
        .get(k)
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

impl RevenueSettings {
    /// Read from `system`.
    pub fn of(rules: &RuleSet) -> Self {
        RevenueSettings {
            enable_asc606: sys_bool(rules, "enable_asc606", false),
            ignore_leap_year: sys_bool(rules, "ignore_leap_year", false),
            relative_ssp: sys_text(rules, "revenue_allocation").as_deref() == Some("relative_ssp"),
            default_revenue_policy: sys_text(rules, "default_revenue_policy"),
            agreement_auto_activate: sys_bool(rules, "agreement_auto_activate", true),
            gl_revenue_account: sys_text(rules, "gl_revenue_account")
                .unwrap_or_else(|| "revenue".into()),
            gl_deferred_account: sys_text(rules, "gl_deferred_account")
                .unwrap_or_else(|| "deferred_revenue".into()),
        }
    }
}

/// `asc605` or `asc606`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Standard {
    /// ASC 605: fees from net prices.
    Asc605,
    /// ASC 606: transaction price, allocation, obligations.
    Asc606,
}

/// Agreement status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgreementStatus {
    /// Not yet activated.
    Draft,
    /// Recognising.
    Activated,
}

/// An agreement line (606).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementLine {
    /// `O-1/L1`.
    pub order_line: String,
    /// Net price.
    pub net_price: Decimal,
    /// Transaction price.
    pub transaction_price: Decimal,
    /// Allocation.
    pub allocation: Decimal,
    /// SSP weight used (relative SSP), if any.
    pub ssp: Option<Decimal>,
    /// Start.
    pub start: NaiveDate,
    /// End.
    pub end: NaiveDate,
}

/// A milestone of a fee with its dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeMilestone {
    /// Name.
    pub name: String,
    /// Percent of the fee.
    pub percent: Decimal,
    /// Planned date.
    pub expected: Option<NaiveDate>,
    /// Completion date.
    pub actual: Option<NaiveDate>,
}

/// A fee (06 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    /// `O-1/L1#N`.
    pub fee_ref: String,
    /// `O-1/L1`.
    pub line: String,
    /// Split sequence (0 for an unsplit line).
    pub chain: u32,
    /// Rule.
    pub rule: Rule,
    /// The policy it came from.
    pub policy: String,
    /// `flat`, `usage`, `subscription`.
    pub fee_type: String,
    /// Amount.
    pub amount: Decimal,
    /// Transaction price (606).
    pub transaction_price: Decimal,
    /// Start.
    pub start: NaiveDate,
    /// End.
    pub end: NaiveDate,
    /// Obligation ref (606).
    pub obligation: Option<String>,
    /// `order`, `cancel`, `amend`, `renew`.
    pub origin: String,
    /// Parent fee (linked fees).
    pub parent: Option<String>,
    /// `ignore_leap_year` at creation.
    pub ignore_leap_year: bool,
    /// The line's net price at creation (`subscription`'s N).
    pub line_net_price: Decimal,
    /// Milestones (milestone rule).
    pub milestones: Vec<FeeMilestone>,
    /// Actual cumulative percent by period (percent_complete).
    pub percent_actual: BTreeMap<String, Decimal>,
    /// Forecast percent by period.
    pub percent_forecast: BTreeMap<String, Decimal>,
    /// Manual actual entries by period.
    pub manual: BTreeMap<String, Decimal>,
    /// Forecast entries by period (manual and usage fees, 06 §9).
    #[serde(default)]
    pub manual_forecast: BTreeMap<String, Decimal>,
    /// Cumulative target fixed by a cancel.
    pub frozen: Option<Decimal>,
    /// GL revenue account.
    pub revenue_account: String,
    /// GL deferred account.
    pub deferred_account: String,
    /// The chain's share of its line in percent (100 for an unsplit line), for splitting
    /// modification deltas (06 §7).
    #[serde(default = "hundred")]
    pub percent: Decimal,
    /// The contract change that appended this fee (06 §7), 1-based per agreement.
    #[serde(default)]
    pub change: Option<u32>,
    /// The change that froze this fee, if any (a rollback of that change unfreezes it).
    #[serde(default)]
    pub frozen_by: Option<u32>,
}

fn hundred() -> Decimal {
    Decimal::ONE_HUNDRED
}

/// An obligation (606).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// `O-1#N`.
    pub obligation_ref: String,
    /// Agreement that created it.
    pub agreement: String,
    /// Σ fee TP.
    pub transaction_price: Decimal,
    /// Σ fee allocation (amount).
    pub allocation: Decimal,
    /// Start.
    pub start: NaiveDate,
    /// End.
    pub end: NaiveDate,
    /// Common rule or `mixed`.
    pub rule: String,
    /// Fees on it.
    pub fees: Vec<String>,
    /// Account.
    pub account: String,
    /// Legal entity.
    pub legal_entity: String,
    /// Currency.
    pub currency: String,
}

/// An adjustment (06 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    /// 1-based sequence within the agreement.
    pub seq: u32,
    /// Period `YYYY-MM`.
    pub period: String,
    /// Amount.
    pub amount: Decimal,
    /// Comment.
    pub comment: String,
}

/// A revenue agreement (06 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Id (= order id).
    pub id: String,
    /// Name (= order id).
    pub name: String,
    /// Order.
    pub order: String,
    /// Account.
    pub account: String,
    /// Order location.
    pub location: Option<String>,
    /// Legal entity.
    pub legal_entity: String,
    /// Currency.
    pub currency: String,
    /// ASC 605 or 606.
    pub standard: Standard,
    /// Start.
    pub start: NaiveDate,
    /// End.
    pub end: NaiveDate,
    /// Ready-for-revenue date.
    pub ready_for_revenue_date: NaiveDate,
    /// Status.
    pub status: AgreementStatus,
    /// Recognition on.
    pub revrec_active: bool,
    /// Forecasting on.
    pub forecast_active: bool,
    /// Lines (606).
    pub lines: Vec<AgreementLine>,
    /// Fees in creation order.
    pub fees: Vec<Fee>,
    /// Obligation refs created by this agreement.
    pub obligations: Vec<String>,
    /// Adjustments.
    pub adjustments: Vec<Adjustment>,
    /// Contract changes applied so far (06 §7).
    #[serde(default)]
    pub changes: u32,
}

/// The fields of a stored [`Agreement`] that decide its eligibility for a period (06 §8),
/// decoded without its lines, fees' inputs and adjustments: the period close reads every
/// agreement of its entity, and only those past their last month need the whole record.
#[derive(Debug, Clone, Deserialize)]
pub struct AgreementHead {
    /// Id.
    pub id: String,
    /// Legal entity.
    pub legal_entity: String,
    /// Start.
    pub start: NaiveDate,
    /// End.
    pub end: NaiveDate,
    /// Ready-for-revenue date.
    pub ready_for_revenue_date: NaiveDate,
    /// Status.
    pub status: AgreementStatus,
    /// Recognition on.
    pub revrec_active: bool,
    /// The fees' horizons' inputs.
    pub fees: Vec<FeeHead>,
}

/// A fee's end and milestone dates (its horizon, [`super::calc::horizon`]).
#[derive(Debug, Clone, Deserialize)]
pub struct FeeHead {
    /// End.
    pub end: NaiveDate,
    /// Milestones.
    pub milestones: Vec<FeeMilestoneDates>,
}

/// A milestone's dates.
#[derive(Debug, Clone, Deserialize)]
pub struct FeeMilestoneDates {
    /// Planned date.
    pub expected: Option<NaiveDate>,
    /// Completion date.
    pub actual: Option<NaiveDate>,
}

/// The summary of one agreement for one generated period (06 §10); its existence is the
/// actuals marker, and it carries the period's actual rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Agreement.
    pub agreement: String,
    /// Period `YYYY-MM`.
    pub period: String,
    /// The actual rows of the period: fee ref → amount (zero rows are not stored).
    pub rows: Vec<(String, Decimal)>,
    /// Billed to date.
    pub billed_to_date: Decimal,
    /// Recognised to date (rows + adjustments).
    pub recognised_to_date: Decimal,
    /// Billed since the previous summary.
    pub billed: Decimal,
    /// Recognised since the previous summary (rows + adjustments).
    pub recognised: Decimal,
    /// Adjustments since the previous summary.
    pub adjustments: Decimal,
    /// billed_to_date − recognised_to_date.
    pub deferred: Decimal,
    /// Σ fee amounts − Σ actual rows to date.
    pub unrecognised: Decimal,
    /// Fee amounts of origin `order` added since the previous summary.
    pub new_fees: Decimal,
    /// Other fee amounts added since the previous summary.
    pub modification_fees: Decimal,
    /// Σ fee amounts at this summary.
    pub fee_total: Decimal,
    /// Σ amounts of the fees of origin `order` at this summary.
    pub order_fee_total: Decimal,
    /// Cumulative actual per fee at the end of this period.
    pub cumulative: Vec<(String, Decimal)>,
}

/// The open period of a legal entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenuePeriod {
    /// Legal entity.
    pub legal_entity: String,
    /// Month end of the open period.
    pub current: NaiveDate,
}

/// Forecast or budget rows of one agreement: fee ref → period `YYYY-MM` → amount.
pub type PlanRows = BTreeMap<String, BTreeMap<String, Decimal>>;

/// A forecast snapshot of one fee for one period (06 §9), immutable once written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Fee ref.
    pub fee: String,
    /// Period `YYYY-MM`.
    pub period: String,
    /// The period's actual row.
    pub actual: Decimal,
    /// The period's forecast row.
    pub forecast: Decimal,
    /// The period's budget row.
    pub budget: Decimal,
    /// actual − forecast.
    pub variance_to_forecast: Decimal,
    /// actual − budget.
    pub variance_to_budget: Decimal,
    /// Recognised through the period.
    pub cumulative: Decimal,
    /// Fee amount − recognised.
    pub unrecognised: Decimal,
}

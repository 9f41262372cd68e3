//! Billing plans over the store (03 C.2–C.4): a plan line's rows at activation, milestone
//! completion, the `plan_locked` refusal and what a cancel does to milestone rows.

use super::build::{item_rows, LineFacts, LinePlan, PlanKind, Template};
use super::{PlanRecord, PlanRow};
use crate::billing::tx::Tx;
use crate::changes::netting::Netted;
use crate::engine::{key, schedule_key, split_line_ref, Asset, Schedule, ScheduleStatus};
use crate::error::{Code, EngineError, Result};
use crate::model::{BillingFrequency, OrderLine, Product};
use crate::Engine;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::borrow::Cow;

/// `complete_milestone` (03 C.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteMilestone {
    /// The line.
    pub line: String,
    /// The milestone item's name.
    pub item: String,
    /// The completion date D.
    pub on: NaiveDate,
}

impl Engine {
    /// The `billing_plans` templates of the rules.
    pub fn plan_templates(&self) -> Vec<Template> {
        self.rules
            .documents
            .get("billing_plans")
            .map(|rows| {
                rows.iter()
                    .filter_map(|r| serde_yaml::from_value(r.value.clone()).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The plan a line was activated with (`None`: not a plan line).
    pub fn plan_record(&self, line: &str) -> Result<Option<PlanRecord>> {
        let (o, l) = split_line_ref(line).unwrap_or_default();
        self.get(&record_key(o, l))
    }

    /// Replace a line's 02 rows by its billing plan's rows when it has one (the order line's
    /// `billing_plan`, else the product's): one row per item, kind `original`, T = Σ of the 02
    /// rows. Refusals name the line and the `billing_plan` field.
    pub(crate) fn apply_plan(
        &self,
        line_ref: &str,
        line: &OrderLine,
        product: &Product,
        asset: &Asset,
        rows: Vec<Schedule>,
    ) -> Result<Vec<Schedule>> {
        let spec = match line.extra.get("billing_plan") {
            Some(v) => serde_yaml::from_value::<LinePlan>(v.clone()).map_err(|e| {
                EngineError::refused(
                    Code::InvalidRecord,
                    line_ref,
                    "billing_plan",
                    format!("not a billing plan: {e}"),
                )
            })?,
            None => match product.extra.get("billing_plan").and_then(|v| v.as_str()) {
                Some(name) => LinePlan::Name(name.to_string()),
                None => return Ok(rows),
            },
        };
        let field = |f: &str| {
            if f.is_empty() {
                "billing_plan".to_string()
            } else {
                format!("billing_plan.{f}")
            }
        };
        let freq = product.billing_frequency();
        if freq == BillingFrequency::Usage || asset.evergreen.is_some() {
            return Err(EngineError::refused(
                Code::PlanNotAllowed,
                line_ref,
                "billing_plan",
                format!(
                    "billing plans need a termed one_time or recurring line; `{}` is {}",
                    product.code,
                    if asset.evergreen.is_some() {
                        "evergreen"
                    } else {
                        "a usage product"
                    }
                ),
            ));
        }
        let templates = self.plan_templates();
        let find = |name: &str| templates.iter().find(|t| t.name == name);
        let facts = LineFacts {
            start: asset.terms.start,
            end: asset.terms.end.unwrap_or(asset.terms.start),
            total: rows.iter().map(|s| s.amount).sum::<Decimal>(),
            offset_days: asset.terms.offset_days,
            scale: asset.terms.scale,
            rounding: asset.terms.rounding,
        };
        let (kind, items) = item_rows(&spec, &find, &facts)
            .map_err(|e| EngineError::refused(e.code, line_ref, field(&e.field), e.message))?;
        for (k, item) in items.iter().enumerate() {
            if let Some(t) = &item.payment_term {
                if !self.rules.payment_terms.contains_key(t) {
                    return Err(EngineError::refused(
                        Code::UnknownPaymentTerm,
                        line_ref,
                        field(&format!("items[{k}].payment_term")),
                        format!("no payment term `{t}`"),
                    ));
                }
            }
        }
        let mut items = items;
        items.sort_by_key(|i| (i.start, i.end));
        Ok(items
            .into_iter()
            .enumerate()
            .map(|(i, it)| Schedule {
                id: format!("{line_ref}#{}", i + 1),
                line: line_ref.to_string(),
                seq: i as u32 + 1,
                start: it.start,
                end: it.end,
                ready: it.ready,
                amount: it.amount,
                quantity: line.quantity,
                schedule_type: asset.schedule_type,
                status: if kind == PlanKind::Milestone {
                    ScheduleStatus::PendingMilestone
                } else {
                    ScheduleStatus::PendingBilling
                },
                kind: "original".into(),
                category: "original".into(),
                invoice: None,
                change: Default::default(),
                plan: Some(PlanRow {
                    item: it.name,
                    payment_term: it.payment_term,
                    milestone: it.milestone,
                    completed: None,
                }),
            })
            .collect())
    }

    /// `amend`, `renew` and `swap` on a plan line are refused (03 C.4).
    pub(crate) fn refuse_plan_locked(&self, line: &str, step: &str) -> Result<()> {
        if let Some(rec) = self.plan_record(line)? {
            return Err(EngineError::refused(
                Code::PlanLocked,
                line,
                step,
                format!(
                    "the line bills by a {} plan fixed at activation; {step} is not allowed (cancel it instead)",
                    match rec.kind {
                        PlanKind::Fixed => "fixed",
                        PlanKind::Milestone => "milestone",
                    }
                ),
            ));
        }
        Ok(())
    }

    /// Complete a milestone (03 C.3): its row becomes `pending_billing`, ready D + the product's
    /// `ready_for_invoice_offset_days`, `completed` D. Returns the row's ref.
    pub fn complete_milestone(&self, req: &CompleteMilestone) -> Result<String> {
        let line = req.line.as_str();
        let Some(asset) = self.asset(line)? else {
            return Err(EngineError::refused(
                Code::UnknownLine,
                line,
                "line",
                format!("no active line `{line}`"),
            ));
        };
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let rows = self.schedules(line)?;
        let of_item: Vec<&Schedule> = rows
            .iter()
            .filter(|s| {
                s.plan
                    .as_ref()
                    .is_some_and(|p| p.milestone && p.item == req.item)
            })
            .collect();
        if of_item.is_empty() {
            return Err(EngineError::refused(
                Code::UnknownPlanItem,
                line,
                "item",
                format!("the line's plan has no milestone item `{}`", req.item),
            ));
        }
        let live = of_item.iter().find(|s| {
            !matches!(
                s.status,
                ScheduleStatus::Superseded | ScheduleStatus::Cancelled
            )
        });
        let Some(row) = live else {
            return Err(EngineError::refused(
                Code::AssetCancelled,
                line,
                "item",
                format!("milestone `{}` was cancelled with the line", req.item),
            ));
        };
        if let Some(done) = row.plan.as_ref().and_then(|p| p.completed) {
            return Err(EngineError::refused(
                Code::MilestoneAlreadyCompleted,
                line,
                "item",
                format!("milestone `{}` was completed on {done}", req.item),
            ));
        }
        let mut next = (*row).clone();
        next.status = ScheduleStatus::PendingBilling;
        next.ready = req
            .on
            .checked_add_days(chrono::Days::new(asset.terms.offset_days.into()))
            .unwrap_or(req.on);
        if let Some(p) = next.plan.as_mut() {
            p.completed = Some(req.on);
        }
        let (o, l) = split_line_ref(line).unwrap_or_default();
        let mut tx = Tx::new(self.store.as_ref());
        tx.put(schedule_key(o, l, next.seq), &next);
        tx.commit()?;
        Ok(next.id)
    }
}

/// The plan record of freshly planned rows (`None` when they are not plan rows).
pub(crate) fn record_of(rows: &[Schedule]) -> Option<PlanRecord> {
    let plans: Vec<&PlanRow> = rows.iter().filter_map(|s| s.plan.as_ref()).collect();
    if plans.is_empty() {
        return None;
    }
    Some(PlanRecord {
        kind: if plans.iter().any(|p| p.milestone) {
            PlanKind::Milestone
        } else {
            PlanKind::Fixed
        },
        template: None,
        items: plans.iter().map(|p| p.item.clone()).collect(),
    })
}

/// The store key of a line's plan record.
pub(crate) fn record_key(order: &str, line: &str) -> Vec<u8> {
    key(&["plan", order, line])
}

fn is_milestone(s: &Schedule) -> bool {
    s.plan.as_ref().is_some_and(|p| p.milestone)
}

/// The rows the netting of A.3 sees: milestone rows never take part (C.4).
pub(crate) fn netting_rows(rows: &[Schedule]) -> Cow<'_, [Schedule]> {
    if rows.iter().any(is_milestone) {
        Cow::Owned(rows.iter().filter(|s| !is_milestone(s)).cloned().collect())
    } else {
        Cow::Borrowed(rows)
    }
}

/// A cancel on a milestone plan (C.4): live `pending_milestone` rows become `cancelled` whole;
/// completed milestone rows are untouched and count whole in V.
pub(crate) fn cancel_milestones(rows: &[Schedule], cancel: bool, out: &mut Netted) {
    for s in rows.iter().filter(|s| is_milestone(s)) {
        if matches!(
            s.status,
            ScheduleStatus::Superseded | ScheduleStatus::Cancelled
        ) {
            continue;
        }
        if cancel && s.status == ScheduleStatus::PendingMilestone {
            let mut c = s.clone();
            c.status = ScheduleStatus::Cancelled;
            out.changed.push(c);
        } else {
            out.v += s.amount;
        }
    }
}

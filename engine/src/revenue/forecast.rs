//! Forecasts, budgets and forecast snapshots (06 §9). A forecast is the rules' cumulative target
//! with forecast inputs (forecast percentages, expected milestone dates, forecast entries,
//! not-yet-invoiced schedules), from the open period to the fee's horizon, starting from the
//! actuals before it. Each operation is one commit per agreement.

use super::calc::{cumulative, horizon, linked, month_end, parse_period, period_name, r, Facts};
use super::keys;
use super::model::*;
use crate::dates::{month_index, MonthIndex};
use crate::engine::{encode, Engine, ScheduleStatus, ScheduleType};
use crate::error::{Code, EngineError, Result};
use crate::money::minor_units;
use crate::store::Batch;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn refuse(code: Code, record: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, msg)
}

/// A fee's forecast horizon: its own (end, milestone dates) or its last forecast entry.
pub fn forecast_horizon(f: &Fee) -> MonthIndex {
    let entries = f
        .percent_forecast
        .keys()
        .chain(f.manual_forecast.keys())
        .filter_map(|p| parse_period(p));
    entries.fold(horizon(f), MonthIndex::max)
}

impl Engine {
    /// Forecast or budget rows of an agreement.
    pub fn revenue_plan(&self, agreement: &str, kind: &str) -> Result<PlanRows> {
        Ok(self.get(&keys::plan(agreement, kind))?.unwrap_or_default())
    }

    /// The forecast snapshots of an agreement for a period.
    pub fn revenue_snapshots(&self, agreement: &str, period: &str) -> Result<Vec<Snapshot>> {
        Ok(self
            .get(&keys::snapshots(agreement, period))?
            .unwrap_or_default())
    }

    /// `fc_f(Q)`: the cumulative target with forecast inputs (06 §9); `open` is the entity's
    /// open period.
    fn forecast_cumulative(
        &self,
        fees: &[Fee],
        f: &Fee,
        q: MonthIndex,
        open: MonthIndex,
        scale: u32,
        facts: &dyn Facts,
    ) -> Result<Decimal> {
        let f = linked(fees, f);
        let end_q = month_end(q);
        let key = period_name(q);
        Ok(match f.rule {
            _ if f.frozen.is_some() => f.frozen.unwrap_or_default(),
            Rule::PercentComplete => {
                // The latest forecast percent ≤ Q, else the latest actual percent, else 0.
                let c = f
                    .percent_forecast
                    .range(..=key.clone())
                    .next_back()
                    .or_else(|| f.percent_actual.range(..=key).next_back())
                    .map(|(_, v)| *v)
                    .unwrap_or_default();
                r(f.amount * c / Decimal::ONE_HUNDRED, scale)
            }
            Rule::Milestone => {
                let done: Decimal = f
                    .milestones
                    .iter()
                    .filter(|m| m.actual.or(m.expected).is_some_and(|d| d <= end_q))
                    .map(|m| m.percent)
                    .sum();
                r(f.amount * done / Decimal::ONE_HUNDRED, scale)
            }
            Rule::Manual => {
                let open_name = period_name(open);
                let before: Decimal = f.manual.range(..open_name.clone()).map(|(_, v)| *v).sum();
                let ahead: Decimal = f
                    .manual_forecast
                    .range(open_name..=period_name(q))
                    .map(|(_, v)| *v)
                    .sum();
                before + ahead
            }
            Rule::Subscription => {
                if end_q < f.start {
                    return Ok(Decimal::ZERO);
                }
                let pending: Decimal = self
                    .schedules(&f.line)?
                    .iter()
                    .filter(|s| {
                        s.schedule_type == ScheduleType::Contracted
                            && matches!(
                                s.status,
                                ScheduleStatus::PendingBilling | ScheduleStatus::PendingInvoiced
                            )
                            && s.ready <= end_q
                    })
                    .map(|s| s.amount)
                    .sum();
                let b = facts.billed(&f.line, end_q) + pending;
                if f.line_net_price.is_zero() {
                    r(b, scale)
                } else {
                    r(b * f.amount / f.line_net_price, scale)
                }
            }
            _ => cumulative(&f, q, scale, facts),
        })
    }

    /// Why `ag` is not forecast for `p`, if it is not.
    pub fn forecast_skip_reason(&self, ag: &Agreement, p: MonthIndex) -> Option<&'static str> {
        if ag.status == AgreementStatus::Draft {
            return Some("draft");
        }
        if !ag.forecast_active {
            return Some("inactive");
        }
        if ag
            .fees
            .iter()
            .map(forecast_horizon)
            .max()
            .is_none_or(|h| h < p)
        {
            return Some("done");
        }
        None
    }

    /// Generate the forecast of `ag` for the open period `p` (rows ≥ p replaced), one commit.
    pub(crate) fn plan_forecast(
        &self,
        ag: &Agreement,
        p: MonthIndex,
    ) -> Result<std::result::Result<Batch, &'static str>> {
        if let Some(reason) = self.forecast_skip_reason(ag, p) {
            return Ok(Err(reason));
        }
        let scale = minor_units(&ag.currency).unwrap_or(2);
        let facts = self.agreement_facts(ag)?;
        let before: BTreeMap<String, Decimal> = self
            .revenue_summaries(&ag.id)?
            .into_iter()
            .rfind(|s| s.period < period_name(p))
            .map(|s| s.cumulative.into_iter().collect())
            .unwrap_or_default();
        let mut rows = self.revenue_plan(&ag.id, "forecast")?;
        let first = period_name(p);
        for f in &ag.fees {
            let fee_rows = rows.entry(f.fee_ref.clone()).or_default();
            fee_rows.retain(|k, _| *k < first);
            let mut prev = before.get(&f.fee_ref).copied().unwrap_or_default();
            for q in p..=forecast_horizon(f).max(p) {
                let c = self.forecast_cumulative(&ag.fees, f, q, p, scale, &facts)?;
                if c != prev {
                    fee_rows.insert(period_name(q), c - prev);
                }
                prev = c;
            }
        }
        rows.retain(|_, v| !v.is_empty());
        let mut b = Batch::default();
        b.put(keys::plan(&ag.id, "forecast"), encode(&rows));
        Ok(Ok(b))
    }

    /// Delete the forecast rows of `ag` from `p` on, one commit.
    pub(crate) fn plan_rollback_forecast(&self, ag: &Agreement, p: MonthIndex) -> Result<Batch> {
        let first = period_name(p);
        let mut rows = self.revenue_plan(&ag.id, "forecast")?;
        for v in rows.values_mut() {
            v.retain(|k, _| *k < first);
        }
        rows.retain(|_, v| !v.is_empty());
        let mut b = Batch::default();
        b.put(keys::plan(&ag.id, "forecast"), encode(&rows));
        Ok(b)
    }

    /// Whether `ag` has forecast rows for `p`.
    pub fn has_forecast(&self, ag: &Agreement, p: MonthIndex) -> Result<bool> {
        let name = period_name(p);
        Ok(self
            .revenue_plan(&ag.id, "forecast")?
            .values()
            .any(|v| v.contains_key(&name)))
    }

    /// A forecast or budget entry (06 §13 `revenue_entry` with `kind: forecast | budget`): for
    /// the open period or later. Forecast entries are inputs of manual and usage fees; budget
    /// entries are budget rows of any fee.
    pub fn plan_entry(&self, fee: &str, period: &str, kind: &str, amount: Decimal) -> Result<()> {
        let (mut ag, i) = self.known_fee(fee)?;
        let record = format!("fee:{}", ag.fees[i].fee_ref);
        let p = parse_period(period).ok_or_else(|| {
            refuse(
                Code::InvalidRecord,
                &record,
                "period",
                format!("`{period}` is not YYYY-MM"),
            )
        })?;
        let open = month_index(self.revenue_period(&ag.legal_entity)?.current);
        if p < open {
            return Err(refuse(
                Code::PeriodClosed,
                &record,
                "period",
                format!("{period} is closed"),
            ));
        }
        let mut b = Batch::default();
        if kind == "budget" {
            let mut rows = self.revenue_plan(&ag.id, "budget")?;
            *rows
                .entry(ag.fees[i].fee_ref.clone())
                .or_default()
                .entry(period.to_string())
                .or_default() += amount;
            b.put(keys::plan(&ag.id, "budget"), encode(&rows));
        } else {
            let f = &mut ag.fees[i];
            if f.rule != Rule::Manual && f.fee_type != "usage" {
                return Err(refuse(
                    Code::FeeRuleMismatch,
                    &record,
                    "rule",
                    format!(
                        "forecast entries are for manual and usage fees; this one is {}",
                        f.rule.as_str()
                    ),
                ));
            }
            *f.manual_forecast.entry(period.to_string()).or_default() += amount;
            b.put(keys::agreement(&ag.id), encode(&ag));
        }
        Ok(self.store.commit(b)?)
    }

    /// `actual_to_forecast` (06 §9): the open period's actual rows over its forecast rows, per
    /// agreement of the entity.
    pub fn actual_to_forecast(&self, le: &str) -> Result<usize> {
        let p = period_name(month_index(self.revenue_period(le)?.current));
        let mut batches = Vec::new();
        for ag in self.entity_agreements(le)? {
            let Some(s) = self
                .revenue_summaries(&ag.id)?
                .into_iter()
                .find(|s| s.period == p)
            else {
                continue;
            };
            let mut rows = self.revenue_plan(&ag.id, "forecast")?;
            for v in rows.values_mut() {
                v.remove(&p);
            }
            for (fee, amount) in &s.rows {
                rows.entry(fee.clone())
                    .or_default()
                    .insert(p.clone(), *amount);
            }
            rows.retain(|_, v| !v.is_empty());
            let mut b = Batch::default();
            b.put(keys::plan(&ag.id, "forecast"), encode(&rows));
            batches.push(b);
        }
        let n = batches.len();
        self.store.commit_all(batches)?;
        Ok(n)
    }

    /// `forecast_to_budget` (06 §9): forecast rows from the open period on over the budget rows.
    pub fn forecast_to_budget(&self, le: &str) -> Result<usize> {
        let p = period_name(month_index(self.revenue_period(le)?.current));
        let mut batches = Vec::new();
        for ag in self.entity_agreements(le)? {
            let forecast = self.revenue_plan(&ag.id, "forecast")?;
            let mut budget = self.revenue_plan(&ag.id, "budget")?;
            for v in budget.values_mut() {
                v.retain(|k, _| *k < p);
            }
            for (fee, rows) in forecast {
                for (q, a) in rows.into_iter().filter(|(q, _)| *q >= p) {
                    budget.entry(fee.clone()).or_default().insert(q, a);
                }
            }
            budget.retain(|_, v| !v.is_empty());
            let mut b = Batch::default();
            b.put(keys::plan(&ag.id, "budget"), encode(&budget));
            batches.push(b);
        }
        let n = batches.len();
        self.store.commit_all(batches)?;
        Ok(n)
    }

    /// `snapshot` (06 §9): a forecast snapshot of every fee of the entity's agreements for the
    /// open period (actual, forecast, budget, variances, cumulative, unrecognised). Immutable: a
    /// second snapshot of the period needs `delete_snapshot` first.
    pub fn snapshot(&self, le: &str) -> Result<usize> {
        let p = period_name(month_index(self.revenue_period(le)?.current));
        let mut batches = Vec::new();
        for ag in self.entity_agreements(le)? {
            if self.store.get(&keys::snapshots(&ag.id, &p))?.is_some() {
                continue;
            }
            let sums = self.revenue_summaries(&ag.id)?;
            let this = sums.iter().find(|s| s.period == p);
            let cum_to: BTreeMap<&str, Decimal> = sums
                .iter()
                .rfind(|s| s.period <= p)
                .map(|s| s.cumulative.iter().map(|(f, v)| (f.as_str(), *v)).collect())
                .unwrap_or_default();
            let forecast = self.revenue_plan(&ag.id, "forecast")?;
            let budget = self.revenue_plan(&ag.id, "budget")?;
            let cell = |rows: &PlanRows, fee: &str| {
                rows.get(fee)
                    .and_then(|v| v.get(&p))
                    .copied()
                    .unwrap_or_default()
            };
            let snaps: Vec<Snapshot> = ag
                .fees
                .iter()
                .map(|f| {
                    let actual = this
                        .and_then(|s| s.rows.iter().find(|(r, _)| *r == f.fee_ref))
                        .map(|(_, v)| *v)
                        .unwrap_or_default();
                    let fc = cell(&forecast, &f.fee_ref);
                    let bd = cell(&budget, &f.fee_ref);
                    let cumulative = cum_to.get(f.fee_ref.as_str()).copied().unwrap_or_default();
                    Snapshot {
                        fee: f.fee_ref.clone(),
                        period: p.clone(),
                        actual,
                        forecast: fc,
                        budget: bd,
                        variance_to_forecast: actual - fc,
                        variance_to_budget: actual - bd,
                        cumulative,
                        unrecognised: f.amount - cumulative,
                    }
                })
                .collect();
            let mut b = Batch::default();
            b.put(keys::snapshots(&ag.id, &p), encode(&snaps));
            batches.push(b);
        }
        let n = batches.len();
        self.store.commit_all(batches)?;
        Ok(n)
    }

    /// `delete_snapshot` (06 §9): the open period's forecast snapshots of the entity.
    pub fn delete_snapshot(&self, le: &str) -> Result<usize> {
        let p = period_name(month_index(self.revenue_period(le)?.current));
        let mut b = Batch::default();
        let mut n = 0;
        for ag in self.entity_agreements(le)? {
            let k = keys::snapshots(&ag.id, &p);
            if self.store.get(&k)?.is_some() {
                b.delete(k);
                n += 1;
            }
        }
        self.store.commit(b)?;
        Ok(n)
    }
}

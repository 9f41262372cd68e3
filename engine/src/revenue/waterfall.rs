//! The revenue waterfall of a legal entity: per agreement and month, the actual rows (and
//! adjustments) of every generated period, then the months ahead as the rules would recognise
//! them (cumulative targets, not a stored forecast). Read-only.

use super::calc::{cumulative, horizon, period_name};
use crate::dates::{month_index, MonthIndex};
use crate::engine::Engine;
use crate::error::Result;
use crate::money::minor_units;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// One agreement's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaterfallRow {
    /// Agreement id.
    pub agreement: String,
    /// Currency.
    pub currency: String,
    /// Amount per month of [`Waterfall::periods`].
    pub amounts: Vec<Decimal>,
    /// Σ of the amounts.
    pub total: Decimal,
}

/// The waterfall.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waterfall {
    /// Legal entity.
    pub legal_entity: String,
    /// Months `YYYY-MM`, oldest first.
    pub periods: Vec<String>,
    /// Months before this index are closed (actual rows and adjustments); from it on, the open
    /// period and later months as projected by the rules (the open period's own actuals count
    /// once generated).
    pub first_projected: usize,
    /// One row per agreement in id order.
    pub rows: Vec<WaterfallRow>,
}

impl Engine {
    /// The waterfall of `le` from its earliest agreement month through the last month any of
    /// its fees can still recognise (at least the open period).
    pub fn revenue_waterfall(&self, le: &str) -> Result<Waterfall> {
        let current = month_index(self.revenue_period(le)?.current);
        let agreements = self.entity_agreements(le)?;
        let mut first: MonthIndex = current;
        let mut last: MonthIndex = current;
        for ag in &agreements {
            first = first.min(month_index(ag.start.max(ag.ready_for_revenue_date)));
            for f in &ag.fees {
                last = last.max(horizon(f));
            }
        }
        let periods: Vec<String> = (first..=last).map(period_name).collect();
        let mut rows = Vec::new();
        for ag in &agreements {
            let scale = minor_units(&ag.currency).unwrap_or(2);
            let facts = self.agreement_facts(ag)?;
            let sums = self.revenue_summaries(&ag.id)?;
            let mut by: BTreeMap<&str, Decimal> = BTreeMap::new();
            for s in &sums {
                let rows: Decimal = s.rows.iter().map(|(_, v)| *v).sum();
                *by.entry(&s.period).or_default() += rows;
            }
            for a in &ag.adjustments {
                *by.entry(&a.period).or_default() += a.amount;
            }
            // Projection from the latest cumulative actuals on.
            let mut cum: BTreeMap<String, Decimal> = sums
                .last()
                .map(|s| s.cumulative.iter().cloned().collect())
                .unwrap_or_default();
            let generated_through = sums
                .last()
                .and_then(|s| super::calc::parse_period(&s.period))
                .unwrap_or(first - 1);
            let mut amounts = Vec::with_capacity(periods.len());
            for (i, name) in periods.iter().enumerate() {
                let p = first + i as MonthIndex;
                if p <= generated_through || p < current {
                    amounts.push(by.get(name.as_str()).copied().unwrap_or_default());
                    continue;
                }
                let mut month = Decimal::ZERO;
                for f in &ag.fees {
                    let target = cumulative(&super::calc::linked(&ag.fees, f), p, scale, &facts);
                    let before = cum.get(&f.fee_ref).copied().unwrap_or_default();
                    month += target - before;
                    cum.insert(f.fee_ref.clone(), target);
                }
                amounts.push(month);
            }
            let total = amounts.iter().copied().sum();
            rows.push(WaterfallRow {
                agreement: ag.id.clone(),
                currency: ag.currency.clone(),
                amounts,
                total,
            });
        }
        Ok(Waterfall {
            legal_entity: le.to_string(),
            first_projected: (current - first).max(0) as usize,
            periods,
            rows,
        })
    }
}

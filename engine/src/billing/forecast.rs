//! The invoice forecast (04 §10): contracted schedules counted and summed per month of `ready`
//! and per status (all six); a month's total is the sum of its buckets (FC-01). Reads only.

use crate::engine::{key, Asset, Engine, Schedule, ScheduleStatus, ScheduleType};
use crate::error::{Code, EngineError, Result};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The six schedule statuses in report order.
pub const STATUSES: [ScheduleStatus; 6] = [
    ScheduleStatus::PendingBilling,
    ScheduleStatus::PendingInvoiced,
    ScheduleStatus::Invoiced,
    ScheduleStatus::PendingMilestone,
    ScheduleStatus::Superseded,
    ScheduleStatus::Cancelled,
];

/// The snake_case name of a status.
pub fn status_name(s: ScheduleStatus) -> &'static str {
    match s {
        ScheduleStatus::PendingBilling => "pending_billing",
        ScheduleStatus::PendingInvoiced => "pending_invoiced",
        ScheduleStatus::Invoiced => "invoiced",
        ScheduleStatus::PendingMilestone => "pending_milestone",
        ScheduleStatus::Superseded => "superseded",
        ScheduleStatus::Cancelled => "cancelled",
    }
}

/// What the forecast covers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForecastQuery {
    /// One bill-to account, or all.
    pub account: Option<String>,
    /// First month `(year, month)`.
    pub from: (i32, u32),
    /// Last month, inclusive.
    pub to: (i32, u32),
    /// One product, or all.
    pub product: Option<String>,
    /// `one_time`, `recurring`, `usage`, or all.
    pub price_type: Option<String>,
    /// One currency; needed only when the schedules covered are in several.
    pub currency: Option<String>,
}

/// One month of the forecast: per status (in [`STATUSES`] order) the count and the amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForecastMonth {
    /// `YYYY-MM`.
    pub month: String,
    /// The currency of the amounts (empty when nothing was counted).
    pub currency: String,
    /// Schedules per status.
    pub counts: [u64; 6],
    /// Σ amount per status.
    pub amounts: [Decimal; 6],
}

impl ForecastMonth {
    /// Σ of the six count buckets.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Σ of the six amount buckets.
    pub fn total(&self) -> Decimal {
        self.amounts.iter().copied().sum()
    }
}

/// Parse `YYYY-MM`.
pub fn parse_month(s: &str) -> Option<(i32, u32)> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some((y, m))
}

impl Engine {
    /// 04 §10 forecast: every month from `from` to `to` (empty months included), contracted
    /// schedules by month of `ready` and status.
    pub fn forecast(&self, q: &ForecastQuery) -> Result<Vec<ForecastMonth>> {
        if q.from > q.to {
            return Err(EngineError::refused(
                Code::InvalidRecord,
                "forecast",
                "to",
                "the last month is before the first",
            ));
        }
        if let Some(a) = &q.account {
            self.known_account(a, "forecast")?;
        }
        let mut months: BTreeMap<(i32, u32), ForecastMonth> = BTreeMap::new();
        let (mut y, mut m) = q.from;
        while (y, m) <= q.to {
            months.insert(
                (y, m),
                ForecastMonth {
                    month: format!("{y:04}-{m:02}"),
                    currency: String::new(),
                    counts: [0; 6],
                    amounts: [Decimal::ZERO; 6],
                },
            );
            (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
        }
        let mut assets: HashMap<String, Option<Asset>> = HashMap::new();
        let mut currency: Option<String> = q.currency.clone();
        for (k, v) in self.store.scan(&key(&["sched", ""]))? {
            let s: Schedule = crate::engine::decode(&k, &v)?;
            if s.schedule_type != ScheduleType::Contracted {
                continue;
            }
            let Some(bucket) = months.get_mut(&month_of(s.ready)) else {
                continue;
            };
            if !assets.contains_key(&s.line) {
                assets.insert(s.line.clone(), self.asset(&s.line)?);
            }
            let Some(asset) = assets.get(&s.line).and_then(Option::as_ref) else {
                continue;
            };
            if q.account.as_ref().is_some_and(|a| *a != asset.account)
                || q.product.as_ref().is_some_and(|p| *p != asset.product)
            {
                continue;
            }
            if let Some(pt) = &q.price_type {
                let have = self
                    .rules
                    .products
                    .get(&asset.product)
                    .and_then(|p| serde_json::to_value(p.price_type).ok());
                if have.as_ref().and_then(|v| v.as_str()) != Some(pt.as_str()) {
                    continue;
                }
            }
            match (&currency, &q.currency) {
                (Some(c), Some(_)) if *c != asset.currency => continue,
                (Some(c), None) if *c != asset.currency => {
                    return Err(EngineError::refused(
                        Code::CurrencyMismatch,
                        "forecast",
                        "currency",
                        format!(
                            "schedules in {c} and {}: give a currency to forecast",
                            asset.currency
                        ),
                    ))
                }
                (None, _) => currency = Some(asset.currency.clone()),
                _ => {}
            }
            let i = STATUSES.iter().position(|x| *x == s.status).unwrap_or(0);
            bucket.counts[i] += 1;
            bucket.amounts[i] += s.amount;
        }
        let currency = currency.unwrap_or_default();
        Ok(months
            .into_values()
            .map(|mut m| {
                m.currency = currency.clone();
                m
            })
            .collect())
    }
}

fn month_of(d: NaiveDate) -> (i32, u32) {
    (d.year(), d.month())
}

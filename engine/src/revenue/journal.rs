//! GL journal export (06 §11): one entry per actual row and per adjustment of a closed period,
//! ordered by agreement id, fee ref, adjustment sequence; read-only and byte-for-byte repeatable.

use super::calc::{month_end, parse_period, period_name};
use super::model::RevenueSettings;
use crate::dates::month_index;
use crate::engine::Engine;
use crate::error::{Code, EngineError, Result};
use crate::money::minor_units;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// One line of an entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalLine {
    /// GL account.
    pub account: String,
    /// Debit (`None`: the credit side).
    pub debit: Option<Decimal>,
    /// Credit.
    pub credit: Option<Decimal>,
    /// Currency.
    pub currency: String,
}

/// One entry: a debit line and a credit line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalEntry {
    /// `E-YYYY-MM-000001`.
    pub entry: String,
    /// `end(P)`.
    pub date: String,
    /// Agreement id.
    pub agreement: String,
    /// Fee ref (empty for an adjustment).
    pub fee: String,
    /// Memo.
    pub memo: String,
    /// Debit line, then credit line.
    pub lines: Vec<JournalLine>,
}

/// Totals per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JournalTotal {
    /// Currency.
    pub currency: String,
    /// Σ debits.
    pub debit: Decimal,
    /// Σ credits.
    pub credit: Decimal,
}

/// The journal of one entity and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Journal {
    /// Legal entity.
    pub legal_entity: String,
    /// `YYYY-MM`.
    pub period: String,
    /// Entries.
    pub entries: Vec<JournalEntry>,
    /// Totals.
    pub totals: Vec<JournalTotal>,
}

fn money(d: Decimal, scale: u32) -> Decimal {
    crate::money::round(d, scale, crate::money::Rounding::HalfUp)
}

impl Engine {
    /// The journal of `le` for the closed period `period` (06 §11).
    pub fn revenue_journal(&self, le: &str, period: &str) -> Result<Journal> {
        let record = format!("legal entity {le}");
        let p = parse_period(period).ok_or_else(|| {
            EngineError::refused(
                Code::InvalidRecord,
                &record,
                "period",
                format!("`{period}` is not YYYY-MM"),
            )
        })?;
        let current = month_index(self.revenue_period(le)?.current);
        if p >= current {
            return Err(EngineError::refused(
                Code::PeriodOpen,
                &record,
                "period",
                format!(
                    "{period} is not closed (open period {})",
                    period_name(current)
                ),
            ));
        }
        let settings = RevenueSettings::of(&self.rules);
        let date = month_end(p);
        let mut entries = Vec::new();
        let mut totals: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        let mut push = |agreement: &str,
                        name: &str,
                        fee: &str,
                        amount: Decimal,
                        currency: &str,
                        revenue: &str,
                        deferred: &str| {
            let scale = minor_units(currency).unwrap_or(2);
            let a = money(amount.abs(), scale);
            let (dr, cr) = if amount > Decimal::ZERO {
                (deferred, revenue)
            } else {
                (revenue, deferred)
            };
            let verb = if amount > Decimal::ZERO {
                "Recognize"
            } else {
                "Reverse"
            };
            let t = totals.entry(currency.to_string()).or_default();
            t.0 += a;
            t.1 += a;
            let n = entries.len() + 1;
            entries.push(JournalEntry {
                entry: format!("E-{period}-{n:06}"),
                date: date.to_string(),
                agreement: agreement.to_string(),
                fee: fee.to_string(),
                memo: format!(
                    "{verb} {a} {currency} revenue for agreement \"{name}\" for period ending {date}"
                ),
                lines: vec![
                    JournalLine {
                        account: dr.to_string(),
                        debit: Some(a),
                        credit: None,
                        currency: currency.to_string(),
                    },
                    JournalLine {
                        account: cr.to_string(),
                        debit: None,
                        credit: Some(a),
                        currency: currency.to_string(),
                    },
                ],
            });
        };
        for ag in self.entity_agreements(le)? {
            let Some(s) = self
                .revenue_summaries(&ag.id)?
                .into_iter()
                .find(|s| s.period == period)
            else {
                continue;
            };
            let mut rows = s.rows.clone();
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            for (fee, amount) in rows {
                let f = ag.fees.iter().find(|f| f.fee_ref == fee);
                let (rev, def) = f
                    .map(|f| (f.revenue_account.clone(), f.deferred_account.clone()))
                    .unwrap_or_else(|| {
                        (
                            settings.gl_revenue_account.clone(),
                            settings.gl_deferred_account.clone(),
                        )
                    });
                push(&ag.id, &ag.name, &fee, amount, &ag.currency, &rev, &def);
            }
            for adj in ag
                .adjustments
                .iter()
                .filter(|a| a.period == period && !a.amount.is_zero())
            {
                push(
                    &ag.id,
                    &ag.name,
                    "",
                    adj.amount,
                    &ag.currency,
                    &settings.gl_revenue_account,
                    &settings.gl_deferred_account,
                );
            }
        }
        Ok(Journal {
            legal_entity: le.to_string(),
            period: period.to_string(),
            entries,
            totals: totals
                .into_iter()
                .map(|(currency, (debit, credit))| JournalTotal {
                    currency,
                    debit,
                    credit,
                })
                .collect(),
        })
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

impl Journal {
    /// CSV: `entry,date,legal_entity,agreement,fee,account,debit,credit,currency,memo`, one
    /// record per journal line.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "entry,date,legal_entity,agreement,fee,account,debit,credit,currency,memo\r\n",
        );
        for e in &self.entries {
            for l in &e.lines {
                let cells = [
                    e.entry.clone(),
                    e.date.clone(),
                    self.legal_entity.clone(),
                    e.agreement.clone(),
                    e.fee.clone(),
                    l.account.clone(),
                    l.debit.map(|d| d.to_string()).unwrap_or_default(),
                    l.credit.map(|d| d.to_string()).unwrap_or_default(),
                    l.currency.clone(),
                    e.memo.clone(),
                ];
                let row: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
                out.push_str(&row.join(","));
                out.push_str("\r\n");
            }
        }
        out
    }

    /// JSON: `{legal_entity, period, entries: [{entry, date, agreement, fee, memo, lines}], totals}`,
    /// money as decimal text.
    pub fn to_json(&self) -> serde_json::Value {
        let m = |d: Option<Decimal>| match d {
            Some(d) => serde_json::Value::String(d.to_string()),
            None => serde_json::Value::Null,
        };
        serde_json::json!({
            "legal_entity": self.legal_entity,
            "period": self.period,
            "entries": self.entries.iter().map(|e| serde_json::json!({
                "entry": e.entry,
                "date": e.date,
                "agreement": e.agreement,
                "fee": e.fee,
                "memo": e.memo,
                "lines": e.lines.iter().map(|l| serde_json::json!({
                    "account": l.account,
                    "debit": m(l.debit),
                    "credit": m(l.credit),
                    "currency": l.currency,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "totals": self.totals.iter().map(|t| serde_json::json!({
                "currency": t.currency,
                "debit": t.debit.to_string(),
                "credit": t.credit.to_string(),
            })).collect::<Vec<_>>(),
        })
    }
}

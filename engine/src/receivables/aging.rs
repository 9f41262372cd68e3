//! A/R aging (05 §5) and DSO (05 §6), as of a date, from the ledger alone: an invoice's balance
//! as of D is Σ of its receivable postings effective on or before D; a source's unapplied amount
//! as of D is Σ of its customer-credit postings (credits − debits).

use crate::billing::ar::{ArTransaction, Side};
use crate::billing::records::{DocStatus, DocType, Document};
use crate::engine::Engine;
use crate::error::{Code, EngineError, Result};
use crate::money::{round, Rounding};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One bucket: up to `to` days (the last has none).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bucket {
    /// Column label.
    pub label: String,
    /// Last day count of the bucket.
    #[serde(default)]
    pub to: Option<i64>,
}

/// An `aging_buckets` row (05 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgingBuckets {
    /// Name.
    pub name: String,
    /// The default set.
    #[serde(default)]
    pub default: bool,
    /// `due_date` (default) or `invoice_date`.
    #[serde(default)]
    pub basis: Option<String>,
    /// Buckets in increasing `to` order.
    pub buckets: Vec<Bucket>,
}

impl AgingBuckets {
    /// 05 §5's default: current (≤ 0), 1-30, 31-60, 61-90, 91-120, 120+, basis due date.
    pub fn builtin() -> Self {
        let b = |label: &str, to: Option<i64>| Bucket {
            label: label.into(),
            to,
        };
        AgingBuckets {
            name: "default".into(),
            default: true,
            basis: None,
            buckets: vec![
                b("current", Some(0)),
                b("1-30", Some(30)),
                b("31-60", Some(60)),
                b("61-90", Some(90)),
                b("91-120", Some(120)),
                b("120+", None),
            ],
        }
    }

    /// `bad_aging_buckets` problems: (field, message). `to` strictly increasing; only the last
    /// bucket has no `to`; at least one bucket.
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if self.buckets.is_empty() {
            out.push(("buckets".into(), "at least one bucket is needed".into()));
        }
        let last = self.buckets.len().saturating_sub(1);
        let mut prev: Option<i64> = None;
        for (i, b) in self.buckets.iter().enumerate() {
            match (b.to, i == last) {
                (None, false) => out.push((
                    format!("buckets[{i}].to"),
                    "only the last bucket may be open-ended".into(),
                )),
                (Some(_), true) => out.push((
                    format!("buckets[{i}].to"),
                    "the last bucket has no `to` (it takes every older day count)".into(),
                )),
                _ => {}
            }
            if let (Some(p), Some(t)) = (prev, b.to) {
                if t <= p {
                    out.push((
                        format!("buckets[{i}].to"),
                        format!("{t} does not exceed the previous bucket's {p}"),
                    ));
                }
            }
            prev = b.to.or(prev);
        }
        out
    }

    /// The bucket index of a day count.
    fn index(&self, days: i64) -> usize {
        self.buckets
            .iter()
            .position(|b| b.to.is_none_or(|to| days <= to))
            .unwrap_or(self.buckets.len().saturating_sub(1))
    }
}

/// One account's aging row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgingRow {
    /// Account id; `None` on the totals row.
    pub account: Option<String>,
    /// Per bucket, in the set's order.
    pub buckets: Vec<Decimal>,
    /// − Σ unapplied payments and memos.
    pub unapplied: Decimal,
    /// Σ buckets + unapplied.
    pub total: Decimal,
    /// `--detail`: the invoice of this row (days, balance in its bucket).
    pub invoice: Option<String>,
    /// `--detail`: its day count.
    pub days: Option<i64>,
}

/// An aging report (05 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Aging {
    /// As of.
    pub as_of: NaiveDate,
    /// Currency.
    pub currency: String,
    /// Bucket labels.
    pub labels: Vec<String>,
    /// Rows by account id (detail rows after their account), then the totals row.
    pub rows: Vec<AgingRow>,
}

fn signed(side: Side, amount: Decimal) -> Decimal {
    match side {
        Side::Debit => amount,
        Side::Credit => -amount,
    }
}

/// Per reference: Σ receivable postings and Σ customer-credit postings (credits positive), over
/// transactions effective on or before `as_of`.
fn balances_as_of(
    txns: &[ArTransaction],
    as_of: NaiveDate,
) -> (BTreeMap<String, Decimal>, BTreeMap<String, Decimal>) {
    let mut receivable = BTreeMap::new();
    let mut credit = BTreeMap::new();
    for t in txns.iter().filter(|t| t.effective_on <= as_of) {
        for p in &t.postings {
            match p.ledger_account.as_str() {
                "receivable" => {
                    *receivable.entry(p.reference.clone()).or_default() += signed(p.side, p.amount)
                }
                "customer_credit" => {
                    *credit.entry(p.reference.clone()).or_default() -= signed(p.side, p.amount)
                }
                _ => {}
            }
        }
    }
    (receivable, credit)
}

impl Engine {
    /// 05 §5 invoice `days_outstanding` as of `as_of`: open → max(0, D − due_date); settled →
    /// max(0, settled_on − due_date), `settled_on` the effective date of the transaction that made
    /// the balance 0. `None` for drafts, cancelled invoices and invoices without a due date.
    pub fn days_outstanding(&self, doc: &Document, as_of: NaiveDate) -> Result<Option<i64>> {
        if doc.doc_type != DocType::Invoice || doc.status != DocStatus::Approved {
            return Ok(None);
        }
        let Some(due) = doc.due_date else {
            return Ok(None);
        };
        let r = doc.reference();
        let mut moves: Vec<(NaiveDate, String, Decimal)> = Vec::new();
        for t in self.ar_transactions(&doc.account)? {
            if t.effective_on > as_of {
                continue;
            }
            for p in t
                .postings
                .iter()
                .filter(|p| p.ledger_account == "receivable" && p.reference == r)
            {
                moves.push((t.effective_on, t.number.clone(), signed(p.side, p.amount)));
            }
        }
        moves.sort();
        let mut balance = Decimal::ZERO;
        let mut settled_on = None;
        for (d, _, m) in moves {
            balance += m;
            settled_on = if balance.is_zero() { Some(d) } else { None };
        }
        let until = if balance.is_zero() {
            settled_on.unwrap_or(as_of)
        } else {
            as_of
        };
        Ok(Some((until - due).num_days().max(0)))
    }

    /// The aging bucket set: the named one, else the rules' default, else 05 §5's.
    pub fn aging_buckets(&self, name: Option<&str>) -> Result<AgingBuckets> {
        let sets: Vec<AgingBuckets> =
            crate::invoicing::model::document_rows(&self.rules, "aging_buckets")
                .map_err(EngineError::Rules)?;
        match name {
            Some(n) => sets.into_iter().find(|s| s.name == n).ok_or_else(|| {
                EngineError::refused(
                    Code::BadAgingBuckets,
                    "aging",
                    "buckets",
                    format!("no aging_buckets `{n}`"),
                )
            }),
            None => Ok(sets
                .into_iter()
                .find(|s| s.default)
                .unwrap_or_else(AgingBuckets::builtin)),
        }
    }

    /// 05 §5 aging as of `as_of` in one currency over the accounts (all when empty), rows by
    /// account id; `detail` adds one row per open invoice after its account's row.
    pub fn aging(
        &self,
        accounts: &[String],
        currency: &str,
        as_of: NaiveDate,
        set: &AgingBuckets,
        detail: bool,
    ) -> Result<Aging> {
        let basis_invoice = set.basis.as_deref() == Some("invoice_date");
        let n = set.buckets.len();
        let mut rows = Vec::new();
        let mut totals = vec![Decimal::ZERO; n];
        let mut total_unapplied = Decimal::ZERO;
        for account in accounts {
            let txns = self.ar_transactions(account)?;
            let (receivable, credit) = balances_as_of(&txns, as_of);
            let mut buckets = vec![Decimal::ZERO; n];
            let mut details = Vec::new();
            for d in self.documents(DocType::Invoice, account)? {
                if d.status == DocStatus::Draft || d.currency != currency {
                    continue;
                }
                let bal = receivable.get(&d.reference()).copied().unwrap_or_default();
                if bal <= Decimal::ZERO {
                    continue;
                }
                let from = if basis_invoice {
                    d.invoice_date
                } else {
                    d.due_date.unwrap_or(d.invoice_date)
                };
                let days = (as_of - from).num_days();
                let i = set.index(days);
                buckets[i] += bal;
                if detail {
                    let mut b = vec![Decimal::ZERO; n];
                    b[i] = bal;
                    details.push(AgingRow {
                        account: Some(account.clone()),
                        buckets: b,
                        unapplied: Decimal::ZERO,
                        total: bal,
                        invoice: Some(d.reference()),
                        days: Some(days),
                    });
                }
            }
            let memos = self.documents(DocType::CreditMemo, account)?;
            let payments = self.payments(account)?;
            let sources: Vec<String> = memos
                .iter()
                .filter(|m| m.currency == currency)
                .map(Document::reference)
                .chain(
                    payments
                        .iter()
                        .filter(|p| p.currency == currency)
                        .map(|p| p.reference()),
                )
                .collect();
            let unapplied: Decimal = sources
                .iter()
                .map(|r| credit.get(r).copied().unwrap_or_default())
                .sum();
            if buckets.iter().all(|b| b.is_zero()) && unapplied.is_zero() {
                continue;
            }
            for (t, b) in totals.iter_mut().zip(&buckets) {
                *t += *b;
            }
            total_unapplied -= unapplied;
            let total = buckets.iter().copied().sum::<Decimal>() - unapplied;
            rows.push(AgingRow {
                account: Some(account.clone()),
                buckets,
                // Shown negative (05 §5); a zero stays 0, never −0.
                unapplied: if unapplied.is_zero() {
                    Decimal::ZERO
                } else {
                    -unapplied
                },
                total,
                invoice: None,
                days: None,
            });
            rows.extend(details);
        }
        let total = totals.iter().copied().sum::<Decimal>() + total_unapplied;
        rows.push(AgingRow {
            account: None,
            buckets: totals,
            unapplied: total_unapplied,
            total,
            invoice: None,
            days: None,
        });
        Ok(Aging {
            as_of,
            currency: currency.to_string(),
            labels: set.buckets.iter().map(|b| b.label.clone()).collect(),
            rows,
        })
    }

    /// 05 §6 DSO over [from, to] in one currency: `standard` or `countback`, 2 decimals half up;
    /// `None` when credit sales ≤ 0.
    pub fn dso(
        &self,
        accounts: &[String],
        currency: &str,
        from: NaiveDate,
        to: NaiveDate,
        countback: bool,
    ) -> Result<Option<Decimal>> {
        if from > to {
            return Err(EngineError::refused(
                Code::BadPeriod,
                "dso",
                "to",
                format!("{to} is before {from}"),
            ));
        }
        // Credit sales per calendar month of the period; ending A/R as of `to`.
        let mut sales: BTreeMap<(i32, u32), Decimal> = BTreeMap::new();
        let mut ending = Decimal::ZERO;
        for account in accounts {
            let (receivable, _) = balances_as_of(&self.ar_transactions(account)?, to);
            for t in [DocType::Invoice, DocType::CreditMemo] {
                for d in self.documents(t, account)? {
                    if d.currency != currency || d.number.is_none() {
                        continue;
                    }
                    // A document once approved counts; a cancelled one no longer does.
                    if d.status != DocStatus::Approved {
                        continue;
                    }
                    if d.invoice_date >= from && d.invoice_date <= to {
                        let sign = if t == DocType::Invoice {
                            Decimal::ONE
                        } else {
                            Decimal::NEGATIVE_ONE
                        };
                        *sales
                            .entry((d.invoice_date.year(), d.invoice_date.month()))
                            .or_default() += sign * d.total;
                    }
                    if t == DocType::Invoice {
                        ending += receivable.get(&d.reference()).copied().unwrap_or_default();
                    }
                }
            }
        }
        let credit_sales: Decimal = sales.values().copied().sum();
        if credit_sales <= Decimal::ZERO {
            return Ok(None);
        }
        let days = Decimal::from((to - from).num_days() + 1);
        let dso = if !countback {
            ending / credit_sales * days
        } else {
            let mut remaining = ending;
            let mut dso = Decimal::ZERO;
            // Months of the period, latest first, clipped to it.
            let mut months = Vec::new();
            let mut m = (to.year(), to.month());
            loop {
                let first = NaiveDate::from_ymd_opt(m.0, m.1, 1)
                    .unwrap_or(from)
                    .max(from);
                let next = if m.1 == 12 {
                    (m.0 + 1, 1)
                } else {
                    (m.0, m.1 + 1)
                };
                let last = NaiveDate::from_ymd_opt(next.0, next.1, 1)
                    .and_then(|d| d.pred_opt())
                    .unwrap_or(to)
                    .min(to);
                months.push((m, Decimal::from((last - first).num_days() + 1)));
                if first <= from {
                    break;
                }
                m = if m.1 == 1 {
                    (m.0 - 1, 12)
                } else {
                    (m.0, m.1 - 1)
                };
            }
            for (m, d) in months {
                let s = sales.get(&m).copied().unwrap_or_default();
                if s <= Decimal::ZERO || remaining >= s {
                    dso += d;
                    remaining -= s.max(Decimal::ZERO);
                } else {
                    dso += d * remaining / s;
                    break;
                }
            }
            dso
        };
        Ok(Some(round(dso, 2, Rounding::HalfUp)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::RuleLoader;

    #[test]
    fn default_buckets_follow_5() {
        let d = AgingBuckets::builtin();
        assert!(d.check().is_empty());
        let label = |days| d.buckets[d.index(days)].label.as_str();
        assert_eq!(
            [-5, 0, 1, 30, 31, 60, 61, 90, 91, 120, 121, 9999].map(label),
            [
                "current", "current", "1-30", "1-30", "31-60", "31-60", "61-90", "61-90", "91-120",
                "91-120", "120+", "120+"
            ]
        );
    }

    #[test]
    fn bad_sets_are_refused_at_the_key() {
        let mut l = RuleLoader::new();
        l.add_text(
            "aging.yaml",
            "aging_buckets:\n  - name: a\n    buckets:\n      - {label: x, to: 30}\n      - {label: y, to: 30}\n      - {label: z}\n  - name: b\n    buckets:\n      - {label: x}\n      - {label: y, to: 5}\n",
        );
        let errs = l.finish().expect_err("bad sets");
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert!(
            text.iter().any(|e| e.contains("aging.yaml:5:")
                && e.contains("bad_aging_buckets")
                && e.contains("aging_buckets[0].buckets[1].to")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.contains("bad_aging_buckets")
                    && e.contains("aging_buckets[1].buckets[0].to")),
            "{text:#?}"
        );
        assert!(
            text.iter()
                .any(|e| e.contains("bad_aging_buckets")
                    && e.contains("aging_buckets[1].buckets[1].to")),
            "{text:#?}"
        );
    }
}

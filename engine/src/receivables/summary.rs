//! The account billing summary as of a date (05 §7), computed on demand: balances from the
//! ledger, billed and unbilled amounts from the schedules, annual recurring billing from the
//! recurring lines active on the date.

use crate::billing::records::{DocStatus, DocType};
use crate::engine::{key, Asset, Engine, Schedule, ScheduleStatus, ScheduleType};
use crate::error::Result;
use crate::model::PriceType;
use crate::money::{minor_units, round};
use crate::schedule::Price;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::HashMap;

/// 05 §7.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    /// Account.
    pub account: String,
    /// As of.
    pub as_of: NaiveDate,
    /// Σ balances of approved invoices (as of the date).
    pub invoice_balance: Decimal,
    /// Σ unapplied payments and credit memos (as of the date).
    pub unapplied_credit: Decimal,
    /// Σ balances with `due_date < as_of`.
    pub overdue_amount: Decimal,
    /// Σ contracted schedules pending billing, pending invoiced or pending milestone.
    pub unbilled_amount: Decimal,
    /// Σ contracted schedules invoiced (credits included).
    pub billed_amount: Decimal,
    /// Σ round(R × 12 / N) over recurring lines active on the date.
    pub annual_recurring_billing: Decimal,
    /// max(as_of, earliest ready of pending_billing contracted schedules).
    pub next_invoice_date: Option<NaiveDate>,
    /// The last run's process-through date for the account (04 §2.4).
    pub last_invoice_through: Option<NaiveDate>,
    /// The latest approved invoice's date.
    pub last_invoice_date: Option<NaiveDate>,
}

impl Engine {
    /// 05 §7 for one account as of `as_of`.
    pub fn account_summary(&self, account: &str, as_of: NaiveDate) -> Result<AccountSummary> {
        let acct = self.known_account(account, "summary")?;
        let scale = minor_units(&acct.currency).unwrap_or(2);
        let rounding = self.rounding_of(account)?;
        // Balances as of the date, from the ledger.
        let mut receivable: HashMap<String, Decimal> = HashMap::new();
        let mut credit: HashMap<String, Decimal> = HashMap::new();
        for t in self
            .ar_transactions(account)?
            .into_iter()
            .filter(|t| t.effective_on <= as_of)
        {
            for p in &t.postings {
                let signed = match p.side {
                    crate::billing::ar::Side::Debit => p.amount,
                    crate::billing::ar::Side::Credit => -p.amount,
                };
                match p.ledger_account.as_str() {
                    "receivable" => *receivable.entry(p.reference.clone()).or_default() += signed,
                    "customer_credit" => *credit.entry(p.reference.clone()).or_default() -= signed,
                    _ => {}
                }
            }
        }
        let mut invoice_balance = Decimal::ZERO;
        let mut overdue = Decimal::ZERO;
        let mut last_invoice_date: Option<NaiveDate> = None;
        for d in self.documents(DocType::Invoice, account)? {
            if d.status != DocStatus::Approved {
                continue;
            }
            if d.approved_on.is_none_or(|a| a <= as_of) {
                last_invoice_date = last_invoice_date.max(Some(d.invoice_date));
            }
            let bal = receivable.get(&d.reference()).copied().unwrap_or_default();
            invoice_balance += bal;
            if d.due_date.is_some_and(|due| due < as_of) {
                overdue += bal;
            }
        }
        let unapplied_credit: Decimal = credit.values().copied().sum();
        // Schedules and lines.
        let mut unbilled = Decimal::ZERO;
        let mut billed = Decimal::ZERO;
        let mut next: Option<NaiveDate> = None;
        let mut arr = Decimal::ZERO;
        let mut assets: HashMap<String, Option<Asset>> = HashMap::new();
        let mut counted_lines: Vec<String> = Vec::new();
        for (k, v) in self.store.scan(&key(&["sched", ""]))? {
            let s: Schedule = crate::engine::decode(&k, &v)?;
            if s.schedule_type != ScheduleType::Contracted {
                continue;
            }
            if !assets.contains_key(&s.line) {
                assets.insert(s.line.clone(), self.asset(&s.line)?);
            }
            let Some(asset) = assets.get(&s.line).and_then(Option::as_ref) else {
                continue;
            };
            if asset.account != account {
                continue;
            }
            match s.status {
                ScheduleStatus::PendingBilling => {
                    unbilled += s.amount;
                    next = next.min(Some(s.ready)).or(Some(s.ready));
                }
                ScheduleStatus::PendingInvoiced | ScheduleStatus::PendingMilestone => {
                    unbilled += s.amount
                }
                ScheduleStatus::Invoiced => billed += s.amount,
                ScheduleStatus::Superseded | ScheduleStatus::Cancelled => {}
            }
            // ARR: each recurring line active on the date once, by its full-period rate.
            let active = asset.terms.start <= as_of && asset.terms.end.is_none_or(|e| as_of <= e);
            let recurring = self
                .rules
                .products
                .get(&asset.product)
                .is_some_and(|p| p.price_type == PriceType::Recurring);
            if active
                && recurring
                && s.start <= as_of
                && as_of <= s.end
                && !counted_lines.contains(&s.line)
            {
                counted_lines.push(s.line.clone());
                let rate = match asset.price {
                    Price::Rate(r) => r,
                    Price::Total(net) => {
                        let p = crate::schedule::measure(&asset.terms).unwrap_or_default();
                        if p.is_zero() {
                            Decimal::ZERO
                        } else {
                            net / p
                        }
                    }
                };
                let months = Decimal::from(asset.terms.months.max(1));
                arr += round(rate * Decimal::from(12) / months, scale, rounding);
            }
        }
        let ab = crate::billing::run::account_billing(self.store.as_ref(), account)?;
        Ok(AccountSummary {
            account: account.to_string(),
            as_of,
            invoice_balance,
            unapplied_credit,
            overdue_amount: overdue,
            unbilled_amount: unbilled,
            billed_amount: billed,
            annual_recurring_billing: arr,
            next_invoice_date: next.map(|n| n.max(as_of)),
            last_invoice_through: ab.last_invoice_through,
            last_invoice_date,
        })
    }
}

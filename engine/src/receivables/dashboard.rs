//! The billing dashboard and billing metrics (05 §8) and the grouped billing reports of 05 §9
//! (`invoiced_by`, `pending_billing_by`, `tax_by_account`, `tax_by_country_region`,
//! `activated_vs_unactivated_assets`), computed on demand from the documents, the schedules and
//! the ledger, per currency.

use crate::billing::ar::{ArTransaction, Side};
use crate::billing::records::{DocStatus, DocType, Document};
use crate::engine::{key, Asset, Engine, Schedule, ScheduleStatus, ScheduleType, StoredOrder};
use crate::error::{Code, EngineError, Result};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;
use std::collections::BTreeMap;

/// One ranked entry: a key (account id or invoice ref) and its amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ranked {
    /// Account id or invoice ref.
    pub key: String,
    /// Its amount.
    pub amount: Decimal,
}

/// A count and an amount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// How many.
    pub count: u64,
    /// Σ amount.
    pub amount: Decimal,
}

impl Tally {
    fn add(&mut self, amount: Decimal) {
        self.count += 1;
        self.amount += amount;
    }
}

/// 05 §8, as of a date over a period, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Dashboard {
    /// First day of the period.
    pub from: NaiveDate,
    /// As of (last day of the period).
    pub as_of: NaiveDate,
    /// Currency.
    pub currency: String,
    /// 10 accounts by Σ approved invoice totals dated in the period.
    pub top_invoiced_accounts: Vec<Ranked>,
    /// Contracted schedules per status.
    pub schedule_status: BTreeMap<String, Tally>,
    /// 10 invoices by balance.
    pub top_outstanding_invoices: Vec<Ranked>,
    /// 10 accounts by unbilled amount.
    pub top_pending_billing_accounts: Vec<Ranked>,
    /// Approved invoices with balance 0.
    pub paid: Tally,
    /// Approved invoices with balance > 0.
    pub unpaid: Tally,
    /// Approved invoices dated in the period.
    pub approved: Tally,
    /// Draft invoices dated in the period.
    pub draft: Tally,
    /// 10 accounts by invoice balance.
    pub top_outstanding_accounts: Vec<Ranked>,
    /// Standard DSO over the period.
    pub dso: Option<Decimal>,
}

/// One calendar month of 05 §8's billing metrics.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MonthMetrics {
    /// `YYYY-MM`.
    pub month: String,
    /// Σ approved invoice totals dated in the month (late-fee invoices excluded).
    pub invoiced: Decimal,
    /// Σ approved credit memo totals dated in the month.
    pub credited: Decimal,
    /// `invoiced + late_fees − credited`.
    pub net_sales: Decimal,
    /// Payments effective in the month.
    pub collected: Decimal,
    /// Refunds effective in the month.
    pub refunded: Decimal,
    /// Write-offs effective in the month.
    pub written_off: Decimal,
    /// Σ approved late-fee invoice totals dated in the month.
    pub late_fees: Decimal,
    /// Wallet fundings effective in the month.
    pub wallet_funded: Decimal,
    /// Wallet drawdowns effective in the month.
    pub wallet_drawn: Decimal,
    /// Σ invoice balances at month end (or the period end).
    pub ending_ar: Decimal,
    /// Σ unapplied payments and memos at month end.
    pub unapplied: Decimal,
    /// Standard DSO over the month (clipped to the period).
    pub dso: Option<Decimal>,
}

/// One row of a grouped report: the group key, a count and an amount.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    /// Account, location, country, product or price type (for tax by region: `country/state`).
    pub key: String,
    /// Documents, lines or schedules counted.
    pub count: u64,
    /// Σ amount.
    pub amount: Decimal,
}

fn signed(side: Side, amount: Decimal) -> Decimal {
    match side {
        Side::Debit => amount,
        Side::Credit => -amount,
    }
}

/// Top 10 by amount (larger first), ties by key.
fn top10(map: BTreeMap<String, Decimal>) -> Vec<Ranked> {
    let mut v: Vec<Ranked> = map
        .into_iter()
        .filter(|(_, a)| *a > Decimal::ZERO)
        .map(|(key, amount)| Ranked { key, amount })
        .collect();
    v.sort_by(|a, b| b.amount.cmp(&a.amount).then_with(|| a.key.cmp(&b.key)));
    v.truncate(10);
    v
}

/// Everything of one currency the reports read, gathered once.
struct Book {
    accounts: Vec<String>,
    invoices: Vec<Document>,
    memos: Vec<Document>,
    txns: Vec<ArTransaction>,
}

impl Book {
    /// Per reference: receivable balance and customer credit (credits positive) as of `d`.
    fn as_of(&self, d: NaiveDate) -> (BTreeMap<&str, Decimal>, BTreeMap<&str, Decimal>) {
        let mut receivable: BTreeMap<&str, Decimal> = BTreeMap::new();
        let mut credit: BTreeMap<&str, Decimal> = BTreeMap::new();
        for t in self.txns.iter().filter(|t| t.effective_on <= d) {
            for p in &t.postings {
                match p.ledger_account.as_str() {
                    "receivable" => {
                        *receivable.entry(p.reference.as_str()).or_default() +=
                            signed(p.side, p.amount)
                    }
                    "customer_credit" => {
                        *credit.entry(p.reference.as_str()).or_default() -= signed(p.side, p.amount)
                    }
                    _ => {}
                }
            }
        }
        (receivable, credit)
    }
}

fn month_end(d: NaiveDate) -> NaiveDate {
    let m = crate::dates::month_index(d);
    crate::dates::clamped(m, 31).unwrap_or(d)
}

fn bad_period(from: NaiveDate, to: NaiveDate) -> Result<()> {
    if to < from {
        return Err(EngineError::refused(
            Code::BadPeriod,
            "report",
            "to",
            format!("the period ends ({to}) before it starts ({from})"),
        ));
    }
    Ok(())
}

impl Engine {
    fn book(&self, accounts: &[String], currency: &str) -> Result<Book> {
        let mut book = Book {
            accounts: accounts.to_vec(),
            invoices: Vec::new(),
            memos: Vec::new(),
            txns: Vec::new(),
        };
        for a in accounts {
            book.invoices.extend(
                self.documents(DocType::Invoice, a)?
                    .into_iter()
                    .filter(|d| d.currency == currency),
            );
            book.memos.extend(
                self.documents(DocType::CreditMemo, a)?
                    .into_iter()
                    .filter(|d| d.currency == currency),
            );
            book.txns.extend(
                self.ar_transactions(a)?
                    .into_iter()
                    .filter(|t| t.currency == currency),
            );
        }
        Ok(book)
    }

    /// Contracted schedules with their asset, for the accounts given, every status.
    fn contracted(&self, accounts: &[String]) -> Result<Vec<(Schedule, Asset)>> {
        let mut assets: BTreeMap<String, Option<Asset>> = BTreeMap::new();
        let mut out = Vec::new();
        for (k, v) in self.store.scan(&key(&["sched", ""]))? {
            let s: Schedule = crate::engine::decode(&k, &v)?;
            if s.schedule_type != ScheduleType::Contracted {
                continue;
            }
            if !assets.contains_key(&s.line) {
                assets.insert(s.line.clone(), self.asset(&s.line)?);
            }
            if let Some(a) = assets.get(&s.line).and_then(Option::as_ref) {
                if accounts.contains(&a.account) {
                    out.push((s, a.clone()));
                }
            }
        }
        Ok(out)
    }

    /// 05 §8 the billing dashboard over [from, as_of] (default from: 1 January of as_of's year).
    pub fn billing_dashboard(
        &self,
        accounts: &[String],
        currency: &str,
        from: Option<NaiveDate>,
        as_of: NaiveDate,
    ) -> Result<Dashboard> {
        let from =
            from.unwrap_or_else(|| NaiveDate::from_ymd_opt(as_of.year(), 1, 1).unwrap_or(as_of));
        bad_period(from, as_of)?;
        let book = self.book(accounts, currency)?;
        let (receivable, _) = book.as_of(as_of);
        let mut invoiced: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut outstanding_invoices: BTreeMap<String, Decimal> = BTreeMap::new();
        let mut outstanding_accounts: BTreeMap<String, Decimal> = BTreeMap::new();
        let (mut paid, mut unpaid, mut approved, mut draft) = Default::default();
        for d in &book.invoices {
            let in_period = from <= d.invoice_date && d.invoice_date <= as_of;
            match d.status {
                DocStatus::Approved if d.approved_on.is_none_or(|a| a <= as_of) => {
                    let r = d.reference();
                    let bal = receivable.get(r.as_str()).copied().unwrap_or_default();
                    if in_period {
                        *invoiced.entry(d.account.clone()).or_default() += d.total;
                        Tally::add(&mut approved, d.total);
                    }
                    if bal.is_zero() {
                        Tally::add(&mut paid, d.total);
                    } else {
                        Tally::add(&mut unpaid, d.total);
                        *outstanding_accounts.entry(d.account.clone()).or_default() += bal;
                        outstanding_invoices.insert(r, bal);
                    }
                }
                DocStatus::Draft if in_period => Tally::add(&mut draft, d.total),
                _ => {}
            }
        }
        let mut status: BTreeMap<String, Tally> = BTreeMap::new();
        let mut pending: BTreeMap<String, Decimal> = BTreeMap::new();
        for (s, a) in self.contracted(&book.accounts)? {
            if a.currency != currency {
                continue;
            }
            status
                .entry(status_word(s.status).to_string())
                .or_default()
                .add(s.amount);
            if matches!(
                s.status,
                ScheduleStatus::PendingBilling
                    | ScheduleStatus::PendingInvoiced
                    | ScheduleStatus::PendingMilestone
            ) {
                *pending.entry(a.account.clone()).or_default() += s.amount;
            }
        }
        Ok(Dashboard {
            from,
            as_of,
            currency: currency.to_string(),
            top_invoiced_accounts: top10(invoiced),
            schedule_status: status,
            top_outstanding_invoices: top10(outstanding_invoices),
            top_pending_billing_accounts: top10(pending),
            paid,
            unpaid,
            approved,
            draft,
            top_outstanding_accounts: top10(outstanding_accounts),
            dso: self.dso(accounts, currency, from, as_of, false)?,
        })
    }

    /// 05 §8 billing metrics: one row per calendar month of [from, to].
    pub fn billing_metrics(
        &self,
        accounts: &[String],
        currency: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<MonthMetrics>> {
        bad_period(from, to)?;
        let book = self.book(accounts, currency)?;
        let mut out = Vec::new();
        let mut start = from;
        while start <= to {
            let end = month_end(start).min(to);
            let within = |d: NaiveDate| start <= d && d <= end;
            let approved =
                |d: &&Document| d.status == DocStatus::Approved && within(d.invoice_date);
            let invoiced: Decimal = book
                .invoices
                .iter()
                .filter(approved)
                .filter(|d| d.kind != "late_fee")
                .map(|d| d.total)
                .sum();
            let late_fees: Decimal = book
                .invoices
                .iter()
                .filter(approved)
                .filter(|d| d.kind == "late_fee")
                .map(|d| d.total)
                .sum();
            let credited: Decimal = book.memos.iter().filter(approved).map(|d| d.total).sum();
            let flow = |kind: &str| -> Decimal {
                book.txns
                    .iter()
                    .filter(|t| t.kind == kind && within(t.effective_on))
                    .map(|t| t.amount)
                    .sum()
            };
            let (receivable, credit) = book.as_of(end);
            let ending_ar: Decimal = book
                .invoices
                .iter()
                .filter(|d| d.status == DocStatus::Approved)
                .map(|d| {
                    receivable
                        .get(d.reference().as_str())
                        .copied()
                        .unwrap_or_default()
                })
                .sum();
            out.push(MonthMetrics {
                month: format!("{:04}-{:02}", start.year(), start.month()),
                invoiced,
                credited,
                net_sales: invoiced + late_fees - credited,
                collected: flow("payment"),
                refunded: flow("refund"),
                written_off: flow("write_off"),
                late_fees,
                wallet_funded: flow("wallet_funding"),
                wallet_drawn: flow("wallet_drawdown"),
                ending_ar,
                unapplied: credit.values().copied().sum(),
                dso: self.dso(accounts, currency, start, end, false)?,
            });
            start = end + chrono::Duration::days(1);
        }
        Ok(out)
    }

    /// 05 §9 `invoiced_by --by account|location|country|product|price_type`: approved invoices
    /// dated in [from, to] (products and price types: their lines' totals).
    pub fn invoiced_by(
        &self,
        accounts: &[String],
        currency: &str,
        by: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Group>> {
        bad_period(from, to)?;
        let book = self.book(accounts, currency)?;
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        let mut add = |k: String, amount: Decimal| {
            let g = groups.entry(k.clone()).or_insert(Group {
                key: k,
                count: 0,
                amount: Decimal::ZERO,
            });
            g.count += 1;
            g.amount += amount;
        };
        for d in book.invoices.iter().filter(|d| {
            d.status == DocStatus::Approved && from <= d.invoice_date && d.invoice_date <= to
        }) {
            match by {
                "product" | "price_type" => {
                    for l in &d.lines {
                        let k = if by == "product" {
                            l.product.clone()
                        } else {
                            self.price_type_of(&l.product)
                        };
                        add(k, l.total);
                    }
                }
                _ => add(self.group_of(by, d)?, d.total),
            }
        }
        Ok(groups.into_values().collect())
    }

    /// 05 §9 `pending_billing_by`: contracted schedules pending billing, pending invoiced or
    /// pending milestone, grouped.
    pub fn pending_billing_by(
        &self,
        accounts: &[String],
        currency: &str,
        by: &str,
    ) -> Result<Vec<Group>> {
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for (s, a) in self.contracted(accounts)? {
            if a.currency != currency
                || !matches!(
                    s.status,
                    ScheduleStatus::PendingBilling
                        | ScheduleStatus::PendingInvoiced
                        | ScheduleStatus::PendingMilestone
                )
            {
                continue;
            }
            let k = match by {
                "account" => a.account.clone(),
                "product" => a.product.clone(),
                "price_type" => self.price_type_of(&a.product),
                other => {
                    let order = self
                        .get::<StoredOrder>(&key(&["order", &a.order]))?
                        .map(|o| o.order);
                    let location = order.as_ref().and_then(|o| o.location.clone());
                    let acct = self.account(&a.account)?;
                    let loc = acct
                        .as_ref()
                        .and_then(|x| {
                            location
                                .as_deref()
                                .and_then(|l| x.locations.iter().find(|y| y.id == l))
                                .or(x.locations.first())
                        })
                        .cloned();
                    match other {
                        "location" => loc.map(|l| l.id).unwrap_or_default(),
                        _ => loc
                            .and_then(|l| text_of(l.extra.get("country")))
                            .unwrap_or_default(),
                    }
                }
            };
            let g = groups.entry(k.clone()).or_insert(Group {
                key: k,
                count: 0,
                amount: Decimal::ZERO,
            });
            g.count += 1;
            g.amount += s.amount;
        }
        Ok(groups.into_values().collect())
    }

    /// 05 §9 `tax_by_account` (`region: false`) or `tax_by_country_region` (`country/state` of the
    /// document's location): tax of approved invoices less tax of approved memos dated in [from, to].
    pub fn tax_by(
        &self,
        accounts: &[String],
        currency: &str,
        region: bool,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<Group>> {
        bad_period(from, to)?;
        let book = self.book(accounts, currency)?;
        let mut groups: BTreeMap<String, Group> = BTreeMap::new();
        for (d, sign) in book
            .invoices
            .iter()
            .map(|d| (d, Decimal::ONE))
            .chain(book.memos.iter().map(|d| (d, Decimal::NEGATIVE_ONE)))
        {
            if d.status != DocStatus::Approved || d.invoice_date < from || d.invoice_date > to {
                continue;
            }
            let k = if region {
                let country = self.group_of("country", d)?;
                let state = self.location_field(d, "state")?.unwrap_or_default();
                format!("{country}/{state}")
            } else {
                d.account.clone()
            };
            let g = groups.entry(k.clone()).or_insert(Group {
                key: k,
                count: 0,
                amount: Decimal::ZERO,
            });
            g.count += 1;
            g.amount += sign * d.tax;
        }
        Ok(groups.into_values().collect())
    }

    /// 05 §9 `activated_vs_unactivated_assets`: order lines of activated orders vs of orders not
    /// activated, per account (count of lines; amount = Σ their contracted schedules, 0 when
    /// none exist yet).
    pub fn activated_vs_unactivated(
        &self,
        accounts: &[String],
    ) -> Result<Vec<(String, Tally, Tally)>> {
        let mut rows: BTreeMap<String, (Tally, Tally)> = BTreeMap::new();
        let mut amounts: BTreeMap<String, Decimal> = BTreeMap::new();
        for (s, _) in self.contracted(accounts)? {
            if !matches!(
                s.status,
                ScheduleStatus::Superseded | ScheduleStatus::Cancelled
            ) {
                *amounts.entry(s.line.clone()).or_default() += s.amount;
            }
        }
        for (k, v) in self.store.scan(&key(&["order", ""]))? {
            let o: StoredOrder = crate::engine::decode(&k, &v)?;
            if !accounts.contains(&o.order.account) {
                continue;
            }
            let row = rows.entry(o.order.account.clone()).or_default();
            for l in &o.order.lines {
                let line = format!("{}/{}", o.order.id, l.id);
                let amount = amounts.get(&line).copied().unwrap_or_default();
                if o.activated_on.is_some() {
                    row.0.add(amount);
                } else {
                    row.1.add(amount);
                }
            }
        }
        Ok(rows.into_iter().map(|(a, (x, y))| (a, x, y)).collect())
    }

    fn price_type_of(&self, product: &str) -> String {
        self.rules
            .products
            .get(product)
            .map(|p| {
                serde_json::to_value(p.price_type)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .unwrap_or_default()
    }

    fn location_field(&self, d: &Document, field: &str) -> Result<Option<String>> {
        let acct = self.account(&d.account)?;
        Ok(acct.and_then(|a| {
            let loc = d
                .location
                .as_deref()
                .and_then(|l| a.locations.iter().find(|x| x.id == l))
                .or(a.locations.first())
                .cloned();
            loc.and_then(|l| text_of(l.extra.get(field)))
        }))
    }

    fn group_of(&self, by: &str, d: &Document) -> Result<String> {
        Ok(match by {
            "account" => d.account.clone(),
            "location" => d.location.clone().unwrap_or_default(),
            "country" => self.location_field(d, "country")?.unwrap_or_default(),
            other => {
                return Err(EngineError::refused(
                    Code::InvalidRecord,
                    "report",
                    "by",
                    format!("`{other}` is not account, location, country, product or price_type"),
                ))
            }
        })
    }
}

fn text_of(v: Option<&serde_yaml::Value>) -> Option<String> {
    v.and_then(|x| x.as_str()).map(str::to_string)
}

fn status_word(s: ScheduleStatus) -> &'static str {
    match s {
        ScheduleStatus::PendingBilling => "pending_billing",
        ScheduleStatus::PendingInvoiced => "pending_invoiced",
        ScheduleStatus::Invoiced => "invoiced",
        ScheduleStatus::PendingMilestone => "pending_milestone",
        ScheduleStatus::Superseded => "superseded",
        ScheduleStatus::Cancelled => "cancelled",
    }
}

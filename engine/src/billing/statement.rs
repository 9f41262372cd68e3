//! Account statements (04 §11.1): the opening balance as of `from − 1`, every A/R transaction
//! effective in [from, as_of] with the running balance, the closing balance, and the open invoices
//! with due date, days past due and balance — all read from the ledger alone (05 §1.5 "as of").
//! A statement is stored under its name `STMT-{account}-{as_of}`; the next one starts the day
//! after it.

use super::ar::{ArTransaction, Side};
use super::records::{DocStatus, DocType};
use crate::engine::{key, Engine};
use crate::error::{Code, EngineError, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One transaction line of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementLine {
    /// `AR-000001`.
    pub number: String,
    /// Transaction type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Effective date.
    pub effective_on: NaiveDate,
    /// The document it concerns (destination, else source).
    pub reference: Option<String>,
    /// Its effect on what the customer owes (+ owes more, − owes less).
    pub amount: Decimal,
    /// The running balance after it.
    pub balance: Decimal,
}

/// An open invoice on a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenInvoice {
    /// `invoice:ACME#1`.
    pub invoice: String,
    /// Its number.
    pub number: Option<String>,
    /// Invoice date.
    pub invoice_date: NaiveDate,
    /// Due date.
    pub due_date: Option<NaiveDate>,
    /// Days past due as of the statement date (0 when not yet due).
    pub days_past_due: i64,
    /// Balance as of the statement date.
    pub balance: Decimal,
}

/// A statement (04 §11.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    /// `STMT-{account}-{as_of}`.
    pub name: String,
    /// The account.
    pub account: String,
    /// Its currency.
    pub currency: String,
    /// First day covered.
    pub from: NaiveDate,
    /// Last day covered.
    pub as_of: NaiveDate,
    /// Balance as of `from − 1`.
    pub opening_balance: Decimal,
    /// Transactions effective in [from, as_of], in effective-date then number order.
    pub lines: Vec<StatementLine>,
    /// Balance as of `as_of`.
    pub closing_balance: Decimal,
    /// Approved invoices with a balance as of `as_of`, oldest due first.
    pub open_invoices: Vec<OpenInvoice>,
}

fn statement_key(account: &str, as_of: NaiveDate) -> Vec<u8> {
    key(&["stmt", account, &as_of.to_string()])
}

/// What a transaction does to what the customer owes: its receivable and customer-credit
/// postings, debits positive (05 §1.1: receivable is an asset, customer credit a liability).
fn effect(t: &ArTransaction) -> Decimal {
    t.postings
        .iter()
        .filter(|p| matches!(p.ledger_account.as_str(), "receivable" | "customer_credit"))
        .map(|p| match p.side {
            Side::Debit => p.amount,
            Side::Credit => -p.amount,
        })
        .sum()
}

impl Engine {
    /// Build and store the statement of `account` as of `as_of`. `from` defaults to the day
    /// after the account's previous statement, else its first transaction (else `as_of`).
    pub fn statement(
        &self,
        account: &str,
        as_of: NaiveDate,
        from: Option<NaiveDate>,
    ) -> Result<Statement> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let record = format!("statement of {account}");
        let acct = self.known_account(account, &record)?;
        let txns = self.ar_transactions(account)?;
        let from = match from {
            Some(f) => f,
            None => {
                let previous = self
                    .store
                    .scan(&key(&["stmt", account, ""]))?
                    .iter()
                    .map(|(k, v)| crate::engine::decode::<Statement>(k, v))
                    .collect::<Result<Vec<_>>>()?
                    .into_iter()
                    .filter(|s| s.as_of < as_of)
                    .map(|s| s.as_of)
                    .max();
                match previous {
                    Some(p) => p.succ_opt().unwrap_or(p),
                    None => txns
                        .iter()
                        .map(|t| t.effective_on)
                        .min()
                        .unwrap_or(as_of)
                        .min(as_of),
                }
            }
        };
        if from > as_of {
            return Err(EngineError::refused(
                Code::InvalidRecord,
                &record,
                "from",
                format!("{from} is after the statement date {as_of}"),
            ));
        }
        let mut ordered: Vec<&ArTransaction> =
            txns.iter().filter(|t| t.effective_on <= as_of).collect();
        ordered.sort_by(|a, b| (a.effective_on, &a.number).cmp(&(b.effective_on, &b.number)));
        let opening: Decimal = ordered
            .iter()
            .filter(|t| t.effective_on < from)
            .map(|t| effect(t))
            .sum();
        let mut running = opening;
        let mut lines = Vec::new();
        for t in ordered.iter().filter(|t| t.effective_on >= from) {
            let amount = effect(t);
            running += amount;
            lines.push(StatementLine {
                number: t.number.clone(),
                kind: t.kind.clone(),
                effective_on: t.effective_on,
                reference: t.destination.clone().or_else(|| t.source.clone()),
                amount,
                balance: running,
            });
        }
        // Invoice balances as of the date, from their receivable postings.
        let mut receivable: BTreeMap<&str, Decimal> = BTreeMap::new();
        for t in &ordered {
            for p in t
                .postings
                .iter()
                .filter(|p| p.ledger_account == "receivable")
            {
                *receivable.entry(p.reference.as_str()).or_default() += match p.side {
                    Side::Debit => p.amount,
                    Side::Credit => -p.amount,
                };
            }
        }
        let mut open = Vec::new();
        for d in self.documents(DocType::Invoice, account)? {
            let balance = receivable
                .get(d.reference().as_str())
                .copied()
                .unwrap_or_default();
            if d.status != DocStatus::Approved || balance <= Decimal::ZERO {
                continue;
            }
            open.push(OpenInvoice {
                invoice: d.reference(),
                number: d.number.clone(),
                invoice_date: d.invoice_date,
                due_date: d.due_date,
                days_past_due: d.due_date.map_or(0, |due| (as_of - due).num_days().max(0)),
                balance,
            });
        }
        open.sort_by(|a, b| {
            (a.due_date, a.invoice_date, &a.number).cmp(&(b.due_date, b.invoice_date, &b.number))
        });
        let st = Statement {
            name: format!("STMT-{account}-{as_of}"),
            account: account.to_string(),
            currency: acct.currency.clone(),
            from,
            as_of,
            opening_balance: opening,
            lines,
            closing_balance: running,
            open_invoices: open,
        };
        let mut b = crate::store::Batch::default();
        b.put(statement_key(account, as_of), crate::engine::encode(&st));
        self.store.commit(b)?;
        Ok(st)
    }

    /// A stored statement by name `STMT-{account}-{as_of}`.
    pub fn stored_statement(&self, name: &str) -> Result<Option<Statement>> {
        let Some(rest) = name.strip_prefix("STMT-") else {
            return Ok(None);
        };
        // The date is the last 10 characters; the account is what precedes it.
        if rest.len() < 12 {
            return Ok(None);
        }
        let (account, date) = rest.split_at(rest.len() - 10);
        let Some(account) = account.strip_suffix('-') else {
            return Ok(None);
        };
        let Some(as_of) = crate::dates::parse_date(date) else {
            return Ok(None);
        };
        self.get(&statement_key(account, as_of))
    }
}

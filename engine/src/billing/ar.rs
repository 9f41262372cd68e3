//! The A/R posting hooks of invoicing (04 §8, §9.2; the ledger itself is 05 §1): every approval,
//! approved cancellation and credit application posts one double-entry transaction, staged in
//! the same commit as the document change it records.
//!
//! Postings follow 05 §1.3: a negative component is posted on the opposite side, zero components
//! are omitted, and a transaction whose amount would be 0 is not created. Transactions are
//! numbered `AR-000001`… store-wide in creation order and never change.

use super::records::{DocType, Document};
use super::tx::Tx;
use crate::engine::{key, Engine};
use crate::error::Result;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Debit or credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// Debit.
    Debit,
    /// Credit.
    Credit,
}

/// One posting of a transaction (05 §1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posting {
    /// `receivable`, `billings`, `tax_payable`, `customer_credit`, `sales_credits`, …
    pub ledger_account: String,
    /// Debit or credit.
    pub side: Side,
    /// Positive amount.
    pub amount: Decimal,
    /// The document the posting names (`invoice:ACME#1`, `credit_memo:ACME#1`).
    pub reference: String,
}

/// An A/R transaction (05 §1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArTransaction {
    /// `AR-000001`…
    pub number: String,
    /// `invoice`, `late_fee`, `invoice_cancellation`, `credit_memo`,
    /// `credit_memo_cancellation`, `credit_application`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Customer account.
    pub account: String,
    /// ISO 4217.
    pub currency: String,
    /// Positive amount.
    pub amount: Decimal,
    /// The step's date.
    pub created_on: NaiveDate,
    /// Effective date (= `created_on` for invoicing's postings).
    pub effective_on: NaiveDate,
    /// Source document.
    pub source: Option<String>,
    /// Destination document.
    pub destination: Option<String>,
    /// The destination invoice's balance before.
    pub starting_balance: Option<Decimal>,
    /// The destination invoice's balance after.
    pub ending_balance: Option<Decimal>,
    /// ≥ 2 postings, debits = credits.
    pub postings: Vec<Posting>,
    /// The transaction this one reverses.
    pub reverses: Option<String>,
}

impl ArTransaction {
    /// Σ debits − Σ credits (0 for every stored transaction).
    pub fn imbalance(&self) -> Decimal {
        self.postings
            .iter()
            .map(|p| match p.side {
                Side::Debit => p.amount,
                Side::Credit => -p.amount,
            })
            .sum()
    }
}

fn seq_key() -> Vec<u8> {
    key(&["arseq"])
}

fn txn_key(seq: u64) -> Vec<u8> {
    let mut k = key(&["artx", ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn account_index_key(account: &str, seq: u64) -> Vec<u8> {
    let mut k = key(&["artxacct", account, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A transaction being built: postings with signs normalised.
pub(crate) struct Draft {
    kind: &'static str,
    postings: Vec<Posting>,
}

impl Draft {
    pub(crate) fn new(kind: &'static str) -> Self {
        Draft {
            kind,
            postings: Vec::new(),
        }
    }

    /// Post `amount` on `side`; a negative amount goes on the other side, zero is omitted.
    pub(crate) fn post(
        mut self,
        ledger: &str,
        side: Side,
        amount: Decimal,
        reference: &str,
    ) -> Self {
        if amount.is_zero() {
            return self;
        }
        let (side, amount) = if amount < Decimal::ZERO {
            (
                match side {
                    Side::Debit => Side::Credit,
                    Side::Credit => Side::Debit,
                },
                -amount,
            )
        } else {
            (side, amount)
        };
        self.postings.push(Posting {
            ledger_account: ledger.to_string(),
            side,
            amount,
            reference: reference.to_string(),
        });
        self
    }
}

/// What a posting names besides its postings.
pub(crate) struct Parties<'a> {
    /// The customer account.
    pub account: &'a str,
    /// Its currency.
    pub currency: &'a str,
    /// The transaction amount (> 0; 0 creates nothing).
    pub amount: Decimal,
    /// Created and effective on.
    pub on: NaiveDate,
    /// Effective date when it differs from `on`.
    pub effective_on: Option<NaiveDate>,
    /// Source document.
    pub source: Option<String>,
    /// Destination invoice.
    pub destination: Option<String>,
    /// The destination's balance before and after.
    pub balances: Option<(Decimal, Decimal)>,
    /// The transaction reversed.
    pub reverses: Option<String>,
}

impl<'a> Parties<'a> {
    /// A transaction of `amount` for `account` in `currency`, created and effective `on`.
    pub(crate) fn new(account: &'a str, currency: &'a str, amount: Decimal, on: NaiveDate) -> Self {
        Parties {
            account,
            currency,
            amount,
            on,
            effective_on: None,
            source: None,
            destination: None,
            balances: None,
            reverses: None,
        }
    }

    /// Its source document.
    pub(crate) fn source(mut self, r: &str) -> Self {
        self.source = Some(r.to_string());
        self
    }

    /// Its destination invoice, with that invoice's balance before and after.
    pub(crate) fn destination(mut self, r: &str, before: Decimal, after: Decimal) -> Self {
        self.destination = Some(r.to_string());
        self.balances = Some((before, after));
        self
    }

    /// Its destination wallet (no invoice balances).
    pub(crate) fn into_wallet(mut self, id: &str) -> Self {
        self.destination = Some(id.to_string());
        self
    }

    /// Effective on another date than it is created.
    pub(crate) fn effective(mut self, d: NaiveDate) -> Self {
        self.effective_on = Some(d);
        self
    }
}

/// Stage `draft` as the next transaction; `None` when its amount is 0.
pub(crate) fn stage(
    tx: &mut Tx<'_>,
    draft: Draft,
    p: Parties<'_>,
) -> Result<Option<ArTransaction>> {
    if p.amount.is_zero() || draft.postings.is_empty() {
        return Ok(None);
    }
    let effective_on = p.effective_on.unwrap_or(p.on);
    if let Some(open) = open_period_start(tx, p.account)? {
        if effective_on < open {
            return Err(crate::error::EngineError::refused(
                crate::error::Code::PeriodClosed,
                p.source.as_deref().or(p.destination.as_deref()).unwrap_or(p.account),
                "effective_on",
                format!(
                    "a {} effective {effective_on} falls in a closed accounting period (the open period starts {open})",
                    draft.kind
                ),
            ));
        }
    }
    let seq: u64 = tx.get::<u64>(&seq_key())?.unwrap_or(0) + 1;
    let t = ArTransaction {
        number: format!("AR-{seq:06}"),
        kind: draft.kind.to_string(),
        account: p.account.to_string(),
        currency: p.currency.to_string(),
        amount: p.amount.abs(),
        created_on: p.on,
        effective_on,
        source: p.source,
        destination: p.destination,
        starting_balance: p.balances.map(|b| b.0),
        ending_balance: p.balances.map(|b| b.1),
        postings: draft.postings,
        reverses: p.reverses,
    };
    debug_assert!(t.imbalance().is_zero(), "unbalanced {t:?}");
    tx.put(seq_key(), &seq);
    tx.put(txn_key(seq), &t);
    tx.put(account_index_key(&t.account, seq), &seq);
    Ok(Some(t))
}

/// 05 §1.5: the first day of the account's legal entity's open accounting period, when that
/// entity has closed periods (its stored period record, 06 §8); every earlier day is closed.
fn open_period_start(tx: &Tx<'_>, account: &str) -> Result<Option<NaiveDate>> {
    let Some(acct) = tx.get::<crate::model::Account>(&key(&["acct", account]))? else {
        return Ok(None);
    };
    let Some(le) = acct.legal_entity else {
        return Ok(None);
    };
    let period: Option<crate::revenue::model::RevenuePeriod> =
        tx.get(&crate::revenue::keys::period(&le))?;
    Ok(period.map(|p| {
        crate::dates::clamped(crate::dates::month_index(p.current), 1).unwrap_or(p.current)
    }))
}

impl Engine {
    /// 04 §8 approval: `invoice` (`late_fee` for late-fee invoices) — receivable total against
    /// income net and tax payable. For a credit memo: `credit_memo` — sales credits net and tax
    /// payable against customer credit.
    pub(crate) fn post_approval(
        &self,
        tx: &mut Tx<'_>,
        doc: &Document,
        on: NaiveDate,
    ) -> Result<()> {
        self.post_document(tx, doc, on, false)
    }

    /// The reversal of an approved document's approval posting (04 §8 `invoice_cancellation`,
    /// 04 §9.2 `credit_memo_cancellation`): the same postings on the other sides, `reverses`
    /// naming the original.
    pub(crate) fn post_cancellation(
        &self,
        tx: &mut Tx<'_>,
        doc: &Document,
        on: NaiveDate,
    ) -> Result<()> {
        self.post_document(tx, doc, on, true)
    }

    fn post_document(
        &self,
        tx: &mut Tx<'_>,
        doc: &Document,
        on: NaiveDate,
        reversal: bool,
    ) -> Result<()> {
        let r = doc.reference();
        let net = doc.total - doc.tax;
        let side = |s: Side| match (s, reversal) {
            (Side::Debit, true) => Side::Credit,
            (Side::Credit, true) => Side::Debit,
            (s, false) => s,
        };
        let income = if doc.kind == "late_fee" {
            "late_fee_income"
        } else {
            "billings"
        };
        let (kind, postings): (&'static str, [(&str, Side, Decimal); 3]) = match doc.doc_type {
            DocType::Invoice => (
                match (reversal, doc.kind == "late_fee") {
                    (true, _) => "invoice_cancellation",
                    (false, true) => "late_fee",
                    (false, false) => "invoice",
                },
                [
                    ("receivable", Side::Debit, doc.total),
                    (income, Side::Credit, net),
                    ("tax_payable", Side::Credit, doc.tax),
                ],
            ),
            DocType::CreditMemo => (
                if reversal {
                    "credit_memo_cancellation"
                } else {
                    "credit_memo"
                },
                [
                    ("sales_credits", Side::Debit, net),
                    ("tax_payable", Side::Debit, doc.tax),
                    ("customer_credit", Side::Credit, doc.total),
                ],
            ),
        };
        let draft = postings
            .into_iter()
            .fold(Draft::new(kind), |d, (ledger, s, amount)| {
                d.post(ledger, side(s), amount, &r)
            });
        let mut parties = Parties::new(&doc.account, &doc.currency, doc.total, on);
        match (doc.doc_type, reversal) {
            (DocType::Invoice, false) => {
                parties = parties.destination(&r, Decimal::ZERO, doc.total)
            }
            (DocType::Invoice, true) => {
                parties = parties
                    .source(&r)
                    .destination(&r, doc.balance, Decimal::ZERO)
            }
            (DocType::CreditMemo, _) => parties = parties.source(&r),
        }
        if reversal {
            parties.reverses = ar_in(tx, &doc.account)?
                .into_iter()
                .rev()
                .find(|t| {
                    matches!(t.kind.as_str(), "invoice" | "late_fee" | "credit_memo")
                        && (t.destination.as_deref() == Some(r.as_str())
                            || t.source.as_deref() == Some(r.as_str()))
                })
                .map(|t| t.number);
        }
        stage(tx, draft, parties)?;
        Ok(())
    }

    /// Apply an approved memo to an approved invoice, up to the memo's unapplied amount and the
    /// invoice's balance (04 §9.2; 05 `credit_application`). Both documents are updated in `tx`
    /// (the caller saves them); returns the amount applied.
    pub(crate) fn apply_credit(
        &self,
        tx: &mut Tx<'_>,
        memo: &mut Document,
        invoice: &mut Document,
        on: NaiveDate,
    ) -> Result<Decimal> {
        let unapplied = memo.total - memo.credits_applied;
        let amount = unapplied.min(invoice.balance);
        if amount <= Decimal::ZERO {
            return Ok(Decimal::ZERO);
        }
        let (mr, ir) = (memo.reference(), invoice.reference());
        let before = invoice.balance;
        memo.credits_applied += amount;
        memo.recompute_totals();
        invoice.credits_applied += amount;
        invoice.recompute_totals();
        let draft = Draft::new("credit_application")
            .post("customer_credit", Side::Debit, amount, &mr)
            .post("receivable", Side::Credit, amount, &ir);
        stage(
            tx,
            draft,
            Parties::new(&invoice.account, &invoice.currency, amount, on)
                .source(&mr)
                .destination(&ir, before, invoice.balance),
        )?;
        Ok(amount)
    }

    /// An account's A/R transactions in number order.
    pub fn ar_transactions(&self, account: &str) -> Result<Vec<ArTransaction>> {
        ar_in(&Tx::new(self.store.as_ref()), account)
    }
}

/// An account's A/R transactions in number order, read through `tx`.
pub(crate) fn ar_in(tx: &Tx<'_>, account: &str) -> Result<Vec<ArTransaction>> {
    let mut out = Vec::new();
    for (k, v) in tx.scan(&key(&["artxacct", account, ""]))? {
        let seq: u64 = crate::engine::decode(&k, &v)?;
        if let Some(t) = tx.get::<ArTransaction>(&txn_key(seq))? {
            out.push(t);
        }
    }
    Ok(out)
}

//! Invoicing records (04 §1): invoices and credit memos share one [`Document`] shape, told apart
//! by [`DocType`]; run executions; the store keys.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Invoice or credit memo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocType {
    /// An invoice.
    Invoice,
    /// A credit memo.
    CreditMemo,
}

impl DocType {
    /// `invoice` / `credit_memo` (the ref prefix, 08).
    pub fn as_str(self) -> &'static str {
        match self {
            DocType::Invoice => "invoice",
            DocType::CreditMemo => "credit_memo",
        }
    }

    /// The contract's document kind (07 §3).
    pub fn contract_kind(self) -> crate::callbacks::DocumentKind {
        match self {
            DocType::Invoice => crate::callbacks::DocumentKind::Invoice,
            DocType::CreditMemo => crate::callbacks::DocumentKind::CreditMemo,
        }
    }

    /// The `numbering` rows' document kind (04 §7).
    pub fn numbering_kind(self) -> crate::invoicing::model::DocumentKind {
        match self {
            DocType::Invoice => crate::invoicing::model::DocumentKind::Invoice,
            DocType::CreditMemo => crate::invoicing::model::DocumentKind::CreditMemo,
        }
    }
}

/// Lifecycle status (04 §8, §9.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocStatus {
    /// Not yet approved; no number.
    Draft,
    /// Numbered and posted.
    Approved,
    /// Cancelled (a number, once taken, is kept).
    Cancelled,
}

/// One tax component of a line, or an invoice's aggregated break-up (04 §5.2 step 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breakup {
    /// `country`, `state`, `county`, `city`, `district` (plugins may use their own labels).
    pub level: String,
    /// E.g. `CA State`.
    pub name: String,
    /// Percent, as text (`6.25`).
    pub rate: String,
    /// Tax amount in the document currency.
    pub amount: Decimal,
}

/// One document line (04 §1 "invoice line"; credit-memo lines reuse it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocLine {
    /// 1-based position.
    pub n: u32,
    /// The billing schedule it bills (`O-1/L1#3`); `None` for manual lines.
    pub schedule: Option<String>,
    /// The order line (`O-1/L1`).
    pub line: Option<String>,
    /// Product code.
    pub product: String,
    /// Display text.
    pub description: String,
    /// First day of the billed period.
    pub period_start: Option<NaiveDate>,
    /// Last day of the billed period.
    pub period_end: Option<NaiveDate>,
    /// Quantity.
    pub quantity: Decimal,
    /// Amount as charged (tax included for inclusive lines).
    pub amount: Decimal,
    /// Manual-line discount.
    pub discount: Decimal,
    /// Amount net of tax.
    pub net: Decimal,
    /// Line tax.
    pub tax: Decimal,
    /// `net + tax`.
    pub total: Decimal,
    /// Product is taxable.
    pub taxable: bool,
    /// Price includes tax.
    pub tax_inclusive: bool,
    /// Product tax code.
    pub tax_code: Option<String>,
    /// Covered by an exemption (04 §5.3).
    pub exempt: bool,
    /// Tax components.
    pub breakups: Vec<Breakup>,
    /// Credited so far on non-cancelled memos (invoices only).
    pub credited: Decimal,
    /// For credit-memo lines: the invoice line it credits (`invoice:ACME#1`, n).
    pub credits: Option<(String, u32)>,
}

/// An invoice or a credit memo (04 §1). Credit-memo amounts are positive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// Invoice or credit memo.
    pub doc_type: DocType,
    /// Position among the account's documents of this type (the `#n` of the ref), 1-based.
    pub seq: u32,
    /// `standard`, `adhoc`, `late_fee`, `rebill` (invoices); memos: `credit_memo`.
    pub kind: String,
    /// Status.
    pub status: DocStatus,
    /// Taken at approval (04 §7).
    pub number: Option<String>,
    /// Bill-to account.
    pub account: String,
    /// Bill-to location (when the order names one).
    pub location: Option<String>,
    /// Selling legal entity.
    pub legal_entity: Option<String>,
    /// ISO 4217.
    pub currency: String,
    /// Payment term name.
    pub payment_term: Option<String>,
    /// The order, when split by order.
    pub order: Option<String>,
    /// Invoice date (memo date for credit memos).
    pub invoice_date: NaiveDate,
    /// Due date (invoices).
    pub due_date: Option<NaiveDate>,
    /// Σ line `net + discount`.
    pub subtotal: Decimal,
    /// Σ line discounts.
    pub discount: Decimal,
    /// Σ line taxes.
    pub tax: Decimal,
    /// `subtotal − discount + tax`.
    pub total: Decimal,
    /// Σ components per (level, name, rate).
    pub tax_breakups: Vec<Breakup>,
    /// Credits applied (05); memos: amount applied.
    pub credits_applied: Decimal,
    /// Wallet draws (05).
    pub wallet_applied: Decimal,
    /// Payments applied (05).
    pub paid: Decimal,
    /// Written off (05).
    pub written_off: Decimal,
    /// `total − credits_applied − wallet_applied − paid − written_off`.
    pub balance: Decimal,
    /// `numbering_error`, `tax_calculation_error`, `stale_schedules`.
    pub error_status: Option<String>,
    /// The error's message.
    pub error_message: Option<String>,
    /// Template override of the run.
    pub template: Option<String>,
    /// The run that created it.
    pub run: Option<String>,
    /// Its grouping key (callback label or the default key), for ordering and regeneration.
    pub group_key: String,
    /// Credit memos: `direct`, `run`, `rebill`, `late_fee_waiver`.
    pub source: Option<String>,
    /// Credit memos: reason code.
    pub reason: Option<String>,
    /// Credit memos: the invoice it is linked to.
    pub invoice: Option<String>,
    /// Date of approval.
    pub approved_on: Option<NaiveDate>,
    /// The invoice this one replaces (regenerate, credit and rebill; 04 §8.1).
    #[serde(default)]
    pub replaces: Option<String>,
    /// The documents that replace this one.
    #[serde(default)]
    pub replaced_by: Vec<String>,
    /// Lines, `n` = 1…
    pub lines: Vec<DocLine>,
}

impl Document {
    /// `invoice:ACME#1` / `credit_memo:ACME#1` (08).
    pub fn reference(&self) -> String {
        doc_ref(self.doc_type, &self.account, self.seq)
    }

    /// Credit memos: `uncredited`, `partially_credited`, `credited` (04 §9.2).
    pub fn credit_status(&self) -> &'static str {
        if self.credits_applied.is_zero() {
            "uncredited"
        } else if self.credits_applied < self.total {
            "partially_credited"
        } else {
            "credited"
        }
    }

    /// Recompute the header from the lines (04 §6).
    pub fn recompute_totals(&mut self) {
        let mut subtotal = Decimal::ZERO;
        let mut discount = Decimal::ZERO;
        let mut tax = Decimal::ZERO;
        let mut breakups: Vec<Breakup> = Vec::new();
        for l in &self.lines {
            subtotal += l.net + l.discount;
            discount += l.discount;
            tax += l.tax;
            for b in &l.breakups {
                match breakups
                    .iter_mut()
                    .find(|x| x.level == b.level && x.name == b.name && x.rate == b.rate)
                {
                    Some(x) => x.amount += b.amount,
                    None => breakups.push(b.clone()),
                }
            }
        }
        self.subtotal = subtotal;
        self.discount = discount;
        self.tax = tax;
        self.total = subtotal - discount + tax;
        self.tax_breakups = breakups;
        self.balance =
            self.total - self.credits_applied - self.wallet_applied - self.paid - self.written_off;
    }
}

/// `TYPE:ACCOUNT#n`.
pub fn doc_ref(t: DocType, account: &str, seq: u32) -> String {
    format!("{}:{account}#{seq}", t.as_str())
}

/// Parse `invoice:ACME#1` → (type, account, n).
pub fn parse_ref(r: &str) -> Option<(DocType, &str, u32)> {
    let (t, rest) = r.split_once(':')?;
    let t = match t {
        "invoice" => DocType::Invoice,
        "credit_memo" => DocType::CreditMemo,
        _ => return None,
    };
    let (account, n) = rest.rsplit_once('#')?;
    let n: u32 = n.parse().ok().filter(|n| *n >= 1)?;
    Some((t, account, n))
}

/// What one account got from a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountOutcome {
    /// The account.
    pub account: String,
    /// `invoiced`, `suppressed`, `failed`.
    pub outcome: String,
    /// The error code of a failure.
    pub code: Option<String>,
    /// The failure message.
    pub message: Option<String>,
    /// Documents created (refs).
    pub documents: Vec<String>,
    /// Invoices not created by suppression (their would-be totals).
    pub suppressed: Vec<Decimal>,
}

/// One execution of an invoice run (04 §1 "run execution").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunExecution {
    /// Run name.
    pub run: String,
    /// The date it executed (occurrence date for scheduled runs).
    pub on: NaiveDate,
    /// Process-through date.
    pub process_through: NaiveDate,
    /// Invoice date (`None`: each group's ready date).
    pub invoice_date: Option<NaiveDate>,
    /// `done`.
    pub status: String,
    /// The parameters it ran with (canonical JSON), for idempotency.
    pub parameters: String,
    /// Per account.
    pub accounts: Vec<AccountOutcome>,
    /// Invoices created.
    pub invoices: u32,
    /// Credit memos created.
    pub credit_memos: u32,
    /// Invoices suppressed.
    pub suppressed: u32,
    /// Accounts failed.
    pub failed: u32,
    /// Schedules billed.
    pub schedules: u32,
}

/// Store keys of the invoicing records. Parts are joined with NUL, as the core's keys are.
pub(crate) mod keys {
    use super::DocType;

    fn join(parts: &[&str]) -> Vec<u8> {
        parts.join("\0").into_bytes()
    }

    /// A document: `doc/TYPE/ACCOUNT/` + big-endian seq (so a prefix scan lists the account's
    /// documents in creation order).
    pub fn document(t: DocType, account: &str, seq: u32) -> Vec<u8> {
        let mut k = join(&["doc", t.as_str(), account, ""]);
        k.extend_from_slice(&seq.to_be_bytes());
        k
    }

    /// Prefix of an account's documents of one type.
    pub fn documents(t: DocType, account: &str) -> Vec<u8> {
        join(&["doc", t.as_str(), account, ""])
    }

    /// Last sequence value of a numbering key (04 §7).
    pub fn number_seq(seq_key: &str) -> Vec<u8> {
        join(&["numseq", seq_key])
    }

    /// A number in use: (legal entity, type, number) → document ref.
    pub fn number_used(entity: &str, t: DocType, number: &str) -> Vec<u8> {
        join(&["numused", entity, t.as_str(), number])
    }

    /// A run execution: `runexec/NAME/DATE`.
    pub fn run_execution(run: &str, on: &str) -> Vec<u8> {
        join(&["runexec", run, on])
    }

    /// Prefix of a run's executions.
    pub fn run_executions(run: &str) -> Vec<u8> {
        join(&["runexec", run, ""])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refs_round_trip() {
        assert_eq!(doc_ref(DocType::Invoice, "ACME", 3), "invoice:ACME#3");
        assert_eq!(
            parse_ref("credit_memo:A#B#2"),
            Some((DocType::CreditMemo, "A#B", 2))
        );
        assert_eq!(parse_ref("invoice:ACME#0"), None);
        assert_eq!(parse_ref("payment:ACME#1"), None);
    }

    #[test]
    fn document_keys_sort_by_seq() {
        let a = keys::document(DocType::Invoice, "ACME", 2);
        let b = keys::document(DocType::Invoice, "ACME", 10);
        assert!(a < b);
        assert!(a.starts_with(&keys::documents(DocType::Invoice, "ACME")));
        assert!(!keys::document(DocType::Invoice, "ACMEX", 1)
            .starts_with(&keys::documents(DocType::Invoice, "ACME")));
    }
}

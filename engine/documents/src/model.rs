//! The data model a template sees (spec 04 §11.2): `doc`, `lines`, `breakups`, `totals`,
//! `account`, `addresses`, `payment_term`, and for statements `statement`.
//!
//! Every amount, quantity and rate is **decimal text** (`"1234.50"`, `"-3"`, `"6.25"`), never a
//! float, exactly as the engine stores it; every date is ISO `YYYY-MM-DD` text. Optional fields
//! serialise as `null`, so a template always finds the key (strict undefined only trips on names
//! that are not in the model at all). Each record has an `extra` map, flattened into it, for
//! fields the engine or a host adds beyond the ones named here; custom templates may use them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Everything a template renders from. The JSON format of a document is this, pretty-printed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DataModel {
    /// The header: the invoice or credit memo record (04 §1), or the statement header.
    pub doc: Doc,
    /// Invoice or credit memo lines, in `n` order. Empty for statements.
    pub lines: Vec<Line>,
    /// The document's tax break-ups (invoice `tax_breakups`, 04 §5.2 step 6).
    pub breakups: Vec<Breakup>,
    /// The totals (04 §6).
    pub totals: Totals,
    /// The bill-to account.
    pub account: Account,
    /// Seller (the legal entity), bill-to, ship-to and sold-to parties.
    pub addresses: Addresses,
    /// The document's payment term, when it has one (credit memos and statements need not).
    pub payment_term: Option<PaymentTerm>,
    /// Statement content (04 §11.1); `null` for invoices and credit memos.
    pub statement: Option<Statement>,
}

/// Which kind of record `doc` is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
    /// An invoice (any `kind`).
    #[default]
    Invoice,
    /// A credit memo.
    CreditMemo,
    /// An account statement.
    Statement,
}

/// The document header: the invoice and credit memo fields of 04 §1 (a credit memo leaves the
/// invoice-only fields `null`, and the other way round).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Doc {
    /// Which record this is.
    pub document: DocumentType,
    /// The record's id (used for draft document names, `DRAFT-{id}`).
    pub id: String,
    /// The scenario reference (`invoice:ACME#1`, `credit_memo:ACME#1`).
    #[serde(rename = "ref")]
    pub reference: Option<String>,
    /// Invoice `kind`: `standard`, `adhoc`, `late_fee`, `rebill`.
    pub kind: Option<String>,
    /// `draft`, `approved`, `cancelled`.
    pub status: Option<String>,
    /// The document number; `null` until approval (templates show DRAFT).
    pub number: Option<String>,
    /// Bill-to account id.
    pub account: Option<String>,
    /// Ship-to account id.
    pub ship_to: Option<String>,
    /// Sold-to account id.
    pub sold_to: Option<String>,
    /// Account location id.
    pub location: Option<String>,
    /// Legal entity id (the seller).
    pub legal_entity: Option<String>,
    /// ISO 4217 currency code; the `money` filter's default currency.
    pub currency: String,
    /// Payment term name (details in the model's `payment_term`).
    pub payment_term: Option<String>,
    /// Order id, when the invoice is split by order.
    pub order: Option<String>,
    /// Invoice date.
    pub invoice_date: Option<String>,
    /// Due date.
    pub due_date: Option<String>,
    /// Credit memo date; statement `as_of`.
    pub date: Option<String>,
    /// Subtotal (also in `totals`).
    pub subtotal: Option<String>,
    /// Discount (also in `totals`).
    pub discount: Option<String>,
    /// Tax (also in `totals`).
    pub tax: Option<String>,
    /// Total including tax (also in `totals`).
    pub total: Option<String>,
    /// Linked credit memos applied.
    pub credits_applied: Option<String>,
    /// Wallet amounts applied.
    pub wallet_applied: Option<String>,
    /// Payments applied.
    pub paid: Option<String>,
    /// Written off.
    pub written_off: Option<String>,
    /// Open balance.
    pub balance: Option<String>,
    /// Credit memo: amount applied to invoices.
    pub applied: Option<String>,
    /// Invoice payment status (05).
    pub payment_status: Option<String>,
    /// Days outstanding (05).
    pub days_outstanding: Option<i64>,
    /// Credit memo: `uncredited`, `partially_credited`, `credited`.
    pub credit_status: Option<String>,
    /// Credit memo source: `direct`, `run`, `rebill`, `late_fee_waiver`.
    pub source: Option<String>,
    /// Credit memo reason code.
    pub reason: Option<String>,
    /// Credit memo: the invoice it credits (its number or id), when there is one.
    pub invoice: Option<String>,
    /// Error status (`numbering_error`, `tax_calculation_error`, `stale_schedules`).
    pub error_status: Option<String>,
    /// Delivery status (`pending`, `delivered`, `failed`).
    pub delivery_status: Option<String>,
    /// The template name the document was rendered with.
    pub template: Option<String>,
    /// The invoice run that created the document.
    pub run: Option<String>,
    /// The invoice this one replaces.
    pub replaces: Option<String>,
    /// The invoice that replaced this one.
    pub replaced_by: Option<String>,
    /// Any further header fields, flattened into `doc`.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One invoice or credit memo line (04 §1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Line {
    /// 1-based line number.
    pub n: u32,
    /// The billing schedule it bills (null for manual lines).
    pub schedule: Option<String>,
    /// The order line (`O-1/L1`).
    pub line: Option<String>,
    /// Credit memo lines: the invoice line credited.
    pub invoice_line: Option<String>,
    /// Product code.
    pub product: Option<String>,
    /// Product name, for display.
    pub product_name: Option<String>,
    /// Line description.
    pub description: Option<String>,
    /// Service period start.
    pub period_start: Option<String>,
    /// Service period end.
    pub period_end: Option<String>,
    /// Quantity (decimal text).
    pub quantity: Option<String>,
    /// Amount as charged.
    pub amount: String,
    /// Manual-line discount.
    pub discount: Option<String>,
    /// Net amount.
    pub net: Option<String>,
    /// Line tax.
    pub tax: String,
    /// Line total.
    pub total: String,
    /// Whether the line is taxable.
    pub taxable: bool,
    /// Whether the amount includes tax.
    pub tax_inclusive: bool,
    /// Tax code.
    pub tax_code: Option<String>,
    /// Whether an exemption applied.
    pub exempt: bool,
    /// The line's tax components.
    pub breakups: Vec<Breakup>,
    /// Amount credited by credit memos.
    pub credited: Option<String>,
    /// Any further line fields, flattened into the line.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// One tax component (04 §5.1 level and name, §5.2 step 6).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Breakup {
    /// `country`, `state`, `county`, `city`, `district`.
    pub level: Option<String>,
    /// Display name, e.g. `CA State`.
    pub name: String,
    /// Rate in percent (`"6.25"`).
    pub rate: Option<String>,
    /// Tax code, when the break-up is for one.
    pub tax_code: Option<String>,
    /// Taxable base.
    pub taxable: Option<String>,
    /// Tax amount.
    pub tax: String,
}

/// The totals block (04 §6; credit memos use subtotal, tax, total, applied).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Totals {
    /// Σ line net + discount.
    pub subtotal: String,
    /// Σ line discount.
    pub discount: Option<String>,
    /// Tax.
    pub tax: String,
    /// subtotal − discount + tax.
    pub total: String,
    /// Linked credit memos applied.
    pub credits_applied: Option<String>,
    /// Wallet amounts applied.
    pub wallet_applied: Option<String>,
    /// Payments.
    pub paid: Option<String>,
    /// Written off.
    pub written_off: Option<String>,
    /// Amount due: total − credits − wallet − paid − written off.
    pub balance: Option<String>,
    /// Credit memo: applied to invoices.
    pub applied: Option<String>,
}

/// The bill-to account (01 `accounts`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Account {
    /// Account id.
    pub id: String,
    /// Account name.
    pub name: String,
    /// Account currency.
    pub currency: Option<String>,
    /// Billing contacts (e-mail addresses).
    pub billing_contacts: Vec<String>,
    /// Any further account fields, flattened into the account.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The parties printed on the document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Addresses {
    /// The seller: the document's legal entity.
    pub seller: Party,
    /// The bill-to party (the account and its billing location).
    pub bill_to: Party,
    /// The ship-to party, when it differs from bill-to.
    pub ship_to: Option<Party>,
    /// The sold-to party, when it differs from bill-to.
    pub sold_to: Option<Party>,
}

/// A name and postal address (01 `account_locations` fields), plus tax id and e-mail.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Party {
    /// Account, location or legal entity id.
    pub id: Option<String>,
    /// Display name.
    pub name: String,
    /// First address line.
    pub line1: Option<String>,
    /// Second address line.
    pub line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// County.
    pub county: Option<String>,
    /// Region or state.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country (code or name).
    pub country: Option<String>,
    /// Tax registration number (VAT id, EIN …).
    pub tax_id: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Any further fields, flattened into the party.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// The payment term (01 `payment_terms`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentTerm {
    /// Term name (`net_30`).
    pub name: String,
    /// Display label (`Net 30`).
    pub label: Option<String>,
    /// Any further term fields.
    #[serde(flatten)]
    pub extra: BTreeMap<String, Value>,
}

/// Statement content (04 §11.1, Designed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Statement {
    /// First day covered.
    pub from: String,
    /// Last day covered.
    pub as_of: String,
    /// Balance as of `from − 1`.
    pub opening_balance: String,
    /// Balance as of `as_of`.
    pub closing_balance: String,
    /// A/R transactions effective in [from, as_of], with running balance.
    pub transactions: Vec<StatementEntry>,
    /// Open invoices as of `as_of`.
    pub open_invoices: Vec<OpenInvoice>,
}

/// One A/R transaction on a statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatementEntry {
    /// Effective date.
    pub date: String,
    /// `invoice`, `payment`, `credit_memo`, `write_off`, …
    pub kind: String,
    /// Document number or reference.
    pub reference: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Signed amount (positive raises the balance).
    pub amount: String,
    /// Running balance after this entry.
    pub balance: String,
}

/// One open invoice on a statement.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OpenInvoice {
    /// Invoice number.
    pub number: String,
    /// Invoice date.
    pub invoice_date: String,
    /// Due date.
    pub due_date: String,
    /// Days past due as of the statement date (0 when not yet due).
    pub days_past_due: i64,
    /// Invoice total.
    pub total: String,
    /// Open balance.
    pub balance: String,
}

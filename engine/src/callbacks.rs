//! The seven callback points of spec 07 as Rust traits, their request/response shapes (the JSON
//! and Rhai mapping of the WIT contract: snake_case keys), and the built-in defaults.
//!
//! The plugin host (`plugins/`) implements these traits for WASM components and Rhai scripts;
//! the engine only ever calls the traits, so it never links a runtime.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `decimal` of the contract: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`.
pub type DecimalText = String;
/// `date` of the contract: `YYYY-MM-DD`.
pub type DateText = String;
/// Sorted, unique key → value text.
pub type Attributes = BTreeMap<String, String>;

/// Money of the contract.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    /// Decimal text.
    pub amount: DecimalText,
    /// ISO 4217, upper case.
    pub currency: String,
}

/// What a plugin may return as its error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginError {
    /// snake_case, ≤ 64.
    pub code: String,
    /// ≤ 1 KiB.
    pub message: String,
}

/// Why a callback failed (07 §8): the plugin, the failure kind, its reason and JSON path, and
/// the message `PLUGIN: KIND[/REASON][ at PATH]: TEXT` that is recorded on the affected record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct CallbackError {
    /// The plugin's name (`builtin` for the defaults).
    pub plugin: String,
    /// `input_too_large`, `budget_exceeded`, `timeout`, `memory_limit`, `stack_overflow`, `trap`,
    /// `plugin_error`, `host_call_rejected`, `output_too_large`, `invalid_output`.
    pub kind: String,
    /// The validation reason, trap code or plugin error code.
    pub reason: Option<String>,
    /// JSON path of an invalid output value.
    pub path: Option<String>,
    /// The full message.
    pub message: String,
}

impl CallbackError {
    /// Build one; the message is composed as 07 §8 says from `text`.
    pub fn new(
        plugin: &str,
        kind: &str,
        reason: Option<String>,
        path: Option<String>,
        text: &str,
    ) -> Self {
        let mut message = format!("{plugin}: {kind}");
        if let Some(r) = &reason {
            message.push('/');
            message.push_str(r);
        }
        if let Some(p) = path.as_ref().filter(|p| !p.is_empty()) {
            message.push_str(" at ");
            message.push_str(p);
        }
        message.push_str(": ");
        message.push_str(text);
        CallbackError {
            plugin: plugin.to_string(),
            kind: kind.to_string(),
            reason,
            path,
            message,
        }
    }
}

/// Address of a location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Address {
    /// Line 1.
    pub line1: Option<String>,
    /// Line 2.
    pub line2: Option<String>,
    /// City.
    pub city: Option<String>,
    /// County.
    pub county: Option<String>,
    /// Region / state.
    pub region: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
    /// Country.
    pub country: Option<String>,
}

/// Tax exemption.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxExemption {
    /// `approved`, `processing`, `rejected`.
    pub status: String,
    /// Certificate.
    pub certificate: Option<String>,
    /// Effective date.
    pub effective: Option<DateText>,
    /// Expiry date.
    pub expires: Option<DateText>,
    /// Exempted tax codes.
    pub tax_codes: Vec<String>,
}

/// Legal entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalEntityInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Currency.
    pub currency: String,
    /// Prefix.
    pub invoice_number_prefix: Option<String>,
}

/// Account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Currency.
    pub currency: String,
    /// Parent.
    pub parent: Option<String>,
    /// Legal entity.
    pub legal_entity: Option<LegalEntityInfo>,
    /// First location's address.
    pub address: Option<Address>,
    /// Exemption.
    pub tax_exempt: Option<TaxExemption>,
    /// Attributes.
    pub attributes: Attributes,
}

/// Location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Address.
    pub address: Address,
    /// Invoiced separately.
    pub invoice_separately: bool,
    /// Exemption.
    pub tax_exempt: Option<TaxExemption>,
}

/// Product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductInfo {
    /// Code.
    pub code: String,
    /// Name.
    pub name: String,
    /// `one_time`, `recurring`, `usage`.
    pub price_type: String,
    /// Tax code.
    pub tax_code: Option<String>,
    /// Revenue policy.
    pub revenue_policy: Option<String>,
    /// Attributes.
    pub attributes: Attributes,
}

/// A billing schedule being invoiced; credits carry negative amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// Schedule id.
    pub id: String,
    /// Bill-to account.
    pub account_id: String,
    /// Order.
    pub order_id: Option<String>,
    /// Order line.
    pub order_line_id: Option<String>,
    /// Product.
    pub product: ProductInfo,
    /// Tax location.
    pub location: Option<LocationInfo>,
    /// Ship-to address.
    pub ship_to: Option<Address>,
    /// Quantity.
    pub quantity: DecimalText,
    /// Amount.
    pub amount: Money,
    /// Period start.
    pub period_start: DateText,
    /// Period end.
    pub period_end: DateText,
    /// Ready for invoice.
    pub ready_for_invoice: DateText,
    /// Payment term.
    pub payment_term: String,
    /// Taxable.
    pub taxable: bool,
    /// Tax-inclusive.
    pub tax_inclusive: bool,
    /// Tax code.
    pub tax_code: Option<String>,
    /// Exempt (resolved per 04 §5.3).
    pub exempt: bool,
    /// Attributes.
    pub attributes: Attributes,
}

/// Invoice or credit memo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// Id.
    pub id: String,
    /// Account.
    pub account: AccountInfo,
    /// Currency.
    pub currency: String,
    /// Invoice date.
    pub invoice_date: DateText,
    /// Due date.
    pub due_date: Option<DateText>,
    /// Payment term.
    pub payment_term: Option<String>,
    /// Bill-to address.
    pub bill_to: Option<Address>,
    /// Lines.
    pub lines: Vec<Line>,
    /// Subtotal.
    pub subtotal: Money,
    /// Tax.
    pub tax: Option<Money>,
    /// Total.
    pub total: Money,
    /// Run name.
    pub run_name: Option<String>,
    /// Group key.
    pub group_key: Option<String>,
}

/// `invoice` or `credit_memo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Invoice.
    Invoice,
    /// Credit memo.
    CreditMemo,
}

/// Run information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Name.
    pub name: String,
    /// `invoice` or `revenue`.
    pub kind: String,
    /// Preview.
    pub dry_run: bool,
    /// Process-through.
    pub process_through: Option<DateText>,
    /// Invoice date.
    pub invoice_date: Option<DateText>,
    /// Revenue period `YYYY-MM`.
    pub period: Option<String>,
}

/// Agreement line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementLine {
    /// Id.
    pub id: String,
    /// Order line.
    pub order_line_id: Option<String>,
    /// Product.
    pub product: ProductInfo,
    /// Quantity.
    pub quantity: DecimalText,
    /// Start.
    pub start_date: DateText,
    /// End.
    pub end_date: DateText,
    /// Net price.
    pub net_price: Money,
    /// List price.
    pub list_price: Option<Money>,
    /// SSP.
    pub ssp: Option<Money>,
    /// Transaction price (set for allocation).
    pub transaction_price: Option<Money>,
    /// Attributes.
    pub attributes: Attributes,
}

/// Agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    /// Id.
    pub id: String,
    /// Account.
    pub account: AccountInfo,
    /// Currency.
    pub currency: String,
    /// Order.
    pub order_id: Option<String>,
    /// Start.
    pub start_date: DateText,
    /// End.
    pub end_date: DateText,
    /// Lines.
    pub lines: Vec<AgreementLine>,
}

/// Obligation candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationCandidate {
    /// Id.
    pub id: String,
    /// Agreement.
    pub agreement_id: String,
    /// Line.
    pub line_id: String,
    /// Split sequence.
    pub split_sequence: Option<u32>,
    /// Product.
    pub product: ProductInfo,
    /// Revenue policy.
    pub revenue_policy: Option<String>,
    /// Merge policy.
    pub merge_policy: Option<String>,
    /// Start.
    pub start_date: DateText,
    /// End.
    pub end_date: DateText,
    /// Transaction price.
    pub transaction_price: Money,
    /// Allocation.
    pub allocation: Money,
}

/// Open obligation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenObligation {
    /// Id.
    pub id: String,
    /// Policy.
    pub revenue_policy: String,
    /// Currency.
    pub currency: String,
    /// Start.
    pub start_date: DateText,
    /// End.
    pub end_date: DateText,
    /// Lines.
    pub line_ids: Vec<String>,
}

/// Tax break-up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxBreakup {
    /// `country`, `state`, `county`, `city`, `district`.
    pub level: String,
    /// Name.
    pub name: String,
    /// Rate, percent.
    pub rate: DecimalText,
    /// Tax.
    pub tax: Money,
}

/// Tax of one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineTax {
    /// Line id.
    pub line_id: String,
    /// Tax.
    pub tax: Money,
    /// Break-ups.
    pub breakups: Vec<TaxBreakup>,
}

/// A group of lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineGroup {
    /// Key (the 04 label).
    pub key: String,
    /// Line ids.
    pub line_ids: Vec<String>,
}

/// An amount per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineAmount {
    /// Line id.
    pub line_id: String,
    /// Amount.
    pub amount: Money,
}

/// Obligation plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationPlan {
    /// Key.
    pub key: String,
    /// Existing open obligation.
    pub existing: Option<String>,
    /// Candidate ids.
    pub candidate_ids: Vec<String>,
    /// Revenue policy.
    pub revenue_policy: Option<String>,
}

/// `tax` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaxRequest {
    /// Registration config.
    pub config: Attributes,
    /// Preview.
    pub dry_run: bool,
    /// Document kind.
    pub document: DocumentKind,
    /// The document.
    pub invoice: Invoice,
}

/// `transaction_price` / `revenue_allocation` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgreementRequest {
    /// Config.
    pub config: Attributes,
    /// Agreement.
    pub agreement: Agreement,
}

/// `invoice_grouping` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupingRequest {
    /// Config.
    pub config: Attributes,
    /// Run.
    pub run: RunInfo,
    /// Account.
    pub account: AccountInfo,
    /// Selected lines.
    pub lines: Vec<Line>,
    /// The built-in candidates.
    pub default_groups: Vec<LineGroup>,
}

/// `invoice_numbering` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NumberingRequest {
    /// Config.
    pub config: Attributes,
    /// Document kind.
    pub document: DocumentKind,
    /// Document.
    pub invoice: Invoice,
    /// Row prefix.
    pub prefix: String,
    /// Next sequence value.
    pub sequence: u64,
}

/// `invoice_run_filter` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterRequest {
    /// Config.
    pub config: Attributes,
    /// Run.
    pub run: RunInfo,
    /// Accounts of the chunk.
    pub accounts: Vec<AccountInfo>,
    /// Candidate lines (invoice runs).
    pub lines: Vec<Line>,
    /// Agreements (revenue runs).
    pub agreements: Vec<Agreement>,
}

/// `obligation_merge` input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObligationRequest {
    /// Config.
    pub config: Attributes,
    /// Agreement.
    pub agreement: Agreement,
    /// Its chains.
    pub candidates: Vec<ObligationCandidate>,
    /// Open obligations of the same account, entity and currency.
    pub open_obligations: Vec<OpenObligation>,
}

/// Result alias for callbacks.
pub type CallbackResult<T> = Result<T, CallbackError>;

/// `tax` (07 §1).
pub trait TaxCallback: Send + Sync {
    /// One call per document.
    fn calculate_tax(&self, req: &TaxRequest) -> CallbackResult<Vec<LineTax>>;
}
/// `invoice_grouping`.
pub trait GroupingCallback: Send + Sync {
    /// One call per bill-to account per run.
    fn group_lines(&self, req: &GroupingRequest) -> CallbackResult<Vec<LineGroup>>;
}
/// `invoice_numbering`.
pub trait NumberingCallback: Send + Sync {
    /// One call per approved document.
    fn number_invoice(&self, req: &NumberingRequest) -> CallbackResult<String>;
}
/// `invoice_run_filter`.
pub trait FilterCallback: Send + Sync {
    /// One call per run chunk.
    fn filter_lines(&self, req: &FilterRequest) -> CallbackResult<Vec<String>>;
}
/// `transaction_price`.
pub trait TransactionPriceCallback: Send + Sync {
    /// One call per agreement.
    fn price_lines(&self, req: &AgreementRequest) -> CallbackResult<Vec<LineAmount>>;
}
/// `revenue_allocation`.
pub trait AllocationCallback: Send + Sync {
    /// One call per agreement.
    fn allocate(&self, req: &AgreementRequest) -> CallbackResult<Vec<LineAmount>>;
}
/// `obligation_merge`.
pub trait ObligationMergeCallback: Send + Sync {
    /// One call per agreement.
    fn merge_obligations(&self, req: &ObligationRequest) -> CallbackResult<Vec<ObligationPlan>>;
}

/// The callback points the engine calls. Each accessor returns the registered implementation, or
/// `None` for the built-in default of 07 §1 (see [`Builtin`]). Numbering and run filters are
/// looked up by the name a `numbering` or filter row references.
pub trait Callbacks: Send + Sync {
    /// `tax`.
    fn tax(&self) -> Option<&dyn TaxCallback> {
        None
    }
    /// `invoice_grouping`.
    fn invoice_grouping(&self) -> Option<&dyn GroupingCallback> {
        None
    }
    /// A named `invoice_numbering` plugin.
    fn invoice_numbering(&self, _name: &str) -> Option<&dyn NumberingCallback> {
        None
    }
    /// A named `invoice_run_filter` plugin.
    fn invoice_run_filter(&self, _name: &str) -> Option<&dyn FilterCallback> {
        None
    }
    /// `transaction_price`.
    fn transaction_price(&self) -> Option<&dyn TransactionPriceCallback> {
        None
    }
    /// `revenue_allocation`.
    fn revenue_allocation(&self) -> Option<&dyn AllocationCallback> {
        None
    }
    /// `obligation_merge`.
    fn obligation_merge(&self) -> Option<&dyn ObligationMergeCallback> {
        None
    }
}

/// No plugins registered: every point uses its built-in default.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoPlugins;
impl Callbacks for NoPlugins {}

/// The built-in defaults of 07 §1 that need no rule data: grouping keeps the candidates,
/// transaction price is the line's net price, allocation follows `system.revenue_allocation`,
/// obligation merge keeps one obligation per candidate. (Built-in tax from `tax_rates` and the
/// numbering `format` live with invoicing, which owns those documents.)
#[derive(Debug, Default, Clone, Copy)]
pub struct Builtin {
    /// `relative_ssp` instead of `transaction_price` allocation.
    pub relative_ssp: bool,
}

impl GroupingCallback for Builtin {
    fn group_lines(&self, req: &GroupingRequest) -> CallbackResult<Vec<LineGroup>> {
        Ok(req.default_groups.clone())
    }
}

impl TransactionPriceCallback for Builtin {
    fn price_lines(&self, req: &AgreementRequest) -> CallbackResult<Vec<LineAmount>> {
        Ok(req
            .agreement
            .lines
            .iter()
            .map(|l| LineAmount {
                line_id: l.id.clone(),
                amount: l.net_price.clone(),
            })
            .collect())
    }
}

impl AllocationCallback for Builtin {
    fn allocate(&self, req: &AgreementRequest) -> CallbackResult<Vec<LineAmount>> {
        crate::allocation::allocate(&req.agreement, self.relative_ssp)
    }
}

impl ObligationMergeCallback for Builtin {
    fn merge_obligations(&self, req: &ObligationRequest) -> CallbackResult<Vec<ObligationPlan>> {
        Ok(req
            .candidates
            .iter()
            .map(|c| ObligationPlan {
                key: c.id.clone(),
                existing: None,
                candidate_ids: vec![c.id.clone()],
                revenue_policy: c.revenue_policy.clone(),
            })
            .collect())
    }
}

//! The engine's one error type.

use crate::rules::RuleError;

/// A named, machine-readable error code (02 §5 and the codes the core adds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Code {
    /// A line names a product the rules do not define.
    UnknownProduct,
    /// A preference name is unknown, or there is none to apply.
    UnknownPreference,
    /// A lower level overrides a preference that forbids it.
    PreferenceOverrideNotAllowed,
    /// A payment term name is unknown.
    UnknownPaymentTerm,
    /// A lower level overrides the payment term where the preference forbids it.
    PaymentTermOverrideNotAllowed,
    /// A date the line needs is missing.
    MissingDates,
    /// A line ends before it starts.
    EndBeforeStart,
    /// An evergreen product billed as a single period.
    EvergreenSinglePeriod,
    /// Line and account currencies differ.
    CurrencyMismatch,
    /// The order is already active.
    AlreadyActive,
    /// A cycle day outside 1–31.
    InvalidCycleDay,
    /// No price can be derived for a line.
    MissingPrice,
    /// The account is unknown.
    UnknownAccount,
    /// The order is unknown.
    UnknownOrder,
    /// An order line is unknown.
    UnknownLine,
    /// A record sent by the host is invalid.
    InvalidRecord,
    /// The currency is not an ISO 4217 code.
    UnknownCurrency,
    /// A payment term the due-date arithmetic cannot use (04 §13).
    BadPaymentTerm,
    /// Tax could not be calculated for an invoice (04 §5).
    TaxCalculationError,
    /// A `tax_rates` row is invalid (04 §5.1).
    BadTaxRate,
    /// Two `tax_rates` rows for the same code, jurisdiction, level and name overlap in time.
    OverlappingTaxRates,
    /// A numbering `format` has an unknown or malformed token (04 §7).
    BadNumberingFormat,
    /// Two numbering rows apply to the same document and legal entity.
    DuplicateNumbering,
    /// A number could not be taken at approval (04 §7).
    NumberingError,
    /// A filter row names a field its object does not have (04 §2.2).
    UnknownFilterField,
    /// `filter_logic` names a row number the run does not define.
    UnknownFilterRow,
    /// A filter row does not appear in `filter_logic`.
    FilterRowUnreferenced,
    /// `filter_logic` mixes AND and OR at one level without parentheses.
    AmbiguousFilterLogic,
    /// `filter_logic` is not a valid expression.
    BadFilterLogic,
    /// `auto_send` without auto-approval (04 §2.1).
    AutoSendRequiresAutoApprove,
    /// A scheduled run's `schedule` is missing or inconsistent (04 §2.3).
    BadRunSchedule,
    /// An immediate run has a `schedule`.
    ScheduleOnImmediateRun,
    /// An immediate run has no process-through date.
    MissingProcessThrough,
    /// A run name is unknown.
    UnknownRun,
    /// A run name already executed with other parameters.
    RunExistsWithDifferentParameters,
    /// A step gives options of a run the rules define.
    RunDefinedInRules,
    /// An invoice ref is unknown.
    UnknownInvoice,
    /// A credit-memo ref is unknown.
    UnknownCreditMemo,
    /// The action needs a draft.
    InvoiceNotDraft,
    /// The action needs an approved invoice.
    InvoiceNotApproved,
    /// The draft's schedules changed since it was drafted.
    InvoiceStale,
    /// Payments or credits are applied to the invoice.
    InvoiceHasApplications,
    /// The document was approved once and is never deleted.
    InvoiceWasPosted,
    /// A credit exceeds the line's available amount.
    CreditExceedsAvailable,
    /// A credit amount is not positive.
    CreditAmountNotPositive,
    /// A credit names a line the invoice does not have.
    UnknownInvoiceLine,
    /// A credit memo names a line twice.
    DuplicateCreditLine,
    /// A credit memo without lines.
    CreditMemoEmpty,
    /// The credit memo cannot be cancelled.
    CreditMemoNotCancellable,
    /// The credit memo is applied.
    CreditMemoHasApplications,
    /// A callback name is not registered.
    UnknownCallback,
    /// No template has this name (04 §11.2 lookup, §13).
    UnknownTemplate,
    /// The template named is of another kind than the document.
    TemplateKindMismatch,
    /// A template failed while rendering a document.
    RenderFailed,
    /// The invoice has a non-cancelled credit memo (credit and rebill).
    InvoiceAlreadyCredited,
    /// A schedule of the invoice was amended (credit and rebill).
    InvoiceHasAmendedSchedules,
    /// A split names no lines.
    SplitEmpty,
    /// A split would move every line.
    SplitLeavesEmptyInvoice,
    /// A split names a line twice.
    SplitLineRepeated,
    /// An ad-hoc line amount is negative.
    AdhocNegativeLine,
    /// A location is not one of the account's.
    UnknownLocation,
    /// The grouping callback failed (07 §8).
    InvoiceGroupingError,
    /// A report name is unknown (05 §9).
    UnknownReport,
    /// An aging bucket set is invalid or unknown (05 §5).
    BadAgingBuckets,
    /// A report period ends before it starts (05 §11).
    BadPeriod,
    /// A report format is not csv or json (05 §11).
    BadFormat,
    /// A payment or credit memo ref is unknown (05).
    UnknownSource,
    /// A wallet id is unknown, or the account's wallet is ambiguous (05 §3).
    UnknownWallet,
    /// A wallet or late-fee policy name is unknown (05).
    UnknownPolicy,
    /// The account already has a wallet with this id.
    WalletExists,
    /// The wallet is terminated or expired.
    WalletNotActive,
    /// A removal exceeds the wallet's funds.
    WalletInsufficientFunds,
    /// A wallet's currency is not its account's.
    WalletCurrencyMismatch,
    /// A wallet policy is inconsistent (05 §3.1).
    BadWalletPolicy,
    /// A late-fee policy is inconsistent (05 §4.1).
    BadLateFeePolicy,
    /// The late-fee line does not exist (05 §4.3).
    LateFeeNotFound,
    /// The late-fee line was already waived (05 §4.3).
    LateFeeAlreadyCancelled,
    /// An amount is not positive (05).
    AmountNotPositive,
    /// The external id names a payment with other fields.
    PaymentExistsWithDifferentParameters,
    /// An application exceeds the invoice balance.
    Overapplication,
    /// An application exceeds the source's unapplied amount.
    ExceedsUnapplied,
    /// An unapplication exceeds what the source applied to the invoice.
    UnapplyExceedsApplied,
    /// A refund exceeds the source's unapplied amount.
    RefundExceedsUnapplied,
    /// A write-off exceeds the invoice balance.
    WriteOffExceedsBalance,
    /// An application is dated before its source or invoice.
    EffectiveBeforeSource,
    /// Only approved invoices and credit memos are sent (04 §11.3).
    DocumentNotApproved,
    /// The bill-to account has no `billing_contacts` (04 §11.3).
    NoRecipients,
    /// There is no usable `system.email` (04 §11.3).
    EmailNotConfigured,
    /// The order is not activated (06 §4).
    OrderNotActivated,
    /// The order already has an agreement.
    AgreementExists,
    /// A line resolves to no revenue policy.
    NoRevenuePolicy,
    /// The account has no legal entity.
    NoLegalEntity,
    /// A time rule without a valid term.
    BadRevenueTerm,
    /// A prepay or true-up line without net_price.
    CommitmentMissing,
    /// A line has no standalone selling price (06 §5).
    SspMissing,
    /// Every SSP weight is 0.
    SspAllZero,
    /// Σ allocation differs from Σ transaction price.
    AllocationMismatch,
    /// A revenue callback failed or returned a bad answer.
    CallbackFailed,
    /// An input for a period other than the open one (06 §6).
    PercentNotCurrentPeriod,
    /// A percent outside 0–100.
    PercentOutOfRange,
    /// The agreement has actuals for the period.
    PeriodAlreadyGenerated,
    /// An input for a fee of another rule.
    FeeRuleMismatch,
    /// Manual entries would exceed the fee.
    ManualExceedsFee,
    /// The fee has no such milestone.
    UnknownMilestone,
    /// The milestone was completed before.
    MilestoneAlreadyCompleted,
    /// A fee's type, amount or rule cannot change.
    FeeImmutable,
    /// Only immediate fees move their start.
    StartEditNotImmediate,
    /// The fee has actual rows.
    FeeHasActuals,
    /// The fee cannot move to that obligation.
    FeeMoveNotAllowed,
    /// The change is not supported for the fee's rule (06 §7).
    ModificationUnsupported,
    /// The change falls outside the line's term.
    ChangeOutOfTerm,
    /// The period is not the entity's open period (06 §8).
    PeriodNotCurrent,
    /// The period is closed.
    PeriodClosed,
    /// Agreements are still eligible for the open period.
    PeriodHasEligibleAgreements,
    /// Agreements have actuals for the open period.
    PeriodHasActuals,
    /// A period date that is not a month end.
    PeriodNotMonthEnd,
    /// Rollback runs are always immediate (06 §9).
    RollbackNotSchedulable,
    /// Another run on the entity is in progress.
    RunInProgress,
    /// A revenue identity does not hold (06 §10).
    RevenueInvariantBroken,
    /// Usage loaded but not rated.
    UsageUnrated,
    /// The journal of an open period (06 §11).
    PeriodOpen,
    /// An export format other than csv or json.
    UnknownFormat,
    /// An agreement ref names nothing.
    UnknownAgreement,
    /// A fee ref names nothing.
    UnknownFee,
    /// An obligation ref names nothing.
    UnknownObligation,
    /// A change takes effect before the line starts (03 A.7).
    EffectiveBeforeStart,
    /// A change takes effect after the line's end + 1 (03 A.7).
    EffectiveAfterEnd,
    /// A change's new end is before its effective date (03 A.7).
    EndBeforeEffective,
    /// The asset is cancelled or swapped out (03 A.7).
    AssetCancelled,
    /// The new terms equal the current ones (03 A.7).
    NoChange,
    /// A change key the line's price type does not allow (03 A.1).
    NotApplicable,
    /// The unit rate is undefined (discount 100 %); give a net price (03 A.7).
    NetPriceRequired,
    /// A net price on an evergreen line (03 A.7).
    NetPriceOnEvergreen,
    /// A change needs more credit than the line's invoiced rows have available (03 A.4).
    InsufficientAvailableCredit,
    /// Evergreen or one-time lines, or a renewal end not after the current end (03 A.6).
    NotRenewable,
    /// A rollback of a change already in effect (03 A.6).
    ChangeAlreadyEffective,
    /// No change is left to roll back (03 A.6).
    NothingToRollBack,
    /// A rollback's rows would not restore the value before the undone change (03 A.6); refused
    /// rather than written.
    RollbackNotRestorable,
    /// A swap's quantity is not in (0, quantity] (03 A.7).
    SwapQuantity,
    /// A usage input with a quantity below 0 (03 B.2).
    NegativeQuantity,
    /// A named usage input is not `loaded` (03 B.2 rate).
    NotLoaded,
    /// Unrate of an input that is not `rated` (03 B.2).
    NotRated,
    /// Retry of an input that is not in `error` (03 B.2).
    NotInError,
    /// Usage into or out of a row on an invoice (03 B.2, F.20).
    UsagePeriodClosed,
    /// A `usage#n` that was never loaded.
    UnknownUsageInput,
    /// An amend names new tiers on a product without `usage_tiers_modifiable` (03 A.7).
    TiersNotModifiable,
    /// An amend names a `usage_tiers` document that does not exist (03 A.7).
    UnknownUsageTiers,
    /// A billing plan's item count differs from its `installments` (03 C.4).
    PlanInstallments,
    /// A `percent` plan's percents do not sum to exactly 100 (03 C.2).
    PlanPercentSum,
    /// An `amount` plan's amounts do not sum to the line's net price (03 C.2).
    PlanAmountSum,
    /// Plan item dates out of order, overlapping or with end before start (03 C.2).
    PlanItemDates,
    /// A template item would start after the plan end (03 C.2).
    PlanItemAfterEnd,
    /// A `start: given` template used without a start, or a start given to a `line_start` one (03 C.1).
    PlanStartRequired,
    /// A billing plan name no `billing_plans` template has (03 C.4).
    UnknownBillingPlan,
    /// A billing plan on a usage or evergreen line (03 C.1).
    PlanNotAllowed,
    /// amend, renew or swap on a billing-plan line (03 C.4).
    PlanLocked,
    /// `complete_milestone` names no milestone item of the line's plan (03 C.3).
    UnknownPlanItem,
}

impl Code {
    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnknownProduct => "unknown_product",
            Code::NegativeQuantity => "negative_quantity",
            Code::NotLoaded => "not_loaded",
            Code::NotRated => "not_rated",
            Code::NotInError => "not_in_error",
            Code::UsagePeriodClosed => "usage_period_closed",
            Code::UnknownUsageInput => "unknown_usage_input",
            Code::TiersNotModifiable => "tiers_not_modifiable",
            Code::UnknownUsageTiers => "unknown_usage_tiers",
            Code::UnknownPreference => "unknown_preference",
            Code::PreferenceOverrideNotAllowed => "preference_override_not_allowed",
            Code::UnknownPaymentTerm => "unknown_payment_term",
            Code::PaymentTermOverrideNotAllowed => "payment_term_override_not_allowed",
            Code::MissingDates => "missing_dates",
            Code::EndBeforeStart => "end_before_start",
            Code::EvergreenSinglePeriod => "evergreen_single_period",
            Code::CurrencyMismatch => "currency_mismatch",
            Code::AlreadyActive => "already_active",
            Code::InvalidCycleDay => "invalid_cycle_day",
            Code::MissingPrice => "missing_price",
            Code::UnknownAccount => "unknown_account",
            Code::UnknownOrder => "unknown_order",
            Code::UnknownLine => "unknown_line",
            Code::InvalidRecord => "invalid_record",
            Code::UnknownCurrency => "unknown_currency",
            Code::BadPaymentTerm => "bad_payment_term",
            Code::TaxCalculationError => "tax_calculation_error",
            Code::BadTaxRate => "bad_tax_rate",
            Code::OverlappingTaxRates => "overlapping_tax_rates",
            Code::BadNumberingFormat => "bad_numbering_format",
            Code::DuplicateNumbering => "duplicate_numbering",
            Code::NumberingError => "numbering_error",
            Code::UnknownFilterField => "unknown_filter_field",
            Code::UnknownFilterRow => "unknown_filter_row",
            Code::FilterRowUnreferenced => "filter_row_unreferenced",
            Code::AmbiguousFilterLogic => "ambiguous_filter_logic",
            Code::BadFilterLogic => "bad_filter_logic",
            Code::AutoSendRequiresAutoApprove => "auto_send_requires_auto_approve",
            Code::BadRunSchedule => "bad_run_schedule",
            Code::ScheduleOnImmediateRun => "schedule_on_immediate_run",
            Code::MissingProcessThrough => "missing_process_through",
            Code::UnknownRun => "unknown_run",
            Code::RunExistsWithDifferentParameters => "run_exists_with_different_parameters",
            Code::RunDefinedInRules => "run_defined_in_rules",
            Code::UnknownInvoice => "unknown_invoice",
            Code::UnknownCreditMemo => "unknown_credit_memo",
            Code::InvoiceNotDraft => "invoice_not_draft",
            Code::InvoiceNotApproved => "invoice_not_approved",
            Code::InvoiceStale => "invoice_stale",
            Code::InvoiceHasApplications => "invoice_has_applications",
            Code::InvoiceWasPosted => "invoice_was_posted",
            Code::CreditExceedsAvailable => "credit_exceeds_available",
            Code::CreditAmountNotPositive => "credit_amount_not_positive",
            Code::UnknownInvoiceLine => "unknown_invoice_line",
            Code::DuplicateCreditLine => "duplicate_credit_line",
            Code::CreditMemoEmpty => "credit_memo_empty",
            Code::CreditMemoNotCancellable => "credit_memo_not_cancellable",
            Code::CreditMemoHasApplications => "credit_memo_has_applications",
            Code::UnknownCallback => "unknown_callback",
            Code::UnknownTemplate => "unknown_template",
            Code::TemplateKindMismatch => "template_kind_mismatch",
            Code::RenderFailed => "render_failed",
            Code::InvoiceAlreadyCredited => "invoice_already_credited",
            Code::InvoiceHasAmendedSchedules => "invoice_has_amended_schedules",
            Code::SplitEmpty => "split_empty",
            Code::SplitLeavesEmptyInvoice => "split_leaves_empty_invoice",
            Code::SplitLineRepeated => "split_line_repeated",
            Code::AdhocNegativeLine => "adhoc_negative_line",
            Code::UnknownLocation => "unknown_location",
            Code::InvoiceGroupingError => "invoice_grouping_error",
            Code::UnknownReport => "unknown_report",
            Code::BadAgingBuckets => "bad_aging_buckets",
            Code::BadPeriod => "bad_period",
            Code::BadFormat => "bad_format",
            Code::UnknownSource => "unknown_source",
            Code::UnknownWallet => "unknown_wallet",
            Code::UnknownPolicy => "unknown_policy",
            Code::WalletExists => "wallet_exists",
            Code::WalletNotActive => "wallet_not_active",
            Code::WalletInsufficientFunds => "wallet_insufficient_funds",
            Code::WalletCurrencyMismatch => "wallet_currency_mismatch",
            Code::BadWalletPolicy => "bad_wallet_policy",
            Code::BadLateFeePolicy => "bad_late_fee_policy",
            Code::LateFeeNotFound => "late_fee_not_found",
            Code::LateFeeAlreadyCancelled => "late_fee_already_cancelled",
            Code::AmountNotPositive => "amount_not_positive",
            Code::PaymentExistsWithDifferentParameters => {
                "payment_exists_with_different_parameters"
            }
            Code::Overapplication => "overapplication",
            Code::ExceedsUnapplied => "exceeds_unapplied",
            Code::UnapplyExceedsApplied => "unapply_exceeds_applied",
            Code::RefundExceedsUnapplied => "refund_exceeds_unapplied",
            Code::WriteOffExceedsBalance => "write_off_exceeds_balance",
            Code::EffectiveBeforeSource => "effective_before_source",
            Code::DocumentNotApproved => "document_not_approved",
            Code::NoRecipients => "no_recipients",
            Code::EmailNotConfigured => "email_not_configured",
            Code::OrderNotActivated => "order_not_activated",
            Code::AgreementExists => "agreement_exists",
            Code::NoRevenuePolicy => "no_revenue_policy",
            Code::NoLegalEntity => "no_legal_entity",
            Code::BadRevenueTerm => "bad_revenue_term",
            Code::CommitmentMissing => "commitment_missing",
            Code::SspMissing => "ssp_missing",
            Code::SspAllZero => "ssp_all_zero",
            Code::AllocationMismatch => "allocation_mismatch",
            Code::CallbackFailed => "callback_failed",
            Code::PercentNotCurrentPeriod => "percent_not_current_period",
            Code::PercentOutOfRange => "percent_out_of_range",
            Code::PeriodAlreadyGenerated => "period_already_generated",
            Code::FeeRuleMismatch => "fee_rule_mismatch",
            Code::ManualExceedsFee => "manual_exceeds_fee",
            Code::UnknownMilestone => "unknown_milestone",
            Code::MilestoneAlreadyCompleted => "milestone_already_completed",
            Code::FeeImmutable => "fee_immutable",
            Code::StartEditNotImmediate => "start_edit_not_immediate",
            Code::FeeHasActuals => "fee_has_actuals",
            Code::FeeMoveNotAllowed => "fee_move_not_allowed",
            Code::ModificationUnsupported => "modification_unsupported",
            Code::ChangeOutOfTerm => "change_out_of_term",
            Code::PeriodNotCurrent => "period_not_current",
            Code::PeriodClosed => "period_closed",
            Code::PeriodHasEligibleAgreements => "period_has_eligible_agreements",
            Code::PeriodHasActuals => "period_has_actuals",
            Code::PeriodNotMonthEnd => "period_not_month_end",
            Code::RollbackNotSchedulable => "rollback_not_schedulable",
            Code::RunInProgress => "run_in_progress",
            Code::RevenueInvariantBroken => "revenue_invariant_broken",
            Code::UsageUnrated => "usage_unrated",
            Code::PeriodOpen => "period_open",
            Code::UnknownFormat => "unknown_format",
            Code::UnknownAgreement => "unknown_agreement",
            Code::UnknownFee => "unknown_fee",
            Code::UnknownObligation => "unknown_obligation",
            Code::EffectiveBeforeStart => "effective_before_start",
            Code::EffectiveAfterEnd => "effective_after_end",
            Code::EndBeforeEffective => "end_before_effective",
            Code::AssetCancelled => "asset_cancelled",
            Code::NoChange => "no_change",
            Code::NotApplicable => "not_applicable",
            Code::NetPriceRequired => "net_price_required",
            Code::NetPriceOnEvergreen => "net_price_on_evergreen",
            Code::InsufficientAvailableCredit => "insufficient_available_credit",
            Code::NotRenewable => "not_renewable",
            Code::ChangeAlreadyEffective => "change_already_effective",
            Code::NothingToRollBack => "nothing_to_roll_back",
            Code::RollbackNotRestorable => "rollback_not_restorable",
            Code::SwapQuantity => "swap_quantity",
            Code::PlanInstallments => "plan_installments",
            Code::PlanPercentSum => "plan_percent_sum",
            Code::PlanAmountSum => "plan_amount_sum",
            Code::PlanItemDates => "plan_item_dates",
            Code::PlanItemAfterEnd => "plan_item_after_end",
            Code::PlanStartRequired => "plan_start_required",
            Code::UnknownBillingPlan => "unknown_billing_plan",
            Code::PlanNotAllowed => "plan_not_allowed",
            Code::PlanLocked => "plan_locked",
            Code::UnknownPlanItem => "unknown_plan_item",
        }
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// A step was refused; nothing changed.
    #[error("{code}: {record}: {field}: {message}")]
    Refused {
        /// The code.
        code: Code,
        /// The record (order, line ref, account …).
        record: String,
        /// The field.
        field: String,
        /// What is wrong, in words.
        message: String,
    },
    /// Rule files did not validate.
    #[error("{} rule error(s); first: {}", .0.len(), .0.first().map(|e| e.to_string()).unwrap_or_default())]
    Rules(Vec<RuleError>),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] crate::store::StoreError),
}

impl EngineError {
    /// Build a refusal.
    pub fn refused(
        code: Code,
        record: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        EngineError::Refused {
            code,
            record: record.into(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// The snake_case code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Refused { code, .. } => code.as_str(),
            EngineError::Rules(_) => "rule_error",
            EngineError::Store(_) => "store_error",
        }
    }
}

/// Result alias.
pub type Result<T, E = EngineError> = std::result::Result<T, E>;

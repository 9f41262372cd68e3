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
}

impl Code {
    /// The snake_case code.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::UnknownProduct => "unknown_product",
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

//! Invoicing (spec 04): the pure parts — typed run, tax-rate and numbering documents, due dates,
//! the built-in tax calculator, invoice numbers, filter logic and scheduled-run occurrences.
//!
//! Nothing here touches the store or the clock: every date and record is passed in, and every
//! function is deterministic. Money is [`rust_decimal::Decimal`] throughout.

pub mod due;
pub mod filter;
pub mod model;
pub mod numbering;
pub mod occurrences;
pub mod tax;

use crate::error::{Code, EngineError};
use std::fmt;

/// A problem found by one of the invoicing functions: a 04 §13 code, the field it is about
/// (a path such as `filters[2].n`, or empty) and a message in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoicingError {
    /// The code.
    pub code: Code,
    /// Index of the document row it concerns (`tax_rates[i]`, `numbering[i]`), when there is one.
    pub row: Option<usize>,
    /// Index of a second row it concerns (the earlier of two overlapping or duplicate rows).
    pub other: Option<usize>,
    /// The field path within the record or row (may be empty).
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl InvoicingError {
    /// A new error with no row.
    pub fn new(code: Code, field: impl Into<String>, message: impl Into<String>) -> Self {
        InvoicingError {
            code,
            row: None,
            other: None,
            field: field.into(),
            message: message.into(),
        }
    }

    /// The same error, about row `i` of its document.
    pub fn at_row(mut self, i: usize) -> Self {
        self.row = Some(i);
        self
    }

    /// The same error, also naming row `i` (the one it clashes with).
    pub fn with_other(mut self, i: usize) -> Self {
        self.other = Some(i);
        self
    }

    /// Turn into the engine's refusal for `record` (an invoice ref, a run name …).
    pub fn into_engine(self, record: impl Into<String>) -> EngineError {
        EngineError::refused(self.code, record, self.field, self.message)
    }
}

impl fmt::Display for InvoicingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.code)?;
        if let Some(r) = self.row {
            write!(f, ": row {r}")?;
        }
        if let Some(o) = self.other {
            write!(f, " (and row {o})")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InvoicingError {}

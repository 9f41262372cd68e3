//! Invoicing (spec 04): invoice runs turn ready billing schedules into draft invoices and credit
//! memos; approval numbers them. Pure over the [`crate::store::Store`]: every date is an
//! argument, every step one atomic batch per account.
//!
//! - [`records`] — documents, lines, run executions, store keys and the exactly-once index.
//! - [`run`] — the run pipeline of 04 §3 (selection, grouping, the grouping callback, the
//!   credit-memo option, lines, tax, due dates, suppression, drafts, auto-approval).
//! - [`lifecycle`] — approve, cancel, delete (04 §8, §9.2) and gapless numbering (04 §7).
//! - [`actions`] — split, regenerate, ad-hoc invoices, credit and rebill (04 §8.1).
//! - [`ar`] — the A/R posting hooks: approval, cancellation and credit application post
//!   double-entry transactions (05 §1.3) in the same commit.
//! - [`forecast`] — the invoice forecast per month of `ready` and status (04 §10).
//! - [`statement`] — account statements from the ledger (04 §11.1).
//! - [`tax`] — the document tax step: the built-in table or the `tax` callback (04 §5).
//! - [`versions`] — stored document versions (04 §11.2): records and bytes the SDK rendered.
//! - [`outbox`] — the e-mail outbox state machine (04 §11.3); the SDK's worker does the I/O.

pub mod actions;
pub mod ar;
mod definition;
pub mod forecast;
pub mod lifecycle;
pub mod outbox;
pub mod records;
pub mod run;
pub mod statement;
pub mod tax;
pub(crate) mod tx;

pub mod versions;

pub use records::{Breakup, DocLine, DocStatus, DocType, Document, RunExecution};
pub use run::{RunOptions, Selected};

//! Invoicing (spec 04): invoice runs turn ready billing schedules into draft invoices and credit
//! memos; approval numbers them. Pure over the [`crate::store::Store`]: every date is an
//! argument, every step one atomic batch per account.
//!
//! - [`records`] — documents, lines, run executions, store keys and the exactly-once index.
//! - [`run`] — the run pipeline of 04 §3 (selection, grouping, the grouping callback, the
//!   credit-memo option, lines, tax, due dates, suppression, drafts, auto-approval).
//! - [`lifecycle`] — approve, cancel, delete (04 §8, §9.2) and gapless numbering (04 §7).
//! - [`tax`] — the document tax step: the built-in table or the `tax` callback (04 §5).
//! - [`versions`] — stored document versions (04 §11.2): records and bytes the SDK rendered.
//! - [`outbox`] — the e-mail outbox state machine (04 §11.3); the SDK's worker does the I/O.

mod definition;
pub mod lifecycle;
pub mod outbox;
pub mod records;
pub mod run;
pub mod tax;
mod tx;
pub mod versions;

pub use records::{Breakup, DocLine, DocStatus, DocType, Document, RunExecution};
pub use run::{RunOptions, Selected};

//! Receivables (spec 05): what happens to money once invoices and credit memos are approved.
//! The ledger's transactions and postings are in [`crate::billing::ar`]; this module adds
//! payments ([`payments`]), A/R aging and DSO ([`aging`]), the account billing summary ([`summary`]),
//! wallets ([`wallets`]), late fees ([`late_fees`]).

pub mod aging;
pub mod dashboard;
pub mod late_fees;
pub mod payments;
pub mod summary;
pub mod wallets;

//! Guest SDK for Reckon plugins (spec 07 §10).
//!
//! A plugin is a `no_std` Rust crate built as a `cdylib` for `wasm32-wasip2`. It implements the
//! trait of one callback point and exports it with that point's macro:
//!
//! ```
//! // In the plugin crate: #![no_std], and `crate-type = ["cdylib"]` in its Cargo.toml.
//! extern crate alloc;
//!
//! use alloc::vec::Vec;
//! use reckon_plugin_sdk::tax::{LineTax, Money, PluginError, TaxCalculator, TaxRequest};
//!
//! /// Tax 0 on every line (the `zero-tax` example).
//! struct ZeroTax;
//!
//! impl TaxCalculator for ZeroTax {
//!     fn calculate_tax(request: TaxRequest) -> Result<Vec<LineTax>, PluginError> {
//!         let currency = request.invoice.currency;
//!         Ok(request
//!             .invoice
//!             .lines
//!             .into_iter()
//!             .map(|line| LineTax {
//!                 line_id: line.id,
//!                 tax: Money::zero(&currency),
//!                 breakups: Vec::new(),
//!             })
//!             .collect())
//!     }
//! }
//!
//! reckon_plugin_sdk::export_tax!(ZeroTax);
//! # fn main() {}
//! ```
//!
//! Build it with `cargo build --release --target wasm32-wasip2` (release profile `panic =
//! "abort"`); the toolchain's `wasm-component-ld` emits the component. See
//! `plugins/examples/` for complete plugins and their build script.
//!
//! | point (spec 07 §1) | module | trait | macro |
//! |---|---|---|---|
//! | `tax` | [`tax`] | [`tax::TaxCalculator`] | [`export_tax!`] |
//! | `invoice_grouping` | [`invoice_grouping`] | [`invoice_grouping::InvoiceGrouper`] | [`export_invoice_grouping!`] |
//! | `invoice_numbering` | [`invoice_numbering`] | [`invoice_numbering::InvoiceNumberer`] | [`export_invoice_numbering!`] |
//! | `invoice_run_filter` | [`invoice_run_filter`] | [`invoice_run_filter::InvoiceRunFilter`] | [`export_invoice_run_filter!`] |
//! | `transaction_price` | [`transaction_price`] | [`transaction_price::TransactionPricer`] | [`export_transaction_price!`] |
//! | `revenue_allocation` | [`revenue_allocation`] | [`revenue_allocation::Allocator`] | [`export_revenue_allocation!`] |
//! | `obligation_merge` | [`obligation_merge`] | [`obligation_merge::ObligationMerger`] | [`export_obligation_merge!`] |
//!
//! The crate uses `core` and `alloc` only, so the component imports nothing but
//! `reckon:plugins/types@0.1.0` and `reckon:plugins/host@0.1.0` — no WASI. On wasm32, with the
//! default `runtime` feature, it also supplies what `std` would: a bump global allocator starting at
//! `__heap_base` that grows linear memory only on demand, the canonical ABI's `cabi_realloc` export,
//! and a panic handler that logs the panic through the host and traps with `unreachable`.
//!
//! The helpers ([`decimal`], [`money`], [`date`], [`log`](mod@log), [`PluginError::new`]) work
//! natively too, so plugin logic can be unit-tested on the host.

#![no_std]
#![warn(missing_docs)]

extern crate alloc;
// The export macros name the SDK by its absolute path (`::reckon_plugin_sdk::…`), inside this
// crate too.
extern crate self as reckon_plugin_sdk;
#[cfg(test)]
extern crate std;

#[doc(hidden)]
pub mod bindings;
pub mod date;
pub mod decimal;
mod error;
pub mod log;
pub mod money;
mod points;
#[cfg(all(target_arch = "wasm32", feature = "runtime"))]
mod runtime;
pub mod types;

pub use decimal::Decimal;
pub use money::Rounding;
pub use points::{
    invoice_grouping, invoice_numbering, invoice_run_filter, obligation_merge, revenue_allocation,
    tax, transaction_price,
};
pub use types::PluginError;

/// Re-exports used by the SDK's macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use alloc::format;
    pub use alloc::string::String;
    pub use alloc::vec::Vec;
    pub use wit_bindgen;
}

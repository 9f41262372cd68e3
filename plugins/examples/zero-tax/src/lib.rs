//! `zero-tax`: tax 0 on every line (spec 07 §10). The benchmark baseline (§12 B1) and the
//! smallest template for a Reckon plugin: a `no_std` crate, one trait implementation, one export
//! macro.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use reckon_plugin_sdk::tax::{LineTax, Money, PluginError, TaxCalculator, TaxRequest};

/// The plugin: every line gets tax 0 in the invoice currency and no breakups.
pub struct ZeroTax;

impl TaxCalculator for ZeroTax {
    fn calculate_tax(request: TaxRequest) -> Result<Vec<LineTax>, PluginError> {
        let invoice = request.invoice;
        let zero = Money::zero(&invoice.currency);
        Ok(invoice
            .lines
            .into_iter()
            .map(|line| LineTax {
                line_id: line.id,
                tax: zero.clone(),
                breakups: Vec::new(),
            })
            .collect())
    }
}

reckon_plugin_sdk::export_tax!(ZeroTax);

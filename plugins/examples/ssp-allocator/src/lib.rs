//! `ssp-allocator`: relative standalone-selling-price allocation (spec 07 §10, 06 §5).
//!
//! Each line's weight is its `ssp`, else its `list_price`, else its `net_price`; the total is the
//! sum of the lines' `transaction_price` (else `net_price`). The total is split by the weights
//! with the largest-remainder method (ties to the earlier line), so the allocations sum to the
//! transaction prices exactly.

#![no_std]

extern crate alloc;

use alloc::vec::Vec;

use reckon_plugin_sdk::money;
use reckon_plugin_sdk::revenue_allocation::{
    AgreementLine, AgreementRequest, Allocator, LineAmount, Money, PluginError,
};
use reckon_plugin_sdk::Decimal;

/// The plugin.
pub struct SspAllocator;

/// The line's SSP weight: `ssp`, else `list_price`, else `net_price`.
fn weight(line: &AgreementLine) -> &Money {
    line.ssp
        .as_ref()
        .or(line.list_price.as_ref())
        .unwrap_or(&line.net_price)
}

impl Allocator for SspAllocator {
    fn allocate(request: AgreementRequest) -> Result<Vec<LineAmount>, PluginError> {
        let agreement = request.agreement;
        let currency = agreement.currency.as_str();
        let mut total = Decimal::ZERO;
        let mut weights = Vec::with_capacity(agreement.lines.len());
        for line in &agreement.lines {
            let price = line.transaction_price.as_ref().unwrap_or(&line.net_price);
            total += price.decimal()?;
            weights.push(weight(line).decimal()?);
        }
        let parts = money::allocate(total, &weights, currency).map_err(|e| {
            if e.code == "all_weights_zero" {
                PluginError::new("ssp_all_zero", e.message)
            } else {
                e
            }
        })?;
        Ok(agreement
            .lines
            .into_iter()
            .zip(parts)
            .map(|(line, part)| LineAmount {
                line_id: line.id,
                amount: Money::from_decimal(part, currency),
            })
            .collect())
    }
}

reckon_plugin_sdk::export_revenue_allocation!(SspAllocator);

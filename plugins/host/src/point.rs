//! The seven callback points (07 §1) and their names in YAML, WIT and Rhai.

use std::fmt;

/// A callback point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Point {
    /// `tax`
    Tax,
    /// `invoice_grouping`
    InvoiceGrouping,
    /// `invoice_numbering`
    InvoiceNumbering,
    /// `invoice_run_filter`
    InvoiceRunFilter,
    /// `transaction_price`
    TransactionPrice,
    /// `revenue_allocation`
    RevenueAllocation,
    /// `obligation_merge`
    ObligationMerge,
}

impl Point {
    /// Every point, in 07 §1 order.
    pub const ALL: [Point; 7] = [
        Point::Tax,
        Point::InvoiceGrouping,
        Point::InvoiceNumbering,
        Point::InvoiceRunFilter,
        Point::TransactionPrice,
        Point::RevenueAllocation,
        Point::ObligationMerge,
    ];

    /// The YAML / CLI name (`--point`).
    pub fn name(self) -> &'static str {
        match self {
            Point::Tax => "tax",
            Point::InvoiceGrouping => "invoice_grouping",
            Point::InvoiceNumbering => "invoice_numbering",
            Point::InvoiceRunFilter => "invoice_run_filter",
            Point::TransactionPrice => "transaction_price",
            Point::RevenueAllocation => "revenue_allocation",
            Point::ObligationMerge => "obligation_merge",
        }
    }

    /// The WIT world.
    pub fn world(self) -> &'static str {
        match self {
            Point::Tax => "tax-calculator",
            Point::InvoiceGrouping => "invoice-grouper",
            Point::InvoiceNumbering => "invoice-numberer",
            Point::InvoiceRunFilter => "invoice-run-filter",
            Point::TransactionPrice => "transaction-pricer",
            Point::RevenueAllocation => "allocator",
            Point::ObligationMerge => "obligation-merger",
        }
    }

    /// The WIT export.
    pub fn export(self) -> &'static str {
        match self {
            Point::Tax => "calculate-tax",
            Point::InvoiceGrouping => "group-lines",
            Point::InvoiceNumbering => "number-invoice",
            Point::InvoiceRunFilter => "filter-lines",
            Point::TransactionPrice => "price-lines",
            Point::RevenueAllocation => "allocate",
            Point::ObligationMerge => "merge-obligations",
        }
    }

    /// The Rhai function.
    pub fn rhai_fn(self) -> &'static str {
        match self {
            Point::Tax => "calculate_tax",
            Point::InvoiceGrouping => "group_lines",
            Point::InvoiceNumbering => "number_invoice",
            Point::InvoiceRunFilter => "filter_lines",
            Point::TransactionPrice => "price_lines",
            Point::RevenueAllocation => "allocate",
            Point::ObligationMerge => "merge_obligations",
        }
    }

    /// The error code recorded on the affected record (07 §1).
    pub fn error_code(self) -> &'static str {
        match self {
            Point::Tax => "tax_calculation_error",
            Point::InvoiceGrouping => "invoice_grouping_error",
            Point::InvoiceNumbering => "numbering_error",
            Point::InvoiceRunFilter => "invoice_run_filter_error",
            Point::TransactionPrice | Point::ObligationMerge => "callback_failed",
            Point::RevenueAllocation => "callback_failed",
        }
    }

    /// Parse a YAML / CLI name.
    pub fn parse(s: &str) -> Option<Point> {
        Point::ALL.into_iter().find(|p| p.name() == s)
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

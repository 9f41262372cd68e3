//! One module, trait and export macro per callback point (spec 07 §1, §3).
//!
//! A point's export macro generates the point's WIT world inside the plugin crate (see
//! [`crate::bindings`]) and implements the world's `Guest` trait by forwarding to the SDK trait,
//! so the component describes exactly one world.

macro_rules! point {
    (
        $(#[$doc:meta])*
        mod $module:ident, world $world:tt, macro $macro_name:ident,
        $(#[$trait_doc:meta])*
        trait $trait_name:ident {
            fn $func:ident(request: $request:ident) -> $output:ty;
        }
        types { $($ty:ident),* $(,)? }
    ) => {
        $(#[$doc])*
        pub mod $module {
            pub use crate::types::{$($ty),*};

            $(#[$trait_doc])*
            #[doc = concat!(
                "\n\nExport the implementing type with [`", stringify!($macro_name), "!`](crate::",
                stringify!($macro_name), ")."
            )]
            pub trait $trait_name {
                #[doc = concat!("The world's export, called once per batch (spec 07 §1).")]
                fn $func(request: $request) -> Result<$output, PluginError>;
            }
        }

        #[doc = concat!(
            "Exports a type implementing [`", stringify!($module), "::", stringify!($trait_name),
            "`](crate::", stringify!($module), "::", stringify!($trait_name), ") as the ",
            "component's export of world `reckon:plugins/", $world, "@0.1.0`.\n\n",
            "Use it once, at the plugin crate's top level: `reckon_plugin_sdk::",
            stringify!($macro_name), "!(MyPlugin);`. It defines a hidden module ",
            "`__reckon_plugin_export` holding the generated bindings."
        )]
        #[macro_export]
        macro_rules! $macro_name {
            ($plugin:ident) => {
                #[doc(hidden)]
                #[allow(missing_docs, unused_qualifications, clippy::all)]
                mod __reckon_plugin_export {
                    $crate::__generate_world!($world);

                    struct Export;

                    impl Guest for Export {
                        fn $func(
                            request: $crate::types::$request,
                        ) -> ::core::result::Result<$output, $crate::types::PluginError> {
                            <super::$plugin as $crate::$module::$trait_name>::$func(request)
                        }
                    }

                    export!(Export);
                }
            };
        }
    };
}

point! {
    /// Point `tax` (world `tax-calculator` → `calculate-tax`).
    mod tax, world "tax-calculator", macro export_tax,
    /// Calculates the tax of one document (invoice or run credit memo): exactly one `line-tax` per
    /// input line, in minor units, breakups summing to the line tax; tax 0 and no breakups for
    /// lines with `taxable: false` or `exempt: true` (spec 07 §4).
    trait TaxCalculator {
        fn calculate_tax(request: TaxRequest) -> ::reckon_plugin_sdk::__private::Vec<::reckon_plugin_sdk::types::LineTax>;
    }
    types { TaxRequest, LineTax, TaxBreakup, JurisdictionLevel, Invoice, Line, Address, Money,
        DocumentKind, PluginError }
}

point! {
    /// Point `invoice_grouping` (world `invoice-grouper` → `group-lines`).
    mod invoice_grouping, world "invoice-grouper", macro export_invoice_grouping,
    /// Splits one account's built-in invoice candidates (`default_groups`) into groups of line
    /// ids: an exact partition, no empty group, unique keys, every group inside one candidate
    /// (spec 07 §4).
    trait InvoiceGrouper {
        fn group_lines(request: GroupingRequest) -> ::reckon_plugin_sdk::__private::Vec<::reckon_plugin_sdk::types::LineGroup>;
    }
    types { GroupingRequest, LineGroup, Line, RunInfo, Account, PluginError }
}

point! {
    /// Point `invoice_numbering` (world `invoice-numberer` → `number-invoice`).
    mod invoice_numbering, world "invoice-numberer", macro export_invoice_numbering,
    /// Numbers the document being approved: 1–64 characters of `[A-Za-z0-9._/-]`, unique per
    /// legal entity and document type (spec 07 §4). `request.sequence` is the row's next value.
    trait InvoiceNumberer {
        fn number_invoice(request: NumberingRequest) -> ::reckon_plugin_sdk::__private::String;
    }
    types { NumberingRequest, Invoice, DocumentKind, PluginError }
}

point! {
    /// Point `invoice_run_filter` (world `invoice-run-filter` → `filter-lines`).
    mod invoice_run_filter, world "invoice-run-filter", macro export_invoice_run_filter,
    /// Returns the ids of the chunk's lines (invoice runs) or agreements (revenue runs, when
    /// `lines` is empty) that pass the custom filter row: a subset of the input ids (spec 07 §4).
    trait InvoiceRunFilter {
        fn filter_lines(request: FilterRequest) -> ::reckon_plugin_sdk::__private::Vec<::reckon_plugin_sdk::__private::String>;
    }
    types { FilterRequest, RunInfo, Account, Line, Agreement, PluginError }
}

point! {
    /// Point `transaction_price` (world `transaction-pricer` → `price-lines`).
    mod transaction_price, world "transaction-pricer", macro export_transaction_price,
    /// Returns exactly one transaction price per agreement line, in the agreement currency and its
    /// minor units (spec 07 §4, 06 §5).
    trait TransactionPricer {
        fn price_lines(request: AgreementRequest) -> ::reckon_plugin_sdk::__private::Vec<::reckon_plugin_sdk::types::LineAmount>;
    }
    types { AgreementRequest, Agreement, AgreementLine, LineAmount, Money, PluginError }
}

point! {
    /// Point `revenue_allocation` (world `allocator` → `allocate`).
    mod revenue_allocation, world "allocator", macro export_revenue_allocation,
    /// Returns exactly one allocation per agreement line; the allocations sum exactly to the
    /// lines' transaction prices (spec 07 §4, 06 §5).
    trait Allocator {
        fn allocate(request: AgreementRequest) -> ::reckon_plugin_sdk::__private::Vec<::reckon_plugin_sdk::types::LineAmount>;
    }
    types { AgreementRequest, Agreement, AgreementLine, LineAmount, Money, PluginError }
}

point! {
    /// Point `obligation_merge` (world `obligation-merger` → `merge-obligations`).
    mod obligation_merge, world "obligation-merger", macro export_obligation_merge,
    /// Returns obligation plans partitioning the candidate ids; `existing` names at most one
    /// plan's input open obligation (spec 07 §4).
    trait ObligationMerger {
        fn merge_obligations(request: ObligationRequest) -> ::reckon_plugin_sdk::__private::Vec<::reckon_plugin_sdk::types::ObligationPlan>;
    }
    types { ObligationRequest, ObligationCandidate, OpenObligation, ObligationPlan, Agreement,
        PluginError }
}

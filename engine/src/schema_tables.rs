//! The schema of every rule document and host record (spec 01, with the keys 03–07 add).
//! Validation, `reckon rules schema` and the docs all read these tables.

use crate::schema::{opt, req, Field, Ty};

const FREQ: Ty = Ty::Enum(&["monthly", "quarterly", "half_yearly", "yearly"]);
const DAY_OF_MONTH: Ty = Ty::Either(&[Ty::Int(1, 31), Ty::Enum(&["end_of_month"])]);
const CALENDAR_START: Ty = Ty::Either(&[Ty::Enum(&["none", "account"]), Ty::Month]);
const ROUNDING: Ty = Ty::Enum(&["half_up", "half_even"]);
const STRINGS: Ty = Ty::List(&Ty::Text);
const ATTRIBUTES: Ty = Ty::Map(&Ty::Text);
const LIMITS: Ty = Ty::Obj(&[
    opt("fuel", Ty::Int(1, 1_000_000_000), "WASM fuel per call"),
    opt("max_operations", Ty::Int(1, 100_000_000), "Rhai operations per call"),
    opt("timeout_ms", Ty::Int(1, 10_000), "wall-clock backstop per call"),
    opt("memory_mib", Ty::Int(1, 256), "WASM linear memory"),
    opt("max_input_kib", Ty::Int(1, 16_384), "input size"),
    opt("max_output_kib", Ty::Int(1, 16_384), "output size"),
    opt("max_host_calls", Ty::Int(0, 100_000), "log / print calls per call"),
    opt("max_log_bytes", Ty::Int(0, 65_536), "log bytes per call"),
    opt("max_call_depth", Ty::Int(1, 128), "Rhai call depth"),
    opt("max_string_kib", Ty::Int(1, 1_024), "Rhai string size"),
    opt("max_array_len", Ty::Int(1, 1_000_000), "Rhai array length"),
    opt("max_map_len", Ty::Int(1, 1_000_000), "Rhai map size"),
]);
const REGISTRATION: Ty = Ty::Obj(&[
    opt("wasm", Ty::Text, "path of a .wasm component, relative to this file"),
    opt("rhai", Ty::Text, "path of a .rhai script, relative to this file"),
    opt("config", Ty::Map(&Ty::Text), "passed to every call as request.config"),
    opt("limits", LIMITS, "overrides callbacks.limits key by key"),
]);
const POINT: Ty = Ty::Either(&[REGISTRATION, Ty::Text]);
const TAX_EXEMPT: Ty = Ty::Obj(&[
    req("status", Ty::Enum(&["approved", "processing", "rejected"]), "certificate status"),
    opt("certificate", Ty::Text, "certificate id"),
    opt("effective", Ty::Date, "first day of the exemption"),
    opt("expires", Ty::Date, "last day of the exemption"),
    opt("tax_codes", STRINGS, "tax codes exempted (all when absent)"),
]);
const AUTO_APPLY: Ty = Ty::Bool;

/// `billing_preferences` rows.
pub const BILLING_PREFERENCE: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt("default", Ty::Bool, "the org default; at most one"),
    opt("active", Ty::Bool, "an inactive preference still applies where already assigned"),
    opt(
        "billing_cycle_start",
        Ty::Enum(&[
            "billing_day_of_month",
            "ready_for_billing_date",
            "period_start_date",
            "order_date",
            "account_billing_day_of_month",
        ]),
        "where the cycle day comes from",
    ),
    opt("billing_day_of_month", DAY_OF_MONTH, "cycle day for billing_day_of_month"),
    opt("calendar_cycle_start", CALENDAR_START, "aligns quarterly / half-yearly / yearly periods"),
    opt(
        "proration_period_treatment",
        Ty::Enum(&["separate_period", "ignore", "charge_full", "combine_with_first_period"]),
        "how stubs are charged",
    ),
    opt(
        "proration_day_count",
        Ty::Enum(&["billing_period", "calendar_month", "thirty_360", "actual_365"]),
        "how a partial period is measured",
    ),
    opt("rounding", ROUNDING, "rounding of billing money"),
    opt("tax_level", Ty::Enum(&["account", "product"]), "whose tax settings apply"),
    opt("invoice_delivery", Ty::Enum(&["email", "print"]), ""),
    opt("invoice_format", Ty::Enum(&["pdf", "html", "json"]), "document format"),
    opt("allow_payment_term_override", Ty::Bool, "lower levels may override the payment term"),
    opt("allow_preference_override", Ty::Bool, "lower levels may override this preference"),
    opt("create_informational", Ty::Bool, "false = do not create informational schedules"),
    opt("hide_informational", Ty::Bool, "informational schedules produce no invoice lines"),
]);

/// `payment_terms` rows.
pub const PAYMENT_TERM: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt("label", Ty::Text, "printed label"),
    opt("sequence", Ty::Int(0, i64::MAX), "display order"),
    opt("default", Ty::Bool, "the default term; at most one"),
    opt("start", Ty::Enum(&["invoice_date", "specific_day", "end_of_month", "end_of_quarter"]), "base date"),
    opt("start_value", Ty::Int(1, 31), "day for specific_day"),
    opt(
        "offset",
        Ty::Either(&[
            Ty::Obj(&[req("days", Ty::Int(0, 3650), "days after the base")]),
            Ty::Obj(&[req("months", Ty::Int(0, 120), "months after the base")]),
        ]),
        "{days: N} or {months: N}",
    ),
    opt("offset_occurrence", Ty::Int(1, 12), "N-th occurrence of the start_value day"),
    opt("late_fee_policy", Ty::Text, "05 §4.1"),
]);

/// `products` rows.
pub const PRODUCT: Ty = Ty::Obj(&[
    req("code", Ty::Text, "unique code"),
    opt("name", Ty::Text, "display name"),
    req("price_type", Ty::Enum(&["one_time", "recurring", "usage"]), ""),
    opt("list_price", Ty::Money(true), "per selling_frequency unit (per unit for usage)"),
    opt("selling_frequency", Ty::Enum(&["monthly", "quarterly", "half_yearly", "yearly", "one_time"]), "period the price covers"),
    opt(
        "billing_frequency",
        Ty::Enum(&["monthly", "quarterly", "half_yearly", "yearly", "single_period", "one_time", "usage"]),
        "drives schedules",
    ),
    opt("billing_rule", Ty::Enum(&["advance", "arrears", "ready_for_billing_date"]), "ready-for-invoice date"),
    opt("ready_for_invoice_offset_days", Ty::Int(0, 3650), "added to the ready date"),
    opt("taxable", Ty::Bool, "untaxed unless true"),
    opt("tax_inclusive", Ty::Bool, "price includes tax"),
    opt("tax_code", Ty::Text, "tax code"),
    opt("bundle_invoice_level", Ty::Enum(&["bundle", "detail"]), "contracted vs informational"),
    opt("options", STRINGS, "bundle options (product codes)"),
    opt(
        "auto_renewal",
        Ty::Obj(&[
            req("type", Ty::Enum(&["fixed", "evergreen"]), ""),
            req("term", Ty::Int(1, 1200), "evergreen: schedules kept ahead"),
        ]),
        "",
    ),
    opt("usage_tiers", Ty::Text, "name of a usage_tiers document"),
    opt("minimum_commitment", Ty::Obj(&[req("amount", Ty::Money(true), "")]), "03 B.3"),
    opt("usage_frequency", FREQ, "length of usage rows"),
    opt("usage_tiers_modifiable", Ty::Bool, "amend may name new usage_tiers"),
    opt(
        "unit_of_measure",
        Ty::Enum(&["each", "hour", "day", "month", "year", "quarter", "case", "gallon"]),
        "",
    ),
    opt("included_quantity", Ty::Decimal("0", ""), "free units per usage row"),
    opt("quantity_scale", Ty::Int(0, 9), "decimals kept on quantities"),
    opt("quantity_rounding", Ty::Enum(&["half_up", "half_even", "up", "down"]), ""),
    opt("billing_plan", Ty::Text, "billing plan template"),
    opt("revenue_policy", Ty::Text, "revenue policy or none"),
    opt("split_merge_policy", Ty::Text, "split/merge policy"),
    opt("ssp", Ty::Money(false), "standalone selling price"),
    opt("attributes", ATTRIBUTES, "passed to plugins"),
]);

const LOCATION: Ty = Ty::Obj(&[
    req("id", Ty::Text, "unique within the account"),
    opt("name", Ty::Text, ""),
    opt("line1", Ty::Text, ""),
    opt("line2", Ty::Text, ""),
    opt("city", Ty::Text, ""),
    opt("county", Ty::Text, ""),
    opt("country", Ty::Text, ""),
    opt("postal_code", Ty::Text, ""),
    opt("region", Ty::Text, ""),
    opt("billing_preference", Ty::Text, ""),
    opt("payment_term", Ty::Text, ""),
    opt("invoice_separately", Ty::Bool, ""),
    opt("tax_exempt", TAX_EXEMPT, ""),
    opt("invoice_template", Ty::Text, ""),
    opt("credit_memo_template", Ty::Text, ""),
    opt("statement_template", Ty::Text, ""),
    opt("invoice_email_template", Ty::Text, ""),
    opt("credit_memo_email_template", Ty::Text, ""),
    opt("late_fee_policy", Ty::Text, ""),
]);

/// `accounts` records.
pub const ACCOUNT: Ty = Ty::Obj(&[
    req("id", Ty::Text, "unique id"),
    opt("name", Ty::Text, ""),
    opt("currency", Ty::Currency, "ISO 4217 (a scenario's envelope currency when absent)"),
    opt("parent", Ty::Text, "parent account id"),
    opt("billing_preference", Ty::Text, ""),
    opt("payment_term", Ty::Text, ""),
    opt("billing_day_of_month", DAY_OF_MONTH, "for account_billing_day_of_month"),
    opt("calendar_cycle_start", Ty::Either(&[Ty::Enum(&["none"]), Ty::Month]), "for calendar_cycle_start: account"),
    opt("tax_exempt", TAX_EXEMPT, ""),
    opt("invoice_template", Ty::Text, ""),
    opt("credit_memo_template", Ty::Text, ""),
    opt("statement_template", Ty::Text, ""),
    opt("invoice_email_template", Ty::Text, ""),
    opt("credit_memo_email_template", Ty::Text, ""),
    opt("billing_contacts", Ty::List(&Ty::Any), ""),
    opt("legal_entity", Ty::Text, ""),
    opt("locations", Ty::List(&LOCATION), ""),
    opt("late_fee_policy", Ty::Text, ""),
    opt("auto_apply", AUTO_APPLY, "auto-apply payments"),
    opt("attributes", ATTRIBUTES, "passed to plugins"),
    opt("last_invoice_through", Ty::Date, "engine-maintained"),
]);

/// `legal_entities` records.
pub const LEGAL_ENTITY: Ty = Ty::Obj(&[
    req("id", Ty::Text, "unique id"),
    opt("name", Ty::Text, ""),
    req("currency", Ty::Currency, "ISO 4217"),
    opt("invoice_number_prefix", Ty::Text, ""),
    opt("revenue_period", Ty::Date, "first open revenue period (month end)"),
]);

const SEGMENT: Ty = Ty::Obj(&[
    req("start", Ty::Date, "segment start"),
    opt("end", Ty::Date, "segment end"),
    opt("quantity", Ty::Decimal("0", ""), ""),
    opt("net_price", Ty::Money(false), ""),
    opt("list_price", Ty::Money(true), ""),
    opt("discount_percent", Ty::Decimal("0", "100"), ""),
]);

const ORDER_LINE: Ty = Ty::Obj(&[
    req("id", Ty::Text, "unique within the order"),
    req("product", Ty::Text, "product code"),
    opt("quantity", Ty::Decimal("0", ""), "default 1"),
    opt("start", Ty::Date, "first day"),
    opt("end", Ty::Date, "last day (inclusive)"),
    opt("net_price", Ty::Money(false), "the line's total for its term"),
    opt("list_price", Ty::Money(true), "overrides the product's"),
    opt("discount_percent", Ty::Decimal("0", "100"), ""),
    opt("bill_to", Ty::Text, "bill-to account"),
    opt("ship_to", Ty::Text, "ship-to location"),
    opt("sold_to", Ty::Text, "sold-to account"),
    opt("billing_preference", Ty::Text, ""),
    opt("payment_term", Ty::Text, ""),
    opt("parent", Ty::Text, "bundle line id"),
    opt("options", STRINGS, "option line ids"),
    opt("segments", Ty::List(&SEGMENT), "ramps (03 A.6)"),
    opt("billing_plan", Ty::Any, "03 C.1"),
    opt("ssp", Ty::Money(false), "06 §3"),
    opt("attributes", ATTRIBUTES, "passed to plugins"),
]);

/// `orders` records.
pub const ORDER: Ty = Ty::Obj(&[
    req("id", Ty::Text, "unique id"),
    req("account", Ty::Text, "account id"),
    opt("location", Ty::Text, "account location id"),
    opt("order_date", Ty::Date, ""),
    opt("ready_for_billing_date", Ty::Date, ""),
    opt("ready_for_revenue_date", Ty::Date, ""),
    opt("billing_preference", Ty::Text, ""),
    opt("payment_term", Ty::Text, ""),
    req("lines", Ty::List(&ORDER_LINE), ""),
]);

/// The `system` map.
pub const SYSTEM: Ty = Ty::Obj(&[
    opt("batch_size", Ty::Int(1, 1_000_000), "accounts per batch"),
    opt("same_day_cancellation", Ty::Bool, "03 A.1"),
    opt("create_redundant_schedules", Ty::Bool, "03 A.1"),
    opt("generate_documents", Ty::Bool, "04 §2.4"),
    opt("tax_rounding", Ty::Enum(&["per_invoice", "per_line"]), "04 §5"),
    opt("invoice_email_delivery_period", Ty::Int(0, 3650), "days"),
    opt("email", Ty::Map(&Ty::Any), "04 §11.3"),
    opt("auto_apply", AUTO_APPLY, "05 §2"),
    opt("enable_asc606", Ty::Bool, "06 §3"),
    opt("ignore_leap_year", Ty::Bool, "06 §3"),
    opt("revenue_allocation", Ty::Enum(&["transaction_price", "relative_ssp"]), "06 §5"),
    opt("default_revenue_policy", Ty::Text, "06 §3"),
    opt("agreement_auto_activate", Ty::Bool, "06 §3"),
    opt("gl_revenue_account", Ty::Text, "06 §11"),
    opt("gl_deferred_account", Ty::Text, "06 §11"),
]);

/// The `callbacks` map (07 §2).
pub const CALLBACKS: Ty = Ty::Obj(&[
    opt("limits", LIMITS, "defaults for every plugin"),
    opt("tax", POINT, ""),
    opt("invoice_grouping", POINT, ""),
    opt("transaction_price", POINT, ""),
    opt("revenue_allocation", POINT, ""),
    opt("obligation_merge", POINT, ""),
    opt("plugins", Ty::Map(&REGISTRATION), "named plugins"),
]);

/// Every top-level document of a rules folder: name, schema of one row (lists) or of the map,
/// whether it is a list, and what names its rows (for duplicate detection).
pub struct DocSpec {
    /// Document key.
    pub name: &'static str,
    /// Schema of one row (lists) or of the whole map.
    pub ty: Ty,
    /// Lists merge by concatenation; maps merge key by key.
    pub list: bool,
    /// The row key that must be unique across files.
    pub key: Option<&'static str>,
    /// Which spec defines it.
    pub spec: &'static str,
}

const fn list(name: &'static str, ty: Ty, key: Option<&'static str>, spec: &'static str) -> DocSpec {
    DocSpec { name, ty, list: true, key, spec }
}

/// A domain document whose rows are defined by a later spec; rows are maps checked by that spec.
const OPEN_ROW: Ty = Ty::Map(&Ty::Any);

/// The table of documents.
pub const DOCUMENTS: &[DocSpec] = &[
    list("billing_preferences", BILLING_PREFERENCE, Some("name"), "01"),
    list("payment_terms", PAYMENT_TERM, Some("name"), "01"),
    list("products", PRODUCT, Some("code"), "01"),
    list("accounts", ACCOUNT, Some("id"), "01"),
    list("legal_entities", LEGAL_ENTITY, Some("id"), "01"),
    list("orders", ORDER, Some("id"), "01"),
    list("billing_plans", OPEN_ROW, Some("name"), "03 C.1"),
    list("usage_tiers", OPEN_ROW, Some("name"), "03 B.1"),
    list("invoice_runs", OPEN_ROW, Some("name"), "04 §2.1"),
    list("templates", OPEN_ROW, Some("name"), "04 §2.4"),
    list("tax_rates", OPEN_ROW, None, "04 §5.1"),
    list("numbering", OPEN_ROW, None, "04 §7"),
    list("late_fee_policies", OPEN_ROW, Some("name"), "05 §4.1"),
    list("aging_buckets", OPEN_ROW, Some("name"), "05 §5"),
    list("wallet_policies", OPEN_ROW, Some("name"), "05 §3.1"),
    list("revenue_policies", OPEN_ROW, Some("name"), "06 §3"),
    list("split_merge_policies", OPEN_ROW, Some("name"), "06 §3"),
    list("revenue_runs", OPEN_ROW, Some("name"), "06 §9"),
    DocSpec { name: "system", ty: SYSTEM, list: false, key: None, spec: "01" },
    DocSpec { name: "callbacks", ty: CALLBACKS, list: false, key: None, spec: "07 §2" },
];

/// Look a document up by name.
pub fn document(name: &str) -> Option<&'static DocSpec> {
    DOCUMENTS.iter().find(|d| d.name == name)
}

/// The JSON Schema of a rule file (`reckon rules schema`).
pub fn rules_json_schema() -> serde_json::Value {
    let props: serde_json::Map<String, serde_json::Value> = DOCUMENTS
        .iter()
        .map(|d| {
            let mut s = if d.list { Ty::List(&d.ty).json_schema() } else { d.ty.json_schema() };
            if let Some(o) = s.as_object_mut() {
                o.insert("description".into(), format!("spec {}", d.spec).into());
            }
            (d.name.to_string(), s)
        })
        .collect();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Reckon rule file",
        "type": "object",
        "properties": props,
        "additionalProperties": false,
    })
}

/// All fields of an object type (empty for other types).
pub fn fields(ty: &Ty) -> &'static [Field] {
    match ty {
        Ty::Obj(f) => f,
        _ => &[],
    }
}

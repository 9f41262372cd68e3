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
    opt(
        "max_operations",
        Ty::Int(1, 100_000_000),
        "Rhai operations per call",
    ),
    opt(
        "timeout_ms",
        Ty::Int(1, 10_000),
        "wall-clock backstop per call",
    ),
    opt("memory_mib", Ty::Int(1, 256), "WASM linear memory"),
    opt("max_input_kib", Ty::Int(1, 16_384), "input size"),
    opt("max_output_kib", Ty::Int(1, 16_384), "output size"),
    opt(
        "max_host_calls",
        Ty::Int(0, 100_000),
        "log / print calls per call",
    ),
    opt("max_log_bytes", Ty::Int(0, 65_536), "log bytes per call"),
    opt("max_call_depth", Ty::Int(1, 128), "Rhai call depth"),
    opt("max_string_kib", Ty::Int(1, 1_024), "Rhai string size"),
    opt("max_array_len", Ty::Int(1, 1_000_000), "Rhai array length"),
    opt("max_map_len", Ty::Int(1, 1_000_000), "Rhai map size"),
]);
const REGISTRATION: Ty = Ty::Obj(&[
    opt(
        "wasm",
        Ty::Text,
        "path of a .wasm component, relative to this file",
    ),
    opt(
        "rhai",
        Ty::Text,
        "path of a .rhai script, relative to this file",
    ),
    opt(
        "config",
        Ty::Map(&Ty::Text),
        "passed to every call as request.config",
    ),
    opt("limits", LIMITS, "overrides callbacks.limits key by key"),
]);
const POINT: Ty = Ty::Either(&[REGISTRATION, Ty::Text]);
const TAX_EXEMPT: Ty = Ty::Obj(&[
    req(
        "status",
        Ty::Enum(&["approved", "processing", "rejected"]),
        "certificate status",
    ),
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
    opt(
        "active",
        Ty::Bool,
        "an inactive preference still applies where already assigned",
    ),
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
    opt(
        "billing_day_of_month",
        DAY_OF_MONTH,
        "cycle day for billing_day_of_month",
    ),
    opt(
        "calendar_cycle_start",
        CALENDAR_START,
        "aligns quarterly / half-yearly / yearly periods",
    ),
    opt(
        "proration_period_treatment",
        Ty::Enum(&[
            "separate_period",
            "ignore",
            "charge_full",
            "combine_with_first_period",
        ]),
        "how stubs are charged",
    ),
    opt(
        "proration_day_count",
        Ty::Enum(&[
            "billing_period",
            "calendar_month",
            "thirty_360",
            "actual_365",
        ]),
        "how a partial period is measured",
    ),
    opt("rounding", ROUNDING, "rounding of billing money"),
    opt(
        "tax_level",
        Ty::Enum(&["account", "product"]),
        "whose tax settings apply",
    ),
    opt("invoice_delivery", Ty::Enum(&["email", "print"]), ""),
    opt(
        "invoice_format",
        Ty::Enum(&["pdf", "html", "json"]),
        "document format",
    ),
    opt(
        "allow_payment_term_override",
        Ty::Bool,
        "lower levels may override the payment term",
    ),
    opt(
        "allow_preference_override",
        Ty::Bool,
        "lower levels may override this preference",
    ),
    opt(
        "create_informational",
        Ty::Bool,
        "false = do not create informational schedules",
    ),
    opt(
        "hide_informational",
        Ty::Bool,
        "informational schedules produce no invoice lines",
    ),
]);

/// `payment_terms` rows.
pub const PAYMENT_TERM: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt("label", Ty::Text, "printed label"),
    opt("sequence", Ty::Int(0, i64::MAX), "display order"),
    opt("default", Ty::Bool, "the default term; at most one"),
    opt(
        "start",
        Ty::Enum(&[
            "invoice_date",
            "specific_day",
            "end_of_month",
            "end_of_quarter",
        ]),
        "base date",
    ),
    opt("start_value", Ty::Int(1, 31), "day for specific_day"),
    opt(
        "offset",
        Ty::Either(&[
            Ty::Obj(&[req("days", Ty::Int(0, 3650), "days after the base")]),
            Ty::Obj(&[req("months", Ty::Int(0, 120), "months after the base")]),
        ]),
        "{days: N} or {months: N}",
    ),
    opt(
        "offset_occurrence",
        Ty::Int(1, 12),
        "N-th occurrence of the start_value day",
    ),
    opt("late_fee_policy", Ty::Text, "05 §4.1"),
]);

/// `products` rows.
pub const PRODUCT: Ty = Ty::Obj(&[
    req("code", Ty::Text, "unique code"),
    opt("name", Ty::Text, "display name"),
    req(
        "price_type",
        Ty::Enum(&["one_time", "recurring", "usage"]),
        "",
    ),
    opt(
        "list_price",
        Ty::Money(true),
        "per selling_frequency unit (per unit for usage)",
    ),
    opt(
        "selling_frequency",
        Ty::Enum(&["monthly", "quarterly", "half_yearly", "yearly", "one_time"]),
        "period the price covers",
    ),
    opt(
        "billing_frequency",
        Ty::Enum(&[
            "monthly",
            "quarterly",
            "half_yearly",
            "yearly",
            "single_period",
            "one_time",
            "usage",
        ]),
        "drives schedules",
    ),
    opt(
        "billing_rule",
        Ty::Enum(&["advance", "arrears", "ready_for_billing_date"]),
        "ready-for-invoice date",
    ),
    opt(
        "ready_for_invoice_offset_days",
        Ty::Int(0, 3650),
        "added to the ready date",
    ),
    opt("taxable", Ty::Bool, "untaxed unless true"),
    opt("tax_inclusive", Ty::Bool, "price includes tax"),
    opt("tax_code", Ty::Text, "tax code"),
    opt(
        "bundle_invoice_level",
        Ty::Enum(&["bundle", "detail"]),
        "contracted vs informational",
    ),
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
    opt(
        "minimum_commitment",
        Ty::Obj(&[req("amount", Ty::Money(true), "")]),
        "03 B.3",
    ),
    opt("usage_frequency", FREQ, "length of usage rows"),
    opt(
        "usage_tiers_modifiable",
        Ty::Bool,
        "amend may name new usage_tiers",
    ),
    opt(
        "unit_of_measure",
        Ty::Enum(&[
            "each", "hour", "day", "month", "year", "quarter", "case", "gallon",
        ]),
        "",
    ),
    opt(
        "included_quantity",
        Ty::Decimal("0", ""),
        "free units per usage row",
    ),
    opt(
        "quantity_scale",
        Ty::Int(0, 9),
        "decimals kept on quantities",
    ),
    opt(
        "quantity_rounding",
        Ty::Enum(&["half_up", "half_even", "up", "down"]),
        "",
    ),
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
    opt(
        "currency",
        Ty::Currency,
        "ISO 4217 (a scenario's envelope currency when absent)",
    ),
    opt("parent", Ty::Text, "parent account id"),
    opt("billing_preference", Ty::Text, ""),
    opt("payment_term", Ty::Text, ""),
    opt(
        "billing_day_of_month",
        DAY_OF_MONTH,
        "for account_billing_day_of_month",
    ),
    opt(
        "calendar_cycle_start",
        Ty::Either(&[Ty::Enum(&["none"]), Ty::Month]),
        "for calendar_cycle_start: account",
    ),
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
    opt(
        "revenue_period",
        Ty::Date,
        "first open revenue period (month end)",
    ),
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
    opt(
        "net_price",
        Ty::Money(false),
        "the line's total for its term",
    ),
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
    opt(
        "billing_plan",
        LINE_BILLING_PLAN,
        "03 C.1: a template name, a template reference or an inline plan",
    ),
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
    opt(
        "tax_rounding",
        Ty::Enum(&["per_invoice", "per_line"]),
        "04 §5",
    ),
    opt("invoice_email_delivery_period", Ty::Int(0, 3650), "days"),
    opt("email", EMAIL, "04 §11.3"),
    opt("auto_apply", AUTO_APPLY, "05 §2"),
    opt("enable_asc606", Ty::Bool, "06 §3"),
    opt("ignore_leap_year", Ty::Bool, "06 §3"),
    opt(
        "revenue_allocation",
        Ty::Enum(&["transaction_price", "relative_ssp"]),
        "06 §5",
    ),
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

/// `system.email` (04 §11.3).
const EMAIL: Ty = Ty::Obj(&[
    opt("smtp_host", Ty::Text, "SMTP server host name"),
    opt("smtp_port", Ty::Int(1, 65_535), "SMTP server port"),
    opt(
        "security",
        Ty::Enum(&["none", "starttls", "tls"]),
        "transport security",
    ),
    opt("username", Ty::Text, "SMTP user name"),
    opt(
        "password_env",
        Ty::Text,
        "name of the environment variable holding the SMTP password",
    ),
    opt("from", Ty::Text, "sender address (format not checked here)"),
    opt(
        "max_attempts",
        Ty::Int(1, 1_000),
        "delivery attempts before `failed` (default 5)",
    ),
    opt(
        "retry_minutes",
        Ty::List(&Ty::Int(0, 525_600)),
        "backoff in minutes (default [1, 5, 30, 120])",
    ),
]);

// ---- 03: usage tiers and billing plans -------------------------------------------------------

const TIER: Ty = Ty::Obj(&[
    opt(
        "up_to",
        Ty::Decimal("0", ""),
        "upper bound (inclusive) of the tier; omitted on the last tier only",
    ),
    opt(
        "unit_price",
        Ty::Money(true),
        "price per unit in the tier; not allowed for flat_per_tier",
    ),
    opt(
        "flat_fee",
        Ty::Money(true),
        "fee charged once the tier is reached (default 0)",
    ),
]);

/// `usage_tiers` rows (03 B.1).
pub const USAGE_TIERS: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    req(
        "model",
        Ty::Enum(&[
            "per_unit",
            "graduated",
            "volume",
            "flat_per_tier",
            "package",
        ]),
        "rating model (the spec states no default)",
    ),
    opt("unit_price", Ty::Money(true), "per_unit only"),
    opt(
        "tiers",
        Ty::List(&TIER),
        "graduated, volume and flat_per_tier only",
    ),
    opt(
        "package_size",
        Ty::Decimal("0", ""),
        "package only; must be > 0",
    ),
    opt(
        "package_price",
        Ty::Money(true),
        "package only; price of one started package",
    ),
]);

const PLAN_OFFSET: Ty = Ty::Either(&[
    Ty::Obj(&[req(
        "months",
        Ty::Int(0, 1_200),
        "months after the previous item's start",
    )]),
    Ty::Obj(&[req(
        "days",
        Ty::Int(0, 36_500),
        "days after the previous item's start",
    )]),
]);

const TEMPLATE_ITEM: Ty = Ty::Obj(&[
    req("name", Ty::Text, "item name, stamped on its row as `item`"),
    req(
        "percent",
        Ty::Decimal("0", "100"),
        "share of the line's net price; the items sum to exactly 100",
    ),
    opt(
        "offset",
        PLAN_OFFSET,
        "{months: N} or {days: N} after the plan start (item 1) or the previous item",
    ),
    opt(
        "payment_term",
        Ty::Text,
        "payment term of the item's invoice",
    ),
]);

/// `billing_plans` rows: templates, fixed plans only (03 C.1).
pub const BILLING_PLAN: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt(
        "start",
        Ty::Enum(&["line_start", "given"]),
        "plan start: the line start (default) or given on the order line",
    ),
    opt(
        "installments",
        Ty::Int(1, 1_200),
        "must equal the number of items",
    ),
    req("items", Ty::List(&TEMPLATE_ITEM), "the plan items in order"),
    opt("description", Ty::Text, "free text"),
]);

const PLAN_ITEM: Ty = Ty::Obj(&[
    req("name", Ty::Text, "item name, stamped on its row as `item`"),
    opt("start", Ty::Date, "fixed plans: first day of the item"),
    opt("end", Ty::Date, "fixed plans: last day of the item"),
    opt(
        "ready",
        Ty::Date,
        "fixed plans: ready-for-invoice date (default start)",
    ),
    opt(
        "percent",
        Ty::Decimal("0", "100"),
        "method percent: share of the line's net price",
    ),
    opt(
        "amount",
        Ty::Money(false),
        "method amount: the item's amount",
    ),
    opt(
        "payment_term",
        Ty::Text,
        "payment term of the item's invoice",
    ),
]);

/// An order line's `billing_plan` (03 C.1).
const LINE_BILLING_PLAN: Ty = Ty::Either(&[
    Ty::Text,
    Ty::Obj(&[
        req(
            "type",
            Ty::Enum(&["fixed", "milestone"]),
            "inline plan kind",
        ),
        req(
            "method",
            Ty::Enum(&["percent", "amount", "split_evenly"]),
            "how item amounts are found",
        ),
        req("items", Ty::List(&PLAN_ITEM), "the plan items in order"),
    ]),
    Ty::Obj(&[
        req("template", Ty::Text, "name of a billing_plans template"),
        opt(
            "start",
            Ty::Date,
            "plan start; required iff the template has start: given",
        ),
        opt("end", Ty::Date, "plan end (default the line end)"),
    ]),
]);

// ---- 04: invoicing ---------------------------------------------------------------------------

const FILTER_OP: Ty = Ty::Enum(&[
    "equals",
    "not_equals",
    "starts_with",
    "contains",
    "in",
    "lt",
    "le",
    "gt",
    "ge",
    "is_empty",
]);
const FILTER_VALUE: Ty = Ty::Either(&[Ty::Text, Ty::List(&Ty::Text)]);
const CUSTOM_FILTER_ROW: Ty = Ty::Obj(&[
    req(
        "n",
        Ty::Int(1, i64::MAX),
        "row number, unique within the run",
    ),
    req("object", Ty::Enum(&["custom"]), "a filter callback (07)"),
    req(
        "callback",
        Ty::Text,
        "name of a plugin in callbacks.plugins",
    ),
]);

/// `invoice_runs` filter rows (04 §2.2).
const INVOICE_FILTER_ROW: Ty = Ty::Either(&[
    Ty::Obj(&[
        req(
            "n",
            Ty::Int(1, i64::MAX),
            "row number, unique within the run",
        ),
        req(
            "object",
            Ty::Enum(&["account", "location", "product", "order"]),
            "the record the row tests",
        ),
        req(
            "field",
            Ty::Text,
            "any scalar field of that record in 01 (checked by rules check)",
        ),
        req("op", FILTER_OP, "comparison"),
        opt(
            "value",
            FILTER_VALUE,
            "text, number or date; a list for `in`; none for `is_empty`",
        ),
    ]),
    CUSTOM_FILTER_ROW,
]);

const WEEKDAY: Ty = Ty::Enum(&[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
]);
const RUN_SCHEDULE_TYPE: Ty = Ty::Enum(&["weekly", "monthly_by_date", "monthly_by_day"]);
const WEEK: Ty = Ty::Enum(&["first", "second", "third", "fourth", "last"]);

/// `invoice_runs[].schedule` (04 §2.3).
const INVOICE_RUN_SCHEDULE: Ty = Ty::Obj(&[
    req("type", RUN_SCHEDULE_TYPE, "recurrence"),
    opt("weekday", WEEKDAY, "weekly and monthly_by_day"),
    opt(
        "day",
        DAY_OF_MONTH,
        "monthly_by_date; clamped to the month's last day",
    ),
    opt("week", WEEK, "monthly_by_day (\"second Monday\")"),
    opt(
        "time",
        Ty::Time,
        "preferred start HH:MM (default 00:00); orders runs on one day",
    ),
    opt("from", Ty::Date, "first possible occurrence"),
    opt(
        "to",
        Ty::Date,
        "last possible occurrence (open when absent)",
    ),
    opt(
        "invoice_date_offset",
        Ty::Int(-3_650, 3_650),
        "days (±) added to the occurrence date (default 0; bound ours)",
    ),
    opt(
        "process_through_offset",
        Ty::Int(-3_650, 3_650),
        "days (±) added to the invoice date (default 0; bound ours)",
    ),
]);

const THRESHOLD_OPS: Ty = Ty::Enum(&["lt", "le", "gt", "ge"]);

/// `invoice_runs` rows (04 §2.1).
pub const INVOICE_RUN: Ty = Ty::Obj(&[
    req(
        "name",
        Ty::Text,
        "unique name; identifies the run and its executions",
    ),
    opt(
        "type",
        Ty::Enum(&["immediate", "scheduled"]),
        "default immediate",
    ),
    opt(
        "filters",
        Ty::List(&INVOICE_FILTER_ROW),
        "which schedules the run may select (default none)",
    ),
    opt(
        "filter_logic",
        Ty::Text,
        "expression over row numbers with AND, OR, NOT, parentheses (default all ANDed)",
    ),
    opt(
        "invoice_date_type",
        Ty::Enum(&["user_defined", "ready_for_invoice_date"]),
        "ready_for_invoice_date stamps and groups by each group's ready date",
    ),
    opt(
        "invoice_date",
        Ty::Date,
        "immediate runs only (default the run date)",
    ),
    opt(
        "process_through",
        Ty::Date,
        "immediate runs only, and required there",
    ),
    opt(
        "schedule",
        INVOICE_RUN_SCHEDULE,
        "required for scheduled runs, forbidden otherwise",
    ),
    opt(
        "auto_approve",
        Ty::Either(&[
            Ty::Bool,
            Ty::Obj(&[
                req(
                    "op",
                    THRESHOLD_OPS,
                    "comparison with the invoice total incl. tax",
                ),
                req("amount", Ty::Money(false), "threshold"),
            ]),
        ]),
        "false (default), true, or {op: lt|le|gt|ge, amount: X}",
    ),
    opt(
        "auto_approve_credit_memos",
        Ty::Bool,
        "run memos are approved at creation",
    ),
    opt(
        "auto_send",
        Ty::Bool,
        "e-mail approved invoices; requires auto_approve other than false",
    ),
    opt(
        "auto_send_credit_memos",
        Ty::Bool,
        "requires auto_approve_credit_memos",
    ),
    opt("split_by_order", Ty::Bool, "order becomes a grouping key"),
    opt(
        "suppress",
        Ty::Obj(&[
            req(
                "op",
                Ty::Enum(&["lt", "le", "eq"]),
                "comparison with the invoice total incl. tax",
            ),
            req("amount", Ty::Money(false), "threshold"),
        ]),
        "invoices whose total meets it are not created",
    ),
    opt(
        "template",
        Ty::Text,
        "template name; overrides account and location invoice templates",
    ),
    opt(
        "credit_memo_creation",
        Ty::Enum(&[
            "single_for_negative_invoice",
            "per_negative_schedule",
            "per_invoice",
        ]),
        "default per_invoice (§3.5)",
    ),
    opt(
        "generate_documents",
        Ty::Bool,
        "render documents in the run (default system.generate_documents)",
    ),
]);

/// `templates` rows (04 §2.4).
pub const TEMPLATE: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    req(
        "kind",
        Ty::Enum(&[
            "invoice",
            "credit_memo",
            "statement",
            "invoice_email",
            "credit_memo_email",
        ]),
        "what the template renders",
    ),
    req("body", Ty::Text, "a path or the template text (minijinja)"),
    opt(
        "subject",
        Ty::Text,
        "e-mail kinds only: the subject template",
    ),
]);

/// `tax_rates` rows (04 §5.1).
pub const TAX_RATE: Ty = Ty::Obj(&[
    req(
        "tax_code",
        Ty::Either(&[Ty::Text, Ty::List(&Ty::Text)]),
        "product tax code(s) the row applies to",
    ),
    opt(
        "country",
        Ty::Text,
        "jurisdiction; unset = any; case-insensitive",
    ),
    opt(
        "region",
        Ty::Text,
        "jurisdiction; unset = any; case-insensitive",
    ),
    opt(
        "city",
        Ty::Text,
        "jurisdiction; unset = any; case-insensitive",
    ),
    opt(
        "postal_code",
        Ty::Text,
        "jurisdiction; unset = any; case-insensitive",
    ),
    req(
        "level",
        Ty::Enum(&["country", "state", "county", "city", "district"]),
        "break-up level",
    ),
    opt("name", Ty::Text, "break-up name, e.g. CA State"),
    req("rate", Ty::Decimal("0", "100"), "percent (6.25 = 6.25 %)"),
    opt("effective", Ty::Date, "first day, inclusive"),
    opt(
        "expires",
        Ty::Date,
        "last day, inclusive (open when absent)",
    ),
]);

/// `numbering` rows (04 §7).
pub const NUMBERING: Ty = Ty::Obj(&[
    req(
        "document",
        Ty::Enum(&["invoice", "credit_memo"]),
        "which documents the row numbers",
    ),
    opt(
        "legal_entity",
        Ty::Text,
        "legal entity id (omit = each entity)",
    ),
    opt(
        "prefix",
        Ty::Text,
        "default the entity's invoice_number_prefix, else INV- / CM-",
    ),
    opt(
        "format",
        Ty::Text,
        "tokens {prefix}, {seq:W}, {year}, {legal_entity} (default {prefix}{seq:6})",
    ),
    opt(
        "start",
        Ty::Int(0, i64::MAX),
        "first sequence number (default 1)",
    ),
    opt("reset", Ty::Enum(&["never", "yearly"]), "default never"),
    opt(
        "callback",
        Ty::Text,
        "name of an invoice_numbering plugin in callbacks.plugins",
    ),
]);

// ---- 05: receivables -------------------------------------------------------------------------

/// `late_fee_policies` rows (05 §4.1).
pub const LATE_FEE_POLICY: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    req(
        "product",
        Ty::Text,
        "product code of the fee line (its tax settings apply)",
    ),
    opt(
        "grace_days",
        Ty::Int(0, 3_650),
        "days after the due date before a fee (default 0)",
    ),
    req(
        "basis",
        Ty::Enum(&["flat", "percent"]),
        "flat amount or percent of the overdue balance",
    ),
    opt("amount", Ty::Money(true), "basis flat: the fee"),
    opt(
        "percent",
        Ty::Decimal("0", "100"),
        "basis percent: percent of the overdue balance",
    ),
    opt("minimum", Ty::Money(true), "lower clamp of the fee"),
    opt("maximum", Ty::Money(true), "upper clamp of the fee"),
    opt(
        "frequency",
        Ty::Enum(&["once", "monthly", "quarterly", "yearly"]),
        "default once",
    ),
    opt(
        "max_occurrences",
        Ty::Int(1, i64::MAX),
        "fees per invoice (default unlimited)",
    ),
    opt(
        "min_overdue_balance",
        Ty::Money(true),
        "below it no fee (default 0.01)",
    ),
    opt(
        "include_late_fees",
        Ty::Bool,
        "late-fee invoices themselves incur fees",
    ),
    opt(
        "approve",
        Ty::Bool,
        "create the late-fee invoice approved (default true)",
    ),
]);

const AGING_BUCKET: Ty = Ty::Obj(&[
    req("label", Ty::Text, "column label"),
    opt(
        "to",
        Ty::Int(-100_000, 100_000),
        "last day count of the bucket; absent on the last bucket only",
    ),
]);

/// `aging_buckets` rows (05 §5).
pub const AGING_BUCKETS: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt("default", Ty::Bool, "the default bucket set"),
    opt(
        "basis",
        Ty::Enum(&["due_date", "invoice_date"]),
        "day count from (default due_date)",
    ),
    req(
        "buckets",
        Ty::List(&AGING_BUCKET),
        "buckets in increasing `to` order",
    ),
]);

const WALLET_RENEW: Ty = Ty::Obj(&[
    opt(
        "method",
        Ty::Enum(&["fixed", "target"]),
        "fixed: add amount; target: top up to target (default fixed)",
    ),
    opt("amount", Ty::Money(true), "fixed top-up"),
    opt("target", Ty::Money(true), "target balance"),
    opt(
        "trigger",
        Ty::Enum(&["manual", "interval", "threshold"]),
        "default manual",
    ),
    opt(
        "interval",
        Ty::Enum(&["weekly", "monthly", "quarterly", "yearly"]),
        "trigger interval",
    ),
    opt(
        "threshold",
        Ty::Money(true),
        "trigger threshold: renew when the balance falls to or below it",
    ),
    opt(
        "paid",
        Ty::Bool,
        "top-ups are paid (true, default) or granted",
    ),
]);

/// `wallet_policies` rows (05 §3.1).
pub const WALLET_POLICY: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt(
        "priority",
        Ty::Int(1, 100),
        "lower draws first (default 50)",
    ),
    opt(
        "applies_to",
        Ty::Either(&[Ty::Enum(&["usage", "all"]), Ty::List(&Ty::Text)]),
        "usage (default), all, or a list of product codes",
    ),
    opt(
        "expires_after_days",
        Ty::Int(1, i64::MAX),
        "expires_on = creation or renewal date + N",
    ),
    opt(
        "low_balance_threshold",
        Ty::Money(true),
        "event when the balance falls to or below it",
    ),
    opt(
        "renew",
        WALLET_RENEW,
        "top-up rule (default {method: fixed, trigger: manual, paid: true})",
    ),
    opt(
        "on_terminate",
        Ty::Enum(&["refund", "void"]),
        "default refund",
    ),
]);

// ---- 06: revenue -----------------------------------------------------------------------------

const REVENUE_RULE: Ty = Ty::Enum(&[
    "immediate",
    "ratable",
    "ratable_day",
    "subscription",
    "percent_complete",
    "manual",
    "milestone",
    "prepay",
    "true_up",
]);

const MILESTONE: Ty = Ty::Obj(&[
    req("name", Ty::Text, "milestone name, unique within the policy"),
    req(
        "percent",
        Ty::Decimal("0", "100"),
        "share of the fee; > 0, the milestones sum to exactly 100",
    ),
]);

/// `revenue_policies` rows (06 §3).
pub const REVENUE_POLICY: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    opt("description", Ty::Text, "free text"),
    req("rule", REVENUE_RULE, "recognition rule (§6)"),
    opt(
        "is_milestone",
        Ty::Bool,
        "only with immediate; immediate + is_milestone = milestone",
    ),
    opt(
        "milestones",
        Ty::List(&MILESTONE),
        "milestone policies only (default [{name: completion, percent: 100}])",
    ),
    opt(
        "revenue_account",
        Ty::Text,
        "GL account (default system.gl_revenue_account)",
    ),
    opt(
        "deferred_account",
        Ty::Text,
        "GL account (default system.gl_deferred_account)",
    ),
]);

const SPLIT_ENTRY: Ty = Ty::Obj(&[
    req(
        "sequence",
        Ty::Int(0, i64::MAX),
        "chain order, unique within the policy",
    ),
    req(
        "percent",
        Ty::Decimal("0", "100"),
        "share of the line; > 0, the entries sum to exactly 100",
    ),
    req("revenue_policy", Ty::Text, "revenue policy of the chain"),
]);

/// `split_merge_policies` rows (06 §3).
pub const SPLIT_MERGE_POLICY: Ty = Ty::Obj(&[
    req("name", Ty::Text, "unique name"),
    req(
        "type",
        Ty::Enum(&["split", "merge"]),
        "split a line into chains or merge lines into one obligation",
    ),
    opt(
        "entries",
        Ty::List(&SPLIT_ENTRY),
        "split only (required there, at least 2); forbidden on merge",
    ),
]);

/// `revenue_runs` filter rows (06 §9: 04 §2.2 with other objects).
const REVENUE_FILTER_ROW: Ty = Ty::Either(&[
    Ty::Obj(&[
        req(
            "n",
            Ty::Int(1, i64::MAX),
            "row number, unique within the run",
        ),
        req(
            "object",
            Ty::Enum(&["account", "location", "legal_entity", "order"]),
            "the record the row tests",
        ),
        req(
            "field",
            Ty::Text,
            "any scalar field of that record in 01 (checked by rules check)",
        ),
        req("op", FILTER_OP, "comparison"),
        opt(
            "value",
            FILTER_VALUE,
            "text, number or date; a list for `in`; none for `is_empty`",
        ),
    ]),
    CUSTOM_FILTER_ROW,
]);

/// `revenue_runs[].schedule`: 04 §2.3 without the two offsets.
const REVENUE_RUN_SCHEDULE: Ty = Ty::Obj(&[
    req("type", RUN_SCHEDULE_TYPE, "recurrence"),
    opt("weekday", WEEKDAY, "weekly and monthly_by_day"),
    opt(
        "day",
        DAY_OF_MONTH,
        "monthly_by_date; clamped to the month's last day",
    ),
    opt("week", WEEK, "monthly_by_day (\"second Monday\")"),
    opt(
        "time",
        Ty::Time,
        "preferred start HH:MM (default 00:00); orders runs on one day",
    ),
    opt("from", Ty::Date, "first possible occurrence"),
    opt(
        "to",
        Ty::Date,
        "last possible occurrence (open when absent)",
    ),
]);

/// `revenue_runs` rows (06 §9).
pub const REVENUE_RUN: Ty = Ty::Obj(&[
    req(
        "name",
        Ty::Text,
        "unique name; identifies the run and its executions",
    ),
    req(
        "kind",
        Ty::Enum(&["actual", "forecast", "rollback_actual", "rollback_forecast"]),
        "what the run does",
    ),
    opt(
        "type",
        Ty::Enum(&["immediate", "scheduled"]),
        "default immediate; rollbacks are always immediate",
    ),
    opt(
        "legal_entity",
        Ty::Text,
        "legal entity id (default all); an extra ANDed filter row",
    ),
    opt(
        "period",
        Ty::YearMonth,
        "immediate runs only; must equal current of every selected entity",
    ),
    opt(
        "filters",
        Ty::List(&REVENUE_FILTER_ROW),
        "which agreements the run may touch (default none)",
    ),
    opt(
        "filter_logic",
        Ty::Text,
        "expression over row numbers as 04 §2.2 (default all ANDed)",
    ),
    opt(
        "schedule",
        REVENUE_RUN_SCHEDULE,
        "required for scheduled runs, forbidden otherwise",
    ),
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

const fn list(
    name: &'static str,
    ty: Ty,
    key: Option<&'static str>,
    spec: &'static str,
) -> DocSpec {
    DocSpec {
        name,
        ty,
        list: true,
        key,
        spec,
    }
}

/// The table of documents.
pub const DOCUMENTS: &[DocSpec] = &[
    list(
        "billing_preferences",
        BILLING_PREFERENCE,
        Some("name"),
        "01",
    ),
    list("payment_terms", PAYMENT_TERM, Some("name"), "01"),
    list("products", PRODUCT, Some("code"), "01"),
    list("accounts", ACCOUNT, Some("id"), "01"),
    list("legal_entities", LEGAL_ENTITY, Some("id"), "01"),
    list("orders", ORDER, Some("id"), "01"),
    list("billing_plans", BILLING_PLAN, Some("name"), "03 C.1"),
    list("usage_tiers", USAGE_TIERS, Some("name"), "03 B.1"),
    list("invoice_runs", INVOICE_RUN, Some("name"), "04 §2.1"),
    list("templates", TEMPLATE, Some("name"), "04 §2.4"),
    list("tax_rates", TAX_RATE, None, "04 §5.1"),
    list("numbering", NUMBERING, None, "04 §7"),
    list(
        "late_fee_policies",
        LATE_FEE_POLICY,
        Some("name"),
        "05 §4.1",
    ),
    list("aging_buckets", AGING_BUCKETS, Some("name"), "05 §5"),
    list("wallet_policies", WALLET_POLICY, Some("name"), "05 §3.1"),
    list("revenue_policies", REVENUE_POLICY, Some("name"), "06 §3"),
    list(
        "split_merge_policies",
        SPLIT_MERGE_POLICY,
        Some("name"),
        "06 §3",
    ),
    list("revenue_runs", REVENUE_RUN, Some("name"), "06 §9"),
    DocSpec {
        name: "system",
        ty: SYSTEM,
        list: false,
        key: None,
        spec: "01",
    },
    DocSpec {
        name: "callbacks",
        ty: CALLBACKS,
        list: false,
        key: None,
        spec: "07 §2",
    },
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
            let mut s = if d.list {
                Ty::List(&d.ty).json_schema()
            } else {
                d.ty.json_schema()
            };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Finding;
    use crate::yaml::parse;

    fn check(ty: &Ty, text: &str) -> Vec<Finding> {
        let node = &parse(text).expect("valid YAML")[0];
        let mut out = Vec::new();
        ty.check(node, "x", &mut out);
        out
    }

    fn row(doc: &str) -> Ty {
        document(doc).expect("known document").ty
    }

    /// (code, path) of every finding.
    fn codes(out: &[Finding]) -> Vec<(&'static str, &str)> {
        out.iter().map(|f| (f.code, f.path.as_str())).collect()
    }

    const INVOICE_RUN_OK: &str = "
name: WEEKLY
type: scheduled
filters:
  - {n: 1, object: account, field: name, op: equals, value: DigiSpeakers}
  - {n: 2, object: location, field: country, op: in, value: [Brazil, Mexico]}
  - {n: 3, object: product, field: code, op: is_empty}
  - {n: 4, object: custom, callback: segment}
filter_logic: 1 AND (2 OR 3) AND 4
invoice_date_type: ready_for_invoice_date
schedule:
  type: weekly
  weekday: monday
  time: \"06:30\"
  from: 2016-03-01
  to: 2016-12-31
  invoice_date_offset: -1
  process_through_offset: 6
auto_approve: {op: le, amount: 1000}
auto_approve_credit_memos: true
auto_send: true
auto_send_credit_memos: true
split_by_order: false
suppress: {op: le, amount: 0}
template: fancy
credit_memo_creation: per_negative_schedule
generate_documents: false
";

    #[test]
    fn invoice_runs_accept_the_spec_shapes() {
        assert_eq!(check(&row("invoice_runs"), INVOICE_RUN_OK), vec![]);
        let immediate = "{name: NOW, process_through: 2016-03-01, invoice_date: 2016-03-01, auto_approve: true}";
        assert_eq!(check(&row("invoice_runs"), immediate), vec![]);
        let monthly =
            "{name: M, type: scheduled, schedule: {type: monthly_by_date, day: end_of_month}}";
        assert_eq!(check(&row("invoice_runs"), monthly), vec![]);
    }

    #[test]
    fn invoice_runs_reject_unknown_keys_and_bad_values() {
        let out = check(
            &row("invoice_runs"),
            "{name: R, process_through: 2016-03-01, auto_aprove: true}",
        );
        assert_eq!(codes(&out), vec![("unknown_key", "x.auto_aprove")]);
        let out = check(
            &row("invoice_runs"),
            "{name: R, credit_memo_creation: per_run}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.credit_memo_creation")]);
        let out = check(
            &row("invoice_runs"),
            "{name: R, auto_approve: {op: eq, amount: 5}}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.auto_approve.op")]);
        let out = check(
            &row("invoice_runs"),
            "{name: R, suppress: {op: le, amount: 0, currency: USD}}",
        );
        assert_eq!(codes(&out), vec![("unknown_key", "x.suppress.currency")]);
        let out = check(
            &row("invoice_runs"),
            "{name: R, schedule: {type: weekly, weekday: mon}}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.schedule.weekday")]);
        let out = check(
            &row("invoice_runs"),
            "{name: R, filters: [{n: 1, object: account, field: name, op: like, value: A}]}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.filters[0].op")]);
        let out = check(
            &row("invoice_runs"),
            "{name: R, filters: [{n: 1, object: account, field: name, op: equals, valeu: A}]}",
        );
        assert_eq!(codes(&out), vec![("unknown_key", "x.filters[0].valeu")]);
        // A custom row with a stray key is caught too (reported against the first row shape).
        let out = check(
            &row("invoice_runs"),
            "{name: R, filters: [{n: 1, object: custom, callback: seg, op: equals}]}",
        );
        assert!(!out.is_empty());
        let out = check(&row("invoice_runs"), "{type: immediate}");
        assert_eq!(codes(&out), vec![("missing_key", "x.name")]);
    }

    #[test]
    fn usage_tiers_accept_every_model() {
        let graduated = "
name: GB
model: graduated
tiers:
  - {up_to: 10, unit_price: 10, flat_fee: 2}
  - {up_to: 20, unit_price: 5, flat_fee: 3}
  - {unit_price: 5, flat_fee: 3}
";
        assert_eq!(check(&row("usage_tiers"), graduated), vec![]);
        assert_eq!(
            check(
                &row("usage_tiers"),
                "{name: P, model: per_unit, unit_price: \"2.00\"}"
            ),
            vec![]
        );
        assert_eq!(
            check(
                &row("usage_tiers"),
                "{name: K, model: package, package_size: 10, package_price: 100}"
            ),
            vec![]
        );
        assert_eq!(check(&row("usage_tiers"), "{name: F, model: flat_per_tier, tiers: [{up_to: 10, flat_fee: 100}, {flat_fee: 500}]}"), vec![]);
    }

    #[test]
    fn usage_tiers_reject_unknown_keys_and_bad_values() {
        let out = check(
            &row("usage_tiers"),
            "{name: V, model: volume, tiers: [{upto: 10, unit_price: 1}]}",
        );
        assert_eq!(codes(&out), vec![("unknown_key", "x.tiers[0].upto")]);
        let out = check(&row("usage_tiers"), "{name: V, model: tiered}");
        assert_eq!(codes(&out), vec![("bad_value", "x.model")]);
        let out = check(
            &row("usage_tiers"),
            "{name: V, model: per_unit, unit_price: -1}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.unit_price")]);
    }

    #[test]
    fn revenue_policies_accept_the_spec_shapes() {
        let milestone = "
name: MS
description: Milestones
rule: immediate
is_milestone: true
milestones:
  - {name: design, percent: 40}
  - {name: completion, percent: 60}
revenue_account: 5000.12.76.34
deferred_account: 2100.12.76.34
";
        assert_eq!(check(&row("revenue_policies"), milestone), vec![]);
        assert_eq!(
            check(&row("revenue_policies"), "{name: R, rule: ratable_day}"),
            vec![]
        );
    }

    #[test]
    fn revenue_policies_reject_unknown_keys_and_bad_values() {
        let out = check(
            &row("revenue_policies"),
            "{name: R, rule: ratable, frequency: monthly}",
        );
        assert_eq!(codes(&out), vec![("unknown_key", "x.frequency")]);
        let out = check(&row("revenue_policies"), "{name: R, rule: straight_line}");
        assert_eq!(codes(&out), vec![("bad_value", "x.rule")]);
        let out = check(
            &row("revenue_policies"),
            "{name: R, rule: milestone, milestones: [{name: a, pct: 100}]}",
        );
        assert_eq!(
            codes(&out),
            vec![
                ("unknown_key", "x.milestones[0].pct"),
                ("missing_key", "x.milestones[0].percent")
            ]
        );
        let out = check(&row("revenue_policies"), "{name: R}");
        assert_eq!(codes(&out), vec![("missing_key", "x.rule")]);
    }

    #[test]
    fn late_fee_policies_accept_the_spec_shapes() {
        let percent = "
name: LATE
product: LATE-FEE
grace_days: 10
basis: percent
percent: \"1.5\"
minimum: 5
maximum: 50
frequency: monthly
max_occurrences: 12
min_overdue_balance: \"0.01\"
include_late_fees: false
approve: true
";
        assert_eq!(check(&row("late_fee_policies"), percent), vec![]);
        assert_eq!(
            check(
                &row("late_fee_policies"),
                "{name: FLAT, product: FEE, basis: flat, amount: \"25.00\"}"
            ),
            vec![]
        );
    }

    #[test]
    fn late_fee_policies_reject_unknown_keys_and_bad_values() {
        let out = check(
            &row("late_fee_policies"),
            "{name: L, product: FEE, basis: flat, amount: 5, grace: 3}",
        );
        assert_eq!(codes(&out), vec![("unknown_key", "x.grace")]);
        let out = check(
            &row("late_fee_policies"),
            "{name: L, product: FEE, basis: fixed, amount: 5}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.basis")]);
        let out = check(
            &row("late_fee_policies"),
            "{name: L, product: FEE, basis: flat, frequency: weekly}",
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.frequency")]);
        let out = check(&row("late_fee_policies"), "{name: L, basis: flat}");
        assert_eq!(codes(&out), vec![("missing_key", "x.product")]);
    }

    #[test]
    fn other_documents_accept_their_spec_examples() {
        let cases = [
            (
                "billing_plans",
                "{name: UC1, start: given, installments: 2, description: Two parts, items: [{name: one, percent: 15, offset: {months: 0}, payment_term: NET30}, {name: two, percent: 85, offset: {days: 90}}]}",
            ),
            ("templates", "{name: fancy_mail, kind: invoice_email, body: templates/mail.j2, subject: \"Invoice {{ doc.number }}\"}"),
            ("tax_rates", "{tax_code: [SW, HW], country: US, region: CA, level: state, name: CA State, rate: \"6.25\", effective: 2016-01-01}"),
            ("tax_rates", "{tax_code: SW, level: city, rate: \"1.50\", expires: 2016-12-31}"),
            ("numbering", "{document: invoice, legal_entity: LE1, prefix: INV-, format: \"{prefix}{year}-{seq:6}\", start: 1, reset: yearly, callback: yearly_numbers}"),
            ("aging_buckets", "{name: STD, default: true, basis: due_date, buckets: [{label: current, to: 0}, {label: 1-30, to: 30}, {label: 30+}]}"),
            (
                "wallet_policies",
                "{name: PRE, priority: 10, applies_to: usage, expires_after_days: 365, low_balance_threshold: 10, renew: {method: target, target: 100, trigger: threshold, threshold: 10, paid: true}, on_terminate: void}",
            ),
            ("wallet_policies", "{name: SOME, applies_to: [P1, P2], renew: {method: fixed, amount: 50, trigger: interval, interval: monthly}}"),
            (
                "split_merge_policies",
                "{name: LEASE, type: split, entries: [{sequence: 1, percent: 30, revenue_policy: NOW}, {sequence: 2, percent: 70, revenue_policy: RAT}]}",
            ),
            ("split_merge_policies", "{name: BUNDLE, type: merge}"),
            ("revenue_runs", "{name: R1, kind: actual, legal_entity: LE1, period: 2018-01, filters: [{n: 1, object: legal_entity, field: id, op: equals, value: LE1}, {n: 2, object: custom, callback: segment}], filter_logic: 1 OR 2}"),
            ("revenue_runs", "{name: R2, kind: forecast, type: scheduled, schedule: {type: monthly_by_day, week: last, weekday: friday, time: \"23:00\"}}"),
        ];
        for (doc, text) in cases {
            assert_eq!(check(&row(doc), text), vec![], "{doc}: {text}");
        }
    }

    #[test]
    fn other_documents_reject_unknown_keys_and_bad_values() {
        let cases = [
            ("billing_plans", "{name: P, items: [{name: a, percent: 100, offset: {months: -1}}]}", "bad_value", "x.items[0].offset.months"),
            ("billing_plans", "{name: P, items: [{name: a, percent: 100, payment: NET30}]}", "unknown_key", "x.items[0].payment"),
            ("billing_plans", "{name: P, method: percent, items: [{name: a, percent: 100}]}", "unknown_key", "x.method"),
            ("templates", "{name: T, kind: receipt, body: x}", "bad_value", "x.kind"),
            ("tax_rates", "{tax_code: SW, level: province, rate: 5}", "bad_value", "x.level"),
            ("tax_rates", "{tax_code: SW, level: state, rate: 5, state: CA}", "unknown_key", "x.state"),
            ("numbering", "{document: invoice, reset: monthly}", "bad_value", "x.reset"),
            ("aging_buckets", "{name: A, buckets: [{label: a, from: 0}]}", "unknown_key", "x.buckets[0].from"),
            ("wallet_policies", "{name: W, renew: {trigger: daily}}", "bad_value", "x.renew.trigger"),
            ("wallet_policies", "{name: W, applies_to: recurring}", "bad_value", "x.applies_to"),
            ("split_merge_policies", "{name: S, type: join}", "bad_value", "x.type"),
            ("revenue_runs", "{name: R, kind: close}", "bad_value", "x.kind"),
            ("revenue_runs", "{name: R, kind: actual, schedule: {type: weekly, invoice_date_offset: 1}}", "unknown_key", "x.schedule.invoice_date_offset"),
            ("revenue_runs", "{name: R, kind: actual, filters: [{n: 1, object: product, field: code, op: equals, value: X}]}", "bad_value", "x.filters[0].object"),
        ];
        for (doc, text, code, path) in cases {
            let out = check(&row(doc), text);
            assert_eq!(codes(&out), vec![(code, path)], "{doc}: {text}");
        }
    }

    #[test]
    fn every_list_document_has_a_closed_row_schema() {
        for d in DOCUMENTS {
            assert!(
                !fields(&d.ty).is_empty(),
                "{} rows must be a Ty::Obj",
                d.name
            );
            if let Some(key) = d.key {
                assert!(
                    fields(&d.ty).iter().any(|f| f.name == key && f.required),
                    "{}: key {key} must be required",
                    d.name
                );
            }
        }
    }

    #[test]
    fn order_line_billing_plans_and_system_email_are_checked() {
        let line = |plan: &str| format!("{{id: L1, product: P, billing_plan: {plan}}}");
        for ok in [
            "UC1",
            "{template: UC1, start: 2016-01-01, end: 2017-01-31}",
            "{type: fixed, method: amount, items: [{name: a, start: 2016-01-01, end: 2016-06-30, ready: 2016-01-15, amount: 250, payment_term: NET30}]}",
            "{type: milestone, method: split_evenly, items: [{name: design}, {name: delivery}]}",
        ] {
            assert_eq!(check(&ORDER_LINE, &line(ok)), vec![], "{ok}");
        }
        let out = check(
            &ORDER_LINE,
            &line("{type: fixed, method: percent, items: [{name: a, pct: 100}]}"),
        );
        assert_eq!(
            codes(&out),
            vec![("unknown_key", "x.billing_plan.items[0].pct")]
        );
        let out = check(
            &ORDER_LINE,
            &line("{type: recurring, method: percent, items: []}"),
        );
        assert_eq!(codes(&out), vec![("bad_value", "x.billing_plan.type")]);

        let email = "{email: {smtp_host: 127.0.0.1, smtp_port: 2525, security: none, from: billing@example.com, max_attempts: 5, retry_minutes: [1, 5, 30, 120]}}";
        assert_eq!(check(&SYSTEM, email), vec![]);
        let out = check(&SYSTEM, "{email: {smtp_host: h, security: ssl}}");
        assert_eq!(codes(&out), vec![("bad_value", "x.email.security")]);
        let out = check(&SYSTEM, "{email: {smtp_server: h}}");
        assert_eq!(codes(&out), vec![("unknown_key", "x.email.smtp_server")]);
    }
}

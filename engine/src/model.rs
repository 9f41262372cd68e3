//! Typed rule documents and host records. They are deserialised only after the schema
//! ([`crate::schema_tables`]) has accepted the YAML, so their serde attributes only map names.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

fn yes() -> bool {
    true
}

fn one() -> Decimal {
    Decimal::ONE
}

/// A cycle day: 1–31, or the last day of each month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DayOfMonth {
    /// Day 1–31 (clamped to shorter months).
    Day(u32),
    /// The month's last day.
    EndOfMonth,
}

impl DayOfMonth {
    /// The day used for clamping (end of month = 31, which every month clamps to its last day).
    pub fn day(self) -> u32 {
        match self {
            DayOfMonth::Day(d) => d,
            DayOfMonth::EndOfMonth => 31,
        }
    }
}

impl<'de> Deserialize<'de> for DayOfMonth {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_yaml::Value::deserialize(d)? {
            serde_yaml::Value::Number(n) => n
                .as_u64()
                .map(|v| DayOfMonth::Day(v as u32))
                .ok_or_else(|| serde::de::Error::custom("day of month")),
            serde_yaml::Value::String(s) if s == "end_of_month" => Ok(DayOfMonth::EndOfMonth),
            _ => Err(serde::de::Error::custom("expected 1–31 or end_of_month")),
        }
    }
}

/// `calendar_cycle_start`: none, a month (1–12), or the account's month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub enum CalendarStart {
    /// No calendar alignment.
    #[default]
    None,
    /// Align to this month (1 = January).
    Month(u32),
    /// Use the account's `calendar_cycle_start`.
    Account,
}

impl<'de> Deserialize<'de> for CalendarStart {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "none" => Ok(CalendarStart::None),
            "account" => Ok(CalendarStart::Account),
            m => crate::dates::MONTHS
                .iter()
                .position(|x| *x == m)
                .map(|i| CalendarStart::Month(i as u32 + 1))
                .ok_or_else(|| serde::de::Error::custom("month")),
        }
    }
}

macro_rules! enum_words {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $var:ident => $text:literal),+ $(,)? } default $def:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $($(#[$vm])* #[doc = concat!("`", $text, "`")] #[serde(rename = $text)] $var),+ }
        impl Default for $name { fn default() -> Self { $name::$def } }
        impl $name {
            /// The rule-file word.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $text),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

enum_words!(
    /// Where the cycle day comes from (02 §1).
    CycleStart {
        /// The preference's `billing_day_of_month`.
        BillingDayOfMonth => "billing_day_of_month",
        /// The order's ready-for-billing date's day.
        ReadyForBillingDate => "ready_for_billing_date",
        /// The line start's day.
        PeriodStartDate => "period_start_date",
        /// The order date's day.
        OrderDate => "order_date",
        /// The account's `billing_day_of_month`.
        AccountBillingDayOfMonth => "account_billing_day_of_month",
    } default PeriodStartDate
);

enum_words!(
    /// How stubs are charged (02 §3).
    Treatment {
        /// Stubs are their own schedules.
        SeparatePeriod => "separate_period",
        /// The leading stub is not charged.
        Ignore => "ignore",
        /// Each stub is charged a full period.
        ChargeFull => "charge_full",
        /// Stubs merge with their neighbouring full period.
        CombineWithFirstPeriod => "combine_with_first_period",
    } default SeparatePeriod
);

enum_words!(
    /// How a partial period is measured (02 §3).
    DayCount {
        /// Days ÷ days of the notional (cycle-day) month.
        BillingPeriod => "billing_period",
        /// Days ÷ days of the calendar month.
        CalendarMonth => "calendar_month",
        /// 30/360.
        Thirty360 => "thirty_360",
        /// Actual days ÷ 365.
        Actual365 => "actual_365",
    } default BillingPeriod
);

enum_words!(
    /// Product price type.
    PriceType { OneTime => "one_time", Recurring => "recurring", Usage => "usage" } default Recurring
);

enum_words!(
    /// The period a list price covers.
    SellingFrequency {
        Monthly => "monthly", Quarterly => "quarterly", HalfYearly => "half_yearly",
        Yearly => "yearly", OneTime => "one_time",
    } default Monthly
);

enum_words!(
    /// How a line is cut into schedules.
    BillingFrequency {
        Monthly => "monthly", Quarterly => "quarterly", HalfYearly => "half_yearly",
        Yearly => "yearly", SinglePeriod => "single_period", OneTime => "one_time", Usage => "usage",
    } default Monthly
);

enum_words!(
    /// Length of usage rows.
    UsageFrequency { Monthly => "monthly", Quarterly => "quarterly", HalfYearly => "half_yearly", Yearly => "yearly" } default Monthly
);

enum_words!(
    /// When a schedule becomes ready to invoice (02 §2).
    BillingRule { Advance => "advance", Arrears => "arrears", ReadyForBillingDate => "ready_for_billing_date" } default Advance
);

enum_words!(
    /// Bundle invoice level (02 §4).
    BundleLevel { Bundle => "bundle", Detail => "detail" } default Bundle
);

enum_words!(
    /// Auto-renewal type.
    RenewalType { Fixed => "fixed", Evergreen => "evergreen" } default Fixed
);

enum_words!(
    /// Payment term base date (04 §4).
    TermStart { InvoiceDate => "invoice_date", SpecificDay => "specific_day", EndOfMonth => "end_of_month", EndOfQuarter => "end_of_quarter" } default InvoiceDate
);

impl SellingFrequency {
    /// Months covered by the price (`None` for one-time).
    pub fn months(self) -> Option<u32> {
        match self {
            SellingFrequency::Monthly => Some(1),
            SellingFrequency::Quarterly => Some(3),
            SellingFrequency::HalfYearly => Some(6),
            SellingFrequency::Yearly => Some(12),
            SellingFrequency::OneTime => None,
        }
    }
}

impl BillingFrequency {
    /// Months per billing period for the periodic frequencies.
    pub fn months(self) -> Option<u32> {
        match self {
            BillingFrequency::Monthly => Some(1),
            BillingFrequency::Quarterly => Some(3),
            BillingFrequency::HalfYearly => Some(6),
            BillingFrequency::Yearly => Some(12),
            _ => None,
        }
    }
}

impl UsageFrequency {
    /// Months per usage row.
    pub fn months(self) -> u32 {
        match self {
            UsageFrequency::Monthly => 1,
            UsageFrequency::Quarterly => 3,
            UsageFrequency::HalfYearly => 6,
            UsageFrequency::Yearly => 12,
        }
    }
}

/// A billing preference (01).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct BillingPreference {
    /// Unique name.
    pub name: String,
    /// The org default.
    #[serde(default)]
    pub default: bool,
    /// Active.
    #[serde(default = "yes")]
    pub active: bool,
    /// Where the cycle day comes from.
    #[serde(default)]
    pub billing_cycle_start: CycleStart,
    /// Cycle day for `billing_day_of_month`.
    #[serde(default = "day_one")]
    pub billing_day_of_month: DayOfMonth,
    /// Calendar alignment.
    #[serde(default)]
    pub calendar_cycle_start: CalendarStart,
    /// Stub treatment.
    #[serde(default)]
    pub proration_period_treatment: Treatment,
    /// Day count.
    #[serde(default)]
    pub proration_day_count: DayCount,
    /// Rounding of billing money.
    #[serde(default)]
    pub rounding: crate::money::Rounding,
    /// `account` | `product` (04).
    #[serde(default)]
    pub tax_level: Option<String>,
    /// `email` | `print`.
    #[serde(default)]
    pub invoice_delivery: Option<String>,
    /// `pdf` | `html` | `json`.
    #[serde(default)]
    pub invoice_format: Option<String>,
    /// Lower levels may override the payment term.
    #[serde(default = "yes")]
    pub allow_payment_term_override: bool,
    /// Lower levels may override this preference.
    #[serde(default = "yes")]
    pub allow_preference_override: bool,
    /// Create informational schedules.
    #[serde(default = "yes")]
    pub create_informational: bool,
    /// Informational schedules produce no invoice lines.
    #[serde(default)]
    pub hide_informational: bool,
}

fn day_one() -> DayOfMonth {
    DayOfMonth::Day(1)
}

/// A payment term (01; arithmetic in 04 §4).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct PaymentTerm {
    /// Unique name.
    pub name: String,
    /// Printed label.
    #[serde(default)]
    pub label: Option<String>,
    /// Display order.
    #[serde(default)]
    pub sequence: Option<i64>,
    /// The default term.
    #[serde(default)]
    pub default: bool,
    /// Base date.
    #[serde(default)]
    pub start: TermStart,
    /// Day for `specific_day`.
    #[serde(default)]
    pub start_value: Option<u32>,
    /// `{days: N}` or `{months: N}`.
    #[serde(default)]
    pub offset: Option<BTreeMap<String, i64>>,
    /// N-th occurrence of the `start_value` day.
    #[serde(default)]
    pub offset_occurrence: Option<u32>,
    /// Late-fee policy (05).
    #[serde(default)]
    pub late_fee_policy: Option<String>,
}

/// Auto-renewal settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub struct AutoRenewal {
    /// Fixed or evergreen.
    #[serde(rename = "type")]
    pub kind: RenewalType,
    /// Evergreen: schedules kept ahead.
    pub term: u32,
}

/// A product with its price-list settings (01).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Product {
    /// Unique code.
    pub code: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Price type.
    pub price_type: PriceType,
    /// List price per selling period (per unit for usage).
    #[serde(default)]
    pub list_price: Option<Decimal>,
    /// Period the price covers.
    #[serde(default)]
    pub selling_frequency: Option<SellingFrequency>,
    /// How the line is cut into schedules.
    #[serde(default)]
    pub billing_frequency: Option<BillingFrequency>,
    /// Ready-for-invoice rule.
    #[serde(default)]
    pub billing_rule: BillingRule,
    /// Days added to the ready date.
    #[serde(default)]
    pub ready_for_invoice_offset_days: u32,
    /// Taxable.
    #[serde(default)]
    pub taxable: bool,
    /// Price includes tax.
    #[serde(default)]
    pub tax_inclusive: bool,
    /// Tax code.
    #[serde(default)]
    pub tax_code: Option<String>,
    /// Bundle invoice level.
    #[serde(default)]
    pub bundle_invoice_level: Option<BundleLevel>,
    /// Bundle options.
    #[serde(default)]
    pub options: Vec<String>,
    /// Auto-renewal.
    #[serde(default)]
    pub auto_renewal: Option<AutoRenewal>,
    /// Usage rows' length.
    #[serde(default)]
    pub usage_frequency: Option<UsageFrequency>,
    /// Attributes passed to plugins.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Keys owned by later specs (usage, plans, revenue), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

impl Product {
    /// The effective billing frequency: explicit, else implied by the price type.
    pub fn billing_frequency(&self) -> BillingFrequency {
        self.billing_frequency.unwrap_or(match self.price_type {
            PriceType::OneTime => BillingFrequency::OneTime,
            PriceType::Usage => BillingFrequency::Usage,
            PriceType::Recurring => BillingFrequency::Monthly,
        })
    }

    /// The effective selling frequency.
    pub fn selling_frequency(&self) -> SellingFrequency {
        self.selling_frequency.unwrap_or(match self.price_type {
            PriceType::OneTime => SellingFrequency::OneTime,
            _ => SellingFrequency::Monthly,
        })
    }

    /// True when the product is evergreen.
    pub fn evergreen(&self) -> Option<u32> {
        self.auto_renewal
            .filter(|r| r.kind == RenewalType::Evergreen)
            .map(|r| r.term)
    }
}

/// An account location.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct Location {
    /// Id, unique within the account.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Billing preference at location level.
    #[serde(default)]
    pub billing_preference: Option<String>,
    /// Payment term at location level.
    #[serde(default)]
    pub payment_term: Option<String>,
    /// Invoice this location separately.
    #[serde(default)]
    pub invoice_separately: bool,
    /// Address and the template keys of 04, kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

/// A customer account (01; usually sent by the host).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Account {
    /// Unique id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Currency (ISO 4217); empty = the engine's price-list currency.
    #[serde(default)]
    pub currency: String,
    /// Parent account.
    #[serde(default)]
    pub parent: Option<String>,
    /// Account-level preference.
    #[serde(default)]
    pub billing_preference: Option<String>,
    /// Account-level payment term.
    #[serde(default)]
    pub payment_term: Option<String>,
    /// The account's billing day.
    #[serde(default)]
    pub billing_day_of_month: Option<DayOfMonth>,
    /// The account's calendar cycle month (`none` or a month).
    #[serde(default)]
    pub calendar_cycle_start: Option<CalendarStart>,
    /// Selling legal entity.
    #[serde(default)]
    pub legal_entity: Option<String>,
    /// Locations.
    #[serde(default)]
    pub locations: Vec<Location>,
    /// Attributes passed to plugins.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Keys owned by later specs (tax exemption, templates, A/R), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

/// A selling legal entity.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct LegalEntity {
    /// Unique id.
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Currency.
    pub currency: String,
    /// Invoice number prefix.
    #[serde(default)]
    pub invoice_number_prefix: Option<String>,
    /// First open revenue period.
    #[serde(default)]
    pub revenue_period: Option<NaiveDate>,
}

/// A ramp segment (03 A.6).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Segment {
    /// Segment start.
    pub start: NaiveDate,
    /// Segment end.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Quantity.
    #[serde(default)]
    pub quantity: Option<Decimal>,
    /// Net price of the segment.
    #[serde(default)]
    pub net_price: Option<Decimal>,
    /// List price.
    #[serde(default)]
    pub list_price: Option<Decimal>,
    /// Discount percent.
    #[serde(default)]
    pub discount_percent: Option<Decimal>,
}

/// An order line.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct OrderLine {
    /// Id within the order.
    pub id: String,
    /// Product code.
    pub product: String,
    /// Quantity (default 1).
    #[serde(default = "one")]
    pub quantity: Decimal,
    /// First day.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// Last day (inclusive).
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// The line's total for its term.
    #[serde(default)]
    pub net_price: Option<Decimal>,
    /// Overrides the product's list price.
    #[serde(default)]
    pub list_price: Option<Decimal>,
    /// Discount percent.
    #[serde(default)]
    pub discount_percent: Option<Decimal>,
    /// Line-level preference.
    #[serde(default)]
    pub billing_preference: Option<String>,
    /// Line-level payment term.
    #[serde(default)]
    pub payment_term: Option<String>,
    /// Bundle line id.
    #[serde(default)]
    pub parent: Option<String>,
    /// Option line ids.
    #[serde(default)]
    pub options: Vec<String>,
    /// Ramps.
    #[serde(default)]
    pub segments: Vec<Segment>,
    /// Attributes passed to plugins.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// Keys owned by later specs (bill_to, ship_to, billing_plan, ssp …), kept verbatim.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

/// An order (not yet active until `activate`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
pub struct Order {
    /// Unique id.
    pub id: String,
    /// Account id.
    pub account: String,
    /// Account location id.
    #[serde(default)]
    pub location: Option<String>,
    /// Order date.
    #[serde(default)]
    pub order_date: Option<NaiveDate>,
    /// Ready-for-billing date.
    #[serde(default)]
    pub ready_for_billing_date: Option<NaiveDate>,
    /// Ready-for-revenue date (06).
    #[serde(default)]
    pub ready_for_revenue_date: Option<NaiveDate>,
    /// Order-level preference.
    #[serde(default)]
    pub billing_preference: Option<String>,
    /// Order-level payment term.
    #[serde(default)]
    pub payment_term: Option<String>,
    /// Lines.
    pub lines: Vec<OrderLine>,
}

/// System properties (01 `system`); keys owned by later specs are kept verbatim.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
pub struct System {
    /// Accounts per batch (04 §3.3).
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// Every other key.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

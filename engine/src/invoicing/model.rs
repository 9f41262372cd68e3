//! Typed invoicing rule documents (04 §2, §5.1, §5.3, §7).
//!
//! The rows arrive as `serde_yaml::Value` in `RuleSet.documents` after the schema
//! ([`crate::schema_tables`]) has accepted them, so deserialising only maps names and fills
//! defaults. Decimals are read from YAML strings or integers, never through a float.

use super::InvoicingError;
use crate::error::Code;
use crate::model::{Account, DayOfMonth, Location};
use crate::rules::{RuleError, Sourced};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize};
use serde_yaml::Value;
use std::str::FromStr;

/// A decimal from a YAML string or integer (a float is refused: it may already have lost digits).
pub fn decimal_from_value(v: &Value) -> Result<Decimal, String> {
    match v {
        Value::String(s) => Decimal::from_str(s.trim())
            .or_else(|_| Decimal::from_scientific(s.trim()))
            .map_err(|_| format!("`{s}` is not a decimal number")),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Ok(Decimal::from(i))
            } else if let Some(u) = n.as_u64() {
                Ok(Decimal::from(u))
            } else {
                Err(format!(
                    "`{n}` is a float; write decimals as strings or integers"
                ))
            }
        }
        other => Err(format!("expected a decimal, found {other:?}")),
    }
}

/// Serde helper: a [`Decimal`] via [`decimal_from_value`].
pub fn de_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let v = Value::deserialize(d)?;
    decimal_from_value(&v).map_err(D::Error::custom)
}

/// A scalar read as text: strings as they are, numbers and booleans as written.
fn text_from_value(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

macro_rules! words {
    ($(#[$m:meta])* $name:ident { $($var:ident => $text:literal),+ $(,)? } $(default $def:ident)?) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name { $(#[doc = concat!("`", $text, "`")] #[serde(rename = $text)] $var),+ }
        $(impl Default for $name { fn default() -> Self { $name::$def } })?
        impl $name {
            /// The rule-file word.
            pub fn as_str(self) -> &'static str { match self { $($name::$var => $text),+ } }
        }
        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

words!(
    /// `invoice_runs[].type`.
    RunType { Immediate => "immediate", Scheduled => "scheduled" } default Immediate
);
words!(
    /// `invoice_date_type` (§2.1).
    InvoiceDateType { UserDefined => "user_defined", ReadyForInvoiceDate => "ready_for_invoice_date" } default UserDefined
);
words!(
    /// `credit_memo_creation` (§3.5).
    CreditMemoCreation {
        SingleForNegativeInvoice => "single_for_negative_invoice",
        PerNegativeSchedule => "per_negative_schedule",
        PerInvoice => "per_invoice",
    } default PerInvoice
);
words!(
    /// The comparison of an auto-approve threshold.
    ThresholdOp { Lt => "lt", Le => "le", Gt => "gt", Ge => "ge" }
);
words!(
    /// The comparison of a suppression threshold.
    SuppressOp { Lt => "lt", Le => "le", Eq => "eq" }
);
words!(
    /// The record a filter row tests (§2.2).
    FilterObject { Account => "account", Location => "location", Product => "product", Order => "order" }
);
words!(
    /// A filter row's comparison (§2.2).
    FilterOp {
        Equals => "equals", NotEquals => "not_equals", StartsWith => "starts_with",
        Contains => "contains", In => "in", Lt => "lt", Le => "le", Gt => "gt", Ge => "ge",
        IsEmpty => "is_empty",
    }
);
words!(
    /// `schedule.type` (§2.3).
    RunScheduleType { Weekly => "weekly", MonthlyByDate => "monthly_by_date", MonthlyByDay => "monthly_by_day" }
);
words!(
    /// A weekday word (`monday` … `sunday`).
    WeekdayName {
        Monday => "monday", Tuesday => "tuesday", Wednesday => "wednesday", Thursday => "thursday",
        Friday => "friday", Saturday => "saturday", Sunday => "sunday",
    }
);
words!(
    /// `schedule.week` for `monthly_by_day`.
    Week { First => "first", Second => "second", Third => "third", Fourth => "fourth", Last => "last" }
);
words!(
    /// A tax break-up level, in level order (§5.1).
    TaxLevel { Country => "country", State => "state", County => "county", City => "city", District => "district" }
);
words!(
    /// The document a numbering row numbers (§7).
    DocumentKind { Invoice => "invoice", CreditMemo => "credit_memo" }
);
words!(
    /// `numbering[].reset`.
    Reset { Never => "never", Yearly => "yearly" } default Never
);
words!(
    /// `tax_exempt.status` (01).
    ExemptStatus { Approved => "approved", Processing => "processing", Rejected => "rejected" }
);
words!(
    /// The preference's `tax_level` (01): whose tax settings apply.
    TaxLevelPref { Account => "account", Product => "product" } default Account
);
words!(
    /// `system.tax_rounding` (§2.4).
    TaxRounding { PerInvoice => "per_invoice", PerLine => "per_line" } default PerInvoice
);

impl WeekdayName {
    /// The chrono weekday.
    pub fn weekday(self) -> chrono::Weekday {
        use chrono::Weekday::*;
        match self {
            WeekdayName::Monday => Mon,
            WeekdayName::Tuesday => Tue,
            WeekdayName::Wednesday => Wed,
            WeekdayName::Thursday => Thu,
            WeekdayName::Friday => Fri,
            WeekdayName::Saturday => Sat,
            WeekdayName::Sunday => Sun,
        }
    }
}

/// `auto_approve`: `false`, `true`, or `{op, amount}` compared with the total incl. tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AutoApprove {
    /// `false` (default): nothing is approved by the run.
    #[default]
    Off,
    /// `true`: every invoice is approved.
    All,
    /// `{op, amount}`: invoices whose total meets the threshold.
    Threshold {
        /// The comparison.
        op: ThresholdOp,
        /// The threshold.
        amount: Decimal,
    },
}

impl AutoApprove {
    /// Whether an invoice with this `total` (incl. tax) is approved by the run. Invoices with an
    /// `error_status` are never auto-approved; the caller checks that.
    pub fn approves(&self, total: Decimal) -> bool {
        match *self {
            AutoApprove::Off => false,
            AutoApprove::All => true,
            AutoApprove::Threshold { op, amount } => match op {
                ThresholdOp::Lt => total < amount,
                ThresholdOp::Le => total <= amount,
                ThresholdOp::Gt => total > amount,
                ThresholdOp::Ge => total >= amount,
            },
        }
    }

    /// False only for `auto_approve: false`.
    pub fn is_on(&self) -> bool {
        !matches!(self, AutoApprove::Off)
    }
}

/// Written as it is read (`false`, `true`, `{op, amount}`), so a run's stored parameters read
/// back (regenerate, 04 §8.1).
impl Serialize for AutoApprove {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            AutoApprove::Off => s.serialize_bool(false),
            AutoApprove::All => s.serialize_bool(true),
            AutoApprove::Threshold { op, amount } => {
                use serde::ser::SerializeMap;
                let mut m = s.serialize_map(Some(2))?;
                m.serialize_entry("op", op)?;
                m.serialize_entry("amount", amount)?;
                m.end()
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold<Op> {
    op: Op,
    #[serde(deserialize_with = "de_decimal")]
    amount: Decimal,
}

impl<'de> Deserialize<'de> for AutoApprove {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(false) => Ok(AutoApprove::Off),
            Value::Bool(true) => Ok(AutoApprove::All),
            v @ Value::Mapping(_) => {
                let t: RawThreshold<ThresholdOp> =
                    serde_yaml::from_value(v).map_err(D::Error::custom)?;
                Ok(AutoApprove::Threshold {
                    op: t.op,
                    amount: t.amount,
                })
            }
            _ => Err(D::Error::custom(
                "expected false, true or {op: lt|le|gt|ge, amount: X}",
            )),
        }
    }
}

/// `suppress: {op: lt|le|eq, amount: X}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Suppress {
    /// The comparison.
    pub op: SuppressOp,
    /// The threshold.
    pub amount: Decimal,
}

impl Suppress {
    /// Whether an invoice with this `total` (incl. tax) is suppressed (never a credit memo).
    pub fn suppresses(&self, total: Decimal) -> bool {
        match self.op {
            SuppressOp::Lt => total < self.amount,
            SuppressOp::Le => total <= self.amount,
            SuppressOp::Eq => total == self.amount,
        }
    }
}

impl<'de> Deserialize<'de> for Suppress {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let t = RawThreshold::<SuppressOp>::deserialize(d)?;
        Ok(Suppress {
            op: t.op,
            amount: t.amount,
        })
    }
}

/// A filter row's `value`: one scalar (as text) or a list (for `in`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// One value.
    One(String),
    /// A list of values.
    List(Vec<String>),
}

impl FilterValue {
    /// The values as a slice-like list (one value = a list of one).
    pub fn items(&self) -> Vec<&str> {
        match self {
            FilterValue::One(s) => vec![s.as_str()],
            FilterValue::List(l) => l.iter().map(String::as_str).collect(),
        }
    }
}

impl<'de> Deserialize<'de> for FilterValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Sequence(items) => items
                .iter()
                .map(|i| text_from_value(i).ok_or_else(|| D::Error::custom("a list of scalars")))
                .collect::<Result<Vec<_>, _>>()
                .map(FilterValue::List),
            v => text_from_value(&v)
                .map(FilterValue::One)
                .ok_or_else(|| D::Error::custom("a scalar or a list of scalars")),
        }
    }
}

/// One filter row (§2.2). Written as it is read (`{n, object, field, op, value}` or
/// `{n, object: custom, callback}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterRow {
    /// `{n, object, field, op, value}`.
    Field {
        /// Row number, unique within the run.
        n: u32,
        /// The record tested.
        object: FilterObject,
        /// A scalar field of that record.
        field: String,
        /// The comparison.
        op: FilterOp,
        /// The value (absent for `is_empty`).
        value: Option<FilterValue>,
    },
    /// `{n, object: custom, callback: NAME}`: a filter callback (07).
    Custom {
        /// Row number, unique within the run.
        n: u32,
        /// The plugin name.
        callback: String,
    },
}

impl Serialize for FilterRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        match self {
            FilterRow::Field {
                n,
                object,
                field,
                op,
                value,
            } => {
                m.serialize_entry("n", n)?;
                m.serialize_entry("object", object)?;
                m.serialize_entry("field", field)?;
                m.serialize_entry("op", op)?;
                if let Some(v) = value {
                    m.serialize_entry("value", v)?;
                }
            }
            FilterRow::Custom { n, callback } => {
                m.serialize_entry("n", n)?;
                m.serialize_entry("object", "custom")?;
                m.serialize_entry("callback", callback)?;
            }
        }
        m.end()
    }
}

impl FilterRow {
    /// The row number.
    pub fn n(&self) -> u32 {
        match self {
            FilterRow::Field { n, .. } | FilterRow::Custom { n, .. } => *n,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFilterRow {
    n: u32,
    object: String,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    op: Option<FilterOp>,
    #[serde(default)]
    value: Option<FilterValue>,
    #[serde(default)]
    callback: Option<String>,
}

impl<'de> Deserialize<'de> for FilterRow {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RawFilterRow::deserialize(d)?;
        if r.object == "custom" {
            if r.field.is_some() || r.op.is_some() || r.value.is_some() {
                return Err(D::Error::custom(
                    "a custom row has only n, object and callback",
                ));
            }
            let callback = r
                .callback
                .ok_or_else(|| D::Error::custom("a custom row needs `callback`"))?;
            return Ok(FilterRow::Custom { n: r.n, callback });
        }
        if r.callback.is_some() {
            return Err(D::Error::custom("`callback` belongs to object: custom"));
        }
        let object: FilterObject =
            serde_yaml::from_value(Value::String(r.object)).map_err(D::Error::custom)?;
        Ok(FilterRow::Field {
            n: r.n,
            object,
            field: r
                .field
                .ok_or_else(|| D::Error::custom("a filter row needs `field`"))?,
            op: r
                .op
                .ok_or_else(|| D::Error::custom("a filter row needs `op`"))?,
            value: r.value,
        })
    }
}

/// `invoice_runs[].schedule` (§2.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunSchedule {
    /// Recurrence.
    #[serde(rename = "type")]
    pub kind: RunScheduleType,
    /// Weekly and monthly_by_day.
    #[serde(default)]
    pub weekday: Option<WeekdayName>,
    /// monthly_by_date: 1–31 or end of month (clamped).
    #[serde(default)]
    pub day: Option<DayOfMonth>,
    /// monthly_by_day: first … fourth, last.
    #[serde(default)]
    pub week: Option<Week>,
    /// Preferred start `HH:MM` (default `00:00`).
    #[serde(default)]
    pub time: Option<String>,
    /// First possible occurrence.
    #[serde(default)]
    pub from: Option<NaiveDate>,
    /// Last possible occurrence (open when absent).
    #[serde(default)]
    pub to: Option<NaiveDate>,
    /// Days added to the occurrence date to give the invoice date.
    #[serde(default)]
    pub invoice_date_offset: i64,
    /// Days added to the invoice date to give the process-through date.
    #[serde(default)]
    pub process_through_offset: i64,
}

impl RunSchedule {
    /// The preferred start time (default 00:00); `None` when `time` is not `HH:MM`.
    pub fn start_time(&self) -> Option<chrono::NaiveTime> {
        match &self.time {
            None => chrono::NaiveTime::from_hms_opt(0, 0, 0),
            Some(t) => chrono::NaiveTime::parse_from_str(t, "%H:%M").ok(),
        }
    }

    /// The `bad_run_schedule` conditions: keys the type needs or forbids, a missing `from`,
    /// `to` before `from`, a bad time.
    pub fn check(&self) -> Vec<InvoicingError> {
        let mut out = Vec::new();
        let mut bad = |field: &str, msg: String| {
            out.push(InvoicingError::new(
                Code::BadRunSchedule,
                format!("schedule.{field}"),
                msg,
            ))
        };
        let t = self.kind;
        let (needs_weekday, needs_day, needs_week) = match t {
            RunScheduleType::Weekly => (true, false, false),
            RunScheduleType::MonthlyByDate => (false, true, false),
            RunScheduleType::MonthlyByDay => (true, false, true),
        };
        for (field, present, needed) in [
            ("weekday", self.weekday.is_some(), needs_weekday),
            ("day", self.day.is_some(), needs_day),
            ("week", self.week.is_some(), needs_week),
        ] {
            if needed && !present {
                bad(field, format!("type {t} needs `{field}`"));
            } else if present && !needed {
                bad(field, format!("`{field}` does not apply to type {t}"));
            }
        }
        if let Some(DayOfMonth::Day(d)) = self.day {
            if !(1..=31).contains(&d) {
                bad("day", format!("day {d} is not 1–31 or end_of_month"));
            }
        }
        if self.start_time().is_none() {
            bad(
                "time",
                format!("`{}` is not HH:MM", self.time.as_deref().unwrap_or("")),
            );
        }
        match (self.from, self.to) {
            (None, _) => bad(
                "from",
                "a scheduled run needs `from`, its first possible occurrence".into(),
            ),
            (Some(f), Some(to)) if to < f => bad("to", format!("`to` {to} is before `from` {f}")),
            _ => {}
        }
        out
    }
}

/// An `invoice_runs` row (§2.1) with its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InvoiceRunDef {
    /// Unique name.
    pub name: String,
    /// `immediate` (default) or `scheduled`.
    #[serde(rename = "type", default)]
    pub kind: RunType,
    /// Filter rows.
    #[serde(default)]
    pub filters: Vec<FilterRow>,
    /// Expression over row numbers (absent = all rows ANDed).
    #[serde(default)]
    pub filter_logic: Option<String>,
    /// How invoice dates are chosen.
    #[serde(default)]
    pub invoice_date_type: InvoiceDateType,
    /// Immediate runs: the invoice date (default the run date).
    #[serde(default)]
    pub invoice_date: Option<NaiveDate>,
    /// Immediate runs: the process-through date (required when the run executes).
    #[serde(default)]
    pub process_through: Option<NaiveDate>,
    /// Scheduled runs: the recurrence.
    #[serde(default)]
    pub schedule: Option<RunSchedule>,
    /// Auto-approval of invoices.
    #[serde(default)]
    pub auto_approve: AutoApprove,
    /// Run memos are approved at creation.
    #[serde(default)]
    pub auto_approve_credit_memos: bool,
    /// E-mail approved invoices.
    #[serde(default)]
    pub auto_send: bool,
    /// E-mail approved credit memos.
    #[serde(default)]
    pub auto_send_credit_memos: bool,
    /// The order is a grouping key.
    #[serde(default)]
    pub split_by_order: bool,
    /// Invoices whose total meets it are not created.
    #[serde(default)]
    pub suppress: Option<Suppress>,
    /// Template overriding account and location invoice templates.
    #[serde(default)]
    pub template: Option<String>,
    /// Positive and negative schedules per group (§3.5).
    #[serde(default)]
    pub credit_memo_creation: CreditMemoCreation,
    /// Render documents in the run (`None` = `system.generate_documents`).
    #[serde(default)]
    pub generate_documents: Option<bool>,
}

impl InvoiceRunDef {
    /// The run-definition checks of §13: `auto_send_requires_auto_approve` (also for credit
    /// memos, §15.18), `bad_run_schedule`, `schedule_on_immediate_run`, and the filter checks of
    /// [`super::filter::check_filters`]. `missing_process_through` is checked when an immediate run
    /// executes ([`InvoiceRunDef::immediate_dates`]), since a rules run may get it from the step.
    pub fn check(&self) -> Vec<InvoicingError> {
        let mut out = Vec::new();
        if self.auto_send && !self.auto_approve.is_on() {
            out.push(InvoicingError::new(
                Code::AutoSendRequiresAutoApprove,
                "auto_send",
                "auto_send needs auto_approve other than false",
            ));
        }
        if self.auto_send_credit_memos && !self.auto_approve_credit_memos {
            out.push(InvoicingError::new(
                Code::AutoSendRequiresAutoApprove,
                "auto_send_credit_memos",
                "auto_send_credit_memos needs auto_approve_credit_memos: true",
            ));
        }
        match (self.kind, &self.schedule) {
            (RunType::Scheduled, None) => out.push(InvoicingError::new(
                Code::BadRunSchedule,
                "schedule",
                "a scheduled run needs `schedule`",
            )),
            (RunType::Scheduled, Some(s)) => out.extend(s.check()),
            (RunType::Immediate, Some(_)) => out.push(InvoicingError::new(
                Code::ScheduleOnImmediateRun,
                "schedule",
                "an immediate run takes no `schedule`",
            )),
            (RunType::Immediate, None) => {}
        }
        if self.kind == RunType::Scheduled {
            for (field, set) in [
                ("invoice_date", self.invoice_date.is_some()),
                ("process_through", self.process_through.is_some()),
            ] {
                if set {
                    out.push(InvoicingError::new(
                        Code::BadRunSchedule,
                        field,
                        format!("`{field}` is for immediate runs; a scheduled run uses its schedule's offsets"),
                    ));
                }
            }
        }
        if let Err(e) = super::filter::check_filters(&self.filters, self.filter_logic.as_deref()) {
            out.extend(e);
        }
        out
    }

    /// The invoice date and process-through date of an immediate run executed on `run_date`,
    /// the step's dates (if given) overriding the definition's: invoice date defaults to the run
    /// date; no process-through anywhere → `missing_process_through`.
    pub fn immediate_dates(
        &self,
        run_date: NaiveDate,
        invoice_date: Option<NaiveDate>,
        process_through: Option<NaiveDate>,
    ) -> Result<(NaiveDate, NaiveDate), InvoicingError> {
        let inv = invoice_date.or(self.invoice_date).unwrap_or(run_date);
        let pt = process_through.or(self.process_through).ok_or_else(|| {
            InvoicingError::new(
                Code::MissingProcessThrough,
                "process_through",
                format!("immediate run `{}` has no process_through date", self.name),
            )
        })?;
        Ok((inv, pt))
    }
}

/// A `tax_rates` row (§5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxRate {
    /// Product tax codes the row applies to.
    pub tax_code: Vec<String>,
    /// Jurisdiction: country (unset = any).
    pub country: Option<String>,
    /// Jurisdiction: region (unset = any).
    pub region: Option<String>,
    /// Jurisdiction: city (unset = any).
    pub city: Option<String>,
    /// Jurisdiction: postal code (unset = any).
    pub postal_code: Option<String>,
    /// Break-up level.
    pub level: TaxLevel,
    /// Break-up name (`CA State`); when absent the level word is used.
    pub name: Option<String>,
    /// Percent, 0–100.
    pub rate: Decimal,
    /// First day, inclusive (open when absent).
    pub effective: Option<NaiveDate>,
    /// Last day, inclusive (open when absent).
    pub expires: Option<NaiveDate>,
}

impl TaxRate {
    /// The break-up name: `name`, else the level word.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(self.level.as_str())
    }

    /// Whether the row is in force on `date` (both ends inclusive).
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.effective.is_none_or(|e| e <= date) && self.expires.is_none_or(|x| date <= x)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTaxRate {
    tax_code: FilterValue,
    #[serde(default)]
    country: Option<Value>,
    #[serde(default)]
    region: Option<Value>,
    #[serde(default)]
    city: Option<Value>,
    #[serde(default)]
    postal_code: Option<Value>,
    level: TaxLevel,
    #[serde(default)]
    name: Option<Value>,
    #[serde(deserialize_with = "de_decimal")]
    rate: Decimal,
    #[serde(default)]
    effective: Option<NaiveDate>,
    #[serde(default)]
    expires: Option<NaiveDate>,
}

impl<'de> Deserialize<'de> for TaxRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = RawTaxRate::deserialize(d)?;
        let text = |v: Option<Value>| -> Result<Option<String>, D::Error> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => text_from_value(&v)
                    .map(Some)
                    .ok_or_else(|| D::Error::custom("expected text")),
            }
        };
        Ok(TaxRate {
            tax_code: match r.tax_code {
                FilterValue::One(s) => vec![s],
                FilterValue::List(l) => l,
            },
            country: text(r.country)?,
            region: text(r.region)?,
            city: text(r.city)?,
            postal_code: text(r.postal_code)?,
            level: r.level,
            name: text(r.name)?,
            rate: r.rate,
            effective: r.effective,
            expires: r.expires,
        })
    }
}

/// A `numbering` row (§7). Omitted keys take the defaults of §7 when the row is resolved
/// ([`super::numbering::resolve`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NumberingRow {
    /// `invoice` or `credit_memo`.
    pub document: DocumentKind,
    /// Legal entity id (`None` = each entity).
    #[serde(default)]
    pub legal_entity: Option<String>,
    /// Prefix (default the entity's `invoice_number_prefix`, else `INV-` / `CM-`).
    #[serde(default)]
    pub prefix: Option<String>,
    /// Format (default `{prefix}{seq:6}`).
    #[serde(default)]
    pub format: Option<String>,
    /// First sequence number (default 1).
    #[serde(default)]
    pub start: Option<u64>,
    /// `never` (default) or `yearly`.
    #[serde(default)]
    pub reset: Reset,
    /// An `invoice_numbering` plugin that returns the number.
    #[serde(default)]
    pub callback: Option<String>,
}

/// `tax_exempt` of an account or location (01, 04 §5.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TaxExempt {
    /// Certificate status; only `approved` exempts.
    pub status: ExemptStatus,
    /// Certificate id.
    #[serde(default)]
    pub certificate: Option<String>,
    /// First day (open when absent).
    #[serde(default)]
    pub effective: Option<NaiveDate>,
    /// Last day (open when absent).
    #[serde(default)]
    pub expires: Option<NaiveDate>,
    /// Tax codes exempted under `tax_level: product` (`None` = all).
    #[serde(default)]
    pub tax_codes: Option<Vec<String>>,
}

impl TaxExempt {
    /// The `tax_exempt` kept verbatim in a record's extra keys, typed (`Ok(None)` when absent).
    fn from_extra(
        extra: &std::collections::BTreeMap<String, Value>,
    ) -> Result<Option<TaxExempt>, String> {
        match extra.get("tax_exempt") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => serde_yaml::from_value(v.clone())
                .map(Some)
                .map_err(|e| format!("tax_exempt: {e}")),
        }
    }

    /// An account's `tax_exempt`.
    pub fn of_account(account: &Account) -> Result<Option<TaxExempt>, String> {
        Self::from_extra(&account.extra)
    }

    /// A location's `tax_exempt`.
    pub fn of_location(location: &Location) -> Result<Option<TaxExempt>, String> {
        Self::from_extra(&location.extra)
    }
}

/// Type every row of a list document, reporting each row that does not fit with its file and
/// position (`doc` names the document in the error paths, e.g. `tax_rates`).
pub fn from_rows<T: DeserializeOwned>(
    doc: &str,
    rows: &[Sourced<Value>],
) -> Result<Vec<T>, Vec<RuleError>> {
    let mut out = Vec::with_capacity(rows.len());
    let mut errors = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        match serde_yaml::from_value::<T>(row.value.clone()) {
            Ok(v) => out.push(v),
            Err(e) => errors.push(RuleError {
                code: "bad_value",
                file: row.file.clone(),
                pos: row.pos,
                path: format!("{doc}[{i}]"),
                found: e.to_string(),
                allowed: "a valid row".into(),
            }),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Type the rows of one of the rule set's domain documents (none = an empty list).
pub fn document_rows<T: DeserializeOwned>(
    set: &crate::rules::RuleSet,
    doc: &str,
) -> Result<Vec<T>, Vec<RuleError>> {
    match set.documents.get(doc) {
        Some(rows) => from_rows(doc, rows),
        None => Ok(Vec::new()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One YAML value through the engine's own parser (so numbers and strings arrive exactly as
    /// they do from a rules folder).
    pub(crate) fn yaml(text: &str) -> Value {
        crate::yaml::parse(text).unwrap().remove(0).to_value()
    }

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn run_defaults_follow_2_1() {
        let r: InvoiceRunDef =
            serde_yaml::from_value(yaml("name: R\nprocess_through: 2016-03-01\n")).unwrap();
        assert_eq!(r.kind, RunType::Immediate);
        assert!(r.filters.is_empty());
        assert_eq!(r.filter_logic, None);
        assert_eq!(r.invoice_date_type, InvoiceDateType::UserDefined);
        assert_eq!(r.auto_approve, AutoApprove::Off);
        assert!(!r.auto_approve_credit_memos && !r.auto_send && !r.auto_send_credit_memos);
        assert!(!r.split_by_order);
        assert_eq!(r.suppress, None);
        assert_eq!(r.credit_memo_creation, CreditMemoCreation::PerInvoice);
        assert_eq!(r.generate_documents, None);
        assert_eq!(r.process_through, Some(d("2016-03-01")));
        assert!(r.check().is_empty());
    }

    /// A run's stored parameters (its definition as JSON) read back to the same definition, for
    /// every shape of the keys that have several (regenerate and rebill read them, 04 §8.1).
    #[test]
    fn definitions_round_trip_through_their_parameters() {
        for extra in [
            "auto_approve: false\n",
            "auto_approve: true\nauto_send: true\n",
            "auto_approve: {op: le, amount: \"1000.50\"}\nsuppress: {op: eq, amount: 0}\n",
            "split_by_order: true\ncredit_memo_creation: per_negative_schedule\ninvoice_date_type: ready_for_invoice_date\n",
            "filters:\n  - {n: 1, object: account, field: name, op: in, value: [A, B]}\n  - {n: 2, object: custom, callback: big}\nfilter_logic: 1 OR 2\ntemplate: T\n",
            "type: scheduled\nschedule: {type: monthly_by_day, week: second, weekday: monday, time: \"09:30\", invoice_date_offset: -1}\n",
        ] {
            let text = format!("name: R\nprocess_through: 2016-03-01\n{extra}");
            let def: InvoiceRunDef = serde_yaml::from_value(yaml(&text)).unwrap();
            let json = serde_json::to_string(&def).unwrap();
            let back: InvoiceRunDef = serde_json::from_str(&json)
                .unwrap_or_else(|e| panic!("{extra}: {json}: {e}"));
            assert_eq!(back, def, "{extra}");
        }
    }

    #[test]
    fn full_run_with_filters_and_schedule() {
        let r: InvoiceRunDef = serde_yaml::from_value(yaml(
            "name: WEEKLY
type: scheduled
filters:
  - {n: 1, object: account, field: name, op: equals, value: DigiSpeakers}
  - {n: 2, object: location, field: country, op: in, value: [Brazil, Mexico]}
  - {n: 3, object: product, field: list_price, op: ge, value: 100}
  - {n: 4, object: custom, callback: big_accounts}
filter_logic: 1 AND (2 OR 3) AND 4
schedule: {type: weekly, weekday: monday, from: 2016-03-01, invoice_date_offset: -1, process_through_offset: 6}
auto_approve: {op: le, amount: 1000}
suppress: {op: le, amount: \"0\"}
credit_memo_creation: single_for_negative_invoice
auto_send: true
",
        ))
        .unwrap();
        assert_eq!(r.kind, RunType::Scheduled);
        assert_eq!(r.filters.len(), 4);
        assert_eq!(
            r.filters[1],
            FilterRow::Field {
                n: 2,
                object: FilterObject::Location,
                field: "country".into(),
                op: FilterOp::In,
                value: Some(FilterValue::List(vec!["Brazil".into(), "Mexico".into()])),
            }
        );
        assert_eq!(
            r.filters[2],
            FilterRow::Field {
                n: 3,
                object: FilterObject::Product,
                field: "list_price".into(),
                op: FilterOp::Ge,
                value: Some(FilterValue::One("100".into())),
            }
        );
        assert_eq!(
            r.filters[3],
            FilterRow::Custom {
                n: 4,
                callback: "big_accounts".into()
            }
        );
        let s = r.schedule.as_ref().unwrap();
        assert_eq!(s.kind, RunScheduleType::Weekly);
        assert_eq!(s.weekday, Some(WeekdayName::Monday));
        assert_eq!((s.invoice_date_offset, s.process_through_offset), (-1, 6));
        assert_eq!(s.start_time(), chrono::NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(
            r.auto_approve,
            AutoApprove::Threshold {
                op: ThresholdOp::Le,
                amount: dec("1000")
            }
        );
        assert_eq!(
            r.suppress,
            Some(Suppress {
                op: SuppressOp::Le,
                amount: Decimal::ZERO
            })
        );
        assert!(r.check().is_empty(), "{:?}", r.check());
    }

    #[test]
    fn ir_03_auto_approve_threshold() {
        let a = AutoApprove::Threshold {
            op: ThresholdOp::Le,
            amount: dec("1000"),
        };
        assert!(a.approves(dec("999.99")));
        assert!(a.approves(dec("1000.00")));
        assert!(!a.approves(dec("1000.01")));
        assert!(AutoApprove::All.approves(dec("1e9")));
        assert!(!AutoApprove::Off.approves(Decimal::ZERO));
        let v: AutoApprove = serde_yaml::from_value(yaml("true")).unwrap();
        assert_eq!(v, AutoApprove::All);
        let v: AutoApprove = serde_yaml::from_value(yaml("false")).unwrap();
        assert_eq!(v, AutoApprove::Off);
    }

    #[test]
    fn ir_04_suppress_le_zero() {
        let s: Suppress = serde_yaml::from_value(yaml("{op: le, amount: 0}")).unwrap();
        assert!(s.suppresses(dec("0.00")));
        assert!(!s.suppresses(dec("0.01")));
        let eq = Suppress {
            op: SuppressOp::Eq,
            amount: Decimal::ZERO,
        };
        assert!(eq.suppresses(dec("0.00")) && !eq.suppresses(dec("-0.01")));
        let lt = Suppress {
            op: SuppressOp::Lt,
            amount: dec("10"),
        };
        assert!(lt.suppresses(dec("9.99")) && !lt.suppresses(dec("10.00")));
    }

    #[test]
    fn run_definition_errors() {
        let check = |text: &str| -> Vec<Code> {
            let r: InvoiceRunDef = serde_yaml::from_value(yaml(text)).unwrap();
            r.check().into_iter().map(|e| e.code).collect()
        };
        assert_eq!(
            check("{name: R, auto_send: true}"),
            vec![Code::AutoSendRequiresAutoApprove]
        );
        assert_eq!(
            check("{name: R, auto_send_credit_memos: true, auto_approve: true}"),
            vec![Code::AutoSendRequiresAutoApprove]
        );
        assert_eq!(
            check("{name: R, auto_send: true, auto_approve: {op: lt, amount: 5}}"),
            vec![]
        );
        assert_eq!(
            check("{name: R, type: scheduled}"),
            vec![Code::BadRunSchedule]
        );
        assert_eq!(
            check("{name: R, schedule: {type: weekly, weekday: monday, from: 2016-01-01}}"),
            vec![Code::ScheduleOnImmediateRun]
        );
        assert_eq!(
            check("{name: R, type: scheduled, schedule: {type: weekly, from: 2016-01-01}}"),
            vec![Code::BadRunSchedule]
        );
        assert_eq!(
            check("{name: R, type: scheduled, schedule: {type: monthly_by_date, day: 5, weekday: monday, from: 2016-01-01}}"),
            vec![Code::BadRunSchedule]
        );
        assert_eq!(
            check("{name: R, type: scheduled, schedule: {type: monthly_by_day, week: last, weekday: friday}}"),
            vec![Code::BadRunSchedule]
        );
        assert_eq!(
            check("{name: R, type: scheduled, schedule: {type: monthly_by_date, day: end_of_month, from: 2016-02-01, to: 2016-01-01}}"),
            vec![Code::BadRunSchedule]
        );
        assert_eq!(
            check("{name: R, filters: [{n: 1, object: account, field: name, op: equals, value: X}], filter_logic: '1 AND 2'}"),
            vec![Code::UnknownFilterRow]
        );
    }

    #[test]
    fn immediate_dates_default_and_require() {
        let r: InvoiceRunDef = serde_yaml::from_value(yaml("{name: R}")).unwrap();
        let e = r.immediate_dates(d("2016-03-07"), None, None).unwrap_err();
        assert_eq!(e.code, Code::MissingProcessThrough);
        assert_eq!(
            r.immediate_dates(d("2016-03-07"), None, Some(d("2016-03-31"))),
            Ok((d("2016-03-07"), d("2016-03-31")))
        );
        assert_eq!(
            r.immediate_dates(
                d("2016-03-07"),
                Some(d("2016-03-01")),
                Some(d("2016-03-31"))
            ),
            Ok((d("2016-03-01"), d("2016-03-31")))
        );
    }

    #[test]
    fn bad_rows_are_refused() {
        for text in [
            "{name: R, colour: red}",
            "{name: R, filters: [{n: 1, object: custom}]}",
            "{name: R, filters: [{n: 1, object: custom, callback: c, field: x}]}",
            "{name: R, filters: [{n: 1, object: account, op: equals}]}",
            "{name: R, filters: [{n: 1, object: planet, field: x, op: equals}]}",
            "{name: R, auto_approve: {op: eq, amount: 5}}",
            "{name: R, suppress: {op: gt, amount: 5}}",
        ] {
            assert!(
                serde_yaml::from_value::<InvoiceRunDef>(yaml(text)).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn decimals_never_pass_through_floats() {
        assert_eq!(decimal_from_value(&yaml("6.25")), Ok(dec("6.25")));
        assert_eq!(decimal_from_value(&yaml("'0.1'")), Ok(dec("0.1")));
        assert_eq!(decimal_from_value(&yaml("7")), Ok(dec("7")));
        // serde_yaml's own parser makes 6.25 a float: refused rather than converted.
        let float: Value = serde_yaml::from_str("6.25").unwrap();
        assert!(decimal_from_value(&float).is_err());
        assert!(decimal_from_value(&yaml("abc")).is_err());
    }

    #[test]
    fn tax_rate_rows() {
        let r: TaxRate = serde_yaml::from_value(yaml(
            "{tax_code: SW, country: US, region: CA, level: state, name: CA State, rate: 6.25, effective: 2016-01-01}",
        ))
        .unwrap();
        assert_eq!(r.tax_code, vec!["SW".to_string()]);
        assert_eq!(r.region.as_deref(), Some("CA"));
        assert_eq!(r.level, TaxLevel::State);
        assert_eq!(r.rate, dec("6.25"));
        assert_eq!(r.display_name(), "CA State");
        assert!(r.in_force(d("2016-01-01")) && !r.in_force(d("2015-12-31")));
        let r: TaxRate = serde_yaml::from_value(yaml(
            "{tax_code: [SW, HW], postal_code: 94105, level: district, rate: 0.5, expires: 2016-06-30}",
        ))
        .unwrap();
        assert_eq!(r.tax_code, vec!["SW".to_string(), "HW".to_string()]);
        assert_eq!(r.postal_code.as_deref(), Some("94105"));
        assert_eq!(r.display_name(), "district");
        assert!(r.in_force(d("2016-06-30")) && !r.in_force(d("2016-07-01")));
    }

    #[test]
    fn numbering_rows() {
        let r: NumberingRow = serde_yaml::from_value(yaml("{document: invoice}")).unwrap();
        assert_eq!(r.document, DocumentKind::Invoice);
        assert_eq!(r.reset, Reset::Never);
        assert_eq!((r.prefix, r.format, r.start), (None, None, None));
        let r: NumberingRow = serde_yaml::from_value(yaml(
            "{document: credit_memo, legal_entity: US1, prefix: C-, format: '{prefix}{year}-{seq:4}', start: 100, reset: yearly}",
        ))
        .unwrap();
        assert_eq!(r.document, DocumentKind::CreditMemo);
        assert_eq!(r.start, Some(100));
        assert_eq!(r.reset, Reset::Yearly);
    }

    #[test]
    fn tax_exempt_from_records() {
        let a: Account = serde_yaml::from_value(yaml(
            "{id: ACME, tax_exempt: {status: approved, certificate: C1, effective: 2016-01-01, expires: 2016-06-30, tax_codes: [SW]}}",
        ))
        .unwrap();
        let t = TaxExempt::of_account(&a).unwrap().unwrap();
        assert_eq!(t.status, ExemptStatus::Approved);
        assert_eq!(t.expires, Some(d("2016-06-30")));
        assert_eq!(t.tax_codes, Some(vec!["SW".to_string()]));
        let l: Location = serde_yaml::from_value(yaml("{id: HQ, country: US}")).unwrap();
        assert_eq!(TaxExempt::of_location(&l), Ok(None));
    }

    #[test]
    fn rows_report_file_and_position() {
        let rows = vec![
            Sourced {
                file: "a.yaml".into(),
                pos: Default::default(),
                value: yaml("{document: invoice}"),
            },
            Sourced {
                file: "b.yaml".into(),
                pos: Default::default(),
                value: yaml("{document: statement}"),
            },
        ];
        let e = from_rows::<NumberingRow>("numbering", &rows).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].file, "b.yaml");
        assert_eq!(e[0].path, "numbering[1]");
        assert_eq!(
            from_rows::<NumberingRow>("numbering", &rows[..1])
                .unwrap()
                .len(),
            1
        );
    }
}

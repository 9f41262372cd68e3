//! Billing plans as pure functions (03 C.1, C.2): the documents' types, their checks, and the
//! item rows of a plan for one line. No store, no clock.

use crate::dates::{clamped, month_index};
use crate::error::Code;
use crate::money::{round, Rounding};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A template's plan start (03 C.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PlanStart {
    /// The line start (the guide's Quote Start Date).
    #[default]
    LineStart,
    /// Given on the order line (User Entered).
    Given,
}

/// An item's offset after the plan start (item 1) or the previous item's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(try_from = "RawOffset", into = "RawOffset")]
pub enum Offset {
    /// Whole months, keeping the plan start's day of month (clamped).
    Months(u32),
    /// Days.
    Days(u32),
}

/// `{months: N}` or `{days: N}` as written.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
pub struct RawOffset {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    months: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    days: Option<u32>,
}

impl TryFrom<RawOffset> for Offset {
    type Error = String;
    fn try_from(r: RawOffset) -> Result<Self, String> {
        match (r.months, r.days) {
            (Some(m), None) => Ok(Offset::Months(m)),
            (None, Some(d)) => Ok(Offset::Days(d)),
            _ => Err("an offset is {months: N} or {days: N}".into()),
        }
    }
}

impl From<Offset> for RawOffset {
    fn from(o: Offset) -> Self {
        match o {
            Offset::Months(m) => RawOffset {
                months: Some(m),
                days: None,
            },
            Offset::Days(d) => RawOffset {
                months: None,
                days: Some(d),
            },
        }
    }
}

impl Offset {
    fn is_zero(self) -> bool {
        matches!(self, Offset::Months(0) | Offset::Days(0))
    }
}

/// One template item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct TemplateItem {
    /// Name, stamped on its row as `item`.
    pub name: String,
    /// Share of the line's net price.
    pub percent: Decimal,
    /// Offset (default 0).
    #[serde(default)]
    pub offset: Option<Offset>,
    /// Payment term of the item's invoice.
    #[serde(default)]
    pub payment_term: Option<String>,
}

/// A `billing_plans` document: a template, fixed plans only (03 C.1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Template {
    /// Unique name.
    pub name: String,
    /// Plan start.
    #[serde(default)]
    pub start: PlanStart,
    /// Must equal the number of items.
    #[serde(default)]
    pub installments: Option<u32>,
    /// Items in order.
    pub items: Vec<TemplateItem>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// `fixed` or `milestone`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Dated items (templates, inline fixed items).
    Fixed,
    /// Items billed on completion (C.3).
    Milestone,
}

/// How item amounts are found (03 C.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// `percent` of the net price.
    Percent,
    /// `amount` as given.
    Amount,
    /// The net price split evenly.
    SplitEvenly,
}

/// An item of a plan without a template.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct InlineItem {
    /// Name.
    pub name: String,
    /// Fixed plans: first day.
    #[serde(default)]
    pub start: Option<NaiveDate>,
    /// Fixed plans: last day.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Fixed plans: ready date (default start).
    #[serde(default)]
    pub ready: Option<NaiveDate>,
    /// Method percent.
    #[serde(default)]
    pub percent: Option<Decimal>,
    /// Method amount.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// Payment term of the item's invoice.
    #[serde(default)]
    pub payment_term: Option<String>,
}

/// An order line's `billing_plan` (03 C.1), or a product's template name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum LinePlan {
    /// `NAME`.
    Name(String),
    /// `{template, start, end}`.
    Template {
        /// Template name.
        template: String,
        /// Plan start (templates with `start: given`).
        #[serde(default)]
        start: Option<NaiveDate>,
        /// Plan end (default the line end).
        #[serde(default)]
        end: Option<NaiveDate>,
    },
    /// `{type, method, items}`: a plan without a template.
    Inline {
        /// `fixed` or `milestone`.
        #[serde(rename = "type")]
        kind: PlanKind,
        /// `percent`, `amount`, `split_evenly`.
        method: Method,
        /// Items in order.
        items: Vec<InlineItem>,
    },
}

/// A plan error: its code, the field inside the plan (`items[2].offset`, empty for the plan
/// itself) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError {
    /// The code.
    pub code: Code,
    /// Field path inside the plan document or the line's `billing_plan`.
    pub field: String,
    /// In words.
    pub message: String,
}

fn err(code: Code, field: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        code,
        field: field.into(),
        message: message.into(),
    }
}

/// The load checks of one template (03 C.2, C.4): `plan_installments`, `plan_percent_sum`, and
/// `plan_item_dates` for an item after the first whose offset is 0 (its start would not be after
/// the previous one's).
pub fn check_template(t: &Template) -> Vec<PlanError> {
    let mut out = Vec::new();
    if t.items.is_empty() {
        out.push(err(
            Code::PlanInstallments,
            "items",
            "the plan has no items",
        ));
    }
    if let Some(n) = t.installments {
        if n as usize != t.items.len() {
            out.push(err(
                Code::PlanInstallments,
                "installments",
                format!("installments {n}, but the plan has {} items", t.items.len()),
            ));
        }
    }
    let sum: Decimal = t.items.iter().map(|i| i.percent).sum();
    if !t.items.is_empty() && sum != Decimal::ONE_HUNDRED {
        out.push(err(
            Code::PlanPercentSum,
            "items",
            format!("the item percents sum to {sum}, not 100"),
        ));
    }
    for (k, item) in t.items.iter().enumerate().skip(1) {
        if item.offset.is_none_or(Offset::is_zero) {
            out.push(err(
                Code::PlanItemDates,
                if item.offset.is_some() {
                    format!("items[{k}].offset")
                } else {
                    format!("items[{k}]")
                },
                format!(
                    "item `{}` has offset 0, so it would not start after item `{}`",
                    item.name,
                    t.items[k - 1].name
                ),
            ));
        }
    }
    out
}

/// The checks of an order line's `billing_plan` that need no line dates or price: the template
/// reference (`unknown_billing_plan`, `plan_start_required`) and an inline plan's items
/// (`plan_percent_sum`, `plan_amount_sum` for a missing amount, `plan_item_dates`).
pub fn check_line_plan<'a>(
    plan: &LinePlan,
    template: &dyn Fn(&str) -> Option<&'a Template>,
) -> Vec<PlanError> {
    let mut out = Vec::new();
    match plan {
        LinePlan::Name(name) => match template(name) {
            None => out.push(err(
                Code::UnknownBillingPlan,
                "",
                format!("no billing_plans template `{name}`"),
            )),
            Some(t) if t.start == PlanStart::Given => out.push(err(
                Code::PlanStartRequired,
                "",
                format!(
                    "template `{name}` has start: given; use {{template: {name}, start: DATE}}"
                ),
            )),
            Some(_) => {}
        },
        LinePlan::Template {
            template: name,
            start,
            ..
        } => match template(name) {
            None => out.push(err(
                Code::UnknownBillingPlan,
                "template",
                format!("no billing_plans template `{name}`"),
            )),
            Some(t) => match (t.start, start) {
                (PlanStart::Given, None) => out.push(err(
                    Code::PlanStartRequired,
                    "start",
                    format!("template `{name}` has start: given and the line gives no start"),
                )),
                (PlanStart::LineStart, Some(s)) => out.push(err(
                    Code::PlanStartRequired,
                    "start",
                    format!("template `{name}` starts at the line start; start {s} is not allowed"),
                )),
                _ => {}
            },
        },
        LinePlan::Inline {
            kind,
            method,
            items,
        } => {
            if items.is_empty() {
                out.push(err(
                    Code::PlanInstallments,
                    "items",
                    "the plan has no items",
                ));
            }
            match method {
                Method::Percent => {
                    let mut sum = Decimal::ZERO;
                    for (k, i) in items.iter().enumerate() {
                        match i.percent {
                            Some(p) => sum += p,
                            None => out.push(err(
                                Code::PlanPercentSum,
                                format!("items[{k}]"),
                                format!("item `{}` has no percent", i.name),
                            )),
                        }
                    }
                    if out.is_empty() && sum != Decimal::ONE_HUNDRED {
                        out.push(err(
                            Code::PlanPercentSum,
                            "items",
                            format!("the item percents sum to {sum}, not 100"),
                        ));
                    }
                }
                Method::Amount => {
                    for (k, i) in items.iter().enumerate() {
                        if i.amount.is_none() {
                            out.push(err(
                                Code::PlanAmountSum,
                                format!("items[{k}]"),
                                format!("item `{}` has no amount", i.name),
                            ));
                        }
                    }
                }
                Method::SplitEvenly => {}
            }
            match kind {
                PlanKind::Fixed => {
                    let mut prev: Option<(usize, NaiveDate)> = None;
                    for (k, i) in items.iter().enumerate() {
                        let (Some(s), Some(e)) = (i.start, i.end) else {
                            out.push(err(
                                Code::PlanItemDates,
                                format!("items[{k}]"),
                                format!("fixed item `{}` needs a start and an end", i.name),
                            ));
                            continue;
                        };
                        if e < s {
                            out.push(err(
                                Code::PlanItemDates,
                                format!("items[{k}].end"),
                                format!("item `{}` ends {e}, before its start {s}", i.name),
                            ));
                        }
                        if let Some((j, pe)) = prev {
                            if s <= pe {
                                out.push(err(
                                    Code::PlanItemDates,
                                    format!("items[{k}].start"),
                                    format!(
                                        "item `{}` starts {s}, not after item `{}` ends {pe}",
                                        i.name, items[j].name
                                    ),
                                ));
                            }
                        }
                        prev = Some((k, e.max(s)));
                    }
                }
                PlanKind::Milestone => {
                    for (k, i) in items.iter().enumerate() {
                        let field = if i.start.is_some() {
                            "start"
                        } else if i.end.is_some() {
                            "end"
                        } else if i.ready.is_some() {
                            "ready"
                        } else {
                            continue;
                        };
                        out.push(err(
                            Code::PlanItemDates,
                            format!("items[{k}].{field}"),
                            format!(
                                "milestone item `{}` has no dates: it covers the term and is ready on completion",
                                i.name
                            ),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// What a plan needs of its line.
#[derive(Debug, Clone, Copy)]
pub struct LineFacts {
    /// Line start.
    pub start: NaiveDate,
    /// Line end (one_time lines without one: the start).
    pub end: NaiveDate,
    /// T, the line's net price (01): Σ of its 02 rows.
    pub total: Decimal,
    /// The product's `ready_for_invoice_offset_days`.
    pub offset_days: u32,
    /// The currency's minor units.
    pub scale: u32,
    /// The preference's rounding.
    pub rounding: Rounding,
}

/// One plan row before numbering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemRow {
    /// Item name.
    pub name: String,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Ready for invoice (a milestone row: none until completion; the start is stored).
    pub ready: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Payment term.
    pub payment_term: Option<String>,
    /// A milestone row.
    pub milestone: bool,
}

fn add_months_keeping(prev: NaiveDate, months: u32, day: u32) -> Option<NaiveDate> {
    clamped(month_index(prev) + months as i32, day)
}

/// The rows of `plan` on a line (03 C.2): dates from the template's offsets (months keep the
/// plan start's day, clamped), the inline items or the term (milestones); amounts by percent,
/// split evenly (the last item absorbs the remainder) or as given (Σ = T). Every check of
/// [`check_line_plan`] and [`check_template`] runs first; then the activation checks against the
/// line: `plan_item_after_end`, `plan_amount_sum`, and `plan_item_dates` for a plan start, end or
/// item outside the line's term.
pub fn item_rows<'a>(
    plan: &LinePlan,
    template: &dyn Fn(&str) -> Option<&'a Template>,
    line: &LineFacts,
) -> Result<(PlanKind, Vec<ItemRow>), PlanError> {
    if let Some(e) = check_line_plan(plan, template).into_iter().next() {
        return Err(e);
    }
    let in_term = |d: NaiveDate| line.start <= d && d <= line.end;
    let term = format!("the line's term {}..{}", line.start, line.end);
    let (kind, dated, method, shares): (PlanKind, Vec<_>, Method, Vec<Option<Decimal>>) = match plan
    {
        LinePlan::Name(name) | LinePlan::Template { template: name, .. } => {
            let t = template(name).ok_or_else(|| {
                err(
                    Code::UnknownBillingPlan,
                    "template",
                    format!("no template `{name}`"),
                )
            })?;
            let tfield = |f: &str| {
                if matches!(plan, LinePlan::Name(_)) {
                    String::new()
                } else {
                    f.to_string()
                }
            };
            if let Some(e) = check_template(t).into_iter().next() {
                return Err(PlanError {
                    message: format!("template `{name}` {}: {}", e.field, e.message),
                    field: tfield("template"),
                    ..e
                });
            }
            let (start, end) = match plan {
                LinePlan::Template { start, end, .. } => (*start, *end),
                _ => (None, None),
            };
            let plan_start = start.unwrap_or(line.start);
            let plan_end = end.unwrap_or(line.end);
            if !in_term(plan_start) {
                return Err(err(
                    Code::PlanItemDates,
                    tfield("start"),
                    format!("plan start {plan_start} is outside {term}"),
                ));
            }
            if !in_term(plan_end) || plan_end < plan_start {
                return Err(err(
                    Code::PlanItemDates,
                    tfield("end"),
                    format!("plan end {plan_end} is outside {plan_start}..{}", line.end),
                ));
            }
            let mut starts: Vec<NaiveDate> = Vec::with_capacity(t.items.len());
            let mut prev = plan_start;
            for (k, item) in t.items.iter().enumerate() {
                let s = match item.offset.unwrap_or(Offset::Months(0)) {
                    Offset::Months(m) => add_months_keeping(prev, m, plan_start.day()),
                    Offset::Days(d) => prev.checked_add_days(chrono::Days::new(d.into())),
                }
                .ok_or_else(|| {
                    err(
                        Code::PlanItemAfterEnd,
                        tfield("template"),
                        format!("item `{}` falls outside the calendar", item.name),
                    )
                })?;
                if s > plan_end {
                    return Err(err(
                            Code::PlanItemAfterEnd,
                            tfield("template"),
                            format!(
                                "template `{name}` item {} `{}` would start {s}, after the plan end {plan_end}",
                                k + 1,
                                item.name
                            ),
                        ));
                }
                starts.push(s);
                prev = s;
            }
            let dated = t
                .items
                .iter()
                .enumerate()
                .map(|(k, item)| {
                    let s = starts[k];
                    let e = starts
                        .get(k + 1)
                        .and_then(|n| n.pred_opt())
                        .unwrap_or(plan_end);
                    let ready = s
                        .checked_add_days(chrono::Days::new(line.offset_days.into()))
                        .unwrap_or(s);
                    (item.name.clone(), s, e, ready, item.payment_term.clone())
                })
                .collect();
            let shares = t.items.iter().map(|i| Some(i.percent)).collect();
            (PlanKind::Fixed, dated, Method::Percent, shares)
        }
        LinePlan::Inline {
            kind,
            method,
            items,
        } => {
            let mut dated = Vec::with_capacity(items.len());
            for (k, i) in items.iter().enumerate() {
                let (s, e, ready) = match kind {
                    PlanKind::Fixed => {
                        let (s, e) = (i.start.unwrap_or(line.start), i.end.unwrap_or(line.end));
                        for (f, d) in [("start", s), ("end", e)] {
                            if !in_term(d) {
                                return Err(err(
                                    Code::PlanItemDates,
                                    format!("items[{k}].{f}"),
                                    format!("item `{}` {f} {d} is outside {term}", i.name),
                                ));
                            }
                        }
                        (s, e, i.ready.unwrap_or(s))
                    }
                    PlanKind::Milestone => (line.start, line.end, line.start),
                };
                dated.push((i.name.clone(), s, e, ready, i.payment_term.clone()));
            }
            let shares = items
                .iter()
                .map(|i| match method {
                    Method::Percent => i.percent,
                    Method::Amount => i.amount,
                    Method::SplitEvenly => None,
                })
                .collect();
            (*kind, dated, *method, shares)
        }
    };
    let n = dated.len();
    let round_ = |v: Decimal| round(v, line.scale, line.rounding);
    let mut amounts = Vec::with_capacity(n);
    match method {
        Method::Amount => {
            let given: Vec<Decimal> = shares.iter().map(|a| a.unwrap_or_default()).collect();
            let sum: Decimal = given.iter().sum();
            if sum != line.total {
                return Err(err(
                    Code::PlanAmountSum,
                    "items",
                    format!(
                        "the item amounts sum to {sum}, not the line's net price {}",
                        line.total
                    ),
                ));
            }
            amounts = given;
        }
        Method::Percent | Method::SplitEvenly => {
            let mut running = Decimal::ZERO;
            for (k, share) in shares.iter().enumerate() {
                let a = if k + 1 == n {
                    line.total - running
                } else if method == Method::Percent {
                    round_(line.total * share.unwrap_or_default() / Decimal::ONE_HUNDRED)
                } else {
                    round_(line.total / Decimal::from(n as u64))
                };
                running += a;
                amounts.push(a);
            }
        }
    }
    let rows = dated
        .into_iter()
        .zip(amounts)
        .map(
            |((name, start, end, ready, payment_term), amount)| ItemRow {
                name,
                start,
                end,
                ready,
                amount,
                payment_term,
                milestone: kind == PlanKind::Milestone,
            },
        )
        .collect();
    Ok((kind, rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).expect("date")
    }

    fn dec(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn facts(start: &str, end: &str, total: &str) -> LineFacts {
        LineFacts {
            start: d(start),
            end: d(end),
            total: dec(total),
            offset_days: 0,
            scale: 2,
            rounding: Rounding::HalfUp,
        }
    }

    fn template(start: PlanStart, items: &[(&str, &str, Offset)]) -> Template {
        Template {
            name: "T".into(),
            start,
            installments: Some(items.len() as u32),
            items: items
                .iter()
                .map(|(n, p, o)| TemplateItem {
                    name: n.to_string(),
                    percent: dec(p),
                    offset: Some(*o),
                    payment_term: None,
                })
                .collect(),
            description: None,
        }
    }

    fn uc1(offsets: [u32; 5]) -> Template {
        let names = ["1", "2", "3", "4", "5"];
        let pct = ["15", "21.25", "21.25", "21.25", "21.25"];
        let items: Vec<(&str, &str, Offset)> = (0..5)
            .map(|k| (names[k], pct[k], Offset::Months(offsets[k])))
            .collect();
        template(PlanStart::Given, &items)
    }

    fn given(start: &str) -> LinePlan {
        LinePlan::Template {
            template: "T".into(),
            start: Some(d(start)),
            end: None,
        }
    }

    fn rows_of(
        plan: &LinePlan,
        t: &Template,
        f: &LineFacts,
    ) -> Result<Vec<(String, String, String, String)>, PlanError> {
        let find = |n: &str| (n == t.name).then_some(t);
        item_rows(plan, &find, f).map(|(_, rows)| {
            rows.into_iter()
                .map(|r| {
                    (
                        r.start.to_string(),
                        r.end.to_string(),
                        r.ready.to_string(),
                        r.amount.to_string(),
                    )
                })
                .collect()
        })
    }

    fn row(s: &str, e: &str, r: &str, a: &str) -> (String, String, String, String) {
        (s.into(), e.into(), r.into(), a.into())
    }

    /// 03 E PLAN-TEMPLATE-UC1, offsets 0,3,3,3,3.
    #[test]
    fn plan_template_uc1_quarterly_offsets() {
        let f = facts("2016-01-01", "2017-01-31", "10000");
        let got = rows_of(&given("2016-01-01"), &uc1([0, 3, 3, 3, 3]), &f).expect("rows");
        assert_eq!(
            got,
            vec![
                row("2016-01-01", "2016-03-31", "2016-01-01", "1500.00"),
                row("2016-04-01", "2016-06-30", "2016-04-01", "2125.00"),
                row("2016-07-01", "2016-09-30", "2016-07-01", "2125.00"),
                row("2016-10-01", "2016-12-31", "2016-10-01", "2125.00"),
                row("2017-01-01", "2017-01-31", "2017-01-01", "2125.00"),
            ]
        );
    }

    /// 03 E PLAN-TEMPLATE-UC1, the printed offsets 0,4,3,3,3: item 5 would start 2017-02-01.
    #[test]
    fn plan_item_after_end_for_the_printed_offsets() {
        let f = facts("2016-01-01", "2017-01-31", "10000");
        let e = rows_of(&given("2016-01-01"), &uc1([0, 4, 3, 3, 3]), &f).unwrap_err();
        assert_eq!(e.code, Code::PlanItemAfterEnd);
        assert!(e.message.contains("2017-02-01"), "{}", e.message);
    }

    /// 03 E PLAN-START-DATE-HINT: `line_start`, first offset 5 months.
    #[test]
    fn line_start_with_a_first_offset() {
        let t = template(
            PlanStart::LineStart,
            &[
                ("a", "50", Offset::Months(5)),
                ("b", "50", Offset::Months(3)),
            ],
        );
        let f = facts("2016-01-01", "2016-12-31", "1000");
        let got = rows_of(&LinePlan::Name("T".into()), &t, &f).expect("rows");
        assert_eq!(got[0].0, "2016-06-01");
        assert_eq!(got[1].0, "2016-09-01");
        assert_eq!(got[1].1, "2016-12-31");
    }

    /// C.2: months keep the plan start's day of month, clamped; ready = start + offset days.
    #[test]
    fn month_offsets_clamp_and_ready_offsets() {
        let t = template(
            PlanStart::LineStart,
            &[
                ("a", "30", Offset::Months(0)),
                ("b", "30", Offset::Months(1)),
                ("c", "40", Offset::Months(1)),
            ],
        );
        let mut f = facts("2016-01-31", "2016-04-30", "100");
        f.offset_days = 5;
        let got = rows_of(&LinePlan::Name("T".into()), &t, &f).expect("rows");
        assert_eq!(
            got,
            vec![
                row("2016-01-31", "2016-02-28", "2016-02-05", "30.00"),
                row("2016-02-29", "2016-03-30", "2016-03-05", "30.00"),
                row("2016-03-31", "2016-04-30", "2016-04-05", "40.00"),
            ]
        );
    }

    fn inline(kind: PlanKind, method: Method, items: &[(&str, Option<&str>)]) -> LinePlan {
        let n = items.len();
        LinePlan::Inline {
            kind,
            method,
            items: items
                .iter()
                .enumerate()
                .map(|(k, (name, v))| InlineItem {
                    name: name.to_string(),
                    start: (kind == PlanKind::Fixed)
                        .then(|| d(["2016-01-01", "2016-02-01", "2016-03-01"][k])),
                    end: (kind == PlanKind::Fixed)
                        .then(|| d(["2016-01-31", "2016-02-29", "2016-03-31"][k])),
                    ready: None,
                    percent: (method == Method::Percent).then(|| dec(v.unwrap_or("0"))),
                    amount: (method == Method::Amount).then(|| dec(v.unwrap_or("0"))),
                    payment_term: None,
                })
                .take(n)
                .collect(),
        }
    }

    fn amounts(plan: &LinePlan, total: &str) -> Result<Vec<String>, PlanError> {
        let none = |_: &str| None;
        let f = facts("2016-01-01", "2016-03-31", total);
        item_rows(plan, &none, &f)
            .map(|(_, rows)| rows.into_iter().map(|r| r.amount.to_string()).collect())
    }

    /// 03 E PLAN-SPLIT-EVENLY.
    #[test]
    fn split_evenly_remainder_to_the_last() {
        let p = inline(
            PlanKind::Fixed,
            Method::SplitEvenly,
            &[("a", None), ("b", None), ("c", None)],
        );
        assert_eq!(
            amounts(&p, "1000.00").expect("rows"),
            vec!["333.33", "333.33", "333.34"]
        );
    }

    /// 03 E PLAN-METHOD-PERCENTAGE-AMOUNT.
    #[test]
    fn percent_and_amount_methods() {
        let p = inline(
            PlanKind::Fixed,
            Method::Percent,
            &[("a", Some("40")), ("b", Some("60"))],
        );
        assert_eq!(amounts(&p, "1000").expect("rows"), vec!["400.00", "600.00"]);
        let ok = inline(
            PlanKind::Fixed,
            Method::Amount,
            &[("a", Some("250")), ("b", Some("750"))],
        );
        assert_eq!(amounts(&ok, "1000").expect("rows"), vec!["250", "750"]);
        let bad = inline(
            PlanKind::Fixed,
            Method::Amount,
            &[("a", Some("250")), ("b", Some("749.99"))],
        );
        assert_eq!(amounts(&bad, "1000").unwrap_err().code, Code::PlanAmountSum);
    }

    #[test]
    fn plan_percent_sum_inline() {
        let p = inline(
            PlanKind::Milestone,
            Method::Percent,
            &[("a", Some("40")), ("b", Some("50"))],
        );
        let e = amounts(&p, "1000").unwrap_err();
        assert_eq!((e.code, e.field.as_str()), (Code::PlanPercentSum, "items"));
    }

    #[test]
    fn milestone_rows_cover_the_term() {
        let p = inline(
            PlanKind::Milestone,
            Method::Percent,
            &[("a", Some("40")), ("b", Some("60"))],
        );
        let none = |_: &str| None;
        let (kind, rows) =
            item_rows(&p, &none, &facts("2016-01-01", "2016-12-31", "1000")).expect("rows");
        assert_eq!(kind, PlanKind::Milestone);
        assert!(rows
            .iter()
            .all(|r| r.milestone && r.start == d("2016-01-01") && r.end == d("2016-12-31")));
    }

    #[test]
    fn plan_item_dates_outside_the_line_and_overlapping() {
        let p = inline(
            PlanKind::Fixed,
            Method::SplitEvenly,
            &[("a", None), ("b", None), ("c", None)],
        );
        let none = |_: &str| None;
        let e = item_rows(&p, &none, &facts("2016-01-01", "2016-02-29", "90")).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_str()),
            (Code::PlanItemDates, "items[2].start")
        );
        let LinePlan::Inline {
            kind,
            method,
            mut items,
        } = p
        else {
            unreachable!()
        };
        items[1].start = Some(d("2016-01-31"));
        let overlap = LinePlan::Inline {
            kind,
            method,
            items,
        };
        let e = check_line_plan(&overlap, &none);
        assert_eq!(
            (e[0].code, e[0].field.as_str()),
            (Code::PlanItemDates, "items[1].start")
        );
    }

    #[test]
    fn template_references() {
        let t = template(PlanStart::Given, &[("a", "100", Offset::Months(0))]);
        let find = |n: &str| (n == "T").then_some(&t);
        let e = check_line_plan(&LinePlan::Name("X".into()), &find);
        assert_eq!(e[0].code, Code::UnknownBillingPlan);
        let e = check_line_plan(&LinePlan::Name("T".into()), &find);
        assert_eq!(e[0].code, Code::PlanStartRequired);
        let mut t2 = t.clone();
        t2.installments = Some(2);
        assert_eq!(check_template(&t2)[0].code, Code::PlanInstallments);
    }
}

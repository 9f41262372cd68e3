//! The recognition rules of 06 §6 as pure functions: day and month weights (with
//! `ignore_leap_year`), each rule's cumulative target `cum_f(P)` rounded once half-up, and the
//! period's actual row as the difference of cumulative targets (cumulative rounding, §1).

use super::model::{Fee, Rule};
use crate::dates::{days_in_month, days_inclusive, month_index, MonthIndex};
use crate::money::{round, Rounding};
use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;

/// lcm(28, 29, 30, 31): month fractions times this are whole numbers, so `mfrac` is exact.
const MONTH_LCM: i64 = 377_580;

/// `r(x)`: half-up to `scale` decimals, ties away from zero.
pub fn r(x: Decimal, scale: u32) -> Decimal {
    round(x, scale, Rounding::HalfUp)
}

/// `r(F × num / den)`, one rounding of the exact ratio (`den > 0`).
pub fn ratio(f: Decimal, num: i64, den: i64, scale: u32) -> Decimal {
    r(f * Decimal::from(num) / Decimal::from(den), scale)
}

/// A period `YYYY-MM` from a month index.
pub fn period_name(m: MonthIndex) -> String {
    format!("{:04}-{:02}", m.div_euclid(12), m.rem_euclid(12) + 1)
}

/// The month index of `YYYY-MM`.
pub fn parse_period(s: &str) -> Option<MonthIndex> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let (y, m): (i32, i32) = (y.parse().ok()?, m.parse().ok()?);
    (1..=12).contains(&m).then_some(y * 12 + m - 1)
}

/// `end(P)`: the last day of month `m`.
pub fn month_end(m: MonthIndex) -> NaiveDate {
    crate::dates::clamped(m, 31).unwrap_or(NaiveDate::MIN)
}

/// Whether `d` is the last day of its month.
pub fn is_month_end(d: NaiveDate) -> bool {
    month_end(month_index(d)) == d
}

fn feb29s(a: NaiveDate, b: NaiveDate) -> i64 {
    (a.year()..=b.year())
        .filter_map(|y| NaiveDate::from_ymd_opt(y, 2, 29))
        .filter(|d| *d >= a && *d <= b)
        .count() as i64
}

/// `days(a, b)`: inclusive, without 29 February when `ignore_leap` (0 when `b < a`).
pub fn days(a: NaiveDate, b: NaiveDate, ignore_leap: bool) -> i64 {
    if b < a {
        return 0;
    }
    days_inclusive(a, b) - if ignore_leap { feb29s(a, b) } else { 0 }
}

/// `mdays(m)`: days of month `m` (February = 28 when `ignore_leap`).
pub fn mdays(m: MonthIndex, ignore_leap: bool) -> i64 {
    let d = days_in_month(m) as i64;
    if ignore_leap && m.rem_euclid(12) == 1 {
        28
    } else {
        d
    }
}

/// `mfrac(a, b) × lcm(28..31)`: Σ over the months touching `[a, b]` of the days covered over
/// the days of the month, as a whole number.
pub fn mfrac_scaled(a: NaiveDate, b: NaiveDate, ignore_leap: bool) -> i64 {
    if b < a {
        return 0;
    }
    let mut total = 0;
    for m in month_index(a)..=month_index(b) {
        let first = crate::dates::clamped(m, 1).unwrap_or(a).max(a);
        let last = month_end(m).min(b);
        total += days(first, last, ignore_leap) * (MONTH_LCM / mdays(m, ignore_leap));
    }
    total
}

/// What the rules read besides the fee itself.
pub trait Facts {
    /// `B(x)`: billed to date on the fee's line (06 §10) through `x`.
    fn billed(&self, line: &str, through: NaiveDate) -> Decimal;
    /// `U(x)`: rated usage of the line dated in `[from, through]`.
    fn usage(&self, line: &str, from: NaiveDate, through: NaiveDate) -> Decimal;
    /// The line's invoiced rows as (service start, service end, invoiced amount; credits
    /// negative) on approved documents dated on or before `through` (usage fees, 06 §6).
    fn invoiced_rows(
        &self,
        _line: &str,
        _through: NaiveDate,
    ) -> Vec<(NaiveDate, NaiveDate, Decimal)> {
        Vec::new()
    }
}

/// No billing and no usage (pure tests).
pub struct NoFacts;
impl Facts for NoFacts {
    fn billed(&self, _: &str, _: NaiveDate) -> Decimal {
        Decimal::ZERO
    }
    fn usage(&self, _: &str, _: NaiveDate, _: NaiveDate) -> Decimal {
        Decimal::ZERO
    }
}

/// The time weight `w(a, b)` of a time rule: `mfrac` for `ratable` (and the ratable part of
/// `prepay`), `days` for `ratable_day`.
fn weight(rule: Rule, a: NaiveDate, b: NaiveDate, ignore_leap: bool) -> i64 {
    match rule {
        Rule::RatableDay => days(a, b, ignore_leap),
        _ => mfrac_scaled(a, b, ignore_leap),
    }
}

/// The ratable-style target `r(F × w(s, min(e, end(P))) / w(s, e))`; a zero total weight
/// behaves as `immediate`.
fn time_target(f: &Fee, rule: Rule, p: MonthIndex, scale: u32) -> Decimal {
    let end_p = month_end(p);
    if end_p < f.start {
        return Decimal::ZERO;
    }
    let total = weight(rule, f.start, f.end, f.ignore_leap_year);
    if total == 0 {
        return f.amount;
    }
    let d = f.end.min(end_p);
    ratio(
        f.amount,
        weight(rule, f.start, d, f.ignore_leap_year),
        total,
        scale,
    )
}

/// `cum_f(P)`: the fee's cumulative target through period `p` (06 §6).
pub fn cumulative(f: &Fee, p: MonthIndex, scale: u32, facts: &dyn Facts) -> Decimal {
    if let Some(fixed) = f.frozen {
        return fixed;
    }
    let end_p = month_end(p);
    let hundred = Decimal::ONE_HUNDRED;
    match f.rule {
        Rule::Immediate => {
            if f.start <= end_p {
                f.amount
            } else {
                Decimal::ZERO
            }
        }
        Rule::Ratable | Rule::RatableDay => {
            if f.fee_type == "usage" {
                // Usage fees: Σ over the line's invoiced rows u (invoiced by end(P)) of the
                // rule's target for u's amount over u's period, so revenue lands in the later
                // of the usage period and the invoice month.
                return facts
                    .invoiced_rows(&f.line, end_p)
                    .into_iter()
                    .map(|(s, e, a)| {
                        let total = weight(f.rule, s, e, f.ignore_leap_year);
                        if total == 0 {
                            return a;
                        }
                        let d = e.min(end_p);
                        if d < s {
                            return Decimal::ZERO;
                        }
                        ratio(a, weight(f.rule, s, d, f.ignore_leap_year), total, scale)
                    })
                    .sum();
            }
            time_target(f, f.rule, p, scale)
        }
        Rule::Subscription => {
            if end_p < f.start {
                return Decimal::ZERO;
            }
            let b = facts.billed(&f.line, end_p);
            if f.line_net_price.is_zero() {
                r(b, scale)
            } else {
                r(b * f.amount / f.line_net_price, scale)
            }
        }
        Rule::PercentComplete => {
            let key = super::calc::period_name(p);
            let c = f
                .percent_actual
                .range(..=key)
                .next_back()
                .map(|(_, v)| *v)
                .unwrap_or_default();
            r(f.amount * c / hundred, scale)
        }
        Rule::Manual => {
            let key = period_name(p);
            f.manual.range(..=key).map(|(_, v)| *v).sum()
        }
        Rule::Milestone => {
            let done: Decimal = f
                .milestones
                .iter()
                .filter(|m| m.actual.is_some_and(|a| a <= end_p))
                .map(|m| m.percent)
                .sum();
            r(f.amount * done / hundred, scale)
        }
        Rule::Prepay => {
            if end_p < f.start {
                return Decimal::ZERO;
            }
            let ratable = time_target(f, Rule::Ratable, p, scale);
            let used = facts.usage(&f.line, f.start, f.end.min(end_p));
            f.amount.min(ratable.max(r(used, scale)))
        }
        Rule::TrueUp => {
            if end_p < f.start {
                return Decimal::ZERO;
            }
            let used = r(facts.usage(&f.line, f.start, f.end.min(end_p)), scale);
            if end_p < f.end {
                used
            } else {
                used.max(f.amount)
            }
        }
    }
}

/// A linked fee (`parent` set, milestone or percent complete) with its parent's milestones
/// and percentages (06 §6); any other fee as it is.
pub fn linked<'a>(fees: &'a [Fee], f: &'a Fee) -> std::borrow::Cow<'a, Fee> {
    let parent = f
        .parent
        .as_ref()
        .filter(|_| matches!(f.rule, Rule::Milestone | Rule::PercentComplete))
        .and_then(|p| fees.iter().find(|x| &x.fee_ref == p));
    match parent {
        Some(p) => {
            let mut c = f.clone();
            c.milestones = p.milestones.clone();
            c.percent_actual = p.percent_actual.clone();
            c.percent_forecast = p.percent_forecast.clone();
            std::borrow::Cow::Owned(c)
        }
        None => std::borrow::Cow::Borrowed(f),
    }
}

/// The month through which a fee can still change by itself: the month of its end (of the
/// latest milestone date for milestone fees).
pub fn horizon(f: &Fee) -> MonthIndex {
    let mut m = month_index(f.end);
    for ms in &f.milestones {
        for d in [ms.expected, ms.actual].into_iter().flatten() {
            m = m.max(month_index(d));
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }
    fn m(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    pub(crate) fn fee(rule: Rule, amount: &str, s: &str, e: &str, leap: bool) -> Fee {
        Fee {
            fee_ref: "O-1/L1#1".into(),
            line: "O-1/L1".into(),
            chain: 0,
            rule,
            policy: "P".into(),
            fee_type: "flat".into(),
            amount: m(amount),
            transaction_price: m(amount),
            start: d(s),
            end: d(e),
            obligation: None,
            origin: "order".into(),
            parent: None,
            ignore_leap_year: leap,
            line_net_price: m(amount),
            milestones: vec![],
            percent_actual: BTreeMap::new(),
            percent_forecast: BTreeMap::new(),
            manual: BTreeMap::new(),
            manual_forecast: BTreeMap::new(),
            frozen: None,
            revenue_account: "revenue".into(),
            deferred_account: "deferred_revenue".into(),
            percent: Decimal::ONE_HUNDRED,
            change: None,
            frozen_by: None,
        }
    }

    /// The rows of a fee over consecutive months from its start month.
    fn rows(f: &Fee, n: i32) -> Vec<Decimal> {
        let first = month_index(f.start);
        let mut prev = Decimal::ZERO;
        (first..first + n)
            .map(|p| {
                let c = cumulative(f, p, 2, &NoFacts);
                let row = c - prev;
                prev = c;
                row
            })
            .collect()
    }

    fn ms(v: &[&str]) -> Vec<Decimal> {
        v.iter().map(|s| m(s)).collect()
    }

    #[test]
    fn rr01_rr02_ratable_whole_months() {
        let f = fee(Rule::Ratable, "300", "2018-01-01", "2018-03-31", false);
        assert_eq!(rows(&f, 3), ms(&["100.00", "100.00", "100.00"]));
        let f = fee(Rule::Ratable, "120000", "2018-01-01", "2018-12-31", false);
        assert!(rows(&f, 12).iter().all(|r| *r == m("10000.00")));
    }

    #[test]
    fn rr03_rr04_rr05_ratable_day() {
        let f = fee(
            Rule::RatableDay,
            "100000",
            "2018-01-01",
            "2018-03-31",
            false,
        );
        assert_eq!(rows(&f, 3), ms(&["34444.44", "31111.12", "34444.44"]));
        let rr04 = ms(&[
            "8493.15", "7671.23", "8493.15", "8219.18", "8493.15", "8219.18", "8493.15", "8493.15",
            "8219.18", "8493.15", "8219.18", "8493.15",
        ]);
        let f = fee(
            Rule::RatableDay,
            "100000",
            "2018-01-01",
            "2018-12-31",
            false,
        );
        assert_eq!(rows(&f, 12), rr04);
        let f = fee(
            Rule::RatableDay,
            "100000",
            "2016-01-01",
            "2016-12-31",
            false,
        );
        assert_eq!(
            rows(&f, 12),
            ms(&[
                "8469.95", "7923.49", "8469.95", "8196.72", "8469.94", "8196.73", "8469.94",
                "8469.95", "8196.72", "8469.94", "8196.72", "8469.95"
            ])
        );
        let f = fee(Rule::RatableDay, "100000", "2016-01-01", "2016-12-31", true);
        assert_eq!(rows(&f, 12), rr04);
    }

    #[test]
    fn rr14_ratable_six_months_and_erpnext_e1() {
        let f = fee(Rule::Ratable, "500", "2017-01-01", "2017-06-30", false);
        assert_eq!(
            rows(&f, 6),
            ms(&["83.33", "83.34", "83.33", "83.33", "83.34", "83.33"])
        );
        let f = fee(Rule::RatableDay, "100", "2019-01-10", "2019-03-15", false);
        assert_eq!(rows(&f, 3), ms(&["33.85", "43.07", "23.08"]));
    }

    #[test]
    fn ratable_partial_months_weigh_their_day_fraction() {
        // RR-19's fee: 300 over 2017-01..03; 2017-02-15..03-31 weighs 14/28 + 1 = 1.5 months.
        let f = fee(Rule::Ratable, "300", "2017-01-01", "2017-03-31", false);
        assert_eq!(
            mfrac_scaled(d("2017-02-15"), d("2017-03-31"), false) * 2,
            3 * MONTH_LCM
        );
        assert_eq!(rows(&f, 3), ms(&["100.00", "100.00", "100.00"]));
    }

    #[test]
    fn immediate_milestone_percent_and_zero_weight() {
        let f = fee(Rule::Immediate, "50", "2018-03-10", "2018-03-10", false);
        assert_eq!(rows(&f, 2), ms(&["50", "0"]));
        let mut f = fee(Rule::Milestone, "900", "2019-01-01", "2019-12-31", false);
        f.milestones = vec![super::super::model::FeeMilestone {
            name: "completion".into(),
            percent: m("100"),
            expected: Some(d("2019-12-31")),
            actual: Some(d("2019-06-01")),
        }];
        let r = rows(&f, 12);
        assert_eq!(r[5], m("900.00"));
        assert_eq!(r.iter().copied().sum::<Decimal>(), m("900"));
        let mut f = fee(
            Rule::PercentComplete,
            "100000",
            "2018-01-01",
            "2018-03-31",
            false,
        );
        for (p, v) in [("2018-01", "40"), ("2018-02", "65"), ("2018-03", "100")] {
            f.percent_actual.insert(p.into(), m(v));
        }
        assert_eq!(rows(&f, 3), ms(&["40000.00", "25000.00", "35000.00"]));
        // A term of only 29 February under ignore_leap_year weighs 0: immediate.
        let f = fee(Rule::RatableDay, "10", "2016-02-29", "2016-02-29", true);
        assert_eq!(rows(&f, 1), ms(&["10"]));
    }

    #[test]
    fn periods_round_trip() {
        assert_eq!(parse_period("2016-02"), Some(month_index(d("2016-02-01"))));
        assert_eq!(period_name(month_index(d("2016-02-01"))), "2016-02");
        assert_eq!(month_end(month_index(d("2016-02-10"))), d("2016-02-29"));
        assert!(parse_period("2016-13").is_none());
        assert!(is_month_end(d("2016-02-29")) && !is_month_end(d("2016-02-28")));
    }
}

//! Billing-schedule generation (spec 02): period boundaries, ready dates, proration and rounding.
//!
//! Pure functions of their inputs; no store, no clock. Amounts are exact decimals and the
//! schedules of a finite line always sum to its value (the last takes the remainder).

use crate::dates::{clamped, days_30_360, days_inclusive, month_index, MonthIndex};
use crate::model::{BillingRule, DayCount, Treatment};
use crate::money::{round, Rounding};
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Everything that shapes a line's periods and amounts, resolved from rules, account and order.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Terms {
    /// Line start.
    pub start: NaiveDate,
    /// Line end (inclusive); `None` for evergreen lines.
    pub end: Option<NaiveDate>,
    /// Months per billing period (1, 3, 6, 12).
    pub months: u32,
    /// Cycle day 1–31 (31 = end of month).
    pub cycle_day: u32,
    /// Calendar alignment month 1–12 (quarterly and longer only).
    pub calendar_month: Option<u32>,
    /// Ready-for-invoice rule.
    pub rule: BillingRule,
    /// Days added to the ready date.
    pub offset_days: u32,
    /// The order's ready-for-billing date (for `ready_for_billing_date`).
    pub ready_for_billing: Option<NaiveDate>,
    /// Stub treatment.
    pub treatment: Treatment,
    /// Day count for stubs.
    pub day_count: DayCount,
    /// Rounding mode.
    pub rounding: Rounding,
    /// Currency minor units.
    pub scale: u32,
}

/// What the line is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Price {
    /// `R`, the value of one full billing period.
    Rate(Decimal),
    /// The line's total for its term (`net_price`); `R = total / P`.
    Total(Decimal),
}

/// One generated schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First day.
    pub start: NaiveDate,
    /// Last day (inclusive).
    pub end: NaiveDate,
    /// Ready-for-invoice date.
    pub ready: NaiveDate,
    /// Amount, rounded to the currency's minor unit.
    pub amount: Decimal,
}

/// Why generation failed (mapped to 02 §5 codes by the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenError {
    /// `billing_rule: ready_for_billing_date` without the order's date.
    MissingReadyForBillingDate,
    /// End before start.
    EndBeforeStart,
    /// Cycle day outside 1–31.
    BadCycleDay,
    /// Dates outside the supported range.
    DateOutOfRange,
}

/// The boundary sequence of a line: cycle-day dates `N` months apart, clamped month by month.
#[derive(Debug, Clone, Copy)]
struct Boundaries {
    first: MonthIndex,
    months: u32,
    day: u32,
}

impl Boundaries {
    fn new(t: &Terms) -> Result<Self, GenError> {
        let m0 = month_index(t.start);
        let on_or_after = |m: MonthIndex| clamped(m, t.cycle_day).is_some_and(|d| d >= t.start);
        let first = match t.calendar_month.filter(|_| t.months > 1) {
            None => {
                if on_or_after(m0) {
                    m0
                } else {
                    m0 + 1
                }
            }
            Some(cal) => {
                let n = t.months as i32;
                let aligned =
                    |m: MonthIndex| (m.rem_euclid(12) - (cal as i32 - 1)).rem_euclid(n) == 0;
                (m0..m0 + 25)
                    .find(|&m| aligned(m) && on_or_after(m))
                    .ok_or(GenError::DateOutOfRange)?
            }
        };
        Ok(Boundaries {
            first,
            months: t.months,
            day: t.cycle_day,
        })
    }

    fn at(&self, k: i32) -> Result<NaiveDate, GenError> {
        clamped(self.first + k * self.months as i32, self.day).ok_or(GenError::DateOutOfRange)
    }
}

fn pred(d: NaiveDate) -> Result<NaiveDate, GenError> {
    d.pred_opt().ok_or(GenError::DateOutOfRange)
}

fn add_days(d: NaiveDate, n: u64) -> Result<NaiveDate, GenError> {
    d.checked_add_days(Days::new(n))
        .ok_or(GenError::DateOutOfRange)
}

/// A raw period: its range and whether it is a whole billing period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Raw {
    start: NaiveDate,
    end: NaiveDate,
    full: bool,
    leading: bool,
}

/// Walks the periods of a line (infinitely for an open end).
struct Walk {
    b: Boundaries,
    k: i32,
    next_start: NaiveDate,
    end: Option<NaiveDate>,
    done: bool,
}

impl Walk {
    fn new(t: &Terms) -> Result<Self, GenError> {
        let b = Boundaries::new(t)?;
        Ok(Walk {
            b,
            k: 0,
            next_start: t.start,
            end: t.end,
            done: false,
        })
    }
}

impl Iterator for Walk {
    type Item = Result<Raw, GenError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.end.is_some_and(|e| self.next_start > e) {
            return None;
        }
        let mut step = || -> Result<Raw, GenError> {
            let start = self.next_start;
            let bk = self.b.at(self.k)?;
            let (at_boundary, next_b) = if start == bk {
                (true, self.b.at(self.k + 1)?)
            } else {
                (false, bk)
            };
            let natural_end = pred(next_b)?;
            let (end, cut) = match self.end {
                Some(e) if e < natural_end => (e, true),
                _ => (natural_end, false),
            };
            if at_boundary {
                self.k += 1;
            }
            Ok(Raw {
                start,
                end,
                full: at_boundary && !cut,
                leading: !at_boundary,
            })
        };
        match step() {
            Ok(raw) => {
                match raw.end.succ_opt() {
                    Some(n) => self.next_start = n,
                    None => self.done = true,
                }
                Some(Ok(raw))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// The fraction of a billing period that `[a, b]` is, under `day_count` (02 §3).
pub fn fraction(
    a: NaiveDate,
    b: NaiveDate,
    months: u32,
    cycle_day: u32,
    day_count: DayCount,
) -> Decimal {
    let n = Decimal::from(months);
    match day_count {
        DayCount::BillingPeriod => month_sum(a, b, cycle_day) / n,
        DayCount::CalendarMonth => month_sum(a, b, 1) / n,
        DayCount::Thirty360 => {
            let days = b.succ_opt().map_or(0, |e| days_30_360(a, e));
            Decimal::from(days) / (Decimal::from(30) * n)
        }
        DayCount::Actual365 => Decimal::from(days_inclusive(a, b) * 12) / (Decimal::from(365) * n),
    }
}

/// Σ over the months of cycle day `day` that `[a, b]` touches of (days there ÷ that month's days).
/// With `day = 1` these are calendar months; otherwise notional months from cycle day to cycle day.
fn month_sum(a: NaiveDate, b: NaiveDate, day: u32) -> Decimal {
    let mut m = month_index(a);
    if clamped(m, day).is_none_or(|c| c > a) {
        m -= 1;
    }
    let mut total = Decimal::ZERO;
    while let (Some(ms), Some(next)) = (clamped(m, day), clamped(m + 1, day)) {
        if ms > b {
            break;
        }
        let me = next.pred_opt().unwrap_or(next);
        let lo = a.max(ms);
        let hi = b.min(me);
        let len = days_inclusive(ms, me);
        let overlap = days_inclusive(lo, hi);
        if overlap == len {
            total += Decimal::ONE;
        } else if overlap > 0 {
            total += Decimal::from(overlap) / Decimal::from(len);
        }
        m += 1;
    }
    total
}

fn ready(t: &Terms, start: NaiveDate, end: NaiveDate) -> Result<NaiveDate, GenError> {
    let base = match t.rule {
        BillingRule::Advance => start,
        BillingRule::Arrears => add_days(end, 1)?,
        BillingRule::ReadyForBillingDate => t
            .ready_for_billing
            .ok_or(GenError::MissingReadyForBillingDate)?,
    };
    add_days(base, t.offset_days as u64)
}

fn validate(t: &Terms) -> Result<(), GenError> {
    if !(1..=31).contains(&t.cycle_day) {
        return Err(GenError::BadCycleDay);
    }
    if t.end.is_some_and(|e| e < t.start) {
        return Err(GenError::EndBeforeStart);
    }
    if t.rule == BillingRule::ReadyForBillingDate && t.ready_for_billing.is_none() {
        return Err(GenError::MissingReadyForBillingDate);
    }
    Ok(())
}

/// Measure `[start, end]` in billing periods under the terms' day count (`P` of 02 §3).
pub fn measure(t: &Terms) -> Result<Decimal, GenError> {
    validate(t)?;
    let mut p = Decimal::ZERO;
    for raw in Walk::new(t)? {
        let raw = raw?;
        p += if raw.full {
            Decimal::ONE
        } else {
            fraction(raw.start, raw.end, t.months, t.cycle_day, t.day_count)
        };
    }
    Ok(p)
}

/// Generate a periodic line's schedules. For an open-ended (evergreen) line, `limit` schedules
/// are generated (starting with the `skip`-th, so later ones can be appended); a finite line
/// ignores both and is generated whole, its last schedule taking the remainder.
pub fn generate(
    t: &Terms,
    price: Price,
    skip: usize,
    limit: usize,
) -> Result<Vec<Period>, GenError> {
    validate(t)?;
    // 1. Raw periods with the fraction each is charged, after the treatment.
    let mut pieces: Vec<(NaiveDate, NaiveDate, Decimal, Decimal)> = Vec::new(); // start, end, charged f, measured f
    let walk = Walk::new(t)?;
    // Open-ended lines walk a little further than asked, so that treatments which drop or merge
    // the leading stub still leave `skip + limit` schedules.
    let take = if t.end.is_some() {
        usize::MAX
    } else {
        skip + limit + 2
    };
    for raw in walk.take(take) {
        let raw = raw?;
        let f = if raw.full {
            Decimal::ONE
        } else {
            fraction(raw.start, raw.end, t.months, t.cycle_day, t.day_count)
        };
        pieces.push((raw.start, raw.end, f, f));
        if raw.leading {
            match t.treatment {
                Treatment::Ignore => pieces.last_mut().map(|p| p.2 = Decimal::ZERO).unwrap_or(()),
                Treatment::ChargeFull => {
                    pieces.last_mut().map(|p| p.2 = Decimal::ONE).unwrap_or(())
                }
                _ => {}
            }
        } else if !raw.full && t.treatment == Treatment::ChargeFull {
            if let Some(p) = pieces.last_mut() {
                p.2 = Decimal::ONE;
            }
        }
    }
    let measured: Decimal = pieces.iter().map(|p| p.3).sum();
    if t.treatment == Treatment::Ignore
        && pieces
            .first()
            .is_some_and(|p| p.2.is_zero() && p.3 != Decimal::ONE)
    {
        pieces.remove(0);
    }
    if t.treatment == Treatment::CombineWithFirstPeriod {
        combine(&mut pieces, t.end.is_some());
    }
    if t.end.is_none() {
        pieces.truncate(skip + limit);
    }
    // 2. The rate and the total the schedules must sum to.
    let (rate, total) = match price {
        Price::Rate(r) => (r, None),
        Price::Total(net) => {
            if measured.is_zero() {
                (Decimal::ZERO, Some(round(net, t.scale, t.rounding)))
            } else {
                let exact = matches!(
                    t.treatment,
                    Treatment::SeparatePeriod | Treatment::CombineWithFirstPeriod
                );
                let rate = net / measured;
                (rate, exact.then(|| round(net, t.scale, t.rounding)))
            }
        }
    };
    let total = match (t.end, total) {
        (None, _) => None,
        (Some(_), Some(total)) => Some(total),
        (Some(_), None) => Some(round(
            rate * pieces.iter().map(|p| p.2).sum::<Decimal>(),
            t.scale,
            t.rounding,
        )),
    };
    // 3. Round each, last absorbs.
    let mut out = Vec::with_capacity(pieces.len());
    let mut running = Decimal::ZERO;
    let last = pieces.len().saturating_sub(1);
    for (i, (start, end, f, _)) in pieces.iter().copied().enumerate() {
        let amount = match total {
            Some(total) if i == last => total - running,
            _ => round(rate * f, t.scale, t.rounding),
        };
        running += amount;
        if i >= skip || t.end.is_some() {
            out.push(Period {
                start,
                end,
                ready: ready(t, start, end)?,
                amount,
            });
        }
    }
    Ok(out)
}

/// `combine_with_first_period`: a leading stub merges with the next period, a trailing stub
/// with the one before it.
fn combine(pieces: &mut Vec<(NaiveDate, NaiveDate, Decimal, Decimal)>, finite: bool) {
    let is_stub = |p: &(NaiveDate, NaiveDate, Decimal, Decimal)| p.3 != Decimal::ONE;
    if pieces.len() >= 2 && is_stub(&pieces[0]) {
        let first = pieces.remove(0);
        let next = &mut pieces[0];
        *next = (first.0, next.1, first.2 + next.2, first.3 + next.3);
    }
    let n = pieces.len();
    if finite && n >= 2 && is_stub(&pieces[n - 1]) && !is_stub(&pieces[n - 2]) {
        let last = pieces.pop().expect("len ≥ 2");
        let prev = &mut pieces[n - 2];
        *prev = (prev.0, last.1, prev.2 + last.2, prev.3 + last.3);
    }
}

/// A one-time line: one schedule `[start, start]`.
pub fn one_time(t: &Terms, amount: Decimal) -> Result<Period, GenError> {
    let start = t.start;
    Ok(Period {
        start,
        end: start,
        ready: ready(t, start, start)?,
        amount: round(amount, t.scale, t.rounding),
    })
}

/// A single-period line: one schedule `[start, end]` for the whole value.
pub fn single_period(t: &Terms, amount: Decimal) -> Result<Period, GenError> {
    validate(t)?;
    let end = t.end.ok_or(GenError::EndBeforeStart)?;
    Ok(Period {
        start: t.start,
        end,
        ready: ready(t, t.start, end)?,
        amount: round(amount, t.scale, t.rounding),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }
    fn m(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }
    fn terms(start: &str, end: &str, months: u32, day: u32) -> Terms {
        Terms {
            start: d(start),
            end: Some(d(end)),
            months,
            cycle_day: day,
            calendar_month: None,
            rule: BillingRule::Advance,
            offset_days: 0,
            ready_for_billing: None,
            treatment: Treatment::SeparatePeriod,
            day_count: DayCount::BillingPeriod,
            rounding: Rounding::HalfUp,
            scale: 2,
        }
    }

    #[test]
    fn billing_period_fraction_counts_whole_months_then_days() {
        // 02 §3 / 03 §0: cycle day 1, 2015-04-16..2015-05-31 = 15/30 + 1 months.
        assert_eq!(month_sum(d("2015-04-16"), d("2015-05-31"), 1), m("1.5"));
        // DigiX: 2016-01-15..2016-02-08 with cycle day 9 is 25 of the 31 days of 01-09..02-08.
        assert_eq!(
            month_sum(d("2016-01-15"), d("2016-02-08"), 9),
            m("25") / m("31")
        );
    }

    #[test]
    fn digix_stubs_and_total() {
        let mut t = terms("2016-01-15", "2017-01-14", 1, 9);
        t.rule = BillingRule::Advance;
        let p = generate(&t, Price::Rate(m("200")), 0, 0).unwrap();
        assert_eq!(p.len(), 13);
        assert_eq!(
            (p[0].start, p[0].end, p[0].amount),
            (d("2016-01-15"), d("2016-02-08"), m("161.29"))
        );
        assert_eq!(p[12].amount, m("38.71"));
        assert_eq!(p.iter().map(|x| x.amount).sum::<Decimal>(), m("2400.00"));
    }

    #[test]
    fn calendar_june_quarters() {
        let mut t = terms("2016-04-01", "2016-12-31", 3, 1);
        t.calendar_month = Some(6);
        t.rule = BillingRule::Arrears;
        let p = generate(&t, Price::Rate(m("300")), 0, 0).unwrap();
        let got: Vec<_> = p
            .iter()
            .map(|x| (x.start, x.end, x.ready, x.amount))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    d("2016-04-01"),
                    d("2016-05-31"),
                    d("2016-06-01"),
                    m("200.00")
                ),
                (
                    d("2016-06-01"),
                    d("2016-08-31"),
                    d("2016-09-01"),
                    m("300.00")
                ),
                (
                    d("2016-09-01"),
                    d("2016-11-30"),
                    d("2016-12-01"),
                    m("300.00")
                ),
                (
                    d("2016-12-01"),
                    d("2016-12-31"),
                    d("2017-01-01"),
                    m("100.00")
                ),
            ]
        );
    }

    #[test]
    fn treatments_of_scenario_2() {
        let base = terms("2016-01-20", "2017-01-19", 1, 1);
        let run = |tr| {
            let mut t = base;
            t.treatment = tr;
            generate(&t, Price::Rate(m("100")), 0, 0).unwrap()
        };
        let sum = |p: &[Period]| p.iter().map(|x| x.amount).sum::<Decimal>();
        let sep = run(Treatment::SeparatePeriod);
        assert_eq!(
            (sep.len(), sep[0].amount, sep[12].amount, sum(&sep)),
            (13, m("38.71"), m("61.29"), m("1200.00"))
        );
        let ign = run(Treatment::Ignore);
        assert_eq!(
            (ign.len(), ign[0].start, sum(&ign)),
            (12, d("2016-02-01"), m("1161.29"))
        );
        let full = run(Treatment::ChargeFull);
        assert_eq!(
            (full[0].amount, full[12].amount, sum(&full)),
            (m("100.00"), m("100.00"), m("1300.00"))
        );
        let comb = run(Treatment::CombineWithFirstPeriod);
        assert_eq!(comb.len(), 11);
        assert_eq!(
            (comb[0].start, comb[0].end, comb[0].amount),
            (d("2016-01-20"), d("2016-02-29"), m("138.71"))
        );
        assert_eq!(
            (comb[10].start, comb[10].end, comb[10].amount),
            (d("2016-12-01"), d("2017-01-19"), m("161.29"))
        );
        assert_eq!(sum(&comb), m("1200.00"));
    }

    #[test]
    fn end_of_month_cycle_never_drifts() {
        let t = terms("2012-04-30", "2012-08-30", 1, 31);
        let p = generate(&t, Price::Rate(m("100")), 0, 0).unwrap();
        let starts: Vec<_> = p.iter().map(|x| x.start).collect();
        assert_eq!(
            starts,
            vec![
                d("2012-04-30"),
                d("2012-05-31"),
                d("2012-06-30"),
                d("2012-07-31")
            ]
        );
    }

    #[test]
    fn evergreen_generates_what_is_asked() {
        let mut t = terms("2016-01-01", "2016-01-01", 1, 1);
        t.end = None;
        let p = generate(&t, Price::Rate(m("100")), 0, 3).unwrap();
        assert_eq!(
            p.iter().map(|x| x.start).collect::<Vec<_>>(),
            vec![d("2016-01-01"), d("2016-02-01"), d("2016-03-01")]
        );
        let next = generate(&t, Price::Rate(m("100")), 3, 1).unwrap();
        assert_eq!(next[0].start, d("2016-04-01"));
    }
}

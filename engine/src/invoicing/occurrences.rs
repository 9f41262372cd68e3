//! Occurrences of scheduled invoice runs and their dates (04 §2.3).

use super::model::{RunSchedule, RunScheduleType, Week};
use crate::dates::{clamped, days_in_month, month_index};
use crate::model::DayOfMonth;
use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::Serialize;

/// The dates one occurrence runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RunDates {
    /// The occurrence date (the run's "on").
    pub on: NaiveDate,
    /// Occurrence + `invoice_date_offset`.
    pub invoice_date: NaiveDate,
    /// Invoice date + `process_through_offset` (the base is the invoice date, §15.1).
    pub process_through: NaiveDate,
}

fn add_days(d: NaiveDate, n: i64) -> Option<NaiveDate> {
    d.checked_add_signed(Duration::try_days(n)?)
}

/// The invoice date and process-through date of the occurrence `on`. `None` only outside
/// chrono's date range.
pub fn run_dates(schedule: &RunSchedule, on: NaiveDate) -> Option<RunDates> {
    let invoice_date = add_days(on, schedule.invoice_date_offset)?;
    let process_through = add_days(invoice_date, schedule.process_through_offset)?;
    Some(RunDates {
        on,
        invoice_date,
        process_through,
    })
}

/// The `week`-th `weekday` of month `m` (`last` = the last one).
fn nth_weekday(m: i32, week: Week, weekday: Weekday) -> Option<NaiveDate> {
    let first = clamped(m, 1)?;
    let lead = (7 + weekday.num_days_from_monday() as i64
        - first.weekday().num_days_from_monday() as i64)
        % 7;
    let first_match = add_days(first, lead)?;
    let k = match week {
        Week::First => 0,
        Week::Second => 1,
        Week::Third => 2,
        Week::Fourth => 3,
        Week::Last => {
            let last = clamped(m, days_in_month(m))?;
            let back = (7 + last.weekday().num_days_from_monday() as i64
                - weekday.num_days_from_monday() as i64)
                % 7;
            return add_days(last, -back);
        }
    };
    add_days(first_match, 7 * k)
}

/// The occurrence dates in `[from, to]` (intersected with the schedule's own `from`/`to`), in
/// date order. A schedule missing what its type needs ([`RunSchedule::check`]) has none.
pub fn occurrences(schedule: &RunSchedule, from: NaiveDate, to: NaiveDate) -> Vec<NaiveDate> {
    let lo = schedule.from.map_or(from, |f| f.max(from));
    let hi = schedule.to.map_or(to, |t| t.min(to));
    let mut out = Vec::new();
    if hi < lo {
        return out;
    }
    match schedule.kind {
        RunScheduleType::Weekly => {
            let Some(wd) = schedule.weekday.map(|w| w.weekday()) else {
                return out;
            };
            let lead = (7 + wd.num_days_from_monday() as i64
                - lo.weekday().num_days_from_monday() as i64)
                % 7;
            let mut d = add_days(lo, lead);
            while let Some(x) = d.filter(|x| *x <= hi) {
                out.push(x);
                d = add_days(x, 7);
            }
        }
        RunScheduleType::MonthlyByDate | RunScheduleType::MonthlyByDay => {
            for m in month_index(lo)..=month_index(hi) {
                let date = match schedule.kind {
                    RunScheduleType::MonthlyByDate => match schedule.day {
                        Some(DayOfMonth::EndOfMonth) => clamped(m, 31),
                        Some(DayOfMonth::Day(d)) if (1..=31).contains(&d) => clamped(m, d),
                        _ => return out,
                    },
                    _ => match (schedule.week, schedule.weekday) {
                        (Some(w), Some(wd)) => nth_weekday(m, w, wd.weekday()),
                        _ => return out,
                    },
                };
                if let Some(x) = date.filter(|x| lo <= *x && *x <= hi) {
                    out.push(x);
                }
            }
        }
    }
    out
}

/// Every occurrence from the schedule's `from` up to `through` (and its `to`). A schedule
/// without `from` has none ([`RunSchedule::check`] reports it).
pub fn occurrences_through(schedule: &RunSchedule, through: NaiveDate) -> Vec<NaiveDate> {
    match schedule.from {
        Some(f) => occurrences(schedule, f, through),
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::WeekdayName;
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }

    fn sched(kind: RunScheduleType) -> RunSchedule {
        RunSchedule {
            kind,
            weekday: None,
            day: None,
            week: None,
            time: None,
            from: Some(d("2016-01-01")),
            to: None,
            invoice_date_offset: 0,
            process_through_offset: 0,
        }
    }

    #[test]
    fn ir_01_weekly_monday_with_offsets() {
        let mut s = sched(RunScheduleType::Weekly);
        s.weekday = Some(WeekdayName::Monday);
        s.invoice_date_offset = -1;
        s.process_through_offset = 6;
        assert!(s.check().is_empty());
        let occ = occurrences(&s, d("2016-03-01"), d("2016-03-31"));
        assert_eq!(
            occ,
            [
                d("2016-03-07"),
                d("2016-03-14"),
                d("2016-03-21"),
                d("2016-03-28")
            ]
        );
        let r = run_dates(&s, d("2016-03-07")).unwrap();
        assert_eq!(r.invoice_date, d("2016-03-06"));
        assert_eq!(r.invoice_date.weekday(), Weekday::Sun);
        assert_eq!(r.process_through, d("2016-03-12"));
        assert_eq!(r.process_through.weekday(), Weekday::Sat);
    }

    #[test]
    fn monthly_by_date_clamps() {
        let mut s = sched(RunScheduleType::MonthlyByDate);
        s.day = Some(DayOfMonth::Day(31));
        assert_eq!(
            occurrences_through(&s, d("2016-04-30")),
            [
                d("2016-01-31"),
                d("2016-02-29"),
                d("2016-03-31"),
                d("2016-04-30")
            ]
        );
        s.day = Some(DayOfMonth::Day(30));
        s.from = Some(d("2015-01-31"));
        assert_eq!(
            occurrences(&s, d("2015-02-01"), d("2015-03-30")),
            [d("2015-02-28"), d("2015-03-30")]
        );
        s.day = Some(DayOfMonth::EndOfMonth);
        s.from = Some(d("2016-01-15"));
        s.to = Some(d("2016-03-30"));
        assert_eq!(
            occurrences_through(&s, d("2016-12-31")),
            [d("2016-01-31"), d("2016-02-29")]
        );
        s.day = Some(DayOfMonth::Day(15));
        s.to = None;
        // `from` is inclusive.
        assert_eq!(occurrences_through(&s, d("2016-02-14")), [d("2016-01-15")]);
    }

    #[test]
    fn monthly_by_day() {
        let mut s = sched(RunScheduleType::MonthlyByDay);
        s.weekday = Some(WeekdayName::Monday);
        s.week = Some(Week::Second);
        assert_eq!(
            occurrences_through(&s, d("2016-03-31")),
            [d("2016-01-11"), d("2016-02-08"), d("2016-03-14")]
        );
        s.week = Some(Week::Last);
        s.weekday = Some(WeekdayName::Friday);
        assert_eq!(
            occurrences_through(&s, d("2016-03-31")),
            [d("2016-01-29"), d("2016-02-26"), d("2016-03-25")]
        );
        s.week = Some(Week::First);
        s.weekday = Some(WeekdayName::Tuesday);
        assert_eq!(
            occurrences_through(&s, d("2016-03-31")),
            [d("2016-01-05"), d("2016-02-02"), d("2016-03-01")]
        );
        s.week = Some(Week::Fourth);
        s.weekday = Some(WeekdayName::Sunday);
        assert_eq!(
            occurrences_through(&s, d("2016-02-29")),
            [d("2016-01-24"), d("2016-02-28")]
        );
    }

    #[test]
    fn bounds_and_incomplete_schedules() {
        let mut s = sched(RunScheduleType::Weekly);
        s.weekday = Some(WeekdayName::Friday);
        s.from = Some(d("2016-01-01"));
        s.to = Some(d("2016-01-15"));
        assert_eq!(
            occurrences_through(&s, d("2017-01-01")),
            [d("2016-01-01"), d("2016-01-08"), d("2016-01-15")]
        );
        assert!(occurrences_through(&s, d("2015-12-31")).is_empty());
        s.weekday = None;
        assert!(occurrences_through(&s, d("2017-01-01")).is_empty());
        let mut no_from = sched(RunScheduleType::MonthlyByDate);
        no_from.day = Some(DayOfMonth::Day(1));
        no_from.from = None;
        assert!(occurrences_through(&no_from, d("2016-05-01")).is_empty());
        assert_eq!(
            occurrences(&no_from, d("2016-01-01"), d("2016-02-01")),
            [d("2016-01-01"), d("2016-02-01")]
        );
    }

    #[test]
    fn offsets_cross_months() {
        let mut s = sched(RunScheduleType::MonthlyByDate);
        s.day = Some(DayOfMonth::Day(1));
        s.invoice_date_offset = -1;
        s.process_through_offset = -30;
        let r = run_dates(&s, d("2016-03-01")).unwrap();
        assert_eq!(r.on, d("2016-03-01"));
        assert_eq!(r.invoice_date, d("2016-02-29"));
        assert_eq!(r.process_through, d("2016-01-30"));
    }
}

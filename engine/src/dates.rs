//! Calendar arithmetic on [`NaiveDate`]: month indices, clamped cycle days, day counts.

use chrono::{Datelike, NaiveDate};

/// A month counted from year 0 (`year * 12 + month0`), so month arithmetic is integer addition.
pub type MonthIndex = i32;

/// The month index of a date.
pub fn month_index(d: NaiveDate) -> MonthIndex {
    d.year() * 12 + d.month0() as i32
}

/// Days in the month of a month index.
pub fn days_in_month(m: MonthIndex) -> u32 {
    let (y, m0) = (m.div_euclid(12), m.rem_euclid(12) as u32);
    match m0 + 1 {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

/// The date with day `day` in month `m`, clamped to the month's last day (cycle day 31 in April
/// is 30 April). `day` is 1–31. Returns `None` only outside chrono's date range.
pub fn clamped(m: MonthIndex, day: u32) -> Option<NaiveDate> {
    let (y, m0) = (m.div_euclid(12), m.rem_euclid(12) as u32);
    NaiveDate::from_ymd_opt(y, m0 + 1, day.min(days_in_month(m)))
}

/// Inclusive day count of `[a, b]` (0 when `b < a`).
pub fn days_inclusive(a: NaiveDate, b: NaiveDate) -> i64 {
    ((b - a).num_days() + 1).max(0)
}

/// The 30/360 (US bond basis) day count from `a` to `b` (exclusive end).
pub fn days_30_360(a: NaiveDate, b: NaiveDate) -> i64 {
    let (y1, m1, mut d1) = (a.year() as i64, a.month() as i64, a.day() as i64);
    let (y2, m2, mut d2) = (b.year() as i64, b.month() as i64, b.day() as i64);
    if d1 == 31 {
        d1 = 30;
    }
    if d2 == 31 && d1 >= 30 {
        d2 = 30;
    }
    360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)
}

/// Parse `YYYY-MM-DD` strictly.
pub fn parse_date(s: &str) -> Option<NaiveDate> {
    if s.len() != 10 || s.as_bytes()[4] != b'-' || s.as_bytes()[7] != b'-' {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

/// Month names as used in rule files (`january` … `december`), 1-based.
pub const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        parse_date(s).unwrap()
    }

    #[test]
    fn clamping_is_per_month_and_never_drifts() {
        let start = month_index(d("2012-04-30"));
        let got: Vec<_> = (0..4).map(|k| clamped(start + k, 31).unwrap()).collect();
        assert_eq!(
            got,
            vec![
                d("2012-04-30"),
                d("2012-05-31"),
                d("2012-06-30"),
                d("2012-07-31")
            ]
        );
        assert_eq!(
            clamped(month_index(d("2016-02-01")), 31),
            Some(d("2016-02-29"))
        );
        assert_eq!(
            clamped(month_index(d("2015-02-01")), 30),
            Some(d("2015-02-28"))
        );
    }

    #[test]
    fn thirty_360_counts_thirty_day_months() {
        assert_eq!(days_30_360(d("2016-01-15"), d("2016-02-09")), 24);
        assert_eq!(days_30_360(d("2017-01-09"), d("2017-01-15")), 6);
        assert_eq!(days_30_360(d("2016-01-01"), d("2017-01-01")), 360);
    }

    #[test]
    fn strict_date_parsing() {
        assert!(parse_date("2016-02-30").is_none());
        assert!(parse_date("2016-2-3").is_none());
        assert_eq!(parse_date("2016-02-29"), Some(d("2016-02-29")));
    }
}

//! Dates as the WIT contract writes them: `YYYY-MM-DD` (spec 07 §3).

use alloc::format;

use crate::types::PluginError;

/// The parts of a calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateParts {
    /// Year, 1–9999.
    pub year: u32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–28/29/30/31.
    pub day: u32,
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: u32) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

/// Days in `month` (1–12) of `year`; 0 for a month outside 1–12.
pub fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses `YYYY-MM-DD` into its parts; anything else, or a day that does not exist
/// (`2023-02-29`), is the plugin error `bad_date`.
pub fn parse_date(text: &str) -> Result<DateParts, PluginError> {
    let bad = || PluginError::new("bad_date", format!("not a YYYY-MM-DD date: \"{text}\""));
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let number = |range: core::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let (year, month, day) = match (number(0..4), number(5..7), number(8..10)) {
        (Some(y), Some(m), Some(d)) => (y, m, d),
        _ => return Err(bad()),
    };
    if year == 0 || day == 0 || day > days_in_month(year, month) {
        return Err(bad());
    }
    Ok(DateParts { year, month, day })
}

/// The year of a `YYYY-MM-DD` date.
pub fn year(date: &str) -> Result<u32, PluginError> {
    parse_date(date).map(|p| p.year)
}

/// The month (1–12) of a `YYYY-MM-DD` date.
pub fn month(date: &str) -> Result<u32, PluginError> {
    parse_date(date).map(|p| p.month)
}

/// The day of the month of a `YYYY-MM-DD` date.
pub fn day(date: &str) -> Result<u32, PluginError> {
    parse_date(date).map(|p| p.day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_of_valid_dates() {
        assert_eq!(
            parse_date("2016-03-20").unwrap(),
            DateParts {
                year: 2016,
                month: 3,
                day: 20
            }
        );
        assert_eq!(year("2016-03-20").unwrap(), 2016);
        assert_eq!(month("2016-03-20").unwrap(), 3);
        assert_eq!(day("2016-03-20").unwrap(), 20);
        assert_eq!(day("2024-02-29").unwrap(), 29);
        assert_eq!(day("2000-02-29").unwrap(), 29);
        assert_eq!(day("9999-12-31").unwrap(), 31);
        assert!(parse_date("2016-03-20").unwrap() < parse_date("2016-04-01").unwrap());
    }

    #[test]
    fn rejects_malformed_and_impossible_dates() {
        for bad in [
            "",
            "2016-3-20",
            "2016/03/20",
            "20160320",
            "2016-03-20T00:00",
            "2016-13-01",
            "2016-00-10",
            "2016-01-00",
            "2016-04-31",
            "2023-02-29",
            "1900-02-29",
            "0000-01-01",
            "+016-03-20",
            "2016-0a-20",
            "２016-03-20",
        ] {
            assert_eq!(parse_date(bad).unwrap_err().code, "bad_date", "{bad}");
        }
    }

    #[test]
    fn month_lengths() {
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2024, 4), 30);
        assert_eq!(days_in_month(2024, 12), 31);
        assert_eq!(days_in_month(2024, 13), 0);
    }
}

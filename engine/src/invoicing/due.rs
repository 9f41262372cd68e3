//! Due dates from payment terms (04 §4).

use super::InvoicingError;
use crate::dates::{clamped, days_in_month, month_index};
use crate::error::Code;
use crate::model::{PaymentTerm, TermStart};
use chrono::{Datelike, Duration, NaiveDate};

/// A term's offset: `{days: N}` or `{months: N}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// No offset.
    None,
    /// N days after the base.
    Days(i64),
    /// N months after the base (the add-months rule of §4).
    Months(i64),
}

/// The term's offset as written; unknown keys are ignored here and reported by [`check_term`].
pub fn offset(term: &PaymentTerm) -> Offset {
    match &term.offset {
        None => Offset::None,
        Some(m) => match (m.get("days"), m.get("months")) {
            (Some(&d), _) => Offset::Days(d),
            (None, Some(&n)) => Offset::Months(n),
            (None, None) => Offset::None,
        },
    }
}

/// Last day of `d`'s month.
fn last_of_month(d: NaiveDate) -> NaiveDate {
    clamped(month_index(d), 31).unwrap_or(d)
}

fn is_last_of_month(d: NaiveDate) -> bool {
    d.day() == days_in_month(month_index(d))
}

/// `add_months(base, n)` of §4: from a month's last day to the target month's last day;
/// otherwise the same day, clamped. `None` outside chrono's range.
pub fn add_months(base: NaiveDate, n: i64) -> Option<NaiveDate> {
    let target = i32::try_from(i64::from(month_index(base)).checked_add(n)?).ok()?;
    let day = if is_last_of_month(base) {
        31
    } else {
        base.day()
    };
    clamped(target, day)
}

/// The base date of §4 (the invoice date, day D of the invoice month clamped, the month's last
/// day, or the calendar quarter's last day).
pub fn base_date(term: &PaymentTerm, invoice_date: NaiveDate) -> NaiveDate {
    let m = month_index(invoice_date);
    match term.start {
        TermStart::InvoiceDate => invoice_date,
        TermStart::SpecificDay => {
            let day = term.start_value.unwrap_or(invoice_date.day()).clamp(1, 31);
            clamped(m, day).unwrap_or(invoice_date)
        }
        TermStart::EndOfMonth => last_of_month(invoice_date),
        TermStart::EndOfQuarter => {
            let quarter_end = m - m.rem_euclid(12) % 3 + 2;
            clamped(quarter_end, 31).unwrap_or(invoice_date)
        }
    }
}

/// The `k`-th date strictly after `after` whose day is `day` (a month shorter than `day` counts
/// its last day). `k` < 1 is taken as 1.
pub fn occurrence(after: NaiveDate, day: u32, k: u32) -> Option<NaiveDate> {
    let day = day.clamp(1, 31);
    let mut m = month_index(after);
    let mut left = k.max(1);
    // At most one month is skipped (the one holding `after`), so this loop runs k or k + 1 times.
    loop {
        let candidate = clamped(m, day)?;
        if candidate > after {
            left -= 1;
            if left == 0 {
                return Some(candidate);
            }
        }
        m = m.checked_add(1)?;
    }
}

/// The due date of an invoice dated `invoice_date` under `term` (04 §4), never before the
/// invoice date. The term is assumed to pass [`check_term`]; for a term that does not, the
/// result is still a date (missing `start_value` = the invoice date's day, a negative offset is
/// lifted to the invoice date by the final max) and nothing panics.
pub fn due_date(term: &PaymentTerm, invoice_date: NaiveDate) -> NaiveDate {
    let due = if let Some(k) = term.offset_occurrence {
        let day = term.start_value.unwrap_or(invoice_date.day());
        occurrence(invoice_date, day, k)
    } else {
        let base = base_date(term, invoice_date);
        match offset(term) {
            Offset::None => Some(base),
            Offset::Days(n) => Duration::try_days(n).and_then(|d| base.checked_add_signed(d)),
            Offset::Months(n) => add_months(base, n),
        }
    };
    due.map_or(invoice_date, |d| d.max(invoice_date))
}

/// The `bad_payment_term` conditions of §13: an occurrence without `start: specific_day`, an
/// offset together with an occurrence, a negative offset, a day outside 1–31; also an occurrence
/// below 1, `specific_day` without `start_value`, and an offset map other than one `days` or
/// `months` key.
pub fn check_term(term: &PaymentTerm) -> Result<(), Vec<InvoicingError>> {
    let mut out = Vec::new();
    let mut bad = |field: &str, msg: String| {
        out.push(InvoicingError::new(
            Code::BadPaymentTerm,
            field,
            format!("payment term `{}`: {msg}", term.name),
        ))
    };
    if let Some(k) = term.offset_occurrence {
        if term.start != TermStart::SpecificDay {
            bad(
                "offset_occurrence",
                format!(
                    "offset_occurrence needs start: specific_day (found {})",
                    term.start
                ),
            );
        }
        if term.offset.is_some() {
            bad(
                "offset",
                "offset and offset_occurrence cannot be combined".into(),
            );
        }
        if k < 1 {
            bad("offset_occurrence", "offset_occurrence must be ≥ 1".into());
        }
    }
    match term.start_value {
        Some(d) if !(1..=31).contains(&d) => {
            bad("start_value", format!("day {d} is not 1–31"));
        }
        None if term.start == TermStart::SpecificDay => {
            bad(
                "start_value",
                "start: specific_day needs start_value".into(),
            );
        }
        _ => {}
    }
    if let Some(m) = &term.offset {
        let keys: Vec<&str> = m.keys().map(String::as_str).collect();
        if keys != ["days"] && keys != ["months"] {
            bad(
                "offset",
                format!("offset must be {{days: N}} or {{months: N}} (found keys {keys:?})"),
            );
        }
        for (k, v) in m {
            if *v < 0 {
                bad("offset", format!("{k}: {v} is negative"));
            }
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }

    fn term(start: TermStart, start_value: Option<u32>, off: Option<(&str, i64)>) -> PaymentTerm {
        PaymentTerm {
            name: "T".into(),
            label: None,
            sequence: None,
            default: false,
            start,
            start_value,
            offset: off.map(|(k, v)| BTreeMap::from([(k.to_string(), v)])),
            offset_occurrence: None,
            late_fee_policy: None,
        }
    }

    #[test]
    fn pt_uc1_specific_day() {
        let t = term(TermStart::SpecificDay, Some(20), Some(("months", 2)));
        assert!(check_term(&t).is_ok());
        assert_eq!(due_date(&t, d("2016-04-11")), d("2016-06-20"));
        assert_eq!(due_date(&t, d("2016-04-25")), d("2016-06-20"));
    }

    #[test]
    fn pt_uc2_end_of_month() {
        let t = term(TermStart::EndOfMonth, None, Some(("months", 2)));
        assert_eq!(due_date(&t, d("2016-01-20")), d("2016-03-31"));
        assert_eq!(due_date(&t, d("2016-02-10")), d("2016-04-30"));
    }

    #[test]
    fn pt_uc3_end_of_quarter() {
        let t = term(TermStart::EndOfQuarter, None, Some(("days", 20)));
        for inv in ["2016-01-01", "2016-02-15", "2016-03-31"] {
            assert_eq!(due_date(&t, d(inv)), d("2016-04-20"), "{inv}");
        }
        assert_eq!(due_date(&t, d("2016-05-15")), d("2016-07-20"));
    }

    #[test]
    fn pt_offset_type_day_vs_month() {
        let days = term(TermStart::InvoiceDate, None, Some(("days", 20)));
        let months = term(TermStart::InvoiceDate, None, Some(("months", 1)));
        assert_eq!(due_date(&days, d("2016-01-15")), d("2016-02-04"));
        assert_eq!(due_date(&months, d("2016-01-15")), d("2016-02-15"));
    }

    #[test]
    fn pt_offset_occurrence() {
        let mut t = term(TermStart::SpecificDay, Some(15), None);
        t.offset_occurrence = Some(2);
        assert!(check_term(&t).is_ok());
        assert_eq!(due_date(&t, d("2016-01-10")), d("2016-02-15"));
        assert_eq!(due_date(&t, d("2016-01-15")), d("2016-03-15"));
    }

    #[test]
    fn pt_standard_labels() {
        let inv = d("2016-01-15");
        for (n, due) in [
            (30, "2016-02-14"),
            (45, "2016-02-29"),
            (60, "2016-03-15"),
            (90, "2016-04-14"),
        ] {
            let t = term(TermStart::InvoiceDate, None, Some(("days", n)));
            assert_eq!(due_date(&t, inv), d(due), "Net {n}");
        }
        let upon_receipt = term(TermStart::InvoiceDate, None, None);
        assert_eq!(due_date(&upon_receipt, inv), d("2016-01-15"));
    }

    #[test]
    fn occurrences_count_the_last_day_of_short_months() {
        let mut t = term(TermStart::SpecificDay, Some(31), None);
        t.offset_occurrence = Some(1);
        assert_eq!(due_date(&t, d("2016-01-31")), d("2016-02-29"));
        t.offset_occurrence = Some(3);
        assert_eq!(due_date(&t, d("2016-01-31")), d("2016-04-30"));
        t.offset_occurrence = Some(1);
        assert_eq!(due_date(&t, d("2015-02-27")), d("2015-02-28"));
    }

    #[test]
    fn specific_day_clamps_and_due_never_precedes_invoice() {
        // Day 31 in February, no offset: 2016-02-29; day 5 of a month dated the 20th, no offset:
        // base 2016-04-05 precedes the invoice date, so due = the invoice date.
        let t = term(TermStart::SpecificDay, Some(31), None);
        assert_eq!(due_date(&t, d("2016-02-10")), d("2016-02-29"));
        let t = term(TermStart::SpecificDay, Some(5), None);
        assert_eq!(due_date(&t, d("2016-04-20")), d("2016-04-20"));
        let t = term(TermStart::SpecificDay, Some(5), Some(("days", 10)));
        assert_eq!(due_date(&t, d("2016-04-20")), d("2016-04-20"));
    }

    #[test]
    fn add_months_keeps_month_ends() {
        assert_eq!(add_months(d("2016-01-31"), 1), Some(d("2016-02-29")));
        assert_eq!(add_months(d("2016-02-29"), 1), Some(d("2016-03-31")));
        assert_eq!(add_months(d("2016-01-30"), 1), Some(d("2016-02-29")));
        assert_eq!(add_months(d("2016-01-28"), 1), Some(d("2016-02-28")));
        assert_eq!(add_months(d("2016-11-15"), 3), Some(d("2017-02-15")));
        assert_eq!(add_months(d("2016-04-30"), 0), Some(d("2016-04-30")));
    }

    #[test]
    fn quarters_are_calendar_quarters() {
        let t = term(TermStart::EndOfQuarter, None, None);
        for (inv, end) in [
            ("2016-04-01", "2016-06-30"),
            ("2016-09-30", "2016-09-30"),
            ("2016-10-01", "2016-12-31"),
            ("2016-12-31", "2016-12-31"),
        ] {
            assert_eq!(due_date(&t, d(inv)), d(end), "{inv}");
        }
    }

    #[test]
    fn bad_payment_terms() {
        let codes = |t: &PaymentTerm| check_term(t).err().map(|v| v.len()).unwrap_or(0);
        let mut occ_wrong_start = term(TermStart::InvoiceDate, None, None);
        occ_wrong_start.offset_occurrence = Some(1);
        assert_eq!(codes(&occ_wrong_start), 1);
        let mut occ_with_offset = term(TermStart::SpecificDay, Some(15), Some(("days", 3)));
        occ_with_offset.offset_occurrence = Some(1);
        assert_eq!(codes(&occ_with_offset), 1);
        let mut occ_zero = term(TermStart::SpecificDay, Some(15), None);
        occ_zero.offset_occurrence = Some(0);
        assert_eq!(codes(&occ_zero), 1);
        assert_eq!(
            codes(&term(TermStart::InvoiceDate, None, Some(("days", -1)))),
            1
        );
        assert_eq!(codes(&term(TermStart::SpecificDay, Some(32), None)), 1);
        assert_eq!(codes(&term(TermStart::SpecificDay, Some(0), None)), 1);
        assert_eq!(codes(&term(TermStart::SpecificDay, None, None)), 1);
        assert_eq!(
            codes(&term(TermStart::InvoiceDate, None, Some(("weeks", 2)))),
            1
        );
        let e = check_term(&term(TermStart::InvoiceDate, None, Some(("days", -1)))).unwrap_err();
        assert_eq!(e[0].code, Code::BadPaymentTerm);
        // A bad term still yields a date, never before the invoice date.
        assert_eq!(
            due_date(
                &term(TermStart::InvoiceDate, None, Some(("days", -5))),
                d("2016-01-15")
            ),
            d("2016-01-15")
        );
        assert_eq!(
            due_date(
                &term(TermStart::InvoiceDate, None, Some(("days", i64::MAX))),
                d("2016-01-15")
            ),
            d("2016-01-15")
        );
    }
}

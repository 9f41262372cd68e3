//! The template filters `money` and `date`, also callable directly.

use std::fmt::Write as _;
use std::str::FromStr;

use chrono::format::{Item, StrftimeItems};
use chrono::NaiveDate;
use minijinja::{Error, ErrorKind, State, Value};
use rust_decimal::Decimal;

/// The `date` filter's default display form: `1 Mar 2024` (day without padding, English
/// month abbreviation, four-digit year) — unambiguous in every locale.
pub const DEFAULT_DATE_FORMAT: &str = "%-d %b %Y";

/// Formats decimal text as money in `currency`: thousands grouped with `,`, `.` before the
/// decimals, at least the currency's ISO 4217 minor units: `"1234.5"` in USD → `1,234.50`,
/// `"1234"` in JPY → `1,234`, `"1234.5"` in BHD → `1,234.500`.
///
/// Amounts are shown exactly as stored, never rounded: digits beyond the minor units are kept
/// when they are not zero (a unit price `"0.0125"` USD shows as `0.0125`), trailing zeros beyond
/// them are dropped (`"5.000"` JPY shows as `5`). The sign leads (`-1,234.50`).
///
/// # Errors
/// A message when the text is not a plain decimal or the currency is not an ISO 4217 code.
pub fn format_money(amount: &str, currency: &str) -> Result<String, String> {
    let minor = reckon_currency::minor_units(currency)
        .ok_or_else(|| format!("money: `{currency}` is not an ISO 4217 currency code"))?;
    let text = amount.trim();
    let plain = !text.is_empty()
        && text
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+')));
    let value = if plain {
        Decimal::from_str(text).ok()
    } else {
        None
    };
    let mut value = value.ok_or_else(|| format!("money: `{amount}` is not a decimal number"))?;
    value = value.normalize();
    if value.scale() < minor {
        value.rescale(minor);
    }
    let digits = value.abs().to_string();
    let (int_part, frac_part) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits.as_str(), None),
    };
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 2);
    if value.is_sign_negative() && !value.is_zero() {
        out.push('-');
    }
    let len = int_part.len();
    for (i, c) in int_part.chars().enumerate() {
        if i > 0 && (len - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(frac) = frac_part {
        out.push('.');
        out.push_str(frac);
    }
    Ok(out)
}

/// Formats an ISO date (`YYYY-MM-DD`) with a chrono `strftime` format, by default
/// [`DEFAULT_DATE_FORMAT`].
///
/// # Errors
/// A message when the text is not an ISO date or the format is invalid for a date.
pub fn format_date(date: &str, format: Option<&str>) -> Result<String, String> {
    let parsed = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d")
        .map_err(|_| format!("date: `{date}` is not an ISO date (YYYY-MM-DD)"))?;
    let format = format.unwrap_or(DEFAULT_DATE_FORMAT);
    let items = StrftimeItems::new(format)
        .parse()
        .map_err(|_| format!("date: invalid format `{format}`"))?;
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(format!("date: invalid format `{format}`"));
    }
    let mut out = String::new();
    write!(out, "{}", parsed.format_with_items(items.iter()))
        .map_err(|_| format!("date: format `{format}` needs more than a date"))?;
    Ok(out)
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// Text of a filter's input value: `None` for `none`, an error for undefined values and floats.
fn input_text(filter: &str, value: &Value) -> Result<Option<String>, Error> {
    if value.is_undefined() {
        return Err(Error::new(
            ErrorKind::UndefinedError,
            format!("{filter}: the value is undefined"),
        ));
    }
    if value.is_none() {
        return Ok(None);
    }
    if let Some(text) = value.as_str() {
        return Ok(Some(text.to_string()));
    }
    if value.is_integer() {
        return Ok(Some(value.to_string()));
    }
    Err(invalid(format!(
        "{filter}: expected text, got {} `{value}` (amounts are decimal text, never floats)",
        value.kind()
    )))
}

/// The `money` filter: `{{ amount | money }}` formats in the document's currency
/// (`doc.currency`), `{{ amount | money("JPY") }}` in the one given. `none` renders empty.
pub(crate) fn money_filter(
    state: &State,
    value: Value,
    currency: Option<String>,
) -> Result<Value, Error> {
    let Some(text) = input_text("money", &value)? else {
        return Ok(Value::from(""));
    };
    let currency = match currency {
        Some(code) => code,
        None => state
            .lookup("doc")
            .and_then(|doc| doc.get_attr("currency").ok())
            .and_then(|code| code.as_str().map(str::to_string))
            .filter(|code| !code.is_empty())
            .ok_or_else(|| {
                invalid("money: no currency argument and no doc.currency in the data".to_string())
            })?,
    };
    // Digits, sign, `,` and `.` only: nothing to escape.
    format_money(&text, &currency)
        .map(Value::from_safe_string)
        .map_err(invalid)
}

/// The `date` filter: `{{ d | date }}` → `1 Mar 2024`; `{{ d | date("%d/%m/%Y") }}` with a
/// chrono `strftime` format. `none` renders empty.
pub(crate) fn date_filter(value: Value, format: Option<String>) -> Result<Value, Error> {
    let Some(text) = input_text("date", &value)? else {
        return Ok(Value::from(""));
    };
    // The output is the template author's format with numbers and English month and day
    // names: it is not escaped again (`31/03/2024` stays as written).
    format_date(&text, format.as_deref())
        .map(Value::from_safe_string)
        .map_err(invalid)
}

/// The `nonzero` test: `{% if totals.discount is nonzero %}` — true for decimal text (or an
/// integer) other than zero; false for zero, `none`, and text that is not a decimal.
pub(crate) fn nonzero_test(value: Value) -> bool {
    if let Some(n) = value.as_i64() {
        return n != 0;
    }
    value
        .as_str()
        .and_then(|text| Decimal::from_str(text.trim()).ok())
        .is_some_and(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_uses_the_currency_minor_units() {
        assert_eq!(format_money("1234.5", "USD").unwrap(), "1,234.50");
        assert_eq!(format_money("1234", "JPY").unwrap(), "1,234");
        assert_eq!(format_money("1234.5", "BHD").unwrap(), "1,234.500");
        assert_eq!(
            format_money("-1234567.891", "BHD").unwrap(),
            "-1,234,567.891"
        );
        assert_eq!(format_money("0", "USD").unwrap(), "0.00");
        assert_eq!(format_money("-0.00", "USD").unwrap(), "0.00");
        assert_eq!(format_money("999", "USD").unwrap(), "999.00");
        assert_eq!(format_money("1000", "USD").unwrap(), "1,000.00");
        assert_eq!(format_money("5.000", "JPY").unwrap(), "5");
        assert_eq!(format_money("0.0125", "USD").unwrap(), "0.0125");
        assert_eq!(format_money("+12", "EUR").unwrap(), "12.00");
    }

    #[test]
    fn money_refuses_what_is_not_a_decimal_or_a_currency() {
        assert!(format_money("1e3", "USD").is_err());
        assert!(format_money("12,00", "USD").is_err());
        assert!(format_money("", "USD").is_err());
        assert!(format_money("1.5", "usd").is_err());
        assert!(format_money("1.5", "XYZ").is_err());
    }

    #[test]
    fn date_default_and_format() {
        assert_eq!(format_date("2024-03-01", None).unwrap(), "1 Mar 2024");
        assert_eq!(
            format_date("2024-12-31", Some("%d/%m/%Y")).unwrap(),
            "31/12/2024"
        );
        assert_eq!(
            format_date("2024-02-29", Some("%B %-d, %Y")).unwrap(),
            "February 29, 2024"
        );
        assert!(format_date("2023-02-29", None).is_err());
        assert!(format_date("01/03/2024", None).is_err());
        assert!(format_date("2024-03-01", Some("%H:%M")).is_err());
        assert!(format_date("2024-03-01", Some("%Q")).is_err());
    }
}

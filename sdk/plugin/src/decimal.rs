//! Decimals as the WIT contract writes them (spec 07 §3): `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no
//! exponent, no `+`, at most 28 significant digits.

use alloc::format;
use alloc::string::{String, ToString};

pub use rust_decimal::Decimal;

use crate::types::PluginError;

/// Most significant digits a contract decimal may have.
pub const MAX_SIGNIFICANT_DIGITS: usize = 28;

/// Whether `text` follows the contract grammar (spec 07 §3 and §4 V1).
pub fn is_decimal(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match digits.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (digits, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
        return false;
    }
    if let Some(frac) = frac {
        if !all_digits(frac) {
            return false;
        }
    }
    let significant = digits
        .bytes()
        .filter(|b| *b != b'.')
        .skip_while(|b| *b == b'0')
        .count();
    significant <= MAX_SIGNIFICANT_DIGITS
}

/// Parses a contract decimal. Anything else — `"1e3"`, `"+1"`, `"01"`, `".5"`, `"1."`, more than
/// 28 significant digits or decimals — is the plugin error `bad_decimal`.
pub fn parse_decimal(text: &str) -> Result<Decimal, PluginError> {
    let bad = || PluginError::new("bad_decimal", format!("not a decimal: \"{text}\""));
    if !is_decimal(text) {
        return Err(bad());
    }
    Decimal::from_str_exact(text).map_err(|_| bad())
}

/// Writes `value` in the contract grammar, keeping its scale (`1.50` stays `"1.50"`); zero is never
/// written with a sign.
pub fn format_decimal(value: Decimal) -> String {
    let mut value = value;
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_grammar() {
        for ok in [
            "0",
            "-0",
            "1",
            "-12.50",
            "0.001",
            "100",
            "6.25",
            "1234567890123456789012345678",
            "0.0000000000000000000000000001",
            "-9999999999999999999999999999",
        ] {
            assert!(is_decimal(ok), "{ok}");
            assert!(parse_decimal(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "-",
            "+1",
            "1e3",
            "1E3",
            "01",
            "00",
            "-01.5",
            ".5",
            "1.",
            "1..2",
            "1.2.3",
            " 1",
            "1 ",
            "1_000",
            "0x10",
            "NaN",
            "inf",
            "١",
            "12345678901234567890123456789",
            "0.00000000000000000000000000001",
        ] {
            assert!(!is_decimal(bad) || parse_decimal(bad).is_err(), "{bad}");
            let err = parse_decimal(bad).unwrap_err();
            assert_eq!(err.code, "bad_decimal");
        }
    }

    #[test]
    fn parses_exact_values() {
        let d = parse_decimal("-12.50").unwrap();
        assert_eq!(d.mantissa(), -1250);
        assert_eq!(d.scale(), 2);
        assert_eq!(
            parse_decimal("0.1").unwrap() + parse_decimal("0.2").unwrap(),
            parse_decimal("0.3").unwrap()
        );
    }

    #[test]
    fn formats_in_the_grammar() {
        assert_eq!(format_decimal(parse_decimal("1.50").unwrap()), "1.50");
        assert_eq!(format_decimal(parse_decimal("-0.00").unwrap()), "0.00");
        assert_eq!(format_decimal(parse_decimal("-0").unwrap()), "0");
        assert_eq!(format_decimal(Decimal::new(-1755, 2)), "-17.55");
        let tiny = format_decimal(Decimal::new(1, 28));
        assert!(is_decimal(&tiny), "{tiny}");
    }
}

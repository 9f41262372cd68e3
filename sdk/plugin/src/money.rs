//! Currency minor units, rounding to them, and largest-remainder allocation (spec 04 §5, 06 §5).
//!
//! Everything is exact decimal or integer arithmetic; nothing here touches floating point.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::decimal::format_decimal;
use crate::types::PluginError;

/// How an amount is rounded to the currency's minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rounding {
    /// Half away from zero: `r(−x) = −r(x)` (spec 06 §1, 04's `half_up`).
    #[default]
    HalfUp,
    /// Banker's rounding: a half goes to the even neighbour (04's `half_even`).
    HalfEven,
}

impl Rounding {
    fn strategy(self) -> RoundingStrategy {
        match self {
            Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
            Rounding::HalfEven => RoundingStrategy::MidpointNearestEven,
        }
    }
}

/// Decimals of `currency`'s minor unit (ISO 4217, upper case): 0 for JPY, KRW, …; 3 for BHD,
/// KWD, OMR, JOD, TND, IQD, LYD; 4 for CLF and UYW; 2 for every other code. The table is
/// `reckon-currency`, the one the engine validates outputs with (spec 07 §4 V3).
pub fn minor_units(currency: &str) -> u32 {
    reckon_currency::minor_units(currency).unwrap_or(2)
}

/// `value` rounded to `scale` decimals with `mode`, written with exactly that scale (`100` →
/// `100.00` at scale 2).
pub fn round(value: Decimal, scale: u32, mode: Rounding) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(scale, mode.strategy());
    rounded.rescale(scale);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded
}

/// `value` rounded to `currency`'s minor units with `mode` (see [`round`]).
pub fn round_money(value: Decimal, currency: &str, mode: Rounding) -> Decimal {
    round(value, minor_units(currency), mode)
}

/// `value` rounded to `currency`'s minor units and written as a contract decimal with exactly
/// that many decimals (`"26.67"` USD, `"27"` JPY).
pub fn format_money(value: Decimal, currency: &str, mode: Rounding) -> String {
    format_decimal(round_money(value, currency, mode))
}

/// Whether `value` is exactly representable in `currency`'s minor units (spec 07 §4 V3: `1.50`
/// USD is, `1.005` USD and `1.5` JPY are not).
pub fn is_in_minor_units(value: Decimal, currency: &str) -> bool {
    value.normalize().scale() <= minor_units(currency)
}

/// Splits `total` into parts proportional to `weights` by the largest-remainder method (spec 06
/// §5): `q_i = |total| × w_i / Σw` exactly, each part is `q_i` truncated to minor units, the
/// leftover units go one each to the parts with the largest remainders (ties to the earlier
/// index), and the sign of `total` is applied last. The parts have the currency's scale and sum
/// to `total` exactly.
///
/// Errors (plugin error codes): `bad_scale` when `total` has more decimals than the currency,
/// `negative_weight`, `all_weights_zero` (also for no weights with a non-zero total), and
/// `overflow` when the weights span more than 128 bits at a common scale.
pub fn allocate(
    total: Decimal,
    weights: &[Decimal],
    currency: &str,
) -> Result<Vec<Decimal>, PluginError> {
    let scale = minor_units(currency);
    let units = to_units(total, scale).ok_or_else(|| {
        PluginError::new(
            "bad_scale",
            format!("{total} is not in the minor units of {currency}"),
        )
    })?;
    if let Some(w) = weights
        .iter()
        .find(|w| w.is_sign_negative() && !w.is_zero())
    {
        return Err(PluginError::new(
            "negative_weight",
            format!("weight {w} is negative"),
        ));
    }
    let overflow = || PluginError::new("overflow", "allocation weights out of range");
    let common = weights
        .iter()
        .map(|w| w.normalize().scale())
        .max()
        .unwrap_or(0);
    let mut ints = Vec::with_capacity(weights.len());
    let mut sum: u128 = 0;
    for w in weights {
        let w = w.normalize();
        let int = (w.mantissa().unsigned_abs())
            .checked_mul(pow10(common - w.scale()).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        sum = sum.checked_add(int).ok_or_else(overflow)?;
        ints.push(int);
    }
    if sum == 0 {
        if units == 0 {
            return Ok(weights
                .iter()
                .map(|_| round(Decimal::ZERO, scale, Rounding::HalfUp))
                .collect());
        }
        return Err(PluginError::new(
            "all_weights_zero",
            format!("cannot split {total} {currency}: every weight is 0"),
        ));
    }
    let mut parts = Vec::with_capacity(ints.len());
    let mut remainders = Vec::with_capacity(ints.len());
    let mut assigned: u128 = 0;
    for &w in &ints {
        let (q, r) = mul_div(units, w, sum);
        assigned += q;
        parts.push(q);
        remainders.push(r);
    }
    let leftover = units - assigned;
    if leftover > 0 {
        let mut order: Vec<usize> = (0..ints.len()).collect();
        order.sort_unstable_by(|&a, &b| remainders[b].cmp(&remainders[a]).then(a.cmp(&b)));
        for &i in order.iter().take(leftover as usize) {
            parts[i] += 1;
        }
    }
    let negative = total.is_sign_negative() && !total.is_zero();
    parts
        .into_iter()
        .map(|p| {
            let signed = if negative { -(p as i128) } else { p as i128 };
            Decimal::try_from_i128_with_scale(signed, scale).map_err(|_| overflow())
        })
        .collect()
}

/// `|value|` in units of `10^-scale`, if it has at most `scale` decimals.
fn to_units(value: Decimal, scale: u32) -> Option<u128> {
    let value = value.normalize();
    let mantissa = value.mantissa().unsigned_abs();
    if value.scale() <= scale {
        mantissa.checked_mul(pow10(scale - value.scale())?)
    } else {
        None
    }
}

fn pow10(exp: u32) -> Option<u128> {
    10u128.checked_pow(exp)
}

/// `(a × b / d, a × b mod d)` for `b ≤ d`, exact through a 256-bit intermediate product.
fn mul_div(a: u128, b: u128, d: u128) -> (u128, u128) {
    if let Some(p) = a.checked_mul(b) {
        return (p / d, p % d);
    }
    let (hi, lo) = mul_wide(a, b);
    let mut quotient: u128 = 0;
    let mut rem: u128 = 0;
    for i in (0..256).rev() {
        let bit = if i >= 128 {
            (hi >> (i - 128)) & 1
        } else {
            (lo >> i) & 1
        };
        let carry = rem >> 127;
        rem = (rem << 1) | bit;
        quotient <<= 1;
        if carry == 1 || rem >= d {
            rem = rem.wrapping_sub(d);
            quotient |= 1;
        }
    }
    (quotient, rem)
}

/// The 256-bit product of `a` and `b` as `(high, low)` halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    const MASK: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & MASK);
    let (b1, b0) = (b >> 64, b & MASK);
    let p00 = a0 * b0;
    let p01 = a0 * b1;
    let p10 = a1 * b0;
    let p11 = a1 * b1;
    let mid = (p00 >> 64) + (p01 & MASK) + (p10 & MASK);
    let lo = (p00 & MASK) | (mid << 64);
    let hi = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (hi, lo)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decimal::parse_decimal;
    use alloc::vec;

    fn d(s: &str) -> Decimal {
        parse_decimal(s).unwrap()
    }

    fn strings(parts: &[Decimal]) -> Vec<String> {
        parts.iter().map(|p| format_decimal(*p)).collect()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        for (code, units) in [
            ("JPY", 0),
            ("KRW", 0),
            ("VND", 0),
            ("CLP", 0),
            ("ISK", 0),
            ("BHD", 3),
            ("KWD", 3),
            ("OMR", 3),
            ("JOD", 3),
            ("TND", 3),
            ("IQD", 3),
            ("LYD", 3),
            ("CLF", 4),
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("CHF", 2),
        ] {
            assert_eq!(minor_units(code), units, "{code}");
        }
    }

    #[test]
    fn rounding_half_up_is_away_from_zero() {
        assert_eq!(format_money(d("2.375"), "USD", Rounding::HalfUp), "2.38");
        assert_eq!(format_money(d("-2.375"), "USD", Rounding::HalfUp), "-2.38");
        assert_eq!(format_money(d("0.005"), "USD", Rounding::HalfUp), "0.01");
        assert_eq!(
            format_money(d("0.0049999"), "USD", Rounding::HalfUp),
            "0.00"
        );
        assert_eq!(format_money(d("-0.004"), "USD", Rounding::HalfUp), "0.00");
        assert_eq!(format_money(d("17.5"), "JPY", Rounding::HalfUp), "18");
        assert_eq!(format_money(d("1.0005"), "BHD", Rounding::HalfUp), "1.001");
        assert_eq!(format_money(d("100"), "USD", Rounding::HalfUp), "100.00");
    }

    #[test]
    fn rounding_half_even_goes_to_the_even_neighbour() {
        assert_eq!(format_money(d("2.375"), "USD", Rounding::HalfEven), "2.38");
        assert_eq!(format_money(d("2.385"), "USD", Rounding::HalfEven), "2.38");
        assert_eq!(
            format_money(d("-2.385"), "USD", Rounding::HalfEven),
            "-2.38"
        );
        assert_eq!(format_money(d("2.3851"), "USD", Rounding::HalfEven), "2.39");
        assert_eq!(format_money(d("16.5"), "JPY", Rounding::HalfEven), "16");
        assert_eq!(format_money(d("17.5"), "JPY", Rounding::HalfEven), "18");
        assert_eq!(Rounding::default(), Rounding::HalfUp);
    }

    #[test]
    fn minor_unit_representability() {
        assert!(is_in_minor_units(d("1.50"), "USD"));
        assert!(is_in_minor_units(d("1.500"), "USD"));
        assert!(!is_in_minor_units(d("1.005"), "USD"));
        assert!(!is_in_minor_units(d("1.5"), "JPY"));
        assert!(is_in_minor_units(d("2.0"), "JPY"));
    }

    #[test]
    fn allocate_spec_case_ssp_20_30_40() {
        // 06 §5 and 07 §10: SSPs 20 / 30 / 40, bundle 80.
        let w = [d("20"), d("30"), d("40")];
        assert_eq!(
            strings(&allocate(d("80"), &w, "JPY").unwrap()),
            ["18", "27", "35"]
        );
        assert_eq!(
            strings(&allocate(d("80.00"), &w, "USD").unwrap()),
            ["17.78", "26.67", "35.55"]
        );
        assert_eq!(
            strings(&allocate(d("-80"), &w, "USD").unwrap()),
            ["-17.78", "-26.67", "-35.55"]
        );
    }

    #[test]
    fn allocate_ties_go_to_the_earlier_index() {
        let w = [d("1"), d("1"), d("1")];
        assert_eq!(
            strings(&allocate(d("1.00"), &w, "USD").unwrap()),
            ["0.34", "0.33", "0.33"]
        );
        assert_eq!(
            strings(&allocate(d("2"), &w, "JPY").unwrap()),
            ["1", "1", "0"]
        );
        assert_eq!(
            strings(&allocate(d("-0.02"), &w, "USD").unwrap()),
            ["-0.01", "-0.01", "0.00"]
        );
    }

    #[test]
    fn allocate_handles_zero_weights_and_mixed_scales() {
        let w = [d("0"), d("2.5"), d("7.50")];
        assert_eq!(
            strings(&allocate(d("10.00"), &w, "USD").unwrap()),
            ["0.00", "2.50", "7.50"]
        );
        assert_eq!(
            strings(&allocate(d("0"), &[d("0"), d("0")], "USD").unwrap()),
            ["0.00", "0.00"]
        );
        assert!(allocate(d("0"), &[], "USD").unwrap().is_empty());
        assert_eq!(
            strings(&allocate(d("5"), &[d("3")], "USD").unwrap()),
            ["5.00"]
        );
    }

    #[test]
    fn allocate_errors() {
        let code = |r: Result<Vec<Decimal>, PluginError>| r.unwrap_err().code;
        assert_eq!(code(allocate(d("1.005"), &[d("1")], "USD")), "bad_scale");
        assert_eq!(code(allocate(d("1.5"), &[d("1")], "JPY")), "bad_scale");
        assert_eq!(
            code(allocate(d("1"), &[d("1"), d("-1")], "USD")),
            "negative_weight"
        );
        assert_eq!(
            code(allocate(d("1"), &[d("0"), d("0")], "USD")),
            "all_weights_zero"
        );
        assert_eq!(code(allocate(d("1"), &[], "USD")), "all_weights_zero");
    }

    #[test]
    fn allocate_is_exact_for_huge_values() {
        // Products beyond 128 bits (about 7.9e27 units × 1e28) go through the 256-bit path.
        let total = d("79228162514264337593543950.33");
        let w = [
            d("9999999999999999999999999999"),
            d("1"),
            d("3333333333333333333333333333"),
        ];
        let parts = allocate(total, &w, "USD").unwrap();
        assert_eq!(parts.iter().copied().sum::<Decimal>(), total);
        assert!(parts[0] > parts[2] && parts[2] > parts[1]);
        let big = [
            d("5000000000000000000000000000"),
            d("5000000000000000000000000000"),
        ];
        assert_eq!(
            strings(&allocate(d("0.03"), &big, "USD").unwrap()),
            ["0.02", "0.01"]
        );
    }

    #[test]
    fn mul_div_matches_narrow_arithmetic() {
        for (a, b, d) in [
            (7u128, 3u128, 5u128),
            (u64::MAX as u128, 12345, 99999),
            (0, 5, 7),
        ] {
            assert_eq!(mul_div(a, b, d), (a * b / d, a * b % d));
        }
        // (2^127) × (2^127) / 2^127 = 2^127 remainder 0.
        let p = 1u128 << 127;
        assert_eq!(mul_div(p, p, p), (p, 0));
        assert_eq!(mul_div(u128::MAX, u128::MAX, u128::MAX), (u128::MAX, 0));
        assert_eq!(mul_div(u128::MAX, 3, 4), (u128::MAX / 4 * 3 + 2, 1));
        assert_eq!(mul_wide(u128::MAX, u128::MAX), (u128::MAX - 1, 1));
    }

    #[test]
    fn allocate_parts_always_sum_to_total() {
        let weights = vec![d("0.3"), d("1.7"), d("2"), d("0.0001"), d("11")];
        for total in ["0.01", "0.07", "1.00", "-3.33", "99999.99", "123.45"] {
            let t = d(total);
            let parts = allocate(t, &weights, "USD").unwrap();
            assert_eq!(parts.iter().copied().sum::<Decimal>(), t, "{total}");
            assert!(parts.iter().all(|p| p.scale() == 2));
        }
    }
}

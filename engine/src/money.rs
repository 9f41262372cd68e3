//! Money: currencies with their minor units, and the two billing rounding modes.
//!
//! Every amount is a [`rust_decimal::Decimal`]; nothing here touches floating point.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How billing money is rounded to the currency's minor unit (01 `rounding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// Half away from zero.
    #[default]
    HalfUp,
    /// Banker's rounding: half to the even neighbour.
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

pub use reckon_currency::minor_units;

/// Round `value` to `scale` decimals with `mode`, and normalise the scale so that
/// `100` and `100.00` print alike.
pub fn round(value: Decimal, scale: u32, mode: Rounding) -> Decimal {
    let mut rounded = value.round_dp_with_strategy(scale, mode.strategy());
    rounded.rescale(scale);
    rounded
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(minor_units("USD"), Some(2));
        assert_eq!(minor_units("JPY"), Some(0));
        assert_eq!(minor_units("BHD"), Some(3));
        assert_eq!(minor_units("usd"), None);
        assert_eq!(minor_units("XYZ"), None);
    }

    #[test]
    fn rounding_modes_differ_only_at_the_midpoint() {
        let d = |s| Decimal::from_str(s).unwrap();
        assert_eq!(round(d("2.345"), 2, Rounding::HalfUp), d("2.35"));
        assert_eq!(round(d("2.345"), 2, Rounding::HalfEven), d("2.34"));
        assert_eq!(round(d("-2.345"), 2, Rounding::HalfUp), d("-2.35"));
        assert_eq!(round(d("100"), 2, Rounding::HalfUp).to_string(), "100.00");
    }
}

//! The records of interface `reckon:plugins/types@0.1.0` (spec 07 §3), shared by every world,
//! plus small conveniences on them.
//!
//! Field names are the WIT names in snake_case (`postal-code` → `postal_code`); `decimal` and
//! `date` are `String`s — the aliases [`Decimal`](type@Decimal) and [`Date`] here are WIT's, not
//! [`crate::Decimal`] — (parse them with [`crate::decimal::parse_decimal`] and
//! [`crate::date::parse_date`]).

use alloc::string::String;

use crate::decimal::parse_decimal;
use crate::money::{self, Rounding};

pub use crate::bindings::reckon::plugins::types::*;

impl Money {
    /// Money of `amount` in `currency`, rounded half-up to the currency's minor units and written
    /// with exactly that many decimals (`"1.50"` USD, `"18"` JPY), as spec 07 §4 V3 requires.
    pub fn from_decimal(amount: rust_decimal::Decimal, currency: &str) -> Money {
        Money {
            amount: money::format_money(amount, currency, Rounding::HalfUp),
            currency: String::from(currency),
        }
    }

    /// Zero in `currency` (`"0.00"` USD, `"0"` JPY).
    pub fn zero(currency: &str) -> Money {
        Money::from_decimal(rust_decimal::Decimal::ZERO, currency)
    }

    /// The amount as a [`crate::Decimal`]; a malformed amount is the plugin error `bad_decimal`.
    pub fn decimal(&self) -> Result<rust_decimal::Decimal, PluginError> {
        parse_decimal(&self.amount)
    }
}

/// The value of `key` in `attributes` (keys are unique and sorted, spec 07 §3), if present.
pub fn attribute<'a>(attributes: &'a [Attribute], key: &str) -> Option<&'a str> {
    match attributes.binary_search_by(|a| a.key.as_str().cmp(key)) {
        Ok(i) => Some(attributes[i].value.as_str()),
        // Tolerate unsorted input: fall back to a scan.
        Err(_) => attributes
            .iter()
            .find(|a| a.key == key)
            .map(|a| a.value.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn attr(key: &str, value: &str) -> Attribute {
        Attribute {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn money_is_written_in_minor_units() {
        let d = |s: &str| parse_decimal(s).unwrap();
        assert_eq!(Money::from_decimal(d("1.5"), "USD").amount, "1.50");
        assert_eq!(Money::from_decimal(d("17.5"), "JPY").amount, "18");
        assert_eq!(Money::from_decimal(d("1.0005"), "KWD").amount, "1.001");
        assert_eq!(Money::zero("USD").amount, "0.00");
        assert_eq!(Money::zero("JPY").amount, "0");
        assert_eq!(Money::zero("EUR").currency, "EUR");
        assert_eq!(
            Money::from_decimal(d("-2.345"), "USD").decimal().unwrap(),
            d("-2.35")
        );
    }

    #[test]
    fn attribute_lookup() {
        let attrs = vec![attr("region", "west"), attr("segment", "enterprise")];
        assert_eq!(attribute(&attrs, "segment"), Some("enterprise"));
        assert_eq!(attribute(&attrs, "region"), Some("west"));
        assert_eq!(attribute(&attrs, "tier"), None);
        let unsorted = vec![attr("z", "1"), attr("a", "2")];
        assert_eq!(attribute(&unsorted, "a"), Some("2"));
        assert_eq!(attribute(&[], "a"), None);
    }
}

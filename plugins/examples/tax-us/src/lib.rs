//! `tax-us`: an example tax calculator with embedded, **illustrative (not authoritative)** US
//! sales-tax rates (spec 07 §10).
//!
//! Per line:
//! - `taxable: false` or `exempt: true` → tax 0, no breakups (spec 07 §4).
//! - The tax address is the line's `ship_to`, else the invoice's `bill_to`. A country other than
//!   the US → tax 0, no breakups; an absent country counts as the US.
//! - The rates are chosen by the address's 5-digit postal code (`94105` or ZIP+4 `94105-1234`); a
//!   US address with no known code is the plugin error `unknown_postal_code`.
//! - Tax-exclusive: each breakup is `round_half_up(amount × rate / 100)` in minor units and the
//!   line tax is the sum of the breakups.
//! - Tax-inclusive (04 §5.2 step 4): `net = round_half_up(amount / (1 + Σrate / 100))`, line tax
//!   `= amount − net`, split over the breakups pro rata to their rates by largest remainder (ties
//!   to the earlier level), so the breakups sum to the line tax exactly.

#![no_std]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;

use reckon_plugin_sdk::decimal::{format_decimal, parse_decimal};
use reckon_plugin_sdk::money;
use reckon_plugin_sdk::tax::{
    Address, JurisdictionLevel, Line, LineTax, Money, PluginError, TaxBreakup, TaxCalculator,
    TaxRequest,
};
use reckon_plugin_sdk::{Decimal, Rounding};

/// One tax component of a jurisdiction.
struct Rate {
    level: JurisdictionLevel,
    name: &'static str,
    /// Percent, as 04 `tax_rates` (`6.25` = 6.25 %).
    rate: &'static str,
}

/// The rates that apply at one 5-digit postal code, in level order.
struct Jurisdiction {
    postal_code: &'static str,
    rates: &'static [Rate],
}

const fn rate(level: JurisdictionLevel, name: &'static str, rate: &'static str) -> Rate {
    Rate { level, name, rate }
}

use JurisdictionLevel::{City, County, District, State};

/// Illustrative rates (not authoritative), sorted by postal code.
static JURISDICTIONS: &[Jurisdiction] = &[
    Jurisdiction {
        postal_code: "10001", // New York, NY
        rates: &[
            rate(State, "NY State", "4"),
            rate(City, "New York City", "4.5"),
            rate(
                District,
                "Metropolitan Commuter Transportation District",
                "0.375",
            ),
        ],
    },
    Jurisdiction {
        postal_code: "12207", // Albany, NY
        rates: &[
            rate(State, "NY State", "4"),
            rate(County, "Albany County", "4"),
        ],
    },
    Jurisdiction {
        postal_code: "14604", // Rochester, NY
        rates: &[
            rate(State, "NY State", "4"),
            rate(County, "Monroe County", "4"),
        ],
    },
    Jurisdiction {
        postal_code: "60601", // Chicago, IL
        rates: &[
            rate(State, "IL State", "6.25"),
            rate(County, "Cook County", "1.75"),
            rate(City, "Chicago City", "2.25"),
        ],
    },
    Jurisdiction {
        postal_code: "62701", // Springfield, IL
        rates: &[
            rate(State, "IL State", "6.25"),
            rate(County, "Sangamon County", "1"),
            rate(City, "Springfield City", "2.5"),
        ],
    },
    Jurisdiction {
        postal_code: "75201", // Dallas, TX
        rates: &[
            rate(State, "TX State", "6.25"),
            rate(City, "Dallas City", "1"),
            rate(District, "Dallas Area Rapid Transit", "1"),
        ],
    },
    Jurisdiction {
        postal_code: "77002", // Houston, TX
        rates: &[
            rate(State, "TX State", "6.25"),
            rate(City, "Houston City", "1"),
            rate(District, "Houston METRO", "1"),
        ],
    },
    Jurisdiction {
        postal_code: "78701", // Austin, TX
        rates: &[
            rate(State, "TX State", "6.25"),
            rate(City, "Austin City", "1"),
            rate(District, "Capital Metro", "1"),
        ],
    },
    Jurisdiction {
        postal_code: "90012", // Los Angeles, CA
        rates: &[
            rate(State, "CA State", "6"),
            rate(County, "Los Angeles County", "0.25"),
            rate(City, "Los Angeles City", "3.25"),
        ],
    },
    Jurisdiction {
        postal_code: "94105", // San Francisco, CA
        rates: &[
            rate(State, "CA State", "6"),
            rate(County, "San Francisco County", "0.25"),
            rate(City, "San Francisco City", "2.375"),
        ],
    },
    Jurisdiction {
        postal_code: "95814", // Sacramento, CA
        rates: &[
            rate(State, "CA State", "6"),
            rate(County, "Sacramento County", "0.25"),
            rate(City, "Sacramento City", "2.5"),
        ],
    },
    Jurisdiction {
        postal_code: "98101", // Seattle, WA
        rates: &[
            rate(State, "WA State", "6.5"),
            rate(County, "King County", "0.2"),
            rate(City, "Seattle City", "3.55"),
        ],
    },
    Jurisdiction {
        postal_code: "99201", // Spokane, WA
        rates: &[
            rate(State, "WA State", "6.5"),
            rate(County, "Spokane County", "0.1"),
            rate(City, "Spokane City", "2.4"),
        ],
    },
];

/// The plugin.
pub struct TaxUs;

/// What one call computes once, not once per line: the currency's minor units and its zero, and
/// each jurisdiction's rates parsed to decimals (on first use).
struct Call<'a> {
    currency: &'a str,
    scale: u32,
    zero: Money,
    percents: Vec<Option<Vec<Decimal>>>,
}

impl<'a> Call<'a> {
    fn new(currency: &'a str) -> Self {
        let scale = money::minor_units(currency);
        Call {
            currency,
            scale,
            zero: Money {
                amount: format_decimal(money::round(Decimal::ZERO, scale, Rounding::HalfUp)),
                currency: currency.into(),
            },
            percents: alloc::vec![None; JURISDICTIONS.len()],
        }
    }

    /// `value` (already in minor units) as money of the invoice currency.
    fn money(&self, value: Decimal) -> Money {
        Money {
            amount: format_decimal(value),
            currency: self.currency.into(),
        }
    }

    fn round(&self, value: Decimal) -> Decimal {
        money::round(value, self.scale, Rounding::HalfUp)
    }

    fn percents(&mut self, index: usize) -> Result<&[Decimal], PluginError> {
        if self.percents[index].is_none() {
            let parsed = JURISDICTIONS[index]
                .rates
                .iter()
                .map(|r| parse_decimal(r.rate))
                .collect::<Result<Vec<Decimal>, _>>()?;
            self.percents[index] = Some(parsed);
        }
        Ok(self.percents[index].as_deref().unwrap_or(&[]))
    }
}

impl TaxCalculator for TaxUs {
    fn calculate_tax(request: TaxRequest) -> Result<Vec<LineTax>, PluginError> {
        let invoice = &request.invoice;
        let mut call = Call::new(&invoice.currency);
        let mut taxes = Vec::with_capacity(invoice.lines.len());
        for line in &invoice.lines {
            taxes.push(line_tax(&mut call, line, invoice.bill_to.as_ref())?);
        }
        reckon_plugin_sdk::debug!("tax-us: {} lines on {}", taxes.len(), invoice.id);
        Ok(taxes)
    }
}

reckon_plugin_sdk::export_tax!(TaxUs);

fn untaxed(call: &Call<'_>, line: &Line) -> LineTax {
    LineTax {
        line_id: line.id.clone(),
        tax: call.zero.clone(),
        breakups: Vec::new(),
    }
}

/// Whether `country` names the United States.
fn is_us(country: &str) -> bool {
    ["US", "USA", "United States", "United States of America"]
        .iter()
        .any(|us| us.eq_ignore_ascii_case(country.trim()))
}

/// The 5-digit code of a US postal code (`94105`, `94105-1234`).
fn five_digits(postal_code: &str) -> Option<&str> {
    let code = postal_code.trim();
    let five = code.get(..5)?;
    let rest = &code[5..];
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let zip4 = rest.is_empty() || (rest.len() == 5 && rest.starts_with('-') && digits(&rest[1..]));
    (digits(five) && zip4).then_some(five)
}

/// The index in [`JURISDICTIONS`] of an address's postal code.
fn jurisdiction(address: &Address) -> Result<usize, PluginError> {
    let given = address.postal_code.as_deref().unwrap_or("");
    five_digits(given)
        .and_then(|five| {
            JURISDICTIONS
                .binary_search_by(|j| j.postal_code.cmp(five))
                .ok()
        })
        .ok_or_else(|| {
            PluginError::new(
                "unknown_postal_code",
                format!("no tax rates for US postal code \"{given}\""),
            )
        })
}

fn line_tax(
    call: &mut Call<'_>,
    line: &Line,
    bill_to: Option<&Address>,
) -> Result<LineTax, PluginError> {
    if !line.taxable || line.exempt {
        return Ok(untaxed(call, line));
    }
    let Some(address) = line.ship_to.as_ref().or(bill_to) else {
        return Err(PluginError::new(
            "missing_address",
            format!(
                "line {} has no ship-to and the invoice no bill-to address",
                line.id
            ),
        ));
    };
    if address.country.as_deref().is_some_and(|c| !is_us(c)) {
        return Ok(untaxed(call, line));
    }
    let index = jurisdiction(address)?;
    let rates = JURISDICTIONS[index].rates;
    let amount = parse_decimal(&line.amount.amount)?;
    let (currency, scale) = (call.currency, call.scale);
    let percents = call.percents(index)?;
    let parts: Vec<Decimal> = if line.tax_inclusive {
        let total_rate: Decimal = percents.iter().copied().sum();
        let net = money::round(
            amount / (Decimal::ONE + total_rate / Decimal::ONE_HUNDRED),
            scale,
            Rounding::HalfUp,
        );
        money::allocate(amount - net, percents, currency)?
    } else {
        percents
            .iter()
            .map(|p| money::round(percent_of(amount, *p), scale, Rounding::HalfUp))
            .collect()
    };
    let tax: Decimal = parts.iter().copied().sum();
    Ok(LineTax {
        line_id: line.id.clone(),
        tax: call.money(call.round(tax)),
        breakups: rates
            .iter()
            .zip(parts)
            .map(|(r, part)| TaxBreakup {
                level: r.level,
                name: r.name.into(),
                rate: r.rate.into(),
                tax: call.money(part),
            })
            .collect(),
    })
}

/// `amount × percent / 100`, exact: the division by 100 is a shift of the scale when the
/// product leaves room for it (always, for money amounts), else a decimal division.
fn percent_of(amount: Decimal, percent: Decimal) -> Decimal {
    let product = amount * percent;
    let mut shifted = product;
    if shifted.set_scale(product.scale() + 2).is_ok() {
        return shifted;
    }
    product / Decimal::ONE_HUNDRED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_well_formed() {
        assert!(JURISDICTIONS
            .windows(2)
            .all(|w| w[0].postal_code < w[1].postal_code));
        for j in JURISDICTIONS {
            assert_eq!(five_digits(j.postal_code), Some(j.postal_code));
            for r in j.rates {
                let p = parse_decimal(r.rate).unwrap();
                assert!(p > Decimal::ZERO && p <= Decimal::ONE_HUNDRED);
            }
        }
    }

    #[test]
    fn percent_of_equals_the_division() {
        for (a, p) in [("100.00", "2.375"), ("-33.33", "6.25"), ("0.01", "0.1"), ("12345678.91", "4.5")] {
            let (a, p) = (parse_decimal(a).unwrap(), parse_decimal(p).unwrap());
            assert_eq!(percent_of(a, p), a * p / Decimal::ONE_HUNDRED);
        }
    }

    #[test]
    fn postal_codes_and_countries() {
        assert_eq!(five_digits("94105"), Some("94105"));
        assert_eq!(five_digits("94105-1234"), Some("94105"));
        assert_eq!(five_digits("9410"), None);
        assert_eq!(five_digits("94105-12"), None);
        assert_eq!(five_digits("SW1A 1AA"), None);
        assert!(is_us("US") && is_us("usa") && is_us("United States"));
        assert!(!is_us("DE") && !is_us("Brazil"));
    }
}

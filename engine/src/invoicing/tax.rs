//! The built-in tax calculator (04 §5.1–§5.3): rate lookup, per-line and per-invoice rounding,
//! inclusive lines, break-ups, exemptions, and the checks of the `tax_rates` table.
//!
//! All arithmetic is exact decimal; only the final amounts are rounded to the currency's minor
//! unit with the account's rounding mode.

use super::model::{ExemptStatus, TaxExempt, TaxLevel, TaxLevelPref, TaxRate, TaxRounding};
use super::InvoicingError;
use crate::error::Code;
use crate::model::Location;
use crate::money::{round, Rounding};
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;
use std::collections::BTreeMap;

/// The jurisdiction a line is taxed in (§5.2 step 1: the order's location, else the bill-to
/// account's first location).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct TaxLocation {
    /// The location id, used in messages.
    pub id: Option<String>,
    /// Country.
    pub country: Option<String>,
    /// Region (state, province).
    pub region: Option<String>,
    /// City.
    pub city: Option<String>,
    /// Postal code.
    pub postal_code: Option<String>,
}

impl TaxLocation {
    /// The tax location of an account location (its address keys are kept in `extra`).
    pub fn of(location: &Location) -> Self {
        let text = |k: &str| match location.extra.get(k) {
            Some(serde_yaml::Value::String(s)) => Some(s.clone()),
            Some(serde_yaml::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        TaxLocation {
            id: Some(location.id.clone()),
            country: text("country"),
            region: text("region"),
            city: text("city"),
            postal_code: text("postal_code"),
        }
    }

    /// How the location is named in messages: its id, else its address parts.
    pub fn describe(&self) -> String {
        if let Some(id) = &self.id {
            return id.clone();
        }
        let parts: Vec<&str> = [&self.country, &self.region, &self.city, &self.postal_code]
            .into_iter()
            .filter_map(|p| p.as_deref())
            .collect();
        if parts.is_empty() {
            "no location".into()
        } else {
            parts.join(", ")
        }
    }
}

/// One line handed to the calculator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxLine {
    /// Line number (1-based; ties in allocation go to the lower `n`).
    pub n: u32,
    /// The amount as charged (negative for credit lines), in the currency's minor unit.
    pub amount: Decimal,
    /// The product's tax code.
    pub tax_code: Option<String>,
    /// `product.taxable`.
    pub taxable: bool,
    /// `product.tax_inclusive`: `amount` includes the tax.
    pub inclusive: bool,
    /// Exempt (§5.3, see [`is_exempt`]).
    pub exempt: bool,
}

/// A tax component of a line, or an invoice break-up (the sum of components per level, name and
/// rate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaxComponent {
    /// Break-up level.
    pub level: TaxLevel,
    /// Break-up name.
    pub name: String,
    /// Percent.
    pub rate: Decimal,
    /// Tax amount.
    pub amount: Decimal,
}

/// The calculator's result for one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineTax {
    /// Line number.
    pub n: u32,
    /// Net amount (the amount for exclusive lines, `round(amount / (1 + r))` for inclusive ones).
    pub net: Decimal,
    /// Line tax; `net + tax` is the line total.
    pub tax: Decimal,
    /// Components in level order, summing to `tax` (empty when untaxed or exempt).
    pub components: Vec<TaxComponent>,
}

/// The calculator's result for one invoice or credit memo.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InvoiceTax {
    /// Per line, in input order.
    pub lines: Vec<LineTax>,
    /// Header tax = Σ line taxes.
    pub tax: Decimal,
    /// Σ of line components per (level, name, rate), in that order.
    pub tax_breakups: Vec<TaxComponent>,
}

/// What the calculator needs besides the rate table.
#[derive(Debug, Clone, Copy)]
pub struct TaxRequest<'a> {
    /// The tax location.
    pub location: &'a TaxLocation,
    /// The invoice date (a credit memo's date).
    pub date: NaiveDate,
    /// The currency's minor units ([`crate::money::minor_units`]).
    pub scale: u32,
    /// The bill-to account's rounding mode.
    pub rounding: Rounding,
    /// `system.tax_rounding`.
    pub tax_rounding: TaxRounding,
    /// The lines.
    pub lines: &'a [TaxLine],
}

fn same_text(row: &Option<String>, loc: &Option<String>) -> bool {
    match (row, loc) {
        (None, _) => true,
        (Some(r), Some(l)) => r.to_lowercase() == l.to_lowercase(),
        (Some(_), None) => false,
    }
}

/// Whether a row's jurisdiction covers the location (unset keys match anything; text compares
/// case-insensitively).
pub fn covers(rate: &TaxRate, location: &TaxLocation) -> bool {
    same_text(&rate.country, &location.country)
        && same_text(&rate.region, &location.region)
        && same_text(&rate.city, &location.city)
        && same_text(&rate.postal_code, &location.postal_code)
}

/// The rows matching tax code, location and date (§5.2 step 3), in level order, then name.
pub fn matching_rates<'a>(
    rates: &'a [TaxRate],
    tax_code: &str,
    location: &TaxLocation,
    date: NaiveDate,
) -> Vec<&'a TaxRate> {
    let mut out: Vec<&TaxRate> = rates
        .iter()
        .filter(|r| {
            r.tax_code.iter().any(|c| c == tax_code) && covers(r, location) && r.in_force(date)
        })
        .collect();
    out.sort_by(|a, b| {
        (a.level, a.display_name(), a.rate).cmp(&(b.level, b.display_name(), b.rate))
    });
    out
}

/// A zero without a minus sign, at `scale` decimals.
fn at_scale(mut x: Decimal, scale: u32) -> Decimal {
    if x.is_zero() {
        x.set_sign_positive(true);
    }
    x.rescale(scale);
    x
}

/// Allocate `total` (already at `scale`) over shares whose exact values are `shares`, by largest
/// remainder: every share starts at its value truncated toward zero, and the units still missing
/// go one each to the shares with the largest remainders in the direction needed (ties to the
/// earlier share). When `total` is the rounded sum of the shares, every result has the sign of its
/// share (or is 0) and differs from it by less than one unit; the results always sum to `total`.
pub fn allocate(total: Decimal, shares: &[Decimal], scale: u32) -> Vec<Decimal> {
    if shares.is_empty() {
        return Vec::new();
    }
    let unit = Decimal::new(1, scale);
    let mut out: Vec<Decimal> = shares
        .iter()
        .map(|s| s.round_dp_with_strategy(scale, RoundingStrategy::ToZero))
        .collect();
    let rest = total - out.iter().copied().sum::<Decimal>();
    let units = (rest / unit).trunc();
    let up = units.is_sign_positive();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    // Remainders in the direction of the missing units, largest first; ties to the lower index.
    order.sort_by(|&a, &b| {
        let (ra, rb) = (shares[a] - out[a], shares[b] - out[b]);
        let ord = if up { rb.cmp(&ra) } else { ra.cmp(&rb) };
        ord.then(a.cmp(&b))
    });
    let step = if up { unit } else { -unit };
    // Normally fewer units than shares are missing; more (a `total` far from the shares' sum)
    // go round the shares in whole rounds first.
    let len = Decimal::from(order.len());
    let (rounds, extra) = ((units.abs() / len).trunc(), units.abs() % len);
    for (k, &i) in order.iter().enumerate() {
        let mut add = rounds;
        if Decimal::from(k) < extra {
            add += Decimal::ONE;
        }
        out[i] += step * add;
    }
    out.into_iter().map(|x| at_scale(x, scale)).collect()
}

/// Split a line's tax over its components pro rata to their rates by largest remainder, ties in
/// level order (the rates are already in level order).
fn split_components(tax: Decimal, rates: &[&TaxRate], scale: u32) -> Vec<TaxComponent> {
    let sum: Decimal = rates.iter().map(|r| r.rate).sum();
    let shares: Vec<Decimal> = rates
        .iter()
        .map(|r| {
            if sum.is_zero() {
                Decimal::ZERO
            } else {
                tax * r.rate / sum
            }
        })
        .collect();
    let amounts = if sum.is_zero() {
        vec![at_scale(Decimal::ZERO, scale); rates.len()]
    } else {
        allocate(tax, &shares, scale)
    };
    rates
        .iter()
        .zip(amounts)
        .map(|(r, amount)| TaxComponent {
            level: r.level,
            name: r.display_name().to_string(),
            rate: r.rate,
            amount,
        })
        .collect()
}

/// Calculate the tax of an invoice or credit memo with the built-in table (§5.2).
///
/// Untaxed and exempt lines get tax 0 and no components. A taxable line with no matching row →
/// `tax_calculation_error` "no tax rate for CODE at LOCATION". Inclusive lines are always rounded
/// per line; exclusive lines per `tax_rounding` — `per_invoice` rounds the invoice's sum of
/// unrounded taxes once and allocates it over the lines by largest remainder (ties → lower `n`).
pub fn calculate(rates: &[TaxRate], req: &TaxRequest<'_>) -> Result<InvoiceTax, InvoicingError> {
    let (scale, mode) = (req.scale, req.rounding);
    let hundred = Decimal::ONE_HUNDRED;
    // Keeps every product and sum far inside Decimal's range (≈ 7.9 × 10^28).
    let max_amount = Decimal::from(10u64.pow(18));
    // Per line: matched rows and, for exclusive lines, the unrounded tax.
    let mut matched: Vec<Vec<&TaxRate>> = Vec::with_capacity(req.lines.len());
    for (i, line) in req.lines.iter().enumerate() {
        if !line.taxable || line.exempt {
            matched.push(Vec::new());
            continue;
        }
        let code = line.tax_code.as_deref().unwrap_or("");
        let rows = matching_rates(rates, code, req.location, req.date);
        if rows.is_empty() {
            let shown = if code.is_empty() {
                "(no tax code)"
            } else {
                code
            };
            return Err(InvoicingError::new(
                Code::TaxCalculationError,
                format!("lines[{i}]"),
                format!("no tax rate for {shown} at {}", req.location.describe()),
            ));
        }
        if let Some(r) = rows
            .iter()
            .find(|r| r.rate < Decimal::ZERO || r.rate > hundred)
        {
            return Err(InvoicingError::new(
                Code::TaxCalculationError,
                format!("lines[{i}]"),
                format!("tax rate {} of {} is not 0–100", r.rate, r.display_name()),
            ));
        }
        if line.amount.abs() > max_amount {
            return Err(InvoicingError::new(
                Code::TaxCalculationError,
                format!("lines[{i}]"),
                format!("amount {} is too large to tax", line.amount),
            ));
        }
        matched.push(rows);
    }
    let unrounded = |line: &TaxLine, rows: &[&TaxRate]| -> Decimal {
        rows.iter().map(|r| line.amount * r.rate / hundred).sum()
    };
    let mut taxes: Vec<Decimal> = vec![at_scale(Decimal::ZERO, scale); req.lines.len()];
    let mut nets: Vec<Decimal> = req.lines.iter().map(|l| l.amount).collect();
    // Exclusive taxed lines, by line number for the allocation's tie-break.
    let mut exclusive: Vec<usize> = (0..req.lines.len())
        .filter(|&i| !matched[i].is_empty() && !req.lines[i].inclusive)
        .collect();
    exclusive.sort_by_key(|&i| (req.lines[i].n, i));
    for (i, line) in req.lines.iter().enumerate() {
        let rows = &matched[i];
        if rows.is_empty() {
            continue;
        }
        if line.inclusive {
            let r: Decimal = rows.iter().map(|r| r.rate).sum::<Decimal>() / hundred;
            let net = round(line.amount / (Decimal::ONE + r), scale, mode);
            nets[i] = net;
            taxes[i] = at_scale(line.amount - net, scale);
        } else if req.tax_rounding == TaxRounding::PerLine {
            taxes[i] = at_scale(round(unrounded(line, rows), scale, mode), scale);
        }
    }
    if req.tax_rounding == TaxRounding::PerInvoice && !exclusive.is_empty() {
        let shares: Vec<Decimal> = exclusive
            .iter()
            .map(|&i| unrounded(&req.lines[i], &matched[i]))
            .collect();
        let header = round(shares.iter().copied().sum(), scale, mode);
        for (&i, t) in exclusive.iter().zip(allocate(header, &shares, scale)) {
            taxes[i] = t;
        }
    }
    let mut breakups: BTreeMap<(TaxLevel, String, Decimal), Decimal> = BTreeMap::new();
    let mut lines = Vec::with_capacity(req.lines.len());
    for (i, line) in req.lines.iter().enumerate() {
        let components = if matched[i].is_empty() {
            Vec::new()
        } else {
            split_components(taxes[i], &matched[i], scale)
        };
        for c in &components {
            *breakups
                .entry((c.level, c.name.clone(), c.rate))
                .or_insert(Decimal::ZERO) += c.amount;
        }
        lines.push(LineTax {
            n: line.n,
            net: at_scale(nets[i], scale),
            tax: taxes[i],
            components,
        });
    }
    let tax = at_scale(lines.iter().map(|l| l.tax).sum(), scale);
    Ok(InvoiceTax {
        lines,
        tax,
        tax_breakups: breakups
            .into_iter()
            .map(|((level, name, rate), amount)| TaxComponent {
                level,
                name,
                rate,
                amount: at_scale(amount, scale),
            })
            .collect(),
    })
}

/// The exemption that applies (§5.3): the tax location's `tax_exempt` if it has one, else the
/// bill-to account's.
pub fn applicable_exemption<'a>(
    location: Option<&'a TaxExempt>,
    account: Option<&'a TaxExempt>,
) -> Option<&'a TaxExempt> {
    location.or(account)
}

/// Whether `exemption` exempts a line with `tax_code` on `date` (§5.3): `status: approved`,
/// `effective ≤ date ≤ expires` (open ends when absent), and under `tax_level: product` the line's
/// code is in `tax_codes` (no `tax_codes` = every code).
pub fn is_exempt(
    exemption: &TaxExempt,
    date: NaiveDate,
    tax_level: TaxLevelPref,
    tax_code: Option<&str>,
) -> bool {
    let in_force = exemption.status == ExemptStatus::Approved
        && exemption.effective.is_none_or(|e| e <= date)
        && exemption.expires.is_none_or(|x| date <= x);
    in_force
        && match (tax_level, &exemption.tax_codes) {
            (TaxLevelPref::Account, _) | (TaxLevelPref::Product, None) => true,
            (TaxLevelPref::Product, Some(codes)) => {
                tax_code.is_some_and(|c| codes.iter().any(|x| x == c))
            }
        }
}

/// The checks of the `tax_rates` table: `bad_tax_rate` (rate outside 0–100, `expires` before
/// `effective`, an empty tax code) and `overlapping_tax_rates` (two rows sharing a tax code with
/// the same jurisdiction, level and name — compared case-insensitively — whose periods overlap;
/// reported on the later row, naming the earlier one in `other`). Errors carry the row index.
pub fn check_rates(rates: &[TaxRate]) -> Result<(), Vec<InvoicingError>> {
    let mut out = Vec::new();
    for (i, r) in rates.iter().enumerate() {
        if r.rate < Decimal::ZERO || r.rate > Decimal::ONE_HUNDRED {
            out.push(
                InvoicingError::new(
                    Code::BadTaxRate,
                    "rate",
                    format!("rate {} is not a percent 0–100", r.rate),
                )
                .at_row(i),
            );
        }
        if let (Some(e), Some(x)) = (r.effective, r.expires) {
            if x < e {
                out.push(
                    InvoicingError::new(
                        Code::BadTaxRate,
                        "expires",
                        format!("expires {x} is before effective {e}"),
                    )
                    .at_row(i),
                );
            }
        }
        if r.tax_code.is_empty() || r.tax_code.iter().any(|c| c.trim().is_empty()) {
            out.push(
                InvoicingError::new(Code::BadTaxRate, "tax_code", "an empty tax code").at_row(i),
            );
        }
    }
    let key = |r: &TaxRate| {
        let l = |o: &Option<String>| o.as_ref().map(|s| s.to_lowercase());
        (
            l(&r.country),
            l(&r.region),
            l(&r.city),
            l(&r.postal_code),
            r.level,
            r.display_name().to_lowercase(),
        )
    };
    for (j, b) in rates.iter().enumerate() {
        for (i, a) in rates.iter().enumerate().take(j) {
            let Some(code) = a.tax_code.iter().find(|c| b.tax_code.contains(c)) else {
                continue;
            };
            let overlap = a.effective.max(b.effective).is_none_or(|start| {
                let end = match (a.expires, b.expires) {
                    (Some(x), Some(y)) => Some(x.min(y)),
                    (x, y) => x.or(y),
                };
                end.is_none_or(|end| start <= end)
            });
            if overlap && key(a) == key(b) {
                out.push(
                    InvoicingError::new(
                        Code::OverlappingTaxRates,
                        "effective",
                        format!(
                            "tax code {code}, level {}, name `{}`: overlaps an earlier row in time",
                            b.level,
                            b.display_name()
                        ),
                    )
                    .at_row(j)
                    .with_other(i),
                );
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
    use std::str::FromStr;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn rate(code: &str, level: TaxLevel, name: &str, pct: &str) -> TaxRate {
        TaxRate {
            tax_code: vec![code.into()],
            country: Some("US".into()),
            region: Some("CA".into()),
            city: None,
            postal_code: None,
            level,
            name: Some(name.into()),
            rate: dec(pct),
            effective: None,
            expires: None,
        }
    }

    /// 6.25 (state) + 1.00 (county) + 1.50 (city), as in TAX-EXCL / TAX-INCL.
    fn ca_rates() -> Vec<TaxRate> {
        vec![
            rate("SW", TaxLevel::City, "SF City", "1.50"),
            rate("SW", TaxLevel::State, "CA State", "6.25"),
            rate("SW", TaxLevel::County, "SF County", "1.00"),
        ]
    }

    fn sf() -> TaxLocation {
        TaxLocation {
            id: Some("HQ".into()),
            country: Some("us".into()),
            region: Some("ca".into()),
            city: Some("San Francisco".into()),
            postal_code: Some("94105".into()),
        }
    }

    fn line(n: u32, amount: &str) -> TaxLine {
        TaxLine {
            n,
            amount: dec(amount),
            tax_code: Some("SW".into()),
            taxable: true,
            inclusive: false,
            exempt: false,
        }
    }

    fn run(rates: &[TaxRate], lines: &[TaxLine], tr: TaxRounding) -> InvoiceTax {
        calculate(
            rates,
            &TaxRequest {
                location: &sf(),
                date: d("2016-03-01"),
                scale: 2,
                rounding: Rounding::HalfUp,
                tax_rounding: tr,
                lines,
            },
        )
        .unwrap()
    }

    fn amounts(c: &[TaxComponent]) -> Vec<String> {
        c.iter().map(|c| c.amount.to_string()).collect()
    }

    #[test]
    fn tax_excl() {
        let t = run(&ca_rates(), &[line(1, "100.00")], TaxRounding::PerInvoice);
        assert_eq!(t.tax.to_string(), "8.75");
        let l = &t.lines[0];
        assert_eq!(l.net.to_string(), "100.00");
        assert_eq!(l.tax.to_string(), "8.75");
        assert_eq!((l.net + l.tax).to_string(), "108.75");
        // Level order: state, county, city.
        assert_eq!(amounts(&l.components), ["6.25", "1.00", "1.50"]);
        assert_eq!(
            l.components.iter().map(|c| c.level).collect::<Vec<_>>(),
            [TaxLevel::State, TaxLevel::County, TaxLevel::City]
        );
        assert_eq!(amounts(&t.tax_breakups), ["6.25", "1.00", "1.50"]);
        assert_eq!(t.tax_breakups[0].name, "CA State");
        assert_eq!(t.tax_breakups[0].rate, dec("6.25"));
    }

    #[test]
    fn tax_incl() {
        let mut l = line(1, "108.75");
        l.inclusive = true;
        for tr in [TaxRounding::PerInvoice, TaxRounding::PerLine] {
            let t = run(&ca_rates(), std::slice::from_ref(&l), tr);
            assert_eq!(t.lines[0].net.to_string(), "100.00");
            assert_eq!(t.lines[0].tax.to_string(), "8.75");
            assert_eq!(t.tax.to_string(), "8.75");
            assert_eq!(amounts(&t.lines[0].components), ["6.25", "1.00", "1.50"]);
        }
    }

    #[test]
    fn tax_round() {
        let rates = vec![rate("SW", TaxLevel::State, "S", "7.5")];
        let lines = [line(1, "0.10"), line(2, "0.10"), line(3, "0.10")];
        let t = run(&rates, &lines, TaxRounding::PerInvoice);
        assert_eq!(t.tax.to_string(), "0.02");
        let per: Vec<String> = t.lines.iter().map(|l| l.tax.to_string()).collect();
        assert_eq!(per, ["0.01", "0.01", "0.00"]);
        let t = run(&rates, &lines, TaxRounding::PerLine);
        assert_eq!(t.tax.to_string(), "0.03");
        // Ties go to the lower n, not the input position.
        let shuffled = [line(3, "0.10"), line(1, "0.10"), line(2, "0.10")];
        let t = run(&rates, &shuffled, TaxRounding::PerInvoice);
        let per: Vec<String> = t.lines.iter().map(|l| l.tax.to_string()).collect();
        assert_eq!(per, ["0.00", "0.01", "0.01"]);
    }

    #[test]
    fn tax_exempt_certificate() {
        let cert = TaxExempt {
            status: ExemptStatus::Approved,
            certificate: Some("C-1".into()),
            effective: Some(d("2016-01-01")),
            expires: Some(d("2016-06-30")),
            tax_codes: None,
        };
        let acct = TaxLevelPref::Account;
        assert!(is_exempt(&cert, d("2016-06-30"), acct, Some("SW")));
        assert!(!is_exempt(&cert, d("2016-07-01"), acct, Some("SW")));
        assert!(is_exempt(&cert, d("2016-01-01"), acct, Some("SW")));
        assert!(!is_exempt(&cert, d("2015-12-31"), acct, Some("SW")));
        let processing = TaxExempt {
            status: ExemptStatus::Processing,
            ..cert.clone()
        };
        assert!(!is_exempt(&processing, d("2016-06-30"), acct, Some("SW")));
        // Exempt line → 0.00, no break-ups; the taxed one → 8.75.
        let mut exempt = line(1, "100.00");
        exempt.exempt = is_exempt(&cert, d("2016-06-30"), acct, Some("SW"));
        let t = run(&ca_rates(), &[exempt], TaxRounding::PerInvoice);
        assert_eq!(t.tax.to_string(), "0.00");
        assert!(t.lines[0].components.is_empty() && t.tax_breakups.is_empty());
        let mut taxed = line(1, "100.00");
        taxed.exempt = is_exempt(&cert, d("2016-07-01"), acct, Some("SW"));
        assert_eq!(
            run(&ca_rates(), &[taxed], TaxRounding::PerInvoice)
                .tax
                .to_string(),
            "8.75"
        );
    }

    #[test]
    fn product_level_exemption_covers_listed_codes() {
        let cert = TaxExempt {
            status: ExemptStatus::Approved,
            certificate: None,
            effective: None,
            expires: None,
            tax_codes: Some(vec!["SW".into()]),
        };
        let p = TaxLevelPref::Product;
        assert!(is_exempt(&cert, d("2016-01-01"), p, Some("SW")));
        assert!(!is_exempt(&cert, d("2016-01-01"), p, Some("HW")));
        assert!(!is_exempt(&cert, d("2016-01-01"), p, None));
        assert!(is_exempt(
            &cert,
            d("2016-01-01"),
            TaxLevelPref::Account,
            Some("HW")
        ));
        let all = TaxExempt {
            tax_codes: None,
            ..cert.clone()
        };
        assert!(is_exempt(&all, d("2016-01-01"), p, Some("HW")));
        let loc = TaxExempt {
            status: ExemptStatus::Rejected,
            ..cert.clone()
        };
        assert_eq!(applicable_exemption(Some(&loc), Some(&cert)), Some(&loc));
        assert_eq!(applicable_exemption(None, Some(&cert)), Some(&cert));
    }

    #[test]
    fn negative_lines_mirror_positive_ones() {
        let rates = vec![rate("SW", TaxLevel::State, "S", "7.5")];
        let t = run(&rates, &[line(1, "-100.00")], TaxRounding::PerInvoice);
        assert_eq!(t.tax.to_string(), "-7.50");
        assert_eq!(t.lines[0].net.to_string(), "-100.00");
        let neg = [line(1, "-0.10"), line(2, "-0.10"), line(3, "-0.10")];
        let t = run(&rates, &neg, TaxRounding::PerInvoice);
        assert_eq!(t.tax.to_string(), "-0.02");
        let per: Vec<String> = t.lines.iter().map(|l| l.tax.to_string()).collect();
        assert_eq!(per, ["-0.01", "-0.01", "0.00"]);
        let mut incl = line(1, "-108.75");
        incl.inclusive = true;
        let t = run(&ca_rates(), &[incl], TaxRounding::PerInvoice);
        assert_eq!(t.lines[0].net.to_string(), "-100.00");
        assert_eq!(amounts(&t.lines[0].components), ["-6.25", "-1.00", "-1.50"]);
    }

    #[test]
    fn untaxed_lines_and_missing_rates() {
        let mut plain = line(1, "50.00");
        plain.taxable = false;
        plain.tax_code = None;
        let t = run(&[], &[plain], TaxRounding::PerInvoice);
        assert_eq!(t.tax.to_string(), "0.00");
        assert_eq!(t.lines[0].net.to_string(), "50.00");
        let mut other = line(2, "10.00");
        other.tax_code = Some("HW".into());
        let e = calculate(
            &ca_rates(),
            &TaxRequest {
                location: &sf(),
                date: d("2016-03-01"),
                scale: 2,
                rounding: Rounding::HalfUp,
                tax_rounding: TaxRounding::PerInvoice,
                lines: &[line(1, "1.00"), other],
            },
        )
        .unwrap_err();
        assert_eq!(e.code, Code::TaxCalculationError);
        assert_eq!(e.message, "no tax rate for HW at HQ");
        // Another country: no row covers it.
        let paris = TaxLocation {
            country: Some("FR".into()),
            ..Default::default()
        };
        let e = calculate(
            &ca_rates(),
            &TaxRequest {
                location: &paris,
                date: d("2016-03-01"),
                scale: 2,
                rounding: Rounding::HalfUp,
                tax_rounding: TaxRounding::PerLine,
                lines: &[line(1, "1.00")],
            },
        )
        .unwrap_err();
        assert_eq!(e.message, "no tax rate for SW at FR");
        let huge = calculate(
            &ca_rates(),
            &TaxRequest {
                location: &sf(),
                date: d("2016-03-01"),
                scale: 2,
                rounding: Rounding::HalfUp,
                tax_rounding: TaxRounding::PerLine,
                lines: &[TaxLine {
                    amount: Decimal::MAX,
                    ..line(1, "0")
                }],
            },
        );
        assert_eq!(huge.unwrap_err().code, Code::TaxCalculationError);
        let mut negative = rate("SW", TaxLevel::State, "S", "0");
        negative.rate = dec("-100");
        let mut incl = line(1, "10.00");
        incl.inclusive = true;
        let bad = calculate(
            &[negative],
            &TaxRequest {
                location: &sf(),
                date: d("2016-03-01"),
                scale: 2,
                rounding: Rounding::HalfUp,
                tax_rounding: TaxRounding::PerLine,
                lines: &[incl],
            },
        );
        assert_eq!(bad.unwrap_err().code, Code::TaxCalculationError);
    }

    #[test]
    fn dates_and_jurisdiction_select_rows() {
        let mut old = rate("SW", TaxLevel::State, "S", "5");
        old.expires = Some(d("2016-02-29"));
        let mut new = rate("SW", TaxLevel::State, "S", "6");
        new.effective = Some(d("2016-03-01"));
        let mut city = rate("SW", TaxLevel::City, "LA", "1");
        city.city = Some("Los Angeles".into());
        let rates = vec![old, new, city];
        let got = matching_rates(&rates, "SW", &sf(), d("2016-03-01"));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].rate, dec("6"));
        assert_eq!(
            matching_rates(&rates, "SW", &sf(), d("2016-02-29"))[0].rate,
            dec("5")
        );
        assert!(check_rates(&rates).is_ok());
    }

    #[test]
    fn zero_decimal_currencies_round_to_units() {
        let rates = vec![rate("SW", TaxLevel::State, "S", "8")];
        let t = calculate(
            &rates,
            &TaxRequest {
                location: &sf(),
                date: d("2016-03-01"),
                scale: 0,
                rounding: Rounding::HalfUp,
                tax_rounding: TaxRounding::PerLine,
                lines: &[TaxLine {
                    amount: dec("1050"),
                    ..line(1, "0")
                }],
            },
        )
        .unwrap();
        assert_eq!(t.tax.to_string(), "84");
    }

    #[test]
    fn rate_table_checks() {
        let mut a = rate("SW", TaxLevel::State, "CA State", "6.25");
        a.expires = Some(d("2016-06-30"));
        let mut b = rate("SW", TaxLevel::State, "ca state", "7");
        b.effective = Some(d("2016-06-30"));
        let e = check_rates(&[a.clone(), b.clone()]).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].code, e[0].row, e[0].other),
            (Code::OverlappingTaxRates, Some(1), Some(0))
        );
        b.effective = Some(d("2016-07-01"));
        assert!(check_rates(&[a.clone(), b.clone()]).is_ok());
        // Same period but another level, name, code or jurisdiction: no overlap.
        let c = rate("HW", TaxLevel::State, "CA State", "6.25");
        let county = rate("SW", TaxLevel::County, "CA State", "1");
        let mut ny = rate("SW", TaxLevel::State, "CA State", "4");
        ny.region = Some("NY".into());
        assert!(check_rates(&[a.clone(), c, county, ny]).is_ok());
        // A list code overlapping on one shared code.
        let mut multi = rate("HW", TaxLevel::State, "CA State", "6.25");
        multi.tax_code.push("SW".into());
        assert_eq!(
            check_rates(&[a.clone(), multi]).unwrap_err()[0].code,
            Code::OverlappingTaxRates
        );
        let mut bad = rate("SW", TaxLevel::State, "S", "101");
        bad.effective = Some(d("2016-02-01"));
        bad.expires = Some(d("2016-01-01"));
        bad.tax_code = vec![String::new()];
        let e = check_rates(&[bad]).unwrap_err();
        assert_eq!(e.len(), 3);
        assert!(e.iter().all(|e| e.code == Code::BadTaxRate));
    }

    #[test]
    fn allocation_by_largest_remainder() {
        let v = allocate(
            dec("0.02"),
            &[dec("0.0075"), dec("0.0075"), dec("0.0075")],
            2,
        );
        assert_eq!(v, [dec("0.01"), dec("0.01"), dec("0.00")]);
        let v = allocate(dec("1.00"), &[dec("0.333"), dec("0.333"), dec("0.334")], 2);
        assert_eq!(v, [dec("0.33"), dec("0.33"), dec("0.34")]);
        assert!(allocate(dec("1"), &[], 2).is_empty());
        // A total far from the shares still sums exactly, in whole rounds.
        let v = allocate(dec("1000000000.05"), &[dec("0"), dec("0.004")], 2);
        assert_eq!(v.iter().copied().sum::<Decimal>(), dec("1000000000.05"));
        assert_eq!(v, [dec("500000000.02"), dec("500000000.03")]);
    }

    /// A small deterministic generator (no dependency, no floats).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, m: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % m
        }
    }

    #[test]
    fn lines_always_sum_to_the_header() {
        let levels = [
            TaxLevel::Country,
            TaxLevel::State,
            TaxLevel::County,
            TaxLevel::City,
            TaxLevel::District,
        ];
        let mut g = Lcg(7);
        for case in 0..400 {
            let rates: Vec<TaxRate> = (0..1 + g.next(4))
                .map(|k| {
                    rate(
                        "SW",
                        levels[k as usize],
                        &format!("R{k}"),
                        &Decimal::new(g.next(20_000) as i64, 3).to_string(),
                    )
                })
                .collect();
            let scale = [0u32, 2, 3][g.next(3) as usize];
            let lines: Vec<TaxLine> = (0..1 + g.next(8))
                .map(|n| TaxLine {
                    n: n as u32 + 1,
                    amount: Decimal::new(g.next(2_000_001) as i64 - 1_000_000, scale),
                    tax_code: Some("SW".into()),
                    taxable: g.next(5) > 0,
                    inclusive: g.next(3) == 0,
                    exempt: g.next(7) == 0,
                })
                .collect();
            for tr in [TaxRounding::PerInvoice, TaxRounding::PerLine] {
                let t = calculate(
                    &rates,
                    &TaxRequest {
                        location: &sf(),
                        date: d("2016-03-01"),
                        scale,
                        rounding: Rounding::HalfEven,
                        tax_rounding: tr,
                        lines: &lines,
                    },
                )
                .unwrap();
                let sum: Decimal = t.lines.iter().map(|l| l.tax).sum();
                assert_eq!(sum, t.tax, "case {case}");
                let b: Decimal = t.tax_breakups.iter().map(|b| b.amount).sum();
                assert_eq!(b, t.tax, "case {case} break-ups");
                let unit = Decimal::new(1, scale);
                let mut exclusive_exact = Decimal::ZERO;
                for (l, inp) in t.lines.iter().zip(&lines) {
                    let c: Decimal = l.components.iter().map(|c| c.amount).sum();
                    assert_eq!(c, l.tax, "case {case} components");
                    assert!(
                        l.tax.is_zero()
                            || l.tax.is_sign_negative() == inp.amount.is_sign_negative(),
                        "case {case}: tax sign"
                    );
                    for c in &l.components {
                        assert!(
                            c.amount.is_zero()
                                || c.amount.is_sign_negative() == l.tax.is_sign_negative()
                        );
                    }
                    assert_eq!(l.tax.scale(), scale);
                    if inp.taxable && !inp.exempt {
                        let r: Decimal = rates.iter().map(|r| r.rate).sum();
                        if inp.inclusive {
                            assert_eq!(l.net + l.tax, inp.amount);
                        } else {
                            let exact = inp.amount * r / Decimal::ONE_HUNDRED;
                            exclusive_exact += exact;
                            assert!((l.tax - exact).abs() < unit, "case {case}: off by a unit");
                        }
                    } else {
                        assert!(l.tax.is_zero() && l.components.is_empty());
                    }
                }
                if tr == TaxRounding::PerInvoice {
                    let incl: Decimal = t
                        .lines
                        .iter()
                        .zip(&lines)
                        .filter(|(_, i)| i.inclusive)
                        .map(|(l, _)| l.tax)
                        .sum();
                    assert_eq!(
                        t.tax - incl,
                        round(exclusive_exact, scale, Rounding::HalfEven),
                        "case {case}: header = round(Σ unrounded)"
                    );
                }
            }
        }
    }
}

//! Built-in revenue allocation (06 §5): by transaction price, or relative standalone selling
//! price with the largest-remainder method so the parts sum exactly to the price.

use crate::callbacks::{Agreement, CallbackError, CallbackResult, LineAmount, Money};
use crate::money::minor_units;
use crate::schema::parse_decimal;
use rust_decimal::Decimal;

fn invalid(reason: &str, path: String) -> CallbackError {
    CallbackError::new(
        "builtin",
        "invalid_output",
        Some(reason.into()),
        Some(path),
        "built-in allocation input",
    )
}

/// Allocate an agreement's total transaction price over its lines.
pub fn allocate(a: &Agreement, relative_ssp: bool) -> CallbackResult<Vec<LineAmount>> {
    let scale =
        minor_units(&a.currency).ok_or_else(|| invalid("wrong_currency", "currency".into()))?;
    let mut tps = Vec::with_capacity(a.lines.len());
    for (i, l) in a.lines.iter().enumerate() {
        let tp = l.transaction_price.as_ref().unwrap_or(&l.net_price);
        tps.push(
            parse_decimal(&tp.amount)
                .ok_or_else(|| invalid("bad_decimal", format!("lines[{i}].transaction_price")))?,
        );
    }
    let money = |d: Decimal| Money {
        amount: d.to_string(),
        currency: a.currency.clone(),
    };
    let ssps: Option<Vec<Decimal>> = a
        .lines
        .iter()
        .map(|l| l.ssp.as_ref().and_then(|s| parse_decimal(&s.amount)))
        .collect();
    let weights = match (relative_ssp, ssps) {
        (true, Some(s)) if s.iter().any(|w| !w.is_zero()) => s,
        _ => {
            return Ok(a
                .lines
                .iter()
                .zip(&tps)
                .map(|(l, tp)| LineAmount {
                    line_id: l.id.clone(),
                    amount: money(*tp),
                })
                .collect())
        }
    };
    let parts = largest_remainder(tps.iter().copied().sum(), &weights, scale);
    Ok(a.lines
        .iter()
        .zip(parts)
        .map(|(l, p)| LineAmount {
            line_id: l.id.clone(),
            amount: money(p),
        })
        .collect())
}

/// Split `total` in proportion to `weights` (Σ weights > 0) into amounts with `scale` decimals
/// that sum to `total` exactly: floor each share, then hand the leftover minor units to the
/// largest remainders (ties to the earlier part).
pub fn largest_remainder(total: Decimal, weights: &[Decimal], scale: u32) -> Vec<Decimal> {
    let sum: Decimal = weights.iter().copied().sum();
    let unit = Decimal::new(1, scale);
    let sign = if total.is_sign_negative() {
        -Decimal::ONE
    } else {
        Decimal::ONE
    };
    let abs = total.abs();
    let mut parts: Vec<(usize, Decimal, Decimal)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let exact = abs * *w / sum;
            let floor = exact.round_dp_with_strategy(scale, rust_decimal::RoundingStrategy::ToZero);
            (i, floor, exact - floor)
        })
        .collect();
    let mut left = abs - parts.iter().map(|p| p.1).sum::<Decimal>();
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].2.cmp(&parts[a].2).then(a.cmp(&b)));
    for i in order.into_iter().cycle() {
        if left < unit || parts.is_empty() {
            break;
        }
        parts[i].1 += unit;
        left -= unit;
    }
    parts.into_iter().map(|(_, p, _)| p * sign).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn largest_remainder_sums_exactly() {
        let d = |s| Decimal::from_str(s).unwrap();
        let parts = largest_remainder(d("100.00"), &[d("1"), d("1"), d("1")], 2);
        assert_eq!(parts, vec![d("33.34"), d("33.33"), d("33.33")]);
        let parts = largest_remainder(d("-10.00"), &[d("2"), d("1")], 2);
        assert_eq!(parts.iter().copied().sum::<Decimal>(), d("-10.00"));
    }
}

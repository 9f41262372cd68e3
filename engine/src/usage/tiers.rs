//! Tier tables and the rating function F of 03 B.3: `per_unit`, `graduated`, `volume`,
//! `flat_per_tier` and `package`, tiers half-open (prev, up_to], the last unbounded, F(0) = 0 in
//! every model (decisions F.14, F.18). G(Q) = round(F(max(0, Q − included))) is the amount of a
//! usage row holding a cumulative quantity Q.

use crate::money::{round, Rounding};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// Rating model (03 B.1 `usage_tiers.model`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Model {
    /// q × unit_price.
    PerUnit,
    /// Each tier prices its own slice; flat fees of every tier reached.
    Graduated,
    /// The tier holding q prices all of q, plus its flat fee.
    Volume,
    /// The flat fee of the tier holding q.
    FlatPerTier,
    /// Started packages × package price.
    Package,
}

/// One tier: (previous bound, `up_to`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// Inclusive upper bound; `None` on the last tier (unbounded).
    #[serde(default)]
    pub up_to: Option<Decimal>,
    /// Price per unit in the tier (0 for flat_per_tier).
    #[serde(default)]
    pub unit_price: Decimal,
    /// Fee charged once the tier is reached.
    #[serde(default)]
    pub flat_fee: Decimal,
}

/// A `usage_tiers` document (03 B.1), already checked at rule load (`rules/usage.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierTable {
    /// Unique name.
    pub name: String,
    /// Model.
    pub model: Model,
    /// `per_unit` price.
    #[serde(default)]
    pub unit_price: Option<Decimal>,
    /// Tiers (graduated, volume, flat_per_tier).
    #[serde(default)]
    pub tiers: Vec<Tier>,
    /// Package size (> 0).
    #[serde(default)]
    pub package_size: Option<Decimal>,
    /// Price of one started package.
    #[serde(default)]
    pub package_price: Option<Decimal>,
}

impl TierTable {
    /// The table a usage product without `usage_tiers` rates with: `per_unit` at `list_price`.
    pub fn per_unit(name: &str, unit_price: Decimal) -> Self {
        TierTable {
            name: name.to_string(),
            model: Model::PerUnit,
            unit_price: Some(unit_price),
            tiers: Vec::new(),
            package_size: None,
            package_price: None,
        }
    }

    /// Index of the tier holding q > 0: the first with q ≤ up_to, else the last.
    fn tier_of(&self, q: Decimal) -> Option<&Tier> {
        self.tiers
            .iter()
            .find(|t| t.up_to.is_none_or(|b| q <= b))
            .or(self.tiers.last())
    }

    /// F(q) unrounded, for a billable quantity q (q ≤ 0 → 0).
    pub fn f(&self, q: Decimal) -> Decimal {
        if q <= Decimal::ZERO {
            return Decimal::ZERO;
        }
        match self.model {
            Model::PerUnit => q * self.unit_price.unwrap_or_default(),
            Model::Graduated => {
                let mut total = Decimal::ZERO;
                let mut prev = Decimal::ZERO;
                for t in &self.tiers {
                    if q <= prev {
                        break;
                    }
                    let top = t.up_to.map_or(q, |b| b.min(q));
                    total += t.unit_price * (top - prev).max(Decimal::ZERO) + t.flat_fee;
                    match t.up_to {
                        Some(b) => prev = b,
                        None => break,
                    }
                }
                total
            }
            Model::Volume => self
                .tier_of(q)
                .map_or(Decimal::ZERO, |t| q * t.unit_price + t.flat_fee),
            Model::FlatPerTier => self.tier_of(q).map_or(Decimal::ZERO, |t| t.flat_fee),
            Model::Package => {
                let size = self.package_size.unwrap_or(Decimal::ONE);
                if size <= Decimal::ZERO {
                    return Decimal::ZERO;
                }
                (q / size).ceil() * self.package_price.unwrap_or_default()
            }
        }
    }

    /// G(Q) = round(F(max(0, Q − included))) to `scale` decimals with `mode`.
    pub fn g(&self, quantity: Decimal, included: Decimal, scale: u32, mode: Rounding) -> Decimal {
        round(
            self.f((quantity - included).max(Decimal::ZERO)),
            scale,
            mode,
        )
    }

    /// The marginal amounts of inputs with quantities `qs` in rating order (03 B.3): input i gets
    /// G(Qᵢ) − G(Qᵢ₋₁); returns them and the row amount G(Qₙ). They re-sum to it exactly.
    pub fn marginal(
        &self,
        qs: &[Decimal],
        included: Decimal,
        scale: u32,
        mode: Rounding,
    ) -> (Vec<Decimal>, Decimal) {
        let mut cum = Decimal::ZERO;
        let mut prev = self.g(Decimal::ZERO, included, scale, mode);
        let mut out = Vec::with_capacity(qs.len());
        for q in qs {
            cum += *q;
            let g = self.g(cum, included, scale, mode);
            out.push(g - prev);
            prev = g;
        }
        (out, prev)
    }
}

/// Quantity rounding (03 B.1 `quantity_rounding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum QuantityRounding {
    /// Half away from zero.
    #[default]
    HalfUp,
    /// Half to even.
    HalfEven,
    /// Away from zero.
    Up,
    /// Toward zero.
    Down,
}

/// Round a quantity to `scale` decimals (03 A.6 "Quantities", B.1).
pub fn round_quantity(q: Decimal, scale: u32, mode: QuantityRounding) -> Decimal {
    use rust_decimal::RoundingStrategy as S;
    let s = match mode {
        QuantityRounding::HalfUp => S::MidpointAwayFromZero,
        QuantityRounding::HalfEven => S::MidpointNearestEven,
        QuantityRounding::Up => S::AwayFromZero,
        QuantityRounding::Down => S::ToZero,
    };
    q.round_dp_with_strategy(scale, s).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    /// A tier table from `(up_to or "inf", unit_price, flat_fee)` triples.
    fn table(model: Model, tiers: &[(&str, &str, &str)]) -> TierTable {
        TierTable {
            name: "T".into(),
            model,
            unit_price: None,
            tiers: tiers
                .iter()
                .map(|(b, p, f)| Tier {
                    up_to: (*b != "inf").then(|| d(b)),
                    unit_price: d(p),
                    flat_fee: d(f),
                })
                .collect(),
            package_size: None,
            package_price: None,
        }
    }

    fn g(t: &TierTable, q: &str, included: &str) -> Decimal {
        t.g(d(q), d(included), 2, Rounding::HalfUp)
    }

    #[test]
    fn usage_tier_gb() {
        // 03 E USAGE-TIER-GB: {999: 10, 1999: 9, ∞: 8}, 1500 GB.
        let tiers = [("999", "10", "0"), ("1999", "9", "0"), ("inf", "8", "0")];
        assert_eq!(
            g(&table(Model::Graduated, &tiers), "1500", "0"),
            d("14499.00")
        );
        assert_eq!(g(&table(Model::Volume, &tiers), "1500", "0"), d("13500.00"));
    }

    #[test]
    fn kb_k14() {
        // 03 E KB-K14: {10: 1.5, 110: 1.0, 1110: 0.5, ∞: 0.5}, 111 u.
        let tiers = [
            ("10", "1.5", "0"),
            ("110", "1.0", "0"),
            ("1110", "0.5", "0"),
            ("inf", "0.5", "0"),
        ];
        assert_eq!(g(&table(Model::Graduated, &tiers), "111", "0"), d("115.50"));
        assert_eq!(g(&table(Model::Volume, &tiers), "111", "0"), d("55.50"));
    }

    #[test]
    fn lago_l1_graduated_with_flat_fees() {
        let t = table(
            Model::Graduated,
            &[("10", "10", "2"), ("20", "5", "3"), ("inf", "5", "3")],
        );
        for (q, want) in [
            ("1", "12"),
            ("10", "102"),
            ("11", "110"),
            ("12", "115"),
            ("21", "163"),
            ("0", "0"),
        ] {
            assert_eq!(g(&t, q, "0"), d(want), "{q} u");
        }
    }

    #[test]
    fn lago_l2_volume_with_flat_fees() {
        let t = table(
            Model::Volume,
            &[("100", "2", "10"), ("200", "1", "0"), ("inf", "0.5", "50")],
        );
        for (q, want) in [
            ("1", "12"),
            ("100", "210"),
            ("100.5", "100.5"),
            ("101", "101"),
            ("200", "200"),
            ("300", "200"),
            ("0", "0"),
        ] {
            assert_eq!(g(&t, q, "0"), d(want), "{q} u");
        }
    }

    #[test]
    fn lago_l3_package_with_included() {
        let mut t = table(Model::Package, &[]);
        t.package_size = Some(d("10"));
        t.package_price = Some(d("100"));
        assert_eq!(g(&t, "121", "0"), d("1300.00"));
        assert_eq!(g(&t, "121", "10"), d("1200.00"));
        assert_eq!(g(&t, "121", "200"), d("0.00"));
        assert_eq!(g(&t, "0", "0"), d("0.00"));
    }

    #[test]
    fn usage_starkit_volume_unit_prices() {
        // 03 E USAGE-STARKIT (F.15: volume with unit prices), 5 u before and after the change.
        let old = table(
            Model::Volume,
            &[("10", "100", "0"), ("20", "200", "0"), ("inf", "500", "0")],
        );
        let new = table(
            Model::Volume,
            &[("10", "150", "0"), ("20", "250", "0"), ("inf", "550", "0")],
        );
        assert_eq!(g(&old, "5", "0"), d("500.00"));
        assert_eq!(g(&new, "5", "0"), d("750.00"));
        // "flat rate per tier" would give the tier's fee instead (the spec's bracket).
        let flat = table(
            Model::FlatPerTier,
            &[("10", "0", "100"), ("20", "0", "200"), ("inf", "0", "500")],
        );
        assert_eq!(g(&flat, "5", "0"), d("100.00"));
    }

    #[test]
    fn per_unit_and_half_open_bounds() {
        let t = TierTable::per_unit("P", d("2.00"));
        assert_eq!(g(&t, "10", "0"), d("20.00"));
        assert_eq!(g(&t, "10", "4"), d("12.00"));
        // Exactly on a bound stays in the lower tier: (prev, up_to].
        let v = table(Model::Volume, &[("10", "3", "0"), ("inf", "1", "0")]);
        assert_eq!(g(&v, "10", "0"), d("30.00"));
        assert_eq!(g(&v, "10.000001", "0"), d("10.00"));
    }

    #[test]
    fn marginal_amounts_resum_to_the_row() {
        let t = table(
            Model::Graduated,
            &[
                ("10", "3.50", "0"),
                ("20", "2.50", "0"),
                ("inf", "2.00", "0"),
            ],
        );
        // 03 E USG-CAN-01: February 17 u then 9 u → 52.50 and 19.50 of 72.00.
        let (parts, total) = t.marginal(&[d("17"), d("9")], Decimal::ZERO, 2, Rounding::HalfUp);
        assert_eq!(parts, vec![d("52.50"), d("19.50")]);
        assert_eq!(total, d("72.00"));
        assert_eq!(g(&t, "34", "0"), d("88.00"));
    }

    #[test]
    fn quantities_round_per_scale() {
        assert_eq!(
            round_quantity(d("1.25"), 1, QuantityRounding::HalfEven),
            d("1.2")
        );
        assert_eq!(round_quantity(d("1.21"), 1, QuantityRounding::Up), d("1.3"));
        assert_eq!(
            round_quantity(d("1.29"), 1, QuantityRounding::Down),
            d("1.2")
        );
        assert_eq!(
            round_quantity(d("1.25"), 1, QuantityRounding::HalfUp),
            d("1.3")
        );
    }
}

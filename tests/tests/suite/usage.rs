//! Usage rating (03 B.3): for random tier tables of every model, random included quantities and
//! random input sequences, the marginal amounts G(Qᵢ) − G(Qᵢ₋₁) re-sum exactly to the row amount
//! G(Qₙ), G(0) = 0, and each tier model's G is what its definition says at the bounds.

use proptest::prelude::*;
use reckon_engine::money::Rounding;
use reckon_engine::usage::tiers::{Model, Tier, TierTable};
use rust_decimal::Decimal;

fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

fn model() -> impl Strategy<Value = Model> {
    prop_oneof![
        Just(Model::PerUnit),
        Just(Model::Graduated),
        Just(Model::Volume),
        Just(Model::FlatPerTier),
        Just(Model::Package),
    ]
}

/// A valid table: strictly increasing bounds, last unbounded, prices with up to 4 decimals.
fn table() -> impl Strategy<Value = TierTable> {
    (
        model(),
        prop::collection::vec((1i64..500, 0i64..100_000, 0i64..5_000), 1..5),
        1i64..5_000,
        1i64..100,
    )
        .prop_map(|(model, raw, price, size)| {
            let mut bound = 0i64;
            let n = raw.len();
            let tiers = raw
                .into_iter()
                .enumerate()
                .map(|(i, (step, p, f))| {
                    bound += step;
                    Tier {
                        up_to: (i + 1 < n).then(|| Decimal::new(bound, 1)),
                        unit_price: if model == Model::FlatPerTier {
                            Decimal::ZERO
                        } else {
                            Decimal::new(p, 4)
                        },
                        flat_fee: money(f),
                    }
                })
                .collect();
            TierTable {
                name: "T".into(),
                model,
                unit_price: Some(Decimal::new(price, 3)),
                tiers,
                package_size: Some(Decimal::from(size)),
                package_price: Some(money(price)),
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn marginal_amounts_resum_to_the_row(
        t in table(),
        included in 0i64..2_000,
        qs in prop::collection::vec(0i64..100_000, 0..30),
        even in any::<bool>(),
    ) {
        let mode = if even { Rounding::HalfEven } else { Rounding::HalfUp };
        let included = Decimal::new(included, 1);
        let qs: Vec<Decimal> = qs.into_iter().map(|q| Decimal::new(q, 3)).collect();
        let (parts, total) = t.marginal(&qs, included, 2, mode);
        prop_assert_eq!(parts.len(), qs.len());
        prop_assert_eq!(parts.iter().copied().sum::<Decimal>(), total);
        let q: Decimal = qs.iter().copied().sum();
        prop_assert_eq!(total, t.g(q, included, 2, mode));
        prop_assert_eq!(t.g(Decimal::ZERO, included, 2, mode), Decimal::ZERO);
        // Within the included quantity nothing is charged.
        prop_assert_eq!(t.g(included, included, 2, mode), Decimal::ZERO);
    }
}

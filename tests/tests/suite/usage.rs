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

mod engine_rating {
    //! Rating through the engine (03 B.2, B.3): random loads, rate steps of random sizes and
    //! unrates on one usage row; after every step the row amount is G(Σ rated quantities), the
    //! rated amounts re-sum to it, and each input's amount is its marginal G(Qᵢ) − G(Qᵢ₋₁) in
    //! (usage_date, ref) order — whatever order the inputs were attached in (incremental pricing
    //! must agree with a full re-rating).

    use chrono::NaiveDate;
    use proptest::prelude::*;
    use reckon_engine::model::{Account, Order};
    use reckon_engine::money::Rounding;
    use reckon_engine::rules::RuleLoader;
    use reckon_engine::store::MemStore;
    use reckon_engine::usage::rating::{InputStatus, LoadUsage, RateUsage};
    use reckon_engine::usage::tiers::{Model, Tier, TierTable};
    use reckon_engine::Engine;
    use rust_decimal::Decimal;
    use std::sync::Arc;

    const RULES: &str = r#"
billing_preferences:
  - {name: bdom1, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}
usage_tiers:
  - {name: G, model: graduated, tiers: [{up_to: 10, unit_price: "3.50", flat_fee: "1.25"}, {up_to: 20, unit_price: "2.333"}, {unit_price: "2.00"}]}
products:
  - {code: U, name: Usage, price_type: usage, billing_rule: arrears, usage_tiers: G, included_quantity: 3}
"#;

    fn table() -> TierTable {
        let t = |b: Option<i64>, p: &str, f: &str| Tier {
            up_to: b.map(Decimal::from),
            unit_price: p.parse().expect("price"),
            flat_fee: f.parse().expect("fee"),
        };
        TierTable {
            name: "G".into(),
            model: Model::Graduated,
            unit_price: None,
            tiers: vec![
                t(Some(10), "3.50", "1.25"),
                t(Some(20), "2.333", "0"),
                t(None, "2.00", "0"),
            ],
            package_size: None,
            package_price: None,
        }
    }

    fn engine() -> Engine {
        let mut l = RuleLoader::new();
        l.add_text("usage-properties.yaml", RULES);
        let e = Engine::new(Arc::new(MemStore::new()), l.finish().expect("rules"));
        let a: Account = serde_yaml::from_str("{id: A, currency: USD}").expect("account");
        e.upsert_account(a).expect("account");
        let o: Order = serde_yaml::from_str(
            "{id: O-1, account: A, order_date: 2016-01-01, lines: [{id: L1, product: U, start: 2016-01-01, end: 2016-01-31}]}",
        )
        .expect("order");
        e.submit_order(o).expect("order");
        e.activate("O-1", NaiveDate::from_ymd_opt(2016, 1, 1).expect("date"))
            .expect("activate");
        e
    }

    #[derive(Debug, Clone)]
    enum Op {
        Load(u32, i64),
        Rate,
        Unrate(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (1u32..32, 0i64..800).prop_map(|(d, q)| Op::Load(d, q)),
            2 => Just(Op::Rate),
            1 => (0usize..40).prop_map(Op::Unrate),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn incremental_rating_equals_full_rating(ops in prop::collection::vec(op(), 1..30)) {
            let e = engine();
            let t = table();
            let included = Decimal::from(3);
            for o in ops {
                match o {
                    Op::Load(d, q) => {
                        e.load_usage(&LoadUsage {
                            line: "O-1/L1".into(),
                            date: NaiveDate::from_ymd_opt(2016, 1, d).expect("date"),
                            quantity: Decimal::new(q, 1),
                            start: None,
                            end: None,
                            uom: None,
                            description: None,
                        }).expect("load");
                    }
                    Op::Rate => {
                        e.rate_usage(&RateUsage::default()).expect("rate");
                    }
                    Op::Unrate(k) => {
                        let rated: Vec<_> = e.usage_inputs().expect("inputs").into_iter()
                            .filter(|i| i.status == InputStatus::Rated).collect();
                        if !rated.is_empty() {
                            let r = rated[k % rated.len()].reference();
                            e.unrate_usage(&[r]).expect("unrate");
                        }
                    }
                }
                let mut rated: Vec<_> = e.usage_inputs().expect("inputs").into_iter()
                    .filter(|i| i.status == InputStatus::Rated).collect();
                rated.sort_by_key(|i| (i.usage_date, i.seq));
                let qs: Vec<Decimal> = rated.iter().map(|i| i.quantity).collect();
                let (parts, total) = t.marginal(&qs, included, 2, Rounding::HalfUp);
                let row = &e.schedules("O-1/L1").expect("rows")[0];
                prop_assert_eq!(row.amount, total);
                let got: Vec<Decimal> = rated.iter().map(|i| i.rated_amount.unwrap_or_default()).collect();
                prop_assert_eq!(got, parts);
            }
        }
    }
}

//! Property tests of billing schedules (02): thousands of generated lines.

use chrono::{Days, NaiveDate};
use proptest::prelude::*;
use reckon_engine::model::{BillingRule, DayCount, Treatment};
use reckon_engine::money::{round, Rounding};
use reckon_engine::schedule::{fraction, generate, measure, Price, Terms};
use rust_decimal::Decimal;

fn terms() -> impl Strategy<Value = Terms> {
    (
        0u64..10_000,
        1u64..1_500,
        prop_oneof![Just(1u32), Just(3), Just(6), Just(12)],
        1u32..=31,
        prop_oneof![Just(None), (1u32..=12).prop_map(Some)],
        prop_oneof![
            Just(Treatment::SeparatePeriod),
            Just(Treatment::Ignore),
            Just(Treatment::ChargeFull),
            Just(Treatment::CombineWithFirstPeriod)
        ],
        prop_oneof![
            Just(DayCount::BillingPeriod),
            Just(DayCount::CalendarMonth),
            Just(DayCount::Thirty360),
            Just(DayCount::Actual365)
        ],
        prop_oneof![Just(Rounding::HalfUp), Just(Rounding::HalfEven)],
        prop_oneof![
            Just(BillingRule::Advance),
            Just(BillingRule::Arrears),
            Just(BillingRule::ReadyForBillingDate)
        ],
        0u32..20,
        prop_oneof![Just(0u32), Just(2), Just(3)],
    )
        .prop_map(
            |(
                s,
                len,
                months,
                cycle_day,
                cal,
                treatment,
                day_count,
                rounding,
                rule,
                offset,
                scale,
            )| {
                let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Days::new(s);
                Terms {
                    start,
                    end: Some(start + Days::new(len)),
                    months,
                    cycle_day,
                    calendar_month: cal,
                    rule,
                    offset_days: offset,
                    ready_for_billing: Some(start + Days::new(3)),
                    treatment,
                    day_count,
                    rounding,
                    scale,
                }
            },
        )
}

fn money() -> impl Strategy<Value = Decimal> {
    (1i64..100_000_000).prop_map(|c| Decimal::new(c, 2))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    #[test]
    fn schedules_are_contiguous_cover_the_term_and_sum_exactly(t in terms(), amount in money(), as_total in any::<bool>()) {
        let price = if as_total { Price::Total(amount) } else { Price::Rate(amount) };
        let s = generate(&t, price, 0, 0).unwrap();
        let end = t.end.unwrap();
        prop_assert!(!s.is_empty() || t.treatment == Treatment::Ignore);
        // Contiguous, in order, inside the term, ending on the line's end.
        for w in s.windows(2) {
            prop_assert_eq!(w[0].end.succ_opt().unwrap(), w[1].start);
        }
        if let (Some(first), Some(last)) = (s.first(), s.last()) {
            prop_assert_eq!(last.end, end);
            if t.treatment == Treatment::Ignore {
                prop_assert!(first.start >= t.start);
            } else {
                prop_assert_eq!(first.start, t.start);
            }
        }
        // Amounts carry the currency's minor units.
        for p in &s {
            prop_assert_eq!(p.amount, round(p.amount, t.scale, t.rounding));
        }
        // Ready dates follow the billing rule.
        for p in &s {
            let base = match t.rule {
                BillingRule::Advance => p.start,
                BillingRule::Arrears => p.end.succ_opt().unwrap(),
                BillingRule::ReadyForBillingDate => t.ready_for_billing.unwrap(),
            };
            prop_assert_eq!(p.ready, base + Days::new(t.offset_days as u64));
        }
        // Sums: R × P exactly (net_price itself when given) under separate and combine.
        let sum: Decimal = s.iter().map(|p| p.amount).sum();
        let p_measured = measure(&t).unwrap();
        match (t.treatment, price) {
            (Treatment::SeparatePeriod | Treatment::CombineWithFirstPeriod, Price::Total(net)) => prop_assert_eq!(sum, round(net, t.scale, t.rounding)),
            (Treatment::SeparatePeriod | Treatment::CombineWithFirstPeriod, Price::Rate(r)) => prop_assert_eq!(sum, round(r * p_measured, t.scale, t.rounding)),
            (Treatment::ChargeFull, Price::Rate(r)) => prop_assert_eq!(sum, round(r * Decimal::from(s.len()), t.scale, t.rounding)),
            _ => {}
        }
    }

    #[test]
    fn separate_period_schedules_are_whole_periods_or_stubs_at_the_ends(t in terms(), r in money()) {
        let mut t = t;
        t.treatment = Treatment::SeparatePeriod;
        let s = generate(&t, Price::Rate(r), 0, 0).unwrap();
        // The first (unless it is also the last) is a whole period or a stub charged R × f.
        if s.len() > 1 {
            let p = s[0];
            let f = fraction(p.start, p.end, t.months, t.cycle_day, t.day_count);
            prop_assert!(p.amount == round(r, t.scale, t.rounding) || p.amount == round(r * f, t.scale, t.rounding));
        }
        // Only the first and the last may be shorter than a period: interior ones start on a boundary
        // and have the same day-of-month structure, so each is charged R.
        if s.len() > 2 {
            for p in &s[1..s.len() - 1] {
                prop_assert_eq!(p.amount, round(r, t.scale, t.rounding));
            }
        }
    }

    #[test]
    fn evergreen_continuation_matches_a_longer_generation(t in terms(), r in money(), k in 1usize..8, more in 1usize..8) {
        let mut t = t;
        t.end = None;
        let all = generate(&t, Price::Rate(r), 0, k + more).unwrap();
        let head = generate(&t, Price::Rate(r), 0, k).unwrap();
        let tail = generate(&t, Price::Rate(r), k, more).unwrap();
        prop_assert_eq!(all.len(), k + more);
        prop_assert_eq!(&all[..k], &head[..]);
        prop_assert_eq!(&all[k..], &tail[..]);
    }
}

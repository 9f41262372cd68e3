//! Ramps in an amendment (03 A.1 `segments`, A.2): contiguous segments over [E, N], each priced
//! over its own range like an amend and run through step 1 alone; NP′ is their sum. The rows of
//! each segment carry its quantity.

use super::{
    check_not_after_end, month_units, new_terms, refuse, succ, AssetTerms, ChangeOutcome, Plan,
    Value, UNITS,
};
use crate::engine::{Asset, Engine, Schedule};
use crate::error::{Code, Result};
use crate::model::{BillingFrequency, Product, Segment};
use crate::money::round;
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// The period kinds of step 2 (their rows carry q′, A.6).
const PERIOD_KINDS: &[&str] = &[
    "rebill",
    "delta",
    "netted_charge",
    "replacement",
    "extension",
];

/// Give each period row of a ramp the quantity of the segment it starts in.
pub(super) fn segment_quantities(ramp: &[(NaiveDate, NaiveDate, Decimal)], rows: &mut [Schedule]) {
    if ramp.is_empty() {
        return;
    }
    for s in rows
        .iter_mut()
        .filter(|s| PERIOD_KINDS.contains(&s.kind.as_str()))
    {
        if let Some((_, _, q)) = ramp.iter().find(|(a, b, _)| *a <= s.start && s.start <= *b) {
            s.quantity = *q;
        }
    }
}

impl Engine {
    /// `amend` with `segments` (called by [`Engine::amend`] once the line's context is known).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn amend_ramp(
        &self,
        req: &super::Amend,
        asset: &Asset,
        cur: &AssetTerms,
        product: &Product,
        old_end: NaiveDate,
    ) -> Result<ChangeOutcome> {
        let line = req.line.as_str();
        let not_with = [
            ("quantity", req.quantity.is_some()),
            ("list_price", req.list_price.is_some()),
            ("discount_percent", req.discount_percent.is_some()),
            ("net_price", req.net_price.is_some()),
        ];
        if let Some((k, _)) = not_with.iter().find(|(_, given)| *given) {
            return Err(refuse(
                Code::NotApplicable,
                line,
                k,
                format!("`{k}` goes on each segment of a ramp, not on the amendment"),
            ));
        }
        let frequency = req.billing_frequency.unwrap_or(cur.billing_frequency);
        if !matches!(
            frequency,
            BillingFrequency::Monthly
                | BillingFrequency::Quarterly
                | BillingFrequency::HalfYearly
                | BillingFrequency::Yearly
        ) {
            return Err(refuse(
                Code::NotApplicable,
                line,
                "segments",
                "ramps need a recurring frequency".into(),
            ));
        }
        let e = req.on;
        let n = req.end.unwrap_or(old_end);
        let start = asset.terms.start;
        if e < start {
            return Err(refuse(
                Code::EffectiveBeforeStart,
                line,
                "on",
                format!("{e} is before the line start {start}"),
            ));
        }
        check_not_after_end(line, e, old_end)?;
        if n < e {
            return Err(refuse(
                Code::EndBeforeEffective,
                line,
                "end",
                format!("{n} is before the effective date {e}"),
            ));
        }
        // Contiguous cover of [E, N]: the first starts on E, each the day after the previous
        // ends (a segment without an end ends the day before the next, the last on N).
        let segs: &[Segment] = &req.segments;
        let mut ranges: Vec<(NaiveDate, NaiveDate)> = Vec::with_capacity(segs.len());
        for (k, s) in segs.iter().enumerate() {
            let want = if k == 0 { e } else { succ(ranges[k - 1].1) };
            if s.start != want {
                return Err(refuse(
                    Code::InvalidRecord,
                    line,
                    &format!("segments[{k}].start"),
                    format!(
                        "segment {} starts {}, not {want}: segments cover [E, N] without gaps or overlaps",
                        k + 1,
                        s.start
                    ),
                ));
            }
            let end = s
                .end
                .or_else(|| segs.get(k + 1).and_then(|x| x.start.pred_opt()))
                .unwrap_or(n);
            if end < s.start || end > n || (k + 1 == segs.len() && end != n) {
                return Err(refuse(
                    Code::InvalidRecord,
                    line,
                    &format!("segments[{k}].end"),
                    format!(
                        "segment {} ends {end}; segments cover [{e}, {n}] and the last ends on {n}",
                        k + 1
                    ),
                ));
            }
            ranges.push((s.start, end));
        }
        let rfbd = req.ready_for_billing_date.unwrap_or(req.on);
        let round_ = |v: Decimal| round(v, asset.terms.scale, asset.terms.rounding);
        let base_u = {
            let base = cur.quantity * (Decimal::ONE - cur.discount_percent / Decimal::ONE_HUNDRED);
            (!base.is_zero()).then(|| cur.rate / base)
        };
        let mut periods = Vec::new();
        let mut ramp = Vec::with_capacity(segs.len());
        let (mut q, mut d, mut rate) = (cur.quantity, cur.discount_percent, cur.rate);
        for (k, (s, (a, b))) in segs.iter().zip(ranges.iter().copied()).enumerate() {
            q = s.quantity.unwrap_or(cur.quantity);
            d = s.discount_percent.unwrap_or(cur.discount_percent);
            let t = new_terms(asset, frequency, a, b, rfbd);
            let m = month_units(&t, a, b);
            let (value, total) = if let Some(np) = s.net_price {
                let np = round_(np);
                (Value { num: np, den: m }, np)
            } else {
                let u = match s.list_price {
                    Some(lp) => {
                        lp / Decimal::from(product.selling_frequency().months().unwrap_or(1))
                    }
                    None => base_u.ok_or_else(|| {
                        refuse(
                            Code::NetPriceRequired,
                            line,
                            &format!("segments[{k}].net_price"),
                            "the unit rate is undefined (quantity 0 or discount 100 %); give a net_price or list_price".into(),
                        )
                    })?,
                };
                let r = u * q * (Decimal::ONE - d / Decimal::ONE_HUNDRED);
                let v = Value {
                    num: r,
                    den: Decimal::from(UNITS),
                };
                (v, round_(v.of(m)))
            };
            rate = value.rate();
            periods.extend(self.periods(line, asset, frequency, a, b, value, total, rfbd)?);
            ramp.push((a, b, q));
        }
        self.commit_change(
            asset,
            cur,
            Plan {
                kind: "amend",
                e,
                n,
                periods,
                cancel: false,
                category: "amendment",
                quantity: q,
                discount: d,
                rate,
                frequency,
                status: cur.status,
                cancellation_date: cur.cancellation_date,
                ramp,
            },
            rfbd,
        )
    }
}

/// The quantity of the order-line segment a row starting on `start` falls in (A.6: ramp rows
/// carry their segment's quantity), else the line's.
pub(crate) fn line_segment_quantity(line: &crate::model::OrderLine, start: NaiveDate) -> Decimal {
    let mut segs: Vec<&Segment> = line.segments.iter().collect();
    segs.sort_by_key(|s| s.start);
    segs.iter()
        .rev()
        .find(|s| s.start <= start)
        .and_then(|s| s.quantity)
        .unwrap_or(line.quantity)
}

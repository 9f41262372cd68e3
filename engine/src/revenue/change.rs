//! Contract modifications (06 §7), append only: a cancel, amend or renew of a line that has an
//! agreement appends fees to the same agreement — cut fees, delta fees, re-adds, renewals —
//! and never edits an existing fee's type, amount or rule (only a freeze, and the input window
//! of a percent-complete fee). A rollback appends the opposite of what the undone change added.
//!
//! 03's asset-based changes call [`Engine::plan_revenue_change`] with their batch, so the
//! revenue side commits with the billing change; [`Engine::revenue_change`] commits alone.

use super::calc::{cumulative, days, mfrac_scaled, r};
use super::keys;
use super::model::*;
use crate::allocation::largest_remainder;
use crate::dates::month_index;
use crate::engine::{encode, Engine};
use crate::error::{Code, EngineError, Result};
use crate::money::minor_units;
use crate::store::Batch;
use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A change of one line as 03 records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevenueChange {
    /// Cancel from `on` (03 A.6); `same_day_cancellation` (default true) makes `on` the first
    /// unserved day, else `on + 1`.
    Cancel {
        /// Cancellation date.
        on: NaiveDate,
        /// 03's `same_day_cancellation`.
        same_day_cancellation: bool,
    },
    /// Amend: `first_unserved` is 03's E (A.2); the line's value V before and after; a new end
    /// for a term change.
    Amend {
        /// 03's E.
        first_unserved: NaiveDate,
        /// The line's net price before.
        net_old: Decimal,
        /// The line's net price after.
        net_new: Decimal,
        /// The new end, for a term change.
        new_end: Option<NaiveDate>,
    },
    /// Renew to `new_end` for `net_price`.
    Renew {
        /// The renewed term's end.
        new_end: NaiveDate,
        /// The renewal's net price.
        net_price: Decimal,
    },
}

fn refuse(code: Code, record: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, msg)
}

fn day_before(d: NaiveDate) -> NaiveDate {
    d.checked_sub_days(Days::new(1)).unwrap_or(d)
}

fn day_after(d: NaiveDate) -> NaiveDate {
    d.checked_add_days(Days::new(1)).unwrap_or(d)
}

/// `remaining_f = F − r(F × w(s, E−1) / w(s, e))` with the fee's own weight (06 §7).
pub fn remaining(f: &Fee, e: NaiveDate, scale: u32) -> Decimal {
    let e = e.max(f.start);
    let w = |a, b| match f.rule {
        Rule::RatableDay => days(a, b, f.ignore_leap_year),
        _ => mfrac_scaled(a, b, f.ignore_leap_year),
    };
    let total = w(f.start, f.end);
    if total == 0 {
        return if e > f.start { Decimal::ZERO } else { f.amount };
    }
    let served = w(f.start, day_before(e));
    f.amount
        - r(
            f.amount * Decimal::from(served) / Decimal::from(total),
            scale,
        )
}

/// A fee a cancel froze (`frozen` set by a change) or the manual cut it appended (frozen at 0):
/// later changes leave both alone.
fn settled(f: &Fee) -> bool {
    f.frozen.is_some()
}

/// Appends fees to a line: refs in order, the change id, the standard's TP rule.
struct Appender {
    line: String,
    n: u32,
    cid: u32,
    standard: Standard,
}

impl Appender {
    fn next(
        &mut self,
        base: &Fee,
        rule: Rule,
        amount: Decimal,
        s: NaiveDate,
        e: NaiveDate,
        origin: &str,
    ) -> Fee {
        self.n += 1;
        let mut f = base.clone();
        f.fee_ref = format!("{}#{}", self.line, self.n);
        f.rule = rule;
        f.amount = amount;
        f.transaction_price = if self.standard == Standard::Asc606 {
            amount
        } else {
            Decimal::ZERO
        };
        f.start = s;
        f.end = e;
        f.origin = origin.to_string();
        f.parent = None;
        f.percent_actual.clear();
        f.percent_forecast.clear();
        f.manual.clear();
        f.manual_forecast.clear();
        f.frozen = None;
        f.change = Some(self.cid);
        f.frozen_by = None;
        for m in &mut f.milestones {
            m.actual = None;
            m.expected = None;
        }
        f
    }
}

/// What a cancel reads.
struct Ctx<'a> {
    line_fees: &'a [usize],
    scale: u32,
    open: crate::dates::MonthIndex,
    facts: &'a dyn super::calc::Facts,
    cid: u32,
}

impl Ctx<'_> {
    /// Freeze fee `i` at its target for the open period and cut the rest as a manual fee
    /// without rows (06 §7).
    fn freeze(
        &self,
        ag: &mut Agreement,
        i: usize,
        from: NaiveDate,
        added: &mut Vec<Fee>,
        app: &mut Appender,
    ) {
        let f = ag.fees[i].clone();
        let fl = super::calc::linked(&ag.fees, &f);
        let held = cumulative(&fl, self.open, self.scale, self.facts);
        ag.fees[i].frozen = Some(held);
        ag.fees[i].frozen_by = Some(self.cid);
        let rest = f.amount - held;
        if !rest.is_zero() {
            let mut cut = app.next(
                &f,
                Rule::Manual,
                -rest,
                from.max(f.start),
                f.end.max(from),
                "cancel",
            );
            cut.frozen = Some(Decimal::ZERO);
            added.push(cut);
        }
    }

    /// A cancel at the first unserved day `e` (06 §7 table, first row).
    fn cancel_at(
        &self,
        ag: &mut Agreement,
        e: NaiveDate,
        added: &mut Vec<Fee>,
        app: &mut Appender,
    ) {
        for &i in self.line_fees {
            let f = ag.fees[i].clone();
            if settled(&f) || f.fee_type == "usage" {
                continue;
            }
            match f.rule {
                Rule::Ratable | Rule::RatableDay => {
                    if f.end >= e {
                        let rem = remaining(&f, e, self.scale);
                        if !rem.is_zero() {
                            added.push(app.next(&f, f.rule, -rem, e.max(f.start), f.end, "cancel"));
                        }
                    }
                }
                Rule::Immediate => {
                    if f.start >= e {
                        added.push(app.next(&f, f.rule, -f.amount, f.start, f.end, "cancel"));
                    }
                }
                Rule::Subscription => {}
                _ => self.freeze(ag, i, e, added, app),
            }
        }
    }
}

impl Engine {
    /// Apply `change` of `line` (`O-1/L1`) to its agreement, alone in one commit. `None` when
    /// the line's order has no agreement.
    pub fn revenue_change(
        &self,
        line: &str,
        change: &RevenueChange,
    ) -> Result<Option<Vec<String>>> {
        let mut b = Batch::default();
        let out = self.plan_revenue_change(line, change, &mut b)?;
        if out.is_some() {
            self.store.commit(b)?;
        }
        Ok(out)
    }

    /// Everything `change` appends, into `batch` (06 §7); the refs of the new fees.
    pub fn plan_revenue_change(
        &self,
        line: &str,
        change: &RevenueChange,
        batch: &mut Batch,
    ) -> Result<Option<Vec<String>>> {
        Ok(self
            .stage_revenue_change(line, change, batch)?
            .map(|(_, refs)| refs))
    }

    /// As [`Engine::plan_revenue_change`], with the agreement's change number of this change
    /// (what [`Engine::stage_revenue_rollback`] undoes).
    pub fn stage_revenue_change(
        &self,
        line: &str,
        change: &RevenueChange,
        batch: &mut Batch,
    ) -> Result<Option<(u32, Vec<String>)>> {
        let Some((order, _)) = crate::engine::split_line_ref(line) else {
            return Ok(None);
        };
        let Some(mut ag) = self.revenue_agreement(order)? else {
            return Ok(None);
        };
        let scale = minor_units(&ag.currency).unwrap_or(2);
        let record = line.to_string();
        let line_fees: Vec<usize> = (0..ag.fees.len())
            .filter(|&i| ag.fees[i].line == line)
            .collect();
        if line_fees.is_empty() {
            return Ok(None);
        }
        // The line's end: its asset's, or later when an earlier change extended its fees (03
        // may commit the asset's new end in the same batch as this change).
        let fee_end = line_fees
            .iter()
            .map(|&i| ag.fees[i].end)
            .max()
            .unwrap_or(ag.end);
        let line_end = match self.asset(line)?.and_then(|a| a.terms.end) {
            Some(e) => e.max(fee_end),
            None => fee_end,
        };
        let open = month_index(self.revenue_period(&ag.legal_entity)?.current);
        let facts = self.agreement_facts(&ag)?;
        ag.changes += 1;
        let cid = ag.changes;
        // The line's chains: sequence → (percent, the chain's first fee).
        let mut chains: BTreeMap<u32, (Decimal, usize)> = BTreeMap::new();
        for &i in &line_fees {
            chains
                .entry(ag.fees[i].chain)
                .or_insert((ag.fees[i].percent, i));
        }
        let percents: Vec<Decimal> = chains.values().map(|c| c.0).collect();
        let mut added: Vec<Fee> = Vec::new();
        let mut app = Appender {
            line: line.to_string(),
            n: line_fees.len() as u32,
            cid,
            standard: ag.standard,
        };
        let ctx = Ctx {
            line_fees: &line_fees,
            scale,
            open,
            facts: &facts,
            cid,
        };
        match change {
            RevenueChange::Cancel {
                on,
                same_day_cancellation,
            } => {
                if *on > line_end {
                    return Err(refuse(
                        Code::ChangeOutOfTerm,
                        &record,
                        "on",
                        format!("{on} is after the line's end {line_end}"),
                    ));
                }
                let e = if *same_day_cancellation {
                    *on
                } else {
                    day_after(*on)
                };
                ctx.cancel_at(&mut ag, e, &mut added, &mut app);
            }
            RevenueChange::Amend {
                first_unserved: e,
                net_old,
                net_new,
                new_end,
            } => {
                let e = *e;
                if e > day_after(line_end) || new_end.is_some_and(|x| e > day_after(x)) {
                    return Err(refuse(
                        Code::ChangeOutOfTerm,
                        &record,
                        "on",
                        format!("{e} is outside the line's term"),
                    ));
                }
                if new_end.is_some_and(|x| day_after(x) == e) {
                    ctx.cancel_at(&mut ag, e, &mut added, &mut app);
                } else {
                    let d = *net_new - *net_old;
                    let parts = largest_remainder(d, &percents, scale);
                    for ((seq, (_, base_i)), dc) in chains.iter().zip(parts) {
                        let base = ag.fees[*base_i].clone();
                        let chain_fees: Vec<usize> = line_fees
                            .iter()
                            .copied()
                            .filter(|&i| ag.fees[i].chain == *seq && !settled(&ag.fees[i]))
                            .collect();
                        let chain_end = chain_fees
                            .iter()
                            .map(|&i| ag.fees[i].end)
                            .max()
                            .unwrap_or(base.end);
                        match base.rule {
                            Rule::Prepay | Rule::TrueUp => {
                                return Err(refuse(
                                    Code::ModificationUnsupported,
                                    &record,
                                    "rule",
                                    format!(
                                        "{} fees cannot be amended (cancel them instead)",
                                        base.rule.as_str()
                                    ),
                                ))
                            }
                            _ if base.fee_type == "usage" => {}
                            Rule::Subscription => {}
                            Rule::Ratable | Rule::RatableDay => match new_end {
                                None => {
                                    if !dc.is_zero() {
                                        added.push(app.next(
                                            &base,
                                            base.rule,
                                            dc,
                                            e.max(base.start),
                                            chain_end,
                                            "amend",
                                        ));
                                    }
                                }
                                Some(end2) => {
                                    let mut rest = Decimal::ZERO;
                                    for &i in &chain_fees {
                                        let f = ag.fees[i].clone();
                                        if f.end >= e {
                                            let rem = remaining(&f, e, scale);
                                            if !rem.is_zero() {
                                                added.push(app.next(
                                                    &f,
                                                    f.rule,
                                                    -rem,
                                                    e.max(f.start),
                                                    f.end,
                                                    "amend",
                                                ));
                                                rest += rem;
                                            }
                                        }
                                    }
                                    if !(rest + dc).is_zero() {
                                        added.push(app.next(
                                            &base,
                                            base.rule,
                                            rest + dc,
                                            e.max(base.start),
                                            *end2,
                                            "amend",
                                        ));
                                    }
                                }
                            },
                            Rule::Immediate => {
                                if !dc.is_zero() {
                                    added.push(app.next(&base, base.rule, dc, e, e, "amend"));
                                }
                            }
                            Rule::Milestone | Rule::PercentComplete => {
                                if base.rule == Rule::PercentComplete {
                                    if let Some(end2) = new_end {
                                        for &i in &chain_fees {
                                            ag.fees[i].end = *end2;
                                        }
                                    }
                                }
                                if !dc.is_zero() {
                                    let mut f = app.next(
                                        &base,
                                        base.rule,
                                        dc,
                                        e.max(base.start),
                                        new_end.unwrap_or(chain_end),
                                        "amend",
                                    );
                                    f.parent = Some(base.fee_ref.clone());
                                    added.push(f);
                                }
                            }
                            Rule::Manual => {
                                if !dc.is_zero() {
                                    added.push(app.next(
                                        &base,
                                        base.rule,
                                        dc,
                                        e.max(base.start),
                                        new_end.unwrap_or(chain_end),
                                        "amend",
                                    ));
                                }
                            }
                        }
                    }
                }
                if let Some(end2) = new_end {
                    ag.end = ag.end.max(*end2);
                }
            }
            RevenueChange::Renew { new_end, net_price } => {
                if *new_end <= line_end {
                    return Err(refuse(
                        Code::ChangeOutOfTerm,
                        &record,
                        "end",
                        format!("the renewal end {new_end} is not after the line's end {line_end}"),
                    ));
                }
                let from = day_after(line_end);
                let parts = largest_remainder(*net_price, &percents, scale);
                for ((_, (_, base_i)), amount) in chains.iter().zip(parts) {
                    let base = ag.fees[*base_i].clone();
                    if base.rule == Rule::Subscription
                        || base.fee_type == "usage"
                        || amount.is_zero()
                    {
                        continue;
                    }
                    let end = if base.rule == Rule::Immediate {
                        from
                    } else {
                        *new_end
                    };
                    let mut f = app.next(&base, base.rule, amount, from, end, "renew");
                    f.line_net_price = *net_price;
                    added.push(f);
                }
                ag.end = ag.end.max(*new_end);
                // Obligations of the line's chains extend even when no fee is added.
                for (_, (_, base_i)) in chains.iter() {
                    if let Some(r) = &ag.fees[*base_i].obligation {
                        if let Some(mut o) = self.revenue_obligation(r)? {
                            o.end = o.end.max(*new_end);
                            batch.put(keys::obligation(r), encode(&o));
                        }
                    }
                }
            }
        }
        // Obligations: every new fee joins its chain's obligation.
        let mut obligations: BTreeMap<String, Obligation> = BTreeMap::new();
        for f in &added {
            let Some(r) = &f.obligation else { continue };
            if !obligations.contains_key(r) {
                if let Some(o) = self.revenue_obligation(r)? {
                    obligations.insert(r.clone(), o);
                }
            }
            if let Some(o) = obligations.get_mut(r) {
                o.transaction_price += f.transaction_price;
                o.allocation += f.amount;
                o.end = o.end.max(f.end);
                o.fees.push(f.fee_ref.clone());
            }
        }
        // A percent-complete extension moves the obligation end too.
        if let RevenueChange::Amend {
            new_end: Some(end2),
            ..
        } = change
        {
            for &i in &line_fees {
                if let Some(r) = ag.fees[i].obligation.clone() {
                    if !obligations.contains_key(&r) {
                        if let Some(o) = self.revenue_obligation(&r)? {
                            obligations.insert(r.clone(), o);
                        }
                    }
                    if let Some(o) = obligations.get_mut(&r) {
                        o.end = o.end.max(*end2);
                    }
                }
            }
        }
        for (r, o) in &obligations {
            batch.put(keys::obligation(r), encode(o));
        }
        let refs: Vec<String> = added.iter().map(|f| f.fee_ref.clone()).collect();
        ag.fees.extend(added);
        batch.put(keys::agreement(&ag.id), encode(&ag));
        Ok(Some((cid, refs)))
    }

    /// Undo the latest change of `line` (03 A.6 rollback): for each fee that change appended, a
    /// fee of the opposite amount with the same rule and dates; fees it froze are unfrozen.
    pub fn revenue_rollback(&self, line: &str) -> Result<Vec<String>> {
        let mut b = Batch::default();
        let refs = self.stage_revenue_rollback(&[line], None, &mut b)?;
        if !b.ops.is_empty() {
            self.store.commit(b)?;
        }
        Ok(refs)
    }

    /// [`Engine::revenue_rollback`] into `batch`: undo the agreement change `undone` of `line`
    /// (as [`Engine::stage_revenue_change`] numbered it), or the line's latest when `None`.
    pub fn stage_revenue_rollback(
        &self,
        lines: &[&str],
        undone: Option<u32>,
        batch: &mut Batch,
    ) -> Result<Vec<String>> {
        let Some((order, _)) = lines.first().and_then(|l| crate::engine::split_line_ref(l)) else {
            return Ok(Vec::new());
        };
        let Some(mut ag) = self.revenue_agreement(order)? else {
            return Ok(Vec::new());
        };
        let of_lines = |f: &Fee| lines.contains(&f.line.as_str());
        let latest = undone.or_else(|| {
            ag.fees
                .iter()
                .filter(|f| of_lines(f))
                .filter_map(|f| f.change.max(f.frozen_by))
                .max()
        });
        let Some(undone) = latest else {
            return Ok(Vec::new());
        };
        ag.changes += 1;
        let cid = ag.changes;
        let mut added = Vec::new();
        for f in ag.fees.iter_mut().filter(|f| of_lines(f)) {
            if f.frozen_by == Some(undone) {
                f.frozen = None;
                f.frozen_by = None;
            }
        }
        for line in lines {
            let mut n = ag.fees.iter().filter(|f| f.line == *line).count() as u32;
            for f in ag
                .fees
                .iter()
                .filter(|f| f.line == *line && f.change == Some(undone))
            {
                n += 1;
                let mut o = f.clone();
                o.fee_ref = format!("{line}#{n}");
                o.amount = -f.amount;
                o.transaction_price = -f.transaction_price;
                o.origin = "amend".into();
                o.change = Some(cid);
                added.push(o);
            }
        }
        let mut obligations: BTreeMap<String, Obligation> = BTreeMap::new();
        for f in &added {
            if let Some(r) = &f.obligation {
                if !obligations.contains_key(r) {
                    if let Some(o) = self.revenue_obligation(r)? {
                        obligations.insert(r.clone(), o);
                    }
                }
                if let Some(o) = obligations.get_mut(r) {
                    o.transaction_price += f.transaction_price;
                    o.allocation += f.amount;
                    o.fees.push(f.fee_ref.clone());
                }
            }
        }
        for (r, o) in &obligations {
            batch.put(keys::obligation(r), encode(o));
        }
        let refs = added.iter().map(|f| f.fee_ref.clone()).collect();
        ag.fees.extend(added);
        batch.put(keys::agreement(&ag.id), encode(&ag));
        Ok(refs)
    }

    /// 06 §7 swap: the incoming line's chains, created as in §4 steps 3–6 (policies, TP,
    /// allocation, obligations; the callbacks included), appended to `current` — the outgoing
    /// line's agreement as the same batch has it — with origin `amend` and agreement change
    /// number `change` (that of the outgoing line's cut, so one rollback undoes both). `None`
    /// when the order has no agreement.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn stage_revenue_swap_in(
        &self,
        current: Option<Agreement>,
        order: &crate::model::Order,
        line: &crate::model::OrderLine,
        asset: &crate::engine::Asset,
        schedules: &[crate::engine::Schedule],
        on: NaiveDate,
        change: Option<u32>,
        batch: &mut Batch,
    ) -> Result<Option<(u32, Vec<String>)>> {
        let ag = match current {
            Some(a) => Some(a),
            None => self.revenue_agreement(&order.id)?,
        };
        let Some(mut ag) = ag else {
            return Ok(None);
        };
        let Some(account) = self.account(&ag.account)? else {
            return Ok(None);
        };
        let line_ref = format!("{}/{}", order.id, line.id);
        let facts = super::agreement::LineFacts::of(line_ref, line, asset, schedules);
        // Plan the line as an agreement of its own under a scratch id, then move its fees and
        // new obligations into the real agreement.
        let scratch_id = format!("{}~swap", order.id);
        let mut scratch_order = order.clone();
        scratch_order.id = scratch_id.clone();
        scratch_order.lines = vec![line.clone()];
        let mut scratch = Batch::default();
        let planned = self.plan_agreement(&scratch_order, &account, &[facts], on, &mut scratch)?;
        let cid = match change {
            Some(n) => n,
            None => {
                ag.changes += 1;
                ag.changes
            }
        };
        let mut renamed: BTreeMap<String, String> = BTreeMap::new();
        let mut next = ag.obligations.len();
        for (k, v) in &scratch.ops {
            let Some(v) = v else { continue };
            if *k == keys::agreement(&scratch_id) {
                continue;
            }
            let mut ob: Obligation = crate::engine::decode(k, v)?;
            if ob.agreement == scratch_id {
                next += 1;
                let r = format!("{}#{next}", ag.id);
                renamed.insert(ob.obligation_ref.clone(), r.clone());
                ob.obligation_ref = r.clone();
                ob.agreement = ag.id.clone();
                ag.obligations.push(r);
            }
            batch.put(keys::obligation(&ob.obligation_ref), encode(&ob));
        }
        let mut refs = Vec::new();
        for mut f in planned.fees {
            f.obligation = f.obligation.map(|r| renamed.get(&r).cloned().unwrap_or(r));
            f.origin = "amend".into();
            f.change = Some(cid);
            refs.push(f.fee_ref.clone());
            ag.fees.push(f);
        }
        ag.lines.extend(planned.lines);
        ag.start = ag.start.min(planned.start);
        ag.end = ag.end.max(planned.end);
        batch.put(keys::agreement(&ag.id), encode(&ag));
        Ok(Some((cid, refs)))
    }
}

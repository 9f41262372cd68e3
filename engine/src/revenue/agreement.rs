//! Agreement creation (06 §4) and ASC 606 transaction price, allocation and obligations (§5):
//! one agreement per order, all or nothing, in the caller's batch (activation's, or the
//! `ready_for_revenue` step's own).

use super::calc::{is_month_end, mfrac_scaled};
use super::keys;
use super::model::*;
use crate::allocation::largest_remainder;
use crate::callbacks as cb;
use crate::engine::{encode, Asset, Engine, Schedule, ScheduleType};
use crate::error::{Code, EngineError, Result};
use crate::model::{Account, Order, OrderLine, PriceType, Product};
use crate::money::minor_units;
use crate::schema::parse_decimal;
use crate::store::Batch;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// What agreement creation reads of one activated order line.
#[derive(Debug, Clone)]
pub(crate) struct LineFacts {
    /// `O-1/L1`.
    pub line_ref: String,
    /// The order line.
    pub line: OrderLine,
    /// Start.
    pub start: NaiveDate,
    /// End (`None`: evergreen).
    pub end: Option<NaiveDate>,
    /// Net price: the line's, else Σ of its contracted schedules.
    pub net_price: Decimal,
}

impl LineFacts {
    /// From an activated line.
    pub(crate) fn of(
        line_ref: String,
        line: &OrderLine,
        asset: &Asset,
        schedules: &[Schedule],
    ) -> Self {
        let net_price = line.net_price.unwrap_or_else(|| {
            schedules
                .iter()
                .filter(|s| s.schedule_type == ScheduleType::Contracted)
                .map(|s| s.amount)
                .sum()
        });
        LineFacts {
            line_ref,
            line: line.clone(),
            start: asset.terms.start,
            end: asset.terms.end,
            net_price,
        }
    }
}

/// One chain of a line before obligations: its rule, policy and share.
#[derive(Debug, Clone)]
struct Chain {
    line: usize,
    sequence: u32,
    policy: RevenuePolicy,
    percent: Decimal,
    tp: Decimal,
    allocation: Decimal,
    merge: Option<String>,
    split: bool,
}

fn refuse(code: Code, record: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, msg)
}

fn callback_failed(name: &str, record: &str, msg: impl std::fmt::Display) -> EngineError {
    refuse(
        Code::CallbackFailed,
        record,
        name,
        format!("callback `{name}` failed: {msg}"),
    )
}

fn ssp_of(line: &OrderLine, product: &Product) -> Option<Decimal> {
    let v = line.extra.get("ssp").or_else(|| product.extra.get("ssp"))?;
    match v {
        serde_yaml::Value::String(s) => parse_decimal(s),
        serde_yaml::Value::Number(n) => parse_decimal(&n.to_string()),
        _ => None,
    }
}

impl Engine {
    /// Read an agreement.
    pub fn revenue_agreement(&self, id: &str) -> Result<Option<Agreement>> {
        self.get(&keys::agreement(id))
    }

    /// Read an obligation by its ref (`O-1#1`).
    pub fn revenue_obligation(&self, r: &str) -> Result<Option<Obligation>> {
        self.get(&keys::obligation(r))
    }

    /// Every agreement, in id order.
    pub fn revenue_agreements(&self) -> Result<Vec<Agreement>> {
        self.store
            .scan(&keys::agreements())?
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    }

    /// The `ready_for_revenue` step (06 §13): set the order's date and create its agreement, in
    /// one commit.
    pub fn ready_for_revenue(&self, order_id: &str, date: NaiveDate) -> Result<Agreement> {
        let record = format!("order {order_id}");
        let Some(mut stored) = self.order(order_id)? else {
            return Err(refuse(
                Code::UnknownOrder,
                &record,
                "order",
                "no such order",
            ));
        };
        if stored.activated_on.is_none() {
            return Err(refuse(
                Code::OrderNotActivated,
                &record,
                "order",
                "the order is not activated; activate it first",
            ));
        }
        let account = self.known_account(&stored.order.account, &record)?;
        let mut lines = Vec::new();
        for l in &stored.order.lines {
            let line_ref = format!("{order_id}/{}", l.id);
            let Some(asset) = self.asset(&line_ref)? else {
                continue;
            };
            let schedules = self.schedules(&line_ref)?;
            lines.push(LineFacts::of(line_ref, l, &asset, &schedules));
        }
        stored.order.ready_for_revenue_date = Some(date);
        let mut batch = Batch::default();
        let ag = self.plan_agreement(&stored.order, &account, &lines, date, &mut batch)?;
        batch.put(crate::engine::key(&["order", order_id]), encode(&stored));
        self.store.commit(batch)?;
        Ok(ag)
    }

    /// Everything agreement creation writes for `order`, into `batch` (06 §4); nothing is written
    /// when it fails.
    pub(crate) fn plan_agreement(
        &self,
        order: &Order,
        account: &Account,
        lines: &[LineFacts],
        ready: NaiveDate,
        batch: &mut Batch,
    ) -> Result<Agreement> {
        let record = format!("agreement:{}", order.id);
        if self.revenue_agreement(&order.id)?.is_some() {
            return Err(refuse(
                Code::AgreementExists,
                &record,
                "order",
                format!("order {} already has an agreement", order.id),
            ));
        }
        let rev = RevenueRules::of(&self.rules);
        let settings = RevenueSettings::of(&self.rules);
        let asc606 = settings.enable_asc606;
        let scale = minor_units(&account.currency).unwrap_or(2);
        // 1. Policies per line; `none` lines carry no revenue.
        let mut used: Vec<(
            &LineFacts,
            &Product,
            Option<RevenuePolicy>,
            Option<SplitMergePolicy>,
        )> = Vec::new();
        for lf in lines {
            let product = self.rules.products.get(&lf.line.product).ok_or_else(|| {
                refuse(
                    Code::UnknownProduct,
                    &lf.line_ref,
                    "product",
                    format!("no product `{}`", lf.line.product),
                )
            })?;
            let own = product
                .extra
                .get("revenue_policy")
                .and_then(|v| v.as_str())
                .map(str::to_string);
            if own.as_deref() == Some("none") {
                continue;
            }
            let sm = product
                .extra
                .get("split_merge_policy")
                .and_then(|v| v.as_str())
                .and_then(|n| rev.split_merge.get(n))
                .cloned()
                .filter(|p| asc606 || p.kind != SplitMergeType::Split);
            let name = own.or_else(|| settings.default_revenue_policy.clone());
            let is_split = sm.as_ref().is_some_and(|p| p.kind == SplitMergeType::Split);
            let policy = match &name {
                Some(n) => Some(rev.policies.get(n).cloned().ok_or_else(|| {
                    refuse(
                        Code::NoRevenuePolicy,
                        &lf.line_ref,
                        "revenue_policy",
                        format!("no revenue policy `{n}`"),
                    )
                })?),
                None if is_split => None,
                None => {
                    return Err(refuse(
                        Code::NoRevenuePolicy,
                        &lf.line_ref,
                        "revenue_policy",
                        format!(
                            "product `{}` names no revenue_policy and system.default_revenue_policy is not set",
                            product.code
                        ),
                    ))
                }
            };
            used.push((lf, product, policy, sm));
        }
        let legal_entity = account.legal_entity.clone().ok_or_else(|| {
            refuse(
                Code::NoLegalEntity,
                &format!("account {}", account.id),
                "legal_entity",
                format!("account {} has no legal_entity", account.id),
            )
        })?;
        // 2. Dates.
        let mut start = NaiveDate::MAX;
        let mut end = NaiveDate::MIN;
        for (lf, ..) in &used {
            start = start.min(lf.start);
            end = end.max(lf.end.unwrap_or(lf.start));
        }
        if used.is_empty() {
            let first = lines.iter().map(|l| l.start).min().unwrap_or(ready);
            start = first;
            end = lines
                .iter()
                .map(|l| l.end.unwrap_or(l.start))
                .max()
                .unwrap_or(first);
        }
        // 3. Chains.
        let mut chains: Vec<Chain> = Vec::new();
        for (i, (lf, product, policy, sm)) in used.iter().enumerate() {
            let merge = sm
                .as_ref()
                .filter(|p| p.kind == SplitMergeType::Merge)
                .map(|p| p.name.clone());
            match sm.as_ref().filter(|p| p.kind == SplitMergeType::Split) {
                Some(split) => {
                    for e in split.sorted_entries() {
                        let p = rev
                            .policies
                            .get(&e.revenue_policy)
                            .cloned()
                            .ok_or_else(|| {
                                refuse(
                                    Code::NoRevenuePolicy,
                                    &lf.line_ref,
                                    "revenue_policy",
                                    format!("no revenue policy `{}`", e.revenue_policy),
                                )
                            })?;
                        chains.push(Chain {
                            line: i,
                            sequence: e.sequence,
                            policy: p,
                            percent: e.percent,
                            tp: Decimal::ZERO,
                            allocation: Decimal::ZERO,
                            merge: None,
                            split: true,
                        });
                    }
                }
                None => chains.push(Chain {
                    line: i,
                    sequence: 0,
                    policy: policy
                        .clone()
                        .unwrap_or_else(|| unreachable_policy(product)),
                    percent: Decimal::ONE_HUNDRED,
                    tp: Decimal::ZERO,
                    allocation: Decimal::ZERO,
                    merge,
                    split: false,
                }),
            }
        }
        // 4. Fee terms.
        for c in &chains {
            let lf = used[c.line].0;
            let rule = c.policy.effective_rule();
            let time = matches!(
                rule,
                Rule::Ratable | Rule::RatableDay | Rule::Prepay | Rule::TrueUp
            );
            if time && lf.end.is_none_or(|e| e < lf.start) {
                return Err(refuse(
                    Code::BadRevenueTerm,
                    &lf.line_ref,
                    "end",
                    format!(
                        "a `{}` fee needs an end on or after its start {}",
                        rule.as_str(),
                        lf.start
                    ),
                ));
            }
            if matches!(rule, Rule::Prepay | Rule::TrueUp) && lf.line.net_price.is_none() {
                return Err(refuse(
                    Code::CommitmentMissing,
                    &lf.line_ref,
                    "net_price",
                    format!(
                        "a `{}` fee needs the line's net_price (the commitment)",
                        rule.as_str()
                    ),
                ));
            }
        }
        let mut agreement_lines = Vec::new();
        let mut obligations: Vec<Obligation> = Vec::new();
        if asc606 {
            // 5. Transaction price and allocation per line.
            let request = self.agreement_request(order, account, &used, scale)?;
            let tps = match self.callbacks.transaction_price() {
                Some(cbk) => {
                    let out = cbk
                        .price_lines(&cb::AgreementRequest {
                            config: Default::default(),
                            agreement: request.clone(),
                        })
                        .map_err(|e| callback_failed("transaction_price", &record, e))?;
                    per_line("transaction_price", &record, &request, out)?
                }
                None => used.iter().map(|(lf, ..)| lf.net_price).collect(),
            };
            let mut with_tp = request.clone();
            for (l, tp) in with_tp.lines.iter_mut().zip(&tps) {
                l.transaction_price = Some(cb::Money {
                    amount: tp.to_string(),
                    currency: account.currency.clone(),
                });
            }
            let allocations = match self.callbacks.revenue_allocation() {
                Some(cbk) => {
                    let out = cbk
                        .allocate(&cb::AgreementRequest {
                            config: Default::default(),
                            agreement: with_tp.clone(),
                        })
                        .map_err(|e| {
                            // 07 §1: a sum violation is the engine's allocation_mismatch.
                            if e.reason.as_deref() == Some("sum_mismatch") {
                                refuse(Code::AllocationMismatch, &record, "allocation", e.message)
                            } else {
                                callback_failed("revenue_allocation", &record, e)
                            }
                        })?;
                    per_line("revenue_allocation", &record, &with_tp, out)?
                }
                None if settings.relative_ssp => self.relative_ssp(&used, &chains, &tps, scale)?,
                None => tps.clone(),
            };
            let sum_tp: Decimal = tps.iter().copied().sum();
            let sum_alloc: Decimal = allocations.iter().copied().sum();
            if sum_tp != sum_alloc {
                return Err(refuse(
                    Code::AllocationMismatch,
                    &record,
                    "allocation",
                    format!(
                        "allocations sum to {sum_alloc}, transaction prices to {sum_tp} (difference {})",
                        sum_alloc - sum_tp
                    ),
                ));
            }
            for (i, (lf, product, ..)) in used.iter().enumerate() {
                agreement_lines.push(AgreementLine {
                    order_line: lf.line_ref.clone(),
                    net_price: lf.net_price,
                    transaction_price: tps[i],
                    allocation: allocations[i],
                    ssp: ssp_of(&lf.line, product),
                    start: lf.start,
                    end: lf.end.unwrap_or(lf.start),
                });
                // Chain shares by entry percent (largest remainder).
                let idx: Vec<usize> = (0..chains.len()).filter(|&c| chains[c].line == i).collect();
                let w: Vec<Decimal> = idx.iter().map(|&c| chains[c].percent).collect();
                let tp_parts = largest_remainder(tps[i], &w, scale);
                let al_parts = largest_remainder(allocations[i], &w, scale);
                for (k, &c) in idx.iter().enumerate() {
                    chains[c].tp = tp_parts[k];
                    chains[c].allocation = al_parts[k];
                }
            }
        } else {
            for c in &mut chains {
                c.tp = used[c.line].0.net_price;
                c.allocation = c.tp;
            }
        }
        // 6. Fees.
        let mut fees: Vec<Fee> = Vec::new();
        let mut per_line_n: BTreeMap<usize, u32> = BTreeMap::new();
        for c in &chains {
            let (lf, product, ..) = used[c.line];
            let n = per_line_n.entry(c.line).or_insert(0);
            *n += 1;
            let rule = c.policy.effective_rule();
            let end_date = match rule {
                Rule::Immediate => lf.start,
                _ => lf.end.unwrap_or(lf.start),
            };
            let usage = product.price_type == PriceType::Usage
                && matches!(rule, Rule::Ratable | Rule::RatableDay);
            let fee_type = if usage {
                "usage"
            } else if rule == Rule::Subscription {
                "subscription"
            } else {
                "flat"
            };
            let milestones = if rule == Rule::Milestone {
                c.policy
                    .milestone_list()
                    .into_iter()
                    .map(|m| FeeMilestone {
                        name: m.name,
                        percent: m.percent,
                        expected: None,
                        actual: None,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            fees.push(Fee {
                fee_ref: format!("{}#{n}", lf.line_ref),
                line: lf.line_ref.clone(),
                chain: c.sequence,
                rule,
                policy: c.policy.name.clone(),
                fee_type: fee_type.into(),
                amount: if usage { Decimal::ZERO } else { c.allocation },
                transaction_price: if asc606 { c.tp } else { Decimal::ZERO },
                start: lf.start,
                end: end_date,
                obligation: None,
                origin: "order".into(),
                parent: None,
                ignore_leap_year: settings.ignore_leap_year,
                line_net_price: lf.net_price,
                milestones,
                percent_actual: BTreeMap::new(),
                percent_forecast: BTreeMap::new(),
                manual: BTreeMap::new(),
                manual_forecast: BTreeMap::new(),
                frozen: None,
                revenue_account: c
                    .policy
                    .revenue_account
                    .clone()
                    .unwrap_or_else(|| settings.gl_revenue_account.clone()),
                deferred_account: c
                    .policy
                    .deferred_account
                    .clone()
                    .unwrap_or_else(|| settings.gl_deferred_account.clone()),
                percent: c.percent,
                change: None,
                frozen_by: None,
            });
        }
        // 7. Obligations.
        if asc606 && !chains.is_empty() {
            let groups = self.obligation_groups(
                order,
                account,
                &used,
                &chains,
                &fees,
                &request_currency(account),
                &record,
            )?;
            let mut n = 0;
            for (existing, members) in groups {
                let oref = match &existing {
                    Some(r) => r.clone(),
                    None => {
                        n += 1;
                        format!("{}#{n}", order.id)
                    }
                };
                let mut ob = match &existing {
                    Some(r) => self.revenue_obligation(r)?.ok_or_else(|| {
                        callback_failed(
                            "obligation_merge",
                            &record,
                            format!("no open obligation `{r}`"),
                        )
                    })?,
                    None => {
                        let (s, e) = members
                            .iter()
                            .map(|&f| {
                                let lf = used[chains[f].line].0;
                                (lf.start, lf.end.unwrap_or(lf.start))
                            })
                            .fold((NaiveDate::MAX, NaiveDate::MIN), |(a, b), (s, e)| {
                                (a.min(s), b.max(e))
                            });
                        Obligation {
                            obligation_ref: oref.clone(),
                            agreement: order.id.clone(),
                            transaction_price: Decimal::ZERO,
                            allocation: Decimal::ZERO,
                            start: s,
                            end: e,
                            rule: String::new(),
                            fees: Vec::new(),
                            account: account.id.clone(),
                            legal_entity: legal_entity.clone(),
                            currency: account.currency.clone(),
                        }
                    }
                };
                for &f in &members {
                    fees[f].obligation = Some(oref.clone());
                    ob.fees.push(fees[f].fee_ref.clone());
                    ob.transaction_price += fees[f].transaction_price;
                    ob.allocation += fees[f].amount;
                    if existing.is_some() {
                        ob.end = ob.end.max(fees[f].end);
                    }
                }
                obligations.push(ob);
            }
        }
        // Rules of obligations: recomputed from the fees they hold.
        let all_fees: BTreeMap<String, Rule> =
            fees.iter().map(|f| (f.fee_ref.clone(), f.rule)).collect();
        for ob in &mut obligations {
            let rules: BTreeSet<&str> = ob
                .fees
                .iter()
                .map(|f| {
                    all_fees
                        .get(f)
                        .map(|r| r.as_str())
                        .unwrap_or_else(|| ob.rule.as_str())
                })
                .collect();
            ob.rule = if rules.len() == 1 {
                rules.into_iter().next().unwrap_or_default().to_string()
            } else {
                "mixed".into()
            };
        }
        let ag = Agreement {
            id: order.id.clone(),
            name: order.id.clone(),
            order: order.id.clone(),
            account: account.id.clone(),
            location: order.location.clone(),
            legal_entity: legal_entity.clone(),
            currency: account.currency.clone(),
            standard: if asc606 {
                Standard::Asc606
            } else {
                Standard::Asc605
            },
            start,
            end,
            ready_for_revenue_date: ready,
            status: if settings.agreement_auto_activate {
                AgreementStatus::Activated
            } else {
                AgreementStatus::Draft
            },
            revrec_active: true,
            forecast_active: true,
            lines: agreement_lines,
            fees,
            obligations: obligations
                .iter()
                .filter(|o| o.agreement == order.id)
                .map(|o| o.obligation_ref.clone())
                .collect(),
            adjustments: Vec::new(),
            changes: 0,
        };
        // The entity's first open period is its `revenue_period` (a month end), else the month
        // end of its earliest agreement's eligibility start; it is stored at the first close or
        // reopen (`Engine::revenue_period`), so agreements activated together in one group
        // commit cannot race for it.
        if let Some(d) = self
            .legal_entity(&legal_entity)?
            .and_then(|l| l.revenue_period)
        {
            if !is_month_end(d) {
                return Err(refuse(
                    Code::PeriodNotMonthEnd,
                    &format!("legal entity {legal_entity}"),
                    "revenue_period",
                    format!("{d} is not a month end"),
                ));
            }
        }
        for ob in &obligations {
            batch.put(keys::obligation(&ob.obligation_ref), encode(ob));
        }
        batch.put(keys::agreement(&ag.id), encode(&ag));
        Ok(ag)
    }

    fn agreement_request(
        &self,
        order: &Order,
        account: &Account,
        used: &[(
            &LineFacts,
            &Product,
            Option<RevenuePolicy>,
            Option<SplitMergePolicy>,
        )],
        scale: u32,
    ) -> Result<cb::Agreement> {
        let money = |d: Decimal| cb::Money {
            amount: crate::money::round(d, scale, crate::money::Rounding::HalfUp).to_string(),
            currency: account.currency.clone(),
        };
        let lines = used
            .iter()
            .map(|(lf, product, ..)| cb::AgreementLine {
                id: lf.line_ref.clone(),
                order_line_id: Some(lf.line.id.clone()),
                product: self.product_info(&product.code),
                quantity: lf.line.quantity.normalize().to_string(),
                start_date: lf.start.to_string(),
                end_date: lf.end.unwrap_or(lf.start).to_string(),
                net_price: money(lf.net_price),
                list_price: lf.line.list_price.or(product.list_price).map(money),
                ssp: ssp_of(&lf.line, product).map(money),
                transaction_price: None,
                attributes: lf.line.attributes.clone(),
            })
            .collect::<Vec<_>>();
        let start = used.iter().map(|u| u.0.start).min();
        let end = used.iter().map(|u| u.0.end.unwrap_or(u.0.start)).max();
        Ok(cb::Agreement {
            id: order.id.clone(),
            account: self.account_info(account),
            currency: account.currency.clone(),
            order_id: Some(order.id.clone()),
            start_date: start.map(|d| d.to_string()).unwrap_or_default(),
            end_date: end.map(|d| d.to_string()).unwrap_or_default(),
            lines,
        })
    }

    /// Relative SSP (06 §5): Σ TP of the participating lines split by SSP weight; usage and
    /// subscription lines keep their TP.
    fn relative_ssp(
        &self,
        used: &[(
            &LineFacts,
            &Product,
            Option<RevenuePolicy>,
            Option<SplitMergePolicy>,
        )],
        chains: &[Chain],
        tps: &[Decimal],
        scale: u32,
    ) -> Result<Vec<Decimal>> {
        let variable = |i: usize| {
            used[i].1.price_type == PriceType::Usage
                || chains
                    .iter()
                    .filter(|c| c.line == i)
                    .all(|c| c.policy.effective_rule() == Rule::Subscription)
        };
        let mut out = tps.to_vec();
        let part: Vec<usize> = (0..used.len()).filter(|&i| !variable(i)).collect();
        if part.is_empty() {
            return Ok(out);
        }
        let mut weights = Vec::new();
        for &i in &part {
            let (lf, product, ..) = used[i];
            let w = match lf.line.extra.get("ssp") {
                Some(_) => ssp_of(&lf.line, product),
                None => ssp_of(&lf.line, product)
                    .map(|unit| unit * lf.line.quantity * selling_periods(lf, product)),
            };
            weights.push(w.ok_or_else(|| {
                refuse(
                    Code::SspMissing,
                    &lf.line_ref,
                    "ssp",
                    format!("neither the line nor product `{}` has an ssp", product.code),
                )
            })?);
        }
        if weights.iter().all(|w| w.is_zero()) {
            return Err(refuse(
                Code::SspAllZero,
                &used[part[0]].0.line_ref,
                "ssp",
                "every participating line's SSP weight is 0",
            ));
        }
        let total: Decimal = part.iter().map(|&i| tps[i]).sum();
        let parts = largest_remainder(total, &weights, scale);
        for (k, &i) in part.iter().enumerate() {
            out[i] = parts[k];
        }
        Ok(out)
    }

    /// Obligation groups: (an existing obligation to join, the fee indexes it gets), in creation
    /// order. Default (06 §4 step 7) or the `obligation_merge` callback.
    #[allow(clippy::too_many_arguments)]
    fn obligation_groups(
        &self,
        order: &Order,
        account: &Account,
        used: &[(
            &LineFacts,
            &Product,
            Option<RevenuePolicy>,
            Option<SplitMergePolicy>,
        )],
        chains: &[Chain],
        fees: &[Fee],
        _currency: &str,
        record: &str,
    ) -> Result<Vec<(Option<String>, Vec<usize>)>> {
        let Some(cbk) = self.callbacks.obligation_merge() else {
            let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
            let mut merge_at: BTreeMap<String, usize> = BTreeMap::new();
            for (i, c) in chains.iter().enumerate() {
                match (&c.merge, c.split) {
                    (Some(m), false) => match merge_at.get(m) {
                        Some(&g) => groups[g].1.push(i),
                        None => {
                            merge_at.insert(m.clone(), groups.len());
                            groups.push((None, vec![i]));
                        }
                    },
                    _ => groups.push((None, vec![i])),
                }
            }
            return Ok(groups);
        };
        let request = self.agreement_request(
            order,
            account,
            used,
            minor_units(&account.currency).unwrap_or(2),
        )?;
        let candidates: Vec<cb::ObligationCandidate> = chains
            .iter()
            .zip(fees)
            .map(|(c, f)| cb::ObligationCandidate {
                id: f.fee_ref.clone(),
                agreement_id: order.id.clone(),
                line_id: f.line.clone(),
                split_sequence: c.split.then_some(c.sequence),
                product: self.product_info(&used[c.line].1.code),
                revenue_policy: Some(c.policy.name.clone()),
                merge_policy: c.merge.clone(),
                start_date: f.start.to_string(),
                end_date: f.end.to_string(),
                transaction_price: cb::Money {
                    amount: c.tp.to_string(),
                    currency: account.currency.clone(),
                },
                allocation: cb::Money {
                    amount: c.allocation.to_string(),
                    currency: account.currency.clone(),
                },
            })
            .collect();
        let open = self.open_obligations(account)?;
        let plans = cbk
            .merge_obligations(&cb::ObligationRequest {
                config: Default::default(),
                agreement: request,
                candidates: candidates.clone(),
                open_obligations: open
                    .iter()
                    .map(|o| cb::OpenObligation {
                        id: o.obligation_ref.clone(),
                        revenue_policy: o.rule.clone(),
                        currency: o.currency.clone(),
                        start_date: o.start.to_string(),
                        end_date: o.end.to_string(),
                        line_ids: o.fees.clone(),
                    })
                    .collect(),
            })
            .map_err(|e| callback_failed("obligation_merge", record, e))?;
        let mut placed = vec![false; candidates.len()];
        let mut groups = Vec::new();
        for p in plans {
            if let Some(x) = &p.existing {
                if !open.iter().any(|o| &o.obligation_ref == x) {
                    return Err(callback_failed(
                        "obligation_merge",
                        record,
                        format!(
                            "`{x}` is not an open obligation of account {} in {}",
                            account.id, account.currency
                        ),
                    ));
                }
            }
            let mut members = Vec::new();
            for id in &p.candidate_ids {
                let Some(i) = candidates.iter().position(|c| &c.id == id) else {
                    return Err(callback_failed("obligation_merge", id, "unknown chain"));
                };
                if placed[i] {
                    return Err(callback_failed(
                        "obligation_merge",
                        id,
                        "chain placed twice",
                    ));
                }
                placed[i] = true;
                members.push(i);
            }
            if !members.is_empty() {
                groups.push((p.existing.clone(), members));
            }
        }
        if let Some(i) = placed.iter().position(|p| !p) {
            return Err(callback_failed(
                "obligation_merge",
                &candidates[i].id,
                "chain never placed",
            ));
        }
        Ok(groups)
    }

    /// Open obligations of other agreements of the same account, entity and currency.
    fn open_obligations(&self, account: &Account) -> Result<Vec<Obligation>> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan(&keys::obligations())? {
            let o: Obligation = crate::engine::decode(&k, &v)?;
            if o.account == account.id
                && Some(&o.legal_entity) == account.legal_entity.as_ref()
                && o.currency == account.currency
                && self.obligation_status(&o)? == "open"
            {
                out.push(o);
            }
        }
        Ok(out)
    }
}

fn request_currency(a: &Account) -> String {
    a.currency.clone()
}

/// A split line's product policy is never used; an unsplit line always has one (checked above).
fn unreachable_policy(product: &Product) -> RevenuePolicy {
    RevenuePolicy {
        name: format!("{}-none", product.code),
        description: String::new(),
        rule: Rule::Manual,
        is_milestone: false,
        milestones: None,
        revenue_account: None,
        deferred_account: None,
    }
}

/// The term in selling periods (01's `net_price` formula without discount): one-time and usage
/// lines 1; recurring lines their months (partial months by day fraction) over the selling
/// frequency's months.
fn selling_periods(lf: &LineFacts, product: &Product) -> Decimal {
    match (
        product.price_type,
        product.selling_frequency().months(),
        lf.end,
    ) {
        (PriceType::Recurring, Some(months), Some(end)) => {
            Decimal::from(mfrac_scaled(lf.start, end, false))
                / Decimal::from(377_580i64 * i64::from(months))
        }
        _ => Decimal::ONE,
    }
}

/// One amount per request line, in line order, in the agreement currency.
fn per_line(
    name: &str,
    record: &str,
    req: &cb::Agreement,
    out: Vec<cb::LineAmount>,
) -> Result<Vec<Decimal>> {
    if out.len() != req.lines.len() {
        return Err(callback_failed(
            name,
            record,
            format!(
                "returned {} amounts for {} lines",
                out.len(),
                req.lines.len()
            ),
        ));
    }
    let mut by_line: BTreeMap<&str, Decimal> = BTreeMap::new();
    for a in &out {
        if !req.lines.iter().any(|l| l.id == a.line_id) {
            return Err(callback_failed(name, &a.line_id, "unknown line"));
        }
        if a.amount.currency != req.currency {
            return Err(callback_failed(
                name,
                &a.line_id,
                format!(
                    "amount in {}, the agreement is in {}",
                    a.amount.currency, req.currency
                ),
            ));
        }
        let v = parse_decimal(&a.amount.amount)
            .ok_or_else(|| callback_failed(name, &a.line_id, "amount is not a decimal"))?;
        if by_line.insert(&a.line_id, v).is_some() {
            return Err(callback_failed(name, &a.line_id, "line returned twice"));
        }
    }
    Ok(req.lines.iter().map(|l| by_line[l.id.as_str()]).collect())
}

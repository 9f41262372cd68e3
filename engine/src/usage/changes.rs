//! Usage lines in changes (03 B.4): steps 2–4 of A.3 are replaced so that usage is split by the
//! dates of rated inputs, never by days. Cancel, end changes and tier changes
//! (`amend: {line, on, usage_tiers}`) of usage lines run here, each in one atomic batch.

use super::rating::{input_key, is_usage_row, row_key, RowUsage, UsageInput};
use crate::billing::tx::Tx;
use crate::changes::{change_key, check_cancel_date, AssetStatus, ChangeOutcome, ChangeRecord};
use crate::engine::{key, schedule_key, split_line_ref, Asset, Engine, Schedule, ScheduleStatus};
use crate::error::{Code, EngineError, Result};
use crate::schedule::{self, Price};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// A usage-line amend (03 A.1: usage lines take `end` and `usage_tiers`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AmendUsage {
    /// The asset.
    pub line: String,
    /// E for a tier change (an end-only change derives E, A.2).
    pub on: NaiveDate,
    /// New end N.
    pub end: Option<NaiveDate>,
    /// New tier table (the product needs `usage_tiers_modifiable`).
    pub usage_tiers: Option<String>,
    /// Ready date under billing rule `ready_for_billing_date` (default `on`).
    pub ready_for_billing_date: Option<NaiveDate>,
}

use crate::changes::netting::rank;

fn refuse(code: Code, line: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, line, field, msg)
}

fn pred(d: NaiveDate) -> NaiveDate {
    d.pred_opt().unwrap_or(d)
}

fn succ(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(d)
}

fn live(s: &Schedule) -> bool {
    !matches!(
        s.status,
        ScheduleStatus::Superseded | ScheduleStatus::Cancelled
    )
}

/// A row this change creates, before numbering.
struct New {
    start: NaiveDate,
    end: NaiveDate,
    kind: &'static str,
    status: ScheduleStatus,
    amount: Decimal,
    origin: Option<String>,
    debit: Option<String>,
    /// Inputs it takes (`seq`), and whether it is re-rated (a cancelled portion keeps the
    /// inputs' current amounts).
    inputs: Vec<u64>,
    rerate: bool,
    usage: bool,
    tiers: Option<String>,
    quantity: Decimal,
    /// Index of the usage row a `minimum_fee` companion belongs to.
    parent: Option<usize>,
}

pub(crate) fn tiers_key(o: &str, l: &str) -> Vec<u8> {
    key(&["usage", "tiers", o, l])
}

/// V of a usage line (A.5 with B.4) as `tx` has it: Σ amount (minimum fees included) over its
/// live contracted rows.
pub(crate) fn usage_value(tx: &Tx<'_>, o: &str, l: &str) -> Result<Decimal> {
    Ok(tx
        .scan(&key(&["sched", o, l, ""]))?
        .iter()
        .map(|(k, v)| crate::engine::decode::<Schedule>(k, v))
        .collect::<Result<Vec<_>>>()?
        .iter()
        .filter(|s| live(s) && s.schedule_type == crate::engine::ScheduleType::Contracted)
        .map(|s| s.amount)
        .sum())
}

impl Engine {
    /// `amend` on a usage line (called from [`Engine::amend`]): only `end` applies there (A.1;
    /// tiers come through [`Engine::amend_usage`]). `None` when the line is not a usage line.
    pub(crate) fn amend_on_usage_line(
        &self,
        req: &crate::changes::Amend,
    ) -> Result<Option<ChangeOutcome>> {
        if !self.is_usage_line(&req.line)? {
            return Ok(None);
        }
        let other = [
            ("quantity", req.quantity.is_some()),
            ("list_price", req.list_price.is_some()),
            ("discount_percent", req.discount_percent.is_some()),
            ("net_price", req.net_price.is_some()),
            ("billing_frequency", req.billing_frequency.is_some()),
        ];
        if let Some((k, _)) = other.iter().find(|(_, set)| *set) {
            return Err(refuse(
                Code::NotApplicable,
                &req.line,
                k,
                format!("`{k}` does not apply to a usage line (end and usage_tiers do)"),
            ));
        }
        self.amend_usage(&AmendUsage {
            line: req.line.clone(),
            on: req.on,
            end: req.end,
            usage_tiers: None,
            ready_for_billing_date: req.ready_for_billing_date,
        })
        .map(Some)
    }

    /// True when `line` is an activated usage line.
    pub fn is_usage_line(&self, line: &str) -> Result<bool> {
        Ok(self
            .asset(line)?
            .is_some_and(|a| self.usage_settings(&a).is_some()))
    }

    /// The tier table name new rows of a usage line rate with (after a tier change).
    pub fn current_usage_tiers(&self, line: &str) -> Result<Option<String>> {
        let (o, l) = split_line_ref(line).unwrap_or_default();
        self.get(&tiers_key(o, l))
    }

    fn usage_context(&self, line: &str) -> Result<(Asset, crate::changes::AssetTerms)> {
        let Some(asset) = self.asset(line)? else {
            return Err(refuse(
                Code::UnknownLine,
                line,
                "line",
                "no such active line",
            ));
        };
        let terms = self
            .asset_terms(line)?
            .ok_or_else(|| refuse(Code::UnknownLine, line, "line", "no such active line"))?;
        if matches!(
            terms.status,
            AssetStatus::Cancelled | AssetStatus::SwappedOut
        ) {
            return Err(refuse(
                Code::AssetCancelled,
                line,
                "line",
                "the asset is cancelled; roll the cancel back first",
            ));
        }
        Ok((asset, terms))
    }

    /// Amend a usage line (03 A.1, B.3 tier changes, B.4): new `usage_tiers` from E inclusive
    /// (F.16), and/or a new end.
    pub fn amend_usage(&self, req: &AmendUsage) -> Result<ChangeOutcome> {
        let line = req.line.as_str();
        let (asset, terms) = self.usage_context(line)?;
        let settings = self
            .usage_settings(&asset)
            .ok_or_else(|| refuse(Code::NotApplicable, line, "usage_tiers", "not a usage line"))?;
        let old_end = asset.terms.end.unwrap_or(asset.terms.start);
        if let Some(name) = &req.usage_tiers {
            if !settings.modifiable {
                return Err(refuse(
                    Code::TiersNotModifiable,
                    line,
                    "usage_tiers",
                    format!(
                        "product `{}` does not set usage_tiers_modifiable",
                        asset.product
                    ),
                ));
            }
            if super::settings::tier_table(&self.rules, name).is_none() {
                return Err(refuse(
                    Code::UnknownUsageTiers,
                    line,
                    "usage_tiers",
                    format!("no usage_tiers document `{name}`"),
                ));
            }
            let current = self
                .current_usage_tiers(line)?
                .or(settings.usage_tiers.clone());
            if current.as_deref() == Some(name.as_str()) && req.end.is_none_or(|e| e == old_end) {
                return Err(refuse(
                    Code::NoChange,
                    line,
                    "usage_tiers",
                    format!("the line already rates with `{name}`"),
                ));
            }
        }
        let (e, n) = match (&req.usage_tiers, req.end) {
            (None, None) => {
                return Err(refuse(
                    Code::NoChange,
                    line,
                    "amend",
                    "a usage line takes end and usage_tiers only",
                ))
            }
            (None, Some(end)) => {
                if end == old_end {
                    return Err(refuse(
                        Code::NoChange,
                        line,
                        "end",
                        format!("the line already ends on {end}"),
                    ));
                }
                if end < asset.terms.start {
                    return Err(refuse(
                        Code::EndBeforeEffective,
                        line,
                        "end",
                        format!("{end} is before the line start"),
                    ));
                }
                (succ(end.min(old_end)), end)
            }
            (Some(_), end) => {
                let n = end.unwrap_or(old_end);
                if req.on < asset.terms.start {
                    return Err(refuse(
                        Code::EffectiveBeforeStart,
                        line,
                        "on",
                        format!("{} is before the line start {}", req.on, asset.terms.start),
                    ));
                }
                if req.on > succ(old_end) {
                    return Err(refuse(
                        Code::EffectiveAfterEnd,
                        line,
                        "on",
                        format!("{} is after the line end {old_end} + 1", req.on),
                    ));
                }
                if n < req.on {
                    return Err(refuse(
                        Code::EndBeforeEffective,
                        line,
                        "end",
                        format!("{n} is before {}", req.on),
                    ));
                }
                (req.on, n)
            }
        };
        let status = if terms.status == AssetStatus::Renewed {
            AssetStatus::Renewed
        } else {
            AssetStatus::Active
        };
        self.usage_change(
            &asset,
            &terms,
            e,
            n,
            req.usage_tiers.clone(),
            "amendment",
            status,
            None,
            req.ready_for_billing_date.unwrap_or(req.on),
        )
    }

    /// Cancel a usage line from the entered date D (03 A.6 with B.4).
    pub fn cancel_usage(
        &self,
        line: &str,
        on: NaiveDate,
        rfbd: Option<NaiveDate>,
        same_day: bool,
    ) -> Result<ChangeOutcome> {
        let (asset, terms) = self.usage_context(line)?;
        let c = if same_day { on } else { succ(on) };
        let old_end = asset.terms.end.unwrap_or(asset.terms.start);
        check_cancel_date(line, c, old_end)?;
        self.usage_change(
            &asset,
            &terms,
            c,
            pred(c),
            None,
            "cancellation",
            AssetStatus::Cancelled,
            Some(c),
            rfbd.unwrap_or(on),
        )
    }

    /// B.4 over [e, n]; `tiers` the new table for step 1's rows.
    #[allow(clippy::too_many_arguments)]
    fn usage_change(
        &self,
        asset: &Asset,
        terms: &crate::changes::AssetTerms,
        e: NaiveDate,
        n: NaiveDate,
        tiers: Option<String>,
        category: &'static str,
        status: AssetStatus,
        cancellation_date: Option<NaiveDate>,
        rfbd: NaiveDate,
    ) -> Result<ChangeOutcome> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let line = asset.line.as_str();
        let (o, l) = split_line_ref(line).unwrap_or_default();
        let settings = self.usage_settings(asset).expect("usage line");
        let mut tx = Tx::new(self.store.as_ref());
        let rows = self.schedules(line)?;
        let available = self.available_credit(line)?;
        let new_tiers = tiers.clone().or(self.current_usage_tiers(line)?);
        let mut changed: Vec<Schedule> = Vec::new();
        let mut created: Vec<New> = Vec::new();
        // Inputs of the affected rows, with their dates and current amounts.
        let mut loose: Vec<UsageInput> = Vec::new();
        let mut billed_ranges: Vec<(NaiveDate, NaiveDate, String)> = Vec::new();
        let mut unbilled_ranges: Vec<(NaiveDate, NaiveDate, String)> = Vec::new();
        let credit = |x: &Schedule, created: &mut Vec<New>| -> Result<()> {
            if x.amount.is_zero() {
                return Ok(());
            }
            let have = available.get(&x.id).copied().unwrap_or_default();
            if have < x.amount {
                return Err(refuse(
                    Code::InsufficientAvailableCredit,
                    line,
                    "available_credit",
                    format!(
                        "the credit of {} needs {}, {} is available",
                        x.id, x.amount, have
                    ),
                ));
            }
            created.push(New {
                start: x.start,
                end: x.end,
                kind: "credit",
                status: ScheduleStatus::PendingBilling,
                amount: -x.amount,
                origin: Some(x.id.clone()),
                debit: Some(x.id.clone()),
                inputs: Vec::new(),
                rerate: false,
                usage: false,
                tiers: None,
                quantity: x.quantity,
                parent: None,
            });
            Ok(())
        };
        // Closed rows (credited in full, or settled by a rollback) take no part, nor do the
        // negative rows of earlier changes: they offset rows already credited (decision 270).
        let closed = self.closed_usage_rows(&tx, line, &rows)?;
        for x in rows.iter().filter(|x| {
            live(x)
                && x.end >= e
                && !closed.contains(&x.id)
                && (is_usage_row(x) || x.kind == "minimum_fee")
        }) {
            let billed = x.status == ScheduleStatus::Invoiced;
            let mut y = x.clone();
            if billed {
                y.change.superseded = true;
                credit(x, &mut created)?;
                if is_usage_row(x) {
                    let k = row_key(line, x.seq);
                    if let Some(mut u) = tx.get::<RowUsage>(&k)?.filter(|u| u.reopened) {
                        u.reopened = false;
                        tx.put(k, &u);
                    }
                }
            } else if x.start > n {
                y.status = ScheduleStatus::Cancelled;
            } else {
                y.status = ScheduleStatus::Superseded;
                y.change.superseded = true;
            }
            changed.push(y);
            if !is_usage_row(x) {
                continue;
            }
            if billed {
                billed_ranges.push((x.start, x.end, x.id.clone()));
            } else {
                unbilled_ranges.push((x.start, x.end, x.id.clone()));
            }
            if x.start > n {
                continue; // B.4 step 1: it keeps its inputs
            }
            let u: RowUsage = tx.get(&row_key(line, x.seq))?.unwrap_or_default();
            let mut ins = Vec::new();
            for s in &u.inputs {
                if let Some(i) = tx.get::<UsageInput>(&input_key(*s))? {
                    ins.push(i);
                }
            }
            if x.start < e {
                let before: Vec<u64> = ins
                    .iter()
                    .filter(|i| i.usage_date < e)
                    .map(|i| i.seq)
                    .collect();
                let q = ins
                    .iter()
                    .filter(|i| i.usage_date < e)
                    .map(|i| i.quantity)
                    .sum();
                created.push(New {
                    start: x.start,
                    end: pred(e),
                    kind: if billed { "rebill" } else { "pre_change" },
                    status: ScheduleStatus::PendingBilling,
                    amount: Decimal::ZERO,
                    origin: Some(x.id.clone()),
                    debit: None,
                    inputs: before,
                    rerate: true,
                    usage: true,
                    tiers: u.tiers.clone(),
                    quantity: q,
                    parent: None,
                });
            }
            if x.end > n {
                let after: Vec<&UsageInput> = ins.iter().filter(|i| i.usage_date > n).collect();
                created.push(New {
                    start: succ(n).max(x.start),
                    end: x.end,
                    kind: "cancelled_portion",
                    status: ScheduleStatus::Cancelled,
                    amount: after.iter().filter_map(|i| i.rated_amount).sum(),
                    origin: Some(x.id.clone()),
                    debit: None,
                    inputs: after.iter().map(|i| i.seq).collect(),
                    rerate: false,
                    usage: true,
                    tiers: u.tiers.clone(),
                    quantity: after.iter().map(|i| i.quantity).sum(),
                    parent: None,
                });
            }
            loose.extend(
                ins.into_iter()
                    .filter(|i| e <= i.usage_date && i.usage_date <= n),
            );
        }
        // Step 1's rows over [e, n] at usage_frequency with the new tiers.
        if n >= e {
            let mut t = asset.terms;
            t.start = e;
            t.end = Some(n);
            t.treatment = crate::model::Treatment::SeparatePeriod;
            t.ready_for_billing = Some(rfbd);
            let periods = schedule::generate(&t, Price::Rate(Decimal::ZERO), 0, 0)
                .map_err(|err| refuse(Code::MissingDates, line, "end", format!("{err:?}")))?;
            for p in periods {
                let over = |r: &&(NaiveDate, NaiveDate, String)| r.0 <= p.end && p.start <= r.1;
                let (kind, origin) = if let Some(r) = billed_ranges.iter().find(over) {
                    ("rebill", Some(r.2.clone()))
                } else if let Some(r) = unbilled_ranges.iter().find(over) {
                    ("replacement", Some(r.2.clone()))
                } else {
                    ("extension", None)
                };
                let mine: Vec<&UsageInput> = loose
                    .iter()
                    .filter(|i| p.start <= i.usage_date && i.usage_date <= p.end)
                    .collect();
                created.push(New {
                    start: p.start,
                    end: p.end,
                    kind,
                    status: ScheduleStatus::PendingBilling,
                    amount: Decimal::ZERO,
                    origin,
                    debit: None,
                    inputs: mine.iter().map(|i| i.seq).collect(),
                    rerate: true,
                    usage: true,
                    tiers: new_tiers.clone(),
                    quantity: mine.iter().map(|i| i.quantity).sum(),
                    parent: None,
                });
            }
        }
        // Every new live usage row gets its minimum_fee (B.4).
        if settings.minimum.is_some() {
            let parents: Vec<usize> = (0..created.len())
                .filter(|i| created[*i].usage && created[*i].rerate)
                .collect();
            for i in parents {
                let p = &created[i];
                created.push(New {
                    start: p.start,
                    end: p.end,
                    kind: "minimum_fee",
                    status: ScheduleStatus::PendingBilling,
                    amount: Decimal::ZERO,
                    origin: None,
                    debit: None,
                    inputs: Vec::new(),
                    rerate: false,
                    usage: false,
                    tiers: None,
                    quantity: Decimal::ZERO,
                    parent: Some(i),
                });
            }
        }
        // §0 numbering: (start, kind rank, end).
        let mut order: Vec<usize> = (0..created.len()).collect();
        order.sort_by_key(|i| (created[*i].start, rank(created[*i].kind), created[*i].end));
        let mut next = rows.iter().map(|s| s.seq).max().unwrap_or(0);
        let mut seq_of: BTreeMap<usize, u32> = BTreeMap::new();
        for i in &order {
            next += 1;
            seq_of.insert(*i, next);
        }
        let ready = |a: NaiveDate, b: NaiveDate| {
            let mut x = asset.terms;
            x.start = a;
            x.end = Some(b);
            x.ready_for_billing = Some(rfbd);
            schedule::single_period(&x, Decimal::ZERO)
                .map(|p| p.ready)
                .unwrap_or(a)
        };
        let mut touched_drafts = Vec::new();
        for y in &changed {
            if rows
                .iter()
                .any(|r| r.id == y.id && r.status == ScheduleStatus::PendingInvoiced)
                && y.status != ScheduleStatus::PendingInvoiced
            {
                touched_drafts.push(y.id.clone());
            }
            tx.put(schedule_key(o, l, y.seq), y);
        }
        let mut rerate = Vec::new();
        let mut out_created = Vec::new();
        for i in &order {
            let c = &created[*i];
            let seq = seq_of[i];
            let id = format!("{line}#{seq}");
            let origin = match c.parent {
                Some(p) => Some(format!("{line}#{}", seq_of[&p])),
                None => c.origin.clone(),
            };
            let s = Schedule {
                id: id.clone(),
                line: line.to_string(),
                seq,
                start: c.start,
                end: c.end,
                ready: ready(c.start, c.end),
                amount: c.amount,
                quantity: c.quantity,
                schedule_type: asset.schedule_type,
                status: c.status,
                kind: c.kind.into(),
                category: category.into(),
                invoice: None,
                change: crate::changes::RowChange {
                    superseded: false,
                    origin,
                    debit_schedule: c.debit.clone(),
                    swapped_from: None,
                },
                plan: None,
            };
            tx.put(schedule_key(o, l, seq), &s);
            if c.usage {
                tx.put(
                    row_key(line, seq),
                    &RowUsage {
                        inputs: c.inputs.clone(),
                        quantity: c.quantity,
                        tiers: c.tiers.clone(),
                        ..Default::default()
                    },
                );
                for n in &c.inputs {
                    if let Some(mut inp) = tx.get::<UsageInput>(&input_key(*n))? {
                        inp.usage_schedule = Some(id.clone());
                        tx.put(input_key(*n), &inp);
                    }
                }
                if c.rerate {
                    rerate.push(seq);
                }
            }
            out_created.push(id);
        }
        // The asset (first rows' tiers are the new rows' tiers from now on).
        if tiers.is_some() {
            tx.put(tiers_key(o, l), &tiers);
        }
        for seq in rerate {
            self.rerate_row(&mut tx, line, seq)?;
        }
        let stale = self.mark_stale_in(&mut tx, &touched_drafts)?;
        let mut next_asset = asset.clone();
        if n >= next_asset.terms.start {
            next_asset.terms.end = Some(n);
        }
        tx.put(key(&["asset", o, l]), &next_asset);
        // V (A.5 for usage lines) = Σ amount + minimum_fee over the current rows.
        let v = usage_value(&tx, o, l)?;
        let mut t2 = terms.clone();
        t2.status = status;
        t2.net_price = v;
        if cancellation_date.is_some() {
            t2.cancellation_date = cancellation_date;
        }
        t2.changes += 1;
        tx.put(key(&["chgterms", o, l]), &t2);
        // The change's record, for a rollback (A.6; decision 271).
        let record = ChangeRecord {
            n: t2.changes,
            kind: if category == "cancellation" {
                "cancel"
            } else {
                "amend"
            }
            .into(),
            effective: e,
            category: category.into(),
            created: out_created.clone(),
            moved: changed
                .iter()
                .filter(|y| !live(y))
                .map(|y| y.id.clone())
                .collect(),
            prior_terms: terms.clone(),
            prior_asset: asset.clone(),
            undone: false,
            swap_to: None,
            revenue_change: None,
            flagged: changed
                .iter()
                .filter(|y| live(y))
                .map(|y| y.id.clone())
                .collect(),
            prior_usage_tiers: self.current_usage_tiers(line)?,
        };
        tx.put(change_key(o, l, record.n), &record);
        tx.commit()?;
        Ok(ChangeOutcome {
            line: line.to_string(),
            created: out_created,
            changed: changed.iter().map(|s| s.id.clone()).collect(),
            net_price: v,
            stale,
        })
    }
}

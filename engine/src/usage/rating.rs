//! Usage inputs and rating (03 B.2, B.3): load, rate, unrate, retry; each row is rated on its
//! cumulative quantity with every input at its marginal amount, and each touched row is
//! recomputed once per operation (one atomic batch per operation, no wall clock).

use super::settings::{tier_table, UsageSettings};
use super::tiers::{round_quantity, TierTable};
use crate::billing::tx::Tx;
use crate::changes::months;
use crate::engine::{key, schedule_key, split_line_ref, Asset, Engine, Schedule, ScheduleStatus};
use crate::error::{Code, EngineError, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// Input status (03 B.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputStatus {
    /// Loaded, not rated.
    Loaded,
    /// Attached to a usage row.
    Rated,
    /// Rating failed; `message` says why.
    Error,
}

impl InputStatus {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            InputStatus::Loaded => "loaded",
            InputStatus::Rated => "rated",
            InputStatus::Error => "error",
        }
    }
}

/// One usage input (03 B.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageInput {
    /// `n` of `usage#n` (load order).
    pub seq: u64,
    /// The line ref or asset number the host sent.
    pub line: String,
    /// Usage date.
    pub usage_date: NaiveDate,
    /// Usage window (default the usage date).
    pub start: NaiveDate,
    /// Usage window end.
    pub end: NaiveDate,
    /// Quantity (rounded per B.1 once the asset is known).
    pub quantity: Decimal,
    /// Unit of measure sent.
    pub uom: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Status.
    pub status: InputStatus,
    /// Error code of an `error` input.
    pub message: Option<String>,
    /// Marginal amount once rated.
    pub rated_amount: Option<Decimal>,
    /// The usage row it is attached to.
    pub usage_schedule: Option<String>,
}

impl UsageInput {
    /// `usage#n`.
    pub fn reference(&self) -> String {
        format!("usage#{}", self.seq)
    }
}

/// A `usage` step (03 §D).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadUsage {
    /// Line ref or asset number.
    pub line: String,
    /// Usage date.
    pub date: NaiveDate,
    /// Quantity.
    pub quantity: Decimal,
    /// Window start.
    pub start: Option<NaiveDate>,
    /// Window end.
    pub end: Option<NaiveDate>,
    /// Unit of measure.
    pub uom: Option<String>,
    /// Description.
    pub description: Option<String>,
}

/// A `rate_usage` step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateUsage {
    /// Only inputs dated on or before.
    pub through: Option<NaiveDate>,
    /// Only this line's inputs.
    pub line: Option<String>,
    /// Only these (`usage#n`); each must be `loaded`.
    pub inputs: Vec<String>,
}

/// The summary of a rate step (the summary e-mail, L2944).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageRun {
    /// Inputs taken.
    pub processed: u64,
    /// Rated.
    pub rated: u64,
    /// In error.
    pub errors: u64,
}

/// What a usage row keeps beside its billing row: the attached inputs and its tier table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RowUsage {
    /// Attached inputs (`seq`).
    pub inputs: Vec<u64>,
    /// Σ attached quantities.
    pub quantity: Decimal,
    /// The tier table name this row rates with (`None`: the product's).
    #[serde(default)]
    pub tiers: Option<String>,
    /// How many leading `inputs` are already priced, in (usage_date, ref) order, ending at
    /// `priced_last` with cumulative quantity `priced_quantity` and G = `priced_amount`: inputs
    /// attached after them that sort after `priced_last` are priced without re-reading the rest.
    #[serde(default)]
    pub priced: usize,
    /// (usage_date, ref) of the last priced input.
    #[serde(default)]
    pub priced_last: Option<(NaiveDate, u64)>,
    /// Cumulative quantity of the priced inputs.
    #[serde(default)]
    pub priced_quantity: Decimal,
    /// G of the priced inputs.
    #[serde(default)]
    pub priced_amount: Decimal,
    /// A billed row a change flagged and credited in full, whose credit a rollback then
    /// compensated: it is current again (decision 270; A.6 "flags stay").
    #[serde(default)]
    pub reopened: bool,
}

/// A usage schedule as 03 §D shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSchedule {
    /// Same ref as the row.
    pub id: String,
    /// Period.
    pub start: NaiveDate,
    /// Period end.
    pub end: NaiveDate,
    /// Σ attached inputs.
    pub quantity: Decimal,
    /// `included_quantity`.
    pub included: Decimal,
    /// max(0, quantity − included).
    pub billable_quantity: Decimal,
    /// The row amount.
    pub amount: Decimal,
    /// Mirrors the row.
    pub status: ScheduleStatus,
    /// Mirrors the row.
    pub superseded: bool,
}

pub(crate) fn input_key(seq: u64) -> Vec<u8> {
    let mut k = key(&["usage", "in", ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn loaded_key(line: &str, date: NaiveDate, seq: u64) -> Vec<u8> {
    let mut k = key(&["usage", "loaded", line, &date.to_string(), ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn row_key(line: &str, seq: u32) -> Vec<u8> {
    let mut k = key(&["usage", "row", line, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

const NEXT_KEY: &[&str] = &["usage", "next"];
const LAST_RUN_KEY: &[&str] = &["usage", "last_run"];

/// The input `usage#n` as `tx` has it, or `unknown_usage_input`.
fn known_input(tx: &Tx<'_>, r: &str) -> Result<UsageInput> {
    parse_ref(r)
        .map(input_key)
        .map(|k| tx.get::<UsageInput>(&k))
        .transpose()?
        .flatten()
        .ok_or_else(|| refused(Code::UnknownUsageInput, r, "ref", "no such usage input"))
}

/// Parse `usage#n`.
pub fn parse_ref(r: &str) -> Option<u64> {
    r.strip_prefix("usage#")?.parse().ok()
}

/// True for a usage row of a line: one with a usage schedule (not a `minimum_fee` companion,
/// not a credit or other negative row of a change).
pub fn is_usage_row(s: &Schedule) -> bool {
    matches!(
        s.kind.as_str(),
        "original"
            | "pre_change"
            | "rebill"
            | "replacement"
            | "extension"
            | "cancelled_portion"
            | "restoration"
    )
}

fn live(s: &Schedule) -> bool {
    !matches!(
        s.status,
        ScheduleStatus::Superseded | ScheduleStatus::Cancelled
    )
}

fn refused(code: Code, record: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, msg)
}

/// The current usage row for `date` (03 B.3): the newest usage row covering it that is live and
/// not closed (see [`Engine::closed_usage_rows`]).
pub fn current_row<'a>(
    rows: &'a [Schedule],
    closed: &HashSet<String>,
    date: NaiveDate,
) -> Option<&'a Schedule> {
    rows.iter()
        .filter(|s| {
            is_usage_row(s)
                && s.start <= date
                && date <= s.end
                && live(s)
                && !closed.contains(&s.id)
        })
        .max_by_key(|s| s.seq)
}

/// The rows a live `compensation` offsets (a rolled-back change's rows, 03 A.6).
pub(crate) fn compensated_rows(rows: &[Schedule]) -> HashSet<String> {
    rows.iter()
        .filter(|s| s.kind == "compensation" && live(s))
        .filter_map(|s| s.change.origin.clone())
        .collect()
}

/// Read-side helpers shared by rating, changes and the views.
impl Engine {
    /// The usage settings of a line's product (`None`: not a usage line).
    pub fn usage_settings(&self, asset: &Asset) -> Option<UsageSettings> {
        self.rules
            .products
            .get(&asset.product)
            .and_then(UsageSettings::of)
    }

    /// The rows of a line that take no further part in rating or in changes (03 B.3 "live and not
    /// credited in full"; decision 270): rows a live `compensation` offsets (settled by a
    /// rollback), and billed rows a change flagged and credited in full that no rollback
    /// reopened.
    pub(crate) fn closed_usage_rows(
        &self,
        tx: &Tx<'_>,
        line: &str,
        rows: &[Schedule],
    ) -> Result<HashSet<String>> {
        let mut closed = compensated_rows(rows);
        for s in rows
            .iter()
            .filter(|s| s.status == ScheduleStatus::Invoiced && s.change.superseded)
        {
            let reopened = is_usage_row(s)
                && tx
                    .get::<RowUsage>(&row_key(line, s.seq))?
                    .is_some_and(|u| u.reopened);
            if !reopened {
                closed.insert(s.id.clone());
            }
        }
        Ok(closed)
    }

    /// The tier table a row rates with: its own (a tier change, B.4), else the product's, else
    /// `per_unit` at `list_price`.
    pub(crate) fn row_table(&self, settings: &UsageSettings, row: &RowUsage) -> TierTable {
        row.tiers
            .as_deref()
            .or(settings.usage_tiers.as_deref())
            .and_then(|n| tier_table(&self.rules, n))
            .unwrap_or_else(|| TierTable::per_unit("list_price", settings.list_price))
    }

    /// Every usage input, in ref (load) order.
    pub fn usage_inputs(&self) -> Result<Vec<UsageInput>> {
        self.store
            .scan(&key(&["usage", "in", ""]))?
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    }

    /// One usage input.
    pub fn usage_input(&self, r: &str) -> Result<Option<UsageInput>> {
        match parse_ref(r) {
            Some(n) => self.get(&input_key(n)),
            None => Ok(None),
        }
    }

    /// The summary of the last rate step.
    pub fn last_usage_run(&self) -> Result<Option<UsageRun>> {
        self.get(&key(LAST_RUN_KEY))
    }

    /// The usage schedules of a line (03 §D), in (start, ref) order.
    pub fn usage_schedules(&self, line: &str) -> Result<Vec<UsageSchedule>> {
        let Some(asset) = self.asset(line)? else {
            return Ok(Vec::new());
        };
        let Some(settings) = self.usage_settings(&asset) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for s in self.schedules(line)?.into_iter().filter(is_usage_row) {
            let u: RowUsage = self.get(&row_key(line, s.seq))?.unwrap_or_default();
            out.push(UsageSchedule {
                id: s.id.clone(),
                start: s.start,
                end: s.end,
                quantity: u.quantity,
                included: settings.included,
                billable_quantity: (u.quantity - settings.included).max(Decimal::ZERO),
                amount: s.amount,
                status: s.status,
                superseded: s.change.superseded,
            });
        }
        Ok(out)
    }

    /// 06 §6 `U`: the rated inputs of `line` as (usage date, rated amount), in load order.
    pub(crate) fn rated_usage_of(&self, line: &str) -> Result<Vec<(NaiveDate, Decimal)>> {
        let mut seqs = std::collections::BTreeSet::new();
        for (k, v) in self.store.scan(&key(&["usage", "row", line, ""]))? {
            let row: RowUsage = crate::engine::decode(&k, &v)?;
            seqs.extend(row.inputs);
        }
        let mut out = Vec::with_capacity(seqs.len());
        for seq in seqs {
            if let Some(i) = self.get::<UsageInput>(&input_key(seq))? {
                if let (InputStatus::Rated, Some(a)) = (i.status, i.rated_amount) {
                    out.push((i.usage_date, a));
                }
            }
        }
        Ok(out)
    }

    /// 06 §9 `usage_unrated`: true when `line` has a `loaded` input dated on or before `through`.
    pub(crate) fn usage_loaded_through(&self, line: &str, through: NaiveDate) -> Result<bool> {
        let prefix = key(&["usage", "loaded", line, ""]);
        let upto = through.to_string();
        Ok(self.store.scan(&prefix)?.iter().any(|(k, _)| {
            let date = k
                .get(prefix.len()..prefix.len() + 10)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            *date <= *upto
        }))
    }

    /// 03 B.3 / F.27: true when a usage row over [start, end] of `line` still has `loaded`
    /// inputs in its period (an invoice run does not select it).
    pub fn usage_held(&self, line: &str, start: NaiveDate, end: NaiveDate) -> Result<bool> {
        let prefix = key(&["usage", "loaded", line, ""]);
        let (from, upto) = (start.to_string(), end.to_string());
        Ok(self.store.scan(&prefix)?.iter().any(|(k, _)| {
            let date = k
                .get(prefix.len()..prefix.len() + 10)
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            *date >= *from && *date <= *upto
        }))
    }

    /// Load one usage input (the `usage` step): status `loaded`. Refused `negative_quantity`;
    /// an unknown asset fails at rating.
    pub fn load_usage(&self, req: &LoadUsage) -> Result<String> {
        let mut tx = Tx::new(self.store.as_ref());
        let r = self.stage_load(&mut tx, req)?;
        self.store.commit(tx.take_batch())?;
        Ok(r)
    }

    /// Load many inputs in one batch (the benchmark's loader); all or nothing.
    pub fn load_usage_batch(&self, reqs: &[LoadUsage]) -> Result<()> {
        let mut tx = Tx::new(self.store.as_ref());
        for r in reqs {
            self.stage_load(&mut tx, r)?;
        }
        self.store.commit(tx.take_batch())?;
        Ok(())
    }

    fn stage_load(&self, tx: &mut Tx<'_>, req: &LoadUsage) -> Result<String> {
        if req.quantity < Decimal::ZERO {
            return Err(refused(
                Code::NegativeQuantity,
                &req.line,
                "quantity",
                format!("quantity {} is below 0", req.quantity),
            ));
        }
        let seq = tx.get::<u64>(&key(NEXT_KEY))?.unwrap_or(0) + 1;
        tx.put(key(NEXT_KEY), &seq);
        let mut quantity = req.quantity;
        if let Some(s) = self.asset(&req.line)?.and_then(|a| self.usage_settings(&a)) {
            quantity = round_quantity(quantity, s.quantity_scale, s.quantity_rounding);
        }
        let input = UsageInput {
            seq,
            line: req.line.clone(),
            usage_date: req.date,
            start: req.start.unwrap_or(req.date),
            end: req.end.unwrap_or(req.date),
            quantity,
            uom: req.uom.clone(),
            description: req.description.clone(),
            status: InputStatus::Loaded,
            message: None,
            rated_amount: None,
            usage_schedule: None,
        };
        tx.put(input_key(seq), &input);
        tx.put(loaded_key(&input.line, input.usage_date, seq), &());
        Ok(input.reference())
    }

    /// Rate loaded inputs (03 B.2): each goes to `rated` (attached to its current usage row)
    /// or `error` with its message; every touched row is then re-rated once.
    pub fn rate_usage(&self, req: &RateUsage) -> Result<UsageRun> {
        let mut tx = Tx::new(self.store.as_ref());
        let mut chosen: Vec<UsageInput> = Vec::new();
        if req.inputs.is_empty() {
            let prefix = match &req.line {
                Some(l) => key(&["usage", "loaded", l, ""]),
                None => key(&["usage", "loaded", ""]),
            };
            for (k, _) in tx.scan(&prefix)? {
                let seq = u64::from_be_bytes(k[k.len() - 8..].try_into().expect("8 bytes"));
                let Some(i) = tx.get::<UsageInput>(&input_key(seq))? else {
                    continue;
                };
                if req.through.is_none_or(|t| i.usage_date <= t) {
                    chosen.push(i);
                }
            }
        } else {
            for r in &req.inputs {
                let Some(i) = self.usage_input(r)? else {
                    return Err(refused(
                        Code::UnknownUsageInput,
                        r,
                        "inputs",
                        "no such usage input",
                    ));
                };
                if i.status != InputStatus::Loaded {
                    return Err(refused(
                        Code::NotLoaded,
                        r,
                        "status",
                        format!("the input is {}, not loaded", i.status.as_str()),
                    ));
                }
                if req.through.is_none_or(|t| i.usage_date <= t)
                    && req.line.as_ref().is_none_or(|l| *l == i.line)
                {
                    chosen.push(i);
                }
            }
        }
        chosen.sort_by_key(|i| (i.usage_date, i.seq));
        chosen.dedup_by_key(|i| i.seq);
        let mut run = UsageRun::default();
        type LineFacts = (Asset, UsageSettings, Vec<Schedule>, HashSet<String>);
        let mut lines: BTreeMap<String, Option<LineFacts>> = BTreeMap::new();
        let mut touched: BTreeSet<(String, u32)> = BTreeSet::new();
        let mut rows: BTreeMap<(String, u32), RowUsage> = BTreeMap::new();
        for mut i in chosen {
            run.processed += 1;
            tx.delete(loaded_key(&i.line, i.usage_date, i.seq));
            if !lines.contains_key(&i.line) {
                let facts = match self.asset(&i.line)? {
                    Some(a) => match self.usage_settings(&a) {
                        Some(s) => {
                            let rows = self.schedules(&i.line)?;
                            let closed = self.closed_usage_rows(&tx, &i.line, &rows)?;
                            Some((a, s, rows, closed))
                        }
                        None => None,
                    },
                    None => None,
                };
                lines.insert(i.line.clone(), facts);
            }
            let outcome = match &lines[&i.line] {
                None => Err("invalid_asset"),
                Some((_, s, sched, closed)) => attach_target(&i, s, sched, closed),
            };
            match outcome {
                Ok(row) => {
                    let (_, s, _, _) = lines[&i.line].as_ref().expect("known line");
                    i.quantity = round_quantity(i.quantity, s.quantity_scale, s.quantity_rounding);
                    i.status = InputStatus::Rated;
                    i.message = None;
                    i.usage_schedule = Some(row.id.clone());
                    let k = (i.line.clone(), row.seq);
                    if !rows.contains_key(&k) {
                        let u = tx.get::<RowUsage>(&row_key(&k.0, k.1))?.unwrap_or_default();
                        rows.insert(k.clone(), u);
                    }
                    let u = rows.get_mut(&k).expect("row state");
                    u.inputs.push(i.seq);
                    u.quantity += i.quantity;
                    touched.insert(k);
                    run.rated += 1;
                }
                Err(code) => {
                    i.status = InputStatus::Error;
                    i.message = Some(code.into());
                    run.errors += 1;
                }
            }
            tx.put(input_key(i.seq), &i);
        }
        for ((line, seq), u) in &rows {
            tx.put(row_key(line, *seq), u);
        }
        for (line, seq) in &touched {
            self.rerate_row(&mut tx, line, *seq)?;
        }
        tx.put(key(LAST_RUN_KEY), &run);
        self.store.commit(tx.take_batch())?;
        Ok(run)
    }

    /// Unrate rated inputs (03 B.2): back to `loaded`, detached, their rows re-rated. Refused
    /// `not_rated` unless rated, `usage_period_closed` unless the row is `pending_billing`.
    pub fn unrate_usage(&self, refs: &[String]) -> Result<()> {
        let mut tx = Tx::new(self.store.as_ref());
        let mut touched = BTreeSet::new();
        for r in refs {
            let mut i = known_input(&tx, r)?;
            if i.status != InputStatus::Rated {
                return Err(refused(
                    Code::NotRated,
                    r,
                    "status",
                    format!("the input is {}, not rated", i.status.as_str()),
                ));
            }
            let row_id = i.usage_schedule.clone().unwrap_or_default();
            let (line, n) = row_id.rsplit_once('#').unwrap_or_default();
            let seq: u32 = n.parse().unwrap_or(0);
            let (o, l) = split_line_ref(line).unwrap_or_default();
            let row: Option<Schedule> = tx.get(&schedule_key(o, l, seq))?;
            if row
                .as_ref()
                .is_none_or(|s| s.status != ScheduleStatus::PendingBilling)
            {
                return Err(refused(
                    Code::UsagePeriodClosed,
                    r,
                    "usage_schedule",
                    format!("{row_id} is not pending_billing"),
                ));
            }
            let mut u = tx.get::<RowUsage>(&row_key(line, seq))?.unwrap_or_default();
            u.inputs.retain(|x| *x != i.seq);
            u.quantity -= i.quantity;
            u.priced = 0;
            tx.put(row_key(line, seq), &u);
            i.status = InputStatus::Loaded;
            i.rated_amount = None;
            i.usage_schedule = None;
            tx.put(loaded_key(&i.line, i.usage_date, i.seq), &());
            tx.put(input_key(i.seq), &i);
            touched.insert((line.to_string(), seq));
        }
        for (line, seq) in &touched {
            self.rerate_row(&mut tx, line, *seq)?;
        }
        self.store.commit(tx.take_batch())?;
        Ok(())
    }

    /// Retry inputs in `error` (03 B.2): back to `loaded`; refused `not_in_error` otherwise.
    pub fn retry_usage(&self, refs: &[String]) -> Result<()> {
        let mut tx = Tx::new(self.store.as_ref());
        for r in refs {
            let mut i = known_input(&tx, r)?;
            if i.status != InputStatus::Error {
                return Err(refused(
                    Code::NotInError,
                    r,
                    "status",
                    format!("the input is {}, not error", i.status.as_str()),
                ));
            }
            i.status = InputStatus::Loaded;
            i.message = None;
            tx.put(loaded_key(&i.line, i.usage_date, i.seq), &());
            tx.put(input_key(i.seq), &i);
        }
        self.store.commit(tx.take_batch())?;
        Ok(())
    }

    /// Recompute one usage row from its attached inputs (03 B.3): marginal amounts in
    /// (usage_date, ref) order, the row amount G(Qₙ), and its `minimum_fee` companion. Only
    /// `pending_billing` rows change.
    pub(crate) fn rerate_row(&self, tx: &mut Tx<'_>, line: &str, seq: u32) -> Result<()> {
        let (o, l) = split_line_ref(line).unwrap_or_default();
        let Some(mut row) = tx.get::<Schedule>(&schedule_key(o, l, seq))? else {
            return Ok(());
        };
        if row.status != ScheduleStatus::PendingBilling {
            return Ok(());
        }
        let Some(asset) = self.asset(line)? else {
            return Ok(());
        };
        let Some(settings) = self.usage_settings(&asset) else {
            return Ok(());
        };
        let mut u = tx.get::<RowUsage>(&row_key(line, seq))?.unwrap_or_default();
        let table = self.row_table(&settings, &u);
        let (scale, mode) = (asset.terms.scale, asset.terms.rounding);
        // The inputs attached since the last pricing.
        let mut fresh = Vec::new();
        for n in u.inputs.iter().skip(u.priced.min(u.inputs.len())) {
            if let Some(i) = tx.get::<UsageInput>(&input_key(*n))? {
                fresh.push(i);
            }
        }
        fresh.sort_by_key(|i| (i.usage_date, i.seq));
        let appended = u.priced > 0
            && u.priced <= u.inputs.len()
            && fresh
                .first()
                .is_none_or(|i| u.priced_last.is_none_or(|l| (i.usage_date, i.seq) > l));
        let (mut inputs, base_q, base_g) = if appended {
            (fresh, u.priced_quantity, u.priced_amount)
        } else {
            let mut all = Vec::with_capacity(u.inputs.len());
            for n in &u.inputs {
                if let Some(i) = tx.get::<UsageInput>(&input_key(*n))? {
                    all.push(i);
                }
            }
            all.sort_by_key(|i| (i.usage_date, i.seq));
            (all, Decimal::ZERO, Decimal::ZERO)
        };
        let (cum, total) = marginal(
            &table,
            &settings,
            (scale, mode),
            (base_q, base_g),
            None,
            &mut inputs,
            tx,
        );
        if let Some(last) = inputs.last() {
            u.priced_last = Some((last.usage_date, last.seq));
        } else if !appended {
            u.priced_last = None;
        }
        u.priced = u.inputs.len();
        u.priced_quantity = cum;
        u.priced_amount = total;
        tx.put(row_key(line, seq), &u);
        row.amount = total;
        row.quantity = u.quantity;
        tx.put(schedule_key(o, l, seq), &row);
        if let Some(m) = settings.minimum {
            self.refresh_minimum(tx, &asset, &row, m)?;
        }
        Ok(())
    }

    /// Price again the inputs a reopened billed row holds (a rollback took them back, decision
    /// 272), without touching the row: the marginal amounts it was billed with.
    pub(crate) fn reprice_billed_inputs(
        &self,
        tx: &mut Tx<'_>,
        line: &str,
        seq: u32,
    ) -> Result<()> {
        let (o, l) = split_line_ref(line).unwrap_or_default();
        let Some(row) = tx.get::<Schedule>(&schedule_key(o, l, seq))? else {
            return Ok(());
        };
        let Some(asset) = self.asset(line)? else {
            return Ok(());
        };
        let Some(settings) = self.usage_settings(&asset) else {
            return Ok(());
        };
        let u = tx.get::<RowUsage>(&row_key(line, seq))?.unwrap_or_default();
        let table = self.row_table(&settings, &u);
        let mut all = Vec::with_capacity(u.inputs.len());
        for n in &u.inputs {
            if let Some(i) = tx.get::<UsageInput>(&input_key(*n))? {
                all.push(i);
            }
        }
        all.sort_by_key(|i| (i.usage_date, i.seq));
        let rounding = (asset.terms.scale, asset.terms.rounding);
        let zero = (Decimal::ZERO, Decimal::ZERO);
        marginal(
            &table,
            &settings,
            rounding,
            zero,
            Some(&row.id),
            &mut all,
            tx,
        );
        Ok(())
    }

    /// The `minimum_fee` companion of `row` (same range): max(0, m − row amount), m =
    /// round(minimum × months(row) ÷ N).
    fn refresh_minimum(
        &self,
        tx: &mut Tx<'_>,
        asset: &Asset,
        row: &Schedule,
        minimum: Decimal,
    ) -> Result<()> {
        let (o, l) = split_line_ref(&asset.line).unwrap_or_default();
        for (k, v) in tx.scan(&key(&["sched", o, l, ""]))? {
            let mut s: Schedule = crate::engine::decode(&k, &v)?;
            if s.kind == "minimum_fee"
                && s.start == row.start
                && s.end == row.end
                && s.status == ScheduleStatus::PendingBilling
                && s.change.origin.as_deref().is_none_or(|x| x == row.id)
            {
                s.amount = minimum_fee(asset, row.start, row.end, minimum, row.amount);
                tx.put(k, &s);
            }
        }
        Ok(())
    }
}

/// Marginal rating (03 B.3) of `inputs`, sorted by (usage_date, ref), after a priced prefix of
/// cumulative quantity and G `base`: each input gets G(Qᵢ) − G(Qᵢ₋₁), written to `tx` when it
/// changed (only for inputs attached to `only`, when given). Returns (Qₙ, G(Qₙ)).
fn marginal(
    table: &TierTable,
    settings: &UsageSettings,
    (scale, mode): (u32, crate::money::Rounding),
    (base_q, base_g): (Decimal, Decimal),
    only: Option<&str>,
    inputs: &mut [UsageInput],
    tx: &mut Tx<'_>,
) -> (Decimal, Decimal) {
    let mut cum = base_q;
    let mut prev = base_g;
    for i in inputs.iter_mut() {
        cum += i.quantity;
        let g = table.g(cum, settings.included, scale, mode);
        let a = g - prev;
        prev = g;
        let mine = only.is_none_or(|r| i.usage_schedule.as_deref() == Some(r));
        if mine && i.rated_amount != Some(a) {
            i.rated_amount = Some(a);
            tx.put(input_key(i.seq), &*i);
        }
    }
    (cum, prev)
}

/// m = round(minimum × months(start, end) ÷ N); the fee is max(0, m − rated).
pub fn minimum_fee(
    asset: &Asset,
    start: NaiveDate,
    end: NaiveDate,
    minimum: Decimal,
    rated: Decimal,
) -> Decimal {
    let t = &asset.terms;
    let m = crate::money::round(
        minimum * months(t, start, end) / Decimal::from(t.months.max(1)),
        t.scale,
        t.rounding,
    );
    (m - rated).max(Decimal::ZERO)
}

/// Where input `i` attaches, or the error message (03 B.2).
fn attach_target<'a>(
    i: &UsageInput,
    s: &UsageSettings,
    rows: &'a [Schedule],
    closed: &HashSet<String>,
) -> std::result::Result<&'a Schedule, &'static str> {
    if i.uom.as_ref().is_some_and(|u| *u != s.unit_of_measure) {
        return Err("uom_mismatch");
    }
    let usage_rows = rows.iter().filter(|r| is_usage_row(r));
    let first = usage_rows.clone().map(|r| r.start).min();
    let last = usage_rows.map(|r| r.end).max();
    let (Some(first), Some(last)) = (first, last) else {
        return Err("no_usage_schedule");
    };
    let inside = |d: NaiveDate| first <= d && d <= last;
    if !inside(i.usage_date) || !inside(i.start) || !inside(i.end) || i.start > i.end {
        return Err("invalid_usage_date");
    }
    let Some(row) = current_row(rows, closed, i.usage_date) else {
        return Err("no_usage_schedule");
    };
    if row.status != ScheduleStatus::PendingBilling {
        return Err("usage_period_closed");
    }
    Ok(row)
}

/// Activation of a usage line with a `minimum_commitment` (03 B.3): each usage row gets a
/// `minimum_fee` companion (same range and ready date, amount m while nothing is rated), and the
/// rows are numbered by (start, kind rank, end) (03 §0).
pub fn with_minimum_fees(
    product: &crate::model::Product,
    asset: &Asset,
    rows: Vec<Schedule>,
) -> Vec<Schedule> {
    let Some(minimum) = UsageSettings::of(product).and_then(|s| s.minimum) else {
        return rows;
    };
    let mut out = Vec::with_capacity(rows.len() * 2);
    for r in rows {
        let mut fee = r.clone();
        fee.kind = "minimum_fee".into();
        fee.amount = minimum_fee(asset, r.start, r.end, minimum, Decimal::ZERO);
        fee.quantity = Decimal::ZERO;
        out.push(r);
        out.push(fee);
    }
    for (i, s) in out.iter_mut().enumerate() {
        s.seq = i as u32 + 1;
        s.id = format!("{}#{}", s.line, s.seq);
    }
    let ids: Vec<String> = out.iter().map(|s| s.id.clone()).collect();
    for (i, s) in out.iter_mut().enumerate() {
        if s.kind == "minimum_fee" {
            s.change.origin = Some(ids[i - 1].clone());
        }
    }
    out
}

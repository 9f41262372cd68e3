//! Rollback of a usage-line change (03 A.6 with B.4; decisions 270–272). Like every rollback it
//! edits no row: each row the change created (followed to where it lives on) gets a
//! `compensation`, each usage row it superseded or cancelled a `restoration` with its tier table
//! and a new `minimum_fee` companion. The inputs go back with the rows: an input held by a row
//! the change created or moved returns to the restoration covering its date (re-rated there), to
//! the billed row it was billed on when the change had credited that row (reopened), else to
//! `loaded`. Compensated rows are settled: they take no further part in rating or changes.

use super::changes::{tiers_key, usage_value};
use super::rating::{
    input_key, is_usage_row, loaded_key, row_key, InputStatus, RowUsage, UsageInput,
};
use crate::billing::tx::Tx;
use crate::changes::netting::Draft;
use crate::changes::{chain, change_key, compensation, restoration, ChangeOutcome, ChangeRecord};
use crate::engine::{key, schedule_key, split_line_ref, Engine, Schedule, ScheduleStatus};
use crate::error::{Code, EngineError, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

fn live(s: &Schedule) -> bool {
    !matches!(
        s.status,
        ScheduleStatus::Superseded | ScheduleStatus::Cancelled
    )
}

impl Engine {
    /// Undo `rec`, the latest change of a usage line not yet undone (the caller checked `on`
    /// against its effective date).
    pub(crate) fn rollback_usage(
        &self,
        mut rec: ChangeRecord,
        on: NaiveDate,
    ) -> Result<ChangeOutcome> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let line = rec.prior_asset.line.clone();
        let line = line.as_str();
        let (o, l) = split_line_ref(line).unwrap_or_default();
        let Some(current) = self.asset(line)? else {
            return Err(EngineError::refused(
                Code::UnknownLine,
                line,
                "line",
                "no such active line",
            ));
        };
        let settings = self.usage_settings(&current).ok_or_else(|| {
            EngineError::refused(Code::NotApplicable, line, "line", "not a usage line")
        })?;
        let rows = self.schedules(line)?;
        let by_id: HashMap<&str, &Schedule> = rows.iter().map(|s| (s.id.as_str(), s)).collect();
        let restored = chain::restorations(&rows);
        // Rows whose inputs come back: what the change created, with every row those live on
        // in, what it moved, and what it flagged.
        let mut gone: HashSet<&str> = HashSet::new();
        let mut drafts: Vec<Draft> = Vec::new();
        for id in &rec.created {
            let Some(s) = by_id.get(id.as_str()) else {
                continue;
            };
            for x in chain::tree(s, &restored) {
                gone.insert(x.id.as_str());
                if live(x) {
                    drafts.push(compensation(x));
                }
            }
        }
        let mut moved_usage: Vec<&Schedule> = Vec::new();
        for id in &rec.moved {
            let Some(s) = by_id.get(id.as_str()) else {
                continue;
            };
            gone.insert(s.id.as_str());
            // A moved minimum_fee comes back as its restored row's new companion (decision 271).
            if !is_usage_row(s) {
                continue;
            }
            moved_usage.push(s);
            drafts.push(restoration(s));
            if settings.minimum.is_some() {
                drafts.push(Draft {
                    start: s.start,
                    end: s.end,
                    amount: Decimal::ZERO,
                    kind: "minimum_fee",
                    status: ScheduleStatus::PendingBilling,
                    quantity: Decimal::ZERO,
                    origin: None,
                    about: Vec::new(),
                    sources: Vec::new(),
                    draws: false,
                });
            }
        }
        let flagged: Vec<&Schedule> = rec
            .flagged
            .iter()
            .filter_map(|id| by_id.get(id.as_str()).copied())
            .collect();
        gone.extend(flagged.iter().map(|s| s.id.as_str()));
        let prior = &rec.prior_asset;
        let mut created = self.draw_rollback(line, &rows, prior, &rec.category, on, drafts)?;
        // Each new minimum_fee belongs to the restoration over its range.
        let restorations: Vec<(NaiveDate, NaiveDate, String)> = created
            .iter()
            .filter(|s| s.kind == "restoration")
            .map(|s| (s.start, s.end, s.id.clone()))
            .collect();
        for s in created.iter_mut().filter(|s| s.kind == "minimum_fee") {
            s.change.origin = restorations
                .iter()
                .find(|r| r.0 == s.start && r.1 == s.end)
                .map(|r| r.2.clone());
        }
        let mut tx = Tx::new(self.store.as_ref());
        for s in &created {
            tx.put(schedule_key(o, l, s.seq), s);
        }
        // The restorations' usage state: the moved row's tier table, inputs as they come back.
        let mut state: BTreeMap<u32, RowUsage> = BTreeMap::new();
        for s in created.iter().filter(|s| s.kind == "restoration") {
            let origin = s.change.origin.as_deref().and_then(|x| by_id.get(x));
            let tiers = match origin {
                Some(m) => {
                    tx.get::<RowUsage>(&row_key(line, m.seq))?
                        .unwrap_or_default()
                        .tiers
                }
                None => None,
            };
            state.insert(
                s.seq,
                RowUsage {
                    tiers,
                    ..Default::default()
                },
            );
        }
        // The inputs the gone rows hold (decision 272).
        let mut held: BTreeSet<u64> = BTreeSet::new();
        let mut billed_with: HashMap<&str, HashSet<u64>> = HashMap::new();
        for id in &gone {
            let Some(s) = by_id.get(id) else { continue };
            if !is_usage_row(s) {
                continue;
            }
            let u = tx
                .get::<RowUsage>(&row_key(line, s.seq))?
                .unwrap_or_default();
            if s.status == ScheduleStatus::Invoiced {
                billed_with.insert(s.id.as_str(), u.inputs.iter().copied().collect());
            }
            held.extend(u.inputs);
        }
        let mut reopened: BTreeSet<u32> = BTreeSet::new();
        for seq in held {
            let Some(mut i) = tx.get::<UsageInput>(&input_key(seq))? else {
                continue;
            };
            if i.status != InputStatus::Rated
                || !i
                    .usage_schedule
                    .as_deref()
                    .is_some_and(|r| gone.contains(r))
            {
                continue;
            }
            let d = i.usage_date;
            let to_restoration = created
                .iter()
                .find(|s| s.kind == "restoration" && s.start <= d && d <= s.end);
            let to_billed = flagged.iter().find(|s| {
                is_usage_row(s)
                    && s.start <= d
                    && d <= s.end
                    && billed_with
                        .get(s.id.as_str())
                        .is_some_and(|b| b.contains(&seq))
            });
            if let Some(r) = to_restoration {
                let u = state.get_mut(&r.seq).expect("restoration state");
                u.inputs.push(seq);
                u.quantity += i.quantity;
                i.usage_schedule = Some(r.id.clone());
            } else if let Some(b) = to_billed {
                i.usage_schedule = Some(b.id.clone());
                reopened.insert(b.seq);
            } else {
                i.status = InputStatus::Loaded;
                i.rated_amount = None;
                i.usage_schedule = None;
                tx.put(loaded_key(line, i.usage_date, i.seq), &());
            }
            tx.put(input_key(seq), &i);
        }
        for (seq, u) in &state {
            tx.put(row_key(line, *seq), u);
        }
        // The billed rows the change credited are current again; their credits are compensated.
        for b in flagged.iter().filter(|s| is_usage_row(s)) {
            let k = row_key(line, b.seq);
            let mut u = tx.get::<RowUsage>(&k)?.unwrap_or_default();
            u.reopened = true;
            tx.put(k, &u);
        }
        for seq in &reopened {
            self.reprice_billed_inputs(&mut tx, line, *seq)?;
        }
        for seq in state.keys() {
            self.rerate_row(&mut tx, line, *seq)?;
        }
        // The asset and its terms as before the change; V as the rows now have it.
        let mut asset = current.clone();
        asset.terms = prior.terms;
        asset.price = prior.price;
        asset.quantity = prior.quantity;
        tx.put(key(&["asset", o, l]), &asset);
        match &rec.prior_usage_tiers {
            Some(t) => tx.put(tiers_key(o, l), t),
            None => tx.delete(tiers_key(o, l)),
        }
        let v = usage_value(&tx, o, l)?;
        let mut terms = rec.prior_terms.clone();
        terms.changes = self.asset_terms(line)?.map_or(rec.n, |t| t.changes);
        terms.net_price = v;
        tx.put(key(&["chgterms", o, l]), &terms);
        rec.undone = true;
        tx.put(change_key(o, l, rec.n), &rec);
        tx.commit()?;
        Ok(ChangeOutcome {
            line: line.to_string(),
            created: created.iter().map(|s| s.id.clone()).collect(),
            changed: Vec::new(),
            net_price: v,
            stale: Vec::new(),
        })
    }
}

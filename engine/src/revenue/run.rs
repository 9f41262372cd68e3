//! Revenue runs (06 §9): select agreements by filters, process them in id order, commit each
//! agreement alone, record one entry per selected agreement; executions keyed by name and
//! resolved period, so a re-submission returns the stored result.

use super::calc::{parse_period, period_name};
use super::keys;
use super::model::Agreement;
use crate::dates::month_index;
use crate::engine::{decode, encode, Engine};
use crate::error::{Code, EngineError, Result};
use crate::invoicing::filter::{self, Scalar};
use crate::invoicing::model::{FilterOp, FilterValue, RunSchedule};
use crate::store::Batch;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The outcome of a run's custom filter rows: per row the agreement ids that pass, and the
/// agreements whose chunk's call failed (with the plugin's message).
#[derive(Debug, Default)]
struct CustomRows {
    passing: BTreeMap<u32, std::collections::HashSet<String>>,
    failed: BTreeMap<String, String>,
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunKind {
    /// Generate actuals.
    Actual,
    /// Roll back actuals.
    RollbackActual,
    /// Generate forecasts.
    Forecast,
    /// Roll back forecasts.
    RollbackForecast,
}

/// A filter row of a revenue run: 04 §2.2 over `account`, `location`, `legal_entity`, `order`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevenueFilterRow {
    /// Row number.
    pub n: u32,
    /// `account`, `location`, `legal_entity`, `order` (or `custom`).
    pub object: String,
    /// Field.
    #[serde(default)]
    pub field: Option<String>,
    /// Comparison.
    #[serde(default)]
    pub op: Option<FilterOp>,
    /// Value.
    #[serde(default)]
    pub value: Option<FilterValue>,
    /// Custom row callback.
    #[serde(default)]
    pub callback: Option<String>,
}

/// A revenue run definition (a `revenue_runs` row, or the inline step).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevenueRunDef {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: RunKind,
    /// `immediate` or `scheduled`.
    #[serde(default, rename = "type")]
    pub run_type: Option<String>,
    /// Legal entity (an extra ANDed filter).
    #[serde(default)]
    pub legal_entity: Option<String>,
    /// `YYYY-MM`.
    #[serde(default)]
    pub period: Option<String>,
    /// Filter rows.
    #[serde(default)]
    pub filters: Vec<RevenueFilterRow>,
    /// Filter logic.
    #[serde(default)]
    pub filter_logic: Option<String>,
    /// Schedule (scheduled runs).
    #[serde(default)]
    pub schedule: Option<serde_yaml::Value>,
}

/// One entry of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEntry {
    /// Agreement id.
    pub agreement: String,
    /// `succeeded`, `failed`, `skipped`.
    pub status: String,
    /// Failure code or skip reason.
    pub code: Option<String>,
    /// Failure message.
    pub message: Option<String>,
}

/// A stored execution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevenueRunResult {
    /// Name.
    pub name: String,
    /// The parameters it ran with (JSON text).
    pub parameters: String,
    /// Resolved period key.
    pub period: String,
    /// `completed`, `completed_with_errors`, `failed`.
    pub status: String,
    /// One entry per selected agreement.
    pub entries: Vec<RunEntry>,
}

impl RevenueRunResult {
    /// Entries with `status`.
    pub fn count(&self, status: &str) -> usize {
        self.entries.iter().filter(|e| e.status == status).count()
    }
}

/// Agreements whose batches are committed together in a run.
const RUN_GROUP: usize = 500;

fn refuse(code: Code, record: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, msg)
}

impl Engine {
    /// The `revenue_runs` row named `name`.
    pub fn revenue_run_definition(&self, name: &str) -> Result<Option<RevenueRunDef>> {
        for row in self
            .rules
            .documents
            .get("revenue_runs")
            .into_iter()
            .flatten()
        {
            if row.value.get("name").and_then(|v| v.as_str()) == Some(name) {
                return serde_yaml::from_value(row.value.clone())
                    .map(Some)
                    .map_err(|e| {
                        refuse(
                            Code::InvalidRecord,
                            &format!("revenue run {name}"),
                            "",
                            e.to_string(),
                        )
                    });
            }
        }
        Ok(None)
    }

    /// A stored execution of `name` for `period`.
    pub fn revenue_run_result(&self, name: &str) -> Result<Vec<RevenueRunResult>> {
        self.store
            .scan(&keys::runs(name))?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect()
    }

    /// Run a revenue run now (06 §9).
    pub fn revenue_run(&self, def: &RevenueRunDef) -> Result<RevenueRunResult> {
        let record = format!("revenue run {}", def.name);
        let scheduled = def.run_type.as_deref() == Some("scheduled");
        let rollback = matches!(
            def.kind,
            RunKind::RollbackActual | RunKind::RollbackForecast
        );
        if scheduled && rollback {
            return Err(refuse(
                Code::RollbackNotSchedulable,
                &record,
                "type",
                "rollback runs are always immediate",
            ));
        }
        if scheduled && def.schedule.is_none() {
            return Err(refuse(
                Code::BadRunSchedule,
                &record,
                "schedule",
                "a scheduled run needs a schedule",
            ));
        }
        if !scheduled && def.schedule.is_some() {
            return Err(refuse(
                Code::ScheduleOnImmediateRun,
                &record,
                "schedule",
                "an immediate run has no schedule",
            ));
        }
        if scheduled {
            self.revenue_run_schedule(def)?;
            return Err(refuse(
                Code::InvalidRecord,
                &record,
                "type",
                "a scheduled revenue run is a revenue_runs row executed by run_scheduled",
            ));
        }
        self.execute_revenue_run(def)
    }

    /// A scheduled run's schedule, checked (`bad_run_schedule`).
    fn revenue_run_schedule(&self, def: &RevenueRunDef) -> Result<RunSchedule> {
        let record = format!("revenue run {}", def.name);
        let v = def.schedule.clone().unwrap_or_default();
        let sched: RunSchedule = serde_yaml::from_value(v)
            .map_err(|e| refuse(Code::BadRunSchedule, &record, "schedule", e.to_string()))?;
        if let Some(e) = sched.check().into_iter().next() {
            return Err(e.into_engine(record));
        }
        Ok(sched)
    }

    /// 06 §9 scheduled revenue runs: every `revenue_runs` row of type `scheduled` with an
    /// occurrence on or before `through` runs for each selected entity's open period at that
    /// date. Executions are keyed by name and period, so a later occurrence in the same open
    /// period returns the stored result and changes nothing.
    pub fn run_scheduled_revenue(&self, through: NaiveDate) -> Result<Vec<RevenueRunResult>> {
        let mut out = Vec::new();
        for row in self
            .rules
            .documents
            .get("revenue_runs")
            .into_iter()
            .flatten()
        {
            let Ok(def) = serde_yaml::from_value::<RevenueRunDef>(row.value.clone()) else {
                continue;
            };
            if def.run_type.as_deref() != Some("scheduled") {
                continue;
            }
            let sched = self.revenue_run_schedule(&def)?;
            if crate::invoicing::occurrences::occurrences_through(&sched, through).is_empty() {
                continue;
            }
            out.push(self.execute_revenue_run(&def)?);
        }
        Ok(out)
    }

    fn execute_revenue_run(&self, def: &RevenueRunDef) -> Result<RevenueRunResult> {
        let record = format!("revenue run {}", def.name);
        // Filters.
        let rows: Vec<u32> = def.filters.iter().map(|r| r.n).collect();
        let compiled = filter::compile(&rows, def.filter_logic.as_deref()).map_err(|errs| {
            errs.into_iter()
                .next()
                .map(|e| e.into_engine(record.clone()))
                .unwrap_or_else(|| refuse(Code::BadFilterLogic, &record, "filters", "invalid"))
        })?;
        for (i, r) in def.filters.iter().enumerate() {
            if r.object == "custom" {
                let name = r.callback.as_deref().unwrap_or("");
                if self.callbacks.invoice_run_filter(name).is_none() {
                    return Err(refuse(
                        Code::UnknownCallback,
                        &record,
                        &format!("filters[{i}].callback"),
                        format!("no invoice_run_filter plugin `{name}` is registered"),
                    ));
                }
            }
        }
        let candidates: Vec<Agreement> = self
            .revenue_agreements()?
            .into_iter()
            .filter(|ag| {
                def.legal_entity
                    .as_ref()
                    .is_none_or(|le| *le == ag.legal_entity)
            })
            .collect();
        let custom = self.revenue_custom_rows(def, &candidates)?;
        let mut selected: Vec<Agreement> = Vec::new();
        for ag in candidates {
            if custom.failed.contains_key(&ag.id)
                || self.agreement_passes(&ag, def, &compiled, &custom)?
            {
                selected.push(ag);
            }
        }
        // The resolved period: the one given (it must be every selected entity's open period),
        // else each entity's own.
        let mut currents: BTreeMap<String, i32> = BTreeMap::new();
        let les: Vec<String> = match &def.legal_entity {
            Some(le) => vec![le.clone()],
            None => selected.iter().map(|a| a.legal_entity.clone()).collect(),
        };
        for le in les {
            let p = month_index(self.revenue_period(&le)?.current);
            currents.insert(le, p);
        }
        if let Some(given) = &def.period {
            let p = parse_period(given).ok_or_else(|| {
                refuse(
                    Code::InvalidRecord,
                    &record,
                    "period",
                    format!("`{given}` is not YYYY-MM"),
                )
            })?;
            for (le, cur) in &currents {
                if *cur > p {
                    return Err(refuse(
                        Code::PeriodClosed,
                        &record,
                        "period",
                        format!(
                            "{given} is closed for {le} (open period {})",
                            period_name(*cur)
                        ),
                    ));
                }
                if *cur != p {
                    return Err(refuse(
                        Code::PeriodNotCurrent,
                        &record,
                        "period",
                        format!(
                            "{given} is not the open period {} of {le}",
                            period_name(*cur)
                        ),
                    ));
                }
            }
        }
        let resolved = match &def.period {
            Some(p) => p.clone(),
            None => currents
                .iter()
                .map(|(le, p)| format!("{le}={}", period_name(*p)))
                .collect::<Vec<_>>()
                .join(","),
        };
        let mut params = def.clone();
        params.period = None;
        let parameters = serde_json::to_string(&params).unwrap_or_default();
        for prior in self.revenue_run_result(&def.name)? {
            if prior.parameters != parameters {
                return Err(refuse(
                    Code::RunExistsWithDifferentParameters,
                    &record,
                    "name",
                    format!("run `{}` already ran with other parameters", def.name),
                ));
            }
            if prior.period == resolved {
                return Ok(prior);
            }
        }
        // The first run on an entity fixes its derived open period (06 §8: the month end of its
        // first agreement's eligibility start) as a stored record.
        let mut fix = Batch::default();
        for (le, p) in &currents {
            if self.revenue_period_record(le)?.is_none() {
                fix.put(
                    keys::period(le),
                    encode(&super::RevenuePeriod {
                        legal_entity: le.clone(),
                        current: super::calc::month_end(*p),
                    }),
                );
            }
        }
        if !fix.ops.is_empty() {
            self.store.commit(fix)?;
        }
        let mut entries = Vec::new();
        // Each agreement's writes are one atomic batch; batches go to the store in groups
        // (one durable flush per group), and the run record after the last.
        let mut pending: Vec<Batch> = Vec::new();
        for ag in &selected {
            if let Some(message) = custom.failed.get(&ag.id) {
                entries.push(RunEntry {
                    agreement: ag.id.clone(),
                    status: "failed".into(),
                    code: Some("invoice_run_filter_error".into()),
                    message: Some(message.clone()),
                });
                continue;
            }
            let p = currents.get(&ag.legal_entity).copied().unwrap_or_default();
            let outcome = match def.kind {
                RunKind::Actual => self.plan_actual(ag, p).map(|r| {
                    r.map(|(_, b)| {
                        pending.push(b);
                    })
                }),
                RunKind::RollbackActual => self.rollback_actual(&ag.id, p),
                RunKind::Forecast => self.plan_forecast(ag, p).map(|r| {
                    r.map(|b| {
                        pending.push(b);
                    })
                }),
                RunKind::RollbackForecast => self.plan_rollback_forecast(ag, p).map(|b| {
                    pending.push(b);
                    Ok(())
                }),
            };
            if pending.len() >= RUN_GROUP {
                self.store.commit_all(std::mem::take(&mut pending))?;
            }
            entries.push(match outcome {
                Ok(Ok(())) => RunEntry {
                    agreement: ag.id.clone(),
                    status: "succeeded".into(),
                    code: None,
                    message: None,
                },
                Ok(Err(reason)) => RunEntry {
                    agreement: ag.id.clone(),
                    status: "skipped".into(),
                    code: Some(reason.into()),
                    message: None,
                },
                Err(e @ EngineError::Refused { .. }) => RunEntry {
                    agreement: ag.id.clone(),
                    status: "failed".into(),
                    code: Some(e.code().into()),
                    message: Some(e.to_string()),
                },
                Err(e) => return Err(e),
            });
        }
        self.store.commit_all(pending)?;
        let failed = entries.iter().filter(|e| e.status == "failed").count();
        let processed = entries.iter().filter(|e| e.status != "skipped").count();
        let status = if failed == 0 {
            "completed"
        } else if failed == processed {
            "failed"
        } else {
            "completed_with_errors"
        };
        let result = RevenueRunResult {
            name: def.name.clone(),
            parameters,
            period: resolved.clone(),
            status: status.into(),
            entries,
        };
        let mut b = Batch::default();
        b.put(keys::run(&def.name, &resolved), encode(&result));
        self.store.commit(b)?;
        Ok(result)
    }

    /// 06 §9 / 07 §1 custom rows: each row's `invoice_run_filter` plugin is called once per
    /// chunk of `system.batch_size` agreements (in id order) with the chunk's accounts and
    /// agreements; the row is true for exactly the agreement ids returned. A failed call fails
    /// every agreement of the chunk with `invoice_run_filter_error`; the run goes on.
    fn revenue_custom_rows(
        &self,
        def: &RevenueRunDef,
        candidates: &[Agreement],
    ) -> Result<CustomRows> {
        let rows: Vec<(u32, &str)> = def
            .filters
            .iter()
            .filter(|r| r.object == "custom")
            .map(|r| (r.n, r.callback.as_deref().unwrap_or("")))
            .collect();
        let mut out = CustomRows::default();
        if rows.is_empty() {
            return Ok(out);
        }
        let chunk = self.rules.system.batch_size.unwrap_or(500).max(1) as usize;
        for part in candidates.chunks(chunk) {
            let mut accounts = Vec::new();
            let mut seen = std::collections::BTreeSet::new();
            let mut agreements = Vec::new();
            for ag in part {
                let Some(account) = self.account(&ag.account)? else {
                    continue;
                };
                let info = self.account_info(&account);
                if seen.insert(ag.account.clone()) {
                    accounts.push(info.clone());
                }
                agreements.push(self.agreement_info(ag, info)?);
            }
            let period = match &def.period {
                Some(p) => Some(p.clone()),
                None => match part.first() {
                    Some(ag) => Some(period_name(month_index(
                        self.revenue_period(&ag.legal_entity)?.current,
                    ))),
                    None => None,
                },
            };
            let req = crate::callbacks::FilterRequest {
                config: Default::default(),
                run: crate::callbacks::RunInfo {
                    name: def.name.clone(),
                    kind: "revenue".into(),
                    dry_run: false,
                    process_through: None,
                    invoice_date: None,
                    period,
                },
                accounts,
                lines: Vec::new(),
                agreements,
            };
            for (n, name) in &rows {
                let Some(cbk) = self.callbacks.invoice_run_filter(name) else {
                    continue;
                };
                match cbk.filter_lines(&req) {
                    Ok(ids) => out.passing.entry(*n).or_default().extend(ids),
                    Err(e) => {
                        for ag in part {
                            if !out.failed.contains_key(&ag.id) {
                                tracing::warn!(run = %def.name, agreement = %ag.id, code = "invoice_run_filter_error", "{}", e.message);
                                out.failed.insert(ag.id.clone(), e.message.clone());
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The callback view of a stored agreement (07 §3 `agreement`): its lines with their
    /// products, net prices, SSPs and transaction prices.
    fn agreement_info(
        &self,
        ag: &Agreement,
        account: crate::callbacks::AccountInfo,
    ) -> Result<crate::callbacks::Agreement> {
        use crate::callbacks as cb;
        let scale = crate::money::minor_units(&ag.currency).unwrap_or(2);
        let money = |d: rust_decimal::Decimal| cb::Money {
            amount: crate::money::round(d, scale, crate::money::Rounding::HalfUp).to_string(),
            currency: ag.currency.clone(),
        };
        let order = self.order(&ag.order)?.map(|o| o.order);
        let lines = ag
            .lines
            .iter()
            .map(|al| {
                let id = crate::engine::split_line_ref(&al.order_line).map_or("", |(_, l)| l);
                let ol = order
                    .as_ref()
                    .and_then(|o| o.lines.iter().find(|l| l.id == id));
                let product = ol.map(|l| l.product.as_str()).unwrap_or_default();
                cb::AgreementLine {
                    id: al.order_line.clone(),
                    order_line_id: Some(id.to_string()),
                    product: self.product_info(product),
                    quantity: ol
                        .map(|l| l.quantity.normalize().to_string())
                        .unwrap_or_else(|| "1".into()),
                    start_date: al.start.to_string(),
                    end_date: al.end.to_string(),
                    net_price: money(al.net_price),
                    list_price: ol.and_then(|l| l.list_price).map(money),
                    ssp: al.ssp.map(money),
                    transaction_price: Some(money(al.transaction_price)),
                    attributes: ol.map(|l| l.attributes.clone()).unwrap_or_default(),
                }
            })
            .collect();
        Ok(cb::Agreement {
            id: ag.id.clone(),
            account,
            currency: ag.currency.clone(),
            order_id: Some(ag.order.clone()),
            start_date: ag.start.to_string(),
            end_date: ag.end.to_string(),
            lines,
        })
    }

    fn agreement_passes(
        &self,
        ag: &Agreement,
        def: &RevenueRunDef,
        compiled: &filter::Filter,
        custom: &CustomRows,
    ) -> Result<bool> {
        if def.filters.is_empty() {
            return Ok(true);
        }
        let account = self.account(&ag.account)?;
        let order = self.order(&ag.order)?.map(|o| o.order);
        let location = match (&account, &ag.location) {
            (Some(a), Some(l)) => a.locations.iter().find(|x| &x.id == l).cloned(),
            _ => None,
        };
        let le = self.legal_entity(&ag.legal_entity)?;
        let to_value = |v: Option<serde_yaml::Value>| v.unwrap_or(serde_yaml::Value::Null);
        let records: BTreeMap<&str, serde_yaml::Value> = [
            (
                "account",
                to_value(account.and_then(|a| serde_yaml::to_value(a).ok())),
            ),
            (
                "order",
                to_value(order.and_then(|o| serde_yaml::to_value(o).ok())),
            ),
            (
                "location",
                to_value(location.and_then(|l| serde_yaml::to_value(l).ok())),
            ),
            (
                "legal_entity",
                to_value(le.and_then(|l| serde_yaml::to_value(l).ok())),
            ),
        ]
        .into_iter()
        .collect();
        Ok(compiled.passes(|n| {
            let Some(row) = def.filters.iter().find(|r| r.n == n) else {
                return false;
            };
            if row.object == "custom" {
                return custom
                    .passing
                    .get(&n)
                    .is_some_and(|ids| ids.contains(&ag.id));
            }
            let (Some(field), Some(op)) = (&row.field, row.op) else {
                return false;
            };
            let scalar = records
                .get(row.object.as_str())
                .and_then(|r| r.get(field.as_str()))
                .and_then(Scalar::from_yaml);
            filter::compare(op, scalar.as_ref(), row.value.as_ref())
        }))
    }
}

//! From a run definition (04 §2.1, typed by [`crate::invoicing::model::InvoiceRunDef`]) to an
//! execution: dates resolved, filters compiled (04 §2.2), parameters fixed for idempotency.

use super::records::{AccountOutcome, RunExecution};
use super::run::{RunOptions, Selected};
use crate::engine::Engine;
use crate::error::{Code, EngineError, Result};
use crate::invoicing::filter::{self, Scalar};
use crate::invoicing::model::{
    document_rows, FilterObject, FilterRow, InvoiceDateType, InvoiceRunDef, RunType,
};
use chrono::NaiveDate;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

fn invalid(record: &str, field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(Code::InvalidRecord, record, field, message)
}

/// A record as the filter rows see it (its fields by name), built once per schedule and object
/// in `slot` however many rows test it.
fn record_of<'a, T: Serialize>(
    slot: &'a mut Option<Option<serde_yaml::Value>>,
    record: &T,
) -> Option<&'a serde_yaml::Value> {
    slot.get_or_insert_with(|| serde_yaml::to_value(record).ok())
        .as_ref()
}

/// What the custom filter rows of a run decided before selection.
#[derive(Default)]
struct CustomRows {
    /// Row `n` → the schedule ids it is true for.
    passing: HashMap<u32, HashSet<String>>,
    /// Accounts of chunks whose callback failed.
    failed: Vec<AccountOutcome>,
    /// Their ids.
    failed_ids: HashSet<String>,
}

/// The options a definition executes with, its dates resolved; the resolved definition is the
/// run's parameters (idempotency, 04 §3.1).
pub(crate) fn run_options(
    def: &InvoiceRunDef,
    invoice_date: NaiveDate,
    process_through: NaiveDate,
    dry_run: bool,
) -> RunOptions {
    let mut resolved = def.clone();
    resolved.invoice_date = Some(invoice_date);
    resolved.process_through = Some(process_through);
    let parameters = serde_json::to_string(&resolved).unwrap_or_default();
    RunOptions {
        name: def.name.clone(),
        process_through,
        invoice_date,
        by_ready_date: def.invoice_date_type == InvoiceDateType::ReadyForInvoiceDate,
        auto_approve: def.auto_approve,
        auto_approve_credit_memos: def.auto_approve_credit_memos,
        split_by_order: def.split_by_order,
        suppress: def.suppress,
        template: def.template.clone(),
        credit_memo_creation: def.credit_memo_creation,
        dry_run,
        parameters,
        failed_accounts: Vec::new(),
    }
}

impl Engine {
    /// The invoice run definitions of the rules.
    pub fn invoice_run_defs(&self) -> Result<Vec<InvoiceRunDef>> {
        document_rows(&self.rules, "invoice_runs").map_err(EngineError::Rules)
    }

    /// The 04 §12 `invoice_run` step: an inline immediate run, or a rules run by `name` (then
    /// only the two dates may be given). `clock` is the run date.
    pub fn invoice_run_step(
        &self,
        v: &serde_yaml::Value,
        clock: NaiveDate,
    ) -> Result<RunExecution> {
        let name = v
            .get("name")
            .and_then(|n| n.as_str())
            .ok_or_else(|| invalid("invoice_run", "name", "a run needs a name"))?
            .to_string();
        let date = |k: &str| -> Result<Option<NaiveDate>> {
            match v.get(k) {
                None | Some(serde_yaml::Value::Null) => Ok(None),
                Some(x) => x
                    .as_str()
                    .and_then(crate::dates::parse_date)
                    .map(Some)
                    .ok_or_else(|| invalid(&name, k, "expected a date YYYY-MM-DD")),
            }
        };
        let invoice_date = date("invoice_date")?;
        let process_through = date("process_through")?;
        let defs = self.invoice_run_defs()?;
        let def = match defs.into_iter().find(|d| d.name == name) {
            Some(d) => {
                let extra: Vec<String> = v
                    .as_mapping()
                    .map(|m| {
                        m.keys()
                            .filter_map(|k| k.as_str())
                            .filter(|k| !matches!(*k, "name" | "invoice_date" | "process_through"))
                            .map(str::to_string)
                            .collect()
                    })
                    .unwrap_or_default();
                if !extra.is_empty() {
                    return Err(EngineError::refused(
                        Code::RunDefinedInRules,
                        format!("invoice run {name}"),
                        extra.join(", "),
                        "the run is defined in the rules; a step may give only its two dates",
                    ));
                }
                d
            }
            None => serde_yaml::from_value::<InvoiceRunDef>(v.clone())
                .map_err(|e| invalid(&format!("invoice run {name}"), "", e.to_string()))?,
        };
        if let Some(e) = def.check().into_iter().next() {
            return Err(e.into_engine(format!("invoice run {name}")));
        }
        if def.kind == RunType::Scheduled {
            return Err(EngineError::refused(
                Code::BadRunSchedule,
                format!("invoice run {name}"),
                "type",
                "a scheduled run executes through run_scheduled",
            ));
        }
        let (inv, pt) = def
            .immediate_dates(clock, invoice_date, process_through)
            .map_err(|e| e.into_engine(format!("invoice run {name}")))?;
        self.execute_def(&def, clock, inv, pt, false)
    }

    /// 04 §3.1 `run_scheduled`: every due occurrence ≤ `through` of the scheduled invoice runs,
    /// in date, time, name order. An occurrence that already executed is a no-op (its stored
    /// execution is returned again); every execution is returned.
    pub fn run_scheduled(&self, through: NaiveDate) -> Result<Vec<RunExecution>> {
        let defs = self.invoice_run_defs()?;
        let mut due: Vec<(NaiveDate, chrono::NaiveTime, String, usize)> = Vec::new();
        for (i, d) in defs.iter().enumerate() {
            if d.kind != RunType::Scheduled {
                continue;
            }
            let Some(s) = &d.schedule else { continue };
            let time = s.start_time().unwrap_or_default();
            for on in crate::invoicing::occurrences::occurrences_through(s, through) {
                due.push((on, time, d.name.clone(), i));
            }
        }
        due.sort();
        let mut out = Vec::with_capacity(due.len());
        for (on, _, _, i) in due {
            let def = &defs[i];
            let Some(dates) = def
                .schedule
                .as_ref()
                .and_then(|s| crate::invoicing::occurrences::run_dates(s, on))
            else {
                continue;
            };
            out.push(self.execute_def(def, on, dates.invoice_date, dates.process_through, true)?);
        }
        Ok(out)
    }

    /// 04 §10 `preview: {account, process_through, invoice_date, …run options}`: exactly the
    /// documents an immediate run would create for the account now, suppressed ones flagged, in
    /// creation order; nothing is written (no numbers, statuses or run record) and callbacks see
    /// `dry_run: true`.
    pub fn preview(
        &self,
        v: &serde_yaml::Value,
        clock: NaiveDate,
    ) -> Result<Vec<(super::Document, bool)>> {
        let mut m = v.as_mapping().cloned().unwrap_or_default();
        let account = m
            .remove("account")
            .and_then(|a| a.as_str().map(str::to_string))
            .ok_or_else(|| invalid("preview", "account", "a preview needs an account"))?;
        self.known_account(&account, "preview")?;
        m.entry("name".into()).or_insert_with(|| "preview".into());
        let def: InvoiceRunDef = serde_yaml::from_value(serde_yaml::Value::Mapping(m))
            .map_err(|e| invalid("preview", "", e.to_string()))?;
        if let Some(e) = def.check().into_iter().next() {
            return Err(e.into_engine("preview"));
        }
        let (inv, pt) = def
            .immediate_dates(clock, None, None)
            .map_err(|e| e.into_engine("preview"))?;
        self.run_def(&def, clock, inv, pt, false, Some(&account))?;
        Ok(self.last_preview())
    }

    /// 04 §2.2 / 07 §1: each custom row's `invoice_run_filter` plugin is called once per chunk of
    /// `system.batch_size` accounts with the chunk's accounts and candidate lines (every pending
    /// schedule ready by the process-through date). A failed call fails every account of the
    /// chunk with `invoice_run_filter_error`; the run goes on.
    fn custom_rows(
        &self,
        def: &InvoiceRunDef,
        opts: &RunOptions,
        preview_of: Option<&str>,
    ) -> Result<CustomRows> {
        let rows: Vec<(u32, &str)> = def
            .filters
            .iter()
            .filter_map(|r| match r {
                FilterRow::Custom { n, callback } => Some((*n, callback.as_str())),
                _ => None,
            })
            .collect();
        let mut out = CustomRows::default();
        if rows.is_empty() {
            return Ok(out);
        }
        let base = |sel: &Selected<'_>| preview_of.is_none_or(|a| sel.account.id == a);
        let selected = self.select(opts, &base)?;
        let chunk = self.rules.system.batch_size.unwrap_or(500).max(1) as usize;
        let accounts: Vec<(&String, &Vec<super::run::Cand>)> = selected.iter().collect();
        for part in accounts.chunks(chunk) {
            let req = crate::callbacks::FilterRequest {
                config: Default::default(),
                run: crate::callbacks::RunInfo {
                    name: opts.name.clone(),
                    kind: "invoice".into(),
                    dry_run: opts.dry_run,
                    process_through: Some(opts.process_through.to_string()),
                    invoice_date: Some(opts.invoice_date.to_string()),
                    period: None,
                },
                accounts: part
                    .iter()
                    .filter_map(|(_, c)| c.first().map(|c| self.account_info(&c.account)))
                    .collect(),
                lines: part
                    .iter()
                    .flat_map(|(_, c)| c.iter().map(|c| self.cb_line(c)))
                    .collect(),
                agreements: Vec::new(),
            };
            for (n, name) in &rows {
                let Some(cbk) = self.callbacks.invoice_run_filter(name) else {
                    continue;
                };
                match cbk.filter_lines(&req) {
                    Ok(ids) => out.passing.entry(*n).or_default().extend(ids),
                    Err(e) => {
                        for (account, _) in part {
                            if out.failed_ids.insert((*account).clone()) {
                                tracing::warn!(run = %opts.name, account = %account, code = "invoice_run_filter_error", "{}", e.message);
                                out.failed.push(AccountOutcome {
                                    account: (*account).clone(),
                                    outcome: "failed".into(),
                                    code: Some("invoice_run_filter_error".into()),
                                    message: Some(e.message.clone()),
                                    documents: Vec::new(),
                                    suppressed: Vec::new(),
                                });
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Execute a definition with resolved dates on `on`.
    pub fn execute_def(
        &self,
        def: &InvoiceRunDef,
        on: NaiveDate,
        invoice_date: NaiveDate,
        process_through: NaiveDate,
        scheduled: bool,
    ) -> Result<RunExecution> {
        self.run_def(def, on, invoice_date, process_through, scheduled, None)
    }

    /// A run of `def`, or (with `preview_of`) a preview of one account's part of it.
    fn run_def(
        &self,
        def: &InvoiceRunDef,
        on: NaiveDate,
        invoice_date: NaiveDate,
        process_through: NaiveDate,
        scheduled: bool,
        preview_of: Option<&str>,
    ) -> Result<RunExecution> {
        let record = format!("invoice run {}", def.name);
        let rows: Vec<u32> = def.filters.iter().map(FilterRow::n).collect();
        let compiled = filter::compile(&rows, def.filter_logic.as_deref()).map_err(|errs| {
            errs.into_iter()
                .next()
                .map(|e| e.into_engine(record.clone()))
                .unwrap_or_else(|| invalid(&record, "filters", "invalid"))
        })?;
        for (i, row) in def.filters.iter().enumerate() {
            if let FilterRow::Custom { callback, .. } = row {
                if self.callbacks.invoice_run_filter(callback).is_none() {
                    return Err(EngineError::refused(
                        Code::UnknownCallback,
                        record,
                        format!("filters[{i}].callback"),
                        format!("no invoice_run_filter plugin `{callback}` is registered"),
                    ));
                }
            }
        }
        let mut opts = run_options(def, invoice_date, process_through, preview_of.is_some());
        // 04 §2.2 custom rows: one callback call per chunk of accounts, over the chunk's
        // candidate lines; the row is true for exactly the ids returned.
        let custom = self.custom_rows(def, &opts, preview_of)?;
        opts.failed_accounts = custom.failed;
        // Per schedule: the account, location, product and order records, built on first use.
        type Records = [Option<Option<serde_yaml::Value>>; 4];
        let row_passes = |n: u32, sel: &Selected<'_>, records: &mut Records| -> bool {
            let row = def.filters.iter().find(|r| r.n() == n);
            if let Some(FilterRow::Custom { .. }) = row {
                return custom
                    .passing
                    .get(&n)
                    .is_some_and(|ids| ids.contains(&sel.schedule.id));
            }
            let Some(FilterRow::Field {
                object,
                field,
                op,
                value,
                ..
            }) = row
            else {
                return false;
            };
            let [account, location, product, order] = records;
            let record = match object {
                FilterObject::Account => record_of(account, sel.account),
                FilterObject::Location => match sel.location {
                    None => return false,
                    Some(l) => record_of(location, l),
                },
                FilterObject::Product => match sel.product {
                    None => None,
                    Some(p) => record_of(product, p),
                },
                FilterObject::Order => record_of(order, sel.order),
            };
            let scalar = record
                .and_then(|r| r.get(field.as_str()))
                .and_then(Scalar::from_yaml);
            filter::compare(*op, scalar.as_ref(), value.as_ref())
        };
        let pass = |sel: &Selected<'_>| {
            let mut records: Records = Default::default();
            preview_of.is_none_or(|a| sel.account.id == a)
                && !custom.failed_ids.contains(&sel.account.id)
                && compiled.passes(|n| row_passes(n, sel, &mut records))
        };
        self.invoice_run(&opts, &pass, on, scheduled)
    }
}

//! The invoice run (04 §3): select → group → grouping callback → credit-memo option → lines →
//! tax → due date → suppression → drafts → auto-approval → `last_invoice_through`, per bill-to
//! account, each account atomic, accounts in id order, `system.batch_size` accounts per commit.
//!
//! **Exactly-once.** A schedule's own record (one key per schedule id) is the unique index: it is
//! billed only while it is `pending_billing` with no `invoice`, and its new status and document
//! ref are written in the same commit as the document. Every invoicing writer holds the engine's
//! billing lock, so reruns, overlapping runs and a crash-and-resume never bill a schedule twice.

use super::records::{keys, AccountOutcome, DocLine, DocStatus, DocType, Document, RunExecution};
use super::tx::Tx;
use crate::callbacks::{self as cb, CallbackError};
use crate::engine::{key, schedule_key, Asset, Engine, Schedule, ScheduleStatus, ScheduleType};
use crate::error::{Code, EngineError, Result};
use crate::invoicing::model::{AutoApprove, CreditMemoCreation, Suppress};
use crate::model::{Account, Location, Order, Product};
use crate::store::Store;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

/// The options a run executes with (04 §2.1, dates resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    /// Run name.
    pub name: String,
    /// Schedules ready on or before this date are selected.
    pub process_through: NaiveDate,
    /// The invoice date (ignored for groups when `by_ready_date`).
    pub invoice_date: NaiveDate,
    /// `invoice_date_type: ready_for_invoice_date`.
    pub by_ready_date: bool,
    /// Auto-approval of invoices.
    pub auto_approve: AutoApprove,
    /// Run memos approved at creation.
    pub auto_approve_credit_memos: bool,
    /// Order is a grouping key.
    pub split_by_order: bool,
    /// Invoices whose total meets it are not created.
    pub suppress: Option<Suppress>,
    /// Template override.
    pub template: Option<String>,
    /// Credit-memo option.
    pub credit_memo_creation: CreditMemoCreation,
    /// Previews: nothing is written and callbacks see `dry_run`.
    pub dry_run: bool,
    /// The canonical text of the parameters (idempotency of immediate runs, 04 §3.1).
    pub parameters: String,
    /// Accounts that failed before selection (a custom filter row's callback failed for their
    /// chunk, 07 §8): recorded `failed` with their code; none of their schedules is selected.
    pub failed_accounts: Vec<AccountOutcome>,
}

/// How far an invoice run has come (after a commit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProgress {
    /// Run name.
    pub run: String,
    /// Accounts staged and committed so far.
    pub accounts_done: usize,
    /// Accounts the run selected.
    pub accounts_total: usize,
    /// Schedules billed so far.
    pub schedules: u32,
    /// The run's last commit.
    pub done: bool,
}

/// What a run filter sees of a candidate schedule.
pub struct Selected<'a> {
    /// The schedule.
    pub schedule: &'a Schedule,
    /// Its asset.
    pub asset: &'a Asset,
    /// Bill-to account.
    pub account: &'a Account,
    /// The order.
    pub order: &'a Order,
    /// The product (when still in the rules).
    pub product: Option<&'a Product>,
    /// The order's location on the account.
    pub location: Option<&'a Location>,
}

/// A run filter: which selected schedules the run may bill (04 §2.2).
pub type Filter<'f> = &'f dyn Fn(&Selected<'_>) -> bool;

/// A schedule on its way to a document, with what it needs from its records.
#[derive(Clone)]
pub(crate) struct Cand {
    pub schedule: Schedule,
    pub asset: Arc<Asset>,
    pub account: Arc<Account>,
    pub order: Arc<Order>,
}

impl Cand {
    pub fn location(&self) -> Option<&Location> {
        let id = self.order.location.as_deref()?;
        self.account.locations.iter().find(|l| l.id == id)
    }
}

/// Why an account's part of a run failed (it is rolled back; the run goes on).
pub(crate) struct AccountFailure {
    pub code: &'static str,
    pub message: String,
}

impl From<CallbackError> for AccountFailure {
    fn from(e: CallbackError) -> Self {
        AccountFailure {
            code: "invoice_grouping_error",
            message: e.message,
        }
    }
}

/// One document about to be created, with the schedules it bills.
pub(crate) struct Planned {
    pub doc: Document,
    pub cands: Vec<Cand>,
    pub suppressed: bool,
}

impl Engine {
    /// Execute an invoice run on `on` (the run date; also the approval date of auto-approved
    /// documents). `scheduled` executions are keyed by their occurrence date; an immediate run is
    /// keyed by its name alone. A repeat with the same parameters returns the stored execution; a
    /// repeat with other parameters is refused (`run_exists_with_different_parameters`).
    pub fn invoice_run(
        &self,
        opts: &RunOptions,
        filter: Filter<'_>,
        on: NaiveDate,
        scheduled: bool,
    ) -> Result<RunExecution> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let store: &dyn Store = self.store.as_ref();
        let exec_key = keys::run_execution(
            &opts.name,
            &if scheduled {
                on.to_string()
            } else {
                String::new()
            },
        );
        if !opts.dry_run {
            if let Some(prev) = self.get::<RunExecution>(&exec_key)? {
                if prev.parameters == opts.parameters {
                    return Ok(prev);
                }
                return Err(EngineError::refused(
                    Code::RunExistsWithDifferentParameters,
                    format!("invoice run {}", opts.name),
                    "name",
                    format!(
                        "run `{}` already executed with other parameters ({}); give this one another name",
                        opts.name, prev.parameters
                    ),
                ));
            }
        }
        let selected = self.select(opts, filter)?;
        let batch_size = self.rules.system.batch_size.unwrap_or(500).max(1) as usize;
        let mut tx = Tx::new(store);
        let mut exec = RunExecution {
            run: opts.name.clone(),
            on,
            process_through: opts.process_through,
            invoice_date: (!opts.by_ready_date).then_some(opts.invoice_date),
            status: "done".into(),
            parameters: opts.parameters.clone(),
            accounts: Vec::new(),
            invoices: 0,
            credit_memos: 0,
            suppressed: 0,
            failed: 0,
            schedules: 0,
        };
        let mut preview = Vec::new();
        let n_accounts = selected.len();
        // Each account is prepared on its own (selection results, grouping, lines, tax, its
        // records encoded: nothing another account writes), possibly on several threads; the
        // prepared accounts are then staged, approved and committed here, one by one in account
        // order, so the result is the same whatever the threads.
        let mut consume = |i: usize,
                           account: &str,
                           prepared: std::result::Result<Prepared, Failed>|
         -> Result<()> {
            match prepared {
                Ok(p) => {
                    tx.put_ops(p.ops);
                    // 04 §3.3 step 10: auto-approval, in creation order (it takes numbers from
                    // counters other accounts share, so it is done here, in account order).
                    if !opts.dry_run {
                        self.auto_approve(&mut tx, opts, on, &p.planned)?;
                    }
                    let planned = p.planned;
                    exec.invoices += planned
                        .iter()
                        .filter(|p| !p.suppressed && p.doc.doc_type == DocType::Invoice)
                        .count() as u32;
                    exec.credit_memos += planned
                        .iter()
                        .filter(|p| p.doc.doc_type == DocType::CreditMemo)
                        .count() as u32;
                    exec.suppressed += planned.iter().filter(|p| p.suppressed).count() as u32;
                    exec.schedules += planned
                        .iter()
                        .filter(|p| !p.suppressed)
                        .map(|p| p.cands.len() as u32)
                        .sum::<u32>();
                    exec.accounts.push(p.outcome);
                    if opts.dry_run {
                        preview.extend(planned);
                    }
                }
                Err(Failed::Account(f)) => {
                    // Nothing of the account was staged.
                    exec.failed += 1;
                    tracing::warn!(run = %opts.name, account = %account, code = f.code, "{}", f.message);
                    exec.accounts.push(AccountOutcome {
                        account: account.to_string(),
                        outcome: "failed".into(),
                        code: Some(f.code.into()),
                        message: Some(f.message),
                        documents: Vec::new(),
                        suppressed: Vec::new(),
                    });
                }
                Err(Failed::Engine(e)) => return Err(e),
            }
            if !opts.dry_run && (i + 1).is_multiple_of(batch_size) {
                let b = tx.take_batch();
                store.commit(b)?;
                if let Some(f) = &self.progress {
                    f(&RunProgress {
                        run: opts.name.clone(),
                        accounts_done: i + 1,
                        accounts_total: n_accounts,
                        schedules: exec.schedules,
                        done: false,
                    });
                }
            }
            Ok(())
        };
        let threads = self.threads().min(n_accounts);
        if threads <= 1 {
            for (i, (account, cands)) in selected.into_iter().enumerate() {
                let prepared = self.prepare_account(opts, &account, cands);
                consume(i, &account, prepared)?;
            }
        } else {
            let work: Vec<(String, std::sync::Mutex<Option<Vec<Cand>>>)> = selected
                .into_iter()
                .map(|(a, c)| (a, std::sync::Mutex::new(Some(c))))
                .collect();
            // Workers run at most this many accounts ahead of the one being staged.
            let window = (2 * batch_size).max(64);
            let pipeline = Pipeline {
                next: AtomicUsize::new(0),
                staged: std::sync::Mutex::new(0),
                moved: std::sync::Condvar::new(),
                stop: AtomicBool::new(false),
            };
            std::thread::scope(|scope| -> Result<()> {
                let (send, recv) = std::sync::mpsc::channel();
                for _ in 0..threads {
                    let send = send.clone();
                    let (work, pipeline) = (&work, &pipeline);
                    scope.spawn(move || {
                        // A panicking worker stops the others, so none waits for it forever.
                        let _halt = HaltOnPanic(pipeline);
                        while let Some(i) = pipeline.claim(work.len(), window) {
                            let (account, cands) = &work[i];
                            let cands = cands
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .take()
                                .unwrap_or_default();
                            let prepared = self.prepare_account(opts, account, cands);
                            if send.send((i, prepared)).is_err() {
                                break;
                            }
                        }
                    });
                }
                drop(send);
                let mut ahead: BTreeMap<usize, std::result::Result<Prepared, Failed>> =
                    BTreeMap::new();
                let mut i = 0;
                let out = (|| {
                    while i < work.len() {
                        let Some(prepared) = ahead.remove(&i) else {
                            match recv.recv() {
                                Ok((j, p)) => {
                                    ahead.insert(j, p);
                                    continue;
                                }
                                Err(_) => {
                                    return Err(EngineError::Store(
                                        crate::store::StoreError::Backend(
                                            "invoice run: a worker stopped".into(),
                                        ),
                                    ))
                                }
                            }
                        };
                        consume(i, &work[i].0, prepared)?;
                        i += 1;
                        pipeline.advance(i);
                    }
                    Ok(())
                })();
                pipeline.halt();
                out
            })?;
        }
        if !opts.failed_accounts.is_empty() {
            exec.failed += opts.failed_accounts.len() as u32;
            exec.accounts.extend(opts.failed_accounts.iter().cloned());
            exec.accounts.sort_by(|a, b| a.account.cmp(&b.account));
        }
        if opts.dry_run {
            *self.last_preview.lock().unwrap_or_else(|p| p.into_inner()) =
                preview.into_iter().map(|p| (p.doc, p.suppressed)).collect();
            return Ok(exec);
        }
        tx.put(exec_key, &exec);
        tx.commit()?;
        if let Some(f) = &self.progress {
            f(&RunProgress {
                run: opts.name.clone(),
                accounts_done: exec.accounts.len(),
                accounts_total: exec.accounts.len(),
                schedules: exec.schedules,
                done: true,
            });
        }
        tracing::info!(
            run = %opts.name,
            invoices = exec.invoices,
            credit_memos = exec.credit_memos,
            suppressed = exec.suppressed,
            failed = exec.failed,
            "invoice run done"
        );
        Ok(exec)
    }

    /// The threads a run prepares accounts on.
    fn threads(&self) -> usize {
        match self.run_threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// Every execution of a run, in date order.
    pub fn run_executions(&self, name: &str) -> Result<Vec<RunExecution>> {
        self.store
            .scan(&keys::run_executions(name))?
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    }

    /// 04 §3.2: the selected schedules, by bill-to account in id order.
    pub(crate) fn select(
        &self,
        opts: &RunOptions,
        filter: Filter<'_>,
    ) -> Result<BTreeMap<String, Vec<Cand>>> {
        let mut assets: HashMap<String, Option<Arc<Asset>>> = HashMap::new();
        let mut orders: HashMap<String, Option<Arc<Order>>> = HashMap::new();
        let mut accounts: HashMap<String, Option<Arc<Account>>> = HashMap::new();
        let mut out: BTreeMap<String, Vec<Cand>> = BTreeMap::new();
        let entries = self.store.scan(&key(&["sched", ""]))?;
        for s in decode_all::<Schedule>(&entries, self.threads())? {
            if s.schedule_type != ScheduleType::Contracted
                || s.status != ScheduleStatus::PendingBilling
                || s.ready > opts.process_through
            {
                continue;
            }
            if s.invoice.is_some() {
                continue;
            }
            let Some(asset) = cached(&mut assets, &s.line, |l| Ok(self.asset(l)?.map(Arc::new)))?
            else {
                continue;
            };
            // 03 B.3, F.27: a usage row whose period holds a loaded input waits for rating.
            if self
                .rules
                .products
                .get(&asset.product)
                .is_some_and(|p| p.price_type == crate::model::PriceType::Usage)
                && self.usage_held(&s.line, s.start, s.end)?
            {
                continue;
            }
            let Some(order) = cached(&mut orders, &asset.order, |o| {
                Ok(self.order(o)?.map(|o| Arc::new(o.order)))
            })?
            else {
                continue;
            };
            let account = cached(&mut accounts, &asset.account, |a| {
                Ok(self.account(a)?.map(Arc::new))
            })?;
            let Some(account) = account else { continue };
            let cand = Cand {
                schedule: s,
                asset,
                account,
                order,
            };
            let sel = Selected {
                schedule: &cand.schedule,
                asset: &cand.asset,
                account: &cand.account,
                order: &cand.order,
                product: self.rules.products.get(&cand.asset.product),
                location: cand.location(),
            };
            if !filter(&sel) {
                continue;
            }
            out.entry(cand.asset.account.clone())
                .or_default()
                .push(cand);
        }
        Ok(out)
    }

    /// One account's part of a run up to its auto-approval, on its own: its writes are staged
    /// in an overlay of its own over the store and returned encoded. It reads nothing another
    /// account of the run writes (an account's schedules, documents and counters are its own),
    /// so it may run on any thread, before the accounts ahead of it are staged.
    fn prepare_account(
        &self,
        opts: &RunOptions,
        account: &str,
        cands: Vec<Cand>,
    ) -> std::result::Result<Prepared, Failed> {
        let mut tx = Tx::new(self.store.as_ref());
        let (outcome, planned) = self.bill_account(&mut tx, opts, account, cands)?;
        Ok(Prepared {
            outcome,
            planned,
            ops: tx.into_ops(),
        })
    }

    /// One account's documents, schedules and counters, staged in `tx`.
    pub(crate) fn bill_account(
        &self,
        tx: &mut Tx<'_>,
        opts: &RunOptions,
        account: &str,
        cands: Vec<Cand>,
    ) -> std::result::Result<(AccountOutcome, Vec<Planned>), Failed> {
        // 04 §3.4: the default key, in order.
        let mut candidates: BTreeMap<Vec<String>, Vec<Cand>> = BTreeMap::new();
        for c in cands {
            let loc = c
                .location()
                .filter(|l| l.invoice_separately)
                .map(|l| l.id.clone())
                .unwrap_or_default();
            let k = vec![
                c.asset.currency.clone(),
                c.account.legal_entity.clone().unwrap_or_default(),
                crate::plans::row_payment_term(&c.schedule, c.asset.payment_term.as_ref())
                    .cloned()
                    .unwrap_or_default(),
                loc,
                if opts.split_by_order {
                    c.order.id.clone()
                } else {
                    String::new()
                },
                if opts.by_ready_date {
                    c.schedule.ready.to_string()
                } else {
                    String::new()
                },
            ];
            candidates.entry(k).or_default().push(c);
        }
        for v in candidates.values_mut() {
            v.sort_by(|a, b| {
                (a.schedule.line.as_str(), a.schedule.start, a.schedule.seq).cmp(&(
                    b.schedule.line.as_str(),
                    b.schedule.start,
                    b.schedule.seq,
                ))
            });
        }
        let groups = self.grouping(opts, account, &candidates)?;
        let mut planned: Vec<Planned> = Vec::new();
        for (key, group) in groups {
            planned.extend(self.plan_group(opts, &key, group).map_err(Failed::Engine)?);
        }
        // Invoices before credit memos (04 §3.4); creation order gives the refs.
        planned.sort_by_key(|p| p.doc.doc_type == DocType::CreditMemo);
        let mut outcome = AccountOutcome {
            account: account.to_string(),
            outcome: "invoiced".into(),
            code: None,
            message: None,
            documents: Vec::new(),
            suppressed: Vec::new(),
        };
        let mut new_invoice_of_group: HashMap<String, String> = HashMap::new();
        for p in &mut planned {
            let Some(account_record) = p.cands.first().map(|c| c.account.clone()) else {
                continue;
            };
            self.tax_document_of(&mut p.doc, &account_record, opts.dry_run)
                .map_err(Failed::Engine)?;
            // 04 §3.5 nets before tax; tax-inclusive lines of the other sign can still leave the
            // taxed total below zero. The document then takes the other type (decision 55):
            // negating every line negates the tax, so its total comes out positive.
            if p.doc.total < Decimal::ZERO
                && opts.credit_memo_creation == CreditMemoCreation::SingleForNegativeInvoice
            {
                let other = match p.doc.doc_type {
                    DocType::Invoice => DocType::CreditMemo,
                    DocType::CreditMemo => DocType::Invoice,
                };
                p.doc = self
                    .new_document(other, opts, &p.doc.group_key.clone(), &p.cands)
                    .map_err(Failed::Engine)?;
                self.tax_document_of(&mut p.doc, &account_record, opts.dry_run)
                    .map_err(Failed::Engine)?;
            }
            p.doc.due_date = Some(self.due_date_of(&p.doc));
            if p.doc.doc_type == DocType::Invoice {
                if let Some(sup) = opts.suppress {
                    if sup.suppresses(p.doc.total) {
                        p.suppressed = true;
                        outcome.suppressed.push(p.doc.total);
                        continue;
                    }
                }
            }
            if opts.dry_run {
                continue;
            }
            let seq = next_seq(tx, p.doc.doc_type, account).map_err(Failed::Engine)?;
            p.doc.seq = seq;
            if p.doc.doc_type == DocType::Invoice {
                new_invoice_of_group.insert(p.doc.group_key.clone(), p.doc.reference());
            } else if opts.credit_memo_creation == CreditMemoCreation::PerInvoice {
                p.doc.invoice = new_invoice_of_group.get(&p.doc.group_key).cloned();
            }
            if p.doc.doc_type == DocType::CreditMemo && p.doc.invoice.is_none() {
                p.doc.invoice = debit_invoice(tx, &p.cands).map_err(Failed::Engine)?;
            }
            let r = stage_document(tx, &p.doc, &p.cands).map_err(Failed::Engine)?;
            outcome.documents.push(r);
        }
        if opts.dry_run {
            return Ok((outcome, planned));
        }
        // Step 13 (step 10, auto-approval, follows in `auto_approve`: it writes documents and
        // numbering counters, never this record).
        update_account_billing(tx, account, |ab| {
            ab.last_invoice_through = Some(opts.process_through);
        })
        .map_err(Failed::Engine)?;
        Ok((outcome, planned))
    }

    /// 04 §3.3 step 10: auto-approval of an account's new documents, in creation order.
    pub(crate) fn auto_approve(
        &self,
        tx: &mut Tx<'_>,
        opts: &RunOptions,
        on: NaiveDate,
        planned: &[Planned],
    ) -> Result<()> {
        for p in planned.iter().filter(|p| !p.suppressed) {
            let approve = match p.doc.doc_type {
                DocType::Invoice => opts.auto_approve.approves(p.doc.total),
                DocType::CreditMemo => opts.auto_approve_credit_memos,
            };
            if approve && p.doc.error_status.is_none() {
                self.approve_in(tx, &p.doc.reference(), on)?;
            }
        }
        Ok(())
    }

    /// Step 3: the account's candidates in key order, split by the grouping callback when one is
    /// registered (it may only split, 04 §3.4); groups of one candidate in the order of their
    /// first schedule.
    fn grouping(
        &self,
        opts: &RunOptions,
        account: &str,
        candidates: &BTreeMap<Vec<String>, Vec<Cand>>,
    ) -> std::result::Result<Vec<(String, Vec<Cand>)>, Failed> {
        let label = |k: &Vec<String>| {
            std::iter::once(account.to_string())
                .chain(k.iter().filter(|p| !p.is_empty()).cloned())
                .collect::<Vec<_>>()
                .join("|")
        };
        let Some(cbk) = self.callbacks.invoice_grouping() else {
            return Ok(candidates
                .iter()
                .map(|(k, v)| (label(k), v.clone()))
                .collect());
        };
        let Some(first) = candidates.values().flat_map(|v| v.first()).next() else {
            return Ok(Vec::new());
        };
        let lines: Vec<cb::Line> = candidates
            .values()
            .flatten()
            .map(|c| self.cb_line(c))
            .collect();
        let req = cb::GroupingRequest {
            config: Default::default(),
            run: cb::RunInfo {
                name: opts.name.clone(),
                kind: "invoice".into(),
                dry_run: opts.dry_run,
                process_through: Some(opts.process_through.to_string()),
                invoice_date: Some(opts.invoice_date.to_string()),
                period: None,
            },
            account: self.account_info(&first.account),
            lines,
            default_groups: candidates
                .iter()
                .map(|(k, v)| cb::LineGroup {
                    key: label(k),
                    line_ids: v.iter().map(|c| c.schedule.id.clone()).collect(),
                })
                .collect(),
        };
        let groups = cbk
            .group_lines(&req)
            .map_err(|e| Failed::Account(e.into()))?;
        let by_id: HashMap<&str, (usize, usize, &Cand)> = candidates
            .values()
            .enumerate()
            .flat_map(|(ci, v)| {
                v.iter()
                    .enumerate()
                    .map(move |(li, c)| (c.schedule.id.as_str(), (ci, li, c)))
            })
            .collect();
        let mut out: Vec<((usize, usize), String, Vec<Cand>)> = Vec::new();
        for g in groups {
            let mut members: Vec<(usize, usize, &Cand)> = Vec::new();
            for id in &g.line_ids {
                match by_id.get(id.as_str()) {
                    Some(m) => members.push(*m),
                    None => {
                        return Err(Failed::Account(AccountFailure {
                            code: "invoice_grouping_error",
                            message: format!("group `{}` names unknown line `{id}`", g.key),
                        }))
                    }
                }
            }
            members.sort_by_key(|(ci, li, _)| (*ci, *li));
            let Some(&(ci, li, _)) = members.first() else {
                continue;
            };
            out.push((
                (ci, li),
                g.key.clone(),
                members.into_iter().map(|(_, _, c)| c.clone()).collect(),
            ));
        }
        out.sort_by_key(|(pos, _, _)| *pos);
        Ok(out.into_iter().map(|(_, k, v)| (k, v)).collect())
    }

    /// Step 4–5: the documents of one group (04 §3.5), lines built, not yet taxed.
    fn plan_group(&self, opts: &RunOptions, key: &str, group: Vec<Cand>) -> Result<Vec<Planned>> {
        let (pos, neg): (Vec<Cand>, Vec<Cand>) = group
            .iter()
            .cloned()
            .partition(|c| c.schedule.amount >= Decimal::ZERO);
        let mut out = Vec::new();
        let mut doc = |t: DocType, cands: Vec<Cand>| -> Result<()> {
            out.push(Planned {
                doc: self.new_document(t, opts, key, &cands)?,
                cands,
                suppressed: false,
            });
            Ok(())
        };
        match opts.credit_memo_creation {
            CreditMemoCreation::SingleForNegativeInvoice => {
                let net: Decimal = group.iter().map(|c| c.schedule.amount).sum();
                if net >= Decimal::ZERO {
                    doc(DocType::Invoice, group)?;
                } else {
                    doc(DocType::CreditMemo, group)?;
                }
            }
            CreditMemoCreation::PerNegativeSchedule => {
                if !pos.is_empty() {
                    doc(DocType::Invoice, pos)?;
                }
                for n in neg {
                    doc(DocType::CreditMemo, vec![n])?;
                }
            }
            CreditMemoCreation::PerInvoice => {
                if !pos.is_empty() {
                    doc(DocType::Invoice, pos)?;
                }
                if !neg.is_empty() {
                    doc(DocType::CreditMemo, neg)?;
                }
            }
        }
        Ok(out)
    }

    pub(crate) fn new_document(
        &self,
        t: DocType,
        opts: &RunOptions,
        key: &str,
        cands: &[Cand],
    ) -> Result<Document> {
        let first = cands.first().ok_or_else(|| {
            EngineError::refused(Code::InvalidRecord, key, "lines", "empty document")
        })?;
        let sign = if t == DocType::CreditMemo {
            Decimal::NEGATIVE_ONE
        } else {
            Decimal::ONE
        };
        let invoice_date = if opts.by_ready_date {
            first.schedule.ready
        } else {
            opts.invoice_date
        };
        let lines = cands
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let product = self.rules.products.get(&c.asset.product);
                let amount = c.schedule.amount * sign;
                DocLine {
                    n: i as u32 + 1,
                    schedule: Some(c.schedule.id.clone()),
                    line: Some(c.schedule.line.clone()),
                    product: c.asset.product.clone(),
                    description: product
                        .and_then(|p| p.name.clone())
                        .unwrap_or_else(|| c.asset.product.clone()),
                    period_start: Some(c.schedule.start),
                    period_end: Some(c.schedule.end),
                    quantity: c.schedule.quantity,
                    amount,
                    discount: Decimal::ZERO,
                    net: amount,
                    tax: Decimal::ZERO,
                    total: amount,
                    taxable: product.is_some_and(|p| p.taxable),
                    tax_inclusive: product.is_some_and(|p| p.tax_inclusive),
                    tax_code: product.and_then(|p| p.tax_code.clone()),
                    exempt: false,
                    breakups: Vec::new(),
                    credited: Decimal::ZERO,
                    credits: None,
                }
            })
            .collect();
        let mut doc = Document {
            doc_type: t,
            seq: 0,
            kind: match t {
                DocType::Invoice => "standard".into(),
                DocType::CreditMemo => "credit_memo".into(),
            },
            status: DocStatus::Draft,
            number: None,
            account: first.asset.account.clone(),
            location: first.order.location.clone(),
            legal_entity: first.account.legal_entity.clone(),
            currency: first.asset.currency.clone(),
            payment_term: crate::plans::row_payment_term(
                &first.schedule,
                first.asset.payment_term.as_ref(),
            )
            .cloned(),
            order: opts.split_by_order.then(|| first.order.id.clone()),
            invoice_date,
            due_date: None,
            subtotal: Decimal::ZERO,
            discount: Decimal::ZERO,
            tax: Decimal::ZERO,
            total: Decimal::ZERO,
            tax_breakups: Vec::new(),
            credits_applied: Decimal::ZERO,
            wallet_applied: Decimal::ZERO,
            paid: Decimal::ZERO,
            written_off: Decimal::ZERO,
            balance: Decimal::ZERO,
            error_status: None,
            error_message: None,
            template: opts.template.clone(),
            run: Some(opts.name.clone()),
            group_key: key.to_string(),
            source: (t == DocType::CreditMemo).then(|| "run".to_string()),
            reason: (t == DocType::CreditMemo).then(|| "amendment".to_string()),
            invoice: None,
            approved_on: None,
            replaces: None,
            replaced_by: Vec::new(),
            lines,
        };
        doc.recompute_totals();
        Ok(doc)
    }

    /// Read a document by ref.
    pub fn document(&self, reference: &str) -> Result<Option<Document>> {
        let Some((t, account, n)) = super::records::parse_ref(reference) else {
            return Ok(None);
        };
        self.get(&keys::document(t, account, n))
    }

    /// An account's documents of one type, in creation order.
    pub fn documents(&self, t: DocType, account: &str) -> Result<Vec<Document>> {
        self.store
            .scan(&keys::documents(t, account))?
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    }

    /// The documents of the last preview, with their `suppressed` flags.
    pub fn last_preview(&self) -> Vec<(Document, bool)> {
        self.last_preview
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Stage a new document (its `seq` already taken) with its schedules: each goes
/// `pending_invoiced` on it, but only if, read through this commit, it is still pending and on no
/// document: the schedule's own record is the exactly-once index. Returns the document's ref.
/// 04 §3.5: the invoice that billed the `debit_schedule`s (03 A.4) of a memo's negative
/// schedules, when they all name one; `None` otherwise (or when one has no debit schedule).
fn debit_invoice(tx: &Tx<'_>, cands: &[Cand]) -> Result<Option<String>> {
    let mut found: Option<String> = None;
    for c in cands.iter().filter(|c| c.schedule.amount < Decimal::ZERO) {
        let Some(k) = c
            .schedule
            .change
            .debit_schedule
            .as_deref()
            .and_then(super::lifecycle::schedule_key_of)
        else {
            return Ok(None);
        };
        let Some(inv) = tx.get::<Schedule>(&k)?.and_then(|s| s.invoice) else {
            return Ok(None);
        };
        match &found {
            Some(f) if *f != inv => return Ok(None),
            _ => found = Some(inv),
        }
    }
    Ok(found)
}

pub(crate) fn stage_document(tx: &mut Tx<'_>, doc: &Document, cands: &[Cand]) -> Result<String> {
    let r = doc.reference();
    for c in cands {
        let (order, line) = crate::engine::split_line_ref(&c.schedule.line).unwrap_or_default();
        let k = schedule_key(order, line, c.schedule.seq);
        // Unless this commit already wrote it, the record is the one the caller read under the
        // same lock.
        let current: Option<Schedule> = match tx.staged(&k) {
            Some(v) => v.map(|v| crate::engine::decode(&k, &v)).transpose()?,
            None => Some(c.schedule.clone()),
        };
        let Some(mut s) =
            current.filter(|s| s.status == ScheduleStatus::PendingBilling && s.invoice.is_none())
        else {
            return Err(EngineError::refused(
                Code::InvalidRecord,
                c.schedule.id.clone(),
                "status",
                "schedule already billed or no longer pending (exactly-once)",
            ));
        };
        s.status = ScheduleStatus::PendingInvoiced;
        s.invoice = Some(r.clone());
        tx.put(k, &s);
    }
    tx.put(keys::document(doc.doc_type, &doc.account, doc.seq), doc);
    Ok(r)
}

/// Decode records in their order, on up to `threads` threads.
fn decode_all<T: serde::de::DeserializeOwned + Send>(
    entries: &[(Vec<u8>, Vec<u8>)],
    threads: usize,
) -> Result<Vec<T>> {
    let decode_chunk = |chunk: &[(Vec<u8>, Vec<u8>)]| -> Result<Vec<T>> {
        chunk
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    };
    if threads <= 1 || entries.len() < 4096 {
        return decode_chunk(entries);
    }
    let size = entries.len().div_ceil(threads);
    let parts: Vec<Result<Vec<T>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = entries
            .chunks(size)
            .map(|chunk| scope.spawn(move || decode_chunk(chunk)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = Vec::with_capacity(entries.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// A record read once per run: `load` runs on the first lookup of `key`, absent records included.
fn cached<T>(
    map: &mut HashMap<String, Option<Arc<T>>>,
    key: &str,
    load: impl FnOnce(&str) -> Result<Option<Arc<T>>>,
) -> Result<Option<Arc<T>>> {
    if let Some(v) = map.get(key) {
        return Ok(v.clone());
    }
    let v = load(key)?;
    map.insert(key.to_string(), v.clone());
    Ok(v)
}

/// An account prepared for staging: its outcome, documents and encoded writes.
struct Prepared {
    outcome: AccountOutcome,
    planned: Vec<Planned>,
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

/// The hand-over between the workers preparing accounts and the thread staging them.
struct Pipeline {
    /// The next account to prepare.
    next: AtomicUsize,
    /// How many accounts are staged.
    staged: std::sync::Mutex<usize>,
    moved: std::sync::Condvar,
    stop: AtomicBool,
}

impl Pipeline {
    /// The next account for a worker, once it is within `window` of the staged ones; `None`
    /// when there is none left or the run stopped.
    fn claim(&self, len: usize, window: usize) -> Option<usize> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if i >= len {
            return None;
        }
        let mut staged = self.staged.lock().unwrap_or_else(|p| p.into_inner());
        while i >= *staged + window && !self.stop.load(Ordering::Relaxed) {
            staged = self.moved.wait(staged).unwrap_or_else(|p| p.into_inner());
        }
        (!self.stop.load(Ordering::Relaxed)).then_some(i)
    }

    fn advance(&self, staged: usize) {
        *self.staged.lock().unwrap_or_else(|p| p.into_inner()) = staged;
        self.moved.notify_all();
    }

    fn halt(&self) {
        self.stop.store(true, Ordering::Relaxed);
        let _guard = self.staged.lock().unwrap_or_else(|p| p.into_inner());
        self.moved.notify_all();
    }
}

/// Halts the pipeline when its thread unwinds.
struct HaltOnPanic<'a>(&'a Pipeline);

impl Drop for HaltOnPanic<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.halt();
        }
    }
}

/// Either an account failure (rolled back, the run goes on) or an engine error (the run stops).
pub(crate) enum Failed {
    Account(AccountFailure),
    Engine(EngineError),
}

impl From<EngineError> for Failed {
    fn from(e: EngineError) -> Self {
        Failed::Engine(e)
    }
}

/// An account's invoicing counters, one record per account: the `#n` of its last invoice and
/// credit memo, and `last_invoice_through` (04 §3.3 step 13).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct AccountBilling {
    pub invoices: u32,
    pub credit_memos: u32,
    pub last_invoice_through: Option<NaiveDate>,
}

fn account_billing_key(account: &str) -> Vec<u8> {
    key(&["acctbill", account])
}

/// An account's counters, as stored.
pub(crate) fn account_billing(store: &dyn Store, account: &str) -> Result<AccountBilling> {
    Ok(match store.get(&account_billing_key(account))? {
        Some(v) => crate::engine::decode(&account_billing_key(account), &v)?,
        None => AccountBilling::default(),
    })
}

/// Update an account's counters in `tx`.
pub(crate) fn update_account_billing<T>(
    tx: &mut Tx<'_>,
    account: &str,
    f: impl FnOnce(&mut AccountBilling) -> T,
) -> Result<T> {
    let k = account_billing_key(account);
    let mut ab: AccountBilling = tx.get(&k)?.unwrap_or_default();
    let out = f(&mut ab);
    tx.put(k, &ab);
    Ok(out)
}

/// The next `#n` of an account's documents of one type.
pub(crate) fn next_seq(tx: &mut Tx<'_>, t: DocType, account: &str) -> Result<u32> {
    update_account_billing(tx, account, |ab| {
        let n = match t {
            DocType::Invoice => &mut ab.invoices,
            DocType::CreditMemo => &mut ab.credit_memos,
        };
        *n += 1;
        *n
    })
}

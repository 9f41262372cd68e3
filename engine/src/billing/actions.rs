//! The designed actions of 04 §8.1: split a draft, regenerate a draft, ad-hoc invoices, and
//! credit and rebill. Each is one atomic commit under the billing lock; a refusal changes
//! nothing.

use super::definition::run_options;
use super::lifecycle::{schedule_key_of, Approval};
use super::records::{keys, DocLine, DocStatus, DocType, Document, RunExecution};
use super::run::{next_seq, stage_document, Cand, Failed, RunOptions};
use super::tx::Tx;
use crate::engine::{key, split_line_ref, Engine, Schedule, ScheduleStatus};
use crate::error::{Code, EngineError, Result};
use crate::invoicing::model::InvoiceRunDef;
use crate::money::{minor_units, round};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::sync::Arc;

/// One manual line of an ad-hoc invoice (04 §8.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocLine {
    /// Product code (taxed by it).
    pub product: String,
    /// Display text (default the product's name).
    pub description: Option<String>,
    /// Quantity (default 1).
    pub quantity: Option<Decimal>,
    /// Unit price.
    pub unit_price: Option<Decimal>,
    /// Amount (default round(quantity × unit_price) − discount).
    pub amount: Option<Decimal>,
    /// Discount (default 0).
    pub discount: Option<Decimal>,
    /// Service period.
    pub period_start: Option<NaiveDate>,
    /// Service period.
    pub period_end: Option<NaiveDate>,
}

/// An ad-hoc invoice request (04 §8.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AdhocRequest {
    /// Bill-to account.
    pub account: String,
    /// Invoice date (default the step's date).
    pub invoice_date: Option<NaiveDate>,
    /// One of the account's locations (tax location; default the account's first).
    pub location: Option<String>,
    /// Payment term (default the account's, then its preference's).
    pub payment_term: Option<String>,
    /// Currency; must be the account's when given.
    pub currency: Option<String>,
    /// Lines.
    pub lines: Vec<AdhocLine>,
    /// Approve at once.
    pub approve: bool,
}

/// A credit-and-rebill request (04 §8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebillRequest {
    /// The approved invoice.
    pub invoice: String,
    /// Date of the credit memo and of the new invoice.
    pub invoice_date: NaiveDate,
    /// Approve the new invoice.
    pub approve: bool,
}

fn refused(code: Code, record: &str, field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, message)
}

fn load(tx: &Tx<'_>, reference: &str, want: DocType) -> Result<Document> {
    let unknown = || match want {
        DocType::Invoice => refused(Code::UnknownInvoice, reference, "ref", "no such invoice"),
        DocType::CreditMemo => refused(
            Code::UnknownCreditMemo,
            reference,
            "ref",
            "no such credit memo",
        ),
    };
    let (t, account, n) = super::records::parse_ref(reference).ok_or_else(unknown)?;
    if t != want {
        return Err(unknown());
    }
    tx.get::<Document>(&keys::document(t, account, n))?
        .ok_or_else(unknown)
}

fn save(tx: &mut Tx<'_>, doc: &Document) {
    tx.put(keys::document(doc.doc_type, &doc.account, doc.seq), doc);
}

fn need_draft(doc: &Document) -> Result<()> {
    if doc.status == DocStatus::Draft {
        return Ok(());
    }
    Err(refused(
        Code::InvoiceNotDraft,
        &doc.reference(),
        "status",
        "only drafts can be split or regenerated",
    ))
}

/// The line's amount after discount, rounded to the currency.
fn adhoc_amount(l: &AdhocLine, scale: u32, rounding: crate::money::Rounding) -> Decimal {
    let discount = l.discount.unwrap_or_default();
    l.amount.unwrap_or_else(|| {
        round(
            l.quantity.unwrap_or(Decimal::ONE) * l.unit_price.unwrap_or_default(),
            scale,
            rounding,
        ) - discount
    })
}

impl Engine {
    /// Run `f` under the billing lock; commit what it staged when it returns `Ok`.
    fn action<T>(&self, f: impl FnOnce(&Engine, &mut Tx<'_>) -> Result<T>) -> Result<T> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        let out = f(self, &mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// 04 §8.1 split: the listed lines of a draft invoice move to a new draft with the same
    /// header and key; each draft renumbers its lines 1…n in their order (04 §15.23); both are
    /// re-taxed. Returns (the old draft, the new one).
    pub fn split_invoice(&self, reference: &str, lines: &[u32]) -> Result<(Document, Document)> {
        self.action(|e, tx| {
            let mut doc = load(tx, reference, DocType::Invoice)?;
            need_draft(&doc)?;
            if lines.is_empty() {
                return Err(refused(
                    Code::SplitEmpty,
                    reference,
                    "lines",
                    "name at least one line to move",
                ));
            }
            for (i, n) in lines.iter().enumerate() {
                let field = format!("lines[{i}]");
                if lines[..i].contains(n) {
                    return Err(refused(
                        Code::SplitLineRepeated,
                        reference,
                        &field,
                        format!("line {n} is named twice"),
                    ));
                }
                if !doc.lines.iter().any(|l| l.n == *n) {
                    return Err(refused(
                        Code::UnknownInvoiceLine,
                        reference,
                        &field,
                        format!("the invoice has no line {n}"),
                    ));
                }
            }
            if lines.len() == doc.lines.len() {
                return Err(refused(
                    Code::SplitLeavesEmptyInvoice,
                    reference,
                    "lines",
                    "moving every line would leave the invoice empty",
                ));
            }
            let (moved, kept): (Vec<DocLine>, Vec<DocLine>) = std::mem::take(&mut doc.lines)
                .into_iter()
                .partition(|l| lines.contains(&l.n));
            let renumber = |v: Vec<DocLine>| -> Vec<DocLine> {
                v.into_iter()
                    .enumerate()
                    .map(|(i, mut l)| {
                        l.n = i as u32 + 1;
                        l
                    })
                    .collect()
            };
            doc.lines = renumber(kept);
            let mut new = doc.clone();
            new.seq = next_seq(tx, DocType::Invoice, &doc.account)?;
            new.lines = renumber(moved);
            // The moved schedules now point at the new draft.
            let new_ref = new.reference();
            for l in &new.lines {
                let Some(k) = l.schedule.as_deref().and_then(schedule_key_of) else {
                    continue;
                };
                if let Some(mut s) = tx.get::<Schedule>(&k)? {
                    s.invoice = Some(new_ref.clone());
                    tx.put(k, &s);
                }
            }
            for d in [&mut doc, &mut new] {
                e.retax(d)?;
            }
            save(tx, &doc);
            save(tx, &new);
            Ok((doc, new))
        })
    }

    /// Re-tax a draft, keeping an error status other than tax's (a stale draft stays stale).
    fn retax(&self, doc: &mut Document) -> Result<()> {
        let kept = doc
            .error_status
            .clone()
            .filter(|s| s != "tax_calculation_error")
            .map(|s| (s, doc.error_message.clone()));
        self.tax_document(doc, false)?;
        if let Some((status, message)) = kept {
            if doc.error_status.is_none() {
                doc.error_status = Some(status);
                doc.error_message = message;
            }
        }
        Ok(())
    }

    /// The options the document's run executed with (its invoice date kept), or plain defaults
    /// for documents of no run.
    fn options_of(&self, tx: &Tx<'_>, doc: &Document) -> Result<RunOptions> {
        let r = doc.reference();
        let name = doc.run.clone().unwrap_or_else(|| "regenerate".into());
        let mut def: Option<InvoiceRunDef> = None;
        if doc.run.is_some() {
            for (k, v) in tx.scan(&keys::run_executions(&name))? {
                let exec: RunExecution = crate::engine::decode(&k, &v)?;
                if exec.accounts.iter().any(|a| a.documents.contains(&r)) {
                    def = Some(serde_json::from_str(&exec.parameters).map_err(|e| {
                        refused(
                            Code::InvalidRecord,
                            &r,
                            "run",
                            format!("the options of run `{name}` cannot be read back: {e}"),
                        )
                    })?);
                    break;
                }
            }
        }
        let def = match def {
            Some(d) => d,
            None => serde_json::from_value(serde_json::json!({ "name": name })).map_err(|e| {
                refused(Code::InvalidRecord, &r, "run", format!("run options: {e}"))
            })?,
        };
        let pt = def.process_through.unwrap_or(doc.invoice_date);
        Ok(run_options(&def, doc.invoice_date, pt, false))
    }

    /// The candidate a schedule id gives, read through `tx`: `None` unless it is live,
    /// `pending_billing` and on no document.
    fn cand_of(&self, tx: &Tx<'_>, id: &str) -> Result<Option<Cand>> {
        let Some(k) = schedule_key_of(id) else {
            return Ok(None);
        };
        let Some(s) = tx.get::<Schedule>(&k)? else {
            return Ok(None);
        };
        if s.status != ScheduleStatus::PendingBilling || s.invoice.is_some() {
            return Ok(None);
        }
        let Some(asset) = tx.get::<crate::engine::Asset>(&{
            let (o, l) = split_line_ref(&s.line).unwrap_or_default();
            key(&["asset", o, l])
        })?
        else {
            return Ok(None);
        };
        let Some(order) = self.order(&asset.order)? else {
            return Ok(None);
        };
        let Some(account) = self.account(&asset.account)? else {
            return Ok(None);
        };
        Ok(Some(Cand {
            schedule: s,
            asset: Arc::new(asset),
            account: Arc::new(account),
            order: Arc::new(order.order),
        }))
    }

    /// Live schedules of `doc` return to `pending_billing`, unlinked (part of an action);
    /// returns their ids.
    fn release_schedules(&self, tx: &mut Tx<'_>, doc: &Document) -> Result<Vec<String>> {
        self.set_schedule_status(tx, doc, ScheduleStatus::PendingBilling, false)
    }

    /// 04 §8.1 regenerate: the draft is cancelled (`replaced_by`); its schedules that are not
    /// superseded or cancelled are billed again at once with the original run's options and
    /// invoice date (its manual lines copied onto the first new invoice). Returns the new
    /// documents in creation order.
    pub fn regenerate(&self, reference: &str, on: NaiveDate) -> Result<Vec<Document>> {
        self.action(|e, tx| {
            let t = super::records::parse_ref(reference)
                .map(|x| x.0)
                .unwrap_or(DocType::Invoice);
            let mut doc = load(tx, reference, t)?;
            need_draft(&doc)?;
            let opts = e.options_of(tx, &doc)?;
            doc.status = DocStatus::Cancelled;
            let ids = e.release_schedules(tx, &doc)?;
            let mut cands = Vec::new();
            for id in &ids {
                if let Some(c) = e.cand_of(tx, id)? {
                    cands.push(c);
                }
            }
            let mut created: Vec<String> = Vec::new();
            if !cands.is_empty() {
                match e.bill_account(tx, &opts, &doc.account, cands) {
                    Ok((outcome, planned)) => {
                        e.auto_approve(tx, &opts, on, &planned)?;
                        created = outcome.documents
                    }
                    Err(Failed::Engine(err)) => return Err(err),
                    Err(Failed::Account(f)) => {
                        return Err(refused(
                            Code::InvoiceGroupingError,
                            reference,
                            "lines",
                            f.message,
                        ))
                    }
                }
            }
            let manual: Vec<DocLine> = doc
                .lines
                .iter()
                .filter(|l| l.schedule.is_none())
                .cloned()
                .collect();
            if !manual.is_empty() {
                let first_invoice = created.iter().find(|r| r.starts_with("invoice:")).cloned();
                let mut target = match first_invoice {
                    Some(r) => load(tx, &r, DocType::Invoice)?,
                    None => {
                        let mut d = doc.clone();
                        d.status = DocStatus::Draft;
                        d.lines.clear();
                        d.seq = next_seq(tx, d.doc_type, &d.account)?;
                        d.replaced_by.clear();
                        created.push(d.reference());
                        d
                    }
                };
                if target.status == DocStatus::Draft {
                    for mut l in manual {
                        l.n = target.lines.len() as u32 + 1;
                        target.lines.push(l);
                    }
                    e.retax(&mut target)?;
                    save(tx, &target);
                }
            }
            let mut out = Vec::new();
            for r in &created {
                let mut d = load(tx, r, super::records::parse_ref(r).map_or(t, |x| x.0))?;
                d.replaces = Some(doc.reference());
                save(tx, &d);
                out.push(d);
            }
            doc.replaced_by = created;
            save(tx, &doc);
            Ok(out)
        })
    }

    /// 04 §8.1 ad-hoc invoice: manual lines, taxed by product, then the normal lifecycle.
    pub fn adhoc_invoice(&self, req: &AdhocRequest, on: NaiveDate) -> Result<Document> {
        self.action(|e, tx| e.adhoc_in(tx, req, "adhoc", on))
    }

    /// Stage an invoice of manual lines of `kind` (`adhoc`, `late_fee`) in `tx`.
    pub(crate) fn adhoc_in(
        &self,
        tx: &mut Tx<'_>,
        req: &AdhocRequest,
        kind: &str,
        on: NaiveDate,
    ) -> Result<Document> {
        let e = self;
        let record = format!("{kind} invoice for {}", req.account);
        let account = self.known_account(&req.account, &record)?;
        if let Some(c) = req.currency.as_deref().filter(|c| *c != account.currency) {
            return Err(refused(
                Code::CurrencyMismatch,
                &record,
                "currency",
                format!("the account bills in {}, not {c}", account.currency),
            ));
        }
        if let Some(l) = req
            .location
            .as_deref()
            .filter(|l| !account.locations.iter().any(|x| x.id == *l))
        {
            return Err(refused(
                Code::UnknownLocation,
                &record,
                "location",
                format!("`{l}` is not a location of {}", req.account),
            ));
        }
        let payment_term = match &req.payment_term {
            Some(t) if !self.rules.payment_terms.contains_key(t) => {
                return Err(refused(
                    Code::UnknownPaymentTerm,
                    &record,
                    "payment_term",
                    format!("no payment term `{t}`"),
                ))
            }
            Some(t) => Some(t.clone()),
            None => account
                .payment_term
                .clone()
                .or_else(|| self.rules.default_payment_term().map(|t| t.name.clone())),
        };
        if req.lines.is_empty() {
            return Err(refused(
                Code::InvalidRecord,
                &record,
                "lines",
                "an ad-hoc invoice needs at least one line",
            ));
        }
        let scale = minor_units(&account.currency).unwrap_or(2);
        let rounding = self.rounding_of(&account.id)?;
        let mut lines = Vec::new();
        for (i, l) in req.lines.iter().enumerate() {
            let field = format!("lines[{i}]");
            let Some(product) = self.rules.products.get(&l.product) else {
                return Err(refused(
                    Code::UnknownProduct,
                    &record,
                    &format!("{field}.product"),
                    format!("no product `{}`", l.product),
                ));
            };
            let amount = adhoc_amount(l, scale, rounding);
            if amount < Decimal::ZERO {
                return Err(refused(
                    Code::AdhocNegativeLine,
                    &record,
                    &format!("{field}.amount"),
                    format!("{amount} is negative; credit with a credit memo instead"),
                ));
            }
            let discount = l.discount.unwrap_or_default();
            if discount < Decimal::ZERO {
                return Err(refused(
                    Code::AdhocNegativeLine,
                    &record,
                    &format!("{field}.discount"),
                    format!("{discount} is negative"),
                ));
            }
            lines.push(DocLine {
                n: i as u32 + 1,
                schedule: None,
                line: None,
                product: l.product.clone(),
                description: l
                    .description
                    .clone()
                    .or_else(|| product.name.clone())
                    .unwrap_or_else(|| l.product.clone()),
                period_start: l.period_start,
                period_end: l.period_end,
                quantity: l.quantity.unwrap_or(Decimal::ONE),
                amount,
                discount,
                net: amount,
                tax: Decimal::ZERO,
                total: amount,
                taxable: product.taxable,
                tax_inclusive: product.tax_inclusive,
                tax_code: product.tax_code.clone(),
                exempt: false,
                breakups: Vec::new(),
                credited: Decimal::ZERO,
                credits: None,
            });
        }
        let invoice_date = req.invoice_date.unwrap_or(on);
        {
            let mut doc = Document {
                doc_type: DocType::Invoice,
                seq: next_seq(tx, DocType::Invoice, &account.id)?,
                kind: kind.into(),
                status: DocStatus::Draft,
                number: None,
                account: account.id.clone(),
                location: req.location.clone(),
                legal_entity: account.legal_entity.clone(),
                currency: account.currency.clone(),
                payment_term,
                order: None,
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
                template: None,
                run: None,
                group_key: account.id.clone(),
                source: None,
                reason: None,
                invoice: None,
                approved_on: None,
                replaces: None,
                replaced_by: Vec::new(),
                lines,
            };
            e.tax_document_of(&mut doc, &account, false)?;
            doc.due_date = Some(e.due_date_of(&doc));
            save(tx, &doc);
            if req.approve {
                return approve_or_refuse(e, tx, &doc.reference(), on);
            }
            Ok(doc)
        }
    }

    /// 04 §8.1 credit and rebill: the approved invoice is credited in full by an approved memo
    /// (`billing_error`, source `rebill`) applied to it; its schedules return to
    /// `pending_billing` and a new invoice (`kind: rebill`, `replaces` the old) bills them at
    /// their current amounts, manual lines copied. Returns (the memo, the new invoice).
    pub fn credit_and_rebill(
        &self,
        req: &RebillRequest,
        on: NaiveDate,
    ) -> Result<(Document, Document)> {
        let r = req.invoice.as_str();
        self.action(|e, tx| {
            let mut invoice = load(tx, r, DocType::Invoice)?;
            if invoice.status != DocStatus::Approved {
                return Err(refused(
                    Code::InvoiceNotApproved,
                    r,
                    "status",
                    "only approved invoices are credited and rebilled",
                ));
            }
            if let Some(by) = invoice.replaced_by.first() {
                return Err(refused(
                    Code::InvoiceAlreadyCredited,
                    r,
                    "replaced_by",
                    format!("it was already credited and rebilled by {by}"),
                ));
            }
            for (k, v) in tx.scan(&keys::documents(DocType::CreditMemo, &invoice.account))? {
                let m: Document = crate::engine::decode(&k, &v)?;
                let names_it = m.invoice.as_deref() == Some(r)
                    || m.lines
                        .iter()
                        .any(|l| l.credits.as_ref().is_some_and(|(i, _)| i == r));
                if m.status != DocStatus::Cancelled && names_it {
                    return Err(refused(
                        Code::InvoiceAlreadyCredited,
                        r,
                        "credit_memos",
                        format!("{} credits it; cancel that memo first", m.reference()),
                    ));
                }
            }
            if !(invoice.paid.is_zero()
                && invoice.wallet_applied.is_zero()
                && invoice.written_off.is_zero())
            {
                // Unapplying payments and wallet draws is the receivables ledger's (05); until
                // it exists nothing can have been applied, and a foreign value is refused.
                return Err(refused(
                    Code::InvoiceHasApplications,
                    r,
                    "balance",
                    "payments, wallet draws or write-offs are applied to it",
                ));
            }
            let mut schedules = Vec::new();
            for l in &invoice.lines {
                let Some(id) = l.schedule.as_deref() else {
                    continue;
                };
                let s = schedule_key_of(id)
                    .map(|k| tx.get::<Schedule>(&k))
                    .transpose()?
                    .flatten();
                match s {
                    Some(s)
                        if !matches!(
                            s.status,
                            ScheduleStatus::Superseded | ScheduleStatus::Cancelled
                        ) =>
                    {
                        schedules.push(id.to_string())
                    }
                    _ => {
                        return Err(refused(
                            Code::InvoiceHasAmendedSchedules,
                            r,
                            &format!("lines[{}]", l.n - 1),
                            format!("schedule {id} was amended since it was invoiced"),
                        ))
                    }
                }
            }
            // (2) The memo: every line at full amount and tax, approved and applied.
            let memo_lines: Vec<DocLine> = invoice
                .lines
                .iter()
                .filter(|l| !l.amount.is_zero())
                .enumerate()
                .map(|(i, il)| DocLine {
                    n: i as u32 + 1,
                    schedule: None,
                    discount: Decimal::ZERO,
                    net: il.amount
                        - if il.tax_inclusive {
                            il.tax
                        } else {
                            Decimal::ZERO
                        },
                    total: il.amount
                        + if il.tax_inclusive {
                            Decimal::ZERO
                        } else {
                            il.tax
                        },
                    breakups: il.breakups.clone(),
                    credited: Decimal::ZERO,
                    credits: Some((r.to_string(), il.n)),
                    ..il.clone()
                })
                .collect();
            for il in invoice.lines.iter_mut() {
                il.credited = il.amount;
            }
            let seq = next_seq(tx, DocType::CreditMemo, &invoice.account)?;
            let mut memo = super::lifecycle::memo_of(
                &invoice,
                seq,
                "rebill",
                "billing_error",
                req.invoice_date,
                memo_lines,
            );
            save(tx, &invoice);
            save(tx, &memo);
            if !memo.lines.is_empty() {
                memo = approve_or_refuse(e, tx, &memo.reference(), on)?;
            }
            // (3) The schedules return.
            let mut invoice = load(tx, r, DocType::Invoice)?;
            e.release_schedules(tx, &invoice)?;
            // (4) The new invoice at current amounts.
            let mut cands = Vec::new();
            for id in &schedules {
                if let Some(c) = e.cand_of(tx, id)? {
                    cands.push(c);
                }
            }
            let mut opts = e.options_of(tx, &invoice)?;
            opts.invoice_date = req.invoice_date;
            opts.by_ready_date = false;
            let mut new = match cands.is_empty() {
                false => {
                    let mut d =
                        e.new_document(DocType::Invoice, &opts, &invoice.group_key, &cands)?;
                    d.run = invoice.run.clone();
                    d
                }
                true => Document {
                    lines: Vec::new(),
                    ..invoice.clone()
                },
            };
            for l in invoice.lines.iter().filter(|l| l.schedule.is_none()) {
                new.lines.push(DocLine {
                    n: new.lines.len() as u32 + 1,
                    credited: Decimal::ZERO,
                    ..l.clone()
                });
            }
            new.seq = next_seq(tx, DocType::Invoice, &invoice.account)?;
            new.kind = "rebill".into();
            new.status = DocStatus::Draft;
            new.number = None;
            new.approved_on = None;
            new.error_status = None;
            new.error_message = None;
            new.credits_applied = Decimal::ZERO;
            new.invoice_date = req.invoice_date;
            new.location = invoice.location.clone();
            new.payment_term = invoice.payment_term.clone();
            new.template = invoice.template.clone();
            new.replaces = Some(r.to_string());
            new.replaced_by = Vec::new();
            e.tax_document(&mut new, false)?;
            new.due_date = Some(e.due_date_of(&new));
            stage_document(tx, &new, &cands)?;
            invoice.replaced_by.push(new.reference());
            save(tx, &invoice);
            if req.approve {
                new = approve_or_refuse(e, tx, &new.reference(), on)?;
            }
            Ok((memo, new))
        })
    }
}

impl Engine {
    /// 04 §8 stale drafts: the drafts holding any of these schedules (changed by 03: superseded,
    /// cancelled or re-rated while `pending_invoiced`) get `error_status: stale_schedules` and
    /// cannot be approved (`invoice_stale`) until regenerated or cancelled. Staged in `tx`, the
    /// commit of the change itself. Returns the drafts marked.
    pub(crate) fn mark_stale_in(
        &self,
        tx: &mut Tx<'_>,
        schedule_ids: &[String],
    ) -> Result<Vec<String>> {
        let mut marked: Vec<String> = Vec::new();
        for id in schedule_ids {
            let Some(k) = schedule_key_of(id) else {
                continue;
            };
            let Some(s) = tx.get::<Schedule>(&k)? else {
                continue;
            };
            let Some(r) = s.invoice.clone() else {
                continue;
            };
            let Some((t, _, _)) = super::records::parse_ref(&r) else {
                continue;
            };
            let mut doc = load(tx, &r, t)?;
            if doc.status != DocStatus::Draft {
                continue;
            }
            doc.error_status = Some("stale_schedules".into());
            doc.error_message = Some(match doc.error_message.take() {
                Some(m) if m.starts_with("schedules changed:") => format!("{m}, {id}"),
                _ => format!("schedules changed: {id}"),
            });
            save(tx, &doc);
            if !marked.contains(&r) {
                marked.push(r);
            }
        }
        Ok(marked)
    }

    /// [`Engine::mark_stale_in`] as its own commit, for hosts that change schedules themselves.
    pub fn mark_schedules_changed(&self, schedule_ids: &[String]) -> Result<Vec<String>> {
        self.action(|e, tx| e.mark_stale_in(tx, schedule_ids))
    }
}

/// Approve inside an action; a refusal aborts the whole action (nothing is committed).
fn approve_or_refuse(e: &Engine, tx: &mut Tx<'_>, r: &str, on: NaiveDate) -> Result<Document> {
    match e.approve_in(tx, r, on)? {
        Approval::Done(d) => Ok(*d),
        Approval::Refused(err) => Err(err),
    }
}

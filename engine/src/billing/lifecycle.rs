//! Document lifecycle (04 §8, §9): approve (with gapless numbering, 04 §7), cancel, delete,
//! direct credit memos. Every action is one atomic commit under the billing lock; a refused
//! action changes nothing but the `error_status` / `error_message` that 04 §8 records on a
//! refused approval.

use super::records::{keys, parse_ref, DocLine, DocStatus, DocType, Document};
use super::tx::Tx;
use crate::engine::{schedule_key, split_line_ref, Engine, Schedule, ScheduleStatus};
use crate::error::{Code, EngineError, Result};
use crate::money::{minor_units, round};
use chrono::NaiveDate;
use rust_decimal::Decimal;

/// A line of a direct credit memo request (04 §9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditLine {
    /// The invoice line's `n`.
    pub line: u32,
    /// Amount to credit (> 0).
    pub amount: Decimal,
}

/// A direct credit memo request (04 §9.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRequest {
    /// The approved invoice (`invoice:ACME#1`).
    pub invoice: String,
    /// `write_off`, `refund`, `billing_error`, `goodwill`.
    pub reason: String,
    /// Memo date.
    pub date: NaiveDate,
    /// Lines.
    pub lines: Vec<CreditLine>,
    /// Approve at once.
    pub approve: bool,
}

fn refused(code: Code, record: &str, field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, message)
}

fn unknown(reference: &str) -> EngineError {
    match parse_ref(reference) {
        Some((DocType::CreditMemo, _, _)) => refused(
            Code::UnknownCreditMemo,
            reference,
            "ref",
            "no such credit memo",
        ),
        _ => refused(Code::UnknownInvoice, reference, "ref", "no such invoice"),
    }
}

/// What staging an approval gave.
pub(crate) enum Approval {
    /// Approved (staged).
    Done(Box<Document>),
    /// Refused with an error status recorded on the draft (staged); the caller commits the
    /// status and reports the error.
    Refused(EngineError),
}

impl Engine {
    fn load_doc(tx: &Tx<'_>, reference: &str) -> Result<Document> {
        let (t, account, n) = parse_ref(reference).ok_or_else(|| unknown(reference))?;
        tx.get::<Document>(&keys::document(t, account, n))?
            .ok_or_else(|| unknown(reference))
    }

    fn save_doc(tx: &mut Tx<'_>, doc: &Document) {
        tx.put(keys::document(doc.doc_type, &doc.account, doc.seq), doc);
    }

    /// Run `f` under the billing lock on a fresh overlay; commit what it staged when it returns
    /// `Ok`, and also when it returns a refusal that recorded an error status.
    fn billing_action<T>(
        &self,
        f: impl FnOnce(&Engine, &mut Tx<'_>) -> Result<std::result::Result<T, EngineError>>,
    ) -> Result<T> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        let r = f(self, &mut tx)?;
        tx.commit()?;
        r
    }

    /// Approve a draft invoice or credit memo on `on` (04 §8): retry tax after a tax error,
    /// take the number, schedules → `invoiced`.
    pub fn approve(&self, reference: &str, on: NaiveDate) -> Result<Document> {
        self.billing_action(|e, tx| {
            Ok(match e.approve_in(tx, reference, on)? {
                Approval::Done(d) => Ok(*d),
                Approval::Refused(err) => Err(err),
            })
        })
    }

    /// Stage an approval in `tx`.
    pub(crate) fn approve_in(
        &self,
        tx: &mut Tx<'_>,
        reference: &str,
        on: NaiveDate,
    ) -> Result<Approval> {
        let mut doc = Self::load_doc(tx, reference)?;
        if doc.status != DocStatus::Draft {
            return Err(refused(
                Code::InvoiceNotDraft,
                reference,
                "status",
                format!("is {}, only drafts are approved", status_word(doc.status)),
            ));
        }
        match doc.error_status.as_deref() {
            Some("stale_schedules") => {
                return Err(refused(
                    Code::InvoiceStale,
                    reference,
                    "error_status",
                    "its schedules changed since it was drafted; regenerate or cancel it",
                ))
            }
            Some("tax_calculation_error") => {
                self.tax_document(&mut doc, false)?;
                if let Some(msg) = doc
                    .error_message
                    .clone()
                    .filter(|_| doc.error_status.is_some())
                {
                    Self::save_doc(tx, &doc);
                    return Ok(Approval::Refused(refused(
                        Code::TaxCalculationError,
                        reference,
                        "tax",
                        msg,
                    )));
                }
            }
            _ => {}
        }
        let number = match self.take_number(tx, &doc) {
            Ok(n) => n,
            Err(msg) => {
                doc.error_status = Some("numbering_error".into());
                doc.error_message = Some(msg.clone());
                Self::save_doc(tx, &doc);
                return Ok(Approval::Refused(refused(
                    Code::NumberingError,
                    reference,
                    "number",
                    msg,
                )));
            }
        };
        doc.status = DocStatus::Approved;
        doc.error_status = None;
        doc.error_message = None;
        doc.approved_on = Some(on);
        tx.put(
            keys::number_used(
                doc.legal_entity.as_deref().unwrap_or(""),
                doc.doc_type,
                &number,
            ),
            &doc.reference(),
        );
        doc.number = Some(number);
        doc.recompute_totals();
        self.set_schedule_status(tx, &doc, ScheduleStatus::Invoiced, true)?;
        self.top_up_evergreen_in(tx, &doc)?;
        self.post_approval(tx, &doc, on)?;
        self.apply_linked_credits(tx, &mut doc, on)?;
        // 05 §2.2: then the wallets (§3.4, §3.5), then the account's other credits.
        match doc.doc_type {
            DocType::Invoice => {
                self.draw_wallets(tx, &mut doc, on)?;
                self.auto_apply_to_invoice(tx, &mut doc, on)?
            }
            DocType::CreditMemo => {
                self.restore_wallets_from_memo(tx, &mut doc, on)?;
                self.auto_apply_memo(tx, &mut doc, on)?
            }
        }
        Self::save_doc(tx, &doc);
        self.settle_wallets(tx, &doc.account, on)?;
        Ok(Approval::Done(Box::new(doc)))
    }

    /// 04 §8 / §9.2: an approved invoice takes the approved memos linked to it, oldest first; an
    /// approved memo goes to its invoice when that is approved. Each up to the invoice balance.
    fn apply_linked_credits(
        &self,
        tx: &mut Tx<'_>,
        doc: &mut Document,
        on: NaiveDate,
    ) -> Result<()> {
        match doc.doc_type {
            DocType::Invoice => {
                let r = doc.reference();
                for (k, v) in tx.scan(&keys::documents(DocType::CreditMemo, &doc.account))? {
                    let mut memo: Document = crate::engine::decode(&k, &v)?;
                    if memo.status != DocStatus::Approved || memo.invoice.as_deref() != Some(&r) {
                        continue;
                    }
                    if !self.apply_credit(tx, &mut memo, doc, on)?.is_zero() {
                        Self::save_doc(tx, &memo);
                    }
                }
            }
            DocType::CreditMemo => {
                let Some(inv) = doc.invoice.clone() else {
                    return Ok(());
                };
                let mut invoice = Self::load_doc(tx, &inv)?;
                if invoice.status == DocStatus::Approved
                    && !self.apply_credit(tx, doc, &mut invoice, on)?.is_zero()
                {
                    Self::save_doc(tx, &invoice);
                }
            }
        }
        Ok(())
    }

    /// 04 §7: the number of `doc`, taken now. The sequence advances only when the approval is
    /// staged (a failure consumes nothing). `Err` is the `numbering_error` message.
    fn take_number(&self, tx: &mut Tx<'_>, doc: &Document) -> std::result::Result<String, String> {
        let entity = doc.legal_entity.as_deref().unwrap_or("");
        let scheme = self
            .numbering_scheme(doc.doc_type, doc.legal_entity.as_deref())
            .map_err(|e| e.to_string())?;
        let k = scheme.key(doc.invoice_date);
        let seq_key = format!(
            "{}\0{}\0{}\0{}",
            k.legal_entity,
            k.document.as_str(),
            k.prefix,
            k.year.map(|y| y.to_string()).unwrap_or_default()
        );
        let last: Option<u64> = tx
            .get(&keys::number_seq(&seq_key))
            .map_err(|e| e.to_string())?;
        let seq = last.map_or(scheme.start, |l| l + 1);
        let number = match &scheme.callback {
            Some(name) => {
                let cbk = self
                    .callbacks
                    .invoice_numbering(name)
                    .ok_or_else(|| format!("numbering callback `{name}` is not registered"))?;
                let req = crate::callbacks::NumberingRequest {
                    config: Default::default(),
                    document: doc.doc_type.contract_kind(),
                    invoice: self.cb_invoice(doc).map_err(|e| e.to_string())?,
                    prefix: scheme.prefix.clone(),
                    sequence: seq,
                };
                cbk.number_invoice(&req).map_err(|e| e.message)?
            }
            None => scheme.render(seq, doc.invoice_date),
        };
        crate::invoicing::numbering::check_callback_number(&number).map_err(|e| e.message)?;
        if tx
            .raw(&keys::number_used(entity, doc.doc_type, &number))
            .map_err(|e| e.to_string())?
            .is_some()
        {
            return Err(format!(
                "number `{number}` is already used by another {}",
                doc.doc_type.as_str()
            ));
        }
        tx.put(keys::number_seq(&seq_key), &seq);
        Ok(number)
    }

    /// 04 §8 approval effect: evergreen lines of `doc` are topped up to their `K` uninvoiced
    /// schedules (02 §1.6), in the approval's commit.
    fn top_up_evergreen_in(&self, tx: &mut Tx<'_>, doc: &Document) -> Result<()> {
        let mut lines: Vec<&str> = doc.lines.iter().filter_map(|l| l.line.as_deref()).collect();
        lines.sort_unstable();
        lines.dedup();
        for line_ref in lines {
            let Some((order, line)) = split_line_ref(line_ref) else {
                continue;
            };
            let ak = crate::engine::key(&["asset", order, line]);
            let Some(asset) = tx.get::<crate::engine::Asset>(&ak)? else {
                continue;
            };
            if asset.evergreen.is_none() {
                continue;
            }
            let schedules: Vec<Schedule> = tx
                .scan(&crate::engine::key(&["sched", order, line, ""]))?
                .iter()
                .map(|(k, v)| crate::engine::decode(k, v))
                .collect::<Result<_>>()?;
            let (next, added) = self.evergreen_top_up(&asset, &schedules)?;
            for s in &added {
                tx.put(schedule_key(order, line, s.seq), s);
            }
            if !added.is_empty() {
                tx.put(ak, &next);
            }
        }
        Ok(())
    }

    /// Schedules of `doc`'s lines → `to`, linked to it when `billed`, unlinked otherwise. Only
    /// live schedules move (superseded and cancelled ones keep their status, 03 A.6); returns
    /// the ids of those that moved.
    pub(crate) fn set_schedule_status(
        &self,
        tx: &mut Tx<'_>,
        doc: &Document,
        to: ScheduleStatus,
        billed: bool,
    ) -> Result<Vec<String>> {
        let r = doc.reference();
        let mut moved = Vec::new();
        for l in &doc.lines {
            let Some(id) = &l.schedule else { continue };
            let Some(k) = schedule_key_of(id) else {
                continue;
            };
            let Some(mut s) = tx.get::<Schedule>(&k)? else {
                continue;
            };
            if matches!(
                s.status,
                ScheduleStatus::Superseded | ScheduleStatus::Cancelled
            ) {
                continue;
            }
            s.status = to;
            s.invoice = billed.then(|| r.clone());
            tx.put(k, &s);
            moved.push(id.clone());
        }
        Ok(moved)
    }

    /// Cancel an invoice (04 §8): drafts always; approved ones only while nothing is applied.
    /// Live schedules return to `pending_billing`; a number, once taken, is kept.
    pub fn cancel_invoice(&self, reference: &str, on: NaiveDate) -> Result<Document> {
        self.billing_action(|e, tx| {
            let mut doc = Self::load_doc(tx, reference)?;
            if doc.doc_type != DocType::Invoice {
                return Err(unknown(reference));
            }
            match doc.status {
                DocStatus::Cancelled => {
                    return Err(refused(
                        Code::InvoiceNotDraft,
                        reference,
                        "status",
                        "is already cancelled",
                    ))
                }
                // 05 §3.5: wallet draws do not block it; they are restored. A memo crediting
                // it does, even when its credit went back to a wallet instead of to the invoice.
                DocStatus::Approved
                    if !(doc.credits_applied.is_zero()
                        && doc.paid.is_zero()
                        && doc.written_off.is_zero()
                        && doc.lines.iter().all(|l| l.credited.is_zero())) =>
                {
                    return Err(refused(
                        Code::InvoiceHasApplications,
                        reference,
                        "balance",
                        "payments, credits or credit memos are applied to it; unapply or cancel them first",
                    ))
                }
                _ => {}
            }
            if doc.status == DocStatus::Approved {
                e.restore_wallets_on_cancel(tx, &mut doc, on)?;
                e.post_cancellation(tx, &doc, on)?;
            }
            doc.status = DocStatus::Cancelled;
            e.set_schedule_status(tx, &doc, ScheduleStatus::PendingBilling, false)?;
            Self::save_doc(tx, &doc);
            e.settle_wallets(tx, &doc.account, on)?;
            Ok(Ok(doc))
        })
    }

    /// Cancel a credit memo (04 §9.2): drafts (run memos return their schedules); approved
    /// direct memos with nothing applied.
    pub fn cancel_credit_memo(&self, reference: &str, on: NaiveDate) -> Result<Document> {
        self.billing_action(|e, tx| {
            let mut doc = Self::load_doc(tx, reference)?;
            if doc.doc_type != DocType::CreditMemo {
                return Err(unknown(reference));
            }
            match doc.status {
                DocStatus::Cancelled => {
                    return Err(refused(
                        Code::CreditMemoNotCancellable,
                        reference,
                        "status",
                        "is already cancelled",
                    ))
                }
                DocStatus::Approved if doc.source.as_deref() != Some("direct") => {
                    return Err(refused(
                        Code::CreditMemoNotCancellable,
                        reference,
                        "source",
                        "an approved run credit memo cannot be cancelled",
                    ))
                }
                DocStatus::Approved if !doc.credits_applied.is_zero() => {
                    return Err(refused(
                        Code::CreditMemoHasApplications,
                        reference,
                        "applied",
                        "it is applied; unapply it first",
                    ))
                }
                _ => {}
            }
            if doc.status == DocStatus::Approved {
                e.post_cancellation(tx, &doc, on)?;
            }
            doc.status = DocStatus::Cancelled;
            e.set_schedule_status(tx, &doc, ScheduleStatus::PendingBilling, false)?;
            e.uncredit(tx, &doc)?;
            Self::save_doc(tx, &doc);
            Ok(Ok(doc))
        })
    }

    /// Delete a draft (cancelled first) or a never-approved cancelled document (04 §8).
    pub fn delete_document(&self, reference: &str) -> Result<()> {
        self.billing_action(|e, tx| {
            let mut doc = Self::load_doc(tx, reference)?;
            if doc.number.is_some() {
                return Err(refused(
                    Code::InvoiceWasPosted,
                    reference,
                    "number",
                    "a document that was approved is never deleted (gapless numbering)",
                ));
            }
            if doc.status == DocStatus::Draft {
                doc.status = DocStatus::Cancelled;
                e.set_schedule_status(tx, &doc, ScheduleStatus::PendingBilling, false)?;
                e.uncredit(tx, &doc)?;
            }
            tx.delete(keys::document(doc.doc_type, &doc.account, doc.seq));
            Ok(Ok(()))
        })
    }

    /// A memo being cancelled or deleted gives its credit back to the invoice lines it named.
    fn uncredit(&self, tx: &mut Tx<'_>, memo: &Document) -> Result<()> {
        for l in &memo.lines {
            let Some((inv, n)) = &l.credits else { continue };
            let mut invoice = Self::load_doc(tx, inv)?;
            if let Some(il) = invoice.lines.iter_mut().find(|x| x.n == *n) {
                il.credited -= l.amount;
            }
            Self::save_doc(tx, &invoice);
        }
        Ok(())
    }

    /// A direct credit memo on an approved invoice (04 §9.1).
    pub fn credit_memo(&self, req: &CreditRequest, on: NaiveDate) -> Result<Document> {
        self.billing_action(|e, tx| e.credit_memo_in(tx, req, "direct", on))
    }

    /// Stage a direct credit memo (`source` `direct`, or `late_fee_waiver` for 05 §4.3) in `tx`.
    pub(crate) fn credit_memo_in(
        &self,
        tx: &mut Tx<'_>,
        req: &CreditRequest,
        source: &str,
        on: NaiveDate,
    ) -> Result<std::result::Result<Document, EngineError>> {
        let e = self;
        {
            let mut invoice = Self::load_doc(tx, &req.invoice)?;
            if invoice.doc_type != DocType::Invoice {
                return Err(unknown(&req.invoice));
            }
            if invoice.status != DocStatus::Approved {
                return Err(refused(
                    Code::InvoiceNotApproved,
                    &req.invoice,
                    "status",
                    format!(
                        "is {}; only approved invoices are credited",
                        status_word(invoice.status)
                    ),
                ));
            }
            if req.lines.is_empty() {
                return Err(refused(
                    Code::CreditMemoEmpty,
                    &req.invoice,
                    "lines",
                    "a credit memo needs at least one line",
                ));
            }
            let scale = minor_units(&invoice.currency).unwrap_or(2);
            let rounding = e.rounding_of(&invoice.account)?;
            let credited_tax = e.credited_tax(tx, &invoice)?;
            let mut lines = Vec::new();
            for (i, cl) in req.lines.iter().enumerate() {
                let field = format!("lines[{i}]");
                if req.lines[..i].iter().any(|x| x.line == cl.line) {
                    return Err(refused(
                        Code::DuplicateCreditLine,
                        &req.invoice,
                        &field,
                        format!("line {} is named twice", cl.line),
                    ));
                }
                let Some(il) = invoice.lines.iter_mut().find(|l| l.n == cl.line) else {
                    return Err(refused(
                        Code::UnknownInvoiceLine,
                        &req.invoice,
                        &field,
                        format!("the invoice has no line {}", cl.line),
                    ));
                };
                if cl.amount <= Decimal::ZERO {
                    return Err(refused(
                        Code::CreditAmountNotPositive,
                        &req.invoice,
                        &format!("{field}.amount"),
                        format!("{} is not a positive amount", cl.amount),
                    ));
                }
                let available = il.amount - il.credited;
                if cl.amount > available {
                    return Err(refused(
                        Code::CreditExceedsAvailable,
                        &req.invoice,
                        &format!("{field}.amount"),
                        format!(
                            "line {}: {} exceeds the available {available}",
                            cl.line, cl.amount
                        ),
                    ));
                }
                let tax = if cl.amount == available {
                    il.tax - credited_tax.get(&il.n).copied().unwrap_or_default()
                } else if il.amount.is_zero() {
                    Decimal::ZERO
                } else {
                    round(il.tax * cl.amount / il.amount, scale, rounding)
                };
                il.credited += cl.amount;
                let net = if il.tax_inclusive {
                    cl.amount - tax
                } else {
                    cl.amount
                };
                lines.push(DocLine {
                    n: i as u32 + 1,
                    schedule: None,
                    line: il.line.clone(),
                    product: il.product.clone(),
                    description: il.description.clone(),
                    period_start: il.period_start,
                    period_end: il.period_end,
                    quantity: il.quantity,
                    amount: cl.amount,
                    discount: Decimal::ZERO,
                    net,
                    tax,
                    total: net + tax,
                    taxable: il.taxable,
                    tax_inclusive: il.tax_inclusive,
                    tax_code: il.tax_code.clone(),
                    exempt: il.exempt,
                    breakups: Vec::new(),
                    credited: Decimal::ZERO,
                    credits: Some((req.invoice.clone(), il.n)),
                });
            }
            let seq = super::run::next_seq(tx, DocType::CreditMemo, &invoice.account)?;
            let memo = memo_of(&invoice, seq, source, &req.reason, req.date, lines);
            Self::save_doc(tx, &invoice);
            Self::save_doc(tx, &memo);
            if req.approve {
                return Ok(match e.approve_in(tx, &memo.reference(), on)? {
                    Approval::Done(d) => Ok(*d),
                    Approval::Refused(err) => Err(err),
                });
            }
            Ok(Ok(memo))
        }
    }

    /// Tax already credited per invoice line, over the account's non-cancelled memos.
    fn credited_tax(
        &self,
        tx: &Tx<'_>,
        invoice: &Document,
    ) -> Result<std::collections::HashMap<u32, Decimal>> {
        let r = invoice.reference();
        let mut out = std::collections::HashMap::new();
        for (k, v) in tx.scan(&keys::documents(DocType::CreditMemo, &invoice.account))? {
            let m: Document = crate::engine::decode(&k, &v)?;
            if m.status == DocStatus::Cancelled {
                continue;
            }
            for l in &m.lines {
                if let Some((inv, n)) = &l.credits {
                    if *inv == r {
                        *out.entry(*n).or_insert(Decimal::ZERO) += l.tax;
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A draft credit memo on `invoice` (its header: account, location, legal entity, currency,
/// payment term, group key), numbered `seq`, with `lines`; totals computed.
pub(crate) fn memo_of(
    invoice: &Document,
    seq: u32,
    source: &str,
    reason: &str,
    date: NaiveDate,
    lines: Vec<DocLine>,
) -> Document {
    let mut memo = Document {
        doc_type: DocType::CreditMemo,
        seq,
        kind: "credit_memo".into(),
        status: DocStatus::Draft,
        number: None,
        due_date: None,
        tax_breakups: Vec::new(),
        credits_applied: Decimal::ZERO,
        wallet_applied: Decimal::ZERO,
        paid: Decimal::ZERO,
        written_off: Decimal::ZERO,
        error_status: None,
        error_message: None,
        run: None,
        source: Some(source.into()),
        reason: Some(reason.into()),
        invoice: Some(invoice.reference()),
        approved_on: None,
        replaces: None,
        replaced_by: Vec::new(),
        invoice_date: date,
        lines,
        ..invoice.clone()
    };
    memo.recompute_totals();
    memo
}

/// The store key of a schedule id `O-1/L1#3`.
pub(crate) fn schedule_key_of(id: &str) -> Option<Vec<u8>> {
    let (line_ref, seq) = id.rsplit_once('#')?;
    let (order, line) = split_line_ref(line_ref)?;
    Some(schedule_key(order, line, seq.parse().ok()?))
}

fn status_word(s: DocStatus) -> &'static str {
    match s {
        DocStatus::Draft => "draft",
        DocStatus::Approved => "approved",
        DocStatus::Cancelled => "cancelled",
    }
}

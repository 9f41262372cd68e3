//! Payments (05 §2): create with an idempotent `external_id`, apply (manual, listed or automatic
//! oldest-due first), unapply, refund and write off; the approval-time order of §2.2 (linked
//! memos, then — with `auto_apply` — unapplied memos and payments). Every operation is one commit
//! under the billing lock and posts its 05 §1.3 transaction; a refusal changes nothing.

use crate::billing::ar::{ar_in, stage, Draft, Parties, Side};
use crate::billing::records::{keys as doc_keys, parse_ref, DocStatus, DocType, Document};
use crate::billing::tx::Tx;
use crate::engine::{key, Engine};
use crate::error::{Code, EngineError, Result};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A payment (05 §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// Position among the account's payments, 1-based (`payment:ACME#n`).
    pub seq: u32,
    /// The host's id, unique per account.
    pub external_id: Option<String>,
    /// Customer account.
    pub account: String,
    /// The account's currency.
    pub currency: String,
    /// Amount received (> 0).
    pub amount: Decimal,
    /// Effective date.
    pub on: NaiveDate,
    /// Free text (`card`, `wire`, …).
    pub method: Option<String>,
    /// Applied to invoices, net of unapplications.
    pub applied: Decimal,
    /// Paid back.
    pub refunded: Decimal,
}

impl Payment {
    /// `payment:ACME#1`.
    pub fn reference(&self) -> String {
        format!("payment:{}#{}", self.account, self.seq)
    }

    /// `amount − applied − refunded` (≥ 0).
    pub fn unapplied(&self) -> Decimal {
        self.amount - self.applied - self.refunded
    }

    /// `unapplied`, `partially_applied`, `applied`.
    pub fn status(&self) -> &'static str {
        if self.unapplied() == self.amount {
            "unapplied"
        } else if self.unapplied().is_zero() {
            "applied"
        } else {
            "partially_applied"
        }
    }
}

/// How a new payment is applied (05 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApplyMode {
    /// Oldest due first (§2.2).
    Auto,
    /// Stays unapplied.
    None,
    /// In list order: (invoice, amount or the default min(balance, remaining)).
    List(Vec<(String, Option<Decimal>)>),
}

/// A payment request (05 §2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    /// Customer account.
    pub account: String,
    /// Amount (> 0).
    pub amount: Decimal,
    /// Currency, when given (must be the account's).
    pub currency: Option<String>,
    /// Effective date.
    pub on: NaiveDate,
    /// Method.
    pub method: Option<String>,
    /// Idempotency key.
    pub external_id: Option<String>,
    /// `None` here: the account's `auto_apply` decides.
    pub apply: Option<ApplyMode>,
}

fn refused(code: Code, record: &str, field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, message)
}

/// `amount_not_positive` unless `amount > 0`, naming `record`'s `amount`.
fn positive(amount: Decimal, record: &str) -> Result<()> {
    if amount > Decimal::ZERO {
        return Ok(());
    }
    Err(refused(
        Code::AmountNotPositive,
        record,
        "amount",
        format!("{amount} is not a positive amount"),
    ))
}

fn payment_key(account: &str, seq: u32) -> Vec<u8> {
    let mut k = key(&["pay", account, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

fn payments_prefix(account: &str) -> Vec<u8> {
    key(&["pay", account, ""])
}

fn external_key(account: &str, id: &str) -> Vec<u8> {
    key(&["payext", account, id])
}

fn payment_count_key(account: &str) -> Vec<u8> {
    key(&["paycount", account])
}

/// Parse `payment:ACME#1`.
fn parse_payment(r: &str) -> Option<(&str, u32)> {
    let rest = r.strip_prefix("payment:")?;
    let (account, n) = rest.rsplit_once('#')?;
    Some((account, n.parse().ok().filter(|n| *n >= 1)?))
}

/// A source of credit: a payment or an approved credit memo.
enum Source {
    Payment(Payment),
    Memo(Box<Document>),
}

impl Source {
    fn reference(&self) -> String {
        match self {
            Source::Payment(p) => p.reference(),
            Source::Memo(m) => m.reference(),
        }
    }
    fn account(&self) -> &str {
        match self {
            Source::Payment(p) => &p.account,
            Source::Memo(m) => &m.account,
        }
    }
    fn currency(&self) -> &str {
        match self {
            Source::Payment(p) => &p.currency,
            Source::Memo(m) => &m.currency,
        }
    }
    fn unapplied(&self) -> Decimal {
        match self {
            Source::Payment(p) => p.unapplied(),
            Source::Memo(m) => m.total - m.credits_applied,
        }
    }
    /// The source's own effective date.
    fn effective(&self) -> NaiveDate {
        match self {
            Source::Payment(p) => p.on,
            Source::Memo(m) => m.approved_on.unwrap_or(m.invoice_date),
        }
    }
    fn add_applied(&mut self, amount: Decimal) {
        match self {
            Source::Payment(p) => p.applied += amount,
            Source::Memo(m) => {
                m.credits_applied += amount;
                m.recompute_totals();
            }
        }
    }
    fn save(&self, tx: &mut Tx<'_>) {
        match self {
            Source::Payment(p) => tx.put(payment_key(&p.account, p.seq), p),
            Source::Memo(m) => tx.put(doc_keys::document(m.doc_type, &m.account, m.seq), m),
        }
    }
}

fn load_source(tx: &Tx<'_>, r: &str) -> Result<Source> {
    let unknown = || {
        refused(
            Code::UnknownSource,
            r,
            "source",
            "no such payment or credit memo",
        )
    };
    if let Some((account, n)) = parse_payment(r) {
        return tx
            .get::<Payment>(&payment_key(account, n))?
            .map(Source::Payment)
            .ok_or_else(unknown);
    }
    match parse_ref(r) {
        Some((DocType::CreditMemo, account, n)) => {
            let m: Document = tx
                .get(&doc_keys::document(DocType::CreditMemo, account, n))?
                .ok_or_else(unknown)?;
            if m.status != DocStatus::Approved {
                return Err(refused(
                    Code::InvoiceNotApproved,
                    r,
                    "status",
                    "only approved credit memos are applied",
                ));
            }
            Ok(Source::Memo(Box::new(m)))
        }
        _ => Err(unknown()),
    }
}

fn load_invoice(tx: &Tx<'_>, r: &str) -> Result<Document> {
    let unknown = || refused(Code::UnknownInvoice, r, "invoice", "no such invoice");
    let (t, account, n) = parse_ref(r).ok_or_else(unknown)?;
    if t != DocType::Invoice {
        return Err(unknown());
    }
    tx.get(&doc_keys::document(t, account, n))?
        .ok_or_else(unknown)
}

fn save_doc(tx: &mut Tx<'_>, d: &Document) {
    tx.put(doc_keys::document(d.doc_type, &d.account, d.seq), d);
}

/// Open invoices of an account in a currency, oldest due first (05 §2.2).
fn open_invoices(tx: &Tx<'_>, account: &str, currency: &str) -> Result<Vec<Document>> {
    let mut out: Vec<Document> = Vec::new();
    for (k, v) in tx.scan(&doc_keys::documents(DocType::Invoice, account))? {
        let d: Document = crate::engine::decode(&k, &v)?;
        if d.status == DocStatus::Approved && d.balance > Decimal::ZERO && d.currency == currency {
            out.push(d);
        }
    }
    out.sort_by(|a, b| {
        (a.due_date, a.invoice_date, &a.number).cmp(&(b.due_date, b.invoice_date, &b.number))
    });
    Ok(out)
}

impl Engine {
    /// The account's `auto_apply` (default `system.auto_apply`, itself default `true`).
    pub(crate) fn auto_apply_of(&self, account: &str) -> Result<bool> {
        let from_system = self
            .rules
            .system
            .extra
            .get("auto_apply")
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        Ok(self
            .account(account)?
            .and_then(|a| a.extra.get("auto_apply").and_then(|v| v.as_bool()))
            .unwrap_or(from_system))
    }

    fn receivables<T>(&self, f: impl FnOnce(&Engine, &mut Tx<'_>) -> Result<T>) -> Result<T> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        let out = f(self, &mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Apply `amount` (default min(invoice balance, source unapplied)) of `source` to `invoice`,
    /// staged in `tx`; both records are saved. Returns the amount applied.
    fn apply_in(
        &self,
        tx: &mut Tx<'_>,
        source: &mut Source,
        invoice: &mut Document,
        amount: Option<Decimal>,
        on: NaiveDate,
        effective: Option<NaiveDate>,
    ) -> Result<Decimal> {
        let ir = invoice.reference();
        let sr = source.reference();
        if invoice.status != DocStatus::Approved {
            return Err(refused(
                Code::InvoiceNotApproved,
                &ir,
                "status",
                "only approved invoices take payments and credits",
            ));
        }
        if invoice.account != source.account() {
            return Err(refused(
                Code::UnknownInvoice,
                &ir,
                "account",
                format!("{ir} is not an invoice of {}", source.account()),
            ));
        }
        if invoice.currency != source.currency() {
            return Err(refused(
                Code::CurrencyMismatch,
                &ir,
                "currency",
                format!(
                    "{sr} is in {}, {ir} in {}",
                    source.currency(),
                    invoice.currency
                ),
            ));
        }
        let unapplied = source.unapplied();
        if let Some(a) = amount {
            positive(a, &sr)?;
        }
        let amount = amount.unwrap_or_else(|| unapplied.min(invoice.balance));
        if amount > invoice.balance {
            return Err(refused(
                Code::Overapplication,
                &ir,
                "amount",
                format!("{amount} exceeds the invoice balance {}", invoice.balance),
            ));
        }
        if amount > unapplied {
            return Err(refused(
                Code::ExceedsUnapplied,
                &sr,
                "amount",
                format!("{amount} exceeds the unapplied {unapplied}"),
            ));
        }
        if amount.is_zero() {
            return Ok(amount);
        }
        let floor = source
            .effective()
            .max(invoice.approved_on.unwrap_or(invoice.invoice_date));
        let effective_on = match effective {
            Some(d) if d < floor => {
                return Err(refused(
                    Code::EffectiveBeforeSource,
                    &sr,
                    "on",
                    format!(
                        "{d} is before {floor}, the later of the source's and the invoice's dates"
                    ),
                ))
            }
            Some(d) => d,
            None => floor,
        };
        let before = invoice.balance;
        match source {
            Source::Payment(_) => invoice.paid += amount,
            Source::Memo(_) => invoice.credits_applied += amount,
        }
        invoice.recompute_totals();
        source.add_applied(amount);
        let kind = match source {
            Source::Payment(_) => "payment_application",
            Source::Memo(_) => "credit_application",
        };
        stage(
            tx,
            Draft::new(kind)
                .post("customer_credit", Side::Debit, amount, &sr)
                .post("receivable", Side::Credit, amount, &ir),
            Parties::new(&invoice.account, &invoice.currency, amount, on)
                .effective(effective_on)
                .source(&sr)
                .destination(&ir, before, invoice.balance),
        )?;
        source.save(tx);
        save_doc(tx, invoice);
        Ok(amount)
    }

    /// Apply a source to the open invoices, oldest due first, until it is used up (05 §2.2).
    fn auto_apply_source(&self, tx: &mut Tx<'_>, source: &mut Source, on: NaiveDate) -> Result<()> {
        let account = source.account().to_string();
        let currency = source.currency().to_string();
        for mut inv in open_invoices(tx, &account, &currency)? {
            if source.unapplied() <= Decimal::ZERO {
                break;
            }
            self.apply_in(tx, source, &mut inv, None, on, None)?;
        }
        Ok(())
    }

    /// 05 §2.2 trigger 2, after the linked memos: with `auto_apply`, the account's unapplied
    /// approved memos (oldest date, then number), then its unapplied payments (oldest `on`, then
    /// ref) pay the invoice being approved until its balance is 0. `invoice` is updated.
    pub(crate) fn auto_apply_to_invoice(
        &self,
        tx: &mut Tx<'_>,
        invoice: &mut Document,
        on: NaiveDate,
    ) -> Result<()> {
        if invoice.balance <= Decimal::ZERO || !self.auto_apply_of(&invoice.account)? {
            return Ok(());
        }
        let mut sources: Vec<Source> = Vec::new();
        let mut memos: Vec<Document> = Vec::new();
        for (k, v) in tx.scan(&doc_keys::documents(DocType::CreditMemo, &invoice.account))? {
            let m: Document = crate::engine::decode(&k, &v)?;
            if m.status == DocStatus::Approved
                && m.total > m.credits_applied
                && m.currency == invoice.currency
            {
                memos.push(m);
            }
        }
        memos.sort_by(|a, b| (a.invoice_date, &a.number).cmp(&(b.invoice_date, &b.number)));
        sources.extend(memos.into_iter().map(|m| Source::Memo(Box::new(m))));
        let mut payments: Vec<Payment> = Vec::new();
        for (k, v) in tx.scan(&payments_prefix(&invoice.account))? {
            let p: Payment = crate::engine::decode(&k, &v)?;
            if p.unapplied() > Decimal::ZERO && p.currency == invoice.currency {
                payments.push(p);
            }
        }
        payments.sort_by_key(|p| (p.on, p.seq));
        sources.extend(payments.into_iter().map(Source::Payment));
        for mut s in sources {
            if invoice.balance <= Decimal::ZERO {
                break;
            }
            self.apply_in(tx, &mut s, invoice, None, on, None)?;
        }
        Ok(())
    }

    /// 05 §2.2 trigger 3, after the memo's own invoice: with `auto_apply`, the rest of an approved
    /// memo goes to the open invoices in the order of §2.2. `memo` is updated.
    pub(crate) fn auto_apply_memo(
        &self,
        tx: &mut Tx<'_>,
        memo: &mut Document,
        on: NaiveDate,
    ) -> Result<()> {
        if memo.total <= memo.credits_applied || !self.auto_apply_of(&memo.account)? {
            return Ok(());
        }
        let mut s = Source::Memo(Box::new(memo.clone()));
        self.auto_apply_source(tx, &mut s, on)?;
        if let Source::Memo(m) = s {
            *memo = *m;
        }
        Ok(())
    }

    /// 05 §2.1: record a payment and apply it. The same `external_id` with the same fields
    /// returns the stored payment and changes nothing; with other fields it is refused.
    pub fn payment(&self, req: &PaymentRequest, on: NaiveDate) -> Result<Payment> {
        self.receivables(|e, tx| e.stage_payment(tx, req, on))
    }

    /// A payment run (a lockbox or bank file, 05 §2.1): each request is recorded and applied as
    /// [`Engine::payment`] does, all-or-nothing on its own (a refused one writes nothing and is
    /// returned as its error, the others go on), and the run's payments reach the store in
    /// groups of `system.batch_size`, one durable commit per group, in request order. Later
    /// requests see earlier ones (the same account's open invoices, its external ids).
    ///
    /// # Errors
    /// A store failure (nothing of the failing group is written); refusals are per request.
    pub fn payment_run(
        &self,
        reqs: &[PaymentRequest],
        on: NaiveDate,
    ) -> Result<Vec<Result<Payment>>> {
        let group = self.rules.system.batch_size.unwrap_or(500).max(1) as usize;
        self.payment_run_in_groups(reqs, on, group)
    }

    /// [`Engine::payment_run`] with `group` payments per durable commit.
    ///
    /// # Errors
    /// As [`Engine::payment_run`].
    pub fn payment_run_in_groups(
        &self,
        reqs: &[PaymentRequest],
        on: NaiveDate,
        group: usize,
    ) -> Result<Vec<Result<Payment>>> {
        let group = group.max(1);
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut out = Vec::with_capacity(reqs.len());
        for chunk in reqs.chunks(group) {
            let mut tx = Tx::new(self.store.as_ref());
            for req in chunk {
                tx.savepoint();
                match self.stage_payment(&mut tx, req, on) {
                    Ok(p) => {
                        tx.release();
                        out.push(Ok(p));
                    }
                    Err(e @ EngineError::Refused { .. }) => {
                        tx.rollback();
                        out.push(Err(e));
                    }
                    Err(e) => return Err(e),
                }
            }
            tx.commit()?;
        }
        Ok(out)
    }

    /// [`Engine::payment`]'s writes, staged in `tx`.
    fn stage_payment(
        &self,
        tx: &mut Tx<'_>,
        req: &PaymentRequest,
        on: NaiveDate,
    ) -> Result<Payment> {
        let record = format!("payment of {}", req.account);
        let account = self.known_account(&req.account, &record)?;
        positive(req.amount, &record)?;
        if let Some(c) = req.currency.as_deref().filter(|c| *c != account.currency) {
            return Err(refused(
                Code::CurrencyMismatch,
                &record,
                "currency",
                format!("the account pays in {}, not {c}", account.currency),
            ));
        }
        let mode = match &req.apply {
            Some(m) => m.clone(),
            None if self.auto_apply_of(&account.id)? => ApplyMode::Auto,
            None => ApplyMode::None,
        };
        if let Some(id) = &req.external_id {
            if let Some(seq) = tx.get::<u32>(&external_key(&account.id, id))? {
                let prev: Payment = tx.get(&payment_key(&account.id, seq))?.ok_or_else(|| {
                    refused(
                        Code::InvalidRecord,
                        &record,
                        "external_id",
                        "index without payment",
                    )
                })?;
                if prev.amount == req.amount && prev.on == req.on && prev.method == req.method {
                    return Ok(prev);
                }
                return Err(refused(
                    Code::PaymentExistsWithDifferentParameters,
                    &prev.reference(),
                    "external_id",
                    format!("`{id}` is already {} with other fields", prev.reference()),
                ));
            }
        }
        let seq = tx.get::<u32>(&payment_count_key(&account.id))?.unwrap_or(0) + 1;
        tx.put(payment_count_key(&account.id), &seq);
        let p = Payment {
            seq,
            external_id: req.external_id.clone(),
            account: account.id.clone(),
            currency: account.currency.clone(),
            amount: req.amount,
            on: req.on,
            method: req.method.clone(),
            applied: Decimal::ZERO,
            refunded: Decimal::ZERO,
        };
        if let Some(id) = &req.external_id {
            tx.put(external_key(&account.id, id), &seq);
        }
        let r = p.reference();
        stage(
            tx,
            Draft::new("payment")
                .post("cash", Side::Debit, p.amount, &r)
                .post("customer_credit", Side::Credit, p.amount, &r),
            Parties::new(&p.account, &p.currency, p.amount, on)
                .effective(p.on)
                .source(&r),
        )?;
        tx.put(payment_key(&p.account, seq), &p);
        let mut src = Source::Payment(p);
        match mode {
            ApplyMode::None => {}
            ApplyMode::Auto => self.auto_apply_source(tx, &mut src, on)?,
            ApplyMode::List(items) => {
                for (inv, amount) in items {
                    let mut invoice = load_invoice(tx, &inv)?;
                    self.apply_in(tx, &mut src, &mut invoice, amount, on, None)?;
                }
            }
        }
        match src {
            Source::Payment(p) => Ok(p),
            Source::Memo(_) => unreachable!("a payment source"),
        }
    }

    /// 05 §2.3 `apply: {source, invoice, amount, on}`.
    pub fn apply(
        &self,
        source: &str,
        invoice: &str,
        amount: Option<Decimal>,
        effective: Option<NaiveDate>,
        on: NaiveDate,
    ) -> Result<Decimal> {
        self.receivables(|e, tx| {
            let mut s = load_source(tx, source)?;
            let mut inv = load_invoice(tx, invoice)?;
            e.apply_in(tx, &mut s, &mut inv, amount, on, effective)
        })
    }

    /// 05 §2.3 `unapply: {source, invoice, amount}` (default all that source applied to it).
    pub fn unapply(
        &self,
        source: &str,
        invoice: &str,
        amount: Option<Decimal>,
        on: NaiveDate,
    ) -> Result<Decimal> {
        self.receivables(|_, tx| {
            let mut s = load_source(tx, source)?;
            let mut inv = load_invoice(tx, invoice)?;
            let sr = s.reference();
            let ir = inv.reference();
            let mut applied = Decimal::ZERO;
            for t in ar_in(tx, &inv.account)? {
                if t.source.as_deref() != Some(sr.as_str())
                    || t.destination.as_deref() != Some(ir.as_str())
                {
                    continue;
                }
                match t.kind.as_str() {
                    "payment_application" | "credit_application" => applied += t.amount,
                    "unapplication" => applied -= t.amount,
                    _ => {}
                }
            }
            let amount = amount.unwrap_or(applied);
            positive(amount, &sr)?;
            if amount > applied {
                return Err(refused(
                    Code::UnapplyExceedsApplied,
                    &sr,
                    "amount",
                    format!("{amount} exceeds the {applied} {sr} applied to {ir}"),
                ));
            }
            let before = inv.balance;
            match &mut s {
                Source::Payment(p) => {
                    p.applied -= amount;
                    inv.paid -= amount;
                }
                Source::Memo(m) => {
                    m.credits_applied -= amount;
                    m.recompute_totals();
                    inv.credits_applied -= amount;
                }
            }
            inv.recompute_totals();
            stage(
                tx,
                Draft::new("unapplication")
                    .post("receivable", Side::Debit, amount, &ir)
                    .post("customer_credit", Side::Credit, amount, &sr),
                Parties::new(&inv.account, &inv.currency, amount, on)
                    .source(&sr)
                    .destination(&ir, before, inv.balance),
            )?;
            s.save(tx);
            save_doc(tx, &inv);
            Ok(amount)
        })
    }

    /// 05 §2.3 `refund: {source, amount, on}`: paid back from the source's unapplied amount.
    pub fn refund(&self, source: &str, amount: Decimal, on: NaiveDate) -> Result<Decimal> {
        self.receivables(|_, tx| {
            let mut s = load_source(tx, source)?;
            let sr = s.reference();
            positive(amount, &sr)?;
            let unapplied = s.unapplied();
            if amount > unapplied {
                return Err(refused(
                    Code::RefundExceedsUnapplied,
                    &sr,
                    "amount",
                    format!("{amount} exceeds the unapplied {unapplied}"),
                ));
            }
            match &mut s {
                Source::Payment(p) => p.refunded += amount,
                // 04 §9.2: a memo's `applied` counts refunds.
                Source::Memo(m) => {
                    m.credits_applied += amount;
                    m.recompute_totals();
                }
            }
            stage(
                tx,
                Draft::new("refund")
                    .post("customer_credit", Side::Debit, amount, &sr)
                    .post("cash", Side::Credit, amount, &sr),
                Parties::new(s.account(), s.currency(), amount, on).source(&sr),
            )?;
            s.save(tx);
            Ok(amount)
        })
    }

    /// 05 §2.3 `write_off: {invoice, amount, on, reason}` (amount default the balance).
    pub fn write_off(
        &self,
        invoice: &str,
        amount: Option<Decimal>,
        on: NaiveDate,
    ) -> Result<Decimal> {
        self.receivables(|_, tx| {
            let mut inv = load_invoice(tx, invoice)?;
            let ir = inv.reference();
            if inv.status != DocStatus::Approved {
                return Err(refused(
                    Code::InvoiceNotApproved,
                    &ir,
                    "status",
                    "only approved invoices are written off",
                ));
            }
            let amount = amount.unwrap_or(inv.balance);
            positive(amount, &ir)?;
            if amount > inv.balance {
                return Err(refused(
                    Code::WriteOffExceedsBalance,
                    &ir,
                    "amount",
                    format!("{amount} exceeds the balance {}", inv.balance),
                ));
            }
            let before = inv.balance;
            inv.written_off += amount;
            inv.recompute_totals();
            stage(
                tx,
                Draft::new("write_off")
                    .post("bad_debt", Side::Debit, amount, &ir)
                    .post("receivable", Side::Credit, amount, &ir),
                Parties::new(&inv.account, &inv.currency, amount, on).destination(
                    &ir,
                    before,
                    inv.balance,
                ),
            )?;
            save_doc(tx, &inv);
            Ok(amount)
        })
    }

    /// An account's payments in creation order.
    pub fn payments(&self, account: &str) -> Result<Vec<Payment>> {
        self.store
            .scan(&payments_prefix(account))?
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    }
}

//! The e-mail outbox (04 §11.3, Designed): entries, attempts, backoff and statuses as pure code
//! over the store, with the time passed in. The engine never talks SMTP: the SDK's worker asks
//! for [`Engine::due_emails`], attempts each entry over its transport and reports the outcome
//! with [`Engine::record_attempt`]; [`after_attempt`] is the state machine.
//!
//! ```text
//! queue ──► pending ──250──► delivered
//!              │ ▲
//!        4xx / │ │ next backoff (retry_minutes[attempts − 1], the last one repeating)
//!   conn error └─┘
//!              │
//!   5xx, or max_attempts reached ──► failed
//! ```
//!
//! A document's `delivery_status` is the status of its newest entry; a document never queued
//! is `pending`, unless its account's preference delivers by `print` (then it has none).

use super::records::{parse_ref, DocStatus, DocType, Document};
use crate::engine::{decode, encode, key, Engine};
use crate::error::{Code, EngineError, Result};
use crate::store::Batch;
use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

/// Transport security of the SMTP connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// Plain SMTP (tests, local relays).
    None,
    /// Plain connect, then `STARTTLS` (the default).
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
}

fn default_attempts() -> u32 {
    5
}

fn default_retry() -> Vec<u32> {
    vec![1, 5, 30, 120]
}

/// `system.email` (04 §11.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailConfig {
    /// SMTP server host.
    #[serde(default)]
    pub smtp_host: Option<String>,
    /// SMTP port (default by security: 25, 587, 465).
    #[serde(default)]
    pub smtp_port: Option<u16>,
    /// `none`, `starttls` (default), `tls`.
    #[serde(default)]
    pub security: Security,
    /// SMTP user name (no authentication when absent).
    #[serde(default)]
    pub username: Option<String>,
    /// The environment variable that holds the password (the SDK reads it, never the engine).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Sender address.
    #[serde(default)]
    pub from: Option<String>,
    /// Attempts before an entry is `failed` (default 5).
    #[serde(default = "default_attempts")]
    pub max_attempts: u32,
    /// Backoff after the 1st, 2nd, … failed attempt, in minutes; the last one repeats.
    #[serde(default = "default_retry")]
    pub retry_minutes: Vec<u32>,
}

impl EmailConfig {
    /// The port: `smtp_port`, else 25 (`none`), 587 (`starttls`) or 465 (`tls`).
    pub fn port(&self) -> u16 {
        self.smtp_port.unwrap_or(match self.security {
            Security::None => 25,
            Security::Starttls => 587,
            Security::Tls => 465,
        })
    }
}

/// Status of an outbox entry (and, through its newest entry, of a document's delivery).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Accepted by the server (`250` after `DATA`).
    Delivered,
    /// Refused for good (`5xx`) or out of attempts.
    Failed,
}

impl OutboxStatus {
    /// `pending`, `delivered`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Delivered => "delivered",
            OutboxStatus::Failed => "failed",
        }
    }
}

/// One queued e-mail (04 §11.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    /// 1-based, in queue order.
    pub id: u64,
    /// The document (`invoice:ACME#1`).
    pub document: String,
    /// Recipients (the bill-to account's `billing_contacts` when queued).
    pub to: Vec<String>,
    /// Rendered subject.
    pub subject: String,
    /// Rendered HTML body (the e-mail template's output when queued).
    #[serde(default)]
    pub html: String,
    /// The attached document's file name.
    pub attachment: String,
    /// The attached document version.
    pub version: u32,
    /// Status.
    pub status: OutboxStatus,
    /// Attempts made.
    pub attempts: u32,
    /// The last refusal or connection error.
    pub last_error: Option<String>,
    /// `send`, `auto_send`, `deliver_emails`: what queued it.
    pub origin: String,
    /// When it was queued.
    pub queued_at: NaiveDateTime,
    /// When it is next due (`None` once delivered or failed).
    pub next_attempt: Option<NaiveDateTime>,
    /// When it was last attempted.
    pub last_attempt: Option<NaiveDateTime>,
}

/// What the transport reported for one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// `250` after `DATA`.
    Delivered,
    /// A `4xx` reply or a connection error: retry after the next backoff.
    Temporary(String),
    /// A `5xx` reply: failed.
    Permanent(String),
}

/// The state machine: `entry` after an attempt at `now` with `outcome`. An entry that is not
/// pending is returned unchanged.
pub fn after_attempt(
    entry: &OutboxEntry,
    config: &EmailConfig,
    now: NaiveDateTime,
    outcome: &AttemptOutcome,
) -> OutboxEntry {
    let mut e = entry.clone();
    if e.status != OutboxStatus::Pending {
        return e;
    }
    e.attempts += 1;
    e.last_attempt = Some(now);
    match outcome {
        AttemptOutcome::Delivered => {
            e.status = OutboxStatus::Delivered;
            e.next_attempt = None;
        }
        AttemptOutcome::Permanent(msg) => {
            e.status = OutboxStatus::Failed;
            e.last_error = Some(msg.clone());
            e.next_attempt = None;
        }
        AttemptOutcome::Temporary(msg) => {
            e.last_error = Some(msg.clone());
            if e.attempts >= config.max_attempts.max(1) {
                e.status = OutboxStatus::Failed;
                e.next_attempt = None;
            } else {
                let i = (e.attempts as usize - 1).min(config.retry_minutes.len().saturating_sub(1));
                let minutes = config.retry_minutes.get(i).copied().unwrap_or(1);
                e.next_attempt = Some(now + Duration::minutes(i64::from(minutes)));
            }
        }
    }
    e
}

/// What to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRequest {
    /// The document.
    pub document: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// Attachment file name.
    pub attachment: String,
    /// Attached version.
    pub version: u32,
    /// `send`, `auto_send`, `deliver_emails`.
    pub origin: String,
}

fn entry_key(id: u64) -> Vec<u8> {
    let mut k = key(&["outbox", ""]);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn index_key(document: &str, id: u64) -> Vec<u8> {
    let mut k = key(&["outboxdoc", document, ""]);
    k.extend_from_slice(&id.to_be_bytes());
    k
}

fn seq_key() -> Vec<u8> {
    key(&["outboxseq"])
}

/// The addresses of an account's `billing_contacts`: each entry is an address, or a map with
/// an `email` key.
pub fn billing_contacts(account: &crate::model::Account) -> Vec<String> {
    let Some(list) = account
        .extra
        .get("billing_contacts")
        .and_then(|v| v.as_sequence())
    else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|c| match c {
            serde_yaml::Value::String(s) => Some(s.trim().to_string()),
            serde_yaml::Value::Mapping(_) => c
                .get("email")
                .and_then(|e| e.as_str())
                .map(|s| s.trim().to_string()),
            _ => None,
        })
        .filter(|s| !s.is_empty())
        .collect()
}

impl Engine {
    /// `system.email`, typed.
    ///
    /// # Errors
    /// `email_not_configured` when there is no `system.email`, or it has no `smtp_host` or no
    /// `from`.
    pub fn email_config(&self) -> Result<EmailConfig> {
        let not_configured = |field: &str, why: &str| {
            EngineError::refused(Code::EmailNotConfigured, "system.email", field, why)
        };
        let Some(v) = self.rules.system.extra.get("email") else {
            return Err(not_configured(
                "email",
                "no system.email in the rules: e-mail cannot be sent (04 §11.3)",
            ));
        };
        let cfg: EmailConfig = serde_yaml::from_value(v.clone())
            .map_err(|e| not_configured("email", &e.to_string()))?;
        if cfg.smtp_host.as_deref().is_none_or(str::is_empty) {
            return Err(not_configured("smtp_host", "system.email has no smtp_host"));
        }
        if cfg.from.as_deref().is_none_or(str::is_empty) {
            return Err(not_configured("from", "system.email has no from address"));
        }
        Ok(cfg)
    }

    /// `system.invoice_email_delivery_period` in days (default 5).
    pub fn email_delivery_period(&self) -> i64 {
        self.rules
            .system
            .extra
            .get("invoice_email_delivery_period")
            .and_then(|v| v.as_i64())
            .unwrap_or(5)
    }

    /// Whether the document's bill-to account delivers by `print` (its preference's
    /// `invoice_delivery`; the org default preference when the account names none).
    pub fn delivers_by_print(&self, doc: &Document) -> Result<bool> {
        let account = self.account(&doc.account)?;
        let pref = account
            .as_ref()
            .and_then(|a| a.billing_preference.as_ref())
            .and_then(|n| self.rules.preferences.get(n))
            .or_else(|| self.rules.default_preference());
        Ok(pref.and_then(|p| p.invoice_delivery.as_deref()) == Some("print"))
    }

    /// The checks of `send: REF` (04 §11.3, §13), in this order: the document exists
    /// (`unknown_invoice` / `unknown_credit_memo`), is approved (`document_not_approved`),
    /// e-mail is configured (`email_not_configured`) and its bill-to account has
    /// `billing_contacts` (`no_recipients`). Returns the document and its recipients.
    pub fn check_sendable(&self, reference: &str) -> Result<(Document, Vec<String>)> {
        let Some(doc) = self.document(reference)? else {
            return Err(match parse_ref(reference) {
                Some((DocType::CreditMemo, _, _)) => EngineError::refused(
                    Code::UnknownCreditMemo,
                    reference,
                    "ref",
                    "no such credit memo",
                ),
                _ => {
                    EngineError::refused(Code::UnknownInvoice, reference, "ref", "no such invoice")
                }
            });
        };
        if doc.status != DocStatus::Approved {
            let status = match doc.status {
                DocStatus::Draft => "draft",
                DocStatus::Cancelled => "cancelled",
                DocStatus::Approved => "approved",
            };
            return Err(EngineError::refused(
                Code::DocumentNotApproved,
                reference,
                "status",
                format!("only approved documents are sent; this one is {status}"),
            ));
        }
        self.email_config()?;
        let to = self
            .account(&doc.account)?
            .map(|a| billing_contacts(&a))
            .unwrap_or_default();
        if to.is_empty() {
            return Err(EngineError::refused(
                Code::NoRecipients,
                format!("account {}", doc.account),
                "billing_contacts",
                format!("the bill-to account of {reference} has no billing_contacts"),
            ));
        }
        Ok((doc, to))
    }

    /// Queue an e-mail at `now` (one commit: the entry, its document index, the sequence).
    /// The caller has run [`Engine::check_sendable`] and stored the attached version.
    ///
    /// # Errors
    /// As [`Engine::check_sendable`].
    pub fn queue_email(&self, req: &QueueRequest, now: NaiveDateTime) -> Result<OutboxEntry> {
        self.check_sendable(&req.document)?;
        if req.to.is_empty() {
            return Err(EngineError::refused(
                Code::NoRecipients,
                &req.document,
                "to",
                "an e-mail needs at least one recipient",
            ));
        }
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let id = self.get::<u64>(&seq_key())?.unwrap_or(0) + 1;
        let entry = OutboxEntry {
            id,
            document: req.document.clone(),
            to: req.to.clone(),
            subject: req.subject.clone(),
            html: req.html.clone(),
            attachment: req.attachment.clone(),
            version: req.version,
            status: OutboxStatus::Pending,
            attempts: 0,
            last_error: None,
            origin: req.origin.clone(),
            queued_at: now,
            next_attempt: Some(now),
            last_attempt: None,
        };
        let mut b = Batch::default();
        b.put(seq_key(), encode(&id));
        b.put(entry_key(id), encode(&entry));
        b.put(index_key(&req.document, id), encode(&id));
        self.store.commit(b)?;
        Ok(entry)
    }

    /// Every outbox entry, in queue order.
    pub fn outbox(&self) -> Result<Vec<OutboxEntry>> {
        self.store
            .scan(&key(&["outbox", ""]))?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect()
    }

    /// One document's entries, in queue order.
    pub fn outbox_of(&self, reference: &str) -> Result<Vec<OutboxEntry>> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan(&key(&["outboxdoc", reference, ""]))? {
            let id: u64 = decode(&k, &v)?;
            if let Some(e) = self.get::<OutboxEntry>(&entry_key(id))? {
                out.push(e);
            }
        }
        Ok(out)
    }

    /// The pending entries due at `now` (`next_attempt ≤ now`), in queue order.
    pub fn due_emails(&self, now: NaiveDateTime) -> Result<Vec<OutboxEntry>> {
        Ok(self
            .outbox()?
            .into_iter()
            .filter(|e| {
                e.status == OutboxStatus::Pending && e.next_attempt.is_some_and(|t| t <= now)
            })
            .collect())
    }

    /// Record an attempt of entry `id` at `now` ([`after_attempt`]) and return the new entry.
    ///
    /// # Errors
    /// `invalid_record` when there is no such entry; `email_not_configured`.
    pub fn record_attempt(
        &self,
        id: u64,
        now: NaiveDateTime,
        outcome: &AttemptOutcome,
    ) -> Result<OutboxEntry> {
        let config = self.email_config()?;
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(entry) = self.get::<OutboxEntry>(&entry_key(id))? else {
            return Err(EngineError::refused(
                Code::InvalidRecord,
                format!("outbox entry {id}"),
                "id",
                "no such outbox entry",
            ));
        };
        let next = after_attempt(&entry, &config, now, outcome);
        let mut b = Batch::default();
        b.put(entry_key(id), encode(&next));
        self.store.commit(b)?;
        Ok(next)
    }

    /// A document's `delivery_status` (04 §1): its newest outbox entry's status; `pending` for
    /// a document never queued; `None` when its account delivers by `print` and it was never
    /// queued.
    pub fn delivery_status(&self, doc: &Document) -> Result<Option<OutboxStatus>> {
        if let Some(last) = self.outbox_of(&doc.reference())?.pop() {
            return Ok(Some(last.status));
        }
        if self.delivers_by_print(doc)? {
            return Ok(None);
        }
        Ok(Some(OutboxStatus::Pending))
    }

    /// The documents `deliver_emails` on `on` queues (04 §11.3): approved invoices and credit
    /// memos approved in [on − `invoice_email_delivery_period`, on] (inclusive, §15 item 20),
    /// never queued before (so still `pending`), whose account does not deliver by `print`; in
    /// approval date, then key order.
    pub fn documents_to_email(&self, on: NaiveDate) -> Result<Vec<Document>> {
        let from = on - Duration::days(self.email_delivery_period().max(0));
        let mut out = Vec::new();
        for (k, v) in self.store.scan(&key(&["doc", ""]))? {
            let doc: Document = decode(&k, &v)?;
            if doc.status != DocStatus::Approved {
                continue;
            }
            let Some(approved) = doc.approved_on else {
                continue;
            };
            if approved < from || approved > on {
                continue;
            }
            if !self.outbox_of(&doc.reference())?.is_empty() || self.delivers_by_print(&doc)? {
                continue;
            }
            out.push(doc);
        }
        out.sort_by_key(|d| d.approved_on);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(d: u32, h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2016, 6, d)
            .and_then(|x| x.and_hms_opt(h, m, 0))
            .expect("valid")
    }

    fn config(max: u32) -> EmailConfig {
        EmailConfig {
            smtp_host: Some("h".into()),
            smtp_port: None,
            security: Security::None,
            username: None,
            password_env: None,
            from: Some("billing@seller.test".into()),
            max_attempts: max,
            retry_minutes: vec![1, 5, 30, 120],
        }
    }

    fn entry() -> OutboxEntry {
        OutboxEntry {
            id: 1,
            document: "invoice:ACME#1".into(),
            to: vec!["ap@acme.test".into()],
            subject: "Invoice".into(),
            html: String::new(),
            attachment: "INV-1.pdf".into(),
            version: 1,
            status: OutboxStatus::Pending,
            attempts: 0,
            last_error: None,
            origin: "send".into(),
            queued_at: at(10, 0, 0),
            next_attempt: Some(at(10, 0, 0)),
            last_attempt: None,
        }
    }

    #[test]
    fn temporary_failures_back_off_then_fail_at_max_attempts() {
        let cfg = config(5);
        let t = AttemptOutcome::Temporary("451 try later".into());
        let mut e = entry();
        let mut now = at(10, 0, 0);
        let mut waits = Vec::new();
        for _ in 0..4 {
            e = after_attempt(&e, &cfg, now, &t);
            assert_eq!(e.status, OutboxStatus::Pending);
            let next = e.next_attempt.expect("due again");
            waits.push((next - now).num_minutes());
            now = next;
        }
        assert_eq!(waits, vec![1, 5, 30, 120]);
        e = after_attempt(&e, &cfg, now, &t);
        assert_eq!((e.status, e.attempts), (OutboxStatus::Failed, 5));
        assert_eq!(e.next_attempt, None);
        assert_eq!(e.last_error.as_deref(), Some("451 try later"));
        // A finished entry does not change.
        assert_eq!(after_attempt(&e, &cfg, now, &AttemptOutcome::Delivered), e);
    }

    #[test]
    fn the_last_backoff_repeats_and_outcomes_finish() {
        let cfg = config(9);
        let t = AttemptOutcome::Temporary("conn".into());
        let mut e = entry();
        for _ in 0..6 {
            e = after_attempt(&e, &cfg, at(10, 0, 0), &t);
        }
        assert_eq!(e.next_attempt, Some(at(10, 2, 0)));
        let d = after_attempt(&e, &cfg, at(10, 3, 0), &AttemptOutcome::Delivered);
        assert_eq!((d.status, d.attempts), (OutboxStatus::Delivered, 7));
        let f = after_attempt(
            &entry(),
            &cfg,
            at(10, 0, 0),
            &AttemptOutcome::Permanent("550".into()),
        );
        assert_eq!((f.status, f.attempts), (OutboxStatus::Failed, 1));
    }

    #[test]
    fn contacts_are_addresses_or_maps() {
        let mut a: crate::model::Account = serde_yaml::from_str(
            "{id: A, billing_contacts: [a@x.test, {name: B, email: b@x.test}, '']}",
        )
        .expect("account");
        assert_eq!(billing_contacts(&a), vec!["a@x.test", "b@x.test"]);
        a.extra.remove("billing_contacts");
        assert!(billing_contacts(&a).is_empty());
    }
}

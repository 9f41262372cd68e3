//! Invoice and credit memo documents (spec 04 §7, §11.2): the template data model built from the
//! engine's records, the template lookup, and rendering with `reckon-documents`.
//!
//! [`data_model`] turns a [`Document`] and the records around it into the
//! [`reckon_documents::DataModel`] a template sees; [`template_for`] picks the template;
//! [`render`] does both for a stored document and names the file (04 §7); [`render_and_store`]
//! keeps the bytes as the document's next version (04 §11.2 "every render adds a version").
//! [`send`], [`deliver_emails`] and [`deliver_due`] are the e-mail side (04 §11.3): the engine
//! keeps the outbox's state machine, this module renders the e-mails and drives a
//! [`crate::mail::Transport`]; [`after_run`] renders and auto-sends a run's documents.

use crate::mail::{self, Message, Transport};
use crate::SdkError;
use chrono::{NaiveDate, NaiveDateTime};
use reckon_documents::{
    document_name, Account as DocAccount, Addresses, Breakup as DocBreakup, DataModel, Doc,
    DocumentType, Format, Line, Party, PaymentTerm as DocPaymentTerm, Template, TemplateKind,
    Templates, Totals,
};
use reckon_engine::billing::outbox::{AttemptOutcome, OutboxEntry, QueueRequest};
use reckon_engine::billing::records::parse_ref;
use reckon_engine::billing::versions::DocumentVersion;
use reckon_engine::billing::{Breakup, DocStatus, DocType, Document, RunExecution};
use reckon_engine::invoicing::model::InvoiceRunDef;
use reckon_engine::model::{Account, LegalEntity, Location, PaymentTerm};
use reckon_engine::money::minor_units;
use reckon_engine::RuleSet;
use reckon_engine::{Code, Engine, EngineError};
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The records around a document that its data model reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct Related<'a> {
    /// The bill-to account (its name, currency, `billing_contacts`).
    pub account: Option<&'a Account>,
    /// The document's location on that account: its `line1`, `line2`, `city`, `county`,
    /// `region`, `postal_code` and `country` keys are the bill-to address.
    pub location: Option<&'a Location>,
    /// The legal entity: the seller party.
    pub legal_entity: Option<&'a LegalEntity>,
    /// The payment term (name and label).
    pub payment_term: Option<&'a PaymentTerm>,
    /// A credit memo's invoice number, shown instead of its reference when it has one.
    pub invoice_number: Option<&'a str>,
}

/// Decimal text with at least `scale` places (the currency's minor units); never rounded.
fn money(d: Decimal, scale: u32) -> String {
    let mut d = d;
    if d.scale() < scale {
        d.rescale(scale);
    }
    d.to_string()
}

fn yaml_text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn extra_text(extra: &BTreeMap<String, serde_yaml::Value>, key: &str) -> Option<String> {
    extra.get(key).and_then(yaml_text).filter(|s| !s.is_empty())
}

/// The postal address kept in a location's (or account's) `extra` keys.
fn address(party: &mut Party, extra: &BTreeMap<String, serde_yaml::Value>) {
    party.line1 = extra_text(extra, "line1");
    party.line2 = extra_text(extra, "line2");
    party.city = extra_text(extra, "city");
    party.county = extra_text(extra, "county");
    party.region = extra_text(extra, "region");
    party.postal_code = extra_text(extra, "postal_code");
    party.country = extra_text(extra, "country");
    party.tax_id = extra_text(extra, "tax_id");
}

/// A tax component; `taxable` is the base it was computed on (the net of the lines carrying it).
fn breakup(b: &Breakup, taxable: Decimal, scale: u32) -> DocBreakup {
    DocBreakup {
        level: Some(b.level.clone()).filter(|l| !l.is_empty()),
        name: b.name.clone(),
        rate: Some(b.rate.clone()).filter(|r| !r.is_empty()),
        tax_code: None,
        taxable: Some(money(taxable, scale)),
        tax: money(b.amount, scale),
    }
}

fn same_component(a: &Breakup, b: &Breakup) -> bool {
    a.level == b.level && a.name == b.name && a.rate == b.rate
}

fn status(s: DocStatus) -> &'static str {
    match s {
        DocStatus::Draft => "draft",
        DocStatus::Approved => "approved",
        DocStatus::Cancelled => "cancelled",
    }
}

/// The record id of a document, used in draft file names (`DRAFT-{id}`): type, account and
/// position, e.g. `invoice-ACME-1`.
pub fn document_id(doc: &Document) -> String {
    let account: String = doc
        .account
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("{}-{account}-{}", doc.doc_type.as_str(), doc.seq)
}

/// The data model (04 §11.2) of `doc` rendered with `template`. Every amount is decimal text
/// with the currency's minor units (`"3185.49"`, `"0.00"`), dates are `YYYY-MM-DD`. A tax
/// break-up's `taxable` is the net of the lines that carry that component.
///
/// The bill-to party is the account (name, else id) at its location's address; the seller is
/// the legal entity (name, else id). There is no separate ship-to or sold-to party: the records
/// do not hold one, so both are `null` and templates print the bill-to party only.
pub fn data_model(doc: &Document, related: &Related<'_>, template: &str) -> DataModel {
    let scale = minor_units(&doc.currency).unwrap_or(2);
    let m = |d: Decimal| money(d, scale);
    let invoice = doc.doc_type == DocType::Invoice;
    let header = Doc {
        document: if invoice {
            DocumentType::Invoice
        } else {
            DocumentType::CreditMemo
        },
        id: document_id(doc),
        reference: Some(doc.reference()),
        kind: invoice.then(|| doc.kind.clone()),
        status: Some(status(doc.status).to_string()),
        number: doc.number.clone(),
        account: Some(doc.account.clone()),
        ship_to: None,
        sold_to: None,
        location: doc.location.clone(),
        legal_entity: doc.legal_entity.clone(),
        currency: doc.currency.clone(),
        payment_term: doc.payment_term.clone(),
        order: doc.order.clone(),
        invoice_date: invoice.then(|| doc.invoice_date.to_string()),
        due_date: doc.due_date.map(|d| d.to_string()),
        date: (!invoice).then(|| doc.invoice_date.to_string()),
        subtotal: Some(m(doc.subtotal)),
        discount: Some(m(doc.discount)),
        tax: Some(m(doc.tax)),
        total: Some(m(doc.total)),
        credits_applied: invoice.then(|| m(doc.credits_applied)),
        wallet_applied: invoice.then(|| m(doc.wallet_applied)),
        paid: invoice.then(|| m(doc.paid)),
        written_off: invoice.then(|| m(doc.written_off)),
        balance: Some(m(doc.balance)),
        applied: (!invoice).then(|| m(doc.credits_applied)),
        payment_status: None,
        days_outstanding: None,
        credit_status: (!invoice).then(|| doc.credit_status().to_string()),
        source: doc.source.clone(),
        reason: doc.reason.clone(),
        invoice: doc.invoice.as_ref().map(|r| {
            related
                .invoice_number
                .map_or_else(|| r.clone(), str::to_string)
        }),
        error_status: doc.error_status.clone(),
        delivery_status: None,
        template: Some(template.to_string()),
        run: doc.run.clone(),
        replaces: None,
        replaced_by: None,
        extra: BTreeMap::new(),
    };
    let lines = doc
        .lines
        .iter()
        .map(|l| Line {
            n: l.n,
            schedule: l.schedule.clone(),
            line: l.line.clone(),
            invoice_line: l.credits.as_ref().map(|(_, n)| n.to_string()),
            product: Some(l.product.clone()).filter(|p| !p.is_empty()),
            product_name: Some(l.description.clone()).filter(|d| !d.is_empty()),
            description: Some(l.description.clone()).filter(|d| !d.is_empty()),
            period_start: l.period_start.map(|d| d.to_string()),
            period_end: l.period_end.map(|d| d.to_string()),
            quantity: Some(l.quantity.normalize().to_string()),
            amount: m(l.amount),
            discount: Some(m(l.discount)),
            net: Some(m(l.net)),
            tax: m(l.tax),
            total: m(l.total),
            taxable: l.taxable,
            tax_inclusive: l.tax_inclusive,
            tax_code: l.tax_code.clone(),
            exempt: l.exempt,
            breakups: l
                .breakups
                .iter()
                .map(|b| breakup(b, l.net, scale))
                .collect(),
            credited: invoice.then(|| m(l.credited)),
            extra: BTreeMap::new(),
        })
        .collect();
    let totals = Totals {
        subtotal: m(doc.subtotal),
        discount: Some(m(doc.discount)),
        tax: m(doc.tax),
        total: m(doc.total),
        credits_applied: invoice.then(|| m(doc.credits_applied)),
        wallet_applied: invoice.then(|| m(doc.wallet_applied)),
        paid: invoice.then(|| m(doc.paid)),
        written_off: invoice.then(|| m(doc.written_off)),
        balance: Some(m(doc.balance)),
        applied: (!invoice).then(|| m(doc.credits_applied)),
    };
    let account = related.account;
    let account_name = account
        .and_then(|a| a.name.clone())
        .unwrap_or_else(|| doc.account.clone());
    let mut bill_to = Party {
        id: Some(doc.account.clone()),
        name: account_name.clone(),
        ..Party::default()
    };
    match (related.location, account) {
        (Some(loc), _) => address(&mut bill_to, &loc.extra),
        (None, Some(a)) => address(&mut bill_to, &a.extra),
        (None, None) => {}
    }
    let contacts: Vec<String> = account
        .and_then(|a| a.extra.get("billing_contacts"))
        .and_then(|v| v.as_sequence())
        .map(|s| s.iter().filter_map(yaml_text).collect())
        .unwrap_or_default();
    bill_to.email = contacts.first().cloned();
    let seller = match (related.legal_entity, &doc.legal_entity) {
        (Some(le), _) => Party {
            id: Some(le.id.clone()),
            name: le.name.clone().unwrap_or_else(|| le.id.clone()),
            ..Party::default()
        },
        (None, Some(id)) => Party {
            id: Some(id.clone()),
            name: id.clone(),
            ..Party::default()
        },
        (None, None) => Party::default(),
    };
    DataModel {
        doc: header,
        lines,
        breakups: doc
            .tax_breakups
            .iter()
            .map(|b| {
                let base = doc
                    .lines
                    .iter()
                    .filter(|l| l.breakups.iter().any(|x| same_component(x, b)))
                    .map(|l| l.net)
                    .sum();
                breakup(b, base, scale)
            })
            .collect(),
        totals,
        account: DocAccount {
            id: doc.account.clone(),
            name: account_name,
            currency: account
                .map(|a| a.currency.clone())
                .filter(|c| !c.is_empty())
                .or_else(|| Some(doc.currency.clone())),
            billing_contacts: contacts,
            extra: BTreeMap::new(),
        },
        addresses: Addresses {
            seller,
            bill_to,
            ship_to: None,
            sold_to: None,
        },
        payment_term: match (related.payment_term, &doc.payment_term) {
            (Some(t), _) => Some(DocPaymentTerm {
                name: t.name.clone(),
                label: t.label.clone(),
                extra: BTreeMap::new(),
            }),
            (None, Some(name)) => Some(DocPaymentTerm {
                name: name.clone(),
                label: None,
                extra: BTreeMap::new(),
            }),
            (None, None) => None,
        },
        statement: None,
    }
}

/// The template of a document and its kind (04 §11.2, first found): the document's `template`
/// (its run's), the location's `invoice_template` / `credit_memo_template`, the account's, else
/// the built-in `default_invoice` / `default_credit_memo`.
pub fn template_for(
    doc: &Document,
    account: Option<&Account>,
    location: Option<&Location>,
) -> (String, TemplateKind) {
    let (kind, key) = match doc.doc_type {
        DocType::Invoice => (TemplateKind::Invoice, "invoice_template"),
        DocType::CreditMemo => (TemplateKind::CreditMemo, "credit_memo_template"),
    };
    let name = doc
        .template
        .clone()
        .filter(|t| !t.is_empty())
        .or_else(|| location.and_then(|l| extra_text(&l.extra, key)))
        .or_else(|| account.and_then(|a| extra_text(&a.extra, key)))
        .unwrap_or_else(|| kind.default_template().to_string());
    (name, kind)
}

/// The data model of a stored document with `template`: the records around it read from the
/// engine.
fn model_of(engine: &Engine, doc: &Document, template: &str) -> Result<DataModel, SdkError> {
    let account = engine.account(&doc.account)?;
    let location = doc.location.as_deref().and_then(|id| {
        account
            .as_ref()
            .and_then(|a| a.locations.iter().find(|l| l.id == id))
    });
    let legal_entity = match doc
        .legal_entity
        .as_deref()
        .or_else(|| account.as_ref().and_then(|a| a.legal_entity.as_deref()))
    {
        Some(id) => engine.legal_entity(id)?,
        None => None,
    };
    let invoice_number = match &doc.invoice {
        Some(r) => engine.document(r)?.and_then(|i| i.number),
        None => None,
    };
    let related = Related {
        account: account.as_ref(),
        location,
        legal_entity: legal_entity.as_ref(),
        payment_term: doc
            .payment_term
            .as_deref()
            .and_then(|t| engine.rules().payment_terms.get(t)),
        invoice_number: invoice_number.as_deref(),
    };
    let mut data = data_model(doc, &related, template);
    data.doc.delivery_status = engine.delivery_status(doc)?.map(|s| s.as_str().to_string());
    Ok(data)
}

fn stored(engine: &Engine, reference: &str) -> Result<Document, SdkError> {
    match engine.document(reference)? {
        Some(doc) => Ok(doc),
        None => {
            let (code, what) = match parse_ref(reference) {
                Some((DocType::CreditMemo, _, _)) => {
                    (Code::UnknownCreditMemo, "no such credit memo")
                }
                _ => (Code::UnknownInvoice, "no such invoice"),
            };
            Err(EngineError::refused(code, reference, "ref", what).into())
        }
    }
}

/// A rendered document: file name, template and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The file name (04 §7).
    pub name: String,
    /// The template used.
    pub template: String,
    /// The format.
    pub format: Format,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Render the stored document `reference` in `format` (template by [`template_for`]).
///
/// # Errors
/// As [`render`].
pub fn render_document(
    engine: &Engine,
    templates: &Templates,
    reference: &str,
    format: Format,
) -> Result<Rendered, SdkError> {
    let doc = stored(engine, reference)?;
    let account = engine.account(&doc.account)?;
    let location = doc.location.as_deref().and_then(|id| {
        account
            .as_ref()
            .and_then(|a| a.locations.iter().find(|l| l.id == id))
    });
    let (template, kind) = template_for(&doc, account.as_ref(), location);
    let data = model_of(engine, &doc, &template)?;
    let bytes = templates.render(&template, kind, &data, format)?;
    let name = document_name(
        doc.number.as_deref(),
        &data.doc.id,
        &template,
        &doc.invoice_date.to_string(),
        format.extension(),
    )
    .replace('/', "-");
    Ok(Rendered {
        name,
        template,
        format,
        bytes,
    })
}

/// Render the stored document `reference` (`invoice:ACME#1`, `credit_memo:ACME#1`) in `format`
/// with `templates`; returns its file name (04 §7: `{number}_{template}_{date}.{ext}`, drafts
/// `DRAFT-{id}_…`; a `/`, which a numbering callback may put in a number, becomes `-` so the
/// name is one path component) and its bytes. Nothing is stored ([`render_and_store`] keeps a
/// version).
///
/// # Errors
/// `unknown_invoice` / `unknown_credit_memo` when there is no such document (as the engine's
/// lifecycle steps report it); `unknown_template` when the template the lookup finds does not
/// exist, `template_kind_mismatch` when it is of another kind, `render_failed` (all
/// [`SdkError::Document`]).
pub fn render(
    engine: &Engine,
    templates: &Templates,
    reference: &str,
    format: Format,
) -> Result<(String, Vec<u8>), SdkError> {
    let r = render_document(engine, templates, reference, format)?;
    Ok((r.name, r.bytes))
}

/// The custom templates of the rules (04 §2.4) registered over the built-ins.
///
/// # Errors
/// [`SdkError::Document`] `invalid_template` (the rule loader has compiled every body already,
/// so this means a rule set built by hand).
pub fn templates_of(rules: &RuleSet) -> Result<Templates, SdkError> {
    let mut t = Templates::new();
    for def in rules.templates.values() {
        let Some(kind) = TemplateKind::parse(&def.kind) else {
            continue;
        };
        t.register(Template {
            name: def.name.clone(),
            kind,
            body: def.body.clone(),
            subject: def.subject.clone(),
        })?;
    }
    Ok(t)
}

/// The format of a document: its bill-to account's preference's `invoice_format` (the org
/// default preference when the account names none), else `pdf`.
pub fn format_of(engine: &Engine, doc: &Document) -> Result<Format, SdkError> {
    let account = engine.account(&doc.account)?;
    let rules = engine.rules();
    let pref = account
        .as_ref()
        .and_then(|a| a.billing_preference.as_ref())
        .and_then(|n| rules.preferences.get(n))
        .or_else(|| rules.default_preference());
    Ok(pref
        .and_then(|p| p.invoice_format.as_deref())
        .and_then(Format::parse)
        .unwrap_or(Format::Pdf))
}

/// Render `reference` in its format ([`format_of`]) and store the bytes as its next version
/// (04 §11.2 "every render adds a version; the newest is current"). `on` is the render date.
///
/// # Errors
/// As [`render`]; nothing is stored on error.
pub fn render_and_store(
    engine: &Engine,
    templates: &Templates,
    reference: &str,
    on: NaiveDate,
) -> Result<DocumentVersion, SdkError> {
    let doc = stored(engine, reference)?;
    let format = format_of(engine, &doc)?;
    let r = render_document(engine, templates, reference, format)?;
    Ok(engine.add_document_version(
        reference,
        format.extension(),
        &r.template,
        &r.name,
        &r.bytes,
        on,
    )?)
}

/// The e-mail template of a document (04 §11.2 order without the run): the location's
/// `invoice_email_template` / `credit_memo_email_template`, the account's, else the built-in.
pub fn email_template_for(
    doc: &Document,
    account: Option<&Account>,
    location: Option<&Location>,
) -> (String, TemplateKind) {
    let (kind, key) = match doc.doc_type {
        DocType::Invoice => (TemplateKind::InvoiceEmail, "invoice_email_template"),
        DocType::CreditMemo => (TemplateKind::CreditMemoEmail, "credit_memo_email_template"),
    };
    let name = location
        .and_then(|l| extra_text(&l.extra, key))
        .or_else(|| account.and_then(|a| extra_text(&a.extra, key)))
        .unwrap_or_else(|| kind.default_template().to_string());
    (name, kind)
}

/// `send: REF` (04 §11.3): checks that the document can be sent ([`Engine::check_sendable`]:
/// approved, e-mail configured, recipients), renders its e-mail, renders and stores a document
/// version if it has none, and queues a new outbox entry at `now` (always a new one).
/// `origin` is what queued it (`send`, `auto_send`, `deliver_emails`).
///
/// # Errors
/// `unknown_invoice` / `unknown_credit_memo`, `document_not_approved`, `email_not_configured`,
/// `no_recipients` ([`SdkError::Engine`]); a template error of the e-mail or the document
/// ([`SdkError::Document`]). Nothing is stored on error.
pub fn send(
    engine: &Engine,
    templates: &Templates,
    reference: &str,
    now: NaiveDateTime,
    origin: &str,
) -> Result<OutboxEntry, SdkError> {
    let (doc, to) = engine.check_sendable(reference)?;
    let account = engine.account(&doc.account)?;
    let location = doc.location.as_deref().and_then(|id| {
        account
            .as_ref()
            .and_then(|a| a.locations.iter().find(|l| l.id == id))
    });
    let (doc_template, _) = template_for(&doc, account.as_ref(), location);
    let (mail_template, kind) = email_template_for(&doc, account.as_ref(), location);
    let data = model_of(engine, &doc, &doc_template)?;
    let email = templates.render_email(&mail_template, kind, &data)?;
    let version = match engine.document_versions(reference)?.pop() {
        Some(v) => v,
        None => render_and_store(engine, templates, reference, now.date())?,
    };
    Ok(engine.queue_email(
        &QueueRequest {
            document: reference.to_string(),
            to,
            subject: email.subject,
            html: email.html,
            attachment: version.name.clone(),
            version: version.version,
            origin: origin.to_string(),
        },
        now,
    )?)
}

/// One worker pass at `now`: every due outbox entry is attempted once over `transport`, in
/// queue order, and its outcome recorded by the engine's state machine. Returns the entries
/// after their attempts.
///
/// # Errors
/// `email_not_configured`; store errors.
pub fn deliver_due(
    engine: &Engine,
    transport: &mut dyn Transport,
    now: NaiveDateTime,
) -> Result<Vec<OutboxEntry>, SdkError> {
    let config = engine.email_config()?;
    let from = config.from.clone().unwrap_or_default();
    let mut out = Vec::new();
    for entry in engine.due_emails(now)? {
        let attachment = engine
            .document_bytes(&entry.document, entry.version)?
            .map(|bytes| {
                (
                    entry.attachment.clone(),
                    mail::mime_of(&entry.attachment).to_string(),
                    bytes,
                )
            });
        let message = Message {
            from: from.clone(),
            to: entry.to.clone(),
            subject: entry.subject.clone(),
            html: entry.html.clone(),
            attachment,
        };
        let outcome = transport.send(&config, &message);
        if let AttemptOutcome::Temporary(e) | AttemptOutcome::Permanent(e) = &outcome {
            tracing::warn!(document = %entry.document, entry = entry.id, "e-mail attempt: {e}");
        }
        out.push(engine.record_attempt(entry.id, now, &outcome)?);
    }
    Ok(out)
}

/// `deliver_emails` at `now` (04 §11.3): queue every approved, never-queued, non-`print`
/// document approved in [D − `invoice_email_delivery_period`, D] (D = `now`'s date), then
/// attempt every due entry once ([`deliver_due`]). A document that cannot be queued (no
/// recipients, a template error) is skipped with a warning and stays `pending`.
///
/// # Errors
/// `email_not_configured`; store errors.
pub fn deliver_emails(
    engine: &Engine,
    templates: &Templates,
    transport: &mut dyn Transport,
    now: NaiveDateTime,
) -> Result<Vec<OutboxEntry>, SdkError> {
    engine.email_config()?;
    for doc in engine.documents_to_email(now.date())? {
        let r = doc.reference();
        if let Err(e) = send(engine, templates, &r, now, "deliver_emails") {
            tracing::warn!(document = %r, code = e.code(), "not queued: {e}");
        }
    }
    deliver_due(engine, transport, now)
}

/// What a run's documents get after the run (04 §3.3 steps 11–12): with `generate_documents`
/// (the run's, else `system.generate_documents`, default true) each created document without a
/// stored version is rendered and stored; with `auto_send` / `auto_send_credit_memos` each
/// approved invoice / memo that was never queued and whose account does not deliver by `print`
/// is queued (once per document). A document that fails here is logged and left as it is: the
/// run itself has committed.
///
/// # Errors
/// Store errors only.
pub fn after_run(
    engine: &Engine,
    templates: &Templates,
    def: &InvoiceRunDef,
    exec: &RunExecution,
    on: NaiveDate,
) -> Result<(), SdkError> {
    let generate = def.generate_documents.unwrap_or_else(|| {
        engine
            .rules()
            .system
            .extra
            .get("generate_documents")
            .and_then(|v| v.as_bool())
            .unwrap_or(true)
    });
    let now = on.and_time(chrono::NaiveTime::MIN);
    for r in exec.accounts.iter().flat_map(|a| a.documents.iter()) {
        if generate && engine.document_versions(r)?.is_empty() {
            if let Err(e) = render_and_store(engine, templates, r, on) {
                tracing::warn!(document = %r, code = e.code(), "document not rendered: {e}");
            }
        }
        let Some(doc) = engine.document(r)? else {
            continue;
        };
        let wanted = match doc.doc_type {
            DocType::Invoice => def.auto_send,
            DocType::CreditMemo => def.auto_send_credit_memos,
        };
        if wanted
            && doc.status == DocStatus::Approved
            && engine.outbox_of(r)?.is_empty()
            && !engine.delivers_by_print(&doc)?
        {
            if let Err(e) = send(engine, templates, r, now, "auto_send") {
                tracing::warn!(document = %r, code = e.code(), "not auto-sent: {e}");
            }
        }
    }
    Ok(())
}

/// The definition a run step executed: the rules' run of that name, else the inline step.
pub fn run_definition(
    engine: &Engine,
    name: &str,
    step: Option<&serde_yaml::Value>,
) -> Option<InvoiceRunDef> {
    if let Some(d) = engine
        .invoice_run_defs()
        .ok()
        .and_then(|defs| defs.into_iter().find(|d| d.name == name))
    {
        return Some(d);
    }
    step.and_then(|v| serde_yaml::from_value(v.clone()).ok())
}

#[cfg(test)]
mod tests {
    use crate::{Format, Reckon};
    use chrono::NaiveDate;

    const RULES: &str = "
payment_terms:
  - {name: net_30, label: Net 30, default: true, offset: {days: 30}}
products:
  - {code: SETUP, name: Setup fee, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance}
legal_entities:
  - {id: LE, name: Seller Ltd, currency: USD}
accounts:
  - id: ACME
    name: Acme Corp
    currency: USD
    legal_entity: LE
    billing_contacts: [ap@acme.test]
    locations:
      - {id: HQ, line1: 1 Main St, city: Springfield, region: IL, postal_code: '62701', country: US}
orders:
  - {id: O-1, account: ACME, location: HQ, order_date: 2016-03-01, lines: [{id: L1, product: SETUP, net_price: '250.00', start: 2016-03-01}]}
  - {id: O-2, account: FANCY, order_date: 2016-03-01, lines: [{id: L1, product: SETUP, net_price: '10.00', start: 2016-03-01}]}
";

    fn world(auto_approve: bool) -> Reckon {
        let mut r = Reckon::in_memory();
        r.load_rules_str("rules.yaml", RULES).expect("rules");
        // A host record, not a rule row: its template reference is checked when it renders
        // (a rules account naming `fancy` would be refused at load).
        let fancy: reckon_engine::model::Account = serde_yaml::from_str(
            "{id: FANCY, currency: USD, legal_entity: LE, invoice_template: fancy}",
        )
        .expect("account");
        r.upsert_account(fancy).expect("upsert");
        r.load_rule_data().expect("records");
        let on = NaiveDate::from_ymd_opt(2016, 3, 31).expect("date");
        for o in ["O-1", "O-2"] {
            r.activate(o, on).expect("activate");
        }
        let run: serde_yaml::Value = serde_yaml::from_str(&format!(
            "{{name: MARCH, process_through: 2016-03-31, invoice_date: 2016-03-31, auto_approve: {auto_approve}}}"
        ))
        .expect("run");
        r.engine().invoice_run_step(&run, on).expect("run");
        r
    }

    #[test]
    fn the_data_model_holds_the_invoice_and_its_parties() {
        let r = world(true);
        let (name, json) = r.render("invoice:ACME#1", Format::Json).expect("render");
        assert_eq!(name, "INV-000001_default_invoice_2016-03-31.json");
        let v: serde_json::Value = serde_json::from_slice(&json).expect("json");
        assert_eq!(v["doc"]["number"], "INV-000001");
        assert_eq!(v["doc"]["status"], "approved");
        assert_eq!(v["doc"]["due_date"], "2016-04-30");
        assert_eq!(v["doc"]["template"], "default_invoice");
        assert_eq!(v["totals"]["total"], "250.00");
        assert_eq!(v["totals"]["tax"], "0.00");
        assert_eq!(v["lines"][0]["amount"], "250.00");
        assert_eq!(v["lines"][0]["quantity"], "1");
        assert_eq!(v["addresses"]["seller"]["name"], "Seller Ltd");
        assert_eq!(v["addresses"]["bill_to"]["name"], "Acme Corp");
        assert_eq!(v["addresses"]["bill_to"]["city"], "Springfield");
        assert_eq!(v["addresses"]["bill_to"]["postal_code"], "62701");
        assert_eq!(v["account"]["billing_contacts"][0], "ap@acme.test");
        assert_eq!(v["payment_term"]["label"], "Net 30");
        let (_, html) = r.render("invoice:ACME#1", Format::Html).expect("html");
        let html = String::from_utf8(html).expect("utf-8");
        assert!(
            html.contains("INV-000001") && html.contains("250.00"),
            "{html}"
        );
    }

    #[test]
    fn a_draft_is_named_by_its_id() {
        let r = world(false);
        let (name, pdf) = r.render("invoice:ACME#1", Format::Pdf).expect("render");
        assert_eq!(name, "DRAFT-invoice-ACME-1_default_invoice_2016-03-31.pdf");
        assert!(pdf.starts_with(b"%PDF-1.7"));
    }

    #[test]
    fn template_lookup_and_its_errors_carry_their_codes() {
        let r = world(true);
        // The account names a template that is neither a built-in nor a `templates` row.
        let e = r.render("invoice:FANCY#1", Format::Pdf).unwrap_err();
        assert_eq!(e.code(), "unknown_template", "{e}");
        // The location comes before the account: a credit memo template for an invoice.
        let mut acct = r.engine().account("ACME").expect("read").expect("account");
        acct.extra.insert("invoice_template".into(), "fancy".into());
        acct.locations[0]
            .extra
            .insert("invoice_template".into(), "default_credit_memo".into());
        r.upsert_account(acct.clone()).expect("upsert");
        let e = r.render("invoice:ACME#1", Format::Pdf).unwrap_err();
        assert_eq!(e.code(), "template_kind_mismatch", "{e}");
        // The run's template comes first.
        let mut doc = r
            .engine()
            .document("invoice:ACME#1")
            .expect("read")
            .expect("doc");
        let (name, _) = super::template_for(&doc, Some(&acct), acct.locations.first());
        assert_eq!(name, "default_credit_memo");
        doc.template = Some("default_invoice".into());
        let (name, _) = super::template_for(&doc, Some(&acct), acct.locations.first());
        assert_eq!(name, "default_invoice");
        let (name, _) = super::template_for(&doc, Some(&acct), None);
        assert_eq!(name, "default_invoice");
        doc.template = None;
        let (name, _) = super::template_for(&doc, Some(&acct), None);
        assert_eq!(name, "fancy");
        let e = r.render("invoice:ACME#9", Format::Pdf).unwrap_err();
        assert_eq!(e.code(), "unknown_invoice", "{e}");
        let e = r.render("credit_memo:ACME#1", Format::Pdf).unwrap_err();
        assert_eq!(e.code(), "unknown_credit_memo", "{e}");
    }
}

//! Invoice and credit memo documents (spec 04 §7, §11.2): the template data model built from the
//! engine's records, the template lookup, and rendering with `reckon-documents`.
//!
//! [`data_model`] turns a [`Document`] and the records around it into the
//! [`reckon_documents::DataModel`] a template sees; [`template_for`] picks the template;
//! [`render`] does both for a stored document and names the file (04 §7). Rendering reads the
//! store and writes nothing: keeping the rendered versions (04 §11.2 "every render adds a
//! version") is not done yet.

use crate::SdkError;
use reckon_documents::{
    document_name, Account as DocAccount, Addresses, Breakup as DocBreakup, DataModel, Doc,
    DocumentType, Format, Line, Party, PaymentTerm as DocPaymentTerm, TemplateKind, Templates,
    Totals,
};
use reckon_engine::billing::records::parse_ref;
use reckon_engine::billing::{Breakup, DocStatus, DocType, Document};
use reckon_engine::model::{Account, LegalEntity, Location, PaymentTerm};
use reckon_engine::money::minor_units;
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

/// Render the stored document `reference` (`invoice:ACME#1`, `credit_memo:ACME#1`) in `format`
/// with `templates`; returns its file name (04 §7: `{number}_{template}_{date}.{ext}`, drafts
/// `DRAFT-{id}_…`; a `/`, which a numbering callback may put in a number, becomes `-` so the
/// name is one path component) and its bytes.
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
    let Some(doc) = engine.document(reference)? else {
        let (code, what) = match parse_ref(reference) {
            Some((DocType::CreditMemo, _, _)) => (Code::UnknownCreditMemo, "no such credit memo"),
            _ => (Code::UnknownInvoice, "no such invoice"),
        };
        return Err(EngineError::refused(code, reference, "ref", what).into());
    };
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
    let (template, kind) = template_for(&doc, account.as_ref(), location);
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
    let data = data_model(&doc, &related, &template);
    let bytes = templates.render(&template, kind, &data, format)?;
    let name = document_name(
        doc.number.as_deref(),
        &data.doc.id,
        &template,
        &doc.invoice_date.to_string(),
        format.extension(),
    )
    .replace('/', "-");
    Ok((name, bytes))
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
  - {id: FANCY, currency: USD, legal_entity: LE, invoice_template: fancy}
orders:
  - {id: O-1, account: ACME, location: HQ, order_date: 2016-03-01, lines: [{id: L1, product: SETUP, net_price: '250.00', start: 2016-03-01}]}
  - {id: O-2, account: FANCY, order_date: 2016-03-01, lines: [{id: L1, product: SETUP, net_price: '10.00', start: 2016-03-01}]}
";

    fn world(auto_approve: bool) -> Reckon {
        let mut r = Reckon::in_memory();
        r.load_rules_str("rules.yaml", RULES).expect("rules");
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
        // The account names a template that is not a built-in (no `templates` rules yet).
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

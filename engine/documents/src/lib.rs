//! Invoice, credit memo and statement documents and their e-mails (spec 04 §2.4, §7, §11).
//!
//! Pure rendering: no file or network I/O, no clock; the same template and data give the same
//! bytes. The engine builds a [`DataModel`] from its records and asks [`Templates`] for a
//! document in one of three [`Format`]s:
//!
//! - `html` — the template's output (templates are Jinja2, the `minijinja` dialect);
//! - `pdf` — that HTML's text laid out on A4 pages by this crate (PDF 1.7, standard Helvetica
//!   fonts so the text is extractable, header rows repeated on every page a table runs onto, no
//!   timestamps or random ids); see [`html_to_pdf`] for what the layout understands;
//! - `json` — the data model itself, pretty-printed; no template is involved.
//!
//! # Templates
//! Five built-in templates always exist: `default_invoice`, `default_credit_memo`,
//! `default_statement`, `default_invoice_email`, `default_credit_memo_email` (the e-mail kinds
//! also have a subject template). [`Templates::register`] adds a custom template (name, kind,
//! body, optional subject); it replaces only an earlier custom template of the same name, never a
//! built-in. Undefined behaviour is **strict**: a template that prints, tests or iterates a name
//! the data model does not have fails with `render_failed`, naming the template and the line.
//! Document templates are HTML-escaped automatically; subjects are plain text.
//!
//! # Filters
//! - `money` — decimal text → `1,234.50`: thousands grouped with `,`, at least the currency's
//!   ISO 4217 minor units (JPY 0, USD 2, BHD 3), never rounded. The currency is the argument
//!   (`{{ x | money("JPY") }}`) or else the data's `doc.currency` (`{{ x | money }}`).
//! - `date` — ISO date text → `1 Mar 2024` by default; `{{ d | date("%d/%m/%Y") }}` takes a
//!   chrono `strftime` format.
//!
//! Both render `none` as empty text and refuse floats, so an amount is never shown through a
//! binary fraction. See [`format_money`] and [`format_date`]. One test is added: `nonzero`
//! (`{% if totals.discount is nonzero %}`), true for decimal text other than zero.
//!
//! # Data model
//! The context is [`DataModel`] serialised: `doc` ([`Doc`]: every invoice and credit memo header
//! field of 04 §1 plus `document` — `invoice`, `credit_memo` or `statement` — and `id`),
//! `lines` ([`Line`]), `breakups` ([`Breakup`]), `totals` ([`Totals`]), `account`
//! ([`Account`]), `addresses` ([`Addresses`]: `seller`, `bill_to`, `ship_to`, `sold_to`, each a
//! [`Party`]), `payment_term` ([`PaymentTerm`] or `null`) and `statement` ([`Statement`] or
//! `null`). Amounts, quantities and rates are decimal text; dates are `YYYY-MM-DD`; optional
//! fields are `null`, never missing. In JSON:
//!
//! ```json
//! {
//!   "doc": {"document": "invoice", "id": "inv_7", "number": "INV-000042", "status": "approved",
//!           "currency": "USD", "invoice_date": "2024-03-01", "due_date": "2024-03-31", "…": "…"},
//!   "lines": [{"n": 1, "product": "GOLD", "description": "Gold plan", "period_start": "2024-03-01",
//!              "period_end": "2024-03-31", "quantity": "2", "amount": "200.00", "tax": "16.50",
//!              "total": "216.50", "breakups": [], "…": "…"}],
//!   "breakups": [{"level": "state", "name": "CA State", "rate": "6.25", "tax": "12.50", "…": "…"}],
//!   "totals": {"subtotal": "200.00", "discount": null, "tax": "16.50", "total": "216.50",
//!              "balance": "216.50", "…": "…"},
//!   "account": {"id": "ACME", "name": "Acme Corp", "billing_contacts": ["ap@acme.test"]},
//!   "addresses": {"seller": {"name": "Reckon Ltd", "…": "…"}, "bill_to": {"name": "Acme Corp"},
//!                 "ship_to": null, "sold_to": null},
//!   "payment_term": {"name": "net_30", "label": "Net 30"},
//!   "statement": null
//! }
//! ```
//!
//! # Example
//! ```
//! use reckon_documents::{DataModel, Format, TemplateKind, Templates};
//!
//! let mut data = DataModel::default();
//! data.doc.id = "inv_1".into();
//! data.doc.currency = "USD".into();
//! data.doc.invoice_date = Some("2024-03-01".into());
//! data.totals.subtotal = "1234.5".into();
//! data.totals.tax = "0".into();
//! data.totals.total = "1234.5".into();
//! let templates = Templates::new();
//! let html = templates.render("default_invoice", TemplateKind::Invoice, &data, Format::Html)?;
//! assert!(String::from_utf8(html).unwrap().contains("1,234.50"));
//! # Ok::<(), reckon_documents::DocumentError>(())
//! ```

#![warn(missing_docs)]

mod error;
mod filters;
mod html;
mod metrics;
mod model;
mod pdf;

use std::collections::BTreeMap;
use std::fmt;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

pub use error::DocumentError;
pub use filters::{format_date, format_money, DEFAULT_DATE_FORMAT};
pub use model::{
    Account, Addresses, Breakup, DataModel, Doc, DocumentType, Line, OpenInvoice, Party,
    PaymentTerm, Statement, StatementEntry, Totals,
};

/// The kinds of template (04 §2.4 `templates.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TemplateKind {
    /// An invoice document.
    Invoice,
    /// A credit memo document.
    CreditMemo,
    /// An account statement.
    Statement,
    /// The e-mail that sends an invoice.
    InvoiceEmail,
    /// The e-mail that sends a credit memo.
    CreditMemoEmail,
}

impl TemplateKind {
    /// Every kind, in spec order.
    pub const ALL: [TemplateKind; 5] = [
        TemplateKind::Invoice,
        TemplateKind::CreditMemo,
        TemplateKind::Statement,
        TemplateKind::InvoiceEmail,
        TemplateKind::CreditMemoEmail,
    ];

    /// The kind's name in rule files (`invoice`, `credit_memo`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateKind::Invoice => "invoice",
            TemplateKind::CreditMemo => "credit_memo",
            TemplateKind::Statement => "statement",
            TemplateKind::InvoiceEmail => "invoice_email",
            TemplateKind::CreditMemoEmail => "credit_memo_email",
        }
    }

    /// The kind named `name` in rule files.
    pub fn parse(name: &str) -> Option<TemplateKind> {
        TemplateKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether this is an e-mail kind (which has a subject).
    pub fn is_email(self) -> bool {
        matches!(
            self,
            TemplateKind::InvoiceEmail | TemplateKind::CreditMemoEmail
        )
    }

    /// The built-in template of this kind: `default_<kind>`.
    pub fn default_template(self) -> &'static str {
        match self {
            TemplateKind::Invoice => "default_invoice",
            TemplateKind::CreditMemo => "default_credit_memo",
            TemplateKind::Statement => "default_statement",
            TemplateKind::InvoiceEmail => "default_invoice_email",
            TemplateKind::CreditMemoEmail => "default_credit_memo_email",
        }
    }
}

impl fmt::Display for TemplateKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The document formats (04 §11.2, the preference's `invoice_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Format {
    /// The template's HTML output.
    Html,
    /// The HTML laid out as PDF 1.7.
    Pdf,
    /// The data model, pretty-printed JSON.
    Json,
}

impl Format {
    /// The file extension (`html`, `pdf`, `json`), as used in [`document_name`].
    pub fn extension(self) -> &'static str {
        match self {
            Format::Html => "html",
            Format::Pdf => "pdf",
            Format::Json => "json",
        }
    }

    /// The format named `name` (`html`, `pdf`, `json`).
    pub fn parse(name: &str) -> Option<Format> {
        [Format::Html, Format::Pdf, Format::Json]
            .into_iter()
            .find(|f| f.extension() == name)
    }
}

/// A template definition (04 §2.4 `templates` row, with the body already read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// Unique name.
    pub name: String,
    /// What it renders.
    pub kind: TemplateKind,
    /// Jinja2 source of the body (HTML).
    pub body: String,
    /// Jinja2 source of the subject line (e-mail kinds; the built-in subject of the kind when
    /// `None`; ignored for document kinds).
    pub subject: Option<String>,
}

/// A rendered e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// The subject, on one line.
    pub subject: String,
    /// The HTML body.
    pub html: String,
}

const SUBJECT_SUFFIX: &str = "#subject";

const BUILT_INS: [(&str, TemplateKind, &str, Option<&str>); 5] = [
    (
        "default_invoice",
        TemplateKind::Invoice,
        include_str!("templates/default_invoice.html"),
        None,
    ),
    (
        "default_credit_memo",
        TemplateKind::CreditMemo,
        include_str!("templates/default_credit_memo.html"),
        None,
    ),
    (
        "default_statement",
        TemplateKind::Statement,
        include_str!("templates/default_statement.html"),
        None,
    ),
    (
        "default_invoice_email",
        TemplateKind::InvoiceEmail,
        include_str!("templates/default_invoice_email.html"),
        Some(include_str!("templates/default_invoice_email.subject")),
    ),
    (
        "default_credit_memo_email",
        TemplateKind::CreditMemoEmail,
        include_str!("templates/default_credit_memo_email.html"),
        Some(include_str!("templates/default_credit_memo_email.subject")),
    ),
];

/// The template set: the built-ins plus registered custom templates, compiled once.
pub struct Templates {
    env: Environment<'static>,
    kinds: BTreeMap<String, TemplateKind>,
}

impl fmt::Debug for Templates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Templates")
            .field("kinds", &self.kinds)
            .finish_non_exhaustive()
    }
}

impl Default for Templates {
    fn default() -> Self {
        Templates::new()
    }
}

fn invalid(template: &str, err: &minijinja::Error) -> DocumentError {
    DocumentError::InvalidTemplate {
        template: template.to_string(),
        line: err.line(),
        message: describe(err),
    }
}

/// The error's kind and detail, without minijinja's own location suffix.
fn describe(err: &minijinja::Error) -> String {
    let mut message = match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    };
    let mut source = std::error::Error::source(err);
    while let Some(inner) = source {
        message.push_str(": ");
        message.push_str(&inner.to_string());
        source = inner.source();
    }
    message
}

impl Templates {
    /// The built-in templates, with the `money` and `date` filters and strict undefined.
    pub fn new() -> Templates {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_auto_escape_callback(|name| {
            if name.ends_with(SUBJECT_SUFFIX) {
                AutoEscape::None
            } else {
                AutoEscape::Html
            }
        });
        env.add_filter("money", filters::money_filter);
        env.add_filter("date", filters::date_filter);
        env.add_test("nonzero", filters::nonzero_test);
        let mut templates = Templates {
            env,
            kinds: BTreeMap::new(),
        };
        for (name, kind, body, subject) in BUILT_INS {
            // The built-ins are tested to compile; a failure here would be a build defect, and
            // the kind stays unregistered so rendering reports `unknown_template`.
            if templates.add(name, kind, body, subject).is_ok() {
                templates.kinds.insert(name.to_string(), kind);
            }
        }
        templates
    }

    fn add(
        &mut self,
        name: &str,
        kind: TemplateKind,
        body: &str,
        subject: Option<&str>,
    ) -> Result<(), DocumentError> {
        // Compile both before adding either, so a failed registration changes nothing.
        let probe = Environment::new();
        probe
            .template_from_named_str(name, body)
            .map_err(|e| invalid(name, &e))?;
        let subject_name = format!("{name}{SUBJECT_SUFFIX}");
        if let Some(subject) = subject {
            probe
                .template_from_named_str(&subject_name, subject)
                .map_err(|e| invalid(name, &e))?;
        }
        self.env
            .add_template_owned(name.to_string(), body.to_string())
            .map_err(|e| invalid(name, &e))?;
        match subject {
            Some(subject) if kind.is_email() => self
                .env
                .add_template_owned(subject_name, subject.to_string())
                .map_err(|e| invalid(name, &e))?,
            _ => self.env.remove_template(&subject_name),
        }
        Ok(())
    }

    /// Registers a custom template. It replaces an earlier custom template of the same name and
    /// nothing else.
    ///
    /// # Errors
    /// `invalid_template` when the name is a built-in's, is empty, or the body or subject does
    /// not compile (with the line).
    pub fn register(&mut self, template: Template) -> Result<(), DocumentError> {
        let name = template.name.as_str();
        if BUILT_INS.iter().any(|(builtin, ..)| *builtin == name) {
            return Err(DocumentError::InvalidTemplate {
                template: name.to_string(),
                line: None,
                message: "built-in templates always exist and cannot be replaced".to_string(),
            });
        }
        if name.is_empty() || name.contains('#') {
            return Err(DocumentError::InvalidTemplate {
                template: name.to_string(),
                line: None,
                message: "a template name is non-empty and has no `#`".to_string(),
            });
        }
        self.add(
            name,
            template.kind,
            &template.body,
            template.subject.as_deref(),
        )?;
        self.kinds.insert(name.to_string(), template.kind);
        Ok(())
    }

    /// The kind of the template named `name`, if there is one.
    pub fn kind(&self, name: &str) -> Option<TemplateKind> {
        self.kinds.get(name).copied()
    }

    /// Every template name with its kind, in name order.
    pub fn names(&self) -> impl Iterator<Item = (&str, TemplateKind)> + '_ {
        self.kinds.iter().map(|(name, kind)| (name.as_str(), *kind))
    }

    fn check(&self, name: &str, expected: TemplateKind) -> Result<(), DocumentError> {
        let found = self
            .kind(name)
            .ok_or_else(|| DocumentError::UnknownTemplate {
                template: name.to_string(),
            })?;
        if found != expected {
            return Err(DocumentError::TemplateKindMismatch {
                template: name.to_string(),
                expected,
                found,
            });
        }
        Ok(())
    }

    fn render_named(
        &self,
        template: &str,
        source_name: &str,
        data: &DataModel,
    ) -> Result<String, DocumentError> {
        let failed = |err: &minijinja::Error| DocumentError::RenderFailed {
            template: template.to_string(),
            line: err.line(),
            message: describe(err),
        };
        let compiled = self.env.get_template(source_name).map_err(|e| failed(&e))?;
        compiled
            .render(minijinja::Value::from(minijinja::value::Serde(data)))
            .map_err(|e| failed(&e))
    }

    /// Renders the template's HTML.
    ///
    /// # Errors
    /// `unknown_template`, `template_kind_mismatch` (the template is not of `kind`), or
    /// `render_failed` with the template line.
    pub fn render_html(
        &self,
        name: &str,
        kind: TemplateKind,
        data: &DataModel,
    ) -> Result<String, DocumentError> {
        self.check(name, kind)?;
        self.render_named(name, name, data)
    }

    /// Renders a document (an invoice, credit memo or statement template) in `format`.
    ///
    /// # Errors
    /// As [`Templates::render_html`]; also `template_kind_mismatch` when `kind` is an e-mail
    /// kind (e-mails are rendered by [`Templates::render_email`]). For `json` the template is
    /// checked but not rendered.
    pub fn render(
        &self,
        name: &str,
        kind: TemplateKind,
        data: &DataModel,
        format: Format,
    ) -> Result<Vec<u8>, DocumentError> {
        if kind.is_email() {
            let found = self.kind(name).unwrap_or(kind);
            return Err(DocumentError::TemplateKindMismatch {
                template: name.to_string(),
                expected: match kind {
                    TemplateKind::CreditMemoEmail => TemplateKind::CreditMemo,
                    _ => TemplateKind::Invoice,
                },
                found,
            });
        }
        self.check(name, kind)?;
        match format {
            Format::Json => render_json(data).map_err(|message| DocumentError::RenderFailed {
                template: name.to_string(),
                line: None,
                message,
            }),
            Format::Html => Ok(self.render_named(name, name, data)?.into_bytes()),
            Format::Pdf => Ok(html_to_pdf(&self.render_named(name, name, data)?)),
        }
    }

    /// Renders an e-mail (subject and HTML body) with an e-mail template.
    ///
    /// # Errors
    /// `unknown_template`, `template_kind_mismatch` (not of `kind`, or `kind` is not an e-mail
    /// kind), `render_failed`.
    pub fn render_email(
        &self,
        name: &str,
        kind: TemplateKind,
        data: &DataModel,
    ) -> Result<Email, DocumentError> {
        if !kind.is_email() {
            let found = self.kind(name).unwrap_or(kind);
            return Err(DocumentError::TemplateKindMismatch {
                template: name.to_string(),
                expected: match kind {
                    TemplateKind::CreditMemo => TemplateKind::CreditMemoEmail,
                    _ => TemplateKind::InvoiceEmail,
                },
                found,
            });
        }
        self.check(name, kind)?;
        let html = self.render_named(name, name, data)?;
        let own_subject = format!("{name}{SUBJECT_SUFFIX}");
        let subject_source = if self.env.get_template(&own_subject).is_ok() {
            own_subject
        } else {
            format!("{}{SUBJECT_SUFFIX}", kind.default_template())
        };
        let subject = self.render_named(name, &subject_source, data)?;
        Ok(Email {
            subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
            html,
        })
    }
}

/// Checks a custom template without registering it (what [`Templates::register`] refuses):
/// its name is non-empty, has no `#` and is not a built-in's, and its body and subject compile.
/// Rule loading calls this so a syntax error is reported with the rules, at load.
///
/// ```
/// use reckon_documents::{check_template, Template, TemplateKind};
/// let ok = Template { name: "t".into(), kind: TemplateKind::Invoice, body: "{{ doc.number }}".into(), subject: None };
/// assert!(check_template(&ok).is_ok());
/// let bad = Template { body: "{% if %}".into(), ..ok };
/// assert_eq!(check_template(&bad).unwrap_err().code(), "invalid_template");
/// ```
///
/// # Errors
/// `invalid_template` with the template line of a syntax error.
pub fn check_template(template: &Template) -> Result<(), DocumentError> {
    let name = template.name.as_str();
    if BUILT_INS.iter().any(|(builtin, ..)| *builtin == name) {
        return Err(DocumentError::InvalidTemplate {
            template: name.to_string(),
            line: None,
            message: "built-in templates always exist and cannot be replaced".to_string(),
        });
    }
    if name.is_empty() || name.contains('#') {
        return Err(DocumentError::InvalidTemplate {
            template: name.to_string(),
            line: None,
            message: "a template name is non-empty and has no `#`".to_string(),
        });
    }
    let probe = Environment::new();
    probe
        .template_from_named_str(name, &template.body)
        .map_err(|e| invalid(name, &e))?;
    if let Some(subject) = &template.subject {
        probe
            .template_from_named_str(&format!("{name}{SUBJECT_SUFFIX}"), subject)
            .map_err(|e| invalid(name, &e))?;
    }
    Ok(())
}

/// The JSON format: the data model, pretty-printed, with a final newline.
///
/// # Errors
/// A message if the model cannot be serialised (an `extra` value serde_json refuses).
pub fn render_json(data: &DataModel) -> Result<Vec<u8>, String> {
    let mut out = serde_json::to_vec_pretty(data).map_err(|e| e.to_string())?;
    out.push(b'\n');
    Ok(out)
}

/// Lays out HTML as a PDF 1.7 document (what [`Format::Pdf`] does with a template's output).
///
/// The layout reads the HTML's structure, not its CSS: headings, paragraphs, line breaks, rules,
/// bold (`b`, `strong`, `th`), `small` / `class="small"` (smaller, grey), `class="muted"` (grey); tables with `thead` header rows
/// (shaded, repeated on each page), `class="layout"` (borderless, equal columns),
/// `class="right"` (natural width at the right margin), `class="grand"` rows (bold, rule above),
/// `colspan`, nesting; alignment from `align`, a `text-align` style or a `right` / `num` /
/// `center` class; `class="page-break"`. The `title` is the running header and footer.
pub fn html_to_pdf(html: &str) -> Vec<u8> {
    pdf::html_to_pdf(html)
}

/// The file name of a document (04 §7): `{number}_{template}_{date}.{ext}`, or
/// `DRAFT-{id}_{template}_{date}.{ext}` while the document has no number.
///
/// ```
/// use reckon_documents::document_name;
/// assert_eq!(
///     document_name(Some("INV-000042"), "inv_7", "default_invoice", "2024-03-01", "pdf"),
///     "INV-000042_default_invoice_2024-03-01.pdf"
/// );
/// assert_eq!(
///     document_name(None, "inv_7", "default_invoice", "2024-03-01", "pdf"),
///     "DRAFT-inv_7_default_invoice_2024-03-01.pdf"
/// );
/// ```
pub fn document_name(
    number: Option<&str>,
    id: &str,
    template: &str,
    date: &str,
    ext: &str,
) -> String {
    match number {
        Some(number) if !number.is_empty() => format!("{number}_{template}_{date}.{ext}"),
        _ => format!("DRAFT-{id}_{template}_{date}.{ext}"),
    }
}

//! Rendering the built-in documents from a realistic data model: HTML content, PDF validity and
//! determinism, pagination, strict undefined, filters, template registry, e-mails, JSON.

mod fixture;

use std::io::Write;
use std::process::{Command, Stdio};
use std::str::FromStr;

use reckon_documents::{
    document_name, format_money, DataModel, DocumentError, Format, Template, TemplateKind,
    Templates,
};
use rust_decimal::Decimal;

fn html(templates: &Templates, name: &str, kind: TemplateKind, data: &DataModel) -> String {
    let bytes = templates
        .render(name, kind, data, Format::Html)
        .expect("renders");
    String::from_utf8(bytes).expect("HTML is UTF-8")
}

fn pdf(data: &DataModel) -> Vec<u8> {
    Templates::new()
        .render("default_invoice", TemplateKind::Invoice, data, Format::Pdf)
        .expect("renders")
}

/// The text of a PDF by poppler's `pdftotext`, or `None` (with a message) when it is not
/// installed.
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let child = Command::new("pdftotext")
        .args(["-layout", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("pdftotext not installed: skipping the text-extraction check");
        return None;
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(pdf)
        .expect("write");
    let out = child.wait_with_output().expect("pdftotext runs");
    assert!(
        out.status.success(),
        "pdftotext failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).expect("UTF-8 text"))
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[test]
fn default_invoice_shows_parties_dates_lines_and_totals() {
    let data = fixture::invoice();
    let out = html(
        &Templates::new(),
        "default_invoice",
        TemplateKind::Invoice,
        &data,
    );
    // Parties and header.
    for expected in [
        fixture::SELLER,
        fixture::BUYER,
        "Globex Research Lab",
        "500 Howard Street",
        "San Francisco, CA, 94105",
        "Tax ID GB 123 4567 89",
        fixture::NUMBER,
        "Net 30",
        "1 Mar 2024",
        "31 Mar 2024",
        "USD",
    ] {
        assert!(out.contains(expected), "missing {expected:?}");
    }
    // Lines: each description, quantity and amount from the fixture's inputs.
    for (description, product, quantity, _) in fixture::LINES {
        assert!(out.contains(description), "missing {description:?}");
        assert!(out.contains(product));
        assert!(out.contains(&format!(">{quantity}<")));
    }
    assert!(out.contains("1,250.00") && out.contains("300.00") && out.contains("182.50"));
    // 8.25 % of 1250.00 = 103.125 → 103.13; of 300.00 = 24.75; of 182.50 = 15.05625 → 15.06.
    assert!(out.contains("103.13") && out.contains("24.75") && out.contains("15.06"));
    assert!(out.contains("1,353.13")); // 1250.00 + 103.13
                                       // Subtotal 1732.50, tax 142.94, total 1875.44, paid 100, balance 1775.44.
    assert_eq!(
        dec("1250.00") + dec("300.00") + dec("182.50"),
        dec("1732.50")
    );
    for expected in [
        "1,732.50", "142.94", "1,875.44", "-100.00", "1,775.44", "8.25%",
    ] {
        assert!(out.contains(expected), "missing {expected:?}");
    }
    assert!(out.contains("CA State"));
    // A zero discount is not shown.
    assert!(!out.contains("Discount"));
}

#[test]
fn template_output_is_html_escaped() {
    let mut data = fixture::invoice();
    data.lines[0].description = Some("R&D <beta> \"pilot\"".into());
    let out = html(
        &Templates::new(),
        "default_invoice",
        TemplateKind::Invoice,
        &data,
    );
    assert!(out.contains("R&amp;D &lt;beta&gt; &quot;pilot&quot;"));
    assert!(!out.contains("<beta>"));
}

#[test]
fn a_draft_shows_draft_instead_of_a_number() {
    let mut data = fixture::invoice();
    data.doc.number = None;
    let out = html(
        &Templates::new(),
        "default_invoice",
        TemplateKind::Invoice,
        &data,
    );
    assert!(out.contains("DRAFT INVOICE"));
    assert!(!out.contains(fixture::NUMBER));
    assert_eq!(
        document_name(None, &data.doc.id, "default_invoice", "2024-03-01", "pdf"),
        "DRAFT-inv_7_default_invoice_2024-03-01.pdf"
    );
}

#[test]
fn pdf_is_valid_deterministic_and_its_text_extractable() {
    let data = fixture::invoice();
    let first = pdf(&data);
    let second = pdf(&data);
    assert!(first.starts_with(b"%PDF-1.7"));
    assert!(first.trim_ascii_end().ends_with(b"%%EOF"));
    assert_eq!(first, second, "two renders differ");
    // No clock, no random file id.
    for forbidden in [&b"CreationDate"[..], b"ModDate", b"/ID"] {
        assert_eq!(count(&first, forbidden), 0);
    }
    // Standard fonts, nothing embedded.
    assert_eq!(count(&first, b"/BaseFont /Helvetica"), 2);
    assert_eq!(count(&first, b"FontFile"), 0);
    // The content streams carry the text as strings.
    assert!(count(&first, format!("({})", fixture::NUMBER).as_bytes()) >= 1);
    if let Some(text) = pdftotext(&first) {
        assert!(text.contains(fixture::NUMBER), "{text}");
        assert!(text.contains("1,875.44"), "{text}");
        assert!(text.contains("1,775.44"), "{text}");
        assert!(text.contains(fixture::SELLER) && text.contains(fixture::BUYER));
        assert!(text.contains("Page 1 of 1"));
    }
}

#[test]
fn a_long_invoice_paginates_and_repeats_the_table_header() {
    let data = fixture::long_invoice(200);
    let bytes = pdf(&data);
    let pages = count(&bytes, b"/Type /Page\n");
    assert!(pages > 3, "200 lines on {pages} page(s)");
    assert_eq!(count(&bytes, format!("/Count {pages}\n").as_bytes()), 1);
    // Every page of the line table starts with its header row.
    assert_eq!(count(&bytes, b"(Description) Tj"), pages);
    assert_eq!(count(&bytes, b"(Page 1 of "), 1);
    // Pages after the first carry the page number in the running header and in the footer.
    assert_eq!(
        count(&bytes, format!("(Page {pages} of {pages})").as_bytes()),
        2
    );
    assert_eq!(bytes, pdf(&data));
    if let Some(text) = pdftotext(&bytes) {
        assert_eq!(text.matches("Description").count(), pages);
        assert!(text.contains("Usage block 1 ") || text.contains("Usage block 1\n"));
        assert!(text.contains("Usage block 200"));
        // Each line amount is 10 + i + (i mod 100)/100; the total of the amounts:
        let subtotal: Decimal = (1..=200)
            .map(|i| dec(&format!("{}.{:02}", 10 + i, i % 100)))
            .sum();
        let expected = format_money(&subtotal.to_string(), "USD").unwrap();
        assert!(text.contains(&expected), "subtotal {expected} missing");
        // Page order: the last line comes on the last page, after the previous pages' lines.
        let last_page = text.split('\u{c}').nth(pages - 1).unwrap();
        assert!(last_page.contains("Usage block 200"));
        assert!(last_page.contains("Balance due"));
    }
}

#[test]
fn an_unknown_variable_fails_naming_the_template_and_line() {
    let mut templates = Templates::new();
    templates
        .register(Template {
            name: "acme_invoice".into(),
            kind: TemplateKind::Invoice,
            body: "<p>{{ doc.number }}</p>\n<p>{{ totals.total | money }}</p>\n<p>{{ customer_po }}</p>\n".into(),
            subject: None,
        })
        .unwrap();
    let err = templates
        .render(
            "acme_invoice",
            TemplateKind::Invoice,
            &fixture::invoice(),
            Format::Pdf,
        )
        .unwrap_err();
    assert_eq!(err.code(), "render_failed");
    assert_eq!(err.template(), "acme_invoice");
    assert_eq!(err.line(), Some(3));
    let message = err.to_string();
    assert!(
        message.contains("acme_invoice") && message.contains("line 3"),
        "{message}"
    );

    // An unknown attribute of a known record fails the same way.
    templates
        .register(Template {
            name: "acme_invoice".into(),
            kind: TemplateKind::Invoice,
            body: "{{ doc.number }}\n{{ doc.purchase_order }}".into(),
            subject: None,
        })
        .unwrap();
    let err = templates
        .render(
            "acme_invoice",
            TemplateKind::Invoice,
            &fixture::invoice(),
            Format::Html,
        )
        .unwrap_err();
    assert!(matches!(
        err,
        DocumentError::RenderFailed { line: Some(2), .. }
    ));
}

#[test]
fn filters_follow_each_currency_minor_units() {
    let mut templates = Templates::new();
    templates
        .register(Template {
            name: "filters".into(),
            kind: TemplateKind::Invoice,
            body: concat!(
                "{{ '1234567' | money('JPY') }}|{{ '1234.5' | money('USD') }}|",
                "{{ '1234.5' | money('BHD') }}|{{ '-0.125' | money('BHD') }}|",
                "{{ totals.total | money }}|{{ 42 | money('JPY') }}|{{ none | money }}|",
                "{{ doc.invoice_date | date }}|{{ doc.due_date | date('%d/%m/%Y') }}"
            )
            .into(),
            subject: None,
        })
        .unwrap();
    let mut data = fixture::invoice();
    data.doc.currency = "BHD".into();
    data.totals.total = "98765.4".into();
    let out = html(&templates, "filters", TemplateKind::Invoice, &data);
    assert_eq!(
        out,
        "1,234,567|1,234.50|1,234.500|-0.125|98,765.400|42||1 Mar 2024|31/03/2024"
    );
}

#[test]
fn filters_refuse_floats_bad_decimals_and_unknown_currencies() {
    let mut templates = Templates::new();
    for (name, body) in [
        ("float", "{{ 1.5 | money('USD') }}"),
        ("text", "{{ 'ten' | money('USD') }}"),
        ("currency", "{{ '10' | money('XXX') }}"),
        ("date", "{{ '2024-02-30' | date }}"),
    ] {
        templates
            .register(Template {
                name: name.into(),
                kind: TemplateKind::Invoice,
                body: body.into(),
                subject: None,
            })
            .unwrap();
        let err = templates
            .render(
                name,
                TemplateKind::Invoice,
                &fixture::invoice(),
                Format::Html,
            )
            .unwrap_err();
        assert_eq!(err.code(), "render_failed", "{name}: {err}");
        assert_eq!(err.line(), Some(1), "{name}");
    }
    // Without an argument and without doc.currency there is no currency.
    let mut data = fixture::invoice();
    data.doc.currency = String::new();
    let err = Templates::new()
        .render(
            "default_invoice",
            TemplateKind::Invoice,
            &data,
            Format::Html,
        )
        .unwrap_err();
    assert!(err.to_string().contains("no currency"), "{err}");
}

#[test]
fn templates_are_looked_up_by_name_and_kind() {
    let mut templates = Templates::new();
    let data = fixture::invoice();
    for kind in TemplateKind::ALL {
        assert_eq!(templates.kind(kind.default_template()), Some(kind));
    }
    let err = templates
        .render("nope", TemplateKind::Invoice, &data, Format::Html)
        .unwrap_err();
    assert_eq!(err.code(), "unknown_template");
    assert_eq!(err.template(), "nope");
    let err = templates
        .render(
            "default_invoice",
            TemplateKind::CreditMemo,
            &data,
            Format::Pdf,
        )
        .unwrap_err();
    assert_eq!(
        err,
        DocumentError::TemplateKindMismatch {
            template: "default_invoice".into(),
            expected: TemplateKind::CreditMemo,
            found: TemplateKind::Invoice,
        }
    );
    let err = templates
        .render_email("default_invoice", TemplateKind::InvoiceEmail, &data)
        .unwrap_err();
    assert_eq!(err.code(), "template_kind_mismatch");
    let err = templates
        .render(
            "default_invoice_email",
            TemplateKind::InvoiceEmail,
            &data,
            Format::Pdf,
        )
        .unwrap_err();
    assert_eq!(err.code(), "template_kind_mismatch");

    // A custom template overrides nothing but itself.
    let before = html(&templates, "default_invoice", TemplateKind::Invoice, &data);
    templates
        .register(Template {
            name: "acme_invoice".into(),
            kind: TemplateKind::Invoice,
            body: "ACME {{ doc.number }}".into(),
            subject: None,
        })
        .unwrap();
    assert_eq!(
        html(&templates, "acme_invoice", TemplateKind::Invoice, &data),
        format!("ACME {}", fixture::NUMBER)
    );
    assert_eq!(
        html(&templates, "default_invoice", TemplateKind::Invoice, &data),
        before
    );
    templates
        .register(Template {
            name: "acme_invoice".into(),
            kind: TemplateKind::Invoice,
            body: "ACME v2".into(),
            subject: None,
        })
        .unwrap();
    assert_eq!(
        html(&templates, "acme_invoice", TemplateKind::Invoice, &data),
        "ACME v2"
    );
    // Built-ins cannot be replaced; a syntax error names its line and changes nothing.
    let err = templates
        .register(Template {
            name: "default_invoice".into(),
            kind: TemplateKind::Invoice,
            body: "x".into(),
            subject: None,
        })
        .unwrap_err();
    assert_eq!(err.code(), "invalid_template");
    let err = templates
        .register(Template {
            name: "acme_invoice".into(),
            kind: TemplateKind::Invoice,
            body: "ok\n{% if %}".into(),
            subject: None,
        })
        .unwrap_err();
    assert_eq!(err.code(), "invalid_template");
    assert_eq!(err.line(), Some(2));
    assert_eq!(
        html(&templates, "acme_invoice", TemplateKind::Invoice, &data),
        "ACME v2"
    );
    let names: Vec<&str> = templates.names().map(|(n, _)| n).collect();
    assert!(names.contains(&"acme_invoice") && names.len() == 6);
}

#[test]
fn e_mails_have_a_one_line_subject_and_a_body() {
    let mut templates = Templates::new();
    let data = fixture::invoice();
    let email = templates
        .render_email("default_invoice_email", TemplateKind::InvoiceEmail, &data)
        .unwrap();
    assert_eq!(
        email.subject,
        format!(
            "Invoice {} from {}: USD 1,775.44 due 31 Mar 2024",
            fixture::NUMBER,
            fixture::SELLER
        )
    );
    assert!(email.html.contains(fixture::BUYER) && email.html.contains("1,775.44"));

    // A custom e-mail template without a subject takes the kind's built-in subject.
    templates
        .register(Template {
            name: "short_email".into(),
            kind: TemplateKind::InvoiceEmail,
            body: "<p>{{ doc.number }}</p>".into(),
            subject: None,
        })
        .unwrap();
    let email = templates
        .render_email("short_email", TemplateKind::InvoiceEmail, &data)
        .unwrap();
    assert!(email.subject.starts_with("Invoice INV-000042 from"));
    // Subjects are plain text: not HTML-escaped, newlines folded.
    templates
        .register(Template {
            name: "plain".into(),
            kind: TemplateKind::InvoiceEmail,
            body: "<p>x</p>".into(),
            subject: Some("{{ account.name }} &\n{{ doc.number }}".into()),
        })
        .unwrap();
    let mut data = data;
    data.account.name = "Smith & Sons <UK>".into();
    let email = templates
        .render_email("plain", TemplateKind::InvoiceEmail, &data)
        .unwrap();
    assert_eq!(email.subject, "Smith & Sons <UK> & INV-000042");
}

#[test]
fn credit_memos_and_statements_render_in_every_format() {
    let templates = Templates::new();
    let memo = fixture::credit_memo();
    let out = html(
        &templates,
        "default_credit_memo",
        TemplateKind::CreditMemo,
        &memo,
    );
    for expected in [
        "CREDIT MEMO",
        "CM-000007",
        "15 Mar 2024",
        fixture::NUMBER,
        "Billing error",
        "1,353.13",
    ] {
        assert!(out.contains(expected), "missing {expected:?}");
    }
    let email = templates
        .render_email(
            "default_credit_memo_email",
            TemplateKind::CreditMemoEmail,
            &memo,
        )
        .unwrap();
    assert!(email.subject.contains("CM-000007") && email.subject.contains("1,353.13"));

    let statement = fixture::statement();
    let out = html(
        &templates,
        "default_statement",
        TemplateKind::Statement,
        &statement,
    );
    for expected in [
        "STATEMENT",
        "STMT-GLOBEX-2024-03-31",
        "Opening balance",
        "250.00",
        "2,125.44",
        "2,025.44",
        "PAY-9",
        "-100.00",
        "1,775.44",
    ] {
        assert!(out.contains(expected), "missing {expected:?}");
    }
    for (name, kind, data) in [
        ("default_credit_memo", TemplateKind::CreditMemo, &memo),
        ("default_statement", TemplateKind::Statement, &statement),
    ] {
        let bytes = templates.render(name, kind, data, Format::Pdf).unwrap();
        assert!(bytes.starts_with(b"%PDF-1.7"));
        assert_eq!(
            bytes,
            templates.render(name, kind, data, Format::Pdf).unwrap()
        );
    }
}

#[test]
fn json_is_the_data_model_itself() {
    let data = fixture::invoice();
    let bytes = Templates::new()
        .render(
            "default_invoice",
            TemplateKind::Invoice,
            &data,
            Format::Json,
        )
        .unwrap();
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("\n  \"doc\": {"));
    let back: DataModel = serde_json::from_str(&text).unwrap();
    assert_eq!(back, data);
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["doc"]["number"], fixture::NUMBER);
    assert_eq!(value["doc"]["ref"], "invoice:GLOBEX#1");
    assert_eq!(value["lines"][2]["amount"], "182.50");
    assert!(value["doc"]["order"].is_null());
}

#[test]
fn document_names_follow_spec_7() {
    assert_eq!(
        document_name(
            Some("INV-000042"),
            "inv_7",
            "default_invoice",
            "2024-03-01",
            "pdf"
        ),
        "INV-000042_default_invoice_2024-03-01.pdf"
    );
    assert_eq!(
        document_name(None, "cm_3", "default_credit_memo", "2024-03-15", "json"),
        "DRAFT-cm_3_default_credit_memo_2024-03-15.json"
    );
    assert_eq!(Format::Pdf.extension(), "pdf");
}

#[test]
fn html_to_pdf_survives_odd_input() {
    let deep = "<table><tr><td>".repeat(200) + "deep" + &"</td></tr></table>".repeat(200);
    let long_word = "x".repeat(5000);
    for html in [
        String::new(),
        "plain text, no tags".to_string(),
        deep,
        format!("<p>{long_word}</p>"),
        "<table><tr><td colspan=99>wide</td></tr><tr><td>a<td>b</table>".to_string(),
        "<p>Zürich · 5 € · 東京 · \u{1F600}</p><hr><div class=page-break></div><p>end".to_string(),
        "<table><thead><tr><th>only a header</th></tr></thead></table></td></tr></p>".to_string(),
    ] {
        let pdf = reckon_documents::html_to_pdf(&html);
        assert!(pdf.starts_with(b"%PDF-1.7"));
        assert!(pdf.trim_ascii_end().ends_with(b"%%EOF"));
        assert_eq!(pdf, reckon_documents::html_to_pdf(&html));
    }
    // Latin-1 and WinAnsi characters survive; others become `?`.
    let pdf = reckon_documents::html_to_pdf("<p>Zürich 5 € 東</p>");
    if let Some(text) = pdftotext(&pdf) {
        assert!(text.contains("Zürich 5 € ?"), "{text}");
    }
}

#[test]
fn a_statement_renders_as_json_with_its_running_balance() {
    let templates = Templates::new();
    let statement = fixture::statement();
    let bytes = templates
        .render(
            "default_statement",
            TemplateKind::Statement,
            &statement,
            Format::Json,
        )
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let s = &v["statement"];
    assert_eq!(v["doc"]["document"], "statement");
    assert_eq!(s["opening_balance"], "250.00");
    // 250.00 + 1875.44 = 2125.44; − 100.00 = 2025.44 = the closing balance.
    assert_eq!(s["transactions"][0]["balance"], "2125.44");
    assert_eq!(s["transactions"][1]["balance"], "2025.44");
    assert_eq!(s["closing_balance"], "2025.44");
    assert_eq!(s["open_invoices"][0]["days_past_due"], 0);
    assert_eq!(s["open_invoices"][0]["due_date"], "2024-03-31");
    // A statement template is not an invoice template.
    let e = templates
        .render(
            "default_statement",
            TemplateKind::Invoice,
            &statement,
            Format::Html,
        )
        .unwrap_err();
    assert_eq!(e.code(), "template_kind_mismatch");
}

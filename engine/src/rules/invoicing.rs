//! Load-time checks of the invoicing documents (04 §2, §4, §5.1, §7, §13; 07 §2): the pure
//! checks of [`crate::invoicing`] run on every row the schema accepted, and each problem becomes a
//! [`RuleError`] at the offending key of its row (or the row itself when the key is absent).

use super::RuleError;
use crate::error::Code;
use crate::invoicing::due::check_term;
use crate::invoicing::model::{FilterRow, InvoiceRunDef, NumberingRow, TaxRate};
use crate::invoicing::numbering::check_numbering;
use crate::invoicing::tax::check_rates;
use crate::invoicing::InvoicingError;
use crate::model::PaymentTerm;
use crate::yaml::Node;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, BTreeSet};

/// The documents these checks read.
pub(super) const CHECKED: &[&str] = &[
    "payment_terms",
    "tax_rates",
    "numbering",
    "invoice_runs",
    "aging_buckets",
    "templates",
    "accounts",
    "products",
    "wallet_policies",
    "late_fee_policies",
];

/// The built-in templates (04 §2.4: `default_<kind>` always exists) and their kinds.
const BUILT_IN_TEMPLATES: &[(&str, &str)] = &[
    ("default_invoice", "invoice"),
    ("default_credit_memo", "credit_memo"),
    ("default_statement", "statement"),
    ("default_invoice_email", "invoice_email"),
    ("default_credit_memo_email", "credit_memo_email"),
];

/// A shape-valid row: (document, file, row node, path such as `invoice_runs[2]`).
pub(super) type Row = (&'static str, String, Node, String);

/// Names other rows refer to, gathered from every row and entry before validation, so that a
/// reference to a row or plugin that has its own shape error is not reported a second time.
#[derive(Debug, Default)]
pub(super) struct References {
    /// `templates` names → the row's `kind` (`None` when it has no valid kind), file, node and
    /// index (the first row of a name; a second is `duplicate_name`).
    templates: BTreeMap<String, (Option<String>, String, Node, usize)>,
    /// Plugin names of `callbacks.plugins`.
    plugins: BTreeSet<String>,
}

impl References {
    /// Gather the template names of `rows` and the plugin names of the `callbacks` `entries`.
    pub(super) fn collect(
        rows: &[(&'static str, String, Node)],
        entries: &[(&'static str, String, String, Node, Node)],
    ) -> Self {
        let mut refs = References::default();
        let mut i = 0;
        for (doc, file, node) in rows {
            if *doc != "templates" {
                continue;
            }
            if let Some(name) = node.get("name").and_then(Node::as_str) {
                // A kind the schema refuses is reported there; it is not compared here.
                let kind = node
                    .get("kind")
                    .and_then(Node::as_str)
                    .filter(|k| BUILT_IN_TEMPLATES.iter().any(|(_, known)| known == k))
                    .map(str::to_string);
                refs.templates
                    .entry(name.to_string())
                    .or_insert_with(|| (kind, file.clone(), node.clone(), i));
            }
            i += 1;
        }
        for (doc, key, _, _, value) in entries {
            if *doc == "callbacks" && key == "plugins" {
                for (k, _) in value.as_map().unwrap_or_default() {
                    if let Some(name) = k.as_str() {
                        refs.plugins.insert(name.to_string());
                    }
                }
            }
        }
        refs
    }

    fn plugins_allowed(&self) -> String {
        if self.plugins.is_empty() {
            "a plugin named in callbacks.plugins (none is registered)".into()
        } else {
            let names: Vec<&str> = self.plugins.iter().map(String::as_str).collect();
            format!("a plugin named in callbacks.plugins ({})", names.join(", "))
        }
    }
}

/// The node a field path (`filter_logic`, `schedule.day`, `filters[2].field`) names inside a row,
/// or its nearest present ancestor (the row itself when the first key is absent).
pub(super) fn locate<'a>(row: &'a Node, field: &str) -> &'a Node {
    let mut at = row;
    for seg in field.split('.').filter(|s| !s.is_empty()) {
        let (key, index) = match seg.split_once('[') {
            Some((k, rest)) => (
                k,
                rest.strip_suffix(']').and_then(|i| i.parse::<usize>().ok()),
            ),
            None => (seg, None),
        };
        let Some(mut next) = (if key.is_empty() {
            Some(at)
        } else {
            at.get(key)
        }) else {
            return at;
        };
        if let Some(i) = index {
            match next.as_seq().and_then(|items| items.get(i)) {
                Some(item) => next = item,
                None => return next,
            }
        }
        at = next;
    }
    at
}

fn field_path(row_path: &str, field: &str) -> String {
    if field.is_empty() {
        row_path.to_string()
    } else {
        format!("{row_path}.{field}")
    }
}

/// A load error at `field` of `row`.
fn at_field(
    code: &'static str,
    row: &Row,
    field: &str,
    found: String,
    allowed: String,
) -> RuleError {
    let (_, file, node, path) = row;
    RuleError::at(
        code,
        file,
        locate(node, field),
        field_path(path, field),
        found,
        allowed,
    )
}

/// What each code allows, in words.
fn allowed(code: Code) -> &'static str {
    match code {
        Code::BadPaymentTerm => {
            "offset_occurrence only with start: specific_day and without offset (04 §4)"
        }
        Code::BadTaxRate => "a rate 0–100, effective ≤ expires and non-empty tax codes (04 §5.1)",
        Code::OverlappingTaxRates => {
            "rows with the same tax code, jurisdiction, level and name that do not overlap in time (04 §5.1)"
        }
        Code::BadNumberingFormat => {
            "text with {prefix}, {year}, {legal_entity} and exactly one {seq:W}, W 1–20 (04 §7)"
        }
        Code::DuplicateNumbering => "one numbering row per document and legal entity (04 §7)",
        Code::AutoSendRequiresAutoApprove => {
            "auto_send with auto_approve other than false, auto_send_credit_memos with auto_approve_credit_memos: true (04 §2.1)"
        }
        Code::BadRunSchedule => {
            "a schedule with the keys its type needs and no others, a from, to ≥ from, time HH:MM; invoice_date and process_through on immediate runs only (04 §2.3)"
        }
        Code::ScheduleOnImmediateRun => "no schedule on an immediate run (04 §2.1)",
        Code::UnknownFilterField => "a scalar field of the row's object (04 §2.2)",
        Code::UnknownFilterRow => "row numbers the run's filters define (04 §2.2)",
        Code::FilterRowUnreferenced => "every filter row in filter_logic (04 §2.2)",
        Code::AmbiguousFilterLogic => "AND and OR mixed only across parentheses (04 §2.2)",
        Code::BadFilterLogic => {
            "row numbers, AND, OR, NOT and parentheses over unique n; a value for every op but is_empty, a list for in only (04 §2.2)"
        }
        _ => "a valid rule (04 §13)",
    }
}

/// An invoicing error on `row` (its own field inside the row), naming `other` when it has one.
fn from_invoicing(e: &InvoicingError, row: &Row, other: Option<&Row>) -> RuleError {
    let mut found = e.message.clone();
    if let Some((_, file, node, path)) = other {
        found.push_str(&format!(
            " (the other row is {path} at {file}:{})",
            node.pos
        ));
    }
    at_field(
        e.code.as_str(),
        row,
        &e.field,
        found,
        allowed(e.code).to_string(),
    )
}

/// Type each row; a row the schema accepted but the type refuses is a `bad_value` at the row.
fn typed<'a, T: DeserializeOwned>(
    rows: impl Iterator<Item = &'a Row>,
    errors: &mut Vec<RuleError>,
) -> Vec<(T, &'a Row)> {
    let mut out = Vec::new();
    for row in rows {
        match serde_yaml::from_value::<T>(row.2.to_value()) {
            Ok(v) => out.push((v, row)),
            Err(e) => errors.push(RuleError::at(
                "bad_value",
                &row.1,
                &row.2,
                row.3.clone(),
                e.to_string(),
                "a valid row".into(),
            )),
        }
    }
    out
}

/// The errors of a check over a whole table, each on its row (and naming the other row).
fn table_errors(errs: Vec<InvoicingError>, rows: &[&Row], out: &mut Vec<RuleError>) {
    for e in errs {
        let Some(row) = e.row.and_then(|i| rows.get(i)) else {
            continue;
        };
        let other = e.other.and_then(|i| rows.get(i)).copied();
        out.push(from_invoicing(&e, row, other));
    }
}

/// Every invoicing check over the shape-valid `rows`.
pub(super) fn check(rows: &[Row], refs: &References) -> Vec<RuleError> {
    let mut out = Vec::new();
    let of = |doc: &'static str| rows.iter().filter(move |r| r.0 == doc);

    // payment_terms: the term's own rows were typed (and refused) by the loader already.
    for row in of("payment_terms") {
        let Ok(term) = serde_yaml::from_value::<PaymentTerm>(row.2.to_value()) else {
            continue;
        };
        for e in check_term(&term).err().unwrap_or_default() {
            // `specific_day` without `start_value` is the loader's `missing_key` already.
            if e.field == "start_value" && term.start_value.is_none() {
                continue;
            }
            out.push(from_invoicing(&e, row, None));
        }
    }

    // aging_buckets (05 §5): `to` strictly increasing, only the last open-ended; one default.
    let aging = typed::<crate::receivables::aging::AgingBuckets>(of("aging_buckets"), &mut out);
    for (set, row) in &aging {
        for (field, message) in set.check() {
            out.push(at_field(
                "bad_aging_buckets",
                row,
                &field,
                message,
                "strictly increasing `to` day counts, the last bucket without one".into(),
            ));
        }
    }
    let defaults: Vec<&&Row> = aging
        .iter()
        .filter(|(s, _)| s.default)
        .map(|(_, r)| r)
        .collect();
    for row in defaults.iter().skip(1) {
        out.push(at_field(
            "bad_aging_buckets",
            row,
            "default",
            "a second default bucket set".into(),
            "at most one `default: true`".into(),
        ));
    }

    receivables_checks(rows, &mut out);

    // tax_rates.
    let rates = typed::<TaxRate>(of("tax_rates"), &mut out);
    let (values, at): (Vec<TaxRate>, Vec<&Row>) = rates.into_iter().unzip();
    table_errors(
        check_rates(&values).err().unwrap_or_default(),
        &at,
        &mut out,
    );

    // numbering.
    let numbering = typed::<NumberingRow>(of("numbering"), &mut out);
    for (n, row) in &numbering {
        if let Some(cb) = &n.callback {
            if !refs.plugins.contains(cb) {
                out.push(at_field(
                    "unknown_callback",
                    row,
                    "callback",
                    format!("callback `{cb}`"),
                    refs.plugins_allowed(),
                ));
            }
        }
    }
    let (values, at): (Vec<NumberingRow>, Vec<&Row>) = numbering.into_iter().unzip();
    table_errors(
        check_numbering(&values).err().unwrap_or_default(),
        &at,
        &mut out,
    );

    // invoice_runs.
    for (run, row) in typed::<InvoiceRunDef>(of("invoice_runs"), &mut out) {
        for e in run.check() {
            // An immediate run's process_through may come from the step (04 §12).
            if e.code != Code::MissingProcessThrough {
                out.push(from_invoicing(&e, row, None));
            }
        }
        for (i, f) in run.filters.iter().enumerate() {
            if let FilterRow::Custom { callback, .. } = f {
                if !refs.plugins.contains(callback) {
                    out.push(at_field(
                        "unknown_callback",
                        row,
                        &format!("filters[{i}].callback"),
                        format!("callback `{callback}`"),
                        refs.plugins_allowed(),
                    ));
                }
            }
        }
        if let Some(t) = &run.template {
            check_template(t, "invoice", row, "template", refs, &mut out);
        }
    }

    // accounts (and their locations): the five template references (04 §2.4).
    for row in of("accounts") {
        let node = &row.2;
        for (key, kind) in TEMPLATE_KEYS {
            if let Some(name) = node.get(key).and_then(Node::as_str) {
                check_template(name, kind, row, key, refs, &mut out);
            }
        }
        for (i, loc) in node
            .get("locations")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            for (key, kind) in TEMPLATE_KEYS {
                if loc.get(key).and_then(Node::as_str).is_some() {
                    let name = loc.get(key).and_then(Node::as_str).unwrap_or_default();
                    check_template(
                        name,
                        kind,
                        row,
                        &format!("locations[{i}].{key}"),
                        refs,
                        &mut out,
                    );
                }
            }
        }
    }
    out
}

/// The template keys of accounts and locations and the kind each names (04 §2.4, 01).
pub(crate) const TEMPLATE_KEYS: [(&str, &str); 5] = [
    ("invoice_template", "invoice"),
    ("credit_memo_template", "credit_memo"),
    ("statement_template", "statement"),
    ("invoice_email_template", "invoice_email"),
    ("credit_memo_email_template", "credit_memo_email"),
];

/// Whether a `body` is a file path rather than template text: one line, no blanks, no `{` or
/// `<`, ending in `.` and an extension of 1–8 letters or digits (`templates/invoice.html`).
pub(crate) fn body_is_path(body: &str) -> bool {
    if body.is_empty()
        || body
            .chars()
            .any(|c| c.is_whitespace() || c == '{' || c == '<')
    {
        return false;
    }
    match body.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && !stem.ends_with('/')
                && (1..=8).contains(&ext.len())
                && ext.chars().all(|c| c.is_ascii_alphanumeric())
        }
        None => false,
    }
}

/// The `templates` rows with their bodies read (a path is relative to the file of its row),
/// each compiled by `reckon-documents`; a syntax error is an `invalid_template` at the
/// template's line (in the template file, or inside the row's `body`).
pub(super) fn templates(rows: &[Row]) -> (BTreeMap<String, super::TemplateDef>, Vec<RuleError>) {
    let mut defs = BTreeMap::new();
    let mut out = Vec::new();
    for row in rows.iter().filter(|r| r.0 == "templates") {
        let (_, file, node, path) = row;
        let (Some(name), Some(kind), Some(body_node)) = (
            node.get("name").and_then(Node::as_str),
            node.get("kind").and_then(Node::as_str),
            node.get("body"),
        ) else {
            continue;
        };
        let Some(kind_t) = reckon_documents::TemplateKind::parse(kind) else {
            continue;
        };
        let raw = body_node.as_str().unwrap_or_default().to_string();
        let subject_node = node.get("subject");
        let subject = subject_node.and_then(Node::as_str).map(str::to_string);
        if subject.is_some() && !kind_t.is_email() {
            out.push(at_field(
                "bad_value",
                row,
                "subject",
                format!("a subject on a {kind} template"),
                "a subject only on e-mail kinds (invoice_email, credit_memo_email)".into(),
            ));
            continue;
        }
        let (body, body_file) = if body_is_path(&raw) {
            let base = std::path::Path::new(file.as_str())
                .parent()
                .unwrap_or(std::path::Path::new("."));
            let full = base.join(&raw);
            match std::fs::read_to_string(&full) {
                Ok(text) => (text, Some(full.display().to_string())),
                Err(e) => {
                    out.push(at_field(
                        "invalid_template",
                        row,
                        "body",
                        format!("template file `{}` cannot be read: {e}", full.display()),
                        "template text, or the path of a readable template file relative to this rule file".into(),
                    ));
                    continue;
                }
            }
        } else {
            (raw.clone(), None)
        };
        let t = reckon_documents::Template {
            name: name.to_string(),
            kind: kind_t,
            body: body.clone(),
            subject: subject.clone(),
        };
        let body_only = reckon_documents::Template {
            subject: None,
            ..t.clone()
        };
        let (failure, in_subject) = match reckon_documents::check_template(&body_only) {
            Err(e) => (Some(e), false),
            Ok(()) => (reckon_documents::check_template(&t).err(), true),
        };
        if let Some(e) = failure {
            let line = e.line();
            let message = e.to_string();
            let allowed =
                "a template that compiles (Jinja2, the minijinja dialect; 04 §2.4)".to_string();
            let err = match (&body_file, in_subject) {
                (_, true) => {
                    let at = subject_node.unwrap_or(node);
                    RuleError::at(
                        "invalid_template",
                        file,
                        at,
                        format!("{path}.subject"),
                        message,
                        allowed,
                    )
                }
                (Some(tf), false) => RuleError {
                    code: "invalid_template",
                    file: tf.clone(),
                    pos: crate::yaml::Pos {
                        line: line.unwrap_or(1),
                        col: 1,
                    },
                    path: format!("{path}.body"),
                    found: message,
                    allowed,
                },
                (None, false) => {
                    let mut pos = body_node.pos;
                    if let Some(l) = line {
                        if body.contains('\n') {
                            // A block scalar: the node is positioned at its first text line.
                            pos.line += l.saturating_sub(1);
                        }
                    }
                    let mut err = RuleError::at(
                        "invalid_template",
                        file,
                        body_node,
                        format!("{path}.body"),
                        message,
                        allowed,
                    );
                    err.pos = pos;
                    err
                }
            };
            out.push(err);
            continue;
        }
        defs.insert(
            name.to_string(),
            super::TemplateDef {
                name: name.to_string(),
                kind: kind.to_string(),
                body,
                subject,
                file: file.clone(),
                pos: node.pos,
                body_file,
            },
        );
    }
    (defs, out)
}

/// A reference at `field` of `row` names a `templates` row or a built-in, of kind `expected`.
fn check_template(
    name: &str,
    expected: &str,
    row: &Row,
    field: &str,
    refs: &References,
    out: &mut Vec<RuleError>,
) {
    let (kind, whence) = match refs.templates.get(name) {
        Some((kind, file, node, i)) => (
            kind.clone(),
            format!("templates[{i}] at {file}:{}", node.pos),
        ),
        None => match BUILT_IN_TEMPLATES.iter().find(|(n, _)| *n == name) {
            Some((_, kind)) => (Some(kind.to_string()), "a built-in template".into()),
            None => {
                let built_in: Vec<&str> = BUILT_IN_TEMPLATES.iter().map(|(n, _)| *n).collect();
                out.push(at_field(
                    "unknown_template",
                    row,
                    field,
                    format!("template `{name}`"),
                    format!(
                        "a name from templates or a built-in template ({})",
                        built_in.join(", ")
                    ),
                ));
                return;
            }
        },
    };
    match kind.as_deref() {
        None => {}
        Some(k) if k == expected => {}
        Some(k) => out.push(at_field(
            "template_kind_mismatch",
            row,
            field,
            format!("template `{name}` of kind {k} ({whence})"),
            format!(
                "{} {} template (kind: {expected})",
                if expected.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                },
                expected.replace('_', " ")
            ),
        )),
    }
}

/// 05 §3.1, §4.1: wallet and late-fee policies are consistent and name known products; every
/// `late_fee_policy` of an account, location or payment term names a policy.
fn receivables_checks(rows: &[Row], out: &mut Vec<RuleError>) {
    use crate::receivables::late_fees::LateFeePolicy;
    use crate::receivables::wallets::{AppliesTo, WalletPolicy};
    let of = |doc: &'static str| rows.iter().filter(move |r| r.0 == doc);
    let products: BTreeSet<String> = of("products")
        .filter_map(|r| r.2.get("code").and_then(Node::as_str).map(str::to_string))
        .collect();
    for (p, row) in typed::<WalletPolicy>(of("wallet_policies"), out) {
        for (field, message) in p.check() {
            out.push(at_field(
                "bad_wallet_policy",
                row,
                &field,
                message,
                "a complete renew rule".into(),
            ));
        }
        if let Some(AppliesTo::Products(codes)) = &p.applies_to {
            for (i, c) in codes.iter().enumerate() {
                if !products.contains(c) {
                    out.push(at_field(
                        "unknown_product",
                        row,
                        &format!("applies_to[{i}]"),
                        format!("`{c}`"),
                        "a product code of the rules".into(),
                    ));
                }
            }
        }
    }
    let late: Vec<(LateFeePolicy, &Row)> = typed(of("late_fee_policies"), out);
    for (p, row) in &late {
        for (field, message) in p.check() {
            out.push(at_field(
                "bad_late_fee_policy",
                row,
                &field,
                message,
                "an amount for flat, a percent for percent, minimum ≤ maximum".into(),
            ));
        }
        if !products.contains(&p.product) {
            out.push(at_field(
                "unknown_product",
                row,
                "product",
                format!("`{}`", p.product),
                "a product code of the rules".into(),
            ));
        }
    }
    let names: BTreeSet<&str> = late.iter().map(|(p, _)| p.name.as_str()).collect();
    let mut refer = |row: &Row, field: String, node: Option<&Node>| {
        if let Some(name) = node.and_then(Node::as_str) {
            if !names.contains(name) {
                out.push(at_field(
                    "unknown_policy",
                    row,
                    &field,
                    format!("`{name}`"),
                    "a name of late_fee_policies".into(),
                ));
            }
        }
    };
    for row in of("accounts") {
        refer(row, "late_fee_policy".into(), row.2.get("late_fee_policy"));
        for (i, loc) in row
            .2
            .get("locations")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            refer(
                row,
                format!("locations[{i}].late_fee_policy"),
                loc.get("late_fee_policy"),
            );
        }
    }
    for row in of("payment_terms") {
        refer(row, "late_fee_policy".into(), row.2.get("late_fee_policy"));
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::{load_dir, load_str, RuleError, RuleLoader};

    /// (code, path, line, col) of every error, in the loader's order (by file and position).
    fn found(errors: &[RuleError]) -> Vec<(&str, &str, usize, usize)> {
        errors
            .iter()
            .map(|e| (e.code, e.path.as_str(), e.pos.line, e.pos.col))
            .collect()
    }

    fn errors(file: &str, text: &str) -> Vec<RuleError> {
        match load_str(file, text) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    #[test]
    fn payment_terms_report_once() {
        let e = errors(
            "terms.yaml",
            "payment_terms:
  - name: NET30
    offset: {days: 30}
  - name: NTH
    start: end_of_month
    offset_occurrence: 2
  - name: BOTH
    start: specific_day
    start_value: 15
    offset: {days: 10}
    offset_occurrence: 1
  - name: NOVALUE
    start: specific_day
  - name: ZERO
    start: specific_day
    start_value: 0
",
        );
        assert_eq!(
            found(&e),
            vec![
                (
                    "bad_payment_term",
                    "payment_terms[1].offset_occurrence",
                    6,
                    24
                ),
                ("bad_payment_term", "payment_terms[2].offset", 10, 13),
                ("missing_key", "payment_terms[NOVALUE].start", 13, 12),
                ("bad_value", "payment_terms[4].start_value", 16, 18),
            ]
        );
        assert!(e.iter().all(|x| x.file == "terms.yaml"));
        assert!(e[0].found.contains("needs start: specific_day"), "{}", e[0]);
    }

    #[test]
    fn tax_rates_name_both_rows() {
        let e = errors(
            "tax.yaml",
            "tax_rates:
  - tax_code: SW
    level: state
    name: CA State
    rate: 6.25
    effective: 2016-01-01
    expires: 2016-06-30
  - tax_code: [HW, SW]
    level: state
    name: ca state
    rate: 7
    effective: 2016-06-30
  - tax_code: SW
    level: city
    rate: 1
    effective: 2016-03-01
    expires: 2016-02-01
",
        );
        assert_eq!(
            found(&e),
            vec![
                ("overlapping_tax_rates", "tax_rates[1].effective", 12, 16),
                ("bad_tax_rate", "tax_rates[2].expires", 17, 14),
            ]
        );
        assert!(
            e[0].found.contains("tax_rates[0] at tax.yaml:2:5"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn overlap_across_files() {
        let mut l = RuleLoader::new();
        l.add_text(
            "a.yaml",
            "tax_rates:\n  - {tax_code: SW, level: country, rate: 5}\n",
        );
        l.add_text(
            "b.yaml",
            "tax_rates:\n  - tax_code: SW\n    level: country\n    rate: 6\n",
        );
        let e = l.finish().unwrap_err();
        assert_eq!(
            found(&e),
            vec![("overlapping_tax_rates", "tax_rates[1].effective", 2, 5)]
        );
        assert_eq!(e[0].file, "b.yaml");
        assert!(
            e[0].found.contains("tax_rates[0] at a.yaml:2:5"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn numbering_formats_duplicates_and_callbacks() {
        let e = errors(
            "num.yaml",
            "callbacks:
  plugins:
    yearly: {rhai: plugins/yearly.rhai}
numbering:
  - document: invoice
    callback: yearly
  - document: credit_memo
    format: \"{prefix}{seq:4}{week}\"
  - document: invoice
    legal_entity: US1
  - document: invoice
    legal_entity: US1
    callback: nightly
",
        );
        assert_eq!(
            found(&e),
            vec![
                ("bad_numbering_format", "numbering[1].format", 8, 13),
                ("duplicate_numbering", "numbering[3].legal_entity", 12, 19),
                ("unknown_callback", "numbering[3].callback", 13, 15),
            ]
        );
        assert!(
            e[1].found.contains("numbering[2] at num.yaml:9:5"),
            "{}",
            e[1]
        );
        assert!(e[2].allowed.contains("(yearly)"), "{}", e[2]);
    }

    #[test]
    fn invoice_runs_report_every_code_at_its_key() {
        let e = errors(
            "runs.yaml",
            "callbacks:
  plugins:
    segment: {rhai: plugins/segment.rhai}
templates:
  - name: fancy
    kind: invoice
    body: \"Invoice {{ number }}\"
  - name: memo
    kind: credit_memo
    body: memo
invoice_runs:
  - name: SEND
    process_through: 2016-03-31
    auto_send: true
    template: fancy
  - name: WEEKLY
    type: scheduled
    schedule:
      type: weekly
      day: 5
      from: 2016-03-01
    process_through: 2016-03-31
  - name: NOW
    schedule:
      type: weekly
      weekday: monday
      from: 2016-03-01
    template: memo
  - name: FILTERED
    filters:
      - {n: 1, object: account, field: name, op: equals, value: ACME}
      - {n: 2, object: location, field: planet, op: equals, value: Mars}
      - {n: 3, object: custom, callback: segment}
      - {n: 4, object: custom, callback: nobody}
    filter_logic: 1 AND 2 OR 3
    template: nowhere
  - name: LOGIC
    filters:
      - {n: 1, object: account, field: name, op: equals, value: ACME}
      - {n: 2, object: account, field: id, op: is_empty}
    filter_logic: 1 AND 3
  - name: STATEMENT
    template: default_statement
  - name: BUILTIN
    template: default_invoice
  - name: BADLOGIC
    filters:
      - {n: 1, object: order, field: id, op: is_empty, value: X}
    filter_logic: (1
",
        );
        assert_eq!(
            found(&e),
            vec![
                (
                    "auto_send_requires_auto_approve",
                    "invoice_runs[0].auto_send",
                    14,
                    16
                ),
                (
                    "bad_run_schedule",
                    "invoice_runs[1].schedule.weekday",
                    19,
                    7
                ),
                ("bad_run_schedule", "invoice_runs[1].schedule.day", 20, 12),
                (
                    "bad_run_schedule",
                    "invoice_runs[1].process_through",
                    22,
                    22
                ),
                (
                    "schedule_on_immediate_run",
                    "invoice_runs[2].schedule",
                    25,
                    7
                ),
                ("template_kind_mismatch", "invoice_runs[2].template", 28, 15),
                (
                    "unknown_filter_field",
                    "invoice_runs[3].filters[1].field",
                    32,
                    41
                ),
                (
                    "unknown_callback",
                    "invoice_runs[3].filters[3].callback",
                    34,
                    42
                ),
                (
                    "ambiguous_filter_logic",
                    "invoice_runs[3].filter_logic",
                    35,
                    19
                ),
                ("unknown_template", "invoice_runs[3].template", 36, 15),
                ("unknown_filter_row", "invoice_runs[4].filter_logic", 41, 19),
                (
                    "filter_row_unreferenced",
                    "invoice_runs[4].filter_logic",
                    41,
                    19
                ),
                ("template_kind_mismatch", "invoice_runs[5].template", 43, 15),
                (
                    "bad_filter_logic",
                    "invoice_runs[7].filters[0].value",
                    48,
                    63
                ),
                ("bad_filter_logic", "invoice_runs[7].filter_logic", 49, 19),
            ]
        );
        let mismatch = &e[5];
        assert!(
            mismatch.found.contains("templates[1] at runs.yaml:8:5"),
            "{mismatch}"
        );
        assert_eq!(mismatch.allowed, "an invoice template (kind: invoice)");
        assert!(e[9].allowed.contains("default_invoice"), "{}", e[9]);
        assert_eq!(
            e[0].to_string(),
            format!(
                "runs.yaml:14:16: auto_send_requires_auto_approve: invoice_runs[0].auto_send: found {}, expected {}",
                e[0].found, e[0].allowed
            )
        );
    }

    #[test]
    fn an_immediate_run_may_leave_process_through_to_its_step() {
        assert!(load_str("r.yaml", "invoice_runs:\n  - name: LATER\n").is_ok());
    }

    #[test]
    fn references_to_rows_with_their_own_errors_are_not_repeated() {
        // The template row and the plugin registration are refused by the schema; the run's
        // references to them are not reported again.
        let e = errors(
            "r.yaml",
            "callbacks:
  plugins:
    seg: {rhai: seg.rhai, colour: red}
templates:
  - name: fancy
    kind: poster
    body: x
invoice_runs:
  - name: R
    template: fancy
    filters:
      - {n: 1, object: custom, callback: seg}
",
        );
        let codes: Vec<&str> = e.iter().map(|x| x.code).collect();
        assert!(
            !codes.iter().any(|c| matches!(
                *c,
                "unknown_template" | "template_kind_mismatch" | "unknown_callback"
            )),
            "{codes:?}"
        );
        assert!(!e.is_empty());
    }

    #[test]
    fn odd_rows_never_panic() {
        for text in [
            "invoice_runs:\n  - {name: A, filters: [], filter_logic: ''}\n",
            "invoice_runs:\n  - {name: A, filter_logic: 'NOT NOT ((('}\n",
            "invoice_runs:\n  - {name: A, filters: [{n: 1, object: custom, callback: x}, {n: 1, object: custom, callback: x}]}\n",
            "invoice_runs:\n  - {name: A, type: scheduled, schedule: {type: monthly_by_date, day: end_of_month, from: 2016-01-31, time: '25:99'}}\n",
            "invoice_runs:\n  - {name: A, template: ''}\n  - {name: A, template: default_invoice}\n",
            "numbering:\n  - {document: invoice, format: '{'}\n  - {document: invoice, format: '{seq:99999999999999999999}é{é}'}\n",
            "numbering:\n  - {document: invoice, callback: ''}\n",
            "tax_rates:\n  - {tax_code: [], level: city, rate: 0}\n  - {tax_code: '', level: city, rate: 100, effective: 9999-12-31}\n",
            "payment_terms:\n  - {name: T, offset_occurrence: 12, offset: {months: 120}}\n",
            "templates:\n  - {kind: invoice}\ninvoice_runs:\n  - {name: A, template: ~}\n",
        ] {
            let _ = load_str("odd.yaml", text);
        }
    }

    #[test]
    fn the_demo_rules_load() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/demo");
        if let Err(e) = load_dir(&dir) {
            panic!(
                "{}",
                e.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
    }

    #[test]
    fn templates_compile_at_load_and_references_name_their_kind() {
        let dir = tempfile_dir();
        std::fs::write(dir.join("good.html"), "<p>{{ doc.number }}</p>\n").expect("write");
        std::fs::write(dir.join("bad.html"), "<p>ok</p>\n<p>{% for x in %}</p>\n").expect("write");
        let rules = "templates:
  - {name: inline_ok, kind: invoice, body: \"<p>{{ doc.number }}</p>\"}
  - {name: from_file, kind: credit_memo, body: good.html}
  - {name: broken_inline, kind: invoice, body: \"{% if %}\"}
  - name: broken_block
    kind: statement
    body: |
      <p>line one</p>
      {% if %}x{% endif %}
  - {name: bad_file, kind: invoice, body: bad.html}
  - {name: missing_file, kind: invoice, body: nowhere.html}
  - {name: mail, kind: invoice_email, body: \"<p>Hi</p>\", subject: \"Invoice {{ doc.number \"}
  - {name: subject_on_doc, kind: invoice, body: x, subject: y}
accounts:
  - id: ACME
    invoice_template: from_file
    credit_memo_template: nobody
    invoice_email_template: mail
    locations:
      - {id: HQ, statement_template: inline_ok}
";
        let file = dir.join("rules.yaml");
        std::fs::write(&file, rules).expect("write");
        let e = match load_dir(&dir) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        };
        let file = file.display().to_string();
        let bad = dir.join("bad.html").display().to_string();
        let mut got: Vec<(&str, String, &str, usize)> = e
            .iter()
            .map(|x| (x.code, x.file.clone(), x.path.as_str(), x.pos.line))
            .collect();
        got.sort();
        let mut want = vec![
            ("invalid_template", file.clone(), "templates[2].body", 4),
            // A block scalar's text starts on the line after `|`: template line 2 is file line 9.
            ("invalid_template", file.clone(), "templates[3].body", 9),
            ("invalid_template", bad.clone(), "templates[4].body", 2),
            ("invalid_template", file.clone(), "templates[5].body", 11),
            ("invalid_template", file.clone(), "templates[6].subject", 12),
            ("bad_value", file.clone(), "templates[7].subject", 13),
            (
                "unknown_template",
                file.clone(),
                "accounts[0].credit_memo_template",
                17,
            ),
            (
                "template_kind_mismatch",
                file.clone(),
                "accounts[0].invoice_template",
                16,
            ),
            (
                "template_kind_mismatch",
                file.clone(),
                "accounts[0].locations[0].statement_template",
                20,
            ),
        ];
        want.sort();
        assert_eq!(got, want, "{e:#?}");
        // `mail` has a subject error of its own; the reference to it (right kind) is not reported.
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_loaded_template_keeps_its_text() {
        let set = load_str(
            "r.yaml",
            "templates:\n  - {name: t, kind: invoice_email, body: \"<p>{{ doc.number }}</p>\", subject: \"Inv {{ doc.number }}\"}\n",
        )
        .expect("rules");
        let t = &set.templates["t"];
        assert_eq!(t.body, "<p>{{ doc.number }}</p>");
        assert_eq!(t.subject.as_deref(), Some("Inv {{ doc.number }}"));
        assert_eq!(t.kind, "invoice_email");
        assert!(t.body_file.is_none());
        assert!(super::body_is_path("templates/invoice.html"));
        assert!(!super::body_is_path("Thank you."));
        assert!(!super::body_is_path("<p>a.html</p>"));
        assert!(!super::body_is_path("see invoice.html"));
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let n = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let d = std::env::temp_dir().join(format!("reckon-templates-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&d).expect("mkdir");
        d
    }
}

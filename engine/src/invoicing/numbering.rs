//! Invoice and credit-memo numbers (04 §7): formats, sequence keys, the defaults, which
//! `numbering` row applies, and the check of callback-returned numbers.

use super::model::{DocumentKind, NumberingRow, Reset};
use super::InvoicingError;
use crate::error::Code;
use crate::model::LegalEntity;
use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// The default format.
pub const DEFAULT_FORMAT: &str = "{prefix}{seq:6}";

/// The widest `{seq:W}` accepted (a u64 has at most 20 digits).
pub const MAX_SEQ_WIDTH: usize = 20;

/// One piece of a format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Token {
    /// Literal text.
    Literal(String),
    /// `{prefix}`.
    Prefix,
    /// `{seq:W}`: the sequence number zero-padded to W digits.
    Seq(usize),
    /// `{year}`: the document date's year.
    Year,
    /// `{legal_entity}`: the legal entity id.
    LegalEntity,
}

/// A parsed `format`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NumberFormat {
    /// The pieces in order.
    pub tokens: Vec<Token>,
}

/// Parse a `format`: literal text and the tokens `{prefix}`, `{seq:W}` (W = 1–20), `{year}`,
/// `{legal_entity}`. Exactly one `{seq:W}` is required (without it every number would be the
/// same); an unknown token, a stray brace or a bad width → `bad_numbering_format`.
pub fn parse_format(format: &str) -> Result<NumberFormat, InvoicingError> {
    let bad = |msg: String| {
        InvoicingError::new(
            Code::BadNumberingFormat,
            "format",
            format!("`{format}`: {msg}"),
        )
    };
    let mut tokens = Vec::new();
    let mut literal = String::new();
    let mut rest = format;
    let mut seqs = 0;
    while let Some(c) = rest.chars().next() {
        match c {
            '{' => {
                let close = rest
                    .find('}')
                    .ok_or_else(|| bad("a `{` without its `}`".into()))?;
                let inner = &rest[1..close];
                let token = match inner {
                    "prefix" => Token::Prefix,
                    "year" => Token::Year,
                    "legal_entity" => Token::LegalEntity,
                    _ => match inner.strip_prefix("seq:") {
                        Some(w) if !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) => {
                            let width: usize = w.parse().unwrap_or(0);
                            if !(1..=MAX_SEQ_WIDTH).contains(&width) {
                                return Err(bad(format!(
                                    "sequence width {w} is not 1–{MAX_SEQ_WIDTH}"
                                )));
                            }
                            seqs += 1;
                            Token::Seq(width)
                        }
                        _ => {
                            return Err(bad(format!(
                                "unknown token `{{{inner}}}` (allowed: {{prefix}}, {{seq:W}}, {{year}}, {{legal_entity}})"
                            )))
                        }
                    },
                };
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(token);
                rest = &rest[close + 1..];
            }
            '}' => return Err(bad("a `}` without its `{`".into())),
            c => {
                literal.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    match seqs {
        1 => Ok(NumberFormat { tokens }),
        0 => Err(bad("no `{seq:W}` token".into())),
        _ => Err(bad("more than one `{seq:W}` token".into())),
    }
}

impl NumberFormat {
    /// Render a number.
    pub fn render(&self, prefix: &str, seq: u64, year: i32, legal_entity: &str) -> String {
        let mut out = String::new();
        for t in &self.tokens {
            match t {
                Token::Literal(s) => out.push_str(s),
                Token::Prefix => out.push_str(prefix),
                Token::Seq(w) => out.push_str(&format!("{seq:0w$}", w = *w)),
                Token::Year => out.push_str(&year.to_string()),
                Token::LegalEntity => out.push_str(legal_entity),
            }
        }
        out
    }
}

/// The key of one gapless sequence: (legal entity, document, prefix, year if `reset: yearly`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct SequenceKey {
    /// Legal entity id.
    pub legal_entity: String,
    /// Document kind.
    pub document: DocumentKind,
    /// Prefix.
    pub prefix: String,
    /// The document date's year under `reset: yearly`.
    pub year: Option<i32>,
}

/// The numbering that applies to one (document, legal entity), with every default filled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Numbering {
    /// Document kind.
    pub document: DocumentKind,
    /// Legal entity id.
    pub legal_entity: String,
    /// Prefix.
    pub prefix: String,
    /// Parsed format.
    pub format: NumberFormat,
    /// First sequence number.
    pub start: u64,
    /// Reset policy.
    pub reset: Reset,
    /// Callback returning the number instead (07), if any.
    pub callback: Option<String>,
}

impl Numbering {
    /// The sequence a document dated `date` draws from.
    pub fn key(&self, date: NaiveDate) -> SequenceKey {
        SequenceKey {
            legal_entity: self.legal_entity.clone(),
            document: self.document,
            prefix: self.prefix.clone(),
            year: (self.reset == Reset::Yearly).then(|| date.year()),
        }
    }

    /// The `i`-th number of a sequence (`i` = 0 for the first: sequence value `start + i`).
    pub fn sequence_value(&self, i: u64) -> u64 {
        self.start.saturating_add(i)
    }

    /// Render the number with sequence value `seq` for a document dated `date`.
    pub fn render(&self, seq: u64, date: NaiveDate) -> String {
        self.format
            .render(&self.prefix, seq, date.year(), &self.legal_entity)
    }
}

/// The default prefix of §7: invoices take the entity's `invoice_number_prefix`, else `INV-`;
/// credit memos `CM-` (the entity's prefix is an *invoice* prefix).
pub fn default_prefix(document: DocumentKind, entity: &LegalEntity) -> String {
    match document {
        DocumentKind::Invoice => entity
            .invoice_number_prefix
            .clone()
            .unwrap_or_else(|| "INV-".into()),
        DocumentKind::CreditMemo => "CM-".into(),
    }
}

/// The numbering for `document` of `entity`: the row naming the entity, else the row without a
/// `legal_entity`, else the defaults; a row's omitted keys take the defaults. Two rows for the
/// same (document, legal entity) → `duplicate_numbering`; a bad format → `bad_numbering_format`.
pub fn resolve(
    rows: &[NumberingRow],
    document: DocumentKind,
    entity: &LegalEntity,
) -> Result<Numbering, InvoicingError> {
    let pick = |named: bool| -> Result<Option<(usize, &NumberingRow)>, InvoicingError> {
        let mut found = rows.iter().enumerate().filter(|(_, r)| {
            r.document == document
                && if named {
                    r.legal_entity.as_deref() == Some(entity.id.as_str())
                } else {
                    r.legal_entity.is_none()
                }
        });
        let first = found.next();
        if let Some((j, _)) = found.next() {
            return Err(duplicate(document, named.then_some(entity.id.as_str())).at_row(j));
        }
        Ok(first)
    };
    let row = match pick(true)? {
        Some(r) => Some(r),
        None => pick(false)?,
    };
    let prefix = row
        .and_then(|(_, r)| r.prefix.clone())
        .unwrap_or_else(|| default_prefix(document, entity));
    let format_text = row
        .and_then(|(_, r)| r.format.as_deref())
        .unwrap_or(DEFAULT_FORMAT);
    let format = parse_format(format_text).map_err(|e| match row {
        Some((i, _)) => e.at_row(i),
        None => e,
    })?;
    Ok(Numbering {
        document,
        legal_entity: entity.id.clone(),
        prefix,
        format,
        start: row.and_then(|(_, r)| r.start).unwrap_or(1),
        reset: row.map(|(_, r)| r.reset).unwrap_or_default(),
        callback: row.and_then(|(_, r)| r.callback.clone()),
    })
}

fn duplicate(document: DocumentKind, entity: Option<&str>) -> InvoicingError {
    let whom = entity.map_or("every legal entity".to_string(), |e| {
        format!("legal entity {e}")
    });
    InvoicingError::new(
        Code::DuplicateNumbering,
        "legal_entity",
        format!("a second numbering row for {document} documents of {whom}"),
    )
}

/// The rules check of the `numbering` table: every format parses, and no two rows share
/// (document, legal entity). Errors carry the row index (the later row for duplicates, with the
/// first in `other`).
pub fn check_numbering(rows: &[NumberingRow]) -> Result<(), Vec<InvoicingError>> {
    let mut out = Vec::new();
    for (j, r) in rows.iter().enumerate() {
        if let Some(f) = &r.format {
            if let Err(e) = parse_format(f) {
                out.push(e.at_row(j));
            }
        }
        if let Some(first) = rows[..j]
            .iter()
            .position(|p| p.document == r.document && p.legal_entity == r.legal_entity)
        {
            out.push(
                duplicate(r.document, r.legal_entity.as_deref())
                    .at_row(j)
                    .with_other(first),
            );
        }
    }
    if out.is_empty() {
        Ok(())
    } else {
        Err(out)
    }
}

/// Check a number returned by a numbering callback: 1–64 characters of `[A-Za-z0-9._/-]`
/// (uniqueness per entity and document is the caller's, against its store) → else
/// `numbering_error`.
pub fn check_callback_number(number: &str) -> Result<(), InvoicingError> {
    let len = number.chars().count();
    let ok_chars = number
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'));
    if (1..=64).contains(&len) && ok_chars {
        Ok(())
    } else {
        let shown: String = number.chars().take(70).collect();
        Err(InvoicingError::new(
            Code::NumberingError,
            "number",
            format!(
                "callback returned `{shown}`: a number is 1–64 characters of A-Z a-z 0-9 . _ / -"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        crate::dates::parse_date(s).unwrap()
    }

    fn entity(id: &str, prefix: Option<&str>) -> LegalEntity {
        LegalEntity {
            id: id.into(),
            name: None,
            currency: "USD".into(),
            invoice_number_prefix: prefix.map(str::to_string),
            revenue_period: None,
        }
    }

    fn row(document: DocumentKind, legal_entity: Option<&str>) -> NumberingRow {
        NumberingRow {
            document,
            legal_entity: legal_entity.map(str::to_string),
            prefix: None,
            format: None,
            start: None,
            reset: Reset::Never,
            callback: None,
        }
    }

    #[test]
    fn num_gapless_number_strings() {
        // A INV-000001, C INV-000002, B (after its fix) INV-000003, the next INV-000004: the
        // sequence values 1…4 of the default numbering.
        let n = resolve(&[], DocumentKind::Invoice, &entity("US1", None)).unwrap();
        let got: Vec<String> = (0..4)
            .map(|i| n.render(n.sequence_value(i), d("2016-03-06")))
            .collect();
        assert_eq!(
            got,
            ["INV-000001", "INV-000002", "INV-000003", "INV-000004"]
        );
    }

    #[test]
    fn defaults_of_section_7() {
        let e = entity("US1", Some("ACME-"));
        let inv = resolve(&[], DocumentKind::Invoice, &e).unwrap();
        assert_eq!(inv.prefix, "ACME-");
        assert_eq!(
            (inv.start, inv.reset, inv.callback.clone()),
            (1, Reset::Never, None)
        );
        assert_eq!(inv.render(1, d("2016-01-01")), "ACME-000001");
        let cm = resolve(&[], DocumentKind::CreditMemo, &entity("US1", None)).unwrap();
        assert_eq!(cm.render(12, d("2016-01-01")), "CM-000012");
        assert_eq!(
            resolve(&[], DocumentKind::Invoice, &entity("US1", None))
                .unwrap()
                .prefix,
            "INV-"
        );
        // A row's omitted keys take the same defaults.
        let mut r = row(DocumentKind::Invoice, None);
        r.start = Some(500);
        let n = resolve(&[r], DocumentKind::Invoice, &e).unwrap();
        assert_eq!((n.prefix.as_str(), n.start), ("ACME-", 500));
        assert_eq!(
            n.render(n.sequence_value(0), d("2016-01-01")),
            "ACME-000500"
        );
    }

    #[test]
    fn formats_and_keys() {
        let f = parse_format("{legal_entity}/{prefix}{year}-{seq:4}").unwrap();
        assert_eq!(f.render("INV-", 7, 2016, "US1"), "US1/INV-2016-0007");
        assert_eq!(
            f.render("INV-", 123_456, 2016, "US1"),
            "US1/INV-2016-123456"
        );
        let mut r = row(DocumentKind::Invoice, Some("US1"));
        r.reset = Reset::Yearly;
        r.prefix = Some("X".into());
        let n = resolve(&[r], DocumentKind::Invoice, &entity("US1", None)).unwrap();
        assert_eq!(
            n.key(d("2016-12-31")),
            SequenceKey {
                legal_entity: "US1".into(),
                document: DocumentKind::Invoice,
                prefix: "X".into(),
                year: Some(2016)
            }
        );
        assert_ne!(n.key(d("2016-12-31")), n.key(d("2017-01-01")));
        let never = resolve(&[], DocumentKind::Invoice, &entity("US1", None)).unwrap();
        assert_eq!(never.key(d("2016-12-31")), never.key(d("2017-01-01")));
        assert_eq!(never.key(d("2016-01-01")).year, None);
    }

    #[test]
    fn bad_formats() {
        for f in [
            "{prefix}",
            "{prefix}{seq}",
            "{prefix}{seq:0}",
            "{prefix}{seq:21}",
            "{prefix}{seq:x}",
            "{prefix}{seq:6}{seq:2}",
            "{prefix}{sequence:6}",
            "{prefix{seq:6}",
            "{prefix}{seq:6",
            "INV}{seq:6}",
            "{Year}{seq:6}",
        ] {
            let e = parse_format(f).unwrap_err();
            assert_eq!(e.code, Code::BadNumberingFormat, "{f}");
        }
        assert!(parse_format("{seq:1}").is_ok());
        assert!(parse_format("Rechnung-{year}-{seq:5}").is_ok());
    }

    #[test]
    fn which_row_applies() {
        let mut any = row(DocumentKind::Invoice, None);
        any.prefix = Some("ANY-".into());
        let mut us1 = row(DocumentKind::Invoice, Some("US1"));
        us1.prefix = Some("US-".into());
        let mut cm = row(DocumentKind::CreditMemo, None);
        cm.callback = Some("numbers".into());
        let rows = vec![any, us1, cm];
        assert!(check_numbering(&rows).is_ok());
        let e1 = entity("US1", Some("ACME-"));
        let e2 = entity("UK1", None);
        assert_eq!(
            resolve(&rows, DocumentKind::Invoice, &e1).unwrap().prefix,
            "US-"
        );
        assert_eq!(
            resolve(&rows, DocumentKind::Invoice, &e2).unwrap().prefix,
            "ANY-"
        );
        let c = resolve(&rows, DocumentKind::CreditMemo, &e2).unwrap();
        assert_eq!(
            (c.prefix.as_str(), c.callback.as_deref()),
            ("CM-", Some("numbers"))
        );
    }

    #[test]
    fn duplicate_rows() {
        let rows = vec![
            row(DocumentKind::Invoice, Some("US1")),
            row(DocumentKind::CreditMemo, Some("US1")),
            row(DocumentKind::Invoice, Some("US1")),
        ];
        let e = check_numbering(&rows).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].code, e[0].row, e[0].other),
            (Code::DuplicateNumbering, Some(2), Some(0))
        );
        let e = resolve(&rows, DocumentKind::Invoice, &entity("US1", None)).unwrap_err();
        assert_eq!(e.code, Code::DuplicateNumbering);
        let rows = vec![
            row(DocumentKind::Invoice, None),
            row(DocumentKind::Invoice, None),
        ];
        assert_eq!(
            check_numbering(&rows).unwrap_err()[0].code,
            Code::DuplicateNumbering
        );
        let mut bad = row(DocumentKind::Invoice, None);
        bad.format = Some("{nope}".into());
        let e = check_numbering(&[bad.clone()]).unwrap_err();
        assert_eq!((e[0].code, e[0].row), (Code::BadNumberingFormat, Some(0)));
        assert_eq!(
            resolve(&[bad], DocumentKind::Invoice, &entity("US1", None))
                .unwrap_err()
                .code,
            Code::BadNumberingFormat
        );
    }

    #[test]
    fn callback_numbers() {
        for ok in ["A", "INV-2016/0001", "a.b_c-d/9", &"x".repeat(64)] {
            assert!(check_callback_number(ok).is_ok(), "{ok}");
        }
        for bad in ["", "INV 1", "INV#1", "Ünï", &"x".repeat(65), "a\n"] {
            let e = check_callback_number(bad).unwrap_err();
            assert_eq!(e.code, Code::NumberingError, "{bad:?}");
        }
    }
}

//! A small declarative schema for YAML documents. One table drives three things: validation
//! that reports *every* error with its position, the JSON Schema published by
//! `reckon rules schema`, and the field docs.

use crate::dates::{parse_date, MONTHS};
use crate::money::minor_units;
use crate::yaml::{Kind, Node, Pos};
use rust_decimal::Decimal;
use serde_json::{json, Value as Json};
use std::str::FromStr;

/// The type of a value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Any non-empty text (a plain number is accepted as text).
    Text,
    /// `true` / `false`.
    Bool,
    /// An integer in `[min, max]`.
    Int(i64, i64),
    /// A decimal money amount (string or number); `true` = must be ≥ 0.
    Money(bool),
    /// A decimal in `[min, max]` (bounds as strings, empty = open).
    Decimal(&'static str, &'static str),
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM`.
    YearMonth,
    /// `HH:MM`.
    Time,
    /// An ISO 4217 code.
    Currency,
    /// `january` … `december`.
    Month,
    /// One of the listed words.
    Enum(&'static [&'static str]),
    /// The first alternative that matches.
    Either(&'static [Ty]),
    /// A list of values.
    List(&'static Ty),
    /// A map whose keys are free text.
    Map(&'static Ty),
    /// A map with the listed keys only.
    Obj(&'static [Field]),
    /// Any value (validated elsewhere).
    Any,
}

/// One key of an [`Ty::Obj`].
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// The key.
    pub name: &'static str,
    /// Its type.
    pub ty: Ty,
    /// Must be present.
    pub required: bool,
    /// One line of documentation (goes into the JSON Schema).
    pub doc: &'static str,
}

/// A required key.
pub const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: true,
        doc,
    }
}

/// An optional key.
pub const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        name,
        ty,
        required: false,
        doc,
    }
}

/// A validation finding: where, which field, what was found and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A snake_case error code (`unknown_key`, `bad_value`, `missing_key`, …).
    pub code: &'static str,
    /// Position of the offending node.
    pub pos: Pos,
    /// Field path, e.g. `products[3].billing_rule`.
    pub path: String,
    /// What was found.
    pub found: String,
    /// What is allowed there.
    pub allowed: String,
}

impl Ty {
    /// A short human description of what the type accepts.
    pub fn describe(&self) -> String {
        match self {
            Ty::Text => "text".into(),
            Ty::Bool => "true or false".into(),
            Ty::Int(min, max) => format!("an integer from {min} to {max}"),
            Ty::Money(true) => "an amount ≥ 0 (decimal string or number)".into(),
            Ty::Money(false) => "an amount (decimal string or number)".into(),
            Ty::Decimal(min, max) => match (min.is_empty(), max.is_empty()) {
                (true, true) => "a decimal number".into(),
                (false, true) => format!("a decimal ≥ {min}"),
                (true, false) => format!("a decimal ≤ {max}"),
                (false, false) => format!("a decimal from {min} to {max}"),
            },
            Ty::Date => "a date YYYY-MM-DD".into(),
            Ty::YearMonth => "a month YYYY-MM".into(),
            Ty::Time => "a time HH:MM".into(),
            Ty::Currency => "an ISO 4217 currency code (USD, EUR, JPY, …)".into(),
            Ty::Month => "a month name (january … december)".into(),
            Ty::Enum(words) => format!("one of {}", words.join(", ")),
            Ty::Either(alts) => alts
                .iter()
                .map(Ty::describe)
                .collect::<Vec<_>>()
                .join(", or "),
            Ty::List(item) => format!("a list of {}", item.describe()),
            Ty::Map(_) => "a map".into(),
            Ty::Obj(fields) => {
                let keys: Vec<_> = fields.iter().map(|f| f.name).collect();
                format!("a map with keys {}", keys.join(", "))
            }
            Ty::Any => "any value".into(),
        }
    }

    /// Validate `node`, appending every finding.
    pub fn check(&self, node: &Node, path: &str, out: &mut Vec<Finding>) {
        let bad = |out: &mut Vec<Finding>| {
            out.push(Finding {
                code: "bad_value",
                pos: node.pos,
                path: path.to_string(),
                found: node.describe(),
                allowed: self.describe(),
            })
        };
        let scalar = node.as_str();
        let plain = matches!(node.kind, Kind::Scalar { plain: true, .. });
        match self {
            Ty::Any => {}
            Ty::Text => {
                if scalar.is_none_or(|s| s.trim().is_empty()) {
                    bad(out)
                }
            }
            Ty::Bool => {
                if !(plain && matches!(scalar, Some("true") | Some("false"))) {
                    bad(out)
                }
            }
            Ty::Int(min, max) => match scalar.filter(|_| plain).and_then(|s| s.parse::<i64>().ok())
            {
                Some(v) if v >= *min && v <= *max => {}
                _ => bad(out),
            },
            Ty::Money(non_negative) => match scalar.and_then(parse_decimal) {
                Some(v) if !non_negative || v >= Decimal::ZERO => {}
                _ => bad(out),
            },
            Ty::Decimal(min, max) => match scalar.and_then(parse_decimal) {
                Some(v)
                    if (min.is_empty() || v >= Decimal::from_str(min).unwrap_or(v))
                        && (max.is_empty() || v <= Decimal::from_str(max).unwrap_or(v)) => {}
                _ => bad(out),
            },
            Ty::Date => {
                if scalar.and_then(parse_date).is_none() {
                    bad(out)
                }
            }
            Ty::YearMonth => {
                if scalar
                    .and_then(|s| parse_date(&format!("{s}-01")))
                    .is_none()
                {
                    bad(out)
                }
            }
            Ty::Time => {
                let ok = scalar.is_some_and(|s| {
                    s.len() == 5
                        && s.as_bytes()[2] == b':'
                        && s[..2].parse::<u32>().is_ok_and(|h| h < 24)
                        && s[3..].parse::<u32>().is_ok_and(|m| m < 60)
                });
                if !ok {
                    bad(out)
                }
            }
            Ty::Currency => {
                if scalar.and_then(minor_units).is_none() {
                    bad(out)
                }
            }
            Ty::Month => {
                if !scalar.is_some_and(|s| MONTHS.contains(&s)) {
                    bad(out)
                }
            }
            Ty::Enum(words) => {
                if !scalar.is_some_and(|s| words.contains(&s)) {
                    let hint = scalar.and_then(|s| suggest(s, words.iter().copied()));
                    out.push(Finding {
                        code: "bad_value",
                        pos: node.pos,
                        path: path.to_string(),
                        found: node.describe(),
                        allowed: match hint {
                            Some(h) => format!("{} (did you mean `{h}`?)", self.describe()),
                            None => self.describe(),
                        },
                    })
                }
            }
            Ty::Either(alts) => {
                let mut best: Option<Vec<Finding>> = None;
                for alt in *alts {
                    let mut scratch = Vec::new();
                    alt.check(node, path, &mut scratch);
                    if scratch.is_empty() {
                        return;
                    }
                    // Keep the findings of a structured alternative whose shape matched.
                    let shape_matches = matches!(
                        (alt, &node.kind),
                        (Ty::Obj(_), Kind::Map(_)) | (Ty::List(_), Kind::Seq(_))
                    );
                    if shape_matches && best.is_none() {
                        best = Some(scratch);
                    }
                }
                match best {
                    Some(findings) => out.extend(findings),
                    None => bad(out),
                }
            }
            Ty::List(item) => match node.as_seq() {
                Some(items) => {
                    for (i, it) in items.iter().enumerate() {
                        item.check(it, &format!("{path}[{i}]"), out);
                    }
                }
                None => bad(out),
            },
            Ty::Map(value) => match node.as_map() {
                Some(entries) => {
                    for (k, v) in entries {
                        let key = k.as_str().unwrap_or_default();
                        value.check(v, &join(path, key), out);
                    }
                }
                None => bad(out),
            },
            Ty::Obj(fields) => check_obj(fields, node, path, out),
        }
    }

    /// The JSON Schema of this type.
    pub fn json_schema(&self) -> Json {
        match self {
            Ty::Text => json!({"type": ["string", "number"]}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Int(min, max) => json!({"type": "integer", "minimum": min, "maximum": max}),
            Ty::Money(nn) => {
                let pattern = if *nn {
                    r"^(0|[1-9][0-9]*)(\.[0-9]+)?$"
                } else {
                    r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$"
                };
                json!({"type": ["string", "number"], "pattern": pattern})
            }
            Ty::Decimal(..) => json!({"type": ["string", "number"]}),
            Ty::Date => json!({"type": "string", "format": "date"}),
            Ty::YearMonth => json!({"type": "string", "pattern": r"^[0-9]{4}-[0-9]{2}$"}),
            Ty::Time => json!({"type": "string", "pattern": r"^[0-2][0-9]:[0-5][0-9]$"}),
            Ty::Currency => json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
            Ty::Month => json!({"enum": MONTHS}),
            Ty::Enum(words) => json!({"enum": words}),
            Ty::Either(alts) => {
                json!({"anyOf": alts.iter().map(Ty::json_schema).collect::<Vec<_>>()})
            }
            Ty::List(item) => json!({"type": "array", "items": item.json_schema()}),
            Ty::Map(value) => {
                json!({"type": "object", "additionalProperties": value.json_schema()})
            }
            Ty::Obj(fields) => {
                let props: serde_json::Map<String, Json> = fields
                    .iter()
                    .map(|f| {
                        let mut s = f.ty.json_schema();
                        if let Some(o) = s.as_object_mut() {
                            o.insert("description".into(), json!(f.doc));
                        }
                        (f.name.to_string(), s)
                    })
                    .collect();
                let required: Vec<_> = fields
                    .iter()
                    .filter(|f| f.required)
                    .map(|f| f.name)
                    .collect();
                json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
            }
            Ty::Any => json!({}),
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn check_obj(fields: &[Field], node: &Node, path: &str, out: &mut Vec<Finding>) {
    let Some(entries) = node.as_map() else {
        out.push(Finding {
            code: "bad_value",
            pos: node.pos,
            path: path.to_string(),
            found: node.describe(),
            allowed: format!("a map with keys {}", keys_of(fields)),
        });
        return;
    };
    for (k, v) in entries {
        let key = k.as_str().unwrap_or_default();
        match fields.iter().find(|f| f.name == key) {
            Some(f) => f.ty.check(v, &join(path, key), out),
            None => out.push(Finding {
                code: "unknown_key",
                pos: k.pos,
                path: join(path, key),
                found: format!("key `{key}`"),
                allowed: match suggest(key, fields.iter().map(|f| f.name)) {
                    Some(h) => format!("one of {} (did you mean `{h}`?)", keys_of(fields)),
                    None => format!("one of {}", keys_of(fields)),
                },
            }),
        }
    }
    for f in fields.iter().filter(|f| f.required) {
        if !entries.iter().any(|(k, _)| k.as_str() == Some(f.name)) {
            out.push(Finding {
                code: "missing_key",
                pos: node.pos,
                path: join(path, f.name),
                found: "nothing".into(),
                allowed: f.ty.describe(),
            });
        }
    }
}

fn keys_of(fields: &[Field]) -> String {
    fields.iter().map(|f| f.name).collect::<Vec<_>>().join(", ")
}

/// The closest candidate within a small edit distance, for "did you mean" hints.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 4).clamp(1, 3);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = if ca == *cb {
                prev
            } else {
                1 + prev.min(row[j]).min(row[j + 1])
            };
            prev = cur;
        }
    }
    row[b.len()]
}

/// Parse a decimal written as in rule files: `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, no exponent, ≤ 28 digits.
pub fn parse_decimal(s: &str) -> Option<Decimal> {
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let int_ok = int == "0"
        || (!int.is_empty() && !int.starts_with('0') && int.bytes().all(|b| b.is_ascii_digit()));
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()));
    if !int_ok || !frac_ok || int.len() + frac.map_or(0, str::len) > 28 {
        return None;
    }
    Decimal::from_str(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    const COLOR: Ty = Ty::Enum(&["red", "green"]);
    const THING: Ty = Ty::Obj(&[
        req("name", Ty::Text, ""),
        opt("color", COLOR, ""),
        opt("n", Ty::Int(1, 31), ""),
    ]);

    #[test]
    fn every_error_is_reported_with_its_position() {
        let doc =
            &parse("- name: a\n  colour: red\n- name: b\n  color: blue\n  n: 40\n- color: red\n")
                .unwrap()[0];
        let mut out = Vec::new();
        Ty::List(&THING).check(doc, "things", &mut out);
        let got: Vec<_> = out
            .iter()
            .map(|f| (f.code, f.path.as_str(), f.pos.line, f.pos.col))
            .collect();
        assert_eq!(
            got,
            vec![
                ("unknown_key", "things[0].colour", 2, 3),
                ("bad_value", "things[1].color", 4, 10),
                ("bad_value", "things[1].n", 5, 6),
                ("missing_key", "things[2].name", 6, 3),
            ]
        );
        assert_eq!(out[1].allowed, "one of red, green");
    }

    #[test]
    fn near_misses_get_a_hint() {
        let doc = &parse("name: a\ncolr: red\n").unwrap()[0];
        let mut out = Vec::new();
        THING.check(doc, "t", &mut out);
        assert!(
            out[0].allowed.ends_with("(did you mean `color`?)"),
            "{:?}",
            out[0]
        );
        assert_eq!(
            suggest(
                "billing_frequncy",
                ["billing_frequency", "billing_rule"].into_iter()
            ),
            Some("billing_frequency")
        );
        assert_eq!(suggest("zzz", ["billing_frequency"].into_iter()), None);
    }

    #[test]
    fn decimals_follow_the_contract_grammar() {
        for ok in ["0", "1", "-1.50", "100.00", "0.001"] {
            assert!(parse_decimal(ok).is_some(), "{ok}");
        }
        for bad in ["", "01", "1.", ".5", "+1", "1e3", "1,5", "--1"] {
            assert!(parse_decimal(bad).is_none(), "{bad}");
        }
    }
}

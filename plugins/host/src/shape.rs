//! The shapes of the seven outputs in the contract's JSON mapping (07 §3), used to check what a
//! Rhai script returns before it is decoded: `wrong_type`, `missing_field`, `unknown_field`, with
//! the JSON path.

use crate::point::Point;
use serde_json::Value;

/// A JSON shape.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A string.
    Str,
    /// A list.
    List(&'static Shape),
    /// `null` or the inner shape.
    Opt(&'static Shape),
    /// One of the words.
    Enum(&'static [&'static str]),
    /// A record with exactly these fields.
    Record(&'static [(&'static str, Shape)]),
}

const MONEY: Shape = Shape::Record(&[("amount", Shape::Str), ("currency", Shape::Str)]);
const BREAKUP: Shape = Shape::Record(&[
    (
        "level",
        Shape::Enum(&["country", "state", "county", "city", "district"]),
    ),
    ("name", Shape::Str),
    ("rate", Shape::Str),
    ("tax", MONEY),
]);
const LINE_TAX: Shape = Shape::Record(&[
    ("line_id", Shape::Str),
    ("tax", MONEY),
    ("breakups", Shape::List(&BREAKUP)),
]);
const LINE_GROUP: Shape =
    Shape::Record(&[("key", Shape::Str), ("line_ids", Shape::List(&Shape::Str))]);
const LINE_AMOUNT: Shape = Shape::Record(&[("line_id", Shape::Str), ("amount", MONEY)]);
const PLAN: Shape = Shape::Record(&[
    ("key", Shape::Str),
    ("existing", Shape::Opt(&Shape::Str)),
    ("candidate_ids", Shape::List(&Shape::Str)),
    ("revenue_policy", Shape::Opt(&Shape::Str)),
]);

/// The output shape of a point.
pub fn output(point: Point) -> Shape {
    match point {
        Point::Tax => Shape::List(&LINE_TAX),
        Point::InvoiceGrouping => Shape::List(&LINE_GROUP),
        Point::InvoiceNumbering => Shape::Str,
        Point::InvoiceRunFilter => Shape::List(&Shape::Str),
        Point::TransactionPrice | Point::RevenueAllocation => Shape::List(&LINE_AMOUNT),
        Point::ObligationMerge => Shape::List(&PLAN),
    }
}

/// A shape violation: `(reason, path, message)`.
pub type Mismatch = (&'static str, String, String);

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a map",
    }
}

/// Where a value sits in the output; rendered only when a check fails.
#[derive(Clone, Copy)]
enum At<'a> {
    Root(&'a str),
    Index(&'a At<'a>, usize),
    Field(&'a At<'a>, &'a str),
}

impl At<'_> {
    fn render(&self) -> String {
        match self {
            At::Root(p) => (*p).to_string(),
            At::Index(parent, i) => format!("{}[{i}]", parent.render()),
            At::Field(parent, name) => {
                let p = parent.render();
                if p.is_empty() {
                    (*name).to_string()
                } else {
                    format!("{p}.{name}")
                }
            }
        }
    }
}

/// Check `v` against `shape`; the first mismatch in document order.
pub fn check(shape: &Shape, v: &Value, path: &str) -> Result<(), Mismatch> {
    check_at(shape, v, &At::Root(path))
}

fn check_at(shape: &Shape, v: &Value, at: &At<'_>) -> Result<(), Mismatch> {
    let wrong = |want: &str| {
        Err((
            "wrong_type",
            at.render(),
            format!("expected {want}, found {}", kind(v)),
        ))
    };
    match shape {
        Shape::Str => match v {
            Value::String(_) => Ok(()),
            _ => wrong("a string"),
        },
        Shape::Enum(words) => match v {
            Value::String(s) if words.contains(&s.as_str()) => Ok(()),
            Value::String(s) => Err((
                "wrong_type",
                at.render(),
                format!("expected one of {}, found `{s}`", words.join(", ")),
            )),
            _ => wrong("a string"),
        },
        Shape::Opt(inner) => match v {
            Value::Null => Ok(()),
            _ => check_at(inner, v, at),
        },
        Shape::List(item) => match v {
            Value::Array(items) => {
                for (i, it) in items.iter().enumerate() {
                    check_at(item, it, &At::Index(at, i))?;
                }
                Ok(())
            }
            _ => wrong("an array"),
        },
        Shape::Record(fields) => match v {
            Value::Object(map) => {
                for (name, s) in *fields {
                    let field = At::Field(at, name);
                    match map.get(*name) {
                        Some(fv) => check_at(s, fv, &field)?,
                        None if matches!(s, Shape::Opt(_)) => {}
                        None => {
                            return Err((
                                "missing_field",
                                field.render(),
                                format!("missing field `{name}`"),
                            ))
                        }
                    }
                }
                if let Some(k) = map.keys().find(|k| !fields.iter().any(|(n, _)| n == k)) {
                    return Err((
                        "unknown_field",
                        At::Field(at, k).render(),
                        format!("unknown field `{k}`"),
                    ));
                }
                Ok(())
            }
            _ => wrong("a map"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reasons_and_paths() {
        let s = output(Point::Tax);
        let ok =
            json!([{"line_id": "a", "tax": {"amount": "1.00", "currency": "USD"}, "breakups": []}]);
        assert!(check(&s, &ok, "").is_ok());
        let missing = json!([{"line_id": "a", "breakups": []}]);
        assert_eq!(check(&s, &missing, "").unwrap_err().0, "missing_field");
        let extra = json!([{"line_id": "a", "tax": {"amount": "1", "currency": "USD"}, "breakups": [], "x": 1}]);
        assert_eq!(check(&s, &extra, "").unwrap_err().1, "[0].x");
        let wrong = json!("nope");
        assert_eq!(check(&s, &wrong, "").unwrap_err().0, "wrong_type");
    }
}

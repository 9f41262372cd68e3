//! Invoice-run filters (04 §2.2): the `filter_logic` expression, its checks and evaluation, and
//! the comparison of one row against a field value.

use super::model::{FilterObject, FilterOp, FilterRow, FilterValue};
use super::InvoicingError;
use crate::dates::parse_date;
use crate::error::Code;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;
use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::str::FromStr;

/// A parsed `filter_logic` expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Expr {
    /// A row number.
    Row(u32),
    /// `NOT e`.
    Not(Box<Expr>),
    /// `a AND b AND …`.
    And(Vec<Expr>),
    /// `a OR b OR …`.
    Or(Vec<Expr>),
}

impl Expr {
    /// Evaluate with `row(n)` giving each row's result (rows are evaluated lazily, left to right).
    pub fn eval(&self, row: &mut impl FnMut(u32) -> bool) -> bool {
        match self {
            Expr::Row(n) => row(*n),
            Expr::Not(e) => !e.eval(row),
            Expr::And(es) => es.iter().all(|e| e.eval(row)),
            Expr::Or(es) => es.iter().any(|e| e.eval(row)),
        }
    }

    /// Every row number the expression names.
    pub fn rows(&self, out: &mut BTreeSet<u32>) {
        match self {
            Expr::Row(n) => {
                out.insert(*n);
            }
            Expr::Not(e) => e.rows(out),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.rows(out)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Num(u32),
    And,
    Or,
    Not,
    Open,
    Close,
}

fn bad(logic: &str, msg: impl std::fmt::Display) -> InvoicingError {
    InvoicingError::new(
        Code::BadFilterLogic,
        "filter_logic",
        format!("`{logic}`: {msg}"),
    )
}

fn lex(logic: &str) -> Result<Vec<Tok>, InvoicingError> {
    let mut out = Vec::new();
    let chars: Vec<char> = logic.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '(' {
            out.push(Tok::Open);
            i += 1;
        } else if c == ')' {
            out.push(Tok::Close);
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse::<u32>()
                .map_err(|_| bad(logic, format!("row number {text} is too large")))?;
            out.push(Tok::Num(n));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_alphanumeric() {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            out.push(match word.to_ascii_uppercase().as_str() {
                "AND" => Tok::And,
                "OR" => Tok::Or,
                "NOT" => Tok::Not,
                _ => return Err(bad(logic, format!("unknown word `{word}`"))),
            });
        } else {
            return Err(bad(logic, format!("unexpected `{c}`")));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    logic: &'a str,
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    /// expr := unary ((AND unary)* | (OR unary)*)
    fn expr(&mut self) -> Result<Expr, InvoicingError> {
        let first = self.unary()?;
        let op = match self.peek() {
            Some(Tok::And) => Tok::And,
            Some(Tok::Or) => Tok::Or,
            _ => return Ok(first),
        };
        let mut items = vec![first];
        while let Some(t) = self.peek() {
            match t {
                Tok::And | Tok::Or if *t == op => {
                    self.pos += 1;
                    items.push(self.unary()?);
                }
                Tok::And | Tok::Or => {
                    return Err(InvoicingError::new(
                        Code::AmbiguousFilterLogic,
                        "filter_logic",
                        format!(
                            "`{}`: AND and OR are mixed at one level; add parentheses",
                            self.logic
                        ),
                    ))
                }
                _ => break,
            }
        }
        Ok(if op == Tok::And {
            Expr::And(items)
        } else {
            Expr::Or(items)
        })
    }

    /// unary := NOT unary | '(' expr ')' | NUMBER
    fn unary(&mut self) -> Result<Expr, InvoicingError> {
        let t = self.peek().cloned();
        self.pos += 1;
        match t {
            Some(Tok::Not) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Tok::Num(n)) => Ok(Expr::Row(n)),
            Some(Tok::Open) => {
                let e = self.expr()?;
                match self.peek() {
                    Some(Tok::Close) => {
                        self.pos += 1;
                        Ok(e)
                    }
                    _ => Err(bad(self.logic, "a `(` without its `)`")),
                }
            }
            Some(Tok::Close) => Err(bad(self.logic, "unexpected `)`")),
            Some(Tok::And) | Some(Tok::Or) => {
                Err(bad(self.logic, "AND / OR needs a row or group before it"))
            }
            None => Err(bad(self.logic, "the expression ends too early")),
        }
    }
}

/// Parse `filter_logic` (row numbers, `AND`, `OR`, `NOT`, parentheses; keywords in any case).
/// Mixing AND and OR at one level without parentheses → `ambiguous_filter_logic`; any other
/// syntax problem → `bad_filter_logic`.
pub fn parse_logic(logic: &str) -> Result<Expr, InvoicingError> {
    let toks = lex(logic)?;
    if toks.is_empty() {
        return Err(bad(logic, "the expression is empty"));
    }
    let mut p = Parser {
        logic,
        toks,
        pos: 0,
    };
    let e = p.expr()?;
    match p.peek() {
        None => Ok(e),
        Some(Tok::Close) => Err(bad(logic, "a `)` without its `(`")),
        Some(_) => Err(bad(
            logic,
            "two rows or groups without AND / OR between them",
        )),
    }
}

/// A run's compiled filter: the expression over its row numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Filter {
    /// `None` when the run has no rows: every schedule passes.
    pub expr: Option<Expr>,
}

impl Filter {
    /// Whether a schedule passes, given each row's result.
    pub fn passes(&self, mut row: impl FnMut(u32) -> bool) -> bool {
        self.expr.as_ref().is_none_or(|e| e.eval(&mut row))
    }
}

/// Compile a run's filter from its row numbers and `filter_logic`: absent logic = all rows
/// ANDed (in row order); no rows and no logic = pass. A number not among the rows →
/// `unknown_filter_row`; a row not in the logic → `filter_row_unreferenced`; a row number used
/// twice → `bad_filter_logic`. Every problem found is returned.
pub fn compile(rows: &[u32], logic: Option<&str>) -> Result<Filter, Vec<InvoicingError>> {
    let mut errors = Vec::new();
    let mut defined = BTreeSet::new();
    for (i, n) in rows.iter().enumerate() {
        if !defined.insert(*n) {
            errors.push(InvoicingError::new(
                Code::BadFilterLogic,
                format!("filters[{i}].n"),
                format!("row number {n} is used twice; n is unique within the run"),
            ));
        }
    }
    let expr = match logic {
        None if rows.is_empty() => None,
        None => Some(Expr::And(defined.iter().map(|n| Expr::Row(*n)).collect())),
        Some(text) => match parse_logic(text) {
            Ok(e) => {
                let mut used = BTreeSet::new();
                e.rows(&mut used);
                for n in used.difference(&defined) {
                    errors.push(InvoicingError::new(
                        Code::UnknownFilterRow,
                        "filter_logic",
                        format!("`{text}` names row {n}, which the run does not define"),
                    ));
                }
                for n in defined.difference(&used) {
                    errors.push(InvoicingError::new(
                        Code::FilterRowUnreferenced,
                        "filter_logic",
                        format!("row {n} does not appear in `{text}`"),
                    ));
                }
                Some(e)
            }
            Err(e) => {
                errors.push(e);
                None
            }
        },
    };
    if errors.is_empty() {
        Ok(Filter { expr })
    } else {
        Err(errors)
    }
}

/// The scalar fields of each filter object (01), for `unknown_filter_field`.
pub fn known_fields(object: FilterObject) -> &'static [&'static str] {
    match object {
        FilterObject::Account => &[
            "id",
            "name",
            "currency",
            "parent",
            "billing_preference",
            "payment_term",
            "billing_day_of_month",
            "calendar_cycle_start",
            "invoice_template",
            "credit_memo_template",
            "statement_template",
            "invoice_email_template",
            "credit_memo_email_template",
            "legal_entity",
            "late_fee_policy",
            "auto_apply",
            "last_invoice_through",
        ],
        FilterObject::Location => &[
            "id",
            "name",
            "line1",
            "line2",
            "city",
            "county",
            "country",
            "postal_code",
            "region",
            "billing_preference",
            "payment_term",
            "invoice_separately",
            "invoice_template",
            "credit_memo_template",
            "statement_template",
            "invoice_email_template",
            "credit_memo_email_template",
            "late_fee_policy",
        ],
        FilterObject::Product => &[
            "code",
            "name",
            "price_type",
            "list_price",
            "selling_frequency",
            "billing_frequency",
            "billing_rule",
            "ready_for_invoice_offset_days",
            "taxable",
            "tax_inclusive",
            "tax_code",
            "bundle_invoice_level",
            "usage_tiers",
            "billing_plan",
            "usage_frequency",
            "usage_tiers_modifiable",
            "unit_of_measure",
            "included_quantity",
            "quantity_scale",
            "quantity_rounding",
            "revenue_policy",
            "split_merge_policy",
            "ssp",
        ],
        FilterObject::Order => &[
            "id",
            "account",
            "location",
            "order_date",
            "ready_for_billing_date",
            "ready_for_revenue_date",
            "billing_preference",
            "payment_term",
        ],
    }
}

/// The rules checks of a run's filters: every field row names a known scalar field
/// (`unknown_filter_field`), ops other than `is_empty` have a value and `is_empty` none
/// (`bad_filter_logic`), and the logic compiles ([`compile`]).
pub fn check_filters(
    rows: &[FilterRow],
    logic: Option<&str>,
) -> Result<Filter, Vec<InvoicingError>> {
    let mut errors = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if let FilterRow::Field {
            n,
            object,
            field,
            op,
            value,
        } = r
        {
            if !known_fields(*object).contains(&field.as_str()) {
                errors.push(InvoicingError::new(
                    Code::UnknownFilterField,
                    format!("filters[{i}].field"),
                    format!(
                        "row {n}: {object} has no scalar field `{field}` (one of {})",
                        known_fields(*object).join(", ")
                    ),
                ));
            }
            match (op, value) {
                (FilterOp::IsEmpty, Some(_)) => errors.push(InvoicingError::new(
                    Code::BadFilterLogic,
                    format!("filters[{i}].value"),
                    format!("row {n}: is_empty takes no value"),
                )),
                (FilterOp::IsEmpty, None) => {}
                (_, None) => errors.push(InvoicingError::new(
                    Code::BadFilterLogic,
                    format!("filters[{i}].value"),
                    format!("row {n}: {op} needs a value"),
                )),
                (FilterOp::In, Some(_)) => {}
                (_, Some(FilterValue::List(_))) => errors.push(InvoicingError::new(
                    Code::BadFilterLogic,
                    format!("filters[{i}].value"),
                    format!("row {n}: a list value is for `in` only"),
                )),
                _ => {}
            }
        }
    }
    let numbers: Vec<u32> = rows.iter().map(FilterRow::n).collect();
    match compile(&numbers, logic) {
        Ok(f) if errors.is_empty() => Ok(f),
        Ok(_) => Err(errors),
        Err(e) => {
            errors.extend(e);
            Err(errors)
        }
    }
}

/// A record's field value as the filter sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Scalar {
    /// Text (compared case-insensitively; text that reads as a date or number on both sides is
    /// compared by value).
    Text(String),
    /// A number.
    Number(Decimal),
    /// A date.
    Date(NaiveDate),
    /// A boolean (compared with `true` / `false`).
    Bool(bool),
}

impl Scalar {
    /// A YAML scalar as a filter value (`None` for null, lists and maps).
    pub fn from_yaml(v: &serde_yaml::Value) -> Option<Scalar> {
        match v {
            serde_yaml::Value::String(s) => Some(Scalar::Text(s.clone())),
            serde_yaml::Value::Bool(b) => Some(Scalar::Bool(*b)),
            serde_yaml::Value::Number(n) => n
                .as_i64()
                .map(Decimal::from)
                .or_else(|| Decimal::from_str(&n.to_string()).ok())
                .map(Scalar::Number),
            _ => None,
        }
    }

    fn text(&self) -> String {
        match self {
            Scalar::Text(s) => s.clone(),
            Scalar::Number(d) => d.normalize().to_string(),
            Scalar::Date(d) => d.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }
    }
}

fn number(s: &str) -> Option<Decimal> {
    Decimal::from_str(s.trim()).ok()
}

/// Compare a field with one row value: dates and numbers by value, booleans as words, text
/// case-insensitively. `None` when the two cannot be compared (a number against a word).
fn cmp_value(field: &Scalar, value: &str) -> Option<Ordering> {
    match field {
        Scalar::Number(a) => number(value).map(|b| a.cmp(&b)),
        Scalar::Date(a) => parse_date(value.trim()).map(|b| a.cmp(&b)),
        Scalar::Bool(a) => match value.trim().to_ascii_lowercase().as_str() {
            "true" => Some(a.cmp(&true)),
            "false" => Some(a.cmp(&false)),
            _ => None,
        },
        Scalar::Text(a) => {
            if let (Some(x), Some(y)) = (parse_date(a.trim()), parse_date(value.trim())) {
                return Some(x.cmp(&y));
            }
            if let (Some(x), Some(y)) = (number(a), number(value)) {
                return Some(x.cmp(&y));
            }
            Some(a.to_lowercase().cmp(&value.to_lowercase()))
        }
    }
}

/// One filter row's comparison (§2.2) of `field` (the record's value, `None` when missing) with
/// the row's `value`. A missing field is false for every op but `is_empty`; `is_empty` is true for
/// a missing field or blank text. `in` is true when any listed value equals the field.
pub fn compare(op: FilterOp, field: Option<&Scalar>, value: Option<&FilterValue>) -> bool {
    if op == FilterOp::IsEmpty {
        return match field {
            None => true,
            Some(Scalar::Text(s)) => s.trim().is_empty(),
            Some(_) => false,
        };
    }
    let (Some(field), Some(value)) = (field, value) else {
        return false;
    };
    let items = value.items();
    let one = items.first().copied().unwrap_or("");
    let eq = |v: &str| cmp_value(field, v) == Some(Ordering::Equal);
    match op {
        FilterOp::Equals => eq(one),
        FilterOp::NotEquals => !eq(one),
        FilterOp::In => items.iter().any(|v| eq(v)),
        FilterOp::StartsWith => field.text().to_lowercase().starts_with(&one.to_lowercase()),
        FilterOp::Contains => field.text().to_lowercase().contains(&one.to_lowercase()),
        FilterOp::Lt => cmp_value(field, one) == Some(Ordering::Less),
        FilterOp::Le => matches!(
            cmp_value(field, one),
            Some(Ordering::Less | Ordering::Equal)
        ),
        FilterOp::Gt => cmp_value(field, one) == Some(Ordering::Greater),
        FilterOp::Ge => matches!(
            cmp_value(field, one),
            Some(Ordering::Greater | Ordering::Equal)
        ),
        FilterOp::IsEmpty => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(n: u32) -> Expr {
        Expr::Row(n)
    }

    fn codes(r: Result<Filter, Vec<InvoicingError>>) -> Vec<Code> {
        r.err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.code)
            .collect()
    }

    #[test]
    fn ir_05_expression() {
        let e = parse_logic("1 AND (2 OR 3) AND (4 OR 5)").unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                row(1),
                Expr::Or(vec![row(2), row(3)]),
                Expr::Or(vec![row(4), row(5)])
            ])
        );
        let f = compile(&[1, 2, 3, 4, 5], Some("1 AND (2 OR 3) AND (4 OR 5)")).unwrap();
        // DigiSpeakers, in Mexico, buying Wello → selected.
        fn truth(t: &[u32]) -> impl Fn(u32) -> bool + '_ {
            move |n| t.contains(&n)
        }
        assert!(f.passes(truth(&[1, 3, 5])));
        assert!(f.passes(truth(&[1, 2, 4])));
        assert!(!f.passes(truth(&[2, 3, 4, 5])));
        assert!(!f.passes(truth(&[1, 4, 5])));
        assert!(!f.passes(truth(&[1, 2, 3])));
    }

    #[test]
    fn ir_05_rows_compare_case_insensitively() {
        let t = |s: &str| Scalar::Text(s.into());
        let one = |s: &str| FilterValue::One(s.into());
        assert!(compare(
            FilterOp::Equals,
            Some(&t("DigiSpeakers")),
            Some(&one("digispeakers"))
        ));
        assert!(compare(
            FilterOp::Equals,
            Some(&t("Brazil")),
            Some(&one("BRAZIL"))
        ));
        assert!(!compare(
            FilterOp::Equals,
            Some(&t("Chile")),
            Some(&one("Brazil"))
        ));
        assert!(compare(
            FilterOp::Equals,
            Some(&t("Wello")),
            Some(&one("Wello"))
        ));
    }

    #[test]
    fn precedence_not_and_parentheses() {
        assert_eq!(
            parse_logic("NOT 1 AND 2").unwrap(),
            Expr::And(vec![Expr::Not(Box::new(row(1))), row(2)])
        );
        assert_eq!(
            parse_logic("not (1 or 2)").unwrap(),
            Expr::Not(Box::new(Expr::Or(vec![row(1), row(2)])))
        );
        assert_eq!(parse_logic("((3))").unwrap(), row(3));
        assert_eq!(
            parse_logic("NOT NOT 1").unwrap(),
            Expr::Not(Box::new(Expr::Not(Box::new(row(1)))))
        );
        let f = compile(&[1, 2], Some("NOT 1 OR 2")).unwrap();
        assert!(f.passes(|_| false));
        assert!(!f.passes(|n| n == 1));
    }

    #[test]
    fn logic_errors() {
        let code = |s: &str| parse_logic(s).unwrap_err().code;
        assert_eq!(code("1 AND 2 OR 3"), Code::AmbiguousFilterLogic);
        assert_eq!(code("1 OR 2 AND 3"), Code::AmbiguousFilterLogic);
        assert_eq!(code("(1 OR 2 AND 3)"), Code::AmbiguousFilterLogic);
        assert!(parse_logic("(1 AND 2) OR 3").is_ok());
        for s in [
            "",
            "  ",
            "1 2",
            "1 AND",
            "AND 1",
            "(1 OR 2",
            "1 OR 2)",
            "1 XOR 2",
            "1 & 2",
            "()",
            "NOT",
            "99999999999",
        ] {
            assert_eq!(code(s), Code::BadFilterLogic, "{s:?}");
        }
    }

    #[test]
    fn logic_against_rows() {
        assert_eq!(
            codes(compile(&[1, 2], Some("1 AND 3"))),
            vec![Code::UnknownFilterRow, Code::FilterRowUnreferenced]
        );
        assert_eq!(
            codes(compile(&[1, 2, 3], Some("1 OR 2"))),
            vec![Code::FilterRowUnreferenced]
        );
        assert_eq!(codes(compile(&[], Some("1"))), vec![Code::UnknownFilterRow]);
        assert_eq!(codes(compile(&[1, 1], None)), vec![Code::BadFilterLogic]);
        // No rows: every schedule passes. Absent logic: all rows ANDed.
        assert!(compile(&[], None).unwrap().passes(|_| false));
        let all = compile(&[2, 1], None).unwrap();
        assert_eq!(all.expr, Some(Expr::And(vec![row(1), row(2)])));
        assert!(all.passes(|_| true) && !all.passes(|n| n == 1));
    }

    #[test]
    fn row_checks() {
        let rows: Vec<FilterRow> = serde_yaml::from_value(super::super::model::tests::yaml(
            "- {n: 1, object: account, field: name, op: equals, value: DigiSpeakers}
- {n: 2, object: location, field: country, op: equals, value: Brazil}
- {n: 3, object: location, field: planet, op: equals, value: Mars}
- {n: 4, object: product, field: name, op: is_empty, value: x}
- {n: 5, object: order, field: order_date, op: lt}
- {n: 6, object: product, field: name, op: equals, value: [a, b]}
- {n: 7, object: custom, callback: vip}
",
        ))
        .unwrap();
        let e = check_filters(&rows, None).unwrap_err();
        let got: Vec<(Code, &str)> = e.iter().map(|e| (e.code, e.field.as_str())).collect();
        assert_eq!(
            got,
            vec![
                (Code::UnknownFilterField, "filters[2].field"),
                (Code::BadFilterLogic, "filters[3].value"),
                (Code::BadFilterLogic, "filters[4].value"),
                (Code::BadFilterLogic, "filters[5].value"),
            ]
        );
        assert!(check_filters(&rows[..2], Some("1 AND 2")).is_ok());
        assert!(check_filters(&rows[6..], None).is_ok());
    }

    #[test]
    fn ops_by_type() {
        let one = |s: &str| FilterValue::One(s.into());
        let num = Scalar::Number(Decimal::new(10050, 2));
        assert!(compare(FilterOp::Equals, Some(&num), Some(&one("100.5"))));
        assert!(compare(FilterOp::Gt, Some(&num), Some(&one("99"))));
        assert!(compare(FilterOp::Le, Some(&num), Some(&one("100.50"))));
        assert!(!compare(FilterOp::Lt, Some(&num), Some(&one("abc"))));
        assert!(compare(FilterOp::NotEquals, Some(&num), Some(&one("abc"))));
        // Numbers by value, not by text: 9 < 10.
        let nine = Scalar::Text("9".into());
        assert!(compare(FilterOp::Lt, Some(&nine), Some(&one("10"))));
        let date = Scalar::Date(parse_date("2016-03-01").unwrap());
        assert!(compare(FilterOp::Ge, Some(&date), Some(&one("2016-03-01"))));
        assert!(compare(FilterOp::Lt, Some(&date), Some(&one("2016-03-02"))));
        let date_text = Scalar::Text("2016-02-29".into());
        assert!(compare(
            FilterOp::Lt,
            Some(&date_text),
            Some(&one("2016-03-01"))
        ));
        let t = Scalar::Text("Micro-Stone".into());
        assert!(compare(FilterOp::StartsWith, Some(&t), Some(&one("micro"))));
        assert!(compare(FilterOp::Contains, Some(&t), Some(&one("O-ST"))));
        assert!(!compare(FilterOp::Contains, Some(&t), Some(&one("wello"))));
        assert!(compare(FilterOp::Lt, Some(&t), Some(&one("n"))));
        let list = FilterValue::List(vec!["Wello".into(), "micro-stone".into()]);
        assert!(compare(FilterOp::In, Some(&t), Some(&list)));
        assert!(!compare(
            FilterOp::In,
            Some(&Scalar::Text("X".into())),
            Some(&list)
        ));
        let yes = Scalar::Bool(true);
        assert!(compare(FilterOp::Equals, Some(&yes), Some(&one("TRUE"))));
        assert!(!compare(FilterOp::Equals, Some(&yes), Some(&one("false"))));
    }

    #[test]
    fn missing_fields_are_false_but_empty() {
        let one = FilterValue::One("x".into());
        for op in [
            FilterOp::Equals,
            FilterOp::NotEquals,
            FilterOp::StartsWith,
            FilterOp::Contains,
            FilterOp::In,
            FilterOp::Lt,
            FilterOp::Le,
            FilterOp::Gt,
            FilterOp::Ge,
        ] {
            assert!(!compare(op, None, Some(&one)), "{op}");
        }
        assert!(compare(FilterOp::IsEmpty, None, None));
        assert!(compare(
            FilterOp::IsEmpty,
            Some(&Scalar::Text(" ".into())),
            None
        ));
        assert!(!compare(
            FilterOp::IsEmpty,
            Some(&Scalar::Text("a".into())),
            None
        ));
        assert!(!compare(
            FilterOp::IsEmpty,
            Some(&Scalar::Bool(false)),
            None
        ));
        assert_eq!(
            Scalar::from_yaml(&serde_yaml::Value::Number(7.into())),
            Some(Scalar::Number(Decimal::from(7)))
        );
        assert_eq!(Scalar::from_yaml(&serde_yaml::Value::Null), None);
    }
}

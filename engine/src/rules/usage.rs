//! Load-time checks of `usage_tiers` documents and the products that name them (03 B.1):
//! `tiers_not_increasing`, `tiers_last_bounded`, `tier_key_not_allowed`, `missing_tier_key`,
//! `package_size` > 0 (`bad_value`) and `unknown_usage_tiers`, each at the offending key of its
//! row (the row itself when the key is absent).

use super::invoicing::{locate, Row};
use super::RuleError;
use crate::schema::parse_decimal;
use crate::yaml::Node;
use rust_decimal::Decimal;
use std::collections::BTreeSet;

/// The documents these checks read.
pub(super) const CHECKED: &[&str] = &["usage_tiers", "products"];

fn at(code: &'static str, row: &Row, field: &str, found: String, allowed: String) -> RuleError {
    let (_, file, node, path) = row;
    RuleError::at(
        code,
        file,
        locate(node, field),
        format!("{path}.{field}"),
        found,
        allowed,
    )
}

fn num(n: &Node) -> Option<Decimal> {
    n.as_str().and_then(parse_decimal)
}

/// Which top-level keys each model allows besides `name` and `model`.
fn allowed(model: &str) -> &'static [&'static str] {
    match model {
        "per_unit" => &["unit_price"],
        "package" => &["package_size", "package_price"],
        _ => &["tiers"],
    }
}

/// Every usage rule error of the shape-valid `rows`.
pub(super) fn check(rows: &[Row]) -> Vec<RuleError> {
    let mut out = Vec::new();
    let mut names = BTreeSet::new();
    for row in rows.iter().filter(|r| r.0 == "usage_tiers") {
        let node = &row.2;
        if let Some(n) = node.get("name").and_then(Node::as_str) {
            names.insert(n.to_string());
        }
        let Some(model) = node.get("model").and_then(Node::as_str) else {
            continue;
        };
        let ok = allowed(model);
        for key in ["unit_price", "tiers", "package_size", "package_price"] {
            if node.get(key).is_some() && !ok.contains(&key) {
                out.push(at(
                    "tier_key_not_allowed",
                    row,
                    key,
                    format!("`{key}` on a {model} table"),
                    format!("only {} on {model}", ok.join(", ")),
                ));
            }
        }
        for key in ok {
            if node.get(key).is_none() {
                out.push(at(
                    "missing_tier_key",
                    row,
                    key,
                    "nothing".into(),
                    format!("`{key}` (required on a {model} table)"),
                ));
            }
        }
        if model == "package" {
            if let Some(n) = node.get("package_size") {
                if num(n).is_some_and(|s| s <= Decimal::ZERO) {
                    out.push(at(
                        "bad_value",
                        row,
                        "package_size",
                        n.describe(),
                        "a package size > 0".into(),
                    ));
                }
            }
        }
        if !ok.contains(&"tiers") {
            continue;
        }
        let Some(tiers) = node.get("tiers").and_then(Node::as_seq) else {
            continue;
        };
        if tiers.is_empty() {
            out.push(at(
                "missing_tier_key",
                row,
                "tiers",
                "an empty list".into(),
                "at least one tier".into(),
            ));
            continue;
        }
        let last = tiers.len() - 1;
        let mut prev: Option<Decimal> = None;
        for (i, t) in tiers.iter().enumerate() {
            let up_to = t.get("up_to");
            match (up_to, i == last) {
                (Some(_), true) => out.push(at(
                    "tiers_last_bounded",
                    row,
                    &format!("tiers[{i}].up_to"),
                    format!(
                        "up_to {} on the last tier",
                        up_to.map(Node::describe).unwrap_or_default()
                    ),
                    "no up_to on the last tier (it is unbounded)".into(),
                )),
                (None, false) => out.push(at(
                    "missing_tier_key",
                    row,
                    &format!("tiers[{i}].up_to"),
                    "a tier without up_to before the last".into(),
                    "up_to on every tier but the last".into(),
                )),
                _ => {}
            }
            if let Some(b) = up_to.and_then(num) {
                let floor = prev.unwrap_or(Decimal::ZERO);
                if b <= floor {
                    out.push(at(
                        "tiers_not_increasing",
                        row,
                        &format!("tiers[{i}].up_to"),
                        format!("up_to {b} after {floor}"),
                        format!("an up_to greater than {floor}"),
                    ));
                }
                prev = Some(b);
            }
            if model == "flat_per_tier" {
                if t.get("unit_price").is_some() {
                    out.push(at(
                        "tier_key_not_allowed",
                        row,
                        &format!("tiers[{i}].unit_price"),
                        "`unit_price` on a flat_per_tier tier".into(),
                        "up_to and flat_fee only".into(),
                    ));
                }
            } else if t.get("unit_price").is_none() {
                out.push(at(
                    "missing_tier_key",
                    row,
                    &format!("tiers[{i}].unit_price"),
                    "nothing".into(),
                    format!("`unit_price` on every {model} tier"),
                ));
            }
        }
    }
    for row in rows.iter().filter(|r| r.0 == "products") {
        let Some(n) = row.2.get("usage_tiers") else {
            continue;
        };
        let name = n.as_str().unwrap_or_default();
        if !names.contains(name) {
            out.push(at(
                "unknown_usage_tiers",
                row,
                "usage_tiers",
                format!("`{name}`"),
                "the name of a usage_tiers document".into(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::rules::{load_str, RuleError};

    fn found(errors: &[RuleError]) -> Vec<(&str, &str, usize, usize)> {
        errors
            .iter()
            .map(|e| (e.code, e.path.as_str(), e.pos.line, e.pos.col))
            .collect()
    }

    fn errors(text: &str) -> Vec<RuleError> {
        match load_str("tiers.yaml", text) {
            Ok(_) => Vec::new(),
            Err(e) => e,
        }
    }

    #[test]
    fn valid_tables_load() {
        let set = load_str(
            "tiers.yaml",
            "usage_tiers:
  - {name: G, model: graduated, tiers: [{up_to: 10, unit_price: 3.5}, {up_to: 20, unit_price: 2.5}, {unit_price: 2}]}
  - {name: F, model: flat_per_tier, tiers: [{up_to: 10, flat_fee: 100}, {flat_fee: 500}]}
  - {name: P, model: package, package_size: 10, package_price: 100}
  - {name: U, model: per_unit, unit_price: 2}
",
        )
        .expect("valid");
        assert_eq!(set.documents["usage_tiers"].len(), 4);
    }

    #[test]
    fn tier_bounds_are_checked_at_their_key() {
        let e = errors(
            "usage_tiers:
  - name: A
    model: volume
    tiers:
      - {up_to: 10, unit_price: 3}
      - {up_to: 10, unit_price: 2}
      - {up_to: 30, unit_price: 1}
  - name: B
    model: graduated
    tiers:
      - {unit_price: 3}
      - {unit_price: 2}
",
        );
        assert_eq!(
            found(&e),
            vec![
                (
                    "tiers_not_increasing",
                    "usage_tiers[0].tiers[1].up_to",
                    6,
                    17
                ),
                ("tiers_last_bounded", "usage_tiers[0].tiers[2].up_to", 7, 17),
                ("missing_tier_key", "usage_tiers[1].tiers[0].up_to", 11, 9),
            ]
        );
        assert!(e.iter().all(|x| x.file == "tiers.yaml"));
        assert!(
            e[0].to_string()
                .starts_with("tiers.yaml:6:17: tiers_not_increasing"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn keys_must_fit_the_model() {
        let e = errors(
            "usage_tiers:
  - name: A
    model: per_unit
    tiers: [{unit_price: 1}]
  - name: B
    model: flat_per_tier
    tiers: [{up_to: 5, unit_price: 1, flat_fee: 10}, {flat_fee: 20}]
  - name: C
    model: package
    package_size: 0
  - name: D
    model: volume
    tiers: [{up_to: 5}, {unit_price: 1}]
products:
  - {code: X, price_type: usage, list_price: 1, usage_tiers: NOPE}
",
        );
        assert_eq!(
            found(&e),
            vec![
                ("missing_tier_key", "usage_tiers[0].unit_price", 2, 5),
                ("tier_key_not_allowed", "usage_tiers[0].tiers", 4, 12),
                (
                    "tier_key_not_allowed",
                    "usage_tiers[1].tiers[0].unit_price",
                    7,
                    36
                ),
                ("missing_tier_key", "usage_tiers[2].package_price", 8, 5),
                ("bad_value", "usage_tiers[2].package_size", 10, 19),
                (
                    "missing_tier_key",
                    "usage_tiers[3].tiers[0].unit_price",
                    13,
                    13
                ),
                ("unknown_usage_tiers", "products[0].usage_tiers", 15, 62),
            ]
        );
    }
}

//! Load-time checks of billing plans (03 C.1, C.2, C.4) at the offending key of each row:
//! `billing_plans` templates (`plan_installments`, `plan_percent_sum`, `plan_item_dates`), item
//! payment terms (`unknown_payment_term`), products' `billing_plan` (`unknown_billing_plan`,
//! `plan_not_allowed`) and the order lines of rule files (the checks that need no line dates or
//! price: `unknown_billing_plan`, `plan_start_required`, the inline items' checks,
//! `plan_not_allowed`). The checks against the line's dates and net price run at activation.

use super::invoicing::{locate, Row};
use super::RuleError;
use crate::plans::{check_line_plan, check_template, LinePlan, PlanError, Template};
use crate::yaml::Node;
use std::collections::{BTreeMap, BTreeSet};

/// The documents these checks read.
pub(super) const CHECKED: &[&str] = &["billing_plans", "products", "orders", "payment_terms"];

fn join(base: &str, field: &str) -> String {
    if base.is_empty() {
        field.to_string()
    } else if field.is_empty() {
        base.to_string()
    } else {
        format!("{base}.{field}")
    }
}

fn allowed(code: &str) -> &'static str {
    match code {
        "plan_installments" => "installments equal to the number of items (03 C.4)",
        "plan_percent_sum" => "item percents that sum to exactly 100 (03 C.2)",
        "plan_amount_sum" => "an amount on every item of an amount plan (03 C.2)",
        "plan_item_dates" => {
            "item starts strictly after the previous one; inline fixed items ordered, non-overlapping, start ≤ end; milestone items without dates (03 C.2)"
        }
        "plan_start_required" => "a start iff the template has start: given (03 C.1)",
        "unknown_billing_plan" => "the name of a billing_plans template (03 C.1)",
        "plan_not_allowed" => "a billing plan on a termed one_time or recurring line only (03 C.1)",
        "unknown_payment_term" => "the name of a payment_terms row",
        _ => "a valid billing plan (03 C)",
    }
}

/// `e` at `field` (relative to `base`, a node under `row`).
fn at(row: &Row, base_field: &str, e: &PlanError) -> RuleError {
    let (_, file, node, path) = row;
    let field = join(base_field, &e.field);
    RuleError::at(
        e.code.as_str(),
        file,
        locate(node, &field),
        join(path, &field),
        e.message.clone(),
        allowed(e.code.as_str()).into(),
    )
}

fn not_allowed(node: &Node) -> Option<&'static str> {
    let usage = node.get("price_type").and_then(Node::as_str) == Some("usage")
        || node.get("billing_frequency").and_then(Node::as_str) == Some("usage");
    let evergreen = node
        .get("auto_renewal")
        .and_then(|a| a.get("type"))
        .and_then(Node::as_str)
        == Some("evergreen");
    if usage {
        Some("a usage product")
    } else if evergreen {
        Some("an evergreen product")
    } else {
        None
    }
}

/// Every billing-plan error of the shape-valid `rows`.
pub(super) fn check(rows: &[Row]) -> Vec<RuleError> {
    let mut out = Vec::new();
    let of = |doc: &'static str| rows.iter().filter(move |r| r.0 == doc);
    let terms: BTreeSet<&str> = of("payment_terms")
        .filter_map(|r| r.2.get("name").and_then(Node::as_str))
        .collect();
    let mut templates: Vec<Template> = Vec::new();
    for row in of("billing_plans") {
        let Ok(t) = serde_yaml::from_value::<Template>(row.2.to_value()) else {
            continue;
        };
        for e in check_template(&t) {
            out.push(at(row, "", &e));
        }
        for (k, item) in t.items.iter().enumerate() {
            if let Some(name) = &item.payment_term {
                if !terms.contains(name.as_str()) {
                    out.push(at(
                        row,
                        "",
                        &PlanError {
                            code: crate::error::Code::UnknownPaymentTerm,
                            field: format!("items[{k}].payment_term"),
                            message: format!("no payment term `{name}`"),
                        },
                    ));
                }
            }
        }
        templates.push(t);
    }
    let find = |name: &str| templates.iter().find(|t| t.name == name);
    // Products: their plan's template must exist, and the product must allow a plan.
    let mut product_kind: BTreeMap<&str, Option<&'static str>> = BTreeMap::new();
    for row in of("products") {
        let node = &row.2;
        if let Some(code) = node.get("code").and_then(Node::as_str) {
            product_kind.insert(code, not_allowed(node));
        }
        let Some(plan) = node.get("billing_plan").and_then(Node::as_str) else {
            continue;
        };
        let e = if let Some(what) = not_allowed(node) {
            Some(PlanError {
                code: crate::error::Code::PlanNotAllowed,
                field: String::new(),
                message: format!("billing plan `{plan}` on {what}"),
            })
        } else if find(plan).is_none() {
            Some(PlanError {
                code: crate::error::Code::UnknownBillingPlan,
                field: String::new(),
                message: format!("no billing_plans template `{plan}`"),
            })
        } else {
            None
        };
        if let Some(e) = e {
            out.push(at(row, "billing_plan", &e));
        }
    }
    // Order lines in rule files.
    for row in of("orders") {
        let Some(lines) = row.2.get("lines").and_then(Node::as_seq) else {
            continue;
        };
        for (i, line) in lines.iter().enumerate() {
            let Some(plan_node) = line.get("billing_plan") else {
                continue;
            };
            let base = format!("lines[{i}].billing_plan");
            if let Some(what) = line
                .get("product")
                .and_then(Node::as_str)
                .and_then(|p| product_kind.get(p).copied().flatten())
            {
                out.push(at(
                    row,
                    &base,
                    &PlanError {
                        code: crate::error::Code::PlanNotAllowed,
                        field: String::new(),
                        message: format!("a billing plan on {what}"),
                    },
                ));
                continue;
            }
            let Ok(plan) = serde_yaml::from_value::<LinePlan>(plan_node.to_value()) else {
                continue;
            };
            for e in check_line_plan(&plan, &find) {
                out.push(at(row, &base, &e));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::rules::load_str;

    /// (code, path, line, column) of every error of `text`.
    fn errors(text: &str) -> Vec<(String, String, usize, usize)> {
        match load_str("plans.yaml", text) {
            Ok(_) => Vec::new(),
            Err(es) => es
                .into_iter()
                .map(|e| (e.code.to_string(), e.path, e.pos.line, e.pos.col))
                .collect(),
        }
    }

    const TERMS: &str =
        "payment_terms:\n  - {name: NET30, start: invoice_date, offset: {days: 30}}\n";

    #[test]
    fn a_valid_template_loads() {
        let text = format!(
            "{TERMS}billing_plans:\n  - name: UC1\n    start: given\n    installments: 2\n    items:\n      - {{name: one, percent: 15, offset: {{months: 0}}, payment_term: NET30}}\n      - {{name: two, percent: 85, offset: {{months: 3}}}}\n"
        );
        assert_eq!(errors(&text), vec![]);
    }

    #[test]
    fn plan_installments_at_the_installments_key() {
        let text = "billing_plans:\n  - name: P\n    installments: 3\n    items:\n      - {name: a, percent: 50}\n      - {name: b, percent: 50, offset: {months: 1}}\n";
        assert_eq!(
            errors(text),
            vec![(
                "plan_installments".into(),
                "billing_plans[0].installments".into(),
                3,
                19
            )]
        );
    }

    #[test]
    fn plan_percent_sum_at_the_items_key() {
        let text = "billing_plans:\n  - name: P\n    items:\n      - {name: a, percent: 40}\n      - {name: b, percent: 59.99, offset: {days: 10}}\n";
        assert_eq!(
            errors(text),
            vec![(
                "plan_percent_sum".into(),
                "billing_plans[0].items".into(),
                4,
                7
            )]
        );
    }

    #[test]
    fn plan_item_dates_at_a_zero_offset() {
        let text = "billing_plans:\n  - name: P\n    items:\n      - {name: a, percent: 50}\n      - {name: b, percent: 50, offset: {months: 0}}\n";
        assert_eq!(
            errors(text),
            vec![(
                "plan_item_dates".into(),
                "billing_plans[0].items[1].offset".into(),
                5,
                40
            )]
        );
    }

    #[test]
    fn unknown_payment_term_on_a_template_item() {
        let text = "billing_plans:\n  - name: P\n    items:\n      - {name: a, percent: 100, payment_term: NET99}\n";
        assert_eq!(
            errors(text),
            vec![(
                "unknown_payment_term".into(),
                "billing_plans[0].items[0].payment_term".into(),
                4,
                47
            )]
        );
    }

    #[test]
    fn products_unknown_billing_plan_and_plan_not_allowed() {
        let text = "billing_plans:\n  - {name: P, items: [{name: a, percent: 100}]}\nproducts:\n  - {code: A, price_type: one_time, list_price: 10, billing_plan: Q}\n  - {code: U, price_type: usage, list_price: 1, billing_plan: P}\n  - {code: E, price_type: recurring, list_price: 1, auto_renewal: {type: evergreen, term: 3}, billing_plan: P}\n";
        assert_eq!(
            errors(text),
            vec![
                (
                    "unknown_billing_plan".into(),
                    "products[0].billing_plan".into(),
                    4,
                    67
                ),
                (
                    "plan_not_allowed".into(),
                    "products[1].billing_plan".into(),
                    5,
                    63
                ),
                (
                    "plan_not_allowed".into(),
                    "products[2].billing_plan".into(),
                    6,
                    109
                ),
            ]
        );
    }

    #[test]
    fn order_lines_in_rule_files() {
        let text = "billing_plans:\n  - {name: G, start: given, items: [{name: a, percent: 100}]}\nproducts:\n  - {code: A, price_type: one_time, list_price: 10}\naccounts:\n  - {id: AC, currency: USD}\norders:\n  - id: O-1\n    account: AC\n    lines:\n      - {id: L1, product: A, billing_plan: G}\n      - {id: L2, product: A, billing_plan: {template: G}}\n      - {id: L3, product: A, billing_plan: {template: X}}\n      - id: L4\n        product: A\n        billing_plan:\n          type: fixed\n          method: percent\n          items:\n            - {name: a, start: 2016-01-01, end: 2016-03-31, percent: 50}\n            - {name: b, start: 2016-03-31, end: 2016-02-01, percent: 40}\n";
        assert_eq!(
            errors(text),
            vec![
                (
                    "plan_start_required".into(),
                    "orders[0].lines[0].billing_plan".into(),
                    11,
                    44
                ),
                (
                    "plan_start_required".into(),
                    "orders[0].lines[1].billing_plan.start".into(),
                    12,
                    44
                ),
                (
                    "unknown_billing_plan".into(),
                    "orders[0].lines[2].billing_plan.template".into(),
                    13,
                    55
                ),
                (
                    "plan_percent_sum".into(),
                    "orders[0].lines[3].billing_plan.items".into(),
                    20,
                    13
                ),
                (
                    "plan_item_dates".into(),
                    "orders[0].lines[3].billing_plan.items[1].start".into(),
                    21,
                    32
                ),
                (
                    "plan_item_dates".into(),
                    "orders[0].lines[3].billing_plan.items[1].end".into(),
                    21,
                    49
                ),
            ]
        );
    }
}

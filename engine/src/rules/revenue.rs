//! Load-time checks of the revenue documents (06 §3): policy references, milestone and split
//! entries, usage-product restrictions, merge policies, SSPs and revenue periods, each at the
//! offending key of its row.

use super::invoicing::{locate, Row};
use super::RuleError;
use crate::revenue::model::{RevenuePolicy, Rule, SplitMergePolicy, SplitMergeType};
use crate::schema::parse_decimal;
use crate::yaml::Node;
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};

/// The documents these checks read.
pub(super) const CHECKED: &[&str] = &[
    "revenue_policies",
    "split_merge_policies",
    "products",
    "orders",
    "legal_entities",
];

fn at(code: &'static str, row: &Row, field: &str, found: String, allowed: String) -> RuleError {
    let (_, file, node, path) = row;
    RuleError::at(
        code,
        file,
        locate(node, field),
        if field.is_empty() {
            path.clone()
        } else {
            format!("{path}.{field}")
        },
        found,
        allowed,
    )
}

fn text<'a>(n: &'a Node, k: &str) -> Option<&'a str> {
    n.get(k).and_then(Node::as_str)
}

fn money(n: &Node, k: &str) -> Option<Decimal> {
    n.get(k).and_then(Node::as_str).and_then(parse_decimal)
}

/// Every revenue rule error of the shape-valid `rows`; `default_policy` is
/// `system.default_revenue_policy` with its file and node.
pub(super) fn check(rows: &[Row], default_policy: Option<(&str, &Node)>) -> Vec<RuleError> {
    let mut out = Vec::new();
    let of = |doc: &'static str| rows.iter().filter(move |r| r.0 == doc);
    let mut policies: BTreeMap<String, RevenuePolicy> = BTreeMap::new();
    for row in of("revenue_policies") {
        let Ok(p) = serde_yaml::from_value::<RevenuePolicy>(row.2.to_value()) else {
            continue;
        };
        if p.is_milestone && p.rule != Rule::Immediate {
            out.push(at(
                "bad_milestone_policy",
                row,
                "is_milestone",
                format!("is_milestone with rule {}", p.rule.as_str()),
                "is_milestone only with rule: immediate".into(),
            ));
        }
        if p.milestones.is_some() && p.effective_rule() != Rule::Milestone {
            out.push(at(
                "bad_milestone_policy",
                row,
                "milestones",
                format!("milestones on a {} policy", p.effective_rule().as_str()),
                "milestones only on milestone policies (rule: milestone, or immediate + is_milestone)".into(),
            ));
        } else if let Some(ms) = &p.milestones {
            let mut names = BTreeSet::new();
            for (i, m) in ms.iter().enumerate() {
                if !names.insert(m.name.as_str()) {
                    out.push(at(
                        "bad_milestones",
                        row,
                        &format!("milestones[{i}].name"),
                        format!("`{}` again", m.name),
                        "unique milestone names".into(),
                    ));
                }
                if m.percent <= Decimal::ZERO {
                    out.push(at(
                        "bad_milestones",
                        row,
                        &format!("milestones[{i}].percent"),
                        m.percent.to_string(),
                        "a percent > 0".into(),
                    ));
                }
            }
            let sum: Decimal = ms.iter().map(|m| m.percent).sum();
            if sum != Decimal::ONE_HUNDRED {
                out.push(at(
                    "bad_milestones",
                    row,
                    "milestones",
                    format!("percents summing to {}", sum.normalize()),
                    "percents summing to exactly 100".into(),
                ));
            }
        }
        policies.insert(p.name.clone(), p);
    }
    let policy_rule = |name: &str| policies.get(name).map(RevenuePolicy::effective_rule);
    let mut split_merge: BTreeMap<String, SplitMergePolicy> = BTreeMap::new();
    for row in of("split_merge_policies") {
        let Ok(p) = serde_yaml::from_value::<SplitMergePolicy>(row.2.to_value()) else {
            continue;
        };
        match (p.kind, &p.entries) {
            (SplitMergeType::Merge, Some(_)) => out.push(at(
                "bad_split_entries",
                row,
                "entries",
                "entries on a merge policy".into(),
                "no entries (merge policies have none)".into(),
            )),
            (SplitMergeType::Split, None) => out.push(at(
                "bad_split_entries",
                row,
                "",
                "a split policy without entries".into(),
                "at least 2 entries".into(),
            )),
            (SplitMergeType::Split, Some(es)) => {
                if es.len() < 2 {
                    out.push(at(
                        "bad_split_entries",
                        row,
                        "entries",
                        format!("{} entry", es.len()),
                        "at least 2 entries".into(),
                    ));
                }
                let mut seqs = BTreeSet::new();
                for (i, e) in es.iter().enumerate() {
                    if !seqs.insert(e.sequence) {
                        out.push(at(
                            "bad_split_entries",
                            row,
                            &format!("entries[{i}].sequence"),
                            format!("sequence {} again", e.sequence),
                            "unique sequences".into(),
                        ));
                    }
                    if e.percent <= Decimal::ZERO {
                        out.push(at(
                            "bad_split_entries",
                            row,
                            &format!("entries[{i}].percent"),
                            e.percent.to_string(),
                            "a percent > 0".into(),
                        ));
                    }
                    if !policies.contains_key(&e.revenue_policy) {
                        out.push(at(
                            "unknown_revenue_policy",
                            row,
                            &format!("entries[{i}].revenue_policy"),
                            format!("`{}`", e.revenue_policy),
                            "a name from revenue_policies".into(),
                        ));
                    }
                }
                let sum: Decimal = es.iter().map(|e| e.percent).sum();
                if sum != Decimal::ONE_HUNDRED {
                    out.push(at(
                        "split_percent_sum",
                        row,
                        "entries",
                        format!("{} (policy `{}`)", sum.normalize(), p.name),
                        "100".into(),
                    ));
                }
            }
            (SplitMergeType::Merge, None) => {}
        }
        split_merge.insert(p.name.clone(), p);
    }
    let allowed_usage = [Rule::Ratable, Rule::RatableDay, Rule::Prepay, Rule::TrueUp];
    for row in of("products") {
        let node = &row.2;
        let usage = text(node, "price_type") == Some("usage");
        let own = text(node, "revenue_policy");
        let mut rules = Vec::new();
        if let Some(name) = own.filter(|n| *n != "none") {
            match policy_rule(name) {
                Some(r) => rules.push(("revenue_policy", r)),
                None => out.push(at(
                    "unknown_revenue_policy",
                    row,
                    "revenue_policy",
                    format!("`{name}`"),
                    "a name from revenue_policies, or none".into(),
                )),
            }
        }
        if let Some(name) = text(node, "split_merge_policy") {
            match split_merge.get(name) {
                None => out.push(at(
                    "unknown_revenue_policy",
                    row,
                    "split_merge_policy",
                    format!("`{name}`"),
                    "a name from split_merge_policies".into(),
                )),
                Some(p) if p.kind == SplitMergeType::Split => {
                    if usage {
                        out.push(at(
                            "split_on_usage_product",
                            row,
                            "split_merge_policy",
                            format!("split policy `{name}` on a usage product"),
                            "no split policy on price_type: usage".into(),
                        ));
                    }
                    for e in p.sorted_entries() {
                        if let Some(r) = policy_rule(&e.revenue_policy) {
                            rules.push(("split_merge_policy", r));
                        }
                    }
                }
                Some(_) => {
                    if own.is_none() {
                        out.push(at(
                            "merge_without_revenue_policy",
                            row,
                            "split_merge_policy",
                            format!("merge policy `{name}` without revenue_policy"),
                            "a product with a merge policy names its revenue_policy".into(),
                        ));
                    }
                }
            }
        }
        for (field, r) in rules {
            let bad = if usage {
                !allowed_usage.contains(&r)
            } else {
                matches!(r, Rule::Prepay | Rule::TrueUp)
            };
            if bad {
                out.push(at(
                    "rule_not_allowed_for_product",
                    row,
                    field,
                    format!(
                        "rule {} on a {} product",
                        r.as_str(),
                        if usage { "usage" } else { "non-usage" }
                    ),
                    if usage {
                        "ratable, ratable_day, prepay or true_up for usage products".into()
                    } else {
                        "prepay and true_up only on usage products".into()
                    },
                ));
            }
        }
        if money(node, "ssp").is_some_and(|v| v < Decimal::ZERO) {
            out.push(at(
                "negative_ssp",
                row,
                "ssp",
                text(node, "ssp").unwrap_or_default().to_string(),
                "an ssp ≥ 0".into(),
            ));
        }
    }
    for row in of("orders") {
        for (i, line) in row
            .2
            .get("lines")
            .and_then(Node::as_seq)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if money(line, "ssp").is_some_and(|v| v < Decimal::ZERO) {
                out.push(at(
                    "negative_ssp",
                    row,
                    &format!("lines[{i}].ssp"),
                    text(line, "ssp").unwrap_or_default().to_string(),
                    "an ssp ≥ 0".into(),
                ));
            }
        }
    }
    for row in of("legal_entities") {
        if let Some(d) = text(&row.2, "revenue_period").and_then(crate::dates::parse_date) {
            if !crate::revenue::calc::is_month_end(d) {
                out.push(at(
                    "period_not_month_end",
                    row,
                    "revenue_period",
                    d.to_string(),
                    "a month-end date".into(),
                ));
            }
        }
    }
    if let Some((file, node)) = default_policy {
        if let Some(name) = node.as_str() {
            if !policies.contains_key(name) {
                out.push(RuleError::at(
                    "unknown_revenue_policy",
                    file,
                    node,
                    "system.default_revenue_policy".into(),
                    format!("`{name}`"),
                    "a name from revenue_policies".into(),
                ));
            }
        }
    }
    out
}

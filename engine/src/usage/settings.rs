//! A usage product's settings (03 B.1), read from the product keys the 01 loader keeps verbatim.

use super::tiers::{QuantityRounding, TierTable};
use crate::model::{PriceType, Product};
use crate::rules::RuleSet;
use crate::schema::parse_decimal;
use rust_decimal::Decimal;

/// What rating needs from a usage product.
#[derive(Debug, Clone, PartialEq)]
pub struct UsageSettings {
    /// The `usage_tiers` name (`None`: `per_unit` at `list_price`).
    pub usage_tiers: Option<String>,
    /// `usage_tiers_modifiable`.
    pub modifiable: bool,
    /// `unit_of_measure` (default `each`).
    pub unit_of_measure: String,
    /// `included_quantity` per usage row.
    pub included: Decimal,
    /// `minimum_commitment.amount` per full usage period.
    pub minimum: Option<Decimal>,
    /// `quantity_scale` (usage products: default 6).
    pub quantity_scale: u32,
    /// `quantity_rounding`.
    pub quantity_rounding: QuantityRounding,
    /// `list_price` (the default per-unit price).
    pub list_price: Decimal,
}

fn text(v: &serde_yaml::Value) -> Option<String> {
    match v {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl UsageSettings {
    /// The settings of `p`, or `None` when it is not a usage product.
    pub fn of(p: &Product) -> Option<Self> {
        if p.price_type != PriceType::Usage {
            return None;
        }
        let get = |k: &str| p.extra.get(k).and_then(text);
        Some(UsageSettings {
            usage_tiers: get("usage_tiers"),
            modifiable: get("usage_tiers_modifiable").is_some_and(|b| b == "true"),
            unit_of_measure: get("unit_of_measure").unwrap_or_else(|| "each".into()),
            included: get("included_quantity")
                .and_then(|s| parse_decimal(&s))
                .unwrap_or_default(),
            minimum: p
                .extra
                .get("minimum_commitment")
                .and_then(|m| m.get("amount"))
                .and_then(text)
                .and_then(|s| parse_decimal(&s)),
            quantity_scale: get("quantity_scale")
                .and_then(|s| s.parse().ok())
                .unwrap_or(6),
            quantity_rounding: get("quantity_rounding")
                .and_then(|s| serde_yaml::from_value(serde_yaml::Value::String(s)).ok())
                .unwrap_or_default(),
            list_price: p.list_price.unwrap_or_default(),
        })
    }
}

/// The `usage_tiers` document `name` of the rules, typed.
pub fn tier_table(rules: &RuleSet, name: &str) -> Option<TierTable> {
    rules
        .documents
        .get("usage_tiers")?
        .iter()
        .find(|r| r.value.get("name").and_then(text).as_deref() == Some(name))
        .and_then(|r| serde_yaml::from_value(r.value.clone()).ok())
}

//! The demo company (rules/demo): its rules are embedded in the binary, activated into a sled
//! store in a temporary folder, and its billing schedules printed.

use crate::{schedule_table, Reckon, SdkError};
use reckon_engine::rules::RuleLoader;
use std::fmt::Write;
use std::path::Path;

/// The embedded demo rules: (file name, text).
pub const DEMO_RULES: &[(&str, &str)] = &[
    (
        "rules/demo/preferences.yaml",
        include_str!("../../rules/demo/preferences.yaml"),
    ),
    (
        "rules/demo/products.yaml",
        include_str!("../../rules/demo/products.yaml"),
    ),
    (
        "rules/demo/company.yaml",
        include_str!("../../rules/demo/company.yaml"),
    ),
];

/// Run the demo into a store at `store_dir`; returns the printed report.
pub fn run(store_dir: &Path) -> Result<String, SdkError> {
    let mut loader = RuleLoader::new();
    for (file, text) in DEMO_RULES {
        loader.add_text(file, text);
    }
    let rules = loader.finish().map_err(SdkError::Rules)?;
    let mut reckon = Reckon::open(store_dir)?;
    reckon.install(rules)?;
    reckon.load_rule_data()?;
    let mut out = String::new();
    let r = reckon.engine().rules().clone();
    let _ = writeln!(
        out,
        "Reckon demo — {} products, {} preferences, {} accounts, {} orders; store: {}",
        r.products.len(),
        r.preferences.len(),
        r.accounts.len(),
        r.orders.len(),
        store_dir.display()
    );
    for order in &r.orders {
        let on = order.order_date.unwrap_or_default();
        let act = reckon.activate(&order.id, on)?;
        let _ = writeln!(
            out,
            "\nactivated {} for {} on {on}",
            order.id, order.account
        );
        for (line, n) in &act.schedules {
            let rows = reckon.schedules(line)?;
            let total = reckon.engine().line_total(line)?;
            let asset = reckon.engine().asset(line)?;
            let product = asset.map(|a| a.product).unwrap_or_default();
            let _ = writeln!(
                out,
                "\n{line} {product}: {n} schedules, billable total {total}"
            );
            out.push_str(&schedule_table(&rows));
        }
    }
    Ok(out)
}

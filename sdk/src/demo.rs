//! The demo company (rules/demo): its rules and plugin are embedded in the binary, written to a
//! temporary rules folder, loaded like any other (plugins included), activated into a sled store,
//! and its billing schedules printed — then the first month's schedules go through the
//! registered tax plugin.

use crate::{schedule_table, Reckon, SdkError};
use reckon_engine::callbacks as cb;
use reckon_engine::ScheduleType;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

/// The embedded demo rules and plugins: (path inside the rules folder, text).
pub const DEMO_RULES: &[(&str, &str)] = &[
    (
        "preferences.yaml",
        include_str!("../../rules/demo/preferences.yaml"),
    ),
    (
        "products.yaml",
        include_str!("../../rules/demo/products.yaml"),
    ),
    (
        "company.yaml",
        include_str!("../../rules/demo/company.yaml"),
    ),
    (
        "callbacks.yaml",
        include_str!("../../rules/demo/callbacks.yaml"),
    ),
    (
        "plugins/sales_tax.rhai",
        include_str!("../../rules/demo/plugins/sales_tax.rhai"),
    ),
];

/// Run the demo with its store at `store_dir` (its rules go beside it); returns the report.
pub fn run(store_dir: &Path) -> Result<String, SdkError> {
    let rules_dir = store_dir.with_file_name("demo-rules");
    for (rel, text) in DEMO_RULES {
        let path = rules_dir.join(rel);
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, text));
        written.map_err(|e| SdkError::Io(format!("{}: {e}", path.display())))?;
    }
    let mut reckon = Reckon::open(store_dir)?;
    reckon.load_rules(&rules_dir)?;
    reckon.load_rule_data()?;
    let mut out = String::new();
    let r = reckon.engine().rules().clone();
    let _ = writeln!(
        out,
        "Reckon demo — {} products, {} preferences, {} accounts, {} orders, tax plugin {}; store: {}",
        r.products.len(),
        r.preferences.len(),
        r.accounts.len(),
        r.orders.len(),
        if reckon.engine().callbacks().tax().is_some() { "plugins/sales_tax.rhai" } else { "none" },
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
            let product = reckon
                .engine()
                .asset(line)?
                .map(|a| a.product)
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "\n{line} {product}: {n} schedules, billable total {total}"
            );
            out.push_str(&schedule_table(&rows));
        }
    }
    if let Some(first) = r.orders.first() {
        out.push_str(&tax_preview(&reckon, first)?);
    }
    Ok(out)
}

/// The schedules of an order ready within its first month, taxed by the registered tax plugin
/// (invoice runs arrive with invoicing; this shows the plugin on real schedules).
fn tax_preview(reckon: &Reckon, order: &reckon_engine::model::Order) -> Result<String, SdkError> {
    let mut out = String::new();
    let Some(tax) = reckon.engine().callbacks().tax() else {
        return Ok(out);
    };
    let rules = reckon.engine().rules();
    let start = order.order_date.unwrap_or_default();
    let until = start
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(start);
    let account = reckon.engine().account(&order.account)?;
    let currency = account
        .as_ref()
        .map(|a| a.currency.clone())
        .unwrap_or_else(|| "USD".into());
    let money = |a: String| cb::Money {
        amount: a,
        currency: currency.clone(),
    };
    let mut lines = Vec::new();
    for l in &order.lines {
        let line_ref = format!("{}/{}", order.id, l.id);
        let product = rules.products.get(&l.product);
        for s in reckon.schedules(&line_ref)? {
            if s.schedule_type != ScheduleType::Contracted || s.ready > until {
                continue;
            }
            lines.push(cb::Line {
                id: s.id.clone(),
                account_id: order.account.clone(),
                order_id: Some(order.id.clone()),
                order_line_id: Some(line_ref.clone()),
                product: cb::ProductInfo {
                    code: l.product.clone(),
                    name: product.and_then(|p| p.name.clone()).unwrap_or_default(),
                    price_type: product
                        .map(|p| p.price_type.as_str().to_string())
                        .unwrap_or_default(),
                    tax_code: product.and_then(|p| p.tax_code.clone()),
                    revenue_policy: None,
                    attributes: BTreeMap::new(),
                },
                location: None,
                ship_to: None,
                quantity: s.quantity.to_string(),
                amount: money(s.amount.to_string()),
                period_start: s.start.to_string(),
                period_end: s.end.to_string(),
                ready_for_invoice: s.ready.to_string(),
                payment_term: "net_30".into(),
                taxable: product.is_some_and(|p| p.taxable),
                tax_inclusive: product.is_some_and(|p| p.tax_inclusive),
                tax_code: product.and_then(|p| p.tax_code.clone()),
                exempt: false,
                attributes: BTreeMap::new(),
            });
        }
    }
    let subtotal: rust_decimal::Decimal = lines
        .iter()
        .filter_map(|l| l.amount.amount.parse::<rust_decimal::Decimal>().ok())
        .sum();
    let req = cb::TaxRequest {
        config: BTreeMap::new(),
        dry_run: true,
        document: cb::DocumentKind::Invoice,
        invoice: cb::Invoice {
            id: format!("PREVIEW-{}", order.id),
            account: cb::AccountInfo {
                id: order.account.clone(),
                name: account
                    .as_ref()
                    .and_then(|a| a.name.clone())
                    .unwrap_or_default(),
                currency: currency.clone(),
                parent: None,
                legal_entity: None,
                address: None,
                tax_exempt: None,
                attributes: BTreeMap::new(),
            },
            currency: currency.clone(),
            invoice_date: until.to_string(),
            due_date: None,
            payment_term: None,
            bill_to: None,
            lines,
            subtotal: money(subtotal.to_string()),
            tax: None,
            total: money(subtotal.to_string()),
            run_name: None,
            group_key: None,
        },
    };
    let _ = writeln!(
        out,
        "\ntax preview of {} (schedules ready by {until}) through the tax plugin:",
        order.id
    );
    match tax.calculate_tax(&req) {
        Ok(taxes) => {
            let mut sum = rust_decimal::Decimal::ZERO;
            for (line, t) in req.invoice.lines.iter().zip(&taxes) {
                let parts: Vec<String> = t
                    .breakups
                    .iter()
                    .map(|b| format!("{} {}% {}", b.name, b.rate, b.tax.amount))
                    .collect();
                let _ = writeln!(
                    out,
                    "  {:<14} {:>10}  tax {:>8}  {}",
                    line.id,
                    line.amount.amount,
                    t.tax.amount,
                    parts.join(", ")
                );
                sum += t
                    .tax
                    .amount
                    .parse::<rust_decimal::Decimal>()
                    .unwrap_or_default();
            }
            let _ = writeln!(
                out,
                "  subtotal {subtotal}, tax {sum}, total {}",
                subtotal + sum
            );
        }
        Err(e) => {
            let _ = writeln!(out, "  tax plugin failed: {e}");
        }
    }
    Ok(out)
}

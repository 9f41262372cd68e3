//! The demo company (rules/demo): its rules and plugin are embedded in the binary, written to a
//! temporary rules folder, loaded like any other (plugins included), activated into a sled store,
//! and its billing schedules printed — then its invoice run bills what is ready, taxed by the
//! registered tax plugin, and prints the approved invoices; each approved invoice is written as
//! PDF and HTML into a `documents` folder beside the store. Last, a payment run records the demo
//! customers' payments (auto-applied, oldest due first) and prints the A/R aging.

use crate::{schedule_table, Format, Reckon, SdkError};
use reckon_engine::billing::{DocStatus, DocType};
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
        "revenue.yaml",
        include_str!("../../rules/demo/revenue.yaml"),
    ),
    (
        "company.yaml",
        include_str!("../../rules/demo/company.yaml"),
    ),
    (
        "invoicing.yaml",
        include_str!("../../rules/demo/invoicing.yaml"),
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
    let (report, approved) = invoice_runs(&reckon)?;
    out.push_str(&report);
    out.push_str(&write_documents(
        &reckon,
        &approved,
        &store_dir.with_file_name("documents"),
    )?);
    out.push_str(&payments_and_aging(&reckon)?);
    out.push_str(&month_end_close(&reckon)?);
    Ok(out)
}

/// The legal entity and the last month the demo closes (06 §8): every month from the entity's
/// first open period through this one gets its actual revenue run and is closed.
pub const DEMO_CLOSE: (&str, &str) = ("NW-US", "2026-03");

/// The month-end close of [`DEMO_CLOSE`] ([`Reckon::close_revenue_month`]) and the resulting
/// revenue waterfall (06 §10): one row per month, one column per agreement, closed months marked
/// `actual` and the later ones `projected` from the rules.
fn month_end_close(reckon: &Reckon) -> Result<String, SdkError> {
    let (le, month) = DEMO_CLOSE;
    let w = reckon.close_revenue_month(le, month)?;
    let mut out = format!("\nmonth-end close of {le} through {month}; revenue waterfall:\n");
    let mut header = format!("  {:<7} {:<9}", "month", "");
    for r in &w.rows {
        let _ = write!(header, " {:>20}", r.agreement);
    }
    let _ = writeln!(out, "{header} {:>12}", "total");
    for (i, p) in w.periods.iter().enumerate() {
        let kind = if i < w.first_projected {
            "actual"
        } else {
            "projected"
        };
        let mut line = format!("  {p:<7} {kind:<9}");
        let mut total = rust_decimal::Decimal::ZERO;
        for r in &w.rows {
            let a = r.amounts.get(i).copied().unwrap_or_default();
            total += a;
            let _ = write!(line, " {:>20}", fixed(a, minor(&r.currency)));
        }
        let _ = writeln!(out, "{line} {:>12}", fixed(total, 2));
    }
    let mut line = format!("  {:<17}", "total");
    let mut total = rust_decimal::Decimal::ZERO;
    for r in &w.rows {
        total += r.total;
        let _ = write!(line, " {:>20}", fixed(r.total, minor(&r.currency)));
    }
    let _ = writeln!(out, "{line} {:>12}", fixed(total, 2));
    Ok(out)
}

/// The demo customers' payments: (account, amount, effective date, method, external id).
pub const DEMO_PAYMENTS: &[(&str, &str, &str, &str, &str)] = &[
    ("GLOBEX", "549.00", "2026-03-10", "wire", "DEMO-PAY-1"),
    ("ACME", "2000.00", "2026-03-20", "card", "DEMO-PAY-2"),
];

/// The as-of date of the demo's aging report.
pub const DEMO_AGING_AS_OF: &str = "2026-04-30";

/// Record [`DEMO_PAYMENTS`] (idempotent by external id, auto-applied) and print each payment,
/// then the A/R aging as of [`DEMO_AGING_AS_OF`].
fn payments_and_aging(reckon: &Reckon) -> Result<String, SdkError> {
    use reckon_engine::receivables::payments::{ApplyMode, PaymentRequest};
    let engine = reckon.engine();
    let date = |s: &str| {
        reckon_engine::dates::parse_date(s).ok_or_else(|| SdkError::Io(format!("demo date `{s}`")))
    };
    let mut out = String::from("\npayment run:\n");
    for (account, amount, on, method, id) in DEMO_PAYMENTS {
        let on = date(on)?;
        let req = PaymentRequest {
            account: account.to_string(),
            amount: amount
                .parse()
                .map_err(|_| SdkError::Io(format!("demo amount `{amount}`")))?,
            currency: None,
            on,
            method: Some(method.to_string()),
            external_id: Some(id.to_string()),
            apply: Some(ApplyMode::Auto),
        };
        let p = engine.payment(&req, on)?;
        let _ = writeln!(
            out,
            "  {} {} {} on {on} ({method}, {id}): applied {}, unapplied {}",
            p.reference(),
            p.currency,
            p.amount,
            fixed(p.applied, minor(&p.currency)),
            fixed(p.unapplied(), minor(&p.currency))
        );
    }
    let as_of = date(DEMO_AGING_AS_OF)?;
    let mut accounts = engine.account_ids()?;
    accounts.sort();
    let currency = accounts
        .first()
        .and_then(|a| engine.account(a).ok().flatten())
        .map(|a| a.currency)
        .unwrap_or_else(|| "USD".into());
    let set = engine.aging_buckets(None)?;
    let aging = engine.aging(&accounts, &currency, as_of, &set, false)?;
    let _ = writeln!(out, "\nA/R aging as of {as_of} ({currency}):");
    let mut header = format!("  {:<10}", "account");
    for l in aging
        .labels
        .iter()
        .chain(["unapplied".to_string(), "total".to_string()].iter())
    {
        let _ = write!(header, " {l:>10}");
    }
    let _ = writeln!(out, "{header}");
    let scale = minor(&currency);
    for r in &aging.rows {
        let mut line = format!("  {:<10}", r.account.as_deref().unwrap_or("total"));
        for b in r.buckets.iter().chain([r.unapplied, r.total].iter()) {
            let _ = write!(line, " {:>10}", fixed(*b, scale));
        }
        let _ = writeln!(out, "{line}");
    }
    Ok(out)
}

/// The minor units of `currency` (2 when unknown).
fn minor(currency: &str) -> u32 {
    reckon_engine::money::minor_units(currency).unwrap_or(2)
}

/// `d` rounded and printed with exactly `scale` decimals (`0` → `0.00`).
fn fixed(d: rust_decimal::Decimal, scale: u32) -> String {
    let mut d = d.round_dp(scale);
    d.rescale(scale);
    d.to_string()
}

/// Write each approved invoice as PDF and HTML into `dir`; returns the `wrote PATH` lines.
fn write_documents(reckon: &Reckon, refs: &[String], dir: &Path) -> Result<String, SdkError> {
    let mut out = String::new();
    if refs.is_empty() {
        return Ok(out);
    }
    std::fs::create_dir_all(dir).map_err(|e| SdkError::Io(format!("{}: {e}", dir.display())))?;
    out.push('\n');
    for r in refs {
        for format in [Format::Pdf, Format::Html] {
            let (name, bytes) = reckon.render(r, format)?;
            let path = dir.join(name);
            std::fs::write(&path, bytes)
                .map_err(|e| SdkError::Io(format!("{}: {e}", path.display())))?;
            let _ = writeln!(out, "wrote {}", path.display());
        }
    }
    Ok(out)
}

/// Execute the demo's invoice runs (rules `invoice_runs`, dates from the rules) and print the
/// invoices and credit memos they made, line by line; also returns the approved invoices' refs.
fn invoice_runs(reckon: &Reckon) -> Result<(String, Vec<String>), SdkError> {
    let engine = reckon.engine();
    let mut out = String::new();
    let mut approved = Vec::new();
    for def in engine.invoice_run_defs()? {
        let Some(on) = def.invoice_date.or(def.process_through) else {
            continue;
        };
        let mut step = serde_yaml::Mapping::new();
        step.insert("name".into(), def.name.clone().into());
        let exec = engine.invoice_run_step(&serde_yaml::Value::Mapping(step), on)?;
        let _ = writeln!(
            out,
            "
invoice run {} on {on} (process through {}): {} invoices, {} credit memos, {} suppressed, {} failed",
            exec.run, exec.process_through, exec.invoices, exec.credit_memos, exec.suppressed, exec.failed
        );
        for acct in &exec.accounts {
            for r in &acct.documents {
                let Some(d) = engine.document(r)? else {
                    continue;
                };
                if d.doc_type == DocType::Invoice && d.status == DocStatus::Approved {
                    approved.push(r.clone());
                }
                let _ = writeln!(
                    out,
                    "
{} {} {} ({}) dated {} due {}: subtotal {}, tax {}, total {}",
                    d.doc_type.as_str().replace('_', " "),
                    d.number.as_deref().unwrap_or("(draft)"),
                    d.account,
                    r,
                    d.invoice_date,
                    d.due_date.map(|x| x.to_string()).unwrap_or_default(),
                    d.subtotal,
                    d.tax,
                    d.total
                );
                for l in &d.lines {
                    let period = match (l.period_start, l.period_end) {
                        (Some(a), Some(b)) => format!("{a}..{b}"),
                        _ => String::new(),
                    };
                    let parts: Vec<String> = l
                        .breakups
                        .iter()
                        .map(|b| format!("{} {}% {}", b.name, b.rate, b.amount))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  {:>2} {:<16} {:<9} {:<22} {:>10}  tax {:>8}  {}",
                        l.n,
                        l.schedule.as_deref().unwrap_or(""),
                        l.product,
                        period,
                        l.amount,
                        l.tax,
                        parts.join(", ")
                    );
                }
            }
            if let Some(code) = &acct.code {
                let _ = writeln!(
                    out,
                    "
{} failed: {code}: {}",
                    acct.account,
                    acct.message.as_deref().unwrap_or("")
                );
            }
        }
    }
    Ok((out, approved))
}

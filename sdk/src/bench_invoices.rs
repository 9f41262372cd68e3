//! `reckon bench --invoices N`: an invoice run over a synthetic book of N accounts × 10 ready
//! schedules (04 item 10; 07 §12 B5), with same-run baselines: the sled store against the
//! in-memory store, and the WASM tax plugin (`tax-us`) and Rhai grouping against the built-ins.
//! Building the book is not timed; each measured run bills a fresh copy of it. At
//! [`TARGET_ACCOUNTS`] (`--invoices 100000`: the issue's book of 100,000 accounts × 10 schedules)
//! it measures the target configuration (WASM tax, sled, durable commits) with the baselines of
//! its two ratios from the same run: WASM tax in memory, built-in tax on sled.

use chrono::NaiveDate;
use reckon_engine::model::{Account, Order};
use reckon_engine::rules::{RuleLoader, RuleSet};
use reckon_engine::store::{MemStore, SledStore, Store};
use reckon_engine::Engine;
use std::fmt::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

const SCHEDULES: usize = 10;

fn rules_text(callbacks: &str) -> String {
    format!(
        r#"
system: {{batch_size: 500}}
billing_preferences:
  - {{name: bdom1, default: true, billing_cycle_start: billing_day_of_month, billing_day_of_month: 1}}
products:
  - {{code: SAAS, name: Platform, price_type: recurring, list_price: "120.00", selling_frequency: monthly, billing_frequency: monthly, billing_rule: advance, taxable: true, tax_code: SAAS}}
tax_rates:
  - {{tax_code: SAAS, country: US, region: CA, level: state, name: CA State, rate: "6.25"}}
  - {{tax_code: SAAS, country: US, region: CA, city: San Francisco, level: county, name: SF County, rate: "1.25"}}
  - {{tax_code: SAAS, country: US, region: CA, city: San Francisco, level: city, name: SF City, rate: "1.125"}}
{callbacks}
"#
    )
}

fn load_rules(callbacks: &str) -> Result<(RuleSet, reckon_plugin_host::PluginSet), String> {
    let mut l = RuleLoader::new();
    l.add_text("bench-invoices.yaml", &rules_text(callbacks));
    let rules = l.finish().map_err(|e| format!("bench rules: {}", e[0]))?;
    let plugins =
        reckon_plugin_host::load(&rules).map_err(|e| format!("bench plugins: {}", e[0]))?;
    Ok((rules, plugins))
}

/// One measured configuration.
struct Measure {
    label: &'static str,
    seconds: f64,
    schedules: u32,
    invoices: u32,
}

fn book(engine: &Engine, accounts: usize) -> Result<(), String> {
    let start = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    let mut ids = Vec::with_capacity(accounts);
    for a in 0..accounts {
        let acct: Account = serde_yaml::from_str(&format!(
            "{{id: A{a:06}, currency: USD, locations: [{{id: HQ, line1: 1 Market St, city: San Francisco, region: CA, country: US, postal_code: \"94105\"}}]}}"
        ))
        .map_err(|e| e.to_string())?;
        engine.upsert_account(acct).map_err(|e| e.to_string())?;
        let order: Order = serde_yaml::from_str(&format!(
            // January to October 2026: SCHEDULES (10) monthly periods, billed in advance.
            "{{id: O-{a}, account: A{a:06}, location: HQ, order_date: 2026-01-01, lines: [{{id: L1, product: SAAS, start: 2026-01-01, end: 2026-10-31}}]}}"
        ))
        .map_err(|e| e.to_string())?;
        engine.submit_order(order).map_err(|e| e.to_string())?;
        ids.push(format!("O-{a}"));
    }
    for chunk in ids.chunks(500) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        for r in engine
            .activate_all(&refs, start)
            .map_err(|e| e.to_string())?
        {
            r.map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn measure(
    label: &'static str,
    store: Arc<dyn Store>,
    callbacks: &str,
    accounts: usize,
    threads: usize,
) -> Result<Measure, String> {
    let (rules, plugins) = load_rules(callbacks)?;
    // The book is built in memory and copied into the store in a few large commits: building it
    // on sled directly would flush once per account, order and activation.
    let (built, _) = load_rules("")?;
    let scratch = Arc::new(MemStore::new());
    book(&Engine::new(scratch.clone(), built), accounts)?;
    let entries = scratch.scan(b"").map_err(|e| e.to_string())?;
    for chunk in entries.chunks(50_000) {
        let mut b = reckon_engine::store::Batch::default();
        for (k, v) in chunk {
            b.put(k.clone(), v.clone());
        }
        store.commit(b).map_err(|e| e.to_string())?;
    }
    drop(entries);
    let engine = Engine::new(store, rules)
        .with_callbacks(Arc::new(plugins))
        .with_run_threads(threads)
        .with_progress(crate::stderr_progress);
    let step: serde_yaml::Value = serde_yaml::from_str(
        "{name: BENCH, process_through: 2026-12-31, invoice_date: 2026-12-31}",
    )
    .map_err(|e| e.to_string())?;
    let on = NaiveDate::from_ymd_opt(2026, 12, 31).ok_or("date")?;
    let t0 = Instant::now();
    let exec = engine
        .invoice_run_step(&step, on)
        .map_err(|e| e.to_string())?;
    let seconds = t0.elapsed().as_secs_f64();
    if exec.failed > 0 {
        return Err(format!("{label}: {} accounts failed", exec.failed));
    }
    Ok(Measure {
        label,
        seconds,
        schedules: exec.schedules,
        invoices: exec.invoices,
    })
}

/// The size of the issue's target book: `--invoices 100000` (or more) measures the target
/// configuration and the two same-run baselines its ratios need, nothing else.
pub const TARGET_ACCOUNTS: usize = 100_000;

/// The issue's target: schedules per second with WASM tax and durable commits.
const TARGET_RATE: f64 = 100_000.0;

const BUILTIN_MEM: &str = "built-in tax, in-memory store";
const BUILTIN_SLED: &str = "built-in tax, sled store (durable commits)";
const WASM_MEM: &str = "WASM tax-us, in-memory store";
const WASM_SLED: &str = "WASM tax-us, sled store (durable commits)";
const WASM_SLED_1: &str = "WASM tax-us, sled store, one thread";
const B5: &str = "WASM tax-us + Rhai grouping, in-memory store";

/// Run the invoice-run benchmark over `accounts` accounts; `examples` is `plugins/examples`
/// (built, for the WASM and Rhai configurations; they are skipped when it is not). Runs prepare
/// accounts on every core; `WASM_SLED_1` is the same run on one thread, for the gain.
pub fn run(examples: &Path, accounts: usize) -> String {
    let mut out = String::new();
    let tax_us = examples.join("dist/tax-us.wasm");
    let grouping = examples.join("rhai/group_by_ready_date.rhai");
    let wasm_tax = format!("callbacks:\n  tax: {{wasm: {}}}\n", tax_us.display());
    let both = format!(
        "callbacks:\n  tax: {{wasm: {}}}\n  invoice_grouping: {{rhai: {}}}\n",
        tax_us.display(),
        grouping.display()
    );
    let target = accounts >= TARGET_ACCOUNTS;
    let tmp = std::env::temp_dir().join(format!("reckon-bench-invoices-{}", std::process::id()));
    let sled = |name: &str| -> Result<Arc<dyn Store>, String> {
        let p = tmp.join(name);
        let _ = std::fs::remove_dir_all(&p);
        Ok(Arc::new(SledStore::open(&p).map_err(|e| e.to_string())?))
    };
    let mem = || -> Arc<dyn Store> { Arc::new(MemStore::new()) };
    let mut configs: Vec<Result<Measure, String>> = Vec::new();
    if !target {
        configs.push(measure(BUILTIN_MEM, mem(), "", accounts, 0));
    }
    configs.push(sled("builtin").and_then(|s| measure(BUILTIN_SLED, s, "", accounts, 0)));
    if tax_us.exists() {
        configs.push(measure(WASM_MEM, mem(), &wasm_tax, accounts, 0));
        configs.push(sled("wasm").and_then(|s| measure(WASM_SLED, s, &wasm_tax, accounts, 0)));
        if !target {
            configs
                .push(sled("wasm1").and_then(|s| measure(WASM_SLED_1, s, &wasm_tax, accounts, 1)));
            configs.push(measure(B5, mem(), &both, accounts, 0));
        }
    } else {
        let _ = writeln!(
            out,
            "WASM configurations skipped: build the examples with plugins/examples/build.sh"
        );
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        out,
        "invoice run over {accounts} accounts × {SCHEDULES} ready schedules (one invoice each, taxed), {cores} cores:"
    );
    let mut got = Vec::new();
    for c in configs {
        match c {
            Ok(m) => {
                let _ = writeln!(
                    out,
                    "  {:<46} {:>8} schedules, {:>7} invoices in {:>7.3} s = {:>9.0} schedules/s",
                    m.label,
                    m.schedules,
                    m.invoices,
                    m.seconds,
                    f64::from(m.schedules) / m.seconds
                );
                got.push(m);
            }
            Err(e) => {
                let _ = writeln!(out, "  failed: {e}");
            }
        }
    }
    let secs = |label: &str| got.iter().find(|m| m.label == label).map(|m| m.seconds);
    if let (Some(mem), Some(sled)) = (secs(WASM_MEM), secs(WASM_SLED)) {
        let _ = writeln!(
            out,
            "  ratio sled / in-memory (WASM tax): {:.2}×",
            sled / mem
        );
    }
    if let (Some(mem), Some(sled)) = (secs(BUILTIN_MEM), secs(BUILTIN_SLED)) {
        let _ = writeln!(
            out,
            "  ratio sled / in-memory (built-in tax): {:.2}×",
            sled / mem
        );
    }
    if let (Some(b), Some(w)) = (secs(BUILTIN_SLED), secs(WASM_SLED)) {
        let _ = writeln!(
            out,
            "  ratio WASM tax / built-in tax (sled): {:.2}× — the plugin's share of the run: {:.0} %",
            w / b,
            100.0 * (w - b) / w
        );
    }
    if let (Some(b), Some(w)) = (secs(BUILTIN_MEM), secs(WASM_MEM)) {
        let _ = writeln!(
            out,
            "  ratio WASM tax / built-in tax (in-memory): {:.2}× — the plugin's share of the run: {:.0} %",
            w / b,
            100.0 * (w - b) / w
        );
    }
    if let (Some(one), Some(all)) = (secs(WASM_SLED_1), secs(WASM_SLED)) {
        let _ = writeln!(
            out,
            "  gain of {cores} threads over one (WASM tax, sled): {:.2}×",
            one / all
        );
    }
    if let (Some(b), Some(p)) = (secs(BUILTIN_MEM), secs(B5)) {
        let _ = writeln!(
            out,
            "  B5: tax-us + Rhai grouping / built-ins: {:.2}× — plugins' share of the run: {:.0} %",
            p / b,
            100.0 * (p - b) / p
        );
    }
    if let Some(m) = got.iter().find(|m| m.label == WASM_SLED) {
        let rate = f64::from(m.schedules) / m.seconds;
        let _ = writeln!(
            out,
            "  target (WASM tax, durable commits) ≥ {TARGET_RATE:.0} schedules/s: {} ({rate:.0}{})",
            if rate >= TARGET_RATE { "met" } else { "missed" },
            if target {
                String::new()
            } else {
                format!("; measured on {accounts} accounts, the target book is {TARGET_ACCOUNTS}")
            }
        );
    }
    out
}

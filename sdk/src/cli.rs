//! The `reckon` command line, as a library function so tests drive exactly what the binary runs.

use crate::{bench, demo, scenario, schedule_table, Reckon};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use reckon_engine::rules;
use reckon_engine::schema_tables::rules_json_schema;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "reckon",
    version,
    about = "Reckon: billing, invoicing and revenue-recognition engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ReportFormat {
    Csv,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Rule files: check a folder, or print the JSON Schema.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Scenario files (spec 08).
    Scenario {
        #[command(subcommand)]
        command: ScenarioCommand,
    },
    /// Show a line's billing schedules (`O-1/L1`).
    Schedules {
        /// The line reference.
        line: String,
        /// Rules folder whose orders are activated (in memory) when no --store is given.
        #[arg(long)]
        rules: Option<PathBuf>,
        /// A sled store written by the SDK.
        #[arg(long)]
        store: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Run the demo company (embedded rules) into a sled store in a new temporary folder (kept,
    /// with the invoices' PDF and HTML documents in its `documents` folder).
    Demo {
        /// Put the store in this folder instead (rules and documents go beside it).
        #[arg(long)]
        store: Option<PathBuf>,
    },
    /// Plugins: run one on a request exactly as the engine would (07 §9).
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// A report over a store, as CSV or JSON (05 §9): ar_aging, dso, account_billing_summary,
    /// billing_dashboard, billing_metrics, invoice_forecast, ar_transactions, invoiced_by,
    /// pending_billing_by, paid_vs_unpaid, tax_by_account, tax_by_country_region,
    /// activated_vs_unactivated_assets; revenue_journal (06 §11), revenue_waterfall and
    /// revenue_reconcile (06 §10) with --legal-entity.
    Report {
        /// The report name.
        name: String,
        /// A sled store written by the SDK.
        #[arg(long)]
        store: PathBuf,
        /// As of this date.
        #[arg(long)]
        as_of: Option<String>,
        /// From (a date; `YYYY-MM` for invoice_forecast).
        #[arg(long)]
        from: Option<String>,
        /// To (a date; `YYYY-MM` for invoice_forecast).
        #[arg(long)]
        to: Option<String>,
        /// One account.
        #[arg(long)]
        account: Option<String>,
        /// One currency.
        #[arg(long)]
        currency: Option<String>,
        /// One row per invoice too (ar_aging).
        #[arg(long)]
        detail: bool,
        /// DSO method: standard or countback.
        #[arg(long)]
        method: Option<String>,
        /// Grouping of invoiced_by and pending_billing_by: account, location, country, product,
        /// price_type.
        #[arg(long)]
        by: Option<String>,
        /// Legal entity (revenue_journal, revenue_waterfall).
        #[arg(long)]
        legal_entity: Option<String>,
        /// Period `YYYY-MM` (revenue_journal: a closed period).
        #[arg(long)]
        period: Option<String>,
        /// Output format: csv or json (anything else is `bad_format`).
        #[arg(long, default_value = "csv")]
        format: String,
    },
    /// Benchmarks with same-run baselines.
    Bench {
        /// Lines for schedule generation.
        #[arg(long, default_value_t = 100_000)]
        lines: usize,
        /// Orders for activation throughput.
        #[arg(long, default_value_t = 2_000)]
        orders: usize,
        /// Run the plugin benchmarks (07 §12) instead, with this many calls per measurement.
        #[arg(long)]
        plugins: Option<usize>,
        /// Run the invoice-run benchmark (04) instead, over this many accounts × 10 schedules.
        #[arg(long)]
        invoices: Option<usize>,
        /// Run the revenue benchmark (06) instead: this many agreements × 36 month-end closes.
        #[arg(long)]
        revenue: Option<usize>,
        /// Run the asset-change benchmark (03) instead: this many amendments on lines of 36
        /// schedules.
        #[arg(long)]
        changes: Option<usize>,
        /// Run the receivables benchmark (05) instead: this many payments auto-applied over
        /// N / 10 accounts' invoices, then the aging of the book.
        #[arg(long)]
        payments: Option<usize>,
        /// Run the usage-rating benchmark (03 B) instead: this many usage inputs loaded and
        /// rated in batches.
        #[arg(long)]
        usage: Option<usize>,
    },
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Validate a rules folder; prints every error, exits 2 when there are any.
    Check {
        /// The folder.
        dir: PathBuf,
    },
    /// Print the JSON Schema of rule files (for editor completion).
    Schema,
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Load PATH (.wasm or .rhai) for POINT and call it on INPUT.json.
    Test {
        /// The callback point (tax, invoice_grouping, invoice_numbering, invoice_run_filter,
        /// transaction_price, revenue_allocation, obligation_merge).
        #[arg(long)]
        point: String,
        /// The plugin file.
        path: PathBuf,
        /// The point's request in the contract's JSON form.
        input: PathBuf,
        /// `request.config` entries.
        #[arg(long = "config", value_name = "K=V")]
        config: Vec<String>,
        /// A YAML limits map (07 §5).
        #[arg(long)]
        limits: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// Print wall time.
        #[arg(long)]
        stats: bool,
    },
}

#[derive(Subcommand)]
enum ScenarioCommand {
    /// Run scenario files or folders.
    Run {
        /// Files or folders.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
}

/// Run the command line `args` (the first is the program name), writing its output to `out`;
/// returns the exit status (0 ok, 1 scenario failures, 2 invalid input).
pub fn run<I, T>(args: I, out: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = write!(out, "{}", e.render());
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match dispatch(cli, out) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(out, "error: {e:#}");
            2
        }
    }
}

fn dispatch(cli: Cli, out: &mut dyn Write) -> Result<i32> {
    match cli.command {
        Command::Rules {
            command: RulesCommand::Check { dir },
        } => match rules::load_dir(&dir)
            .and_then(|set| reckon_plugin_host::load(&set).map(|p| (set, p)))
        {
            Ok((set, plugins)) => {
                writeln!(
                    out,
                    "{}: ok ({} preferences, {} payment terms, {} products, {} plugin(s))",
                    dir.display(),
                    set.preferences.len(),
                    set.payment_terms.len(),
                    set.products.len(),
                    plugins.len()
                )?;
                Ok(0)
            }
            Err(errors) => {
                for e in &errors {
                    writeln!(out, "{e}")?;
                }
                writeln!(out, "{} error(s)", errors.len())?;
                Ok(2)
            }
        },
        Command::Rules {
            command: RulesCommand::Schema,
        } => {
            writeln!(
                out,
                "{}",
                serde_json::to_string_pretty(&rules_json_schema())?
            )?;
            Ok(0)
        }
        Command::Scenario {
            command: ScenarioCommand::Run { paths, format },
        } => {
            let report = scenario::run_paths(&paths);
            match format {
                Format::Text => write!(out, "{}", report.text())?,
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
            }
            Ok(report.exit_code())
        }
        Command::Schedules {
            line,
            rules,
            store,
            format,
        } => {
            let reckon = match (&store, &rules) {
                (Some(s), _) => {
                    Reckon::open(s).with_context(|| format!("opening store {}", s.display()))?
                }
                (None, Some(dir)) => {
                    let mut r = Reckon::in_memory();
                    r.load_rules(dir)?;
                    r.load_rule_data()?;
                    let orders = r.engine().rules().orders.clone();
                    for o in orders {
                        r.activate(&o.id, o.order_date.unwrap_or_default())?;
                    }
                    r
                }
                (None, None) => anyhow::bail!("give --store DIR or --rules DIR"),
            };
            let rows = reckon.schedules(&line)?;
            match format {
                Format::Text => write!(out, "{}", schedule_table(&rows))?,
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?,
            }
            Ok(0)
        }
        Command::Demo { store } => {
            let dir = match store {
                Some(d) => d,
                // Kept, so the documents it prints can be opened afterwards.
                None => tempfile::Builder::new()
                    .prefix("reckon-demo-")
                    .tempdir()?
                    .keep()
                    .join("store"),
            };
            write!(out, "{}", demo::run(&dir)?)?;
            Ok(0)
        }
        Command::Plugin {
            command:
                PluginCommand::Test {
                    point,
                    path,
                    input,
                    config,
                    limits,
                    format,
                    stats,
                },
        } => crate::plugin_test::run(
            &point,
            &path,
            &input,
            &config,
            limits.as_deref(),
            format == Format::Json,
            stats,
            out,
        ),
        Command::Report {
            name,
            store,
            as_of,
            from,
            to,
            account,
            currency,
            detail,
            method,
            by,
            legal_entity,
            period,
            format,
        } => {
            let format = match format.as_str() {
                "csv" => ReportFormat::Csv,
                "json" => ReportFormat::Json,
                other => {
                    return Err(reckon_engine::EngineError::refused(
                        reckon_engine::Code::BadFormat,
                        "report",
                        "format",
                        format!("`{other}` is not csv or json"),
                    )
                    .into())
                }
            };
            let reckon = Reckon::open(&store)
                .with_context(|| format!("opening store {}", store.display()))?;
            if name == "revenue_journal" {
                // 06 §11: the journal's own CSV and JSON shapes.
                let journal = reckon.engine().revenue_journal(
                    legal_entity.as_deref().unwrap_or_default(),
                    period.as_deref().unwrap_or_default(),
                )?;
                match format {
                    ReportFormat::Csv => write!(out, "{}", journal.to_csv())?,
                    ReportFormat::Json => writeln!(out, "{}", journal.to_json())?,
                }
                return Ok(0);
            }
            let q = crate::report::ReportQuery {
                as_of,
                from,
                to,
                account,
                currency,
                detail,
                method,
                by,
                legal_entity,
                period,
            };
            let report = crate::report::build(reckon.engine(), &name, &q)?;
            match format {
                ReportFormat::Csv => write!(out, "{}", report.to_csv())?,
                ReportFormat::Json => writeln!(out, "{}", report.to_json())?,
            }
            Ok(0)
        }
        Command::Bench {
            revenue: Some(agreements),
            ..
        } => {
            write!(out, "{}", crate::bench_revenue::run(agreements))?;
            Ok(0)
        }
        Command::Bench {
            plugins: Some(calls),
            ..
        } => {
            write!(
                out,
                "{}",
                crate::bench_plugins::run(std::path::Path::new("plugins/examples"), calls)
            )?;
            Ok(0)
        }
        Command::Bench {
            payments: Some(n), ..
        } => {
            write!(out, "{}", crate::bench_payments::run(n))?;
            Ok(0)
        }
        Command::Bench { usage: Some(n), .. } => {
            write!(out, "{}", crate::bench_usage::run(n))?;
            Ok(0)
        }
        Command::Bench {
            changes: Some(n), ..
        } => {
            write!(out, "{}", crate::bench_changes::run(n))?;
            Ok(0)
        }
        Command::Bench {
            invoices: Some(accounts),
            ..
        } => {
            write!(
                out,
                "{}",
                crate::bench_invoices::run(std::path::Path::new("plugins/examples"), accounts)
            )?;
            Ok(0)
        }
        Command::Bench { lines, orders, .. } => {
            write!(out, "{}", bench::run(bench::BenchConfig { lines, orders }))?;
            Ok(0)
        }
    }
}

//! # reckon-sdk
//!
//! What a host application calls: open a store, load rules, send accounts, legal entities and
//! orders, activate them, read their billing schedules, and render invoices and credit memos as
//! PDF, HTML or JSON documents ([`Reckon::render`], [`documents`]). Also the scenario runner
//! ([`scenario`]), the demo company ([`demo`]) and the benchmark ([`bench`]) behind the `reckon`
//! command.
//!
//! ```
//! use reckon_sdk::Reckon;
//! let mut r = Reckon::in_memory();
//! r.load_rules_str("rules.yaml", "
//! products:
//!   - {code: ACE, price_type: recurring, list_price: 100, billing_frequency: monthly}
//! ").unwrap();
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod bench_changes;
pub mod bench_invoices;
pub mod bench_payments;
pub mod bench_plugins;
pub mod bench_revenue;
pub mod bench_usage;
pub mod cli;
pub mod demo;
pub mod documents;
pub mod mail;
pub mod plugin_test;
pub mod report;
pub mod scenario;

use reckon_documents::Templates;
pub use reckon_documents::{DocumentError, Format};
pub use reckon_engine as engine;
use reckon_engine::engine::Activation;
use reckon_engine::model::{Account, LegalEntity, Order};
use reckon_engine::rules::{self, RuleError, RuleSet};
use reckon_engine::store::{MemStore, SledStore, Store, StoreError};
use reckon_engine::{Engine, EngineError, Schedule};
use std::path::Path;
use std::sync::Arc;

/// Show an invoice run's progress on standard error, for runs of at least 1,000 accounts: one
/// line rewritten after every commit, ended when the run is done.
pub fn stderr_progress(p: &reckon_engine::billing::run::RunProgress) {
    use std::io::Write;
    if p.accounts_total < 1_000 {
        return;
    }
    let pct = p.accounts_done * 100 / p.accounts_total.max(1);
    let mut err = std::io::stderr().lock();
    let _ = write!(
        err,
        "\r{}: {}/{} accounts ({pct}%), {} schedules billed",
        p.run, p.accounts_done, p.accounts_total, p.schedules
    );
    if p.done {
        let _ = writeln!(err);
    }
    let _ = err.flush();
}

/// SDK errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SdkError {
    /// Rule files (or the plugins they register) did not validate (every error, with file:line:col).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
    Rules(Vec<RuleError>),
    /// The engine refused a step.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The store could not be opened.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A file could not be written or read.
    #[error("{0}")]
    Io(String),
    /// A document could not be rendered (`unknown_template`, `template_kind_mismatch`,
    /// `render_failed`); [`DocumentError::code`] is its code.
    #[error(transparent)]
    Document(#[from] DocumentError),
}

impl SdkError {
    /// The snake_case code of an engine or document error (`unknown_invoice`,
    /// `unknown_template`, …); `rule_error`, `store_error`, `io_error` otherwise.
    pub fn code(&self) -> &'static str {
        match self {
            SdkError::Rules(_) => "rule_error",
            SdkError::Engine(e) => e.code(),
            SdkError::Store(_) => "store_error",
            SdkError::Io(_) => "io_error",
            SdkError::Document(e) => e.code(),
        }
    }
}

/// A Reckon instance: an engine over a store.
pub struct Reckon {
    engine: Engine,
    templates: Templates,
}

impl Reckon {
    /// Open (or create) a durable sled store in a folder.
    pub fn open(path: &Path) -> Result<Self, SdkError> {
        let store: Arc<dyn Store> = Arc::new(SledStore::open(path)?);
        Ok(Reckon {
            engine: Engine::new(store, RuleSet::default()),
            templates: Templates::new(),
        })
    }

    /// An in-memory instance (tests, previews).
    pub fn in_memory() -> Self {
        Reckon {
            engine: Engine::new(Arc::new(MemStore::new()), RuleSet::default()),
            templates: Templates::new(),
        }
    }

    /// Load and validate a rules folder and the plugins it registers; on error nothing changes.
    pub fn load_rules(&mut self, dir: &Path) -> Result<&RuleSet, SdkError> {
        let set = rules::load_dir(dir).map_err(SdkError::Rules)?;
        self.install(set)
    }

    /// Load rules from one YAML text (plugin paths relative to `file`).
    pub fn load_rules_str(&mut self, file: &str, text: &str) -> Result<&RuleSet, SdkError> {
        let set = rules::load_str(file, text).map_err(SdkError::Rules)?;
        self.install(set)
    }

    /// Install a validated rule set: load its plugins, then swap both in together.
    pub fn install(&mut self, set: RuleSet) -> Result<&RuleSet, SdkError> {
        let plugins = reckon_plugin_host::load(&set).map_err(SdkError::Rules)?;
        let templates = documents::templates_of(&set)?;
        self.engine.set_rules(set);
        self.engine.set_callbacks(Arc::new(plugins));
        self.templates = templates;
        Ok(self.engine.rules())
    }

    /// Send the accounts, legal entities and orders that the rules folder itself declares.
    pub fn load_rule_data(&self) -> Result<(), SdkError> {
        let rules = self.engine.rules().clone();
        for le in rules.legal_entities {
            self.engine.upsert_legal_entity(le)?;
        }
        for a in rules.accounts {
            self.engine.upsert_account(a)?;
        }
        for o in rules.orders {
            self.engine.submit_order(o)?;
        }
        Ok(())
    }

    /// Insert or replace an account.
    pub fn upsert_account(&self, a: Account) -> Result<(), SdkError> {
        Ok(self.engine.upsert_account(a)?)
    }

    /// Insert or replace a legal entity.
    pub fn upsert_legal_entity(&self, le: LegalEntity) -> Result<(), SdkError> {
        Ok(self.engine.upsert_legal_entity(le)?)
    }

    /// Submit an order (not yet active).
    pub fn submit_order(&self, o: Order) -> Result<(), SdkError> {
        Ok(self.engine.submit_order(o)?)
    }

    /// Activate an order on a date: all or nothing, durable on return.
    pub fn activate(&self, order: &str, on: chrono::NaiveDate) -> Result<Activation, SdkError> {
        Ok(self.engine.activate(order, on)?)
    }

    /// The schedules of a line (`O-1/L1`).
    pub fn schedules(&self, line: &str) -> Result<Vec<Schedule>, SdkError> {
        Ok(self.engine.schedules(line)?)
    }

    /// Month-end close for revenue (06 §8, §9): generate the actuals of legal entity
    /// `legal_entity` for every open period up to and including `month` (`YYYY-MM`) — one
    /// revenue run per month, named `close-{legal_entity}-{YYYY-MM}`, so a repeat changes
    /// nothing — close each of them, and return the entity's revenue waterfall (actual rows of
    /// the closed months, the rules' projection after).
    ///
    /// # Errors
    /// `period_closed` when `month` is already closed; a failed agreement in a run refuses the
    /// close with `period_has_eligible_agreements` (the run's entries say why).
    pub fn close_revenue_month(
        &self,
        legal_entity: &str,
        month: &str,
    ) -> Result<reckon_engine::revenue::waterfall::Waterfall, SdkError> {
        use reckon_engine::revenue::calc::{parse_period, period_name};
        use reckon_engine::revenue::run::{RevenueRunDef, RunKind};
        let target = parse_period(month).ok_or_else(|| {
            EngineError::refused(
                reckon_engine::Code::InvalidRecord,
                format!("legal entity {legal_entity}"),
                "month",
                format!("`{month}` is not YYYY-MM"),
            )
        })?;
        let current = |e: &Engine| {
            e.revenue_period(legal_entity)
                .map(|p| reckon_engine::dates::month_index(p.current))
        };
        if current(&self.engine)? > target {
            return Err(EngineError::refused(
                reckon_engine::Code::PeriodClosed,
                format!("legal entity {legal_entity}"),
                "month",
                format!("{month} is already closed"),
            )
            .into());
        }
        while current(&self.engine)? <= target {
            let p = period_name(current(&self.engine)?);
            self.engine.revenue_run(&RevenueRunDef {
                name: format!("close-{legal_entity}-{p}"),
                kind: RunKind::Actual,
                run_type: None,
                legal_entity: Some(legal_entity.to_string()),
                period: Some(p),
                filters: Vec::new(),
                filter_logic: None,
                schedule: None,
            })?;
            self.engine.close_period(legal_entity)?;
        }
        Ok(self.engine.revenue_waterfall(legal_entity)?)
    }

    /// Render an invoice or credit memo (`invoice:ACME#1`) as PDF, HTML or JSON (04 §11.2);
    /// returns its file name (04 §7, e.g. `NW-000001_default_invoice_2026-02-12.pdf`) and bytes.
    /// The same records give the same bytes.
    ///
    /// The template is the first found of the document's `template` (its run's), the location's
    /// and then the account's `invoice_template` / `credit_memo_template`, else the built-in
    /// `default_invoice` / `default_credit_memo`; custom templates come from the `templates`
    /// rule document (04 §2.4). Nothing is stored ([`Reckon::render_and_store`] keeps a version).
    ///
    /// # Errors
    /// `unknown_invoice` / `unknown_credit_memo` ([`SdkError::Engine`]); `unknown_template`,
    /// `template_kind_mismatch`, `render_failed` ([`SdkError::Document`]).
    pub fn render(&self, reference: &str, format: Format) -> Result<(String, Vec<u8>), SdkError> {
        documents::render(&self.engine, &self.templates, reference, format)
    }

    /// Render an invoice or credit memo in its format (the preference's `invoice_format`) and
    /// store it as the document's next version (04 §11.2); the versions are listed by
    /// [`Engine::document_versions`], the bytes read by [`Engine::document_bytes`].
    ///
    /// # Errors
    /// As [`Reckon::render`].
    pub fn render_and_store(
        &self,
        reference: &str,
        on: chrono::NaiveDate,
    ) -> Result<reckon_engine::billing::versions::DocumentVersion, SdkError> {
        documents::render_and_store(&self.engine, &self.templates, reference, on)
    }

    /// An invoice run step (04 §12: inline, or a rules run by `name`) at `on`, then its
    /// documents rendered (`generate_documents`) and auto-sent (`auto_send`) as
    /// [`documents::after_run`] does.
    pub fn invoice_run(
        &self,
        step: &serde_yaml::Value,
        on: chrono::NaiveDate,
    ) -> Result<reckon_engine::billing::RunExecution, SdkError> {
        let exec = self.engine.invoice_run_step(step, on)?;
        if let Some(def) = documents::run_definition(&self.engine, &exec.run, Some(step)) {
            documents::after_run(&self.engine, &self.templates, &def, &exec, on)?;
        }
        Ok(exec)
    }

    /// `send: REF` at `now`: queue an e-mail of an approved document (04 §11.3).
    ///
    /// # Errors
    /// `document_not_approved`, `no_recipients`, `email_not_configured`, template errors.
    pub fn send(
        &self,
        reference: &str,
        now: chrono::NaiveDateTime,
    ) -> Result<reckon_engine::billing::outbox::OutboxEntry, SdkError> {
        documents::send(&self.engine, &self.templates, reference, now, "send")
    }

    /// One pass of the e-mail worker at `now` over `transport` (04 §11.3): queue the documents
    /// of the delivery window, then attempt every due entry once.
    pub fn deliver_emails(
        &self,
        transport: &mut dyn mail::Transport,
        now: chrono::NaiveDateTime,
    ) -> Result<Vec<reckon_engine::billing::outbox::OutboxEntry>, SdkError> {
        documents::deliver_emails(&self.engine, &self.templates, transport, now)
    }

    /// The engine, for everything else.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The engine, mutably.
    pub fn engine_mut(&mut self) -> &mut Engine {
        &mut self.engine
    }
}

/// Render schedules as an aligned text table.
pub fn schedule_table(rows: &[Schedule]) -> String {
    let mut out = String::from("ref           start       end         ready       amount      quantity  type           status\n");
    for s in rows {
        out.push_str(&format!(
            "{:<13} {} {} {} {:>10}  {:>8}  {:<14} {}\n",
            s.id,
            s.start,
            s.end,
            s.ready,
            s.amount,
            s.quantity,
            serde_json::to_value(s.schedule_type)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            serde_json::to_value(s.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
        ));
    }
    out
}

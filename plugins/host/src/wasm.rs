//! The WASM host (07 §6): one wasmtime `Engine` per process with fuel, an epoch ticker and a
//! pooling allocator; components checked at load and pre-instantiated; a fresh `Store` per call;
//! outputs lifted through lazy guest views with a byte budget, then decoded.

use crate::bindings::reckon::plugins::host as wit_host;
use crate::bindings::reckon::plugins::types as wit;
use crate::calllog::{CallLog, Level};
use crate::error::{FailureKind, PluginFailure, PluginLoadError};
use crate::limits::Limits;
use crate::point::Point;
use reckon_engine::callbacks as cb;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::{
    Component, ComponentType, HasSelf, InstancePre, Lift, Linker, WasmList, WasmStr,
};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store,
    Strategy, Trap,
};

/// Largest component accepted (07 §5).
pub const MAX_COMPONENT_BYTES: u64 = 4 * 1024 * 1024;
/// Concurrent calls (pool slots).
pub const POOL_SLOTS: u32 = 32;
/// Epoch tick.
pub const TICK: Duration = Duration::from_millis(10);
const MAX_MEMORY_MIB: usize = 256;

fn build_engine() -> Result<Engine, String> {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(POOL_SLOTS)
        .total_core_instances(POOL_SLOTS * 8)
        .total_memories(POOL_SLOTS)
        .total_tables(POOL_SLOTS * 4)
        .max_memory_size(MAX_MEMORY_MIB << 20)
        .max_core_instances_per_component(8)
        .max_memories_per_component(1)
        .max_tables_per_component(4)
        .table_elements(10_000)
        .linear_memory_keep_resident(256 << 10)
        .table_keep_resident(256 << 10);
    let mut cfg = Config::new();
    // Threads, SIMD-threads and async are not compiled into this wasmtime build at all.
    cfg.consume_fuel(true)
        .epoch_interruption(true)
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .wasm_memory64(false)
        .wasm_gc(false)
        .max_wasm_stack(512 << 10)
        .strategy(Strategy::Cranelift)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    let engine = Engine::new(&cfg).map_err(|e| e.to_string())?;
    let ticker = engine.weak();
    std::thread::Builder::new()
        .name("reckon-epoch".into())
        .spawn(move || {
            while let Some(e) = ticker.upgrade() {
                e.increment_epoch();
                drop(e);
                std::thread::sleep(TICK);
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(engine)
}

/// The process-wide engine.
pub fn engine() -> Result<&'static Engine, String> {
    static ENGINE: OnceLock<Result<Engine, String>> = OnceLock::new();
    ENGINE
        .get_or_init(build_engine)
        .as_ref()
        .map_err(Clone::clone)
}

/// Per-call store data.
pub struct State {
    log: CallLog,
    limiter: Limiter,
}

struct Limiter {
    memory_max: usize,
    denied: Option<&'static str>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_max {
            // Trap on a denied growth rather than let the guest see -1 and carry on.
            self.denied = Some("memory");
            wasmtime::bail!(
                "memory growth to {desired} bytes denied (limit {})",
                self.memory_max
            );
        }
        Ok(true)
    }
    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > 10_000 {
            self.denied = Some("table");
            wasmtime::bail!("table growth to {desired} elements denied (limit 10000)");
        }
        Ok(true)
    }
    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        Err(error)
    }
    fn instances(&self) -> usize {
        8
    }
    fn tables(&self) -> usize {
        4
    }
    fn memories(&self) -> usize {
        1
    }
}

impl wit::Host for State {}

impl wit_host::Host for State {
    fn log(&mut self, level: wit::LogLevel, message: String) -> wasmtime::Result<()> {
        if !self.log.host_call() {
            wasmtime::bail!("host call budget exhausted");
        }
        let level = match level {
            wit::LogLevel::Trace => Level::Trace,
            wit::LogLevel::Debug => Level::Debug,
            wit::LogLevel::Info => Level::Info,
            wit::LogLevel::Warn => Level::Warn,
            wit::LogLevel::Error => Level::Error,
        };
        self.log.push(level, &message);
        Ok(())
    }
}

/// A loaded, pre-instantiated component for one point.
pub struct WasmPlugin {
    pre: InstancePre<State>,
    point: Point,
    name: String,
    limits: Limits,
}

impl std::fmt::Debug for WasmPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmPlugin")
            .field("name", &self.name)
            .field("point", &self.point)
            .finish()
    }
}

const ALLOWED_IMPORTS: [&str; 2] = ["reckon:plugins/types@0.1.0", "reckon:plugins/host@0.1.0"];

impl WasmPlugin {
    /// Load a component's bytes (07 §6.2).
    pub fn load(
        name: &str,
        file: &str,
        bytes: &[u8],
        point: Point,
        limits: Limits,
    ) -> Result<Self, PluginLoadError> {
        let err = |reason, message: String| PluginLoadError {
            plugin: name.to_string(),
            file: file.to_string(),
            reason,
            message,
        };
        if bytes.len() as u64 > MAX_COMPONENT_BYTES {
            return Err(err(
                "too_large",
                format!("{} bytes, at most {MAX_COMPONENT_BYTES}", bytes.len()),
            ));
        }
        if wasmparser::Parser::is_core_wasm(bytes) {
            return Err(err("not_a_component", "a core WebAssembly module; plugins are components (build for wasm32-wasip2 with reckon-plugin-sdk)".into()));
        }
        if !wasmparser::Parser::is_component(bytes) {
            return Err(err(
                "invalid_wasm",
                "not a WebAssembly component (bad magic or version)".into(),
            ));
        }
        let mut validator =
            wasmparser::Validator::new_with_features(wasmparser::WasmFeatures::default());
        validator
            .validate_all(bytes)
            .map_err(|e| err("invalid_wasm", e.to_string()))?;
        // Imports (by name) and declared memory minimums, read before wasmtime compiles anything.
        let mut imports = Vec::new();
        let mut max_min_pages = 0u64;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            match payload.map_err(|e| err("invalid_wasm", e.to_string()))? {
                wasmparser::Payload::ComponentImportSection(r) => {
                    for imp in r {
                        let imp = imp.map_err(|e| err("invalid_wasm", e.to_string()))?;
                        // Type imports are the world's `use`d types (exported by the allowed
                        // interfaces); only instances and functions carry authority.
                        if !matches!(imp.ty, wasmparser::ComponentTypeRef::Type(_)) {
                            imports.push(imp.name.name.to_string());
                        }
                    }
                }
                wasmparser::Payload::MemorySection(r) => {
                    for m in r {
                        let m = m.map_err(|e| err("invalid_wasm", e.to_string()))?;
                        max_min_pages = max_min_pages.max(m.initial);
                    }
                }
                _ => {}
            }
        }
        let bad: Vec<&String> = imports
            .iter()
            .filter(|i| !ALLOWED_IMPORTS.contains(&i.as_str()))
            .collect();
        if let Some(first) = bad.first() {
            let rest = if bad.len() > 1 {
                format!(" (and {} more)", bad.len() - 1)
            } else {
                String::new()
            };
            if first.starts_with("wasi:") {
                return Err(err("forbidden_import", format!("imports {first}{rest}; reckon plugins may import no WASI; build with reckon-plugin-sdk (no_std)")));
            }
            return Err(err(
                "unknown_import",
                format!(
                    "imports {first}{rest}; allowed: {}",
                    ALLOWED_IMPORTS.join(", ")
                ),
            ));
        }
        let cap_pages = limits.memory_mib * 16;
        if max_min_pages > cap_pages {
            return Err(err(
                "memory_too_large",
                format!(
                    "declares {max_min_pages} pages of memory, the limit is {cap_pages} ({} MiB)",
                    limits.memory_mib
                ),
            ));
        }
        let engine = engine().map_err(|e| err("compile_failed", e))?;
        let component =
            Component::new(engine, bytes).map_err(|e| err("compile_failed", format!("{e:#}")))?;
        let mut linker: Linker<State> = Linker::new(engine);
        wit_host::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| err("compile_failed", e.to_string()))?;
        wit::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| err("compile_failed", e.to_string()))?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| err("world_mismatch", format!("{e:#}")))?;
        let plugin = WasmPlugin {
            pre,
            point,
            name: name.to_string(),
            limits,
        };
        plugin.typecheck().map_err(|m| {
            let exports: Vec<String> = component
                .component_type()
                .exports(engine)
                .map(|(n, _)| n.to_string())
                .collect();
            err(
                "world_mismatch",
                format!(
                    "expected world {} exporting `{}`: {m}; found exports [{}]",
                    point.world(),
                    point.export(),
                    exports.join(", ")
                ),
            )
        })?;
        Ok(plugin)
    }

    fn store(&self) -> Result<Store<State>, String> {
        let engine = engine()?;
        let mut store = Store::new(
            engine,
            State {
                log: CallLog::new(self.limits.max_log_bytes, self.limits.max_host_calls),
                limiter: Limiter {
                    memory_max: (self.limits.memory_mib as usize) << 20,
                    denied: None,
                },
            },
        );
        store.limiter(|s| &mut s.limiter);
        store
            .set_fuel(self.limits.fuel)
            .map_err(|e| e.to_string())?;
        store.set_epoch_deadline(
            self.limits
                .timeout_ms
                .div_ceil(TICK.as_millis() as u64)
                .max(1),
        );
        store.epoch_deadline_trap();
        Ok(store)
    }

    fn typecheck(&self) -> Result<(), String> {
        let mut store = self.store()?;
        let instance = self
            .pre
            .instantiate(&mut store)
            .map_err(|e| format!("{e:#}"))?;
        let r = match self.point {
            Point::Tax => instance.get_typed_func::<(&wit::TaxRequest,), (Result<WasmList<RawLineTax>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::InvoiceGrouping => instance.get_typed_func::<(&wit::GroupingRequest,), (Result<WasmList<RawGroup>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::InvoiceNumbering => instance.get_typed_func::<(&wit::NumberingRequest,), (Result<WasmStr, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::InvoiceRunFilter => instance.get_typed_func::<(&wit::FilterRequest,), (Result<WasmList<WasmStr>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::TransactionPrice | Point::RevenueAllocation => instance
                .get_typed_func::<(&wit::AgreementRequest,), (Result<WasmList<RawLineAmount>, RawError>,)>(&mut store, self.point.export())
                .map(|_| ()),
            Point::ObligationMerge => instance.get_typed_func::<(&wit::ObligationRequest,), (Result<WasmList<RawPlan>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
        };
        r.map_err(|e| format!("{e:#}"))
    }

    fn fail(&self, kind: FailureKind, msg: impl Into<String>) -> PluginFailure {
        PluginFailure::new(self.point, &self.name, kind, msg)
    }

    fn classify(&self, e: wasmtime::Error, state: &State) -> PluginFailure {
        if state.log.rejected {
            return self.fail(
                FailureKind::HostCallRejected,
                format!("more than {} host calls", self.limits.max_host_calls),
            );
        }
        if let Some(what) = state.limiter.denied {
            return self.fail(
                FailureKind::MemoryLimit,
                format!(
                    "{what} growth denied (limit {} MiB)",
                    self.limits.memory_mib
                ),
            );
        }
        match e.downcast_ref::<Trap>() {
            Some(Trap::OutOfFuel) => self.fail(
                FailureKind::BudgetExceeded,
                format!("fuel {} exhausted", self.limits.fuel),
            ),
            Some(Trap::Interrupt) => self.fail(
                FailureKind::Timeout,
                format!("exceeded {} ms", self.limits.timeout_ms),
            ),
            Some(Trap::StackOverflow) => self.fail(
                FailureKind::StackOverflow,
                "wasm stack exhausted".to_string(),
            ),
            Some(t) => {
                let code = match t {
                    Trap::UnreachableCodeReached => "unreachable".to_string(),
                    Trap::IntegerDivisionByZero => "integer_divide_by_zero".to_string(),
                    Trap::MemoryOutOfBounds => "memory_out_of_bounds".to_string(),
                    Trap::IntegerOverflow => "integer_overflow".to_string(),
                    Trap::TableOutOfBounds => "table_out_of_bounds".to_string(),
                    Trap::IndirectCallToNull => "indirect_call_to_null".to_string(),
                    Trap::BadSignature => "bad_signature".to_string(),
                    Trap::BadConversionToInteger => "bad_conversion_to_integer".to_string(),
                    other => snake(&format!("{other:?}")),
                };
                self.fail(FailureKind::Trap, t.to_string()).reason(code)
            }
            None => {
                let msg = format!("{e:#}");
                if msg.contains("instance") && (msg.contains("limit") || msg.contains("pool")) {
                    self.fail(FailureKind::MemoryLimit, msg)
                } else {
                    self.fail(FailureKind::InvalidOutput, msg)
                        .reason("lift_failed")
                }
            }
        }
    }

    /// Call the point with a request; the decoded output (not yet validated against §4).
    pub fn call(&self, req: &Request<'_>) -> (Result<Output, PluginFailure>, CallLog) {
        let mut store = match self.store() {
            Ok(s) => s,
            Err(e) => {
                return (
                    Err(self.fail(FailureKind::Trap, e).reason("host")),
                    CallLog::default(),
                )
            }
        };
        let instance = match self.pre.instantiate(&mut store) {
            Ok(i) => i,
            Err(e) => {
                let f = self.classify(e, store.data());
                let log = std::mem::take(&mut store.data_mut().log);
                let f = if f.kind == FailureKind::InvalidOutput {
                    PluginFailure {
                        kind: FailureKind::MemoryLimit,
                        reason: None,
                        ..f
                    }
                } else {
                    f
                };
                return (Err(f), log);
            }
        };
        let budget = (self.limits.max_output_kib as usize) * 1024;
        let name = self.point.export();
        macro_rules! run {
            ($req:expr, $raw:ty, $lift:expr) => {{
                match instance.get_typed_func::<(_,), (Result<$raw, RawError>,)>(&mut store, name) {
                    Err(e) => Err(self
                        .fail(FailureKind::Trap, format!("{e:#}"))
                        .reason("world_mismatch")),
                    Ok(func) => match func.call(&mut store, ($req,)) {
                        Err(e) => Err(self.classify(e, store.data())),
                        Ok((Err(pe),)) => self.plugin_error(&mut store, pe),
                        Ok((Ok(raw),)) => {
                            let mut lifter = Lifter { budget, used: 0 };
                            let r = $lift(&mut lifter, &mut store, raw);
                            r.map_err(|le: LiftError| match le {
                                LiftError::TooLarge => self.fail(
                                    FailureKind::OutputTooLarge,
                                    format!("output over {} KiB", self.limits.max_output_kib),
                                ),
                                LiftError::Bad(m) => self
                                    .fail(FailureKind::InvalidOutput, m)
                                    .reason("lift_failed"),
                            })
                        }
                    },
                }
            }};
        }
        let out = match req {
            Request::Tax(r) => run!(
                &crate::conv::tax(r),
                WasmList<RawLineTax>,
                |l: &mut Lifter, s: &mut Store<State>, raw| l.line_taxes(s, raw).map(Output::Tax)
            ),
            Request::Grouping(r) => run!(
                &crate::conv::grouping(r),
                WasmList<RawGroup>,
                |l: &mut Lifter, s: &mut Store<State>, raw| l.groups(s, raw).map(Output::Grouping)
            ),
            Request::Numbering(r) => run!(
                &crate::conv::numbering(r),
                WasmStr,
                |l: &mut Lifter, s: &mut Store<State>, raw| l
                    .string(s, &raw)
                    .map(Output::Numbering)
            ),
            Request::Filter(r) => run!(
                &crate::conv::filter(r),
                WasmList<WasmStr>,
                |l: &mut Lifter, s: &mut Store<State>, raw| l.strings(s, &raw).map(Output::Filter)
            ),
            Request::Agreement(r) => run!(
                &crate::conv::agreement_request(r),
                WasmList<RawLineAmount>,
                |l: &mut Lifter, s: &mut Store<State>, raw| l.amounts(s, raw).map(Output::Amounts)
            ),
            Request::Obligation(r) => run!(
                &crate::conv::obligation(r),
                WasmList<RawPlan>,
                |l: &mut Lifter, s: &mut Store<State>, raw| l.plans(s, raw).map(Output::Plans)
            ),
        };
        let log = std::mem::take(&mut store.data_mut().log);
        (out, log)
    }

    fn plugin_error<T>(&self, store: &mut Store<State>, pe: RawError) -> Result<T, PluginFailure> {
        let mut l = Lifter {
            budget: 2048,
            used: 0,
        };
        let code = l.string(store, &pe.code).unwrap_or_else(|_| "error".into());
        let message = l.string(store, &pe.message).unwrap_or_default();
        let code: String = code.chars().take(64).collect();
        let mut end = message.len().min(1024);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        Err(self
            .fail(FailureKind::PluginError, &message[..end])
            .reason(code))
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A request for any point.
pub enum Request<'a> {
    /// tax
    Tax(&'a cb::TaxRequest),
    /// invoice_grouping
    Grouping(&'a cb::GroupingRequest),
    /// invoice_numbering
    Numbering(&'a cb::NumberingRequest),
    /// invoice_run_filter
    Filter(&'a cb::FilterRequest),
    /// transaction_price, revenue_allocation
    Agreement(&'a cb::AgreementRequest),
    /// obligation_merge
    Obligation(&'a cb::ObligationRequest),
}

/// A decoded output for any point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// tax
    Tax(Vec<cb::LineTax>),
    /// grouping
    Grouping(Vec<cb::LineGroup>),
    /// numbering
    Numbering(String),
    /// filter
    Filter(Vec<String>),
    /// transaction price / allocation
    Amounts(Vec<cb::LineAmount>),
    /// obligation merge
    Plans(Vec<cb::ObligationPlan>),
}

// Lazy views of the outputs: strings and lists stay in guest memory until the lifter copies them
// against its byte budget (07 §6.3, H7).
#[derive(ComponentType, Lift)]
#[component(record)]
struct RawError {
    code: WasmStr,
    message: WasmStr,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawMoney {
    amount: WasmStr,
    currency: WasmStr,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawBreakup {
    level: wit::JurisdictionLevel,
    name: WasmStr,
    rate: WasmStr,
    tax: RawMoney,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawLineTax {
    #[component(name = "line-id")]
    line_id: WasmStr,
    tax: RawMoney,
    breakups: WasmList<RawBreakup>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawGroup {
    key: WasmStr,
    #[component(name = "line-ids")]
    line_ids: WasmList<WasmStr>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawLineAmount {
    #[component(name = "line-id")]
    line_id: WasmStr,
    amount: RawMoney,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawPlan {
    key: WasmStr,
    existing: Option<WasmStr>,
    #[component(name = "candidate-ids")]
    candidate_ids: WasmList<WasmStr>,
    #[component(name = "revenue-policy")]
    revenue_policy: Option<WasmStr>,
}

enum LiftError {
    TooLarge,
    Bad(String),
}

/// Copies guest data out under a byte budget (each element and string counted before copying).
struct Lifter {
    budget: usize,
    used: usize,
}

const PER_ELEMENT: usize = 8;

impl Lifter {
    fn charge(&mut self, n: usize) -> Result<(), LiftError> {
        self.used = self.used.saturating_add(n);
        if self.used > self.budget {
            Err(LiftError::TooLarge)
        } else {
            Ok(())
        }
    }

    fn string(&mut self, store: &mut Store<State>, s: &WasmStr) -> Result<String, LiftError> {
        let text = s
            .to_str(&*store)
            .map_err(|e| LiftError::Bad(format!("{e:#}")))?;
        self.charge(text.len() + 2)?;
        Ok(text.into_owned())
    }

    fn list<T: Lift>(
        &mut self,
        store: &mut Store<State>,
        l: &WasmList<T>,
    ) -> Result<Vec<T>, LiftError> {
        self.charge(l.len().saturating_mul(PER_ELEMENT))?;
        (0..l.len())
            .map(|i| match l.get(&mut *store, i) {
                Some(Ok(v)) => Ok(v),
                Some(Err(e)) => Err(LiftError::Bad(format!("{e:#}"))),
                None => Err(LiftError::Bad("list index out of range".into())),
            })
            .collect()
    }

    fn strings(
        &mut self,
        store: &mut Store<State>,
        l: &WasmList<WasmStr>,
    ) -> Result<Vec<String>, LiftError> {
        let raw = self.list(store, l)?;
        raw.iter().map(|s| self.string(store, s)).collect()
    }

    fn money(&mut self, store: &mut Store<State>, m: &RawMoney) -> Result<cb::Money, LiftError> {
        Ok(cb::Money {
            amount: self.string(store, &m.amount)?,
            currency: self.string(store, &m.currency)?,
        })
    }

    fn line_taxes(
        &mut self,
        store: &mut Store<State>,
        l: WasmList<RawLineTax>,
    ) -> Result<Vec<cb::LineTax>, LiftError> {
        let raw = self.list(store, &l)?;
        let mut out = Vec::with_capacity(raw.len());
        for t in raw {
            let breakups = self.list(store, &t.breakups)?;
            let mut bs = Vec::with_capacity(breakups.len());
            for b in breakups {
                let level = match b.level {
                    wit::JurisdictionLevel::Country => "country",
                    wit::JurisdictionLevel::State => "state",
                    wit::JurisdictionLevel::County => "county",
                    wit::JurisdictionLevel::City => "city",
                    wit::JurisdictionLevel::District => "district",
                };
                bs.push(cb::TaxBreakup {
                    level: level.into(),
                    name: self.string(store, &b.name)?,
                    rate: self.string(store, &b.rate)?,
                    tax: self.money(store, &b.tax)?,
                });
            }
            out.push(cb::LineTax {
                line_id: self.string(store, &t.line_id)?,
                tax: self.money(store, &t.tax)?,
                breakups: bs,
            });
        }
        Ok(out)
    }

    fn groups(
        &mut self,
        store: &mut Store<State>,
        l: WasmList<RawGroup>,
    ) -> Result<Vec<cb::LineGroup>, LiftError> {
        let raw = self.list(store, &l)?;
        raw.iter()
            .map(|g| {
                Ok(cb::LineGroup {
                    key: self.string(store, &g.key)?,
                    line_ids: self.strings(store, &g.line_ids)?,
                })
            })
            .collect()
    }

    fn amounts(
        &mut self,
        store: &mut Store<State>,
        l: WasmList<RawLineAmount>,
    ) -> Result<Vec<cb::LineAmount>, LiftError> {
        let raw = self.list(store, &l)?;
        raw.iter()
            .map(|a| {
                Ok(cb::LineAmount {
                    line_id: self.string(store, &a.line_id)?,
                    amount: self.money(store, &a.amount)?,
                })
            })
            .collect()
    }

    fn plans(
        &mut self,
        store: &mut Store<State>,
        l: WasmList<RawPlan>,
    ) -> Result<Vec<cb::ObligationPlan>, LiftError> {
        let raw = self.list(store, &l)?;
        raw.iter()
            .map(|p| {
                Ok(cb::ObligationPlan {
                    key: self.string(store, &p.key)?,
                    existing: p
                        .existing
                        .as_ref()
                        .map(|s| self.string(store, s))
                        .transpose()?,
                    candidate_ids: self.strings(store, &p.candidate_ids)?,
                    revenue_policy: p
                        .revenue_policy
                        .as_ref()
                        .map(|s| self.string(store, s))
                        .transpose()?,
                })
            })
            .collect()
    }
}

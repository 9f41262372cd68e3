//! The WASM host (07 §6): one wasmtime `Engine` per process with fuel, an epoch ticker and a
//! pooling allocator; components checked at load and pre-instantiated; a fresh `Store` per call;
//! outputs lifted through lazy guest views with a byte budget, then decoded.

use crate::bindings::reckon::plugins::host as wit_host;
use crate::bindings::reckon::plugins::types as wit;
use crate::calllog::{CallLog, Level};
use crate::error::{snake, truncate_message, FailureKind, PluginFailure, PluginLoadError};
use crate::limits::Limits;
use crate::point::Point;
use reckon_engine::callbacks as cb;
use std::sync::OnceLock;
use std::time::Duration;
use wasmtime::component::{
    Component, ComponentExportIndex, ComponentType, HasSelf, InstancePre, Lift, Linker,
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
/// Room for the record structure of an output on top of its `max_output_kib` of JSON.
const OUTPUT_SLACK: usize = 64 * 1024;

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

/// What the pooling allocator holds right now: `(component instances, core instances,
/// memories, tables)` in use. All four return to 0 once every store has been dropped (07 §11,
/// the hostile suite's pool check). `None` before the engine exists.
pub fn pool_in_use() -> Option<(u64, u64, usize, usize)> {
    let m = engine().ok()?.pooling_allocator_metrics()?;
    Some((
        m.component_instances(),
        m.core_instances(),
        m.memories(),
        m.tables(),
    ))
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
    /// The point's export, looked up once at load instead of by name on every call.
    export: ComponentExportIndex,
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
        let err = |reason, message: String| PluginLoadError::new(name, file, reason, message);
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
        // Only the outer component's imports are its authority; nested components and modules
        // import from their siblings inside it.
        let mut depth = 0usize;
        for payload in wasmparser::Parser::new(0).parse_all(bytes) {
            let payload = payload.map_err(|e| err("invalid_wasm", e.to_string()))?;
            match &payload {
                wasmparser::Payload::Version { .. } => depth += 1,
                wasmparser::Payload::End(_) => depth = depth.saturating_sub(1),
                _ => {}
            }
            match payload {
                wasmparser::Payload::ComponentImportSection(_) if depth > 1 => {}
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
        let Some(export) = component.get_export_index(None, point.export()) else {
            let exports: Vec<String> = component
                .component_type()
                .exports(engine)
                .map(|(n, _)| n.to_string())
                .collect();
            return Err(err(
                "world_mismatch",
                format!(
                    "expected world {} exporting `{}`; found exports [{}]",
                    point.world(),
                    point.export(),
                    exports.join(", ")
                ),
            ));
        };
        let plugin = WasmPlugin {
            pre,
            export,
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
        // Bounds what the host copies out of the guest (lists and strings of the result, aliased
        // or not) while the result is lifted — inside the call, before the guest's post-return
        // runs — so an aliasing bomb fails `output_too_large` with host allocation ≤ this budget.
        store.set_hostcall_fuel((self.limits.max_output_kib as usize) * 1024 + OUTPUT_SLACK);
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
            Point::Tax => instance.get_typed_func::<(&wit::TaxRequest,), (Result<Vec<RawLineTax>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::InvoiceGrouping => instance.get_typed_func::<(&wit::GroupingRequest,), (Result<Vec<RawGroup>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::InvoiceNumbering => instance.get_typed_func::<(&wit::NumberingRequest,), (Result<String, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::InvoiceRunFilter => instance.get_typed_func::<(&wit::FilterRequest,), (Result<Vec<String>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
            Point::TransactionPrice | Point::RevenueAllocation => instance
                .get_typed_func::<(&wit::AgreementRequest,), (Result<Vec<RawLineAmount>, RawError>,)>(&mut store, self.point.export())
                .map(|_| ()),
            Point::ObligationMerge => instance.get_typed_func::<(&wit::ObligationRequest,), (Result<Vec<RawPlan>, RawError>,)>(&mut store, self.point.export()).map(|_| ()),
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
                if msg.contains("too much data is being copied") {
                    return self.fail(
                        FailureKind::OutputTooLarge,
                        format!("output over {} KiB", self.limits.max_output_kib),
                    );
                }
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
        macro_rules! run {
            ($req:expr, $raw:ty, $lift:expr) => {{
                match instance
                    .get_typed_func::<(_,), (Result<$raw, RawError>,)>(&mut store, self.export)
                {
                    Err(e) => Err(self
                        .fail(FailureKind::Trap, format!("{e:#}"))
                        .reason("world_mismatch")),
                    Ok(func) => match func.call(&mut store, ($req,)) {
                        Err(e) => Err(self.classify(e, store.data())),
                        Ok((Err(pe),)) => Err(self.plugin_error(pe)),
                        Ok((Ok(raw),)) => Ok($lift(raw)),
                    },
                }
            }};
        }
        let out = match req {
            Request::Tax(r) => run!(&crate::conv::tax(r), Vec<RawLineTax>, line_taxes),
            Request::Grouping(r) => run!(&crate::conv::grouping(r), Vec<RawGroup>, groups),
            Request::Numbering(r) => run!(&crate::conv::numbering(r), String, Output::Numbering),
            Request::Filter(r) => run!(&crate::conv::filter(r), Vec<String>, Output::Filter),
            Request::Agreement(r) => run!(
                &crate::conv::agreement_request(r),
                Vec<RawLineAmount>,
                amounts
            ),
            Request::Obligation(r) => run!(&crate::conv::obligation(r), Vec<RawPlan>, plans),
        };
        let fuel_used = self
            .limits
            .fuel
            .saturating_sub(store.get_fuel().unwrap_or(0));
        let mut log = std::mem::take(&mut store.data_mut().log);
        log.budget_used = Some(crate::calllog::Budget::Fuel(fuel_used));
        (out, log)
    }

    /// Benchmark support (07 §12 B1): `calls` tax calls on a request converted once, either on
    /// ONE store and instance (`fresh == false`: the warm call, which the engine never makes) or
    /// each on a fresh `Store` + `InstancePre::instantiate` (`fresh == true`). B1's overhead is
    /// the difference of the two; neither includes request conversion or §4 validation, which
    /// both paths share. Returns seconds as `clock` (seconds, e.g. the thread's CPU clock) counts them.
    #[doc(hidden)]
    pub fn bench_tax_calls(
        &self,
        req: &cb::TaxRequest,
        calls: usize,
        fresh: bool,
        clock: &dyn Fn() -> f64,
    ) -> Result<f64, String> {
        self.bench_converted(&crate::conv::tax(req), calls, fresh, clock)
    }

    fn bench_converted<'r>(
        &self,
        wreq: &'r wit::TaxRequest,
        calls: usize,
        fresh: bool,
        clock: &dyn Fn() -> f64,
    ) -> Result<f64, String> {
        type TaxFn<'r> = wasmtime::component::TypedFunc<
            (&'r wit::TaxRequest,),
            (Result<Vec<RawLineTax>, RawError>,),
        >;
        let prepare = || -> Result<(Store<State>, TaxFn<'r>), String> {
            let mut store = self.store()?;
            store.set_fuel(u64::MAX / 2).map_err(|e| e.to_string())?;
            store.set_epoch_deadline(u64::MAX / 2);
            let instance = self
                .pre
                .instantiate(&mut store)
                .map_err(|e| format!("{e:#}"))?;
            let func = instance
                .get_typed_func(&mut store, self.export)
                .map_err(|e| format!("{e:#}"))?;
            Ok((store, func))
        };
        let call = |store: &mut Store<State>, func: &TaxFn<'r>| -> Result<(), String> {
            let (out,) = func
                .call(&mut *store, (wreq,))
                .map_err(|e| format!("{e:#}"))?;
            out.map(|_| ()).map_err(|e| e.message)
        };
        let t0 = clock();
        if fresh {
            for _ in 0..calls {
                let (mut store, func) = prepare()?;
                call(&mut store, &func)?;
            }
        } else {
            let (mut store, func) = prepare()?;
            for _ in 0..calls {
                call(&mut store, &func)?;
            }
        }
        Ok(clock() - t0)
    }

    /// Test support: a store with one live instance of the component, holding its pool slots
    /// until dropped (so a test can see [`pool_in_use`] count them).
    #[doc(hidden)]
    pub fn hold_instance_for_test(&self) -> Result<HeldInstance, String> {
        let mut store = self.store()?;
        self.pre
            .instantiate(&mut store)
            .map_err(|e| format!("{e:#}"))?;
        Ok(HeldInstance(store))
    }

    fn plugin_error(&self, pe: RawError) -> PluginFailure {
        let code: String = pe.code.chars().take(64).collect();
        self.fail(FailureKind::PluginError, truncate_message(&pe.message))
            .reason(code)
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A live store and instance (test support); dropping it returns its pool slots.
#[doc(hidden)]
pub struct HeldInstance(#[allow(dead_code)] Store<State>);

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

// The outputs, lifted eagerly inside the call (so before the guest's post-return frees them),
// under the store's hostcall fuel (the byte budget above).
#[derive(ComponentType, Lift)]
#[component(record)]
struct RawError {
    code: String,
    message: String,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawMoney {
    amount: String,
    currency: String,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawBreakup {
    level: wit::JurisdictionLevel,
    name: String,
    rate: String,
    tax: RawMoney,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawLineTax {
    #[component(name = "line-id")]
    line_id: String,
    tax: RawMoney,
    breakups: Vec<RawBreakup>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawGroup {
    key: String,
    #[component(name = "line-ids")]
    line_ids: Vec<String>,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawLineAmount {
    #[component(name = "line-id")]
    line_id: String,
    amount: RawMoney,
}

#[derive(ComponentType, Lift)]
#[component(record)]
struct RawPlan {
    key: String,
    existing: Option<String>,
    #[component(name = "candidate-ids")]
    candidate_ids: Vec<String>,
    #[component(name = "revenue-policy")]
    revenue_policy: Option<String>,
}

fn money(m: RawMoney) -> cb::Money {
    cb::Money {
        amount: m.amount,
        currency: m.currency,
    }
}

fn level(l: wit::JurisdictionLevel) -> &'static str {
    match l {
        wit::JurisdictionLevel::Country => "country",
        wit::JurisdictionLevel::State => "state",
        wit::JurisdictionLevel::County => "county",
        wit::JurisdictionLevel::City => "city",
        wit::JurisdictionLevel::District => "district",
    }
}

fn line_taxes(raw: Vec<RawLineTax>) -> Output {
    Output::Tax(
        raw.into_iter()
            .map(|t| cb::LineTax {
                line_id: t.line_id,
                tax: money(t.tax),
                breakups: t
                    .breakups
                    .into_iter()
                    .map(|b| cb::TaxBreakup {
                        level: level(b.level).into(),
                        name: b.name,
                        rate: b.rate,
                        tax: money(b.tax),
                    })
                    .collect(),
            })
            .collect(),
    )
}

fn groups(raw: Vec<RawGroup>) -> Output {
    Output::Grouping(
        raw.into_iter()
            .map(|g| cb::LineGroup {
                key: g.key,
                line_ids: g.line_ids,
            })
            .collect(),
    )
}

fn amounts(raw: Vec<RawLineAmount>) -> Output {
    Output::Amounts(
        raw.into_iter()
            .map(|a| cb::LineAmount {
                line_id: a.line_id,
                amount: money(a.amount),
            })
            .collect(),
    )
}

fn plans(raw: Vec<RawPlan>) -> Output {
    Output::Plans(
        raw.into_iter()
            .map(|p| cb::ObligationPlan {
                key: p.key,
                existing: p.existing,
                candidate_ids: p.candidate_ids,
                revenue_policy: p.revenue_policy,
            })
            .collect(),
    )
}

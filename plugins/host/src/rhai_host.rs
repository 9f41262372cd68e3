//! The Rhai host (07 §7): scripts compiled once to an AST with every limit set, called with a
//! fresh scope per call (top-level statements never run), inputs and outputs in the contract's
//! map mapping (07 §3), every helper bounded.

use crate::calllog::{CallLog, Level};
use crate::error::{snake, truncate_message, FailureKind, PluginFailure, PluginLoadError};
use crate::limits::Limits;
use crate::point::Point;
use reckon_engine::allocation::largest_remainder;
use reckon_engine::money::{minor_units, round, Rounding};
use reckon_engine::schema::parse_decimal;
use rhai::packages::{Package, StandardPackage};
use rhai::{
    Array, CallFnOptions, Dynamic, Engine, EvalAltResult, ImmutableString, Map, Position, Scope,
    AST, INT,
};
use rust_decimal::Decimal;
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

/// Largest script accepted (07 §5).
pub const MAX_SCRIPT_BYTES: usize = 256 * 1024;

struct CallState {
    log: CallLog,
    start: Instant,
    timeout: Duration,
}

thread_local! {
    static CALL: RefCell<Option<CallState>> = const { RefCell::new(None) };
    /// Operations counted so far by the call running on this thread (07 §9 `operations`).
    static OPERATIONS: Cell<u64> = const { Cell::new(0) };
}

const TERM_TIMEOUT: &str = "reckon:timeout";
const TERM_HOST_CALLS: &str = "reckon:host_calls";

fn with_call<R>(f: impl FnOnce(&mut CallState) -> R) -> Option<R> {
    CALL.with(|c| c.borrow_mut().as_mut().map(f))
}

fn guest_log(level: Level, msg: &str) -> Result<(), Box<EvalAltResult>> {
    let ok = with_call(|c| {
        if c.log.host_call() {
            c.log.push(level, msg);
            true
        } else {
            false
        }
    })
    .unwrap_or(true);
    if ok {
        Ok(())
    } else {
        Err(Box::new(EvalAltResult::ErrorTerminated(
            TERM_HOST_CALLS.into(),
            Position::NONE,
        )))
    }
}

fn rt_err(msg: impl Into<String>) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(
        Dynamic::from(msg.into()),
        Position::NONE,
    ))
}

fn to_decimal(v: &Dynamic) -> Result<Decimal, Box<EvalAltResult>> {
    if let Some(d) = v.clone().try_cast::<Decimal>() {
        return Ok(d);
    }
    if let Ok(i) = v.as_int() {
        return Ok(Decimal::from(i));
    }
    if let Some(s) = v.read_lock::<ImmutableString>() {
        return parse_decimal(s.as_str())
            .ok_or_else(|| rt_err(format!("not a decimal: `{}`", s.as_str())));
    }
    Err(rt_err(format!("not a decimal: {}", v.type_name())))
}

fn scale_of(cur: &str) -> Result<u32, Box<EvalAltResult>> {
    minor_units(cur).ok_or_else(|| rt_err(format!("unknown currency `{cur}`")))
}

fn date_part(date: &str, part: usize) -> Result<INT, Box<EvalAltResult>> {
    reckon_engine::dates::parse_date(date)
        .map(|d| {
            use chrono_like::Datelike;
            match part {
                0 => d.year() as INT,
                1 => d.month() as INT,
                _ => d.day() as INT,
            }
        })
        .ok_or_else(|| rt_err(format!("not a date: `{date}`")))
}

mod chrono_like {
    pub use chrono::Datelike;
}

/// Build the engine for one plugin's limits.
fn engine(limits: &Limits) -> Engine {
    let mut e = Engine::new_raw();
    e.register_global_module(StandardPackage::new().as_shared_module());
    e.set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_depth as usize)
        .set_max_expr_depths(64, 32)
        .set_max_string_size((limits.max_string_kib * 1024) as usize)
        .set_max_array_size(limits.max_array_len as usize)
        .set_max_map_size(limits.max_map_len as usize)
        .set_max_variables(1_000)
        .set_max_functions(256)
        .set_strict_variables(true)
        .set_fail_on_invalid_map_property(true);
    e.disable_symbol("eval");
    e.on_print(|s| {
        let _ = guest_log(Level::Info, s);
    });
    e.on_debug(|s, _, _| {
        let _ = guest_log(Level::Debug, s);
    });
    e.on_progress(|ops| {
        OPERATIONS.with(|o| o.set(ops));
        if ops % 1_000 != 0 {
            return None;
        }
        let state = with_call(|c| (c.log.rejected, c.start.elapsed() > c.timeout));
        match state {
            Some((true, _)) => Some(TERM_HOST_CALLS.into()),
            Some((_, true)) => Some(TERM_TIMEOUT.into()),
            _ => None,
        }
    });
    let max_string = (limits.max_string_kib * 1024) as usize;
    let max_array = limits.max_array_len as usize;
    e.register_fn("decimal", |s: &str| {
        parse_decimal(s).ok_or_else(|| rt_err(format!("not a decimal: `{s}`")))
    });
    e.register_fn("decimal", |i: INT| {
        Ok::<_, Box<EvalAltResult>>(Decimal::from(i))
    });
    e.register_fn("minor_units", |cur: &str| scale_of(cur).map(|s| s as INT));
    e.register_fn(
        "round_money",
        |v: Dynamic, cur: &str| -> Result<String, Box<EvalAltResult>> {
            Ok(round(to_decimal(&v)?, scale_of(cur)?, Rounding::HalfUp).to_string())
        },
    );
    e.register_fn(
        "round_money",
        |v: Dynamic, cur: &str, mode: &str| -> Result<String, Box<EvalAltResult>> {
            let mode = match mode {
                "half_up" => Rounding::HalfUp,
                "half_even" => Rounding::HalfEven,
                m => {
                    return Err(rt_err(format!(
                        "rounding mode `{m}`: expected half_up or half_even"
                    )))
                }
            };
            Ok(round(to_decimal(&v)?, scale_of(cur)?, mode).to_string())
        },
    );
    e.register_fn(
        "allocate",
        move |total: Dynamic, weights: Array, cur: &str| -> Result<Array, Box<EvalAltResult>> {
            if weights.len() > max_array {
                return Err(Box::new(EvalAltResult::ErrorDataTooLarge(
                    "array".into(),
                    Position::NONE,
                )));
            }
            let total = to_decimal(&total)?;
            let w: Vec<Decimal> = weights.iter().map(to_decimal).collect::<Result<_, _>>()?;
            if w.iter().any(|x| x.is_sign_negative()) || w.iter().all(|x| x.is_zero()) {
                return Err(rt_err("allocate: weights must be ≥ 0 and not all 0"));
            }
            Ok(largest_remainder(total, &w, scale_of(cur)?)
                .into_iter()
                .map(|d| Dynamic::from(d.to_string()))
                .collect())
        },
    );
    e.register_fn("year", |d: &str| date_part(d, 0));
    e.register_fn("month", |d: &str| date_part(d, 1));
    e.register_fn("day", |d: &str| date_part(d, 2));
    e.register_fn(
        "zero_pad",
        move |n: INT, width: INT| -> Result<String, Box<EvalAltResult>> {
            let width = width.clamp(0, 64) as usize;
            let s = format!("{n:0width$}");
            if s.len() > max_string {
                return Err(Box::new(EvalAltResult::ErrorDataTooLarge(
                    "string".into(),
                    Position::NONE,
                )));
            }
            Ok(s)
        },
    );
    e.register_fn("log", |level: &str, msg: &str| {
        guest_log(Level::parse(level), msg)
    });
    e
}

/// A loaded Rhai plugin.
pub struct RhaiPlugin {
    engine: Engine,
    ast: AST,
    point: Point,
    name: String,
    limits: Limits,
}

impl std::fmt::Debug for RhaiPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RhaiPlugin")
            .field("name", &self.name)
            .field("point", &self.point)
            .finish()
    }
}

impl RhaiPlugin {
    /// Load a script's bytes for a point (07 §7 load checks).
    pub fn load(
        name: &str,
        file: &str,
        bytes: &[u8],
        point: Point,
        limits: Limits,
    ) -> Result<Self, PluginLoadError> {
        let err = |reason, message: String| PluginLoadError::new(name, file, reason, message);
        if bytes.len() > MAX_SCRIPT_BYTES {
            return Err(err(
                "too_large",
                format!("{} bytes, at most {MAX_SCRIPT_BYTES}", bytes.len()),
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|e| err("not_utf8", e.to_string()))?;
        let engine = engine(&limits);
        let ast = engine.compile(text).map_err(|e| {
            let p = e.position();
            err(
                "invalid_script",
                format!(
                    "{}:{}: {}",
                    p.line().unwrap_or(0),
                    p.position().unwrap_or(0),
                    e.err_type()
                ),
            )
        })?;
        let f = ast.iter_functions().find(|f| f.name == point.rhai_fn());
        match f {
            Some(f) if f.params.len() == 1 => {}
            Some(f) => {
                return Err(err(
                    "world_mismatch",
                    format!(
                        "fn {} takes {} parameters, expected 1 (request)",
                        f.name,
                        f.params.len()
                    ),
                ))
            }
            None => {
                let found: Vec<String> = ast
                    .iter_functions()
                    .map(|f| format!("{}/{}", f.name, f.params.len()))
                    .collect();
                return Err(err(
                    "world_mismatch",
                    format!(
                        "no fn {}(request) for point {point}; found [{}]",
                        point.rhai_fn(),
                        found.join(", ")
                    ),
                ));
            }
        }
        Ok(RhaiPlugin {
            engine,
            ast,
            point,
            name: name.to_string(),
            limits,
        })
    }

    /// Call the point's function on a JSON request; returns the raw JSON output (shape-checked).
    pub fn call(&self, request: &Value) -> (Result<Value, PluginFailure>, CallLog) {
        self.call_dynamic(to_dynamic(request))
    }

    /// Call with a request already converted to Rhai values (the engine's path: straight from the
    /// typed request, without an intermediate JSON tree).
    pub fn call_dynamic(&self, arg: Dynamic) -> (Result<Value, PluginFailure>, CallLog) {
        let state = CallState {
            log: CallLog::new(self.limits.max_log_bytes, self.limits.max_host_calls),
            start: Instant::now(),
            timeout: Duration::from_millis(self.limits.timeout_ms),
        };
        CALL.with(|c| *c.borrow_mut() = Some(state));
        OPERATIONS.with(|o| o.set(0));
        let mut scope = Scope::new();
        let opts = CallFnOptions::new().eval_ast(false).rewind_scope(false);
        let result = self.engine.call_fn_with_options::<Dynamic>(
            opts,
            &mut scope,
            &self.ast,
            self.point.rhai_fn(),
            (arg,),
        );
        let mut log = CALL
            .with(|c| c.borrow_mut().take())
            .map(|s| s.log)
            .unwrap_or_default();
        log.budget_used = Some(crate::calllog::Budget::Operations(
            OPERATIONS.with(Cell::get),
        ));
        let fail = |kind, msg: String| PluginFailure::new(self.point, &self.name, kind, msg);
        let out = match result {
            Ok(out) => from_dynamic(&out, "")
                .map_err(|(path, msg)| {
                    fail(FailureKind::InvalidOutput, msg)
                        .reason("wrong_type")
                        .at(path)
                })
                .and_then(|v| {
                    match crate::shape::check(&crate::shape::output(self.point), &v, "") {
                        Ok(()) => Ok(v),
                        Err((reason, path, msg)) => Err(fail(FailureKind::InvalidOutput, msg)
                            .reason(reason)
                            .at(path)),
                    }
                }),
            Err(e) => Err(self.failure(*e, &log)),
        };
        (out, log)
    }

    fn failure(&self, e: EvalAltResult, log: &CallLog) -> PluginFailure {
        let fail = |kind, msg: String| PluginFailure::new(self.point, &self.name, kind, msg);
        match e {
            EvalAltResult::ErrorTooManyOperations(_) => fail(
                FailureKind::BudgetExceeded,
                format!("more than {} operations", self.limits.max_operations),
            ),
            EvalAltResult::ErrorTerminated(token, _) => {
                if token.to_string() == TERM_HOST_CALLS || log.rejected {
                    fail(
                        FailureKind::HostCallRejected,
                        format!("more than {} host calls", self.limits.max_host_calls),
                    )
                } else {
                    fail(
                        FailureKind::Timeout,
                        format!("exceeded {} ms", self.limits.timeout_ms),
                    )
                }
            }
            EvalAltResult::ErrorDataTooLarge(what, _) => {
                fail(FailureKind::MemoryLimit, format!("{what} too large"))
            }
            EvalAltResult::ErrorTooManyVariables(_) => {
                fail(FailureKind::MemoryLimit, "too many variables".into())
            }
            EvalAltResult::ErrorStackOverflow(_) => fail(
                FailureKind::StackOverflow,
                format!("call depth over {}", self.limits.max_call_depth),
            ),
            EvalAltResult::ErrorRuntime(v, _) => {
                if let Some(map) = v.clone().try_cast::<Map>() {
                    let code = map
                        .get("code")
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "error".into());
                    let msg = map
                        .get("message")
                        .map(|m| m.to_string())
                        .unwrap_or_default();
                    fail(FailureKind::PluginError, truncate_message(&msg).to_string())
                        .reason(truncate_code(&code))
                } else {
                    fail(
                        FailureKind::PluginError,
                        truncate_message(&v.to_string()).to_string(),
                    )
                    .reason("error")
                }
            }
            EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => self.failure(*inner, log),
            other => {
                let name = format!("{other:?}");
                let variant = name
                    .split(['(', ' ', '{'])
                    .next()
                    .unwrap_or("Error")
                    .trim_start_matches("Error");
                fail(FailureKind::Trap, other.to_string()).reason(snake(variant))
            }
        }
    }
}

fn truncate_code(s: &str) -> String {
    s.chars().take(64).collect()
}

/// JSON → Rhai (07 §3: strings, booleans, integers, arrays, maps; `null` → `()`).
pub fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from(*b),
        Value::Number(n) => n
            .as_i64()
            .map(Dynamic::from)
            .unwrap_or_else(|| Dynamic::from(n.to_string())),
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(a) => Dynamic::from_array(a.iter().map(to_dynamic).collect()),
        Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.as_str().into(), to_dynamic(v));
            }
            Dynamic::from_map(m)
        }
    }
}

/// Rhai → JSON. Decimals become their canonical text (the contract's `decimal` is text). An
/// error names the path of the offending value (`groups[2].key`).
pub fn from_dynamic(d: &Dynamic, path: &str) -> Result<Value, (String, String)> {
    lift(d).map_err(|(segments, msg)| {
        let mut p = path.to_string();
        for seg in segments.iter().rev() {
            match seg {
                Seg::Index(i) => p.push_str(&format!("[{i}]")),
                Seg::Key(k) => {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(k);
                }
            }
        }
        (p, msg)
    })
}

/// One step of an error path, innermost first (paths are only built when lifting fails).
enum Seg {
    Index(usize),
    Key(String),
}

fn lift(d: &Dynamic) -> Result<Value, (Vec<Seg>, String)> {
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::from(i));
    }
    if let Some(s) = d.read_lock::<ImmutableString>() {
        return Ok(Value::String(s.to_string()));
    }
    if let Some(x) = d.read_lock::<Decimal>() {
        return Ok(Value::String(x.normalize().to_string()));
    }
    if let Some(a) = d.read_lock::<rhai::Array>() {
        let mut out = Vec::with_capacity(a.len());
        for (i, x) in a.iter().enumerate() {
            out.push(lift(x).map_err(|(mut p, m)| {
                p.push(Seg::Index(i));
                (p, m)
            })?);
        }
        return Ok(Value::Array(out));
    }
    if let Some(m) = d.read_lock::<Map>() {
        let mut o = serde_json::Map::new();
        for (k, v) in m.iter() {
            let v = lift(v).map_err(|(mut p, m)| {
                p.push(Seg::Key(k.to_string()));
                (p, m)
            })?;
            o.insert(k.to_string(), v);
        }
        return Ok(Value::Object(o));
    }
    Err((
        Vec::new(),
        format!("a value of type {} has no JSON form", d.type_name()),
    ))
}

//! A loaded plugin of either runtime: the one call path every point takes — input size, the
//! call under limits, decoding, §4 validation, logs to `tracing` — and the engine's callback traits.

use crate::calllog::{Budget, CallLog};
use crate::error::{FailureKind, PluginFailure, PluginLoadError};
use crate::limits::Limits;
use crate::point::Point;
use crate::rhai_conv::ToRhai;
use crate::rhai_host::RhaiPlugin;
use crate::wasm::{Output, Request, WasmPlugin};
use reckon_engine::callbacks as cb;
use reckon_engine::validate::{self, json_size, Violation, ViolationKind};
use serde::{de::DeserializeOwned, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

thread_local! {
    static LAST_BUDGET: std::cell::Cell<Option<Budget>> = const { std::cell::Cell::new(None) };
}

/// The budget the last plugin call on this thread used (`fuel_used` for WASM, `operations` for
/// Rhai; `reckon plugin test --stats`, 07 §9). `None` before any call, or when the call failed
/// before the plugin ran (input too large).
pub fn last_call_budget() -> Option<Budget> {
    LAST_BUDGET.with(|b| b.get())
}

/// The runtime behind a plugin.
#[derive(Debug)]
pub enum Runtime {
    /// A WebAssembly component.
    Wasm(WasmPlugin),
    /// A Rhai script.
    Rhai(Box<RhaiPlugin>),
}

/// A loaded plugin, bound to one point.
#[derive(Debug)]
pub struct Plugin {
    name: String,
    point: Point,
    runtime: Runtime,
    limits: Limits,
    config: cb::Attributes,
    known_policies: BTreeSet<String>,
}

/// Which runtime a file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `.wasm`
    Wasm,
    /// `.rhai`
    Rhai,
}

impl Plugin {
    /// Load a plugin file for a point with its limits and config.
    pub fn load(
        name: &str,
        point: Point,
        kind: Kind,
        path: &Path,
        limits: Limits,
        config: cb::Attributes,
    ) -> Result<Self, PluginLoadError> {
        let file = path.display().to_string();
        let err = |reason, message: String| PluginLoadError::new(name, &file, reason, message);
        let meta = std::fs::metadata(path).map_err(|e| err("not_found", e.to_string()))?;
        let cap = match kind {
            Kind::Wasm => crate::wasm::MAX_COMPONENT_BYTES,
            Kind::Rhai => crate::rhai_host::MAX_SCRIPT_BYTES as u64,
        };
        if meta.len() > cap {
            return Err(err(
                "too_large",
                format!("{} bytes, at most {cap}", meta.len()),
            ));
        }
        let bytes = std::fs::read(path).map_err(|e| err("not_found", e.to_string()))?;
        Self::from_bytes(name, point, kind, &file, &bytes, limits, config)
    }

    /// Load from bytes already in memory.
    pub fn from_bytes(
        name: &str,
        point: Point,
        kind: Kind,
        file: &str,
        bytes: &[u8],
        limits: Limits,
        config: cb::Attributes,
    ) -> Result<Self, PluginLoadError> {
        let runtime = match kind {
            Kind::Wasm => Runtime::Wasm(WasmPlugin::load(name, file, bytes, point, limits)?),
            Kind::Rhai => Runtime::Rhai(Box::new(RhaiPlugin::load(
                name, file, bytes, point, limits,
            )?)),
        };
        Ok(Plugin {
            name: name.to_string(),
            point,
            runtime,
            limits,
            config,
            known_policies: BTreeSet::new(),
        })
    }

    /// Revenue policy names an `obligation_merge` plan may name.
    pub fn with_known_policies(mut self, names: BTreeSet<String>) -> Self {
        self.known_policies = names;
        self
    }

    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The WASM runtime, if this is a component (benchmarks).
    pub fn as_wasm(&self) -> Option<&WasmPlugin> {
        match &self.runtime {
            Runtime::Wasm(w) => Some(w),
            Runtime::Rhai(_) => None,
        }
    }

    fn runtime_name(&self) -> &'static str {
        match &self.runtime {
            Runtime::Wasm(_) => "wasm",
            Runtime::Rhai(_) => "rhai",
        }
    }

    /// The point it serves.
    pub fn point(&self) -> Point {
        self.point
    }

    fn fail(&self, kind: FailureKind, msg: impl Into<String>) -> PluginFailure {
        PluginFailure::new(self.point, &self.name, kind, msg)
    }

    fn violation(&self, v: Violation) -> PluginFailure {
        let kind = match v.kind {
            ViolationKind::InvalidOutput => FailureKind::InvalidOutput,
            ViolationKind::OutputTooLarge => FailureKind::OutputTooLarge,
        };
        let mut f = self.fail(kind, v.message);
        if !v.reason.is_empty() {
            f = f.reason(v.reason);
        }
        if !v.path.is_empty() {
            f = f.at(v.path);
        }
        f
    }

    /// The one call path: `config` filled in, size-checked, called, decoded, validated.
    fn invoke<Req, Out>(
        &self,
        req: &Req,
        with_config: fn(&Req, &cb::Attributes) -> Req,
        wasm_req: fn(&Req) -> Request<'_>,
        from_wasm: fn(Output) -> Option<Out>,
        check: &dyn Fn(&Req, &Out) -> Result<(), Violation>,
    ) -> Result<Out, PluginFailure>
    where
        Req: Serialize + ToRhai,
        Out: DeserializeOwned,
    {
        let owned;
        let req = if self.config.is_empty() {
            req
        } else {
            owned = with_config(req, &self.config);
            &owned
        };
        LAST_BUDGET.with(|b| b.set(None));
        let size = json_size(req);
        if size as u64 > self.limits.max_input_kib * 1024 {
            return Err(self.fail(
                FailureKind::InputTooLarge,
                format!(
                    "input is {size} bytes, over {} KiB",
                    self.limits.max_input_kib
                ),
            ));
        }
        let started = Instant::now();
        let (result, log): (Result<Out, PluginFailure>, CallLog) = match &self.runtime {
            Runtime::Wasm(w) => {
                let (r, log) = w.call(&wasm_req(req));
                (
                    r.and_then(|o| {
                        from_wasm(o).ok_or_else(|| {
                            self.fail(FailureKind::InvalidOutput, "output of another point")
                                .reason("lift_failed")
                        })
                    }),
                    log,
                )
            }
            Runtime::Rhai(r) => {
                let (r, log) = r.call_dynamic(req.to_rhai());
                let decoded = r.and_then(|v| {
                    serde_json::from_value::<Out>(v).map_err(|e| {
                        self.fail(FailureKind::InvalidOutput, e.to_string())
                            .reason("wrong_type")
                    })
                });
                (decoded, log)
            }
        };
        let result = result.and_then(|out| {
            check(req, &out)
                .map(|()| out)
                .map_err(|v| self.violation(v))
        });
        log.emit(self.point.name(), &self.name);
        let outcome = match &result {
            Ok(_) => "ok".to_string(),
            Err(f) => f.kind.as_str().to_string(),
        };
        let (budget_name, budget) = log.budget_used.map_or(("fuel_used", 0), |b| b.field());
        LAST_BUDGET.with(|b| b.set(log.budget_used));
        tracing::debug!(target: "reckon::plugin", point = self.point.name(), plugin = %self.name, runtime = self.runtime_name(), budget = budget_name, used = budget, wall_us = started.elapsed().as_micros() as u64, outcome = %outcome, "plugin.call");
        if let Err(f) = &result {
            tracing::warn!(target: "reckon::plugin", point = self.point.name(), plugin = %self.name, "{f}");
        }
        result
    }

    /// `tax`.
    pub fn tax(&self, req: &cb::TaxRequest) -> Result<Vec<cb::LineTax>, PluginFailure> {
        let max = self.limits.max_output_kib as u32;
        self.invoke(
            req,
            |r, c| cb::TaxRequest {
                config: c.clone(),
                ..r.clone()
            },
            |r| Request::Tax(r),
            |o| match o {
                Output::Tax(v) => Some(v),
                _ => None,
            },
            &|r, o| validate::tax(r, o, max),
        )
    }

    /// `invoice_grouping`.
    pub fn grouping(&self, req: &cb::GroupingRequest) -> Result<Vec<cb::LineGroup>, PluginFailure> {
        let max = self.limits.max_output_kib as u32;
        self.invoke(
            req,
            |r, c| cb::GroupingRequest {
                config: c.clone(),
                ..r.clone()
            },
            |r| Request::Grouping(r),
            |o| match o {
                Output::Grouping(v) => Some(v),
                _ => None,
            },
            &|r, o| validate::grouping(r, o, max),
        )
    }

    /// `invoice_numbering`; uniqueness against earlier numbers is the caller's (it owns them).
    pub fn numbering(
        &self,
        req: &cb::NumberingRequest,
        already_assigned: &dyn Fn(&str) -> bool,
    ) -> Result<String, PluginFailure> {
        let max = self.limits.max_output_kib as u32;
        self.invoke(
            req,
            |r, c| cb::NumberingRequest {
                config: c.clone(),
                ..r.clone()
            },
            |r| Request::Numbering(r),
            |o| match o {
                Output::Numbering(v) => Some(v),
                _ => None,
            },
            &|r, o| validate::numbering(r, o, already_assigned, max),
        )
    }

    /// `invoice_run_filter`.
    pub fn filter(&self, req: &cb::FilterRequest) -> Result<Vec<String>, PluginFailure> {
        let max = self.limits.max_output_kib as u32;
        self.invoke(
            req,
            |r, c| cb::FilterRequest {
                config: c.clone(),
                ..r.clone()
            },
            |r| Request::Filter(r),
            |o| match o {
                Output::Filter(v) => Some(v),
                _ => None,
            },
            &|r, o| validate::filter(r, o, max),
        )
    }

    /// `transaction_price` or `revenue_allocation` (by the point the plugin is bound to).
    pub fn amounts(
        &self,
        req: &cb::AgreementRequest,
    ) -> Result<Vec<cb::LineAmount>, PluginFailure> {
        let max = self.limits.max_output_kib as u32;
        let allocation = self.point == Point::RevenueAllocation;
        self.invoke(
            req,
            |r, c| cb::AgreementRequest {
                config: c.clone(),
                ..r.clone()
            },
            |r| Request::Agreement(r),
            |o| match o {
                Output::Amounts(v) => Some(v),
                _ => None,
            },
            &|r, o| {
                if allocation {
                    validate::allocation(r, o, max)
                } else {
                    validate::transaction_price(r, o, max)
                }
            },
        )
    }

    /// `obligation_merge`.
    pub fn obligations(
        &self,
        req: &cb::ObligationRequest,
    ) -> Result<Vec<cb::ObligationPlan>, PluginFailure> {
        let max = self.limits.max_output_kib as u32;
        let known = |p: &str| self.known_policies.contains(p);
        self.invoke(
            req,
            |r, c| cb::ObligationRequest {
                config: c.clone(),
                ..r.clone()
            },
            |r| Request::Obligation(r),
            |o| match o {
                Output::Plans(v) => Some(v),
                _ => None,
            },
            &|r, o| validate::obligation_merge(r, o, &known, max),
        )
    }

    /// Run the point on a JSON request (the `reckon plugin test` path): the output as pretty
    /// JSON in the contract's field order. `Err` when the input is not the point's request.
    pub fn call_json(
        &self,
        input: &serde_json::Value,
    ) -> Result<Result<String, PluginFailure>, String> {
        fn parse<T: DeserializeOwned>(v: &serde_json::Value) -> Result<T, String> {
            let mut v = v.clone();
            if let Some(o) = v.as_object_mut() {
                o.entry("config").or_insert_with(|| serde_json::json!({}));
            }
            serde_json::from_value(v).map_err(|e| e.to_string())
        }
        fn out<T: Serialize>(r: Result<T, PluginFailure>) -> Result<String, PluginFailure> {
            r.map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
        }
        Ok(match self.point {
            Point::Tax => out(self.tax(&parse(input)?)),
            Point::InvoiceGrouping => out(self.grouping(&parse(input)?)),
            Point::InvoiceNumbering => out(self.numbering(&parse(input)?, &|_| false)),
            Point::InvoiceRunFilter => out(self.filter(&parse(input)?)),
            Point::TransactionPrice | Point::RevenueAllocation => out(self.amounts(&parse(input)?)),
            Point::ObligationMerge => out(self.obligations(&parse(input)?)),
        })
    }
}

impl cb::TaxCallback for Plugin {
    fn calculate_tax(&self, req: &cb::TaxRequest) -> cb::CallbackResult<Vec<cb::LineTax>> {
        self.tax(req).map_err(Into::into)
    }
}
impl cb::GroupingCallback for Plugin {
    fn group_lines(&self, req: &cb::GroupingRequest) -> cb::CallbackResult<Vec<cb::LineGroup>> {
        self.grouping(req).map_err(Into::into)
    }
}
impl cb::NumberingCallback for Plugin {
    fn number_invoice(&self, req: &cb::NumberingRequest) -> cb::CallbackResult<String> {
        self.numbering(req, &|_| false).map_err(Into::into)
    }
}
impl cb::FilterCallback for Plugin {
    fn filter_lines(&self, req: &cb::FilterRequest) -> cb::CallbackResult<Vec<String>> {
        self.filter(req).map_err(Into::into)
    }
}
impl cb::TransactionPriceCallback for Plugin {
    fn price_lines(&self, req: &cb::AgreementRequest) -> cb::CallbackResult<Vec<cb::LineAmount>> {
        self.amounts(req).map_err(Into::into)
    }
}
impl cb::AllocationCallback for Plugin {
    fn allocate(&self, req: &cb::AgreementRequest) -> cb::CallbackResult<Vec<cb::LineAmount>> {
        self.amounts(req).map_err(Into::into)
    }
}
impl cb::ObligationMergeCallback for Plugin {
    fn merge_obligations(
        &self,
        req: &cb::ObligationRequest,
    ) -> cb::CallbackResult<Vec<cb::ObligationPlan>> {
        self.obligations(req).map_err(Into::into)
    }
}

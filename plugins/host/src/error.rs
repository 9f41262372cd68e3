//! The host's two error types (07 §8): load errors, which fail the rules load, and call
//! failures, which are recorded on the affected record.

use crate::point::Point;
use std::fmt;

/// Why a plugin failed to load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
#[error("plugin {plugin} ({file}): {reason}: {message}")]
pub struct PluginLoadError {
    /// Plugin name.
    pub plugin: String,
    /// File.
    pub file: String,
    /// `not_found`, `too_large`, `invalid_wasm`, `not_a_component`, `forbidden_import`,
    /// `unknown_import`, `world_mismatch`, `memory_too_large`, `not_utf8`, `invalid_script`,
    /// `compile_failed`.
    pub reason: &'static str,
    /// Details (Rhai line/column for `invalid_script`).
    pub message: String,
}

impl PluginLoadError {
    /// A load error of `plugin` from `file`.
    pub fn new(plugin: &str, file: &str, reason: &'static str, message: impl Into<String>) -> Self {
        PluginLoadError {
            plugin: plugin.to_string(),
            file: file.to_string(),
            reason,
            message: message.into(),
        }
    }
}

/// The kinds of call failure (07 §8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureKind {
    /// Input over `max_input_kib`; the plugin was not called.
    InputTooLarge,
    /// Fuel or operations ran out.
    BudgetExceeded,
    /// The wall-clock backstop fired.
    Timeout,
    /// Memory, table or data size limit.
    MemoryLimit,
    /// Stack or call depth.
    StackOverflow,
    /// Any other trap or runtime error.
    Trap,
    /// The plugin returned its own error.
    PluginError,
    /// Too many host calls.
    HostCallRejected,
    /// Output over `max_output_kib`.
    OutputTooLarge,
    /// Output broke the contract.
    InvalidOutput,
}

impl FailureKind {
    /// snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::InputTooLarge => "input_too_large",
            FailureKind::BudgetExceeded => "budget_exceeded",
            FailureKind::Timeout => "timeout",
            FailureKind::MemoryLimit => "memory_limit",
            FailureKind::StackOverflow => "stack_overflow",
            FailureKind::Trap => "trap",
            FailureKind::PluginError => "plugin_error",
            FailureKind::HostCallRejected => "host_call_rejected",
            FailureKind::OutputTooLarge => "output_too_large",
            FailureKind::InvalidOutput => "invalid_output",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct PluginFailure {
    /// The point.
    pub point: Point,
    /// Plugin name.
    pub plugin: String,
    /// Kind.
    pub kind: FailureKind,
    /// Reason (validation reason, trap code, plugin error code).
    pub reason: Option<String>,
    /// JSON path of an invalid output value.
    pub path: Option<String>,
    /// The plugin's own text for `plugin_error`, else the host's.
    pub message: String,
}

impl fmt::Display for PluginFailure {
    /// `PLUGIN: KIND[/REASON][ at PATH]: TEXT`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.plugin, self.kind)?;
        if let Some(r) = &self.reason {
            write!(f, "/{r}")?;
        }
        if let Some(p) = &self.path {
            write!(f, " at {p}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl PluginFailure {
    /// A failure without reason or path.
    pub fn new(point: Point, plugin: &str, kind: FailureKind, message: impl Into<String>) -> Self {
        PluginFailure {
            point,
            plugin: plugin.to_string(),
            kind,
            reason: None,
            path: None,
            message: message.into(),
        }
    }

    /// With a reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// With a path.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }
}

impl From<PluginFailure> for reckon_engine::callbacks::CallbackError {
    fn from(f: PluginFailure) -> Self {
        reckon_engine::callbacks::CallbackError::new(
            &f.plugin,
            f.kind.as_str(),
            f.reason,
            f.path,
            &f.message,
        )
    }
}

/// `CamelCase` → `snake_case` (trap codes and Rhai error variants in failure reasons).
pub(crate) fn snake(camel: &str) -> String {
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

/// A plugin's message cut to 1 KiB on a character boundary (07 §5).
pub(crate) fn truncate_message(s: &str) -> &str {
    let mut end = s.len().min(1024);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

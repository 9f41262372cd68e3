//! Per-call state shared by both runtimes: the guest log buffer (capped at `max_log_bytes`, one
//! truncation event) and the host-call budget. Emitted to `tracing` after the call.

/// Log level of a guest message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// trace
    Trace,
    /// debug
    Debug,
    /// info
    Info,
    /// warn
    Warn,
    /// error
    Error,
}

impl Level {
    /// Parse `trace` … `error` (anything else is `info`).
    pub fn parse(s: &str) -> Level {
        match s {
            "trace" => Level::Trace,
            "debug" => Level::Debug,
            "warn" => Level::Warn,
            "error" => Level::Error,
            _ => Level::Info,
        }
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// What one call logged and how many host calls it made.
#[derive(Debug, Clone, Default)]
pub struct CallLog {
    /// Messages kept (within `max_log_bytes`).
    pub lines: Vec<(Level, String)>,
    bytes: u64,
    max_bytes: u64,
    /// A message was dropped for size.
    pub truncated: bool,
    /// Host calls made.
    pub host_calls: u64,
    max_host_calls: u64,
    /// The host-call budget was exceeded.
    pub rejected: bool,
    /// The deterministic budget the call used: WASM fuel or Rhai operations (07 §8, §9).
    pub budget_used: Option<Budget>,
}

/// How much of its deterministic budget a call used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Budget {
    /// WASM fuel consumed.
    Fuel(u64),
    /// Rhai operations counted.
    Operations(u64),
}

impl Budget {
    /// The §9 name (`fuel_used` or `operations`) and the value.
    pub fn field(self) -> (&'static str, u64) {
        match self {
            Budget::Fuel(n) => ("fuel_used", n),
            Budget::Operations(n) => ("operations", n),
        }
    }
}

/// Plugin messages are truncated to 1 KiB (07 §5).
const MAX_MESSAGE: usize = 1024;

impl CallLog {
    /// A fresh log for one call.
    pub fn new(max_bytes: u64, max_host_calls: u64) -> Self {
        CallLog {
            max_bytes,
            max_host_calls,
            ..Default::default()
        }
    }

    /// Record a host call; false when the budget is exhausted (the call must be refused).
    pub fn host_call(&mut self) -> bool {
        self.host_calls += 1;
        if self.host_calls > self.max_host_calls {
            self.rejected = true;
        }
        !self.rejected
    }

    /// Keep a message if it fits.
    pub fn push(&mut self, level: Level, message: &str) {
        let mut end = message.len().min(MAX_MESSAGE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let msg = &message[..end];
        if self.bytes + msg.len() as u64 > self.max_bytes {
            self.truncated = true;
            return;
        }
        self.bytes += msg.len() as u64;
        self.lines.push((level, msg.to_string()));
    }

    /// Emit the kept messages as `tracing` events.
    pub fn emit(&self, point: &str, plugin: &str) {
        for (level, msg) in &self.lines {
            match level {
                Level::Trace => {
                    tracing::trace!(target: "reckon::plugin::guest", point, plugin, "{msg}")
                }
                Level::Debug => {
                    tracing::debug!(target: "reckon::plugin::guest", point, plugin, "{msg}")
                }
                Level::Info => {
                    tracing::info!(target: "reckon::plugin::guest", point, plugin, "{msg}")
                }
                Level::Warn => {
                    tracing::warn!(target: "reckon::plugin::guest", point, plugin, "{msg}")
                }
                Level::Error => {
                    tracing::error!(target: "reckon::plugin::guest", point, plugin, "{msg}")
                }
            }
        }
        if self.truncated {
            tracing::warn!(target: "reckon::plugin::guest", point, plugin, "log truncated at max_log_bytes");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_is_capped_and_host_calls_are_counted() {
        let mut l = CallLog::new(10, 2);
        l.push(Level::Info, "12345");
        l.push(Level::Info, "123456");
        assert_eq!((l.lines.len(), l.truncated), (1, true));
        assert!(l.host_call() && l.host_call());
        assert!(!l.host_call());
        assert!(l.rejected);
    }
}

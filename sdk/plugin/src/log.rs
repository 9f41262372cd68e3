//! Logging through the host's `log` import (spec 07 §3, §8).
//!
//! The host keeps at most `max_log_bytes` per call and counts every call against
//! `max_host_calls` (spec 07 §5), so log sparingly. Off wasm32 (native unit tests) logging does
//! nothing.
//!
//! ```ignore
//! reckon_plugin_sdk::info!("{} lines", request.invoice.lines.len());
//! ```

pub use crate::types::LogLevel;

/// Sends `message` to the host at `level`.
pub fn log(level: LogLevel, message: &str) {
    #[cfg(target_arch = "wasm32")]
    crate::bindings::reckon::plugins::host::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    let _ = (level, message);
}

/// Logs a `format!`-style message at `trace` level through the host.
#[macro_export]
macro_rules! trace {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogLevel::Trace, &$crate::__private::format!($($arg)*))
    };
}

/// Logs a `format!`-style message at `debug` level through the host.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogLevel::Debug, &$crate::__private::format!($($arg)*))
    };
}

/// Logs a `format!`-style message at `info` level through the host.
#[macro_export]
macro_rules! info {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogLevel::Info, &$crate::__private::format!($($arg)*))
    };
}

/// Logs a `format!`-style message at `warn` level through the host.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogLevel::Warn, &$crate::__private::format!($($arg)*))
    };
}

/// Logs a `format!`-style message at `error` level through the host.
#[macro_export]
macro_rules! error {
    ($($arg:tt)*) => {
        $crate::log::log($crate::log::LogLevel::Error, &$crate::__private::format!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn macros_expand_and_are_no_ops_natively() {
        let n = 3;
        crate::trace!("trace {n}");
        crate::debug!("debug {}", n);
        crate::info!("info");
        crate::warn!("warn {n:>4}");
        crate::error!("error {:?}", "x");
        super::log(super::LogLevel::Info, "direct");
    }
}

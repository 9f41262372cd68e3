//! Per-plugin limits (07 §5): defaults, ceilings, and the YAML `limits:` maps.

/// The limits a call runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// WASM fuel per call.
    pub fuel: u64,
    /// Rhai operations per call.
    pub max_operations: u64,
    /// Wall-clock backstop per call.
    pub timeout_ms: u64,
    /// WASM linear memory, MiB.
    pub memory_mib: u64,
    /// Input size, KiB (compact JSON of the request).
    pub max_input_kib: u64,
    /// Output size, KiB.
    pub max_output_kib: u64,
    /// Host calls (`log`, `print`, `debug`) per call.
    pub max_host_calls: u64,
    /// Log bytes kept per call.
    pub max_log_bytes: u64,
    /// Rhai call depth.
    pub max_call_depth: u64,
    /// Rhai string size, KiB.
    pub max_string_kib: u64,
    /// Rhai array length.
    pub max_array_len: u64,
    /// Rhai map size.
    pub max_map_len: u64,
}

/// `(key, default, ceiling)` for every limit.
pub const TABLE: [(&str, u64, u64); 12] = [
    ("fuel", 16_000_000, 1_000_000_000),
    ("max_operations", 1_000_000, 100_000_000),
    ("timeout_ms", 1_000, 10_000),
    ("memory_mib", 32, 256),
    ("max_input_kib", 1_024, 16_384),
    ("max_output_kib", 1_024, 16_384),
    ("max_host_calls", 1_000, 100_000),
    ("max_log_bytes", 4_096, 65_536),
    ("max_call_depth", 32, 128),
    ("max_string_kib", 64, 1_024),
    ("max_array_len", 100_000, 1_000_000),
    ("max_map_len", 10_000, 1_000_000),
];

impl Default for Limits {
    fn default() -> Self {
        let mut l = Limits {
            fuel: 0,
            max_operations: 0,
            timeout_ms: 0,
            memory_mib: 0,
            max_input_kib: 0,
            max_output_kib: 0,
            max_host_calls: 0,
            max_log_bytes: 0,
            max_call_depth: 0,
            max_string_kib: 0,
            max_array_len: 0,
            max_map_len: 0,
        };
        for (k, d, _) in TABLE {
            l.set(k, d);
        }
        l
    }
}

impl Limits {
    /// Set one limit by key; unknown keys are ignored (the schema rejects them).
    pub fn set(&mut self, key: &str, v: u64) {
        match key {
            "fuel" => self.fuel = v,
            "max_operations" => self.max_operations = v,
            "timeout_ms" => self.timeout_ms = v,
            "memory_mib" => self.memory_mib = v,
            "max_input_kib" => self.max_input_kib = v,
            "max_output_kib" => self.max_output_kib = v,
            "max_host_calls" => self.max_host_calls = v,
            "max_log_bytes" => self.max_log_bytes = v,
            "max_call_depth" => self.max_call_depth = v,
            "max_string_kib" => self.max_string_kib = v,
            "max_array_len" => self.max_array_len = v,
            "max_map_len" => self.max_map_len = v,
            _ => {}
        }
    }

    /// These limits overridden key by key by a YAML map (values clamped to the ceilings, which
    /// the rule schema already enforces).
    pub fn merged(mut self, map: Option<&serde_yaml::Value>) -> Self {
        if let Some(m) = map.and_then(|m| m.as_mapping()) {
            for (k, v) in m {
                if let (Some(k), Some(v)) = (k.as_str(), v.as_u64()) {
                    let ceiling = TABLE.iter().find(|(n, _, _)| *n == k).map_or(v, |t| t.2);
                    self.set(k, v.min(ceiling));
                }
            }
        }
        self
    }
}

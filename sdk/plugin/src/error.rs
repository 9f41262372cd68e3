//! Constructors for [`PluginError`] (wit-bindgen already implements `Debug` and `Display`).

use alloc::string::String;

use crate::types::PluginError;

impl PluginError {
    /// A plugin error with a snake_case `code` (≤ 64 characters; the host reports it as the
    /// failure's `reason`, spec 07 §8) and a human-readable `message` (≤ 1 KiB; the host truncates
    /// longer ones).
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> PluginError {
        PluginError {
            code: code.into(),
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn new_and_display() {
        let e = PluginError::new("unknown_postal_code", "no rates for 99999");
        assert_eq!(e.code, "unknown_postal_code");
        assert_eq!(e.message, "no rates for 99999");
        // wit-bindgen supplies Display (through Debug); it names both fields.
        let shown = e.to_string();
        assert!(shown.contains("unknown_postal_code") && shown.contains("no rates for 99999"));
        assert_eq!(
            PluginError::new(String::from("a"), "b"),
            PluginError::new("a", "b")
        );
    }
}

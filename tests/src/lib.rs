//! Shared helpers for the integration suite.

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Run the `reckon` command line in-process; returns (exit status, output).
pub fn reckon(args: &[&str]) -> (i32, String) {
    let mut out = Vec::new();
    let all: Vec<&str> = std::iter::once("reckon")
        .chain(args.iter().copied())
        .collect();
    let code = reckon_sdk::cli::run(all, &mut out);
    (code, String::from_utf8(out).expect("utf-8 output"))
}

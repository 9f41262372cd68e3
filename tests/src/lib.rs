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

/// Wrap a core-module WAT into a component of a world of `plugins/wit` (07 §11: hostile
/// fixtures are core modules wrapped by a helper). The module must follow the canonical ABI for
/// the world's export and export `memory` and `cabi_realloc`.
pub fn component_from_wat(world: &str, wat_src: &str) -> Vec<u8> {
    let mut module = wat::parse_str(wat_src).expect("fixture WAT parses");
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve
        .push_path(root().join("plugins/wit"))
        .expect("the contract parses");
    let world_id = resolve
        .select_world(&[pkg], Some(world))
        .expect("world exists");
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world_id,
        wit_component::StringEncoding::UTF8,
        false,
    )
    .expect("metadata embeds");
    wit_component::ComponentEncoder::default()
        .module(&module)
        .expect("module accepted")
        .validate(true)
        .encode()
        .expect("component encodes")
}

/// The path of a built example component (`plugins/examples/dist/NAME.wasm`), building the
/// examples once per process when an artefact is missing or older than its sources.
pub fn example_wasm(name: &str) -> PathBuf {
    static BUILT: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let examples = root().join("plugins/examples");
    let dist = examples.join("dist").join(format!("{name}.wasm"));
    let stale = |p: &std::path::Path| -> bool {
        let Ok(built) = std::fs::metadata(p).and_then(|m| m.modified()) else {
            return true;
        };
        newest(&examples.join(name)).is_some_and(|src| src > built)
            || newest(&root().join("sdk/plugin/src")).is_some_and(|src| src > built)
    };
    if stale(&dist) {
        let r = BUILT.get_or_init(|| {
            let status = std::process::Command::new("bash").arg(examples.join("build.sh")).status().map_err(|e| e.to_string())?;
            if status.success() {
                Ok(())
            } else {
                Err("plugins/examples/build.sh failed (is the wasm32-wasip2 target installed? run `rustup target add wasm32-wasip2`)".into())
            }
        });
        if let Err(e) = r {
            panic!("{e}");
        }
    }
    dist
}

fn newest(dir: &std::path::Path) -> Option<std::time::SystemTime> {
    let mut best = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        let t = if p.is_dir() {
            newest(&p)
        } else {
            entry.metadata().ok().and_then(|m| m.modified().ok())
        };
        best = best.max(t);
    }
    best
}

//! `reckon plugin test` (07 §9): load a plugin with the checks of 07 §6.2 / §7 and run exactly the
//! engine's call and validation on a JSON request.

use reckon_plugin_host::plugin::{Kind, Plugin};
use reckon_plugin_host::{Limits, Point};
use std::io::Write;
use std::path::Path;
use std::time::Instant;

/// Run the command; returns the exit status (0 ok, 1 call failure, 2 load or input error).
#[allow(clippy::too_many_arguments)]
pub fn run(
    point: &str,
    path: &Path,
    input: &Path,
    config: &[String],
    limits: Option<&Path>,
    json: bool,
    stats: bool,
    out: &mut dyn Write,
) -> anyhow::Result<i32> {
    let Some(point) = Point::parse(point) else {
        let all: Vec<&str> = Point::ALL.iter().map(|p| p.name()).collect();
        writeln!(
            out,
            "error: unknown point `{point}`; expected one of {}",
            all.join(", ")
        )?;
        return Ok(2);
    };
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("wasm") => Kind::Wasm,
        Some("rhai") => Kind::Rhai,
        _ => {
            writeln!(
                out,
                "error: {}: expected a .wasm or .rhai file",
                path.display()
            )?;
            return Ok(2);
        }
    };
    let mut cfg = reckon_engine::callbacks::Attributes::new();
    for kv in config {
        match kv.split_once('=') {
            Some((k, v)) => {
                cfg.insert(k.to_string(), v.to_string());
            }
            None => {
                writeln!(out, "error: --config {kv}: expected K=V")?;
                return Ok(2);
            }
        }
    }
    let mut lim = Limits::default();
    if let Some(f) = limits {
        let text = std::fs::read_to_string(f)?;
        let v: serde_yaml::Value = serde_yaml::from_str(&text)?;
        lim = lim.merged(Some(&v));
    }
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .replace('-', "_");
    let plugin = match Plugin::load(&name, point, kind, path, lim, cfg) {
        Ok(p) => p,
        Err(e) => {
            writeln!(out, "error: load {}: {}", e.reason, e)?;
            return Ok(2);
        }
    };
    let request: serde_json::Value = match std::fs::read_to_string(input)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(v) => v,
        Err(e) => {
            writeln!(out, "error: {}: {e}", input.display())?;
            return Ok(2);
        }
    };
    let t0 = Instant::now();
    let result = match plugin.call_json(&request) {
        Ok(r) => r,
        Err(e) => {
            writeln!(
                out,
                "error: {}: not a {} request: {e}",
                input.display(),
                point.name()
            )?;
            return Ok(2);
        }
    };
    let wall_us = t0.elapsed().as_micros();
    let code = match result {
        Ok(text) => {
            writeln!(out, "{text}")?;
            0
        }
        Err(f) => {
            if json {
                let e = serde_json::json!({"error": {"code": point.error_code(), "kind": f.kind.as_str(), "reason": f.reason, "path": f.path, "plugin": f.plugin, "message": f.message}});
                writeln!(out, "{}", serde_json::to_string_pretty(&e)?)?;
            } else {
                let kind = match &f.reason {
                    Some(r) => format!("{}/{r}", f.kind),
                    None => f.kind.to_string(),
                };
                let at = f
                    .path
                    .as_ref()
                    .map(|p| format!(" at {p}"))
                    .unwrap_or_default();
                writeln!(
                    out,
                    "error: {} ({kind}) plugin={}{at}: {}",
                    point.error_code(),
                    f.plugin,
                    f.message
                )?;
            }
            1
        }
    };
    if stats {
        match reckon_plugin_host::plugin::last_call_budget() {
            Some(b) => {
                let (name, used) = b.field();
                writeln!(out, "stats: {name}={used} wall_us={wall_us}")?;
            }
            None => writeln!(out, "stats: wall_us={wall_us}")?,
        }
    }
    Ok(code)
}

//! Writes `__generate_world!`, the macro the export macros use to generate a point's world
//! bindings inside the plugin crate, with the WIT package text inlined (see src/bindings.rs).

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let wit = manifest.join("../../plugins/wit/reckon-plugins.wit");
    println!("cargo:rerun-if-changed={}", wit.display());
    let text =
        fs::read_to_string(&wit).unwrap_or_else(|e| panic!("cannot read {}: {e}", wit.display()));
    let source = format!(
        r#"/// Generates one world of `reckon:plugins@0.1.0` in the calling module (SDK internal).
#[doc(hidden)]
#[macro_export]
macro_rules! __generate_world {{
    ($world:tt) => {{
        $crate::__private::wit_bindgen::generate!({{
            inline: {text:?},
            world: $world,
            runtime_path: "::reckon_plugin_sdk::__private::wit_bindgen::rt",
            with: {{
                "reckon:plugins/types@0.1.0": ::reckon_plugin_sdk::types,
                "reckon:plugins/host@0.1.0": ::reckon_plugin_sdk::bindings::reckon::plugins::host,
            }},
        }});
    }};
}}
"#
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR")).join("generate_world.rs");
    fs::write(&out, source).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}

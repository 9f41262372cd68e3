//! # reckon-plugin-host
//!
//! The only part of Reckon that links wasmtime and rhai. It loads the plugins registered in a
//! rule set's `callbacks` document (07 §2) — WebAssembly components and Rhai scripts — checks
//! them, and implements the engine's callback traits (`reckon_engine::callbacks`) by calling them
//! under the limits of 07 §5 and validating every output (07 §4).

#![warn(missing_docs)]

/// Host bindings generated from `plugins/wit` (the contract is the source of truth).
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({ path: "../wit", world: "tax-calculator", imports: { default: trappable } });
}

pub mod calllog;
mod conv;
pub mod error;
pub mod limits;
pub mod plugin;
pub mod point;
pub mod registry;
pub mod rhai_conv;
pub mod rhai_host;
pub mod shape;
pub mod wasm;

pub use error::{FailureKind, PluginFailure, PluginLoadError};
pub use limits::Limits;
pub use point::Point;
pub use registry::{load, PluginSet};

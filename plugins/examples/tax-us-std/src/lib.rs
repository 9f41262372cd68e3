//! Hostile fixture H11 (spec 07 §11): the `tax-us` example, unchanged, in a crate built with
//! `std`. `std` on wasm32-wasip2 brings WASI imports (`wasi:cli/environment`, …), which the host
//! must refuse at load with `forbidden_import`. Not a plugin to use.

// tax-us's `#![no_std]` is a crate-level attribute; inside this module it has no effect.
#![allow(unused_attributes)]

#[path = "../../tax-us/src/lib.rs"]
mod tax_us;

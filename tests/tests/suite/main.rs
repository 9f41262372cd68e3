//! Reckon's integration suite: one test binary, one module per concern.

mod cli;
mod durability;
mod garbled;
mod plugins;
mod properties;
mod scenarios;

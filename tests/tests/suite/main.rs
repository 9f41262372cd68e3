//! Reckon's integration suite: one test binary, one module per concern.

mod billing;
mod changes;
mod cli;
mod durability;
mod email;
mod garbled;
mod plugins;
mod properties;
mod receivables;
mod revenue;
mod scenarios;
mod usage;

//! # reckon-engine
//!
//! The pure, deterministic core of Reckon: rule files → validated [`rules::RuleSet`] → order
//! activation → billing schedules, persisted through the [`store::Store`] trait. The engine never
//! reads the wall clock (dates are passed in) and does no I/O except through its store; plugins
//! reach it only through the [`callbacks`] traits.

#![warn(missing_docs)]

pub mod allocation;
pub mod billing;
pub mod callbacks;
pub mod changes;
pub mod dates;
pub mod engine;
pub mod error;
pub mod invoicing;
pub mod model;
pub mod money;
pub mod plans;
pub mod receivables;
pub mod revenue;
pub mod rules;
pub mod schedule;
pub mod schema;
pub mod schema_tables;
pub mod store;
pub mod usage;
pub mod validate;
pub mod yaml;

pub use engine::{Engine, Schedule, ScheduleStatus, ScheduleType};
pub use error::{Code, EngineError};
pub use rules::{RuleError, RuleSet};

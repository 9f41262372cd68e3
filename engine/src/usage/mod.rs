//! Usage (spec 03 B): tier tables and the rating function ([`tiers`]), a usage product's
//! settings ([`settings`]), and usage inputs with their rating ([`rating`]).

pub mod changes;
pub mod rating;
mod rollback;
pub mod settings;
pub mod tiers;

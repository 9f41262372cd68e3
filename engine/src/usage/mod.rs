//! Usage (spec 03 B): tier tables and the rating function ([`tiers`]).

pub mod tiers;

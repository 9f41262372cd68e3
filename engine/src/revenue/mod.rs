//! Revenue recognition (spec 06): agreements from activated orders in ASC 605 and ASC 606 mode
//! ([`agreement`]), the recognition rules as pure functions ([`calc`]), accounting periods,
//! actuals, summaries, inputs and fee edits over the store ([`period`]), revenue runs
//! ([`run`]) and the GL journal export ([`journal`]). Every operation is one atomic batch.

pub mod agreement;
pub mod calc;
pub mod change;
pub mod forecast;
pub mod journal;
pub mod model;
pub mod period;
pub mod run;
pub mod waterfall;

pub use model::*;

/// Store keys of the revenue records.
pub(crate) mod keys {
    use crate::engine::key;

    /// An agreement.
    pub fn agreement(id: &str) -> Vec<u8> {
        key(&["revag", id])
    }
    /// Every agreement.
    pub fn agreements() -> Vec<u8> {
        key(&["revag", ""])
    }
    /// An obligation.
    pub fn obligation(r: &str) -> Vec<u8> {
        key(&["revobl", r])
    }
    /// Every obligation.
    pub fn obligations() -> Vec<u8> {
        key(&["revobl", ""])
    }
    /// A legal entity's open period.
    pub fn period(le: &str) -> Vec<u8> {
        key(&["revper", le])
    }
    /// The summary (and actual rows) of an agreement for a period `YYYY-MM`.
    pub fn summary(agreement: &str, period: &str) -> Vec<u8> {
        key(&["revsum", agreement, period])
    }
    /// Every summary of an agreement.
    pub fn summaries(agreement: &str) -> Vec<u8> {
        key(&["revsum", agreement, ""])
    }
    /// Forecast (`forecast`) or budget (`budget`) rows of an agreement.
    pub fn plan(agreement: &str, kind: &str) -> Vec<u8> {
        key(&["revplan", agreement, kind])
    }
    /// The forecast snapshots of an agreement for a period.
    pub fn snapshots(agreement: &str, period: &str) -> Vec<u8> {
        key(&["revsnap", agreement, period])
    }
    /// A revenue run execution: name and resolved period.
    pub fn run(name: &str, period: &str) -> Vec<u8> {
        key(&["revrun", name, period])
    }
    /// Every execution of a run name.
    pub fn runs(name: &str) -> Vec<u8> {
        key(&["revrun", name, ""])
    }
}

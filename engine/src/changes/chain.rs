//! Where a row a change created lives on (03 A.6 rollback): a later change that moved it and was
//! undone wrote a `restoration` of it, and a restoration of a row that drew credit is itself
//! drawn and may be cut into several pieces (A.4). A rollback compensates every live end of that
//! tree (decisions 241, 250).

use crate::engine::{Schedule, ScheduleStatus};
use std::collections::HashMap;

fn is_live(s: ScheduleStatus) -> bool {
    !matches!(s, ScheduleStatus::Superseded | ScheduleStatus::Cancelled)
}

/// The live rows `s` lives on in: `s` itself when live, else, through every restoration of it
/// (`restored`: origin → all restorations cut from it, live or not), the live rows those live on
/// in. Restorations are always newer than the row they restore, so the walk ends; the depth
/// bound is a guard.
pub(crate) fn live_ends<'r>(
    s: &'r Schedule,
    restored: &HashMap<&str, Vec<&'r Schedule>>,
) -> Vec<&'r Schedule> {
    fn walk<'r>(
        s: &'r Schedule,
        restored: &HashMap<&str, Vec<&'r Schedule>>,
        depth: u32,
        out: &mut Vec<&'r Schedule>,
    ) {
        if is_live(s.status) {
            out.push(s);
            return;
        }
        if depth >= 64 {
            return;
        }
        for r in restored.get(s.id.as_str()).into_iter().flatten() {
            walk(r, restored, depth + 1, out);
        }
    }
    let mut out = Vec::new();
    walk(s, restored, 0, &mut out);
    out
}

/// Every restoration of the line's rows by the row it restores (origin → restorations, live or
/// not): the map [`live_ends`] and [`tree`] walk.
pub(crate) fn restorations(rows: &[Schedule]) -> HashMap<&str, Vec<&Schedule>> {
    let mut restored: HashMap<&str, Vec<&Schedule>> = HashMap::new();
    for s in rows.iter().filter(|s| s.kind == "restoration") {
        if let Some(o) = s.change.origin.as_deref() {
            restored.entry(o).or_default().push(s);
        }
    }
    restored
}

/// `s` and every row it lives on in through restorations, live or not (the rows whose usage
/// inputs a rollback takes back, decision 272).
pub(crate) fn tree<'r>(
    s: &'r Schedule,
    restored: &HashMap<&str, Vec<&'r Schedule>>,
) -> Vec<&'r Schedule> {
    let mut out = vec![s];
    let mut i = 0;
    while i < out.len() && out.len() < 4096 {
        let id = out[i].id.as_str();
        out.extend(restored.get(id).into_iter().flatten().copied());
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    fn row(seq: u32, amount: i64, status: ScheduleStatus, origin: Option<u32>) -> Schedule {
        let d = NaiveDate::from_ymd_opt(2016, 6, 2).expect("date");
        Schedule {
            id: format!("O-1/L1#{seq}"),
            line: "O-1/L1".into(),
            seq,
            start: d,
            end: d,
            ready: d,
            amount: Decimal::new(amount, 2),
            quantity: Decimal::ONE,
            schedule_type: crate::engine::ScheduleType::Contracted,
            status,
            kind: if origin.is_some() {
                "restoration".into()
            } else {
                "credit".into()
            },
            category: "amendment".into(),
            invoice: None,
            change: crate::changes::RowChange {
                origin: origin.map(|o| format!("O-1/L1#{o}")),
                ..Default::default()
            },
            plan: None,
        }
    }

    fn index(rows: &[Schedule]) -> HashMap<&str, Vec<&Schedule>> {
        let mut m: HashMap<&str, Vec<&Schedule>> = HashMap::new();
        for s in rows.iter().filter(|s| s.kind == "restoration") {
            if let Some(o) = s.change.origin.as_deref() {
                m.entry(o).or_default().push(s);
            }
        }
        m
    }

    /// A cancelled credit −193.33 restored as two draw pieces (−3.23, −190.10): both are ends,
    /// and they sum to the row (the property case of decision 250 before its draw fix).
    #[test]
    fn every_draw_piece_of_a_restoration_is_an_end() {
        use ScheduleStatus::*;
        let rows = vec![
            row(14, -19333, Cancelled, None),
            row(26, -323, PendingBilling, Some(14)),
            row(27, -19010, PendingBilling, Some(14)),
        ];
        let m = index(&rows);
        let ends: Vec<u32> = live_ends(&rows[0], &m).iter().map(|s| s.seq).collect();
        assert_eq!(ends, vec![26, 27]);
        let sum: Decimal = live_ends(&rows[0], &m).iter().map(|s| s.amount).sum();
        assert_eq!(sum, rows[0].amount);
    }

    /// A piece moved again and restored again: the walk goes through it; a live row is its own end.
    #[test]
    fn the_walk_follows_pieces_through_later_restorations() {
        use ScheduleStatus::*;
        let rows = vec![
            row(14, -19333, Cancelled, None),
            row(26, -323, Superseded, Some(14)),
            row(27, -19010, PendingBilling, Some(14)),
            row(30, -300, PendingBilling, Some(26)),
            row(31, -23, Invoiced, Some(26)),
        ];
        let m = index(&rows);
        let ends: Vec<u32> = live_ends(&rows[0], &m).iter().map(|s| s.seq).collect();
        assert_eq!(ends, vec![30, 31, 27]);
        assert_eq!(
            live_ends(&rows[2], &m)
                .iter()
                .map(|s| s.seq)
                .collect::<Vec<_>>(),
            vec![27]
        );
    }
}

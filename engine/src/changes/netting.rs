//! The netting rule of 03 A.3 and the order of draw of A.4, as a pure function of a line's rows
//! and the change's parameters. No store, no clock; the caller commits what it returns.

use crate::engine::{Schedule, ScheduleStatus};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};

/// The row kinds of 03 A.3 in rank order (new rows are numbered by start, rank, end).
pub const KINDS: [&str; 12] = [
    "original",
    "pre_change",
    "cancelled_portion",
    "credit",
    "rebill",
    "delta",
    "netted_charge",
    "replacement",
    "extension",
    "restoration",
    "compensation",
    "minimum_fee",
];

/// The rank of a kind (its place in [`KINDS`]).
pub fn rank(kind: &str) -> usize {
    KINDS.iter().position(|k| *k == kind).unwrap_or(0)
}

/// One period of step 1: its range, ready date and v(p).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewPeriod {
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Ready for invoice.
    pub ready: NaiveDate,
    /// v(p).
    pub amount: Decimal,
}

/// The inputs of one change on one line.
pub struct Netting<'a> {
    /// The line ref (`O-1/L1`).
    pub line: &'a str,
    /// Every row of the line, in (start, ref) order.
    pub rows: &'a [Schedule],
    /// E.
    pub e: NaiveDate,
    /// N (cancel: C − 1).
    pub n: NaiveDate,
    /// Step 1's periods (∅ for a cancel).
    pub periods: &'a [NewPeriod],
    /// A cancel (C = E): billed rows straddling C get a `cancelled_portion`.
    pub cancel: bool,
    /// q′, the quantity period rows carry.
    pub quantity: Decimal,
    /// The category of every new row.
    pub category: &'a str,
    /// `create_redundant_schedules`.
    pub keep_redundant: bool,
    /// Direct credit-memo credits per invoiced row id (non-cancelled memos).
    pub direct_credits: &'a HashMap<String, Decimal>,
    /// The `n` of the first new ref.
    pub next_seq: u32,
    /// months(a, b) of §0 under the line's day count, in any fixed unit (only ratios are taken).
    pub months: &'a dyn Fn(NaiveDate, NaiveDate) -> Decimal,
    /// The ready date of a new row over [a, b] (02 §2).
    pub ready: &'a dyn Fn(NaiveDate, NaiveDate) -> NaiveDate,
    /// Rounding to the currency's minor unit with the preference's mode.
    pub round: &'a dyn Fn(Decimal) -> Decimal,
}

/// What a change does to a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Netted {
    /// Existing rows whose status or flag changed, as they are after the change.
    pub changed: Vec<Schedule>,
    /// The new rows, numbered.
    pub created: Vec<Schedule>,
    /// V of A.5: Σ pre(x) over the live rows + NP′.
    pub v: Decimal,
}

/// Why the netting refused the change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortfall {
    /// The row kind that could not draw.
    pub kind: String,
    /// Its range.
    pub start: NaiveDate,
    /// Its range.
    pub end: NaiveDate,
    /// The credit it needs.
    pub need: Decimal,
    /// What the line's invoiced rows had left for it.
    pub available: Decimal,
}

pub(crate) struct Draft {
    pub(crate) start: NaiveDate,
    pub(crate) end: NaiveDate,
    pub(crate) amount: Decimal,
    pub(crate) kind: &'static str,
    pub(crate) status: ScheduleStatus,
    pub(crate) quantity: Decimal,
    pub(crate) origin: Option<String>,
    /// Billed rows this row is about (they are flagged while it stays).
    pub(crate) about: Vec<String>,
    /// Own sources of draw, in order.
    pub(crate) sources: Vec<String>,
    pub(crate) draws: bool,
}

fn pred(d: NaiveDate) -> NaiveDate {
    d.pred_opt().unwrap_or(d)
}

fn succ(d: NaiveDate) -> NaiveDate {
    d.succ_opt().unwrap_or(d)
}

/// The pre, keep and drop slices of `x` with their values (last absorbs, date order).
pub type Slices = [Option<(NaiveDate, NaiveDate, Decimal)>; 3];

/// Slice `x` at E and N (03 A.3): pre = [s, E−1], keep = [max(s, E), min(e, N)], drop =
/// [max(s, N+1), e], each valued A × months(slice) ÷ months(s, e), the last non-empty one taking
/// the remainder.
pub fn slices(
    x: &Schedule,
    e: NaiveDate,
    n: NaiveDate,
    months: &dyn Fn(NaiveDate, NaiveDate) -> Decimal,
    round: &dyn Fn(Decimal) -> Decimal,
) -> Slices {
    let pre = (x.start < e).then(|| (x.start, x.end.min(pred(e))));
    let ks = x.start.max(e);
    let ke = x.end.min(n);
    let keep = (ks <= ke && n >= e).then_some((ks, ke));
    let ds = x.start.max(succ(n)).max(e);
    let drop = (ds <= x.end).then_some((ds, x.end));
    let parts = [pre, keep, drop];
    let total = months(x.start, x.end);
    let last = parts.iter().rposition(Option::is_some);
    let mut out: Slices = [None; 3];
    let mut running = Decimal::ZERO;
    for (i, p) in parts.iter().enumerate() {
        let Some((a, b)) = *p else { continue };
        let v = if Some(i) == last {
            x.amount - running
        } else if total.is_zero() {
            Decimal::ZERO
        } else {
            round(x.amount * months(a, b) / total)
        };
        running += v;
        out[i] = Some((a, b, v));
    }
    out
}

fn live(s: &Schedule) -> bool {
    !matches!(
        s.status,
        ScheduleStatus::Superseded | ScheduleStatus::Cancelled
    )
}

fn billed(s: &Schedule) -> bool {
    s.status == ScheduleStatus::Invoiced
}

fn unbilled(s: &Schedule) -> bool {
    matches!(
        s.status,
        ScheduleStatus::PendingBilling
            | ScheduleStatus::PendingInvoiced
            | ScheduleStatus::PendingMilestone
    )
}

/// Apply the netting rule (steps 1–6 of A.3, draws of A.4). Rows ending before E are never
/// touched and no existing amount is edited.
pub fn net(c: &Netting<'_>) -> Result<Netted, Shortfall> {
    let r: Vec<&Schedule> = c.rows.iter().filter(|s| live(s)).collect();
    let affected = |x: &Schedule| x.end >= c.e;
    let overlaps = |x: &Schedule, a: NaiveDate, b: NaiveDate| x.start <= b && x.end >= a;
    let mut drafts: Vec<Draft> = Vec::new();
    let mut netted: HashSet<&str> = HashSet::new();
    // Step 2: one row per period, netted against the invoiced rows inside it.
    for p in c.periods {
        let inside: Vec<&Schedule> = r
            .iter()
            .copied()
            .filter(|x| billed(x) && p.start <= x.start && x.end <= p.end)
            .collect();
        let invoiced: Decimal = inside.iter().map(|x| x.amount).sum();
        let (kind, origin) =
            if inside.len() == 1 && inside[0].start == p.start && inside[0].end == p.end {
                ("delta", Some(inside[0].id.clone()))
            } else if let Some(first) = inside.first() {
                ("netted_charge", Some(first.id.clone()))
            } else if r
                .iter()
                .any(|x| billed(x) && affected(x) && overlaps(x, p.start, p.end))
            {
                let o = r
                    .iter()
                    .find(|x| affected(x) && overlaps(x, p.start, p.end))
                    .map(|x| x.id.clone());
                ("rebill", o)
            } else if let Some(x) = r
                .iter()
                .find(|x| unbilled(x) && affected(x) && overlaps(x, p.start, p.end))
            {
                ("replacement", Some(x.id.clone()))
            } else {
                ("extension", None)
            };
        let ids: Vec<String> = inside.iter().map(|x| x.id.clone()).collect();
        netted.extend(inside.iter().map(|x| x.id.as_str()));
        drafts.push(Draft {
            start: p.start,
            end: p.end,
            amount: p.amount - invoiced,
            kind,
            status: ScheduleStatus::PendingBilling,
            quantity: c.quantity,
            origin,
            about: ids.clone(),
            sources: ids,
            draws: true,
        });
    }
    let mut changed: Vec<Schedule> = Vec::new();
    let mut v = c.periods.iter().map(|p| p.amount).sum::<Decimal>();
    for x in &r {
        if x.end < c.e {
            v += x.amount;
        } else if x.start < c.e {
            if let Some((_, _, pre)) = slices(x, c.e, c.n, c.months, c.round)[0] {
                v += pre;
            }
        }
    }
    // Step 3: billed affected rows in no period's In(p).
    for x in r
        .iter()
        .filter(|x| billed(x) && affected(x) && !netted.contains(x.id.as_str()))
    {
        let [_, keep, drop] = slices(x, c.e, c.n, c.months, c.round);
        for (a, b, val) in [keep, drop].into_iter().flatten() {
            drafts.push(Draft {
                start: a,
                end: b,
                amount: -val,
                kind: "credit",
                status: ScheduleStatus::PendingBilling,
                quantity: x.quantity,
                origin: Some(x.id.clone()),
                about: vec![x.id.clone()],
                sources: vec![x.id.clone()],
                draws: true,
            });
        }
        if c.cancel && x.start < c.e {
            if let Some((a, b, val)) = drop {
                drafts.push(Draft {
                    start: a,
                    end: b,
                    amount: val,
                    kind: "cancelled_portion",
                    status: ScheduleStatus::Cancelled,
                    quantity: x.quantity,
                    origin: Some(x.id.clone()),
                    about: vec![x.id.clone()],
                    sources: Vec::new(),
                    draws: false,
                });
            }
        }
    }
    // Step 4: unbilled affected rows.
    for x in r.iter().filter(|x| unbilled(x) && affected(x)) {
        let mut y = (*x).clone();
        if x.start > c.n {
            y.status = ScheduleStatus::Cancelled;
            changed.push(y);
            continue;
        }
        y.status = ScheduleStatus::Superseded;
        y.change.superseded = true;
        changed.push(y);
        let [pre, _, drop] = slices(x, c.e, c.n, c.months, c.round);
        if let Some((a, b, val)) = pre {
            drafts.push(Draft {
                start: a,
                end: b,
                amount: val,
                kind: "pre_change",
                status: ScheduleStatus::PendingBilling,
                quantity: x.quantity,
                origin: Some(x.id.clone()),
                about: Vec::new(),
                sources: x.change.debit_schedule.iter().cloned().collect(),
                draws: x.change.debit_schedule.is_some(),
            });
        }
        if let Some((a, b, val)) = drop {
            drafts.push(Draft {
                start: a,
                end: b,
                amount: val,
                kind: "cancelled_portion",
                status: ScheduleStatus::Cancelled,
                quantity: x.quantity,
                origin: Some(x.id.clone()),
                about: Vec::new(),
                sources: Vec::new(),
                draws: false,
            });
        }
    }
    // Step 5: redundant rows.
    if !c.keep_redundant {
        drafts.retain(|d| !(matches!(d.kind, "delta" | "netted_charge") && d.amount.is_zero()));
        let mut gone = vec![false; drafts.len()];
        for i in 0..drafts.len() {
            if drafts[i].kind != "rebill" || gone[i] {
                continue;
            }
            if let Some(j) = (0..drafts.len()).find(|&j| {
                !gone[j]
                    && drafts[j].kind == "credit"
                    && drafts[j].start == drafts[i].start
                    && drafts[j].end == drafts[i].end
                    && drafts[j].amount + drafts[i].amount == Decimal::ZERO
            }) {
                gone[i] = true;
                gone[j] = true;
            }
        }
        let mut k = 0;
        drafts.retain(|_| {
            k += 1;
            !gone[k - 1]
        });
    }
    // Flags: a billed row some remaining row is about.
    let flagged: HashSet<&str> = drafts
        .iter()
        .flat_map(|d| d.about.iter().map(String::as_str))
        .collect();
    for x in r
        .iter()
        .filter(|x| billed(x) && flagged.contains(x.id.as_str()))
    {
        if !x.change.superseded {
            let mut y = (*x).clone();
            y.change.superseded = true;
            changed.push(y);
        }
    }
    // Step 6: draw, in numbering order.
    let created = draw(c, drafts, &changed)?;
    Ok(Netted {
        changed,
        created,
        v,
    })
}

/// The rows a live `compensation` offsets (their draws are released, A.4); rows in `gone` are
/// not live after the change.
pub(crate) fn compensated<'r>(rows: &'r [Schedule], gone: &HashSet<&str>) -> HashSet<&'r str> {
    rows.iter()
        .filter(|s| s.kind == "compensation" && live(s) && !gone.contains(s.id.as_str()))
        .filter_map(|s| s.change.origin.as_deref())
        .collect()
}

/// Step 6 of A.3 (A.4): number the new rows by (start, kind rank, end) and split each row that
/// takes back invoiced value into draws, own sources first, then every invoiced row of the line
/// in (start, ref) order. `changed` are the existing rows as the change leaves them.
pub(crate) fn draw(
    c: &Netting<'_>,
    mut drafts: Vec<Draft>,
    changed: &[Schedule],
) -> Result<Vec<Schedule>, Shortfall> {
    drafts.sort_by_key(|d| (d.start, rank(d.kind), d.end));
    let gone: HashSet<&str> = changed
        .iter()
        .filter(|y| !live(y))
        .map(|y| y.id.as_str())
        .collect();
    let mut compensated = compensated(c.rows, &gone);
    // A compensation written in this batch offsets its row from the batch on, so the row's draw
    // is released before the batch's negative rows draw (A.4; decision 250).
    compensated.extend(
        drafts
            .iter()
            .filter(|d| d.kind == "compensation")
            .filter_map(|d| d.origin.as_deref())
            .filter_map(|o| c.rows.iter().find(|x| x.id == o))
            .map(|x| x.id.as_str()),
    );
    let mut invoiced: Vec<&Schedule> = c
        .rows
        .iter()
        .filter(|x| billed(x) && x.amount > Decimal::ZERO)
        .collect();
    invoiced.sort_by_key(|x| (x.start, x.seq));
    let mut available: HashMap<&str, Decimal> = invoiced
        .iter()
        .map(|x| {
            let drawn: Decimal = c
                .rows
                .iter()
                .filter(|d| {
                    live(d)
                        && !gone.contains(d.id.as_str())
                        && d.change.debit_schedule.as_deref() == Some(x.id.as_str())
                        && !compensated.contains(d.id.as_str())
                })
                .map(|d| d.amount.abs())
                .sum();
            let direct = c.direct_credits.get(&x.id).copied().unwrap_or_default();
            (x.id.as_str(), x.amount - direct - drawn)
        })
        .collect();
    let mut created = Vec::new();
    let mut seq = c.next_seq;
    let mut push = |d: &Draft, amount: Decimal, debit: Option<String>| {
        created.push(Schedule {
            id: format!("{}#{seq}", c.line),
            line: c.line.to_string(),
            seq,
            start: d.start,
            end: d.end,
            ready: (c.ready)(d.start, d.end),
            amount,
            quantity: d.quantity,
            schedule_type: crate::engine::ScheduleType::Contracted,
            status: d.status,
            kind: d.kind.into(),
            category: c.category.into(),
            invoice: None,
            change: super::RowChange {
                superseded: false,
                origin: d.origin.clone(),
                debit_schedule: debit,
                swapped_from: None,
            },
            plan: crate::plans::slice_plan(c.rows, d.origin.as_deref(), d.kind),
        });
        seq += 1;
    };
    for d in &drafts {
        if !(d.draws && d.amount < Decimal::ZERO) {
            push(d, d.amount, None);
            continue;
        }
        let mut need = -d.amount;
        let mut pieces: Vec<(String, Decimal)> = Vec::new();
        let order: Vec<String> = d
            .sources
            .iter()
            .cloned()
            .chain(invoiced.iter().map(|x| x.id.clone()))
            .collect();
        for src in order {
            if need.is_zero() {
                break;
            }
            let Some(a) = available.get_mut(src.as_str()) else {
                continue;
            };
            if *a <= Decimal::ZERO {
                continue;
            }
            let take = need.min(*a);
            *a -= take;
            need -= take;
            match pieces.iter_mut().find(|(s, _)| *s == src) {
                Some(p) => p.1 += take,
                None => pieces.push((src, take)),
            }
        }
        if need > Decimal::ZERO {
            return Err(Shortfall {
                kind: d.kind.into(),
                start: d.start,
                end: d.end,
                need: -d.amount,
                available: -d.amount - need,
            });
        }
        for (src, take) in pieces {
            push(d, -take, Some(src));
        }
    }
    Ok(created)
}

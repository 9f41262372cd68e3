//! Accounting periods per legal entity and actuals (06 §8), summaries and deferred revenue
//! (§10), revenue inputs and fee edits (§6, §13). Each operation reads, checks everything, then
//! commits one batch — or returns a named error and writes nothing.

use super::calc::{cumulative, horizon, month_end, parse_period, period_name, Facts};
use super::keys;
use super::model::*;
use crate::billing::{DocStatus, DocType, Document};
use crate::dates::{month_index, MonthIndex};
use crate::engine::{decode, encode, Engine};
use crate::error::{Code, EngineError, Result};
use crate::money::minor_units;
use crate::store::Batch;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

fn refuse(code: Code, record: &str, field: &str, msg: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, msg)
}

/// Billing facts of one account: its approved invoices and credit memos, and the rated usage
/// of the lines whose fees need it (prepay, true-up).
pub(crate) struct BookFacts {
    docs: Vec<Document>,
    usage: BTreeMap<String, Vec<(NaiveDate, Decimal)>>,
}

impl Facts for BookFacts {
    fn billed(&self, line: &str, through: NaiveDate) -> Decimal {
        let mut total = Decimal::ZERO;
        for d in &self.docs {
            if d.status != DocStatus::Approved || d.invoice_date > through {
                continue;
            }
            for l in d.lines.iter().filter(|l| l.line.as_deref() == Some(line)) {
                total += match d.doc_type {
                    DocType::Invoice => l.net,
                    DocType::CreditMemo => -l.net.abs(),
                };
            }
        }
        total
    }
    fn usage(&self, line: &str, from: NaiveDate, through: NaiveDate) -> Decimal {
        self.usage
            .get(line)
            .into_iter()
            .flatten()
            .filter(|(d, _)| *d >= from && *d <= through)
            .map(|(_, a)| *a)
            .sum()
    }
    fn invoiced_rows(
        &self,
        line: &str,
        through: NaiveDate,
    ) -> Vec<(NaiveDate, NaiveDate, Decimal)> {
        let mut out = Vec::new();
        for d in &self.docs {
            if d.status != DocStatus::Approved || d.invoice_date > through {
                continue;
            }
            for l in d.lines.iter().filter(|l| l.line.as_deref() == Some(line)) {
                let amount = match d.doc_type {
                    DocType::Invoice => l.net,
                    DocType::CreditMemo => -l.net.abs(),
                };
                let s = l.period_start.unwrap_or(d.invoice_date);
                let e = l.period_end.unwrap_or(s);
                out.push((s, e, amount));
            }
        }
        out
    }
}

/// A usage fee's amount F (06 §4 step 4): Σ invoiced usage of its line on documents dated on or
/// before `through`; `None` for other fees (their amount is fixed).
pub(crate) fn usage_fee_amount(f: &Fee, facts: &dyn Facts, through: NaiveDate) -> Option<Decimal> {
    (f.fee_type == "usage" && matches!(f.rule, Rule::Ratable | Rule::RatableDay)).then(|| {
        facts
            .invoiced_rows(&f.line, through)
            .iter()
            .map(|(_, _, a)| *a)
            .sum()
    })
}

/// Why an agreement is not processed for a period (06 §9 entry reasons).
pub type SkipReason = &'static str;

/// The fee ref `O-1/L1#N` → agreement id `O-1`.
pub fn agreement_of_fee(fee: &str) -> Option<&str> {
    let line = fee.rsplit_once('#')?.0;
    Some(crate::engine::split_line_ref(line)?.0)
}

impl Engine {
    /// The stored open period of a legal entity.
    pub fn revenue_period_record(&self, le: &str) -> Result<Option<RevenuePeriod>> {
        self.get(&keys::period(le))
    }

    /// The open period of a legal entity: stored, else its `revenue_period`.
    pub fn revenue_period(&self, le: &str) -> Result<RevenuePeriod> {
        if let Some(p) = self.revenue_period_record(le)? {
            return Ok(p);
        }
        match self.legal_entity(le)?.and_then(|l| l.revenue_period) {
            Some(d) if super::calc::is_month_end(d) => Ok(RevenuePeriod {
                legal_entity: le.to_string(),
                current: d,
            }),
            Some(d) => Err(refuse(
                Code::PeriodNotMonthEnd,
                &format!("legal entity {le}"),
                "revenue_period",
                format!("{d} is not a month end"),
            )),
            None => {
                let first = self
                    .entity_agreements(le)?
                    .iter()
                    .map(|a| month_index(a.start.max(a.ready_for_revenue_date)))
                    .min();
                match first {
                    Some(m) => Ok(RevenuePeriod {
                        legal_entity: le.to_string(),
                        current: month_end(m),
                    }),
                    None => Err(refuse(
                        Code::PeriodNotCurrent,
                        &format!("legal entity {le}"),
                        "revenue_period",
                        "the entity has no open revenue period yet (no agreement and no revenue_period)",
                    )),
                }
            }
        }
    }

    /// Every summary of an agreement, in period order.
    pub fn revenue_summaries(&self, agreement: &str) -> Result<Vec<Summary>> {
        self.store
            .scan(&keys::summaries(agreement))?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect()
    }

    pub(crate) fn book_facts(&self, account: &str) -> Result<BookFacts> {
        let mut docs = self.documents(DocType::Invoice, account)?;
        docs.extend(self.documents(DocType::CreditMemo, account)?);
        Ok(BookFacts {
            docs,
            usage: BTreeMap::new(),
        })
    }

    /// The amount of fee `f` of `ag` as it stands: its fixed amount, or for a usage fee Σ its
    /// line's invoiced usage so far (06 §4 step 4).
    pub fn fee_amount_now(&self, ag: &Agreement, f: &Fee) -> Result<Decimal> {
        if f.fee_type != "usage" {
            return Ok(f.amount);
        }
        let facts = self.book_facts(&ag.account)?;
        Ok(usage_fee_amount(f, &facts, NaiveDate::MAX).unwrap_or(f.amount))
    }

    /// [`Engine::book_facts`] of the agreement's account, with the rated usage of its prepay
    /// and true-up lines.
    pub(crate) fn agreement_facts(&self, ag: &Agreement) -> Result<BookFacts> {
        let mut facts = self.book_facts(&ag.account)?;
        for f in &ag.fees {
            if matches!(f.rule, Rule::Prepay | Rule::TrueUp) && !facts.usage.contains_key(&f.line) {
                let rated = self.rated_usage_of(&f.line)?;
                facts.usage.insert(f.line.clone(), rated);
            }
        }
        Ok(facts)
    }

    /// 06 §9 `usage_unrated`: usage of a usage-based fee's line dated on or before `end(P)` that
    /// is loaded but not rated.
    fn check_usage_rated(&self, ag: &Agreement, p: MonthIndex) -> Result<()> {
        let end_p = month_end(p);
        for f in &ag.fees {
            let usage_based =
                matches!(f.rule, Rule::Prepay | Rule::TrueUp) || f.fee_type == "usage";
            if usage_based && self.usage_loaded_through(&f.line, end_p)? {
                return Err(refuse(
                    Code::UsageUnrated,
                    &format!("agreement:{}", ag.id),
                    &f.fee_ref,
                    format!(
                        "{} has usage dated on or before {end_p} that is loaded but not rated",
                        f.line
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A known agreement, or `unknown_agreement`.
    pub fn known_agreement(&self, id: &str) -> Result<Agreement> {
        let id = id.strip_prefix("agreement:").unwrap_or(id);
        self.revenue_agreement(id)?.ok_or_else(|| {
            refuse(
                Code::UnknownAgreement,
                &format!("agreement:{id}"),
                "agreement",
                "no such agreement",
            )
        })
    }

    /// The agreement of a fee ref and the fee's index, or `unknown_fee`.
    pub fn known_fee(&self, fee: &str) -> Result<(Agreement, usize)> {
        let fee = fee.strip_prefix("fee:").unwrap_or(fee);
        let unknown = || {
            refuse(
                Code::UnknownFee,
                &format!("fee:{fee}"),
                "fee",
                "no such fee",
            )
        };
        let ag_id = agreement_of_fee(fee).ok_or_else(unknown)?;
        let ag = self.revenue_agreement(ag_id)?.ok_or_else(unknown)?;
        let i = ag
            .fees
            .iter()
            .position(|f| f.fee_ref == fee)
            .ok_or_else(unknown)?;
        Ok((ag, i))
    }

    /// Cumulative actual per fee through the latest summary before `p`.
    fn previous_summary(&self, ag: &Agreement, p: MonthIndex) -> Result<Option<Summary>> {
        // Summaries exist only up to the open period, so the month before is the latest earlier
        // one whenever it exists (the common case: one read instead of a scan).
        if let Some(s) = self.get::<Summary>(&keys::summary(&ag.id, &period_name(p - 1)))? {
            return Ok(Some(s));
        }
        let name = period_name(p);
        Ok(self
            .revenue_summaries(&ag.id)?
            .into_iter()
            .rfind(|s| s.period < name))
    }

    /// Compute the summary (with the actual rows) of `ag` for period `p`, checking the §10
    /// identities and the allocation invariant; nothing is written.
    pub(crate) fn compute_summary(&self, ag: &Agreement, p: MonthIndex) -> Result<Summary> {
        let record = format!("agreement:{}", ag.id);
        let scale = minor_units(&ag.currency).unwrap_or(2);
        let facts = self.agreement_facts(ag)?;
        self.check_allocation(ag)?;
        self.check_usage_rated(ag, p)?;
        let prev = self.previous_summary(ag, p)?;
        let prev_cum: BTreeMap<&str, Decimal> = prev
            .as_ref()
            .map(|s| s.cumulative.iter().map(|(f, v)| (f.as_str(), *v)).collect())
            .unwrap_or_default();
        let mut rows = Vec::new();
        let mut cum_out = Vec::new();
        for f in &ag.fees {
            let target = cumulative(&super::calc::linked(&ag.fees, f), p, scale, &facts);
            let before = prev_cum
                .get(f.fee_ref.as_str())
                .copied()
                .unwrap_or_default();
            let row = target - before;
            if !row.is_zero() {
                rows.push((f.fee_ref.clone(), row));
            }
            if before + row != target {
                return Err(refuse(
                    Code::RevenueInvariantBroken,
                    &f.fee_ref,
                    "amount",
                    format!("rows sum to {}, target {target}", before + row),
                ));
            }
            cum_out.push((f.fee_ref.clone(), target));
        }
        let end_p = month_end(p);
        let billed_to_date: Decimal = ag
            .fees
            .iter()
            .map(|f| f.line.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
            .map(|l| facts.billed(l, end_p))
            .sum();
        let name = period_name(p);
        let adj_to_date: Decimal = ag
            .adjustments
            .iter()
            .filter(|a| a.period <= name)
            .map(|a| a.amount)
            .sum();
        let rows_to_date: Decimal = cum_out.iter().map(|(_, v)| *v).sum();
        let recognised_to_date = rows_to_date + adj_to_date;
        let zero = Decimal::ZERO;
        let (p_billed, p_recog, p_adj_td, p_def, p_unrec, p_fees, p_order) = match &prev {
            Some(s) => {
                let adj: Decimal = ag
                    .adjustments
                    .iter()
                    .filter(|a| a.period <= s.period)
                    .map(|a| a.amount)
                    .sum();
                (
                    s.billed_to_date,
                    s.recognised_to_date,
                    adj,
                    s.deferred,
                    s.unrecognised,
                    s.fee_total,
                    s.order_fee_total,
                )
            }
            None => (zero, zero, zero, zero, zero, zero, zero),
        };
        let amount_of = |f: &Fee| usage_fee_amount(f, &facts, end_p).unwrap_or(f.amount);
        let fee_total: Decimal = ag.fees.iter().map(amount_of).sum();
        let order_fee_total: Decimal = ag
            .fees
            .iter()
            .filter(|f| f.origin == "order")
            .map(amount_of)
            .sum();
        let s = Summary {
            agreement: ag.id.clone(),
            period: name,
            rows,
            billed_to_date,
            recognised_to_date,
            billed: billed_to_date - p_billed,
            recognised: recognised_to_date - p_recog,
            adjustments: adj_to_date - p_adj_td,
            deferred: billed_to_date - recognised_to_date,
            unrecognised: fee_total - rows_to_date,
            new_fees: order_fee_total - p_order,
            modification_fees: (fee_total - order_fee_total) - (p_fees - p_order),
            fee_total,
            order_fee_total,
            cumulative: cum_out,
        };
        // The identities of §10.
        if s.deferred != p_def + s.billed - s.recognised
            || s.unrecognised
                != p_unrec + s.new_fees + s.modification_fees - (s.recognised - s.adjustments)
        {
            return Err(refuse(
                Code::RevenueInvariantBroken,
                &record,
                "summary",
                format!(
                    "period {}: deferred {} / unrecognised {} do not roll forward from {} / {}",
                    s.period, s.deferred, s.unrecognised, p_def, p_unrec
                ),
            ));
        }
        Ok(s)
    }

    /// The allocation invariant (06 §5): Σ allocation = Σ TP over the lines, the fees and the
    /// agreement's own obligations.
    pub(crate) fn check_allocation(&self, ag: &Agreement) -> Result<()> {
        if ag.standard != Standard::Asc606 {
            return Ok(());
        }
        let record = format!("agreement:{}", ag.id);
        let mismatch = |what: &str, alloc: Decimal, tp: Decimal| {
            refuse(
                Code::AllocationMismatch,
                &record,
                "allocation",
                format!(
                    "{what}: allocations sum to {alloc}, transaction prices to {tp} (difference {})",
                    alloc - tp
                ),
            )
        };
        let la: Decimal = ag.lines.iter().map(|l| l.allocation).sum();
        let lt: Decimal = ag.lines.iter().map(|l| l.transaction_price).sum();
        if la != lt {
            return Err(mismatch("lines", la, lt));
        }
        let flat = ag.fees.iter().filter(|f| f.fee_type != "usage");
        let (fa, ft) = flat.fold((Decimal::ZERO, Decimal::ZERO), |(a, t), f| {
            (a + f.amount, t + f.transaction_price)
        });
        if fa != ft {
            return Err(mismatch("fees", fa, ft));
        }
        for r in &ag.obligations {
            if let Some(o) = self.revenue_obligation(r)? {
                let mut a = Decimal::ZERO;
                let mut t = Decimal::ZERO;
                for fr in &o.fees {
                    // The agreement's own fees without a read; another agreement's (a
                    // cross-agreement merge) from the store.
                    if let Some(f) = ag.fees.iter().find(|f| &f.fee_ref == fr) {
                        a += f.amount;
                        t += f.transaction_price;
                    } else if let Ok((other, i)) = self.known_fee(fr) {
                        a += other.fees[i].amount;
                        t += other.fees[i].transaction_price;
                    }
                }
                if a != o.allocation || t != o.transaction_price {
                    return Err(mismatch(
                        &format!("obligation {r}"),
                        o.allocation,
                        o.transaction_price,
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether `ag` is processed by an actual run for `p`, or why not.
    pub fn actual_skip_reason(&self, ag: &Agreement, p: MonthIndex) -> Result<Option<SkipReason>> {
        if ag.status == AgreementStatus::Draft {
            return Ok(Some("draft"));
        }
        if !ag.revrec_active {
            return Ok(Some("inactive"));
        }
        if month_index(ag.start.max(ag.ready_for_revenue_date)) > p {
            return Ok(Some("not_started"));
        }
        if self
            .store
            .get(&keys::summary(&ag.id, &period_name(p)))?
            .is_some()
        {
            return Ok(Some("already_generated"));
        }
        let last = ag
            .fees
            .iter()
            .map(horizon)
            .chain([month_index(ag.end)])
            .max()
            .unwrap_or(p);
        if p > last {
            // Past its last month: only an outstanding catch-up keeps it eligible.
            let s = self.compute_summary(ag, p);
            if let Ok(s) = s {
                if s.rows.is_empty() && s.adjustments.is_zero() {
                    return Ok(Some("done"));
                }
            }
        }
        Ok(None)
    }

    /// [`Engine::actual_skip_reason`] as far as the head decides it: `Some(true)` when the
    /// agreement is skipped for `p` (draft, inactive, not started, already generated),
    /// `Some(false)` when it is eligible within its term, `None` past its last month (only the
    /// whole record tells whether a catch-up is outstanding).
    fn head_skips(&self, head: &AgreementHead, p: MonthIndex) -> Result<Option<bool>> {
        if head.status == AgreementStatus::Draft
            || !head.revrec_active
            || month_index(head.start.max(head.ready_for_revenue_date)) > p
        {
            return Ok(Some(true));
        }
        if self
            .store
            .get(&keys::summary(&head.id, &period_name(p)))?
            .is_some()
        {
            return Ok(Some(true));
        }
        let last = head
            .fees
            .iter()
            .map(|f| {
                f.milestones
                    .iter()
                    .flat_map(|m| [m.expected, m.actual])
                    .flatten()
                    .map(month_index)
                    .fold(month_index(f.end), MonthIndex::max)
            })
            .chain([month_index(head.end)])
            .max()
            .unwrap_or(p);
        Ok((p <= last).then_some(false))
    }

    fn open_period_of(&self, ag: &Agreement) -> Result<MonthIndex> {
        Ok(month_index(self.revenue_period(&ag.legal_entity)?.current))
    }

    fn check_open(&self, le: &str, p: MonthIndex, record: &str, future: Code) -> Result<()> {
        let current = month_index(self.revenue_period(le)?.current);
        if p < current {
            return Err(refuse(
                Code::PeriodClosed,
                record,
                "period",
                format!(
                    "{} is closed (open period {})",
                    period_name(p),
                    period_name(current)
                ),
            ));
        }
        if p > current {
            return Err(refuse(
                future,
                record,
                "period",
                format!(
                    "{} is not the open period {}",
                    period_name(p),
                    period_name(current)
                ),
            ));
        }
        Ok(())
    }

    /// Generate actuals of one agreement for the open period `p` of its entity (06 §8): the rows
    /// and the summary in one commit. `Ok(Err(reason))` when it is skipped.
    pub fn generate_actual(
        &self,
        agreement: &str,
        p: MonthIndex,
    ) -> Result<std::result::Result<Summary, SkipReason>> {
        let ag = self.known_agreement(agreement)?;
        self.check_open(
            &ag.legal_entity,
            p,
            &format!("agreement:{}", ag.id),
            Code::PeriodNotCurrent,
        )?;
        match self.plan_actual(&ag, p)? {
            Ok((s, b)) => {
                self.store.commit(b)?;
                Ok(Ok(s))
            }
            Err(reason) => Ok(Err(reason)),
        }
    }

    /// The summary of `ag` for `p` and the batch that writes it (the caller has checked that
    /// `p` is the open period), or why it is skipped.
    pub(crate) fn plan_actual(
        &self,
        ag: &Agreement,
        p: MonthIndex,
    ) -> Result<std::result::Result<(Summary, Batch), SkipReason>> {
        if let Some(reason) = self.actual_skip_reason(ag, p)? {
            return Ok(Err(reason));
        }
        let s = self.compute_summary(ag, p)?;
        let mut b = Batch::default();
        b.put(keys::summary(&ag.id, &s.period), encode(&s));
        Ok(Ok((s, b)))
    }

    /// Roll back actuals of one agreement for the open period (06 §8): its rows and summary go.
    pub fn rollback_actual(
        &self,
        agreement: &str,
        p: MonthIndex,
    ) -> Result<std::result::Result<(), SkipReason>> {
        let ag = self.known_agreement(agreement)?;
        self.check_open(
            &ag.legal_entity,
            p,
            &format!("agreement:{}", ag.id),
            Code::PeriodNotCurrent,
        )?;
        let k = keys::summary(&ag.id, &period_name(p));
        if self.store.get(&k)?.is_none() {
            return Ok(Err("no_actuals"));
        }
        let mut b = Batch::default();
        b.delete(k);
        self.store.commit(b)?;
        Ok(Ok(()))
    }

    /// Agreements of a legal entity, in id order.
    pub fn entity_agreements(&self, le: &str) -> Result<Vec<Agreement>> {
        Ok(self
            .revenue_agreements()?
            .into_iter()
            .filter(|a| a.legal_entity == le)
            .collect())
    }

    /// Close the open period of `le` (06 §8): refused while any agreement is eligible for it.
    pub fn close_period(&self, le: &str) -> Result<RevenuePeriod> {
        let mut per = self.revenue_period(le)?;
        let p = month_index(per.current);
        let mut eligible = Vec::new();
        for (k, v) in self.store.scan(&keys::agreements())? {
            let head: AgreementHead = crate::engine::decode(&k, &v)?;
            if head.legal_entity != le {
                continue;
            }
            match self.head_skips(&head, p)? {
                Some(true) => {}
                Some(false) => eligible.push(head.id),
                None => {
                    // Past its last month: only the whole record tells.
                    let ag: Agreement = crate::engine::decode(&k, &v)?;
                    if self.actual_skip_reason(&ag, p)?.is_none() {
                        eligible.push(ag.id);
                    }
                }
            }
        }
        if !eligible.is_empty() {
            let first: Vec<&str> = eligible.iter().take(10).map(String::as_str).collect();
            return Err(refuse(
                Code::PeriodHasEligibleAgreements,
                &format!("legal entity {le}"),
                "current",
                format!(
                    "{} agreement(s) still eligible for {}: {}",
                    eligible.len(),
                    period_name(p),
                    first.join(", ")
                ),
            ));
        }
        per.current = month_end(p + 1);
        let mut b = Batch::default();
        b.put(keys::period(le), encode(&per));
        self.store.commit(b)?;
        Ok(per)
    }

    /// Reopen the previous period of `le` (06 §8): refused while any agreement has a summary for
    /// the open period.
    pub fn reopen_period(&self, le: &str) -> Result<RevenuePeriod> {
        let mut per = self.revenue_period(le)?;
        let p = month_index(per.current);
        let name = period_name(p);
        let with: Vec<String> = self
            .entity_agreements(le)?
            .into_iter()
            .filter(|a| {
                self.store
                    .get(&keys::summary(&a.id, &name))
                    .ok()
                    .flatten()
                    .is_some()
            })
            .map(|a| a.id)
            .collect();
        if !with.is_empty() {
            return Err(refuse(
                Code::PeriodHasActuals,
                &format!("legal entity {le}"),
                "current",
                format!(
                    "{} agreement(s) have actuals for {name}: {}; roll them back first",
                    with.len(),
                    with.iter().take(10).cloned().collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        per.current = month_end(p - 1);
        let mut b = Batch::default();
        b.put(keys::period(le), encode(&per));
        self.store.commit(b)?;
        Ok(per)
    }

    /// Counts of `expect: period` (06 §13): agreements eligible for actuals in the open period,
    /// and agreements with a summary for it.
    pub fn period_counts(&self, le: &str) -> Result<(RevenuePeriod, usize, usize)> {
        let per = self.revenue_period(le)?;
        let p = month_index(per.current);
        let (mut eligible, mut with) = (0, 0);
        for ag in self.entity_agreements(le)? {
            match self.actual_skip_reason(&ag, p)? {
                None => eligible += 1,
                Some("already_generated") => with += 1,
                Some(_) => {}
            }
        }
        Ok((per, eligible, with))
    }

    /// Agreements of the entity eligible for forecasts in the open period and without forecast
    /// rows for it (06 §9 *ready to forecast*).
    pub fn ready_to_forecast(&self, le: &str) -> Result<usize> {
        let p = month_index(self.revenue_period(le)?.current);
        let mut n = 0;
        for ag in self.entity_agreements(le)? {
            if self.forecast_skip_reason(&ag, p).is_none() && !self.has_forecast(&ag, p)? {
                n += 1;
            }
        }
        Ok(n)
    }

    fn has_summary(&self, ag: &Agreement, p: MonthIndex) -> Result<bool> {
        Ok(self
            .store
            .get(&keys::summary(&ag.id, &period_name(p)))?
            .is_some())
    }

    fn save_agreement(&self, ag: &Agreement, extra: Vec<(Vec<u8>, Vec<u8>)>) -> Result<()> {
        let mut b = Batch::default();
        b.put(keys::agreement(&ag.id), encode(ag));
        for (k, v) in extra {
            b.put(k, v);
        }
        Ok(self.store.commit(b)?)
    }

    /// A percent-complete input (06 §6): the actual cumulative percent for the open period, or a
    /// forecast percent for any period from the open one on.
    pub fn percent_complete(
        &self,
        fee: &str,
        period: &str,
        value: Decimal,
        forecast: bool,
    ) -> Result<()> {
        let (mut ag, i) = self.known_fee(fee)?;
        let record = format!("fee:{}", ag.fees[i].fee_ref);
        let p = parse_period(period).ok_or_else(|| {
            refuse(
                Code::InvalidRecord,
                &record,
                "period",
                format!("`{period}` is not YYYY-MM"),
            )
        })?;
        if ag.fees[i].rule != Rule::PercentComplete {
            return Err(refuse(
                Code::FeeRuleMismatch,
                &record,
                "rule",
                format!(
                    "the fee's rule is {}, not percent_complete",
                    ag.fees[i].rule.as_str()
                ),
            ));
        }
        if !(Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&value) {
            return Err(refuse(
                Code::PercentOutOfRange,
                &record,
                "actual",
                format!("{value} is outside 0–100"),
            ));
        }
        let open = self.open_period_of(&ag)?;
        if forecast {
            if p < open {
                return Err(refuse(
                    Code::PeriodClosed,
                    &record,
                    "period",
                    format!("{period} is closed"),
                ));
            }
            ag.fees[i]
                .percent_forecast
                .insert(period.to_string(), value);
        } else {
            self.check_open(&ag.legal_entity, p, &record, Code::PercentNotCurrentPeriod)?;
            let f = &ag.fees[i];
            if p < month_index(f.start) || p > month_index(f.end) {
                return Err(refuse(
                    Code::PercentNotCurrentPeriod,
                    &record,
                    "period",
                    format!(
                        "{period} is outside the fee's window {}..{}",
                        f.start, f.end
                    ),
                ));
            }
            if self.has_summary(&ag, p)? {
                return Err(refuse(
                    Code::PeriodAlreadyGenerated,
                    &record,
                    "period",
                    format!("actuals of {period} are generated; roll them back first"),
                ));
            }
            ag.fees[i].percent_actual.insert(period.to_string(), value);
        }
        self.save_agreement(&ag, vec![])
    }

    /// A milestone's planned (`expected`) or completion (`actual`) date (06 §6).
    pub fn milestone(
        &self,
        fee: &str,
        name: &str,
        expected: Option<NaiveDate>,
        actual: Option<NaiveDate>,
    ) -> Result<()> {
        let (mut ag, i) = self.known_fee(fee)?;
        let record = format!("fee:{}", ag.fees[i].fee_ref);
        let f = &mut ag.fees[i];
        if f.rule != Rule::Milestone {
            return Err(refuse(
                Code::FeeRuleMismatch,
                &record,
                "rule",
                format!("the fee's rule is {}, not milestone", f.rule.as_str()),
            ));
        }
        let Some(m) = f.milestones.iter_mut().find(|m| m.name == name) else {
            return Err(refuse(
                Code::UnknownMilestone,
                &record,
                "name",
                format!("the fee has no milestone `{name}`"),
            ));
        };
        if let Some(d) = expected {
            m.expected = Some(d);
        }
        if let Some(d) = actual {
            if m.actual.is_some() {
                return Err(refuse(
                    Code::MilestoneAlreadyCompleted,
                    &record,
                    "actual",
                    format!(
                        "milestone `{name}` was completed on {}",
                        m.actual.unwrap_or(d)
                    ),
                ));
            }
            m.actual = Some(d);
            // Once every milestone is complete the fee ends on the latest actual date.
            if f.milestones.iter().all(|m| m.actual.is_some()) {
                f.end = f
                    .milestones
                    .iter()
                    .filter_map(|m| m.actual)
                    .max()
                    .unwrap_or(f.end);
            }
        }
        self.save_agreement(&ag, vec![])
    }

    /// A manual actual entry for the open period (06 §6).
    pub fn manual_entry(&self, fee: &str, period: &str, amount: Decimal) -> Result<()> {
        let (mut ag, i) = self.known_fee(fee)?;
        let record = format!("fee:{}", ag.fees[i].fee_ref);
        let p = parse_period(period).ok_or_else(|| {
            refuse(
                Code::InvalidRecord,
                &record,
                "period",
                format!("`{period}` is not YYYY-MM"),
            )
        })?;
        if ag.fees[i].rule != Rule::Manual {
            return Err(refuse(
                Code::FeeRuleMismatch,
                &record,
                "rule",
                format!("the fee's rule is {}, not manual", ag.fees[i].rule.as_str()),
            ));
        }
        self.check_open(&ag.legal_entity, p, &record, Code::PercentNotCurrentPeriod)?;
        if self.has_summary(&ag, p)? {
            return Err(refuse(
                Code::PeriodAlreadyGenerated,
                &record,
                "period",
                format!("actuals of {period} are generated; roll them back first"),
            ));
        }
        let f = &mut ag.fees[i];
        let total: Decimal = f.manual.values().copied().sum::<Decimal>() + amount;
        if total.abs() > f.amount.abs() {
            return Err(refuse(
                Code::ManualExceedsFee,
                &record,
                "amount",
                format!("entries would sum to {total}, the fee is {}", f.amount),
            ));
        }
        *f.manual.entry(period.to_string()).or_default() += amount;
        self.save_agreement(&ag, vec![])
    }

    /// An adjustment in the open period of the agreement's entity (06 §2, §6).
    pub fn revenue_adjustment(
        &self,
        agreement: &str,
        amount: Decimal,
        comment: &str,
    ) -> Result<Adjustment> {
        let mut ag = self.known_agreement(agreement)?;
        let p = self.open_period_of(&ag)?;
        if self.has_summary(&ag, p)? {
            return Err(refuse(
                Code::PeriodAlreadyGenerated,
                &format!("agreement:{}", ag.id),
                "period",
                format!(
                    "actuals of {} are generated; roll them back first",
                    period_name(p)
                ),
            ));
        }
        let adj = Adjustment {
            seq: ag.adjustments.len() as u32 + 1,
            period: period_name(p),
            amount,
            comment: comment.to_string(),
        };
        ag.adjustments.push(adj.clone());
        self.save_agreement(&ag, vec![])?;
        Ok(adj)
    }

    /// Move an immediate fee's start (06 §6): its line's and obligation's start follow, the
    /// agreement's start moves earlier when the new date precedes it.
    pub fn edit_fee_start(&self, fee: &str, start: NaiveDate) -> Result<()> {
        let (mut ag, i) = self.known_fee(fee)?;
        let f = ag.fees[i].clone();
        let record = format!("fee:{}", f.fee_ref);
        if f.rule != Rule::Immediate {
            return Err(refuse(
                Code::StartEditNotImmediate,
                &record,
                "start",
                format!(
                    "only immediate fees move their start; this one is {}",
                    f.rule.as_str()
                ),
            ));
        }
        let has_rows = self
            .revenue_summaries(&ag.id)?
            .iter()
            .any(|s| s.rows.iter().any(|(r, _)| *r == f.fee_ref));
        if has_rows {
            return Err(refuse(
                Code::FeeHasActuals,
                &record,
                "start",
                "the fee has actual rows; roll them back first",
            ));
        }
        ag.fees[i].start = start;
        ag.fees[i].end = start;
        if let Some(l) = ag.lines.iter_mut().find(|l| l.order_line == f.line) {
            l.start = start;
        }
        if start < ag.start {
            ag.start = start;
        }
        let mut extra = Vec::new();
        if let Some(r) = &f.obligation {
            if let Some(mut o) = self.revenue_obligation(r)? {
                o.start = start;
                extra.push((keys::obligation(r), encode(&o)));
            }
        }
        self.save_agreement(&ag, extra)
    }

    /// Re-point a fee to another obligation; both obligations are re-summed (06 §13).
    pub fn move_fee(&self, fee: &str, obligation: &str) -> Result<()> {
        let (ag, i) = self.known_fee(fee)?;
        let f = ag.fees[i].clone();
        let record = format!("fee:{}", f.fee_ref);
        let target_ref = obligation.strip_prefix("obligation:").unwrap_or(obligation);
        if ag.standard != Standard::Asc606 {
            return Err(refuse(
                Code::FeeMoveNotAllowed,
                &record,
                "obligation",
                "ASC 605 agreements have no obligations",
            ));
        }
        let mut target = self.revenue_obligation(target_ref)?.ok_or_else(|| {
            refuse(
                Code::UnknownObligation,
                &format!("obligation:{target_ref}"),
                "obligation",
                "no such obligation",
            )
        })?;
        if target.account != ag.account || target.currency != ag.currency {
            return Err(refuse(
                Code::FeeMoveNotAllowed,
                &record,
                "obligation",
                format!(
                    "obligation {target_ref} belongs to account {} in {}",
                    target.account, target.currency
                ),
            ));
        }
        if f.obligation.as_deref() == Some(target_ref) {
            return Ok(());
        }
        let mut ag = ag;
        let mut b = Batch::default();
        if let Some(src_ref) = &f.obligation {
            if let Some(mut src) = self.revenue_obligation(src_ref)? {
                src.fees.retain(|x| *x != f.fee_ref);
                src.transaction_price -= f.transaction_price;
                src.allocation -= f.amount;
                src.rule = self.obligation_rule(&src)?;
                b.put(keys::obligation(src_ref), encode(&src));
            }
        }
        ag.fees[i].obligation = Some(target_ref.to_string());
        target.fees.push(f.fee_ref.clone());
        target.transaction_price += f.transaction_price;
        target.allocation += f.amount;
        target.rule = {
            let mut rules: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
            for r in &target.fees {
                if *r == f.fee_ref {
                    rules.insert(f.rule.as_str().into());
                } else if let Ok((o, j)) = self.known_fee(r) {
                    rules.insert(o.fees[j].rule.as_str().into());
                }
            }
            common_rule(rules)
        };
        b.put(keys::obligation(target_ref), encode(&target));
        b.put(keys::agreement(&ag.id), encode(&ag));
        Ok(self.store.commit(b)?)
    }

    fn obligation_rule(&self, o: &Obligation) -> Result<String> {
        let mut rules = std::collections::BTreeSet::new();
        for r in &o.fees {
            let (ag, j) = self.known_fee(r)?;
            rules.insert(ag.fees[j].rule.as_str().to_string());
        }
        Ok(common_rule(rules))
    }

    /// `open`, or `satisfied` once every fee is fully recognised and the obligation's end is in
    /// a closed period (06 §2, derived).
    pub fn obligation_status(&self, o: &Obligation) -> Result<&'static str> {
        let Ok(per) = self.revenue_period(&o.legal_entity) else {
            return Ok("open");
        };
        if month_index(o.end) >= month_index(per.current) {
            return Ok("open");
        }
        for r in &o.fees {
            let (ag, j) = self.known_fee(r)?;
            let f = &ag.fees[j];
            let done = self
                .revenue_summaries(&ag.id)?
                .last()
                .and_then(|s| {
                    s.cumulative
                        .iter()
                        .find(|(x, _)| *x == f.fee_ref)
                        .map(|(_, v)| *v)
                })
                .unwrap_or_default();
            if done != f.amount {
                return Ok("open");
            }
        }
        Ok("satisfied")
    }
}

fn common_rule(rules: std::collections::BTreeSet<String>) -> String {
    match rules.len() {
        0 => String::new(),
        1 => rules.into_iter().next().unwrap_or_default(),
        _ => "mixed".into(),
    }
}

impl Engine {
    /// The `agreement` step (06 §13): set an agreement's status and its recognition and
    /// forecast gates.
    pub fn set_agreement_gates(
        &self,
        agreement: &str,
        status: Option<AgreementStatus>,
        revrec_active: Option<bool>,
        forecast_active: Option<bool>,
    ) -> Result<Agreement> {
        let mut ag = self.known_agreement(agreement)?;
        if let Some(s) = status {
            ag.status = s;
        }
        if let Some(v) = revrec_active {
            ag.revrec_active = v;
        }
        if let Some(v) = forecast_active {
            ag.forecast_active = v;
        }
        self.save_agreement(&ag, vec![])?;
        Ok(ag)
    }
}

//! The engine: accounts, orders, activation into billing schedules, and queries, over a
//! [`Store`]. Deterministic: the caller passes the date; nothing reads the wall clock.

use crate::callbacks::{Callbacks, NoPlugins};
use crate::error::{Code, EngineError, Result};
use crate::model::*;
use crate::money::{minor_units, Rounding};
use crate::rules::RuleSet;
use crate::schedule::{self, GenError, Price, Terms};
use crate::store::{Batch, Store, StoreError};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::sync::Arc;

/// Whether a schedule is invoiced or only shown (02 §4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleType {
    /// Invoiced.
    Contracted,
    /// Shown, never invoiced.
    Informational,
}

/// Schedule status (02 record).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleStatus {
    /// Waiting for an invoice run.
    PendingBilling,
    /// On a draft invoice.
    PendingInvoiced,
    /// On an approved invoice.
    Invoiced,
    /// Waiting for a milestone (03).
    PendingMilestone,
    /// Replaced by a change.
    Superseded,
    /// Cancelled.
    Cancelled,
}

/// One billing schedule (02 record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// `O-1/L1#n`.
    pub id: String,
    /// `O-1/L1`.
    pub line: String,
    /// `n` of the ref.
    pub seq: u32,
    /// First day.
    pub start: NaiveDate,
    /// Last day.
    pub end: NaiveDate,
    /// Ready for invoice.
    pub ready: NaiveDate,
    /// Amount.
    pub amount: Decimal,
    /// Quantity.
    pub quantity: Decimal,
    /// Contracted or informational.
    #[serde(rename = "type")]
    pub schedule_type: ScheduleType,
    /// Status.
    pub status: ScheduleStatus,
    /// What created it.
    pub kind: String,
    /// Category.
    pub category: String,
    /// Invoice it is on.
    pub invoice: Option<String>,
    /// What asset-based changes record on the row (03 §D); empty for plain activation.
    #[serde(default, skip_serializing_if = "crate::changes::RowChange::is_empty")]
    pub change: crate::changes::RowChange,
    /// Billing-plan rows (03 C): the item, its payment term, milestone state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<crate::plans::PlanRow>,
}

/// An activated line (asset) with the settings it was created with (01: later rule changes do
/// not reach it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// `O-1/L1`.
    pub line: String,
    /// Order id.
    pub order: String,
    /// Bill-to account.
    pub account: String,
    /// Product code.
    pub product: String,
    /// Currency.
    pub currency: String,
    /// Effective billing preference (`None`: the built-in defaults).
    pub preference: Option<String>,
    /// Effective payment term.
    pub payment_term: Option<String>,
    /// Schedule terms.
    pub terms: Terms,
    /// Price.
    pub price: Price,
    /// Evergreen: schedules kept uninvoiced.
    pub evergreen: Option<u32>,
    /// Schedules generated so far.
    pub generated: u32,
    /// Type of its schedules.
    pub schedule_type: ScheduleType,
    /// Quantity.
    pub quantity: Decimal,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredOrder {
    /// The order as submitted.
    pub order: Order,
    /// Activation date, once active.
    pub activated_on: Option<NaiveDate>,
}

/// What an activation created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// Order id.
    pub order: String,
    /// Schedules created, per line ref.
    pub schedules: Vec<(String, usize)>,
}

pub(crate) fn key(parts: &[&str]) -> Vec<u8> {
    let mut k = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p.as_bytes());
    }
    k
}

pub(crate) fn schedule_key(order: &str, line: &str, seq: u32) -> Vec<u8> {
    let mut k = key(&["sched", order, line, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("records serialise")
}

pub(crate) fn decode<T: DeserializeOwned>(k: &[u8], v: &[u8]) -> Result<T> {
    serde_json::from_slice(v).map_err(|e| {
        EngineError::Store(StoreError::Corrupt {
            key: String::from_utf8_lossy(k).replace('\0', "/"),
            reason: e.to_string(),
        })
    })
}

/// Split `O-1/L1` into order and line ids (the last `/` separates them).
pub fn split_line_ref(r: &str) -> Option<(&str, &str)> {
    r.rsplit_once('/')
}

/// The engine.
pub struct Engine {
    pub(crate) rules: Arc<RuleSet>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) callbacks: Arc<dyn Callbacks>,
    price_currency: Option<String>,
    /// Serialises the invoicing writers (runs and lifecycle actions) so that the exactly-once
    /// check and the write it guards see one another (04 §3.3).
    pub(crate) billing_lock: std::sync::Mutex<()>,
    /// The documents of the last preview (04 §10), never stored.
    pub(crate) last_preview: std::sync::Mutex<Vec<(crate::billing::Document, bool)>>,
    /// The invoicing rule documents, typed on first use (reset with the rules).
    pub(crate) billing_rules: std::sync::OnceLock<crate::billing::tax::BillingRules>,
    /// Threads an invoice run prepares accounts on (`0`: one per core; `1`: the caller's thread
    /// alone). The results do not depend on it.
    pub(crate) run_threads: usize,
    /// Told after every commit of an invoice run (a long run shows its progress through it).
    pub(crate) progress: Option<Arc<ProgressFn>>,
}

/// An invoice run's progress observer ([`Engine::with_progress`]).
pub type ProgressFn = dyn Fn(&crate::billing::run::RunProgress) + Send + Sync;

impl Engine {
    /// An engine over a store with a rule set.
    pub fn new(store: Arc<dyn Store>, rules: RuleSet) -> Self {
        Engine {
            rules: Arc::new(rules),
            store,
            callbacks: Arc::new(NoPlugins),
            price_currency: None,
            billing_lock: std::sync::Mutex::new(()),
            last_preview: std::sync::Mutex::new(Vec::new()),
            billing_rules: std::sync::OnceLock::new(),
            run_threads: 0,
            progress: None,
        }
    }

    /// Call `f` after every commit of an invoice run, and once at its end, with how far the run
    /// has come. `f` runs on the run's thread and must be quick; it sees no records.
    pub fn with_progress(
        mut self,
        f: impl Fn(&crate::billing::run::RunProgress) + Send + Sync + 'static,
    ) -> Self {
        self.set_progress(f);
        self
    }

    /// [`Engine::with_progress`] on an engine in place.
    pub fn set_progress(
        &mut self,
        f: impl Fn(&crate::billing::run::RunProgress) + Send + Sync + 'static,
    ) {
        self.progress = Some(Arc::new(f));
    }

    /// How many threads invoice runs prepare accounts on: `0` (the default) one per core, `1`
    /// the calling thread alone. Documents, numbers and writes are the same for every value;
    /// only the elapsed time changes.
    pub fn with_run_threads(mut self, threads: usize) -> Self {
        self.run_threads = threads;
        self
    }

    /// An engine over a durable sled store in `path` (created when missing).
    pub fn open(path: &std::path::Path, rules: RuleSet) -> Result<Self> {
        Ok(Engine::new(
            Arc::new(crate::store::SledStore::open(path)?),
            rules,
        ))
    }

    /// Register the plugin host's callbacks.
    pub fn with_callbacks(mut self, callbacks: Arc<dyn Callbacks>) -> Self {
        self.callbacks = callbacks;
        self
    }

    /// Replace the callbacks (with the rules they were loaded from).
    pub fn set_callbacks(&mut self, callbacks: Arc<dyn Callbacks>) {
        self.callbacks = callbacks;
    }

    /// The currency the price list is written in; accounts without a currency take it, and a
    /// line billed to an account in another currency is refused (`currency_mismatch`).
    pub fn with_price_currency(mut self, currency: Option<String>) -> Self {
        self.price_currency = currency;
        self
    }

    /// Replace the rules; applies to what is created afterwards.
    pub fn set_rules(&mut self, rules: RuleSet) {
        self.rules = Arc::new(rules);
        self.billing_rules = std::sync::OnceLock::new();
    }

    /// The rules in force.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The registered callbacks.
    pub fn callbacks(&self) -> &dyn Callbacks {
        self.callbacks.as_ref()
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>> {
        match self.store.get(k)? {
            Some(v) => Ok(Some(decode(k, &v)?)),
            None => Ok(None),
        }
    }

    /// Insert or replace an account.
    pub fn upsert_account(&self, mut account: Account) -> Result<()> {
        if account.currency.is_empty() {
            account.currency = self.price_currency.clone().unwrap_or_default();
        }
        if minor_units(&account.currency).is_none() {
            return Err(EngineError::refused(
                Code::UnknownCurrency,
                format!("account {}", account.id),
                "currency",
                format!("`{}` is not an ISO 4217 currency", account.currency),
            ));
        }
        if let Some(DayOfMonth::Day(d)) = account.billing_day_of_month {
            if !(1..=31).contains(&d) {
                return Err(EngineError::refused(
                    Code::InvalidCycleDay,
                    format!("account {}", account.id),
                    "billing_day_of_month",
                    format!("{d} is not a day 1–31"),
                ));
            }
        }
        for (field, name) in [("billing_preference", &account.billing_preference)] {
            if let Some(n) = name {
                if !self.rules.preferences.contains_key(n) {
                    return Err(EngineError::refused(
                        Code::UnknownPreference,
                        format!("account {}", account.id),
                        field,
                        format!("no billing preference `{n}`"),
                    ));
                }
            }
        }
        if let Some(n) = &account.payment_term {
            if !self.rules.payment_terms.contains_key(n) {
                return Err(EngineError::refused(
                    Code::UnknownPaymentTerm,
                    format!("account {}", account.id),
                    "payment_term",
                    format!("no payment term `{n}`"),
                ));
            }
        }
        let mut b = Batch::default();
        b.put(key(&["acct", &account.id]), encode(&account));
        Ok(self.store.commit(b)?)
    }

    /// Read an account.
    pub fn account(&self, id: &str) -> Result<Option<Account>> {
        self.get(&key(&["acct", id]))
    }

    /// Read an account that a request names; a missing one is refused with `unknown_account`
    /// naming `record` and its `account` field.
    pub fn known_account(&self, id: &str, record: &str) -> Result<Account> {
        self.account(id)?.ok_or_else(|| {
            EngineError::refused(
                Code::UnknownAccount,
                record,
                "account",
                format!("no account `{id}`"),
            )
        })
    }

    /// Every stored account's id, in id order.
    pub fn account_ids(&self) -> Result<Vec<String>> {
        let prefix = key(&["acct", ""]);
        Ok(self
            .store
            .scan(&prefix)?
            .into_iter()
            .filter_map(|(k, _)| String::from_utf8(k[prefix.len()..].to_vec()).ok())
            .collect())
    }

    /// Read a legal entity.
    pub fn legal_entity(&self, id: &str) -> Result<Option<LegalEntity>> {
        self.get(&key(&["le", id]))
    }

    /// Insert or replace a legal entity.
    pub fn upsert_legal_entity(&self, le: LegalEntity) -> Result<()> {
        if minor_units(&le.currency).is_none() {
            return Err(EngineError::refused(
                Code::UnknownCurrency,
                format!("legal entity {}", le.id),
                "currency",
                format!("`{}` is not an ISO 4217 currency", le.currency),
            ));
        }
        let mut b = Batch::default();
        b.put(key(&["le", &le.id]), encode(&le));
        Ok(self.store.commit(b)?)
    }

    /// Submit (or resubmit, while not active) an order.
    pub fn submit_order(&self, order: Order) -> Result<()> {
        if let Some(existing) = self.get::<StoredOrder>(&key(&["order", &order.id]))? {
            if existing.activated_on.is_some() {
                return Err(EngineError::refused(
                    Code::AlreadyActive,
                    format!("order {}", order.id),
                    "id",
                    "the order is already active; change it with an asset-based change",
                ));
            }
        }
        let mut b = Batch::default();
        b.put(
            key(&["order", &order.id]),
            encode(&StoredOrder {
                order,
                activated_on: None,
            }),
        );
        Ok(self.store.commit(b)?)
    }

    /// Read an order.
    pub fn order(&self, id: &str) -> Result<Option<StoredOrder>> {
        self.get(&key(&["order", id]))
    }

    /// Activate an order on `today`: every line becomes an asset with its billing schedules, all
    /// or nothing, durable when this returns.
    pub fn activate(&self, order_id: &str, today: NaiveDate) -> Result<Activation> {
        let (report, batch) = self.plan_activation(order_id, today)?;
        self.store.commit(batch)?;
        tracing::debug!(
            order = order_id,
            lines = report.schedules.len(),
            "order activated"
        );
        Ok(report)
    }

    /// Activate many orders with one group commit: each order is still all or nothing (a refused
    /// one is reported and writes nothing), and every accepted one is durable when this returns.
    /// An order listed twice is activated once; the repeat is refused with `already_active`.
    pub fn activate_all(
        &self,
        order_ids: &[&str],
        today: NaiveDate,
    ) -> Result<Vec<Result<Activation>>> {
        let mut results = Vec::with_capacity(order_ids.len());
        let mut batches = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for id in order_ids {
            if !seen.insert(*id) {
                results.push(Err(EngineError::refused(
                    Code::AlreadyActive,
                    format!("order {id}"),
                    "id",
                    "listed twice in one activation",
                )));
                continue;
            }
            match self.plan_activation(id, today) {
                Ok((report, batch)) => {
                    batches.push(batch);
                    results.push(Ok(report));
                }
                Err(e) => results.push(Err(e)),
            }
        }
        self.store.commit_all(batches)?;
        Ok(results)
    }

    /// Everything an activation writes, as one batch (nothing is written here).
    fn plan_activation(&self, order_id: &str, today: NaiveDate) -> Result<(Activation, Batch)> {
        let Some(mut stored) = self.order(order_id)? else {
            return Err(EngineError::refused(
                Code::UnknownOrder,
                format!("order {order_id}"),
                "id",
                "no such order",
            ));
        };
        if stored.activated_on.is_some() {
            return Err(EngineError::refused(
                Code::AlreadyActive,
                format!("order {order_id}"),
                "id",
                "the order is already active",
            ));
        }
        let order = &stored.order;
        let Some(account) = self.account(&order.account)? else {
            return Err(EngineError::refused(
                Code::UnknownAccount,
                format!("order {order_id}"),
                "account",
                format!("no account `{}`", order.account),
            ));
        };
        let mut batch = Batch::default();
        let mut report = Activation {
            order: order_id.to_string(),
            schedules: Vec::new(),
        };
        let mut revenue_lines = Vec::new();
        for line in &order.lines {
            let (asset, schedules) = self.plan_line(order, line, &account)?;
            report.schedules.push((asset.line.clone(), schedules.len()));
            for s in &schedules {
                batch.put(schedule_key(&order.id, &line.id, s.seq), encode(s));
            }
            if order.ready_for_revenue_date.is_some() {
                revenue_lines.push(crate::revenue::agreement::LineFacts::of(
                    asset.line.clone(),
                    line,
                    &asset,
                    &schedules,
                ));
            }
            batch.put(key(&["asset", &order.id, &line.id]), encode(&asset));
            if let Some(plan) = crate::plans::activation::record_of(&schedules) {
                batch.put(
                    crate::plans::activation::record_key(&order.id, &line.id),
                    encode(&plan),
                );
            }
        }
        // 06 §4: an order activated with a ready-for-revenue date gets its agreement in the
        // same batch; a revenue error refuses the activation.
        if let Some(ready) = order.ready_for_revenue_date {
            self.plan_agreement(order, &account, &revenue_lines, ready, &mut batch)?;
        }
        stored.activated_on = Some(today);
        batch.put(key(&["order", order_id]), encode(&stored));
        Ok((report, batch))
    }

    /// Plan one line: resolve its settings and generate its schedules (nothing is written).
    pub(crate) fn plan_line(
        &self,
        order: &Order,
        line: &OrderLine,
        account: &Account,
    ) -> Result<(Asset, Vec<Schedule>)> {
        let line_ref = format!("{}/{}", order.id, line.id);
        let refuse = |code, field: &str, msg: String| {
            EngineError::refused(code, line_ref.clone(), field, msg)
        };
        let product = self.rules.products.get(&line.product).ok_or_else(|| {
            refuse(
                Code::UnknownProduct,
                "product",
                format!("no product `{}`", line.product),
            )
        })?;
        // Currency: the bill-to account's must match the order account's and the price list's.
        let mut currency = account.currency.clone();
        if let Some(bill_to) = line.extra.get("bill_to").and_then(|v| v.as_str()) {
            let other = self.account(bill_to)?.ok_or_else(|| {
                refuse(
                    Code::UnknownAccount,
                    "bill_to",
                    format!("no account `{bill_to}`"),
                )
            })?;
            if other.currency != account.currency {
                return Err(refuse(
                    Code::CurrencyMismatch,
                    "bill_to",
                    format!(
                        "bill-to account {} is in {}, the order's account {} in {}",
                        other.id, other.currency, account.id, account.currency
                    ),
                ));
            }
            currency = other.currency;
        }
        if let Some(pc) = &self.price_currency {
            if *pc != currency {
                return Err(refuse(
                    Code::CurrencyMismatch,
                    "product",
                    format!(
                        "`{}` is priced in {pc}, account {} is in {currency}",
                        product.code, account.id
                    ),
                ));
            }
        }
        let location =
            match &order.location {
                Some(id) => Some(account.locations.iter().find(|l| &l.id == id).ok_or_else(
                    || {
                        EngineError::refused(
                            Code::InvalidRecord,
                            format!("order {}", order.id),
                            "location",
                            format!("account {} has no location `{id}`", account.id),
                        )
                    },
                )?),
                None => None,
            };
        let preference = self.resolve_preference(&line_ref, account, location, order, line)?;
        let payment_term =
            self.resolve_payment_term(&line_ref, preference, account, location, order, line)?;
        let defaults;
        let pref = match preference {
            Some(p) => p,
            None => {
                defaults = builtin_preference();
                &defaults
            }
        };
        let scale = minor_units(&currency)
            .ok_or_else(|| refuse(Code::UnknownCurrency, "currency", format!("`{currency}`")))?;
        let frequency = product.billing_frequency();
        let evergreen = product.evergreen();
        if evergreen.is_some() && frequency == BillingFrequency::SinglePeriod {
            return Err(refuse(
                Code::EvergreenSinglePeriod,
                "product",
                format!(
                    "`{}` is evergreen and billed as a single period",
                    product.code
                ),
            ));
        }
        let start = line.start.ok_or_else(|| {
            refuse(
                Code::MissingDates,
                "start",
                "the line has no start date".into(),
            )
        })?;
        let needs_end = frequency != BillingFrequency::OneTime && evergreen.is_none();
        if needs_end && line.end.is_none() {
            return Err(refuse(
                Code::MissingDates,
                "end",
                "a recurring or usage line that is not evergreen needs an end date".into(),
            ));
        }
        if let Some(end) = line.end {
            if end < start {
                return Err(refuse(
                    Code::EndBeforeStart,
                    "end",
                    format!("end {end} is before start {start}"),
                ));
            }
        }
        let cycle_day = match pref.billing_cycle_start {
            CycleStart::BillingDayOfMonth => pref.billing_day_of_month.day(),
            CycleStart::AccountBillingDayOfMonth => account
                .billing_day_of_month
                .ok_or_else(|| refuse(Code::InvalidCycleDay, "billing_day_of_month", format!("preference `{}` takes the cycle day from the account, and account {} has none", pref.name, account.id)))?
                .day(),
            CycleStart::ReadyForBillingDate => chrono::Datelike::day(&order.ready_for_billing_date.ok_or_else(|| {
                refuse(Code::MissingDates, "ready_for_billing_date", format!("preference `{}` takes the cycle day from the order's ready_for_billing_date", pref.name))
            })?),
            CycleStart::OrderDate => chrono::Datelike::day(&order.order_date.ok_or_else(|| {
                refuse(Code::MissingDates, "order_date", format!("preference `{}` takes the cycle day from the order date", pref.name))
            })?),
            CycleStart::PeriodStartDate => chrono::Datelike::day(&start),
        };
        if !(1..=31).contains(&cycle_day) {
            return Err(refuse(
                Code::InvalidCycleDay,
                "billing_day_of_month",
                format!("cycle day {cycle_day} is not 1–31"),
            ));
        }
        let calendar_month = match pref.calendar_cycle_start {
            CalendarStart::None => None,
            CalendarStart::Month(m) => Some(m),
            CalendarStart::Account => match account.calendar_cycle_start {
                Some(CalendarStart::Month(m)) => Some(m),
                _ => None,
            },
        };
        let months = match frequency {
            BillingFrequency::Usage => product.usage_frequency.unwrap_or_default().months(),
            f => f.months().unwrap_or(1),
        };
        if product.billing_rule == BillingRule::ReadyForBillingDate
            && order.ready_for_billing_date.is_none()
        {
            return Err(refuse(
                Code::MissingDates,
                "ready_for_billing_date",
                format!(
                    "`{}` bills on the order's ready_for_billing_date, which is missing",
                    product.code
                ),
            ));
        }
        let terms = Terms {
            start,
            end: line.end,
            months,
            cycle_day,
            calendar_month,
            rule: product.billing_rule,
            offset_days: product.ready_for_invoice_offset_days,
            ready_for_billing: order.ready_for_billing_date,
            treatment: pref.proration_period_treatment,
            day_count: pref.proration_day_count,
            rounding: pref.rounding,
            scale,
        };
        let schedule_type = self.schedule_type(order, line, product)?;
        let mut asset = Asset {
            line: line_ref.clone(),
            order: order.id.clone(),
            account: account.id.clone(),
            product: product.code.clone(),
            currency,
            preference: preference.map(|p| p.name.clone()),
            payment_term,
            terms,
            price: Price::Rate(Decimal::ZERO),
            evergreen,
            generated: 0,
            schedule_type,
            quantity: line.quantity,
        };
        if schedule_type == ScheduleType::Informational && !pref.create_informational {
            return Ok((asset, Vec::new()));
        }
        let gen_err = |e: GenError| match e {
            GenError::MissingReadyForBillingDate => refuse(
                Code::MissingDates,
                "ready_for_billing_date",
                "the order has no ready_for_billing_date".into(),
            ),
            GenError::EndBeforeStart => {
                refuse(Code::EndBeforeStart, "end", "end before start".into())
            }
            GenError::BadCycleDay => refuse(
                Code::InvalidCycleDay,
                "billing_day_of_month",
                format!("cycle day {cycle_day}"),
            ),
            GenError::DateOutOfRange => {
                refuse(Code::MissingDates, "end", "dates out of range".into())
            }
        };
        let periods = if line.segments.is_empty() {
            // Usage rows are 0 until rated (02 §1.5); a usage product's price may be its tiers.
            let price = if frequency == BillingFrequency::Usage {
                Ok(Price::Rate(Decimal::ZERO))
            } else {
                self.price(
                    &line_ref,
                    product,
                    line,
                    &terms,
                    line.net_price,
                    line.list_price,
                    line.quantity,
                    line.discount_percent,
                )
            }?;
            asset.price = price;
            match frequency {
                BillingFrequency::OneTime => {
                    vec![schedule::one_time(&terms, total_of(price)).map_err(gen_err)?]
                }
                BillingFrequency::SinglePeriod => {
                    vec![schedule::single_period(&terms, total_of(price)).map_err(gen_err)?]
                }
                BillingFrequency::Usage => {
                    schedule::generate(&terms, Price::Rate(Decimal::ZERO), 0, 0).map_err(gen_err)?
                }
                _ => schedule::generate(&terms, price, 0, evergreen.unwrap_or(0) as usize)
                    .map_err(gen_err)?,
            }
        } else {
            self.ramp_periods(&line_ref, product, line, &terms)
                .map_err(|e| match e {
                    Ramp::Gen(g) => gen_err(g),
                    Ramp::Engine(e) => e,
                })?
        };
        let schedules: Vec<Schedule> = periods
            .into_iter()
            .enumerate()
            .map(|(i, p)| Schedule {
                id: format!("{line_ref}#{}", i + 1),
                line: line_ref.clone(),
                seq: i as u32 + 1,
                start: p.start,
                end: p.end,
                ready: p.ready,
                amount: p.amount,
                quantity: crate::changes::line_segment_quantity(line, p.start),
                schedule_type,
                status: ScheduleStatus::PendingBilling,
                kind: "original".into(),
                category: "original".into(),
                invoice: None,
                change: Default::default(),
                plan: None,
            })
            .collect();
        let schedules = self.apply_plan(&line_ref, line, product, &asset, schedules)?;
        // 03 B.3: a usage line with a minimum commitment gets its minimum_fee rows.
        let schedules = crate::usage::rating::with_minimum_fees(product, &asset, schedules);
        asset.generated = schedules.len() as u32;
        Ok((asset, schedules))
    }

    fn ramp_periods(
        &self,
        line_ref: &str,
        product: &Product,
        line: &OrderLine,
        terms: &Terms,
    ) -> std::result::Result<Vec<schedule::Period>, Ramp> {
        let mut segs = line.segments.clone();
        segs.sort_by_key(|s| s.start);
        let mut out = Vec::new();
        for (i, seg) in segs.iter().enumerate() {
            let end = seg
                .end
                .or_else(|| segs.get(i + 1).and_then(|n| n.start.pred_opt()))
                .or(terms.end);
            let mut t = *terms;
            t.start = seg.start;
            t.end = end;
            t.treatment = Treatment::SeparatePeriod;
            let price = self
                .price(
                    line_ref,
                    product,
                    line,
                    &t,
                    seg.net_price,
                    seg.list_price.or(line.list_price),
                    seg.quantity.unwrap_or(line.quantity),
                    seg.discount_percent.or(line.discount_percent),
                )
                .map_err(Ramp::Engine)?;
            out.extend(schedule::generate(&t, price, 0, 0).map_err(Ramp::Gen)?);
        }
        Ok(out)
    }

    #[allow(clippy::too_many_arguments)]
    fn price(
        &self,
        line_ref: &str,
        product: &Product,
        _line: &OrderLine,
        terms: &Terms,
        net: Option<Decimal>,
        list: Option<Decimal>,
        qty: Decimal,
        discount: Option<Decimal>,
    ) -> Result<Price> {
        if let Some(net) = net {
            return Ok(Price::Total(net));
        }
        let list = list.or(product.list_price).ok_or_else(|| {
            EngineError::refused(
                Code::MissingPrice,
                line_ref,
                "net_price",
                format!(
                    "neither the line nor product `{}` has a price",
                    product.code
                ),
            )
        })?;
        let factor = Decimal::ONE - discount.unwrap_or_default() / Decimal::ONE_HUNDRED;
        let base = list * qty * factor;
        Ok(
            match (
                product.billing_frequency(),
                product.selling_frequency().months(),
            ) {
                (BillingFrequency::OneTime, _) | (BillingFrequency::Usage, _) => Price::Total(base),
                (BillingFrequency::SinglePeriod, selling) => {
                    // The whole term in selling periods, measured from the line start (02 §3 day count).
                    let mut t = *terms;
                    t.months = selling.unwrap_or(1);
                    t.cycle_day = chrono::Datelike::day(&terms.start);
                    t.calendar_month = None;
                    let p = schedule::measure(&t).map_err(|_| {
                        EngineError::refused(
                            Code::MissingDates,
                            line_ref,
                            "end",
                            "the line needs an end date",
                        )
                    })?;
                    Price::Total(base * p)
                }
                (f, selling) => {
                    let n = Decimal::from(f.months().unwrap_or(1));
                    let s = Decimal::from(selling.unwrap_or(f.months().unwrap_or(1)));
                    Price::Rate(base * n / s)
                }
            },
        )
    }

    fn schedule_type(
        &self,
        order: &Order,
        line: &OrderLine,
        product: &Product,
    ) -> Result<ScheduleType> {
        let level = match &line.parent {
            Some(parent_id) => {
                let parent = order
                    .lines
                    .iter()
                    .find(|l| &l.id == parent_id)
                    .ok_or_else(|| {
                        EngineError::refused(
                            Code::UnknownLine,
                            format!("{}/{}", order.id, line.id),
                            "parent",
                            format!("no line `{parent_id}` in order {}", order.id),
                        )
                    })?;
                let parent_product = self.rules.products.get(&parent.product);
                match parent_product
                    .and_then(|p| p.bundle_invoice_level)
                    .or(product.bundle_invoice_level)
                {
                    Some(BundleLevel::Bundle) => return Ok(ScheduleType::Informational),
                    Some(BundleLevel::Detail) => return Ok(ScheduleType::Contracted),
                    None => None,
                }
            }
            None => product.bundle_invoice_level,
        };
        let is_bundle = !product.options.is_empty()
            || order
                .lines
                .iter()
                .any(|l| l.parent.as_deref() == Some(&line.id));
        Ok(match (is_bundle, level) {
            (true, Some(BundleLevel::Detail)) => ScheduleType::Informational,
            _ => ScheduleType::Contracted,
        })
    }

    fn resolve_preference(
        &self,
        line_ref: &str,
        account: &Account,
        location: Option<&Location>,
        order: &Order,
        line: &OrderLine,
    ) -> Result<Option<&BillingPreference>> {
        let mut current = self.rules.default_preference();
        let levels = [
            ("account", account.billing_preference.as_ref()),
            (
                "location",
                location.and_then(|l| l.billing_preference.as_ref()),
            ),
            ("order", order.billing_preference.as_ref()),
            ("line", line.billing_preference.as_ref()),
        ];
        for (level, name) in levels {
            let Some(name) = name else { continue };
            let p = self.rules.preferences.get(name).ok_or_else(|| {
                EngineError::refused(
                    Code::UnknownPreference,
                    line_ref,
                    format!("{level}.billing_preference"),
                    format!("no billing preference `{name}`"),
                )
            })?;
            if let Some(cur) = current {
                if cur.name != p.name && !cur.allow_preference_override {
                    return Err(EngineError::refused(
                        Code::PreferenceOverrideNotAllowed,
                        line_ref,
                        format!("{level}.billing_preference"),
                        format!("`{}` may not override preference `{}` (allow_preference_override: false)", p.name, cur.name),
                    ));
                }
            }
            current = Some(p);
        }
        Ok(current)
    }

    fn resolve_payment_term(
        &self,
        line_ref: &str,
        pref: Option<&BillingPreference>,
        account: &Account,
        location: Option<&Location>,
        order: &Order,
        line: &OrderLine,
    ) -> Result<Option<String>> {
        let mut current = self.rules.default_payment_term().map(|t| t.name.clone());
        let allow = pref.is_none_or(|p| p.allow_payment_term_override);
        let levels = [
            ("account", account.payment_term.as_ref(), true),
            (
                "location",
                location.and_then(|l| l.payment_term.as_ref()),
                allow,
            ),
            ("order", order.payment_term.as_ref(), allow),
            ("line", line.payment_term.as_ref(), allow),
        ];
        for (level, name, allowed) in levels {
            let Some(name) = name else { continue };
            if !self.rules.payment_terms.contains_key(name) {
                return Err(EngineError::refused(
                    Code::UnknownPaymentTerm,
                    line_ref,
                    format!("{level}.payment_term"),
                    format!("no payment term `{name}`"),
                ));
            }
            if !allowed && current.as_ref() != Some(name) {
                return Err(EngineError::refused(
                    Code::PaymentTermOverrideNotAllowed,
                    line_ref,
                    format!("{level}.payment_term"),
                    format!(
                        "preference `{}` does not allow overriding the payment term",
                        pref.map(|p| p.name.as_str()).unwrap_or_default()
                    ),
                ));
            }
            current = Some(name.clone());
        }
        Ok(current)
    }

    /// The schedules of one line, in (start, ref) order.
    pub fn schedules(&self, line_ref: &str) -> Result<Vec<Schedule>> {
        let Some((order, line)) = split_line_ref(line_ref) else {
            return Ok(Vec::new());
        };
        let mut out: Vec<Schedule> = self
            .store
            .scan(&key(&["sched", order, line, ""]))?
            .iter()
            .map(|(k, v)| decode(k, v))
            .collect::<Result<_>>()?;
        out.sort_by_key(|s| (s.start, s.seq));
        Ok(out)
    }

    /// Evergreen lines keep `K` schedules that are not yet invoiced (02 §1.6): the schedules to
    /// add to `asset` given its current `schedules`, and the asset with its new count. Pure; the
    /// caller writes both in the same batch as whatever invoiced the line (04).
    pub fn evergreen_top_up(
        &self,
        asset: &Asset,
        schedules: &[Schedule],
    ) -> Result<(Asset, Vec<Schedule>)> {
        let Some(k) = asset.evergreen else {
            return Ok((asset.clone(), Vec::new()));
        };
        // 03 A.6: a cancelled (or swapped-out) evergreen line is no longer kept ahead.
        if crate::changes::ended(self, &asset.line)? {
            return Ok((asset.clone(), Vec::new()));
        }
        // Rows a change added number after every existing row (decision 243); `generated`
        // stays the count of periods generated.
        let mut seq = schedules.iter().map(|s| s.seq).max().unwrap_or(0);
        let (open, last) = evergreen_open(schedules);
        let missing = (k as usize).saturating_sub(open);
        if missing == 0 {
            return Ok((asset.clone(), Vec::new()));
        }
        // New periods continue the day after the last live row, at the asset's current terms
        // (rate, quantity, frequency): after a change these are the changed ones (decision 283).
        // Without a live row (not reached on an active line) the count of generated periods
        // from the line start is used.
        let mut from = asset.terms;
        let skip = match last.and_then(|d| d.succ_opt()) {
            Some(next) => {
                from.start = next;
                0
            }
            None => asset.generated as usize,
        };
        let periods = schedule::generate(&from, asset.price, skip, missing).map_err(|e| {
            EngineError::refused(
                Code::MissingDates,
                asset.line.clone(),
                "terms",
                format!("cannot extend evergreen line: {e:?}"),
            )
        })?;
        let mut next = asset.clone();
        let added = periods
            .into_iter()
            .map(|p| {
                next.generated += 1;
                seq = seq.max(next.generated - 1) + 1;
                Schedule {
                    id: format!("{}#{}", asset.line, seq),
                    line: asset.line.clone(),
                    seq,
                    start: p.start,
                    end: p.end,
                    ready: p.ready,
                    amount: p.amount,
                    quantity: asset.quantity,
                    schedule_type: asset.schedule_type,
                    status: ScheduleStatus::PendingBilling,
                    kind: "original".into(),
                    category: "original".into(),
                    invoice: None,
                    change: Default::default(),
                    plan: None,
                }
            })
            .collect();
        Ok((next, added))
    }

    /// Top an evergreen line up to its `K` uninvoiced schedules now; returns how many were added.
    pub fn top_up_evergreen(&self, line_ref: &str) -> Result<usize> {
        let Some(asset) = self.asset(line_ref)? else {
            return Err(EngineError::refused(
                Code::UnknownLine,
                line_ref,
                "line",
                "no active line",
            ));
        };
        let (next, added) = self.evergreen_top_up(&asset, &self.schedules(line_ref)?)?;
        if added.is_empty() {
            return Ok(0);
        }
        let (order, line) = split_line_ref(line_ref).unwrap_or_default();
        let mut b = Batch::default();
        for s in &added {
            b.put(schedule_key(order, line, s.seq), encode(s));
        }
        b.put(key(&["asset", order, line]), encode(&next));
        self.store.commit(b)?;
        Ok(added.len())
    }

    /// The asset of a line, once its order is active.
    pub fn asset(&self, line_ref: &str) -> Result<Option<Asset>> {
        let Some((order, line)) = split_line_ref(line_ref) else {
            return Ok(None);
        };
        self.get(&key(&["asset", order, line]))
    }

    /// Sum of a line's billable (live, contracted) schedules.
    pub fn line_total(&self, line_ref: &str) -> Result<Decimal> {
        Ok(self
            .schedules(line_ref)?
            .iter()
            .filter(|s| {
                s.schedule_type == ScheduleType::Contracted
                    && !matches!(
                        s.status,
                        ScheduleStatus::Superseded | ScheduleStatus::Cancelled
                    )
            })
            .map(|s| s.amount)
            .sum())
    }
}

/// An evergreen line's open periods (02 §1.6; decision 283): the distinct date ranges of its live
/// rows that are not invoiced, negative rows aside (a credit, or a rollback's compensation
/// beside the restoration of the same range, is no period of its own); and the end of its last
/// live row.
pub(crate) fn evergreen_open(schedules: &[Schedule]) -> (usize, Option<NaiveDate>) {
    let live = |s: &&Schedule| {
        !matches!(
            s.status,
            ScheduleStatus::Superseded | ScheduleStatus::Cancelled
        )
    };
    let mut ranges: Vec<(NaiveDate, NaiveDate)> = schedules
        .iter()
        .filter(live)
        .filter(|s| s.status != ScheduleStatus::Invoiced && s.amount >= Decimal::ZERO)
        .map(|s| (s.start, s.end))
        .collect();
    ranges.sort_unstable();
    ranges.dedup();
    let last = schedules.iter().filter(live).map(|s| s.end).max();
    (ranges.len(), last)
}

enum Ramp {
    Gen(GenError),
    Engine(EngineError),
}

fn total_of(p: Price) -> Decimal {
    match p {
        Price::Rate(r) | Price::Total(r) => r,
    }
}

/// The preference used when the rules define none: every key at its 01 default.
pub fn builtin_preference() -> BillingPreference {
    BillingPreference {
        name: "(built-in defaults)".into(),
        default: true,
        active: true,
        billing_cycle_start: CycleStart::default(),
        billing_day_of_month: DayOfMonth::Day(1),
        calendar_cycle_start: CalendarStart::None,
        proration_period_treatment: Treatment::default(),
        proration_day_count: DayCount::default(),
        rounding: Rounding::HalfUp,
        tax_level: None,
        invoice_delivery: None,
        invoice_format: None,
        allow_payment_term_override: true,
        allow_preference_override: true,
        create_informational: true,
        hide_informational: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemStore;

    #[test]
    fn evergreen_keeps_k_uninvoiced_schedules() {
        // 02 §7 EVERGREEN: monthly $100, term 3, from 2016-01-01 → 3 pending; after January is
        // invoiced, April is added.
        let rules = crate::rules::load_str(
            "r.yaml",
            "products:\n  - {code: M, price_type: recurring, list_price: 100, billing_frequency: monthly, auto_renewal: {type: evergreen, term: 3}}\n",
        )
        .unwrap();
        let e = Engine::new(Arc::new(MemStore::new()), rules);
        e.upsert_account(serde_yaml::from_str("{id: A, currency: USD}").unwrap())
            .unwrap();
        e.submit_order(
            serde_yaml::from_str(
                "{id: O-1, account: A, lines: [{id: L1, product: M, start: 2016-01-01}]}",
            )
            .unwrap(),
        )
        .unwrap();
        let d = NaiveDate::from_ymd_opt(2016, 1, 1).unwrap();
        e.activate("O-1", d).unwrap();
        let s = e.schedules("O-1/L1").unwrap();
        assert_eq!(
            s.iter().map(|s| s.start.to_string()).collect::<Vec<_>>(),
            ["2016-01-01", "2016-02-01", "2016-03-01"]
        );
        assert_eq!(e.top_up_evergreen("O-1/L1").unwrap(), 0, "already K open");
        // Invoice January (what an approval does, 04).
        let mut jan = s[0].clone();
        jan.status = ScheduleStatus::Invoiced;
        let mut b = Batch::default();
        b.put(schedule_key("O-1", "L1", jan.seq), encode(&jan));
        e.store.commit(b).unwrap();
        assert_eq!(e.top_up_evergreen("O-1/L1").unwrap(), 1);
        let s = e.schedules("O-1/L1").unwrap();
        let got: Vec<_> = s
            .iter()
            .map(|s| (s.id.as_str(), s.start.to_string(), s.amount.to_string()))
            .collect();
        assert_eq!(
            got[3],
            ("O-1/L1#4", "2016-04-01".to_string(), "100.00".to_string())
        );
        assert_eq!(s.len(), 4);
    }

    fn row(seq: u32, a: &str, b: &str, amount: i64, status: ScheduleStatus) -> Schedule {
        Schedule {
            id: format!("O-1/L1#{seq}"),
            line: "O-1/L1".into(),
            seq,
            start: a.parse().unwrap(),
            end: b.parse().unwrap(),
            ready: a.parse().unwrap(),
            amount: Decimal::from(amount),
            quantity: Decimal::ONE,
            schedule_type: ScheduleType::Contracted,
            status,
            kind: "original".into(),
            category: "original".into(),
            invoice: None,
            change: Default::default(),
            plan: None,
        }
    }

    #[test]
    fn evergreen_open_counts_periods_not_rows() {
        use ScheduleStatus::*;
        // Decision 283: after a rolled-back amend, March has its replacement (+20), the
        // restoration of the original (+10) and the compensation (−20): one open period.
        // Invoiced, superseded and cancelled rows are not open; a cancelled row past the last
        // live one does not move the last end.
        let rows = [
            row(1, "2016-01-01", "2016-01-31", 10, Invoiced),
            row(2, "2016-02-01", "2016-02-29", 10, PendingBilling),
            row(3, "2016-03-01", "2016-03-31", 10, Superseded),
            row(4, "2016-03-01", "2016-03-31", 20, PendingBilling),
            row(5, "2016-03-01", "2016-03-31", 10, PendingBilling),
            row(6, "2016-03-01", "2016-03-31", -20, PendingBilling),
            row(7, "2016-04-01", "2016-04-30", 10, Cancelled),
        ];
        let (open, last) = evergreen_open(&rows);
        assert_eq!(open, 2, "February and March");
        assert_eq!(last, Some("2016-03-31".parse().unwrap()));
        // A credit with its rebill on a stub: the rebill's range is open, the credit is not
        // a period of its own.
        let rows = [
            row(1, "2016-01-01", "2016-01-31", 10, Invoiced),
            row(2, "2016-01-16", "2016-01-31", -5, PendingBilling),
            row(3, "2016-01-16", "2016-01-31", 10, PendingBilling),
        ];
        assert_eq!(
            evergreen_open(&rows),
            (1, Some("2016-01-31".parse().unwrap()))
        );
    }
}

//! Wallets (05 §3): prepaid funds per account with a policy (priority, the products they pay,
//! expiry, low-balance threshold, top-up rule, termination disposition); add, remove, renew and
//! terminate; the drawdown at invoice approval (never below zero), restores on cancellation and on
//! credit memos, reservations of rated usage, and the automatic events as the clock passes
//! (interval and threshold renewals, expiry).
//!
//! Every movement is a 05 §1.3 transaction whose `wallet` postings name the wallet id; the
//! wallet record caches `paid` and `granted`, which the ledger alone rebuilds (§1.4 invariant 4).
//! Each operation is one commit; a refusal changes nothing.

use crate::billing::ar::{stage, Draft, Parties, Side};
use crate::billing::records::{DocType, Document};
use crate::billing::tx::Tx;
use crate::engine::{key, Engine, ScheduleStatus, ScheduleType};
use crate::error::{Code, EngineError, Result};
use crate::model::PriceType;
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// `applies_to` of a wallet policy (05 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AppliesTo {
    /// `usage` or `all`.
    Word(String),
    /// Product codes.
    Products(Vec<String>),
}

/// A wallet policy's top-up rule (05 §3.1 `renew`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Renew {
    /// `fixed` (default) or `target`.
    #[serde(default)]
    pub method: Option<String>,
    /// `fixed`: the top-up.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// `target`: the balance topped up to.
    #[serde(default)]
    pub target: Option<Decimal>,
    /// `manual` (default), `interval`, `threshold`.
    #[serde(default)]
    pub trigger: Option<String>,
    /// `weekly`, `monthly`, `quarterly`, `yearly`.
    #[serde(default)]
    pub interval: Option<String>,
    /// Renew when the balance falls to or below it.
    #[serde(default)]
    pub threshold: Option<Decimal>,
    /// Top-ups are paid (default) or granted.
    #[serde(default)]
    pub paid: Option<bool>,
}

/// A `wallet_policies` row (05 §3.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletPolicy {
    /// Unique name.
    pub name: String,
    /// 1–100, lower draws first (default 50).
    #[serde(default)]
    pub priority: Option<u32>,
    /// Lines the wallet may pay (default `usage`).
    #[serde(default)]
    pub applies_to: Option<AppliesTo>,
    /// `expires_on` = creation or renewal date + N.
    #[serde(default)]
    pub expires_after_days: Option<i64>,
    /// Low-balance event threshold.
    #[serde(default)]
    pub low_balance_threshold: Option<Decimal>,
    /// Top-up rule.
    #[serde(default)]
    pub renew: Option<Renew>,
    /// `refund` (default) or `void`.
    #[serde(default)]
    pub on_terminate: Option<String>,
}

impl WalletPolicy {
    /// The defaults of 05 §3.1, for a wallet created without a policy.
    fn builtin() -> Self {
        WalletPolicy {
            name: String::new(),
            priority: None,
            applies_to: None,
            expires_after_days: None,
            low_balance_threshold: None,
            renew: None,
            on_terminate: None,
        }
    }

    fn priority(&self) -> u32 {
        self.priority.unwrap_or(50)
    }

    fn renew(&self) -> Renew {
        self.renew.clone().unwrap_or_default()
    }

    /// Whether a line of `product` (of `price_type`) may be paid by the wallet.
    fn covers(&self, product: &str, price_type: Option<PriceType>) -> bool {
        match &self.applies_to {
            None => price_type == Some(PriceType::Usage),
            Some(AppliesTo::Word(w)) if w == "all" => true,
            Some(AppliesTo::Word(_)) => price_type == Some(PriceType::Usage),
            Some(AppliesTo::Products(codes)) => codes.iter().any(|c| c == product),
        }
    }

    /// `bad_wallet_policy` problems: (field, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let r = self.renew();
        let method = r.method.as_deref().unwrap_or("fixed");
        let trigger = r.trigger.as_deref().unwrap_or("manual");
        if method == "target" && r.target.is_none() {
            out.push((
                "renew.target".into(),
                "method `target` needs a `target` balance".into(),
            ));
        }
        if method == "fixed" && trigger != "manual" && r.amount.is_none() {
            out.push((
                "renew.amount".into(),
                format!("an automatic (`{trigger}`) fixed top-up needs an `amount`"),
            ));
        }
        if trigger == "interval" && r.interval.is_none() {
            out.push((
                "renew.interval".into(),
                "trigger `interval` needs an `interval`".into(),
            ));
        }
        if trigger == "threshold" && r.threshold.is_none() {
            out.push((
                "renew.threshold".into(),
                "trigger `threshold` needs a `threshold`".into(),
            ));
        }
        if let (Some(t), Some(target)) = (r.threshold, r.target) {
            if method == "target" && target <= t {
                out.push((
                    "renew.target".into(),
                    format!("the target {target} does not exceed the threshold {t}"),
                ));
            }
        }
        out
    }
}

/// Wallet status (05 §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WalletStatus {
    /// Accepts funds and pays invoices.
    Active,
    /// Terminated; balance 0.
    Terminated,
    /// Expired; balance 0.
    Expired,
}

impl WalletStatus {
    /// `active`, `terminated`, `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            WalletStatus::Active => "active",
            WalletStatus::Terminated => "terminated",
            WalletStatus::Expired => "expired",
        }
    }
}

/// A wallet (05 §3.2). `reserved` is computed from rated usage (§3.5) when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// Given at creation, unique per account.
    pub id: String,
    /// Customer account.
    pub account: String,
    /// Policy name (`None`: the 05 §3.1 defaults).
    pub policy: Option<String>,
    /// The account's currency.
    pub currency: String,
    /// Status.
    pub status: WalletStatus,
    /// Paid funds.
    pub paid: Decimal,
    /// Granted (free) funds.
    pub granted: Decimal,
    /// Reserved by rated usage not yet invoiced (computed).
    #[serde(skip)]
    pub reserved: Decimal,
    /// Created on.
    pub created_on: NaiveDate,
    /// Usable through this day.
    pub expires_on: Option<NaiveDate>,
    /// Interval renewals done (`created_on + k × interval`, k = 1…).
    pub interval_renewals: u32,
    /// The low-balance event is armed (ongoing balance above the threshold).
    pub low_armed: bool,
    /// The threshold renewal is armed (balance above the renewal threshold).
    pub renew_armed: bool,
}

impl Wallet {
    /// `paid + granted`.
    pub fn balance(&self) -> Decimal {
        self.paid + self.granted
    }

    /// `balance − reserved`.
    pub fn ongoing_balance(&self) -> Decimal {
        self.balance() - self.reserved
    }
}

/// What one wallet took from one invoice line at approval, and what was restored since.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Draw {
    /// Wallet id.
    pub wallet: String,
    /// Invoice line `n`.
    pub line: u32,
    /// Taken from granted funds.
    pub granted: Decimal,
    /// Taken from paid funds.
    pub paid: Decimal,
    /// Restored so far.
    pub restored: Decimal,
}

/// A logged event (05 §3.5 `wallet_low_balance`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `wallet_low_balance`.
    pub kind: String,
    /// The date of the step that caused it.
    pub date: NaiveDate,
    /// The wallet id.
    pub reference: String,
    /// The ongoing balance then.
    pub balance: Decimal,
}

/// A `wallet` step (05 §3.3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WalletAction {
    /// Account.
    pub account: String,
    /// Wallet id (`None`: the account's only wallet).
    pub wallet: Option<String>,
    /// `create`, `add`, `remove`, `renew`, `terminate`.
    pub action: String,
    /// Amount.
    pub amount: Option<Decimal>,
    /// `create`: the policy.
    pub policy: Option<String>,
    /// `create` / `add`: paid (default) or granted.
    pub paid: Option<bool>,
    /// `remove`: pay paid funds back to cash.
    pub refund: Option<bool>,
    /// `terminate`: `refund` or `void` (default the policy's).
    pub disposition: Option<String>,
    /// `create`: must be the account's currency.
    pub currency: Option<String>,
}

fn refused(code: Code, record: &str, field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, message)
}

fn wallet_key(account: &str, id: &str) -> Vec<u8> {
    key(&["wallet", account, id])
}

fn wallets_prefix(account: &str) -> Vec<u8> {
    key(&["wallet", account, ""])
}

fn draws_key(invoice: &str) -> Vec<u8> {
    key(&["walletdraw", invoice])
}

fn event_count_key(account: &str) -> Vec<u8> {
    key(&["eventcount", account])
}

fn event_key(account: &str, seq: u32) -> Vec<u8> {
    let mut k = key(&["event", account, ""]);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// Which funds a movement touches.
#[derive(Clone, Copy)]
struct Split {
    granted: Decimal,
    paid: Decimal,
}

impl Engine {
    /// The wallet policies of the rules.
    pub fn wallet_policies(&self) -> Result<Vec<WalletPolicy>> {
        crate::invoicing::model::document_rows(&self.rules, "wallet_policies")
            .map_err(EngineError::Rules)
    }

    fn policy_of(&self, w: &Wallet) -> Result<WalletPolicy> {
        let Some(name) = &w.policy else {
            return Ok(WalletPolicy::builtin());
        };
        self.wallet_policies()?
            .into_iter()
            .find(|p| &p.name == name)
            .ok_or_else(|| {
                refused(
                    Code::UnknownPolicy,
                    &w.id,
                    "policy",
                    format!("no wallet_policies `{name}`"),
                )
            })
    }

    /// An account's wallets in id order, with `reserved` computed.
    pub fn wallets(&self, account: &str) -> Result<Vec<Wallet>> {
        let tx = Tx::new(self.store.as_ref());
        let mut ws = wallets_in(&tx, account)?;
        self.reserve(&tx, account, &mut ws)?;
        Ok(ws)
    }

    /// An account's logged events in creation order.
    pub fn events(&self, account: &str) -> Result<Vec<Event>> {
        self.store
            .scan(&key(&["event", account, ""]))?
            .iter()
            .map(|(k, v)| crate::engine::decode(k, v))
            .collect()
    }

    /// The account's active wallets in drawdown order (priority, created_on, id).
    fn draw_order(
        &self,
        tx: &Tx<'_>,
        account: &str,
        currency: &str,
    ) -> Result<Vec<(Wallet, WalletPolicy)>> {
        let mut out = Vec::new();
        for w in wallets_in(tx, account)? {
            if w.status == WalletStatus::Active && w.currency == currency {
                let p = self.policy_of(&w)?;
                out.push((w, p));
            }
        }
        out.sort_by(|(a, pa), (b, pb)| {
            (pa.priority(), a.created_on, &a.id).cmp(&(pb.priority(), b.created_on, &b.id))
        });
        Ok(out)
    }

    /// 05 §3.5: rated usage not yet invoiced reserves its amount in the drawdown order, capped
    /// at each wallet's free balance. Sets `reserved` on `ws`.
    fn reserve(&self, tx: &Tx<'_>, account: &str, ws: &mut [Wallet]) -> Result<()> {
        for w in ws.iter_mut() {
            w.reserved = Decimal::ZERO;
        }
        let usage = self.rated_usage(tx, account)?;
        if usage.is_empty() {
            return Ok(());
        }
        let Some(currency) = ws.first().map(|w| w.currency.clone()) else {
            return Ok(());
        };
        let order = self.draw_order(tx, account, &currency)?;
        for (product, mut amount) in usage {
            let pt = self.rules.products.get(&product).map(|p| p.price_type);
            for (w, p) in &order {
                if amount <= Decimal::ZERO {
                    break;
                }
                if !p.covers(&product, pt) {
                    continue;
                }
                if let Some(slot) = ws.iter_mut().find(|x| x.id == w.id) {
                    let take = amount
                        .min(slot.balance() - slot.reserved)
                        .max(Decimal::ZERO);
                    slot.reserved += take;
                    amount -= take;
                }
            }
        }
        Ok(())
    }

    /// (product, amount) of the account's rated usage schedules not yet on an approved invoice:
    /// contracted, `pending_billing` or `pending_invoiced`, of a usage product, amount > 0.
    fn rated_usage(&self, tx: &Tx<'_>, account: &str) -> Result<Vec<(String, Decimal)>> {
        let mut out = Vec::new();
        for (k, v) in tx.scan(&key(&["asset", ""]))? {
            let asset: crate::engine::Asset = crate::engine::decode(&k, &v)?;
            if asset.account != account {
                continue;
            }
            let usage = self
                .rules
                .products
                .get(&asset.product)
                .is_some_and(|p| p.price_type == PriceType::Usage);
            if !usage {
                continue;
            }
            let Some((order, line)) = crate::engine::split_line_ref(&asset.line) else {
                continue;
            };
            for (k, v) in tx.scan(&key(&["sched", order, line, ""]))? {
                let s: crate::engine::Schedule = crate::engine::decode(&k, &v)?;
                if s.schedule_type == ScheduleType::Contracted
                    && matches!(
                        s.status,
                        ScheduleStatus::PendingBilling | ScheduleStatus::PendingInvoiced
                    )
                    && s.amount > Decimal::ZERO
                {
                    out.push((asset.product.clone(), s.amount));
                }
            }
        }
        Ok(out)
    }

    /// Run `f` over the account's wallets in one commit, then settle the automatic effects of
    /// the change (threshold renewals, low-balance events) at `on`.
    fn wallet_op<T>(
        &self,
        account: &str,
        on: NaiveDate,
        f: impl FnOnce(&Engine, &mut Tx<'_>) -> Result<T>,
    ) -> Result<T> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        self.pass_time_in(&mut tx, Some(account), on)?;
        let out = f(self, &mut tx)?;
        self.settle_wallets(&mut tx, account, on)?;
        tx.commit()?;
        Ok(out)
    }

    /// 05 §3.3: one `wallet` step.
    pub fn wallet(&self, a: &WalletAction, on: NaiveDate) -> Result<Wallet> {
        let record = format!("wallet of {}", a.account);
        let account = self.known_account(&a.account, &record)?;
        if let Some(x) = a.amount {
            if x <= Decimal::ZERO && a.action != "renew" {
                return Err(refused(
                    Code::AmountNotPositive,
                    &record,
                    "amount",
                    format!("{x} is not a positive amount"),
                ));
            }
        }
        self.wallet_op(&account.id, on, |e, tx| {
            if a.action == "create" {
                return e.create_wallet(tx, &account, a, on);
            }
            let mut w = pick_wallet(tx, &account.id, a.wallet.as_deref())?;
            if w.status != WalletStatus::Active {
                return Err(refused(
                    Code::WalletNotActive,
                    &w.id,
                    "status",
                    format!(
                        "is {}; only active wallets accept anything",
                        w.status.as_str()
                    ),
                ));
            }
            let policy = e.policy_of(&w)?;
            match a.action.as_str() {
                "add" => {
                    let amount = a.amount.ok_or_else(|| {
                        refused(
                            Code::AmountNotPositive,
                            &w.id,
                            "amount",
                            "`add` needs an amount",
                        )
                    })?;
                    fund(tx, &mut w, amount, a.paid.unwrap_or(true), on)?;
                }
                "remove" => {
                    let amount = a.amount.ok_or_else(|| {
                        refused(
                            Code::AmountNotPositive,
                            &w.id,
                            "amount",
                            "`remove` needs an amount",
                        )
                    })?;
                    e.remove_funds(tx, &mut w, amount, a.refund.unwrap_or(false), on)?;
                }
                "renew" => {
                    renew(tx, &mut w, &policy, a.amount, on)?;
                }
                _ => {
                    let disposition = a
                        .disposition
                        .clone()
                        .or(policy.on_terminate.clone())
                        .unwrap_or_else(|| "refund".into());
                    terminate(tx, &mut w, &disposition, on)?;
                }
            }
            tx.put(wallet_key(&w.account, &w.id), &w);
            Ok(w)
        })
    }

    fn create_wallet(
        &self,
        tx: &mut Tx<'_>,
        account: &crate::model::Account,
        a: &WalletAction,
        on: NaiveDate,
    ) -> Result<Wallet> {
        let id = a.wallet.clone().unwrap_or_else(|| "wallet".into());
        if tx.get::<Wallet>(&wallet_key(&account.id, &id))?.is_some() {
            return Err(refused(
                Code::WalletExists,
                &id,
                "wallet",
                format!("{} already has a wallet `{id}`", account.id),
            ));
        }
        if let Some(c) = a.currency.as_deref().filter(|c| *c != account.currency) {
            return Err(refused(
                Code::WalletCurrencyMismatch,
                &id,
                "currency",
                format!("the account is in {}, not {c}", account.currency),
            ));
        }
        let policy = match &a.policy {
            None => WalletPolicy::builtin(),
            Some(name) => self
                .wallet_policies()?
                .into_iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| {
                    refused(
                        Code::UnknownPolicy,
                        &id,
                        "policy",
                        format!("no wallet_policies `{name}`"),
                    )
                })?,
        };
        let mut w = Wallet {
            id: id.clone(),
            account: account.id.clone(),
            policy: a.policy.clone(),
            currency: account.currency.clone(),
            status: WalletStatus::Active,
            paid: Decimal::ZERO,
            granted: Decimal::ZERO,
            reserved: Decimal::ZERO,
            created_on: on,
            expires_on: policy.expires_after_days.map(|n| on + Duration::days(n)),
            interval_renewals: 0,
            low_armed: false,
            renew_armed: false,
        };
        if let Some(amount) = a.amount {
            fund(tx, &mut w, amount, a.paid.unwrap_or(true), on)?;
        }
        // A new wallet is armed once it holds more than its thresholds (no event at creation).
        w.low_armed = policy
            .low_balance_threshold
            .is_some_and(|t| w.balance() > t);
        w.renew_armed = policy.renew().threshold.is_some_and(|t| w.balance() > t);
        tx.put(wallet_key(&w.account, &w.id), &w);
        Ok(w)
    }

    fn remove_funds(
        &self,
        tx: &mut Tx<'_>,
        w: &mut Wallet,
        amount: Decimal,
        refund: bool,
        on: NaiveDate,
    ) -> Result<()> {
        let available = if refund { w.paid } else { w.balance() };
        if amount > available {
            return Err(refused(
                Code::WalletInsufficientFunds,
                &w.id,
                "amount",
                format!(
                    "{amount} exceeds the {} {available}",
                    if refund { "paid funds" } else { "balance" }
                ),
            ));
        }
        let split = if refund {
            Split {
                granted: Decimal::ZERO,
                paid: amount,
            }
        } else {
            let granted = amount.min(w.granted);
            Split {
                granted,
                paid: amount - granted,
            }
        };
        removal(tx, w, split, if refund { "cash" } else { "breakage" }, on)
    }

    /// 05 §3.4, called from approval after the linked memos: draw the account's wallets over the
    /// invoice's lines, never below zero. `doc` is updated; the takes are kept for restores.
    pub(crate) fn draw_wallets(
        &self,
        tx: &mut Tx<'_>,
        doc: &mut Document,
        on: NaiveDate,
    ) -> Result<()> {
        if doc.doc_type != DocType::Invoice || doc.balance <= Decimal::ZERO {
            return Ok(());
        }
        let order = self.draw_order(tx, &doc.account, &doc.currency)?;
        if order.is_empty() {
            return Ok(());
        }
        let ir = doc.reference();
        let mut remaining = doc.balance;
        let mut draws: Vec<Draw> = tx.get(&draws_key(&ir))?.unwrap_or_default();
        let mut taken_on_line: std::collections::BTreeMap<u32, Decimal> = Default::default();
        for (mut w, policy) in order {
            let mut took = Split {
                granted: Decimal::ZERO,
                paid: Decimal::ZERO,
            };
            for line in &doc.lines {
                if remaining <= Decimal::ZERO || w.balance() <= Decimal::ZERO {
                    break;
                }
                let pt = self.rules.products.get(&line.product).map(|p| p.price_type);
                if line.total <= Decimal::ZERO || !policy.covers(&line.product, pt) {
                    continue;
                }
                let already = taken_on_line.get(&line.n).copied().unwrap_or_default();
                let take = (line.total - already).min(w.balance()).min(remaining);
                if take <= Decimal::ZERO {
                    continue;
                }
                let granted = take.min(w.granted);
                let paid = take - granted;
                w.granted -= granted;
                w.paid -= paid;
                took.granted += granted;
                took.paid += paid;
                remaining -= take;
                *taken_on_line.entry(line.n).or_default() += take;
                draws.push(Draw {
                    wallet: w.id.clone(),
                    line: line.n,
                    granted,
                    paid,
                    restored: Decimal::ZERO,
                });
            }
            let total = took.granted + took.paid;
            if total > Decimal::ZERO {
                let before = doc.balance;
                doc.wallet_applied += total;
                doc.recompute_totals();
                stage(
                    tx,
                    Draft::new("wallet_drawdown")
                        .post("wallet", Side::Debit, total, &w.id)
                        .post("receivable", Side::Credit, total, &ir),
                    Parties::new(&doc.account, &doc.currency, total, on)
                        .source(&w.id)
                        .destination(&ir, before, doc.balance),
                )?;
                tx.put(wallet_key(&w.account, &w.id), &w);
            }
        }
        tx.put(draws_key(&ir), &draws);
        Ok(())
    }

    /// 05 §3.5: cancelling an approved invoice restores every wallet it drew (`wallet_restore`
    /// from receivable). `doc` is updated.
    pub(crate) fn restore_wallets_on_cancel(
        &self,
        tx: &mut Tx<'_>,
        doc: &mut Document,
        on: NaiveDate,
    ) -> Result<()> {
        let ir = doc.reference();
        let mut draws: Vec<Draw> = tx.get(&draws_key(&ir))?.unwrap_or_default();
        let mut wallets: Vec<String> = draws.iter().map(|d| d.wallet.clone()).collect();
        wallets.dedup();
        for id in wallets {
            let Some(mut w) = tx.get::<Wallet>(&wallet_key(&doc.account, &id))? else {
                continue;
            };
            let mut back = Split {
                granted: Decimal::ZERO,
                paid: Decimal::ZERO,
            };
            for d in draws.iter_mut().filter(|d| d.wallet == id) {
                let open = d.granted + d.paid - d.restored;
                let (g, p) = restore_split(d, open);
                back.granted += g;
                back.paid += p;
                d.restored += open;
            }
            let total = back.granted + back.paid;
            if total <= Decimal::ZERO {
                continue;
            }
            doc.wallet_applied -= total;
            doc.recompute_totals();
            w.granted += back.granted;
            w.paid += back.paid;
            stage(
                tx,
                Draft::new("wallet_restore")
                    .post("receivable", Side::Debit, total, &ir)
                    .post("wallet", Side::Credit, total, &id),
                Parties::new(&doc.account, &doc.currency, total, on)
                    .source(&ir)
                    .into_wallet(&id),
            )?;
            tx.put(wallet_key(&w.account, &w.id), &w);
        }
        tx.put(draws_key(&ir), &draws);
        Ok(())
    }

    /// 05 §3.5: after an approved memo went to its invoice up to the balance, what is left returns
    /// to the wallets that paid that invoice, last-drawn first, each up to what it drew less earlier
    /// restores; inactive wallets are skipped. `memo` is updated.
    pub(crate) fn restore_wallets_from_memo(
        &self,
        tx: &mut Tx<'_>,
        memo: &mut Document,
        on: NaiveDate,
    ) -> Result<()> {
        let Some(ir) = memo.invoice.clone() else {
            return Ok(());
        };
        let mut draws: Vec<Draw> = tx.get(&draws_key(&ir))?.unwrap_or_default();
        let mr = memo.reference();
        let mut left = memo.total - memo.credits_applied;
        // Last-drawn first: draws are kept in drawdown order.
        let mut order: Vec<String> = Vec::new();
        for d in draws.iter().rev() {
            if !order.contains(&d.wallet) {
                order.push(d.wallet.clone());
            }
        }
        for id in order {
            if left <= Decimal::ZERO {
                break;
            }
            let Some(mut w) = tx.get::<Wallet>(&wallet_key(&memo.account, &id))? else {
                continue;
            };
            if w.status != WalletStatus::Active {
                continue;
            }
            let mut back = Split {
                granted: Decimal::ZERO,
                paid: Decimal::ZERO,
            };
            for d in draws.iter_mut().rev().filter(|d| d.wallet == id) {
                let open = (d.granted + d.paid - d.restored).min(left);
                if open <= Decimal::ZERO {
                    continue;
                }
                let (g, p) = restore_split(d, open);
                back.granted += g;
                back.paid += p;
                d.restored += open;
                left -= open;
            }
            let total = back.granted + back.paid;
            if total <= Decimal::ZERO {
                continue;
            }
            memo.credits_applied += total;
            memo.recompute_totals();
            w.granted += back.granted;
            w.paid += back.paid;
            stage(
                tx,
                Draft::new("wallet_restore")
                    .post("customer_credit", Side::Debit, total, &mr)
                    .post("wallet", Side::Credit, total, &id),
                Parties::new(&memo.account, &memo.currency, total, on)
                    .source(&mr)
                    .into_wallet(&id),
            )?;
            tx.put(wallet_key(&w.account, &w.id), &w);
        }
        tx.put(draws_key(&ir), &draws);
        Ok(())
    }

    /// Let the clock pass to `on` for every account's wallets (05 §3.3: interval renewals,
    /// expiry), one commit. Idempotent; a host calls it daily, scenarios before each step.
    pub fn pass_time(&self, on: NaiveDate) -> Result<()> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        self.pass_time_in(&mut tx, None, on)?;
        tx.commit()
    }

    /// The automatic wallet events due on or before `on`, in date order per wallet, for one
    /// account or all.
    fn pass_time_in(&self, tx: &mut Tx<'_>, account: Option<&str>, on: NaiveDate) -> Result<()> {
        let prefix = match account {
            Some(a) => wallets_prefix(a),
            None => key(&["wallet", ""]),
        };
        let mut touched: Vec<String> = Vec::new();
        for (k, v) in tx.scan(&prefix)? {
            let mut w: Wallet = crate::engine::decode(&k, &v)?;
            if w.status != WalletStatus::Active {
                continue;
            }
            let policy = self.policy_of(&w)?;
            let r = policy.renew();
            let before = w.clone();
            loop {
                let next_renewal = (r.trigger.as_deref() == Some("interval"))
                    .then(|| {
                        interval_date(w.created_on, r.interval.as_deref(), w.interval_renewals + 1)
                    })
                    .flatten()
                    .filter(|d| *d <= on);
                let expiry = w
                    .expires_on
                    .map(|d| d + Duration::days(1))
                    .filter(|d| *d <= on);
                match (next_renewal, expiry) {
                    (Some(rd), e) if e.is_none_or(|e| rd < e) => {
                        w.interval_renewals += 1;
                        renew(tx, &mut w, &policy, None, rd)?;
                    }
                    (_, Some(ed)) => {
                        expire(tx, &mut w, ed)?;
                        break;
                    }
                    _ => break,
                }
            }
            if w != before {
                tx.put(wallet_key(&w.account, &w.id), &w);
                if !touched.contains(&w.account) {
                    touched.push(w.account.clone());
                }
            }
        }
        for a in touched {
            self.settle_wallets(tx, &a, on)?;
        }
        Ok(())
    }

    /// The end-of-step effects on an account's wallets (05 §3.3, §3.5; decision 22 of 05 §13):
    /// a threshold renewal once per crossing, then one `wallet_low_balance` event per crossing of
    /// the ongoing balance.
    pub(crate) fn settle_wallets(
        &self,
        tx: &mut Tx<'_>,
        account: &str,
        on: NaiveDate,
    ) -> Result<()> {
        let mut ws = wallets_in(tx, account)?;
        if ws.is_empty() {
            return Ok(());
        }
        for w in ws.iter_mut().filter(|w| w.status == WalletStatus::Active) {
            let policy = self.policy_of(w)?;
            let r = policy.renew();
            if let (Some("threshold"), Some(t)) = (r.trigger.as_deref(), r.threshold) {
                if w.balance() <= t && w.renew_armed {
                    w.renew_armed = false;
                    renew(tx, w, &policy, None, on)?;
                } else if w.balance() > t {
                    w.renew_armed = true;
                }
            }
        }
        self.reserve(tx, account, &mut ws)?;
        for w in ws.iter_mut() {
            let policy = self.policy_of(w)?;
            if let Some(t) = policy.low_balance_threshold {
                let ongoing = w.ongoing_balance().min(w.balance());
                if w.status == WalletStatus::Active && ongoing <= t && w.low_armed {
                    w.low_armed = false;
                    let seq = tx.get::<u32>(&event_count_key(account))?.unwrap_or(0) + 1;
                    tx.put(event_count_key(account), &seq);
                    tx.put(
                        event_key(account, seq),
                        &Event {
                            kind: "wallet_low_balance".into(),
                            date: on,
                            reference: w.id.clone(),
                            balance: ongoing,
                        },
                    );
                } else if ongoing > t {
                    w.low_armed = true;
                }
            }
            if tx.get::<Wallet>(&wallet_key(account, &w.id))?.as_ref() != Some(w) {
                tx.put(wallet_key(account, &w.id), w);
            }
        }
        Ok(())
    }
}

/// The wallet of a step: the named one, or the account's only one.
fn pick_wallet(tx: &Tx<'_>, account: &str, id: Option<&str>) -> Result<Wallet> {
    match id {
        Some(id) => tx.get(&wallet_key(account, id))?.ok_or_else(|| {
            refused(
                Code::UnknownWallet,
                id,
                "wallet",
                format!("{account} has no wallet `{id}`"),
            )
        }),
        None => {
            let mut ws = wallets_in(tx, account)?;
            if ws.len() == 1 {
                Ok(ws.remove(0))
            } else {
                Err(refused(
                    Code::UnknownWallet,
                    account,
                    "wallet",
                    format!("{account} has {} wallets; name one with `wallet`", ws.len()),
                ))
            }
        }
    }
}

fn wallets_in(tx: &Tx<'_>, account: &str) -> Result<Vec<Wallet>> {
    tx.scan(&wallets_prefix(account))?
        .iter()
        .map(|(k, v)| crate::engine::decode(k, v))
        .collect()
}

/// Of a restore of `amount` on draw `d`: paid first back (the reverse of the take), then granted.
fn restore_split(d: &Draw, amount: Decimal) -> (Decimal, Decimal) {
    // What is still out of each fund: restores so far took paid first.
    let paid_out = (d.paid - d.restored).max(Decimal::ZERO);
    let paid = amount.min(paid_out);
    (amount - paid, paid)
}

/// `created_on + k × interval` (7-day weeks; months from `created_on`, clamped to month end).
fn interval_date(created: NaiveDate, interval: Option<&str>, k: u32) -> Option<NaiveDate> {
    let k = i64::from(k);
    match interval? {
        "weekly" => Some(created + Duration::days(7 * k)),
        "monthly" => crate::invoicing::due::add_months(created, k),
        "quarterly" => crate::invoicing::due::add_months(created, 3 * k),
        "yearly" => crate::invoicing::due::add_months(created, 12 * k),
        _ => None,
    }
}

/// `wallet_funding` of `amount` into paid (from cash) or granted (from wallet_grants).
fn fund(tx: &mut Tx<'_>, w: &mut Wallet, amount: Decimal, paid: bool, on: NaiveDate) -> Result<()> {
    if amount <= Decimal::ZERO {
        return Ok(());
    }
    if paid {
        w.paid += amount;
    } else {
        w.granted += amount;
    }
    stage(
        tx,
        Draft::new("wallet_funding")
            .post(
                if paid { "cash" } else { "wallet_grants" },
                Side::Debit,
                amount,
                &w.id,
            )
            .post("wallet", Side::Credit, amount, &w.id),
        Parties::new(&w.account, &w.currency, amount, on).into_wallet(&w.id),
    )?;
    Ok(())
}

/// `wallet_removal`: granted funds back to wallet_grants, paid funds to `paid_to` (`cash` or
/// `breakage`).
fn removal(tx: &mut Tx<'_>, w: &mut Wallet, s: Split, paid_to: &str, on: NaiveDate) -> Result<()> {
    let total = s.granted + s.paid;
    if total <= Decimal::ZERO {
        return Ok(());
    }
    w.granted -= s.granted;
    w.paid -= s.paid;
    stage(
        tx,
        Draft::new("wallet_removal")
            .post("wallet", Side::Debit, total, &w.id)
            .post("wallet_grants", Side::Credit, s.granted, &w.id)
            .post(paid_to, Side::Credit, s.paid, &w.id),
        Parties::new(&w.account, &w.currency, total, on).source(&w.id),
    )?;
    Ok(())
}

/// 05 §3.3 `renew`: `fixed` → the amount (the step's or the rule's), `target` → max(0, target −
/// balance); `expires_on` is reset.
fn renew(
    tx: &mut Tx<'_>,
    w: &mut Wallet,
    policy: &WalletPolicy,
    amount: Option<Decimal>,
    on: NaiveDate,
) -> Result<()> {
    let r = policy.renew();
    let top_up = match r.method.as_deref() {
        Some("target") => match amount.or(r.target) {
            Some(t) => (t - w.balance()).max(Decimal::ZERO),
            None => Decimal::ZERO,
        },
        _ => amount.or(r.amount).ok_or_else(|| {
            refused(
                Code::AmountNotPositive,
                &w.id,
                "amount",
                "a fixed renewal needs an amount (the step's or the policy's renew.amount)",
            )
        })?,
    };
    fund(tx, w, top_up, r.paid.unwrap_or(true), on)?;
    if let Some(n) = policy.expires_after_days {
        w.expires_on = Some(on + Duration::days(n));
    }
    Ok(())
}

/// 05 §3.3 `terminate`: granted funds voided first, then paid funds refunded or voided (two
/// transactions, 05 §13.20); status `terminated`.
fn terminate(tx: &mut Tx<'_>, w: &mut Wallet, disposition: &str, on: NaiveDate) -> Result<()> {
    let granted = Split {
        granted: w.granted,
        paid: Decimal::ZERO,
    };
    removal(tx, w, granted, "breakage", on)?;
    let paid = Split {
        granted: Decimal::ZERO,
        paid: w.paid,
    };
    removal(
        tx,
        w,
        paid,
        if disposition == "void" {
            "breakage"
        } else {
            "cash"
        },
        on,
    )?;
    w.status = WalletStatus::Terminated;
    Ok(())
}

/// 05 §3.3: on `expires_on + 1` the remaining balance expires (`wallet_expiry`: paid funds to
/// breakage, granted to wallet_grants); status `expired`.
fn expire(tx: &mut Tx<'_>, w: &mut Wallet, on: NaiveDate) -> Result<()> {
    let (g, p) = (w.granted, w.paid);
    let total = g + p;
    if total > Decimal::ZERO {
        w.granted = Decimal::ZERO;
        w.paid = Decimal::ZERO;
        stage(
            tx,
            Draft::new("wallet_expiry")
                .post("wallet", Side::Debit, total, &w.id)
                .post("breakage", Side::Credit, p, &w.id)
                .post("wallet_grants", Side::Credit, g, &w.id),
            Parties::new(&w.account, &w.currency, total, on).source(&w.id),
        )?;
    }
    w.status = WalletStatus::Expired;
    Ok(())
}

//! Late fees (05 §4): policies attached to locations, accounts and payment terms; a run on a date
//! charges each overdue occurrence (invoice, k) once, on a late-fee invoice per account and
//! policy; cancelling a fee line waives its occurrence for good (the draft line is removed, an
//! approved one is credited by a `late_fee_waiver` memo). One commit per run or cancellation.

use crate::billing::actions::{AdhocLine, AdhocRequest};
use crate::billing::ar::Side;
use crate::billing::lifecycle::{CreditLine, CreditRequest};
use crate::billing::records::{keys as doc_keys, parse_ref, DocStatus, DocType, Document};
use crate::billing::tx::Tx;
use crate::engine::{key, Engine};
use crate::error::{Code, EngineError, Result};
use crate::invoicing::due::add_months;
use crate::money::{minor_units, round};
use chrono::{Duration, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// A `late_fee_policies` row (05 §4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LateFeePolicy {
    /// Unique name.
    pub name: String,
    /// The fee line's product.
    pub product: String,
    /// Days after the due date before a fee (default 0).
    #[serde(default)]
    pub grace_days: Option<i64>,
    /// `flat` or `percent`.
    pub basis: String,
    /// `flat`: the fee.
    #[serde(default)]
    pub amount: Option<Decimal>,
    /// `percent`: percent of the overdue balance.
    #[serde(default)]
    pub percent: Option<Decimal>,
    /// Lower clamp.
    #[serde(default)]
    pub minimum: Option<Decimal>,
    /// Upper clamp.
    #[serde(default)]
    pub maximum: Option<Decimal>,
    /// `once` (default), `monthly`, `quarterly`, `yearly`.
    #[serde(default)]
    pub frequency: Option<String>,
    /// Fees per invoice.
    #[serde(default)]
    pub max_occurrences: Option<u32>,
    /// Below it no fee (default 0.01).
    #[serde(default)]
    pub min_overdue_balance: Option<Decimal>,
    /// Late-fee invoices incur fees too.
    #[serde(default)]
    pub include_late_fees: Option<bool>,
    /// Create the late-fee invoice approved (default true).
    #[serde(default)]
    pub approve: Option<bool>,
}

impl LateFeePolicy {
    /// `bad_late_fee_policy` problems: (field, message).
    pub fn check(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        match self.basis.as_str() {
            "flat" if self.amount.is_none() => {
                out.push(("amount".into(), "basis `flat` needs an `amount`".into()))
            }
            "percent" if self.percent.is_none() => {
                out.push(("percent".into(), "basis `percent` needs a `percent`".into()))
            }
            _ => {}
        }
        if let (Some(lo), Some(hi)) = (self.minimum, self.maximum) {
            if lo > hi {
                out.push((
                    "minimum".into(),
                    format!("the minimum {lo} exceeds the maximum {hi}"),
                ));
            }
        }
        out
    }

    /// Months between occurrences; `None` for `once`.
    fn months(&self) -> Option<i64> {
        match self.frequency.as_deref() {
            Some("monthly") => Some(1),
            Some("quarterly") => Some(3),
            Some("yearly") => Some(12),
            _ => None,
        }
    }
}

/// Whether an occurrence was charged or waived.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceStatus {
    /// On a late-fee invoice.
    Charged,
    /// Cancelled; never charged again.
    Waived,
}

/// Occurrence k of the fee on one invoice (05 §4.2), the run's idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    /// The overdue invoice.
    pub invoice: String,
    /// k = 1…
    pub k: u32,
    /// Fk.
    pub fee_date: NaiveDate,
    /// The policy.
    pub policy: String,
    /// The fee.
    pub amount: Decimal,
    /// The late-fee invoice and its line.
    pub fee_invoice: String,
    /// Line `n` on it.
    pub line: u32,
    /// Charged or waived.
    pub status: OccurrenceStatus,
}

fn occurrence_key(invoice: &str, k: u32) -> Vec<u8> {
    let mut kk = key(&["latefee", invoice, ""]);
    kk.extend_from_slice(&k.to_be_bytes());
    kk
}

fn line_key(fee_invoice: &str, line: u32) -> Vec<u8> {
    let mut kk = key(&["latefeeline", fee_invoice, ""]);
    kk.extend_from_slice(&line.to_be_bytes());
    kk
}

fn refused(code: Code, record: &str, field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(code, record, field, message)
}

/// Per invoice, its receivable movements (effective date, signed amount).
type Movements = std::collections::HashMap<String, Vec<(NaiveDate, Decimal)>>;

fn movements(txns: &[crate::billing::ar::ArTransaction]) -> Movements {
    let mut out = Movements::new();
    for t in txns {
        for p in t
            .postings
            .iter()
            .filter(|p| p.ledger_account == "receivable")
        {
            let amount = match p.side {
                Side::Debit => p.amount,
                Side::Credit => -p.amount,
            };
            out.entry(p.reference.clone())
                .or_default()
                .push((t.effective_on, amount));
        }
    }
    out
}

/// The balance of `invoice` as of `d`: Σ its receivable postings effective on or before `d`.
fn balance_as_of(moves: &Movements, invoice: &str, d: NaiveDate) -> Decimal {
    moves
        .get(invoice)
        .map(|m| m.iter().filter(|(e, _)| *e <= d).map(|(_, a)| *a).sum())
        .unwrap_or_default()
}

impl Engine {
    /// The late-fee policies of the rules.
    pub fn late_fee_policies(&self) -> Result<Vec<LateFeePolicy>> {
        crate::invoicing::model::document_rows(&self.rules, "late_fee_policies")
            .map_err(EngineError::Rules)
    }

    /// The policy of an invoice: its location's, then its account's, then its payment term's.
    fn late_fee_policy_name(
        &self,
        account: &crate::model::Account,
        doc: &Document,
    ) -> Option<String> {
        let text = |v: Option<&serde_yaml::Value>| v.and_then(|x| x.as_str()).map(str::to_string);
        doc.location
            .as_deref()
            .and_then(|l| account.locations.iter().find(|x| x.id == l))
            .and_then(|l| text(l.extra.get("late_fee_policy")))
            .or_else(|| text(account.extra.get("late_fee_policy")))
            .or_else(|| {
                doc.payment_term
                    .as_deref()
                    .and_then(|t| self.rules.payment_terms.get(t))
                    .and_then(|t| t.late_fee_policy.clone())
            })
    }

    /// 05 §4.2 `late_fees: {on, account}`: charge every due, uncharged, unwaived occurrence up to
    /// `on`, one late-fee invoice per account and policy (accounts by id, then policy name).
    /// Returns the late-fee invoices created.
    pub fn late_fees(&self, on: NaiveDate, account: Option<&str>) -> Result<Vec<Document>> {
        let policies = self.late_fee_policies()?;
        let accounts: Vec<String> = match account {
            Some(a) => vec![self.known_account(a, "late_fees")?.id],
            None => {
                let mut ids = self.account_ids()?;
                ids.sort();
                ids
            }
        };
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        let mut created = Vec::new();
        for id in accounts {
            let Some(acct) = self.account(&id)? else {
                continue;
            };
            let scale = minor_units(&acct.currency).unwrap_or(2);
            let rounding = self.rounding_of(&id)?;
            let moves = movements(&crate::billing::ar::ar_in(&tx, &id)?);
            // policy name → (lines, occurrences)
            let mut per_policy: std::collections::BTreeMap<String, Vec<(AdhocLine, Occurrence)>> =
                Default::default();
            let mut invoices: Vec<Document> = Vec::new();
            for (k, v) in tx.scan(&doc_keys::documents(DocType::Invoice, &id))? {
                invoices.push(crate::engine::decode(&k, &v)?);
            }
            for inv in invoices.iter().filter(|d| d.status == DocStatus::Approved) {
                let Some(pname) = self.late_fee_policy_name(&acct, inv) else {
                    continue;
                };
                let Some(p) = policies.iter().find(|p| p.name == pname) else {
                    return Err(refused(
                        Code::UnknownPolicy,
                        &inv.reference(),
                        "late_fee_policy",
                        format!("no late_fee_policies `{pname}`"),
                    ));
                };
                if inv.kind == "late_fee" && !p.include_late_fees.unwrap_or(false) {
                    continue;
                }
                let Some(due) = inv.due_date else { continue };
                let ir = inv.reference();
                let number = inv.number.clone().unwrap_or_else(|| ir.clone());
                let first = due + Duration::days(p.grace_days.unwrap_or(0) + 1);
                let mut k: u32 = 1;
                loop {
                    if p.max_occurrences.is_some_and(|m| k > m) || (p.months().is_none() && k > 1) {
                        break;
                    }
                    let fk = match p.months() {
                        Some(m) => add_months(first, i64::from(k - 1) * m),
                        None => Some(first),
                    };
                    let Some(fk) = fk.filter(|d| *d <= on) else {
                        break;
                    };
                    let charged = tx.get::<Occurrence>(&occurrence_key(&ir, k))?.is_some()
                        || per_policy
                            .values()
                            .flatten()
                            .any(|(_, o)| o.invoice == ir && o.k == k);
                    if !charged {
                        let b = balance_as_of(&moves, &ir, fk);
                        if b >= p.min_overdue_balance.unwrap_or(Decimal::new(1, 2)) {
                            let mut fee = match p.basis.as_str() {
                                "flat" => p.amount.unwrap_or_default(),
                                _ => round(
                                    b * p.percent.unwrap_or_default() / Decimal::ONE_HUNDRED,
                                    scale,
                                    rounding,
                                ),
                            };
                            if let Some(lo) = p.minimum {
                                fee = fee.max(lo);
                            }
                            if let Some(hi) = p.maximum {
                                fee = fee.min(hi);
                            }
                            if fee > Decimal::ZERO {
                                per_policy.entry(p.name.clone()).or_default().push((
                                    AdhocLine {
                                        product: p.product.clone(),
                                        description: Some(format!("Late fee on {number} ({k})")),
                                        quantity: None,
                                        unit_price: None,
                                        amount: Some(fee),
                                        discount: None,
                                        period_start: Some(fk),
                                        period_end: Some(fk),
                                    },
                                    Occurrence {
                                        invoice: ir.clone(),
                                        k,
                                        fee_date: fk,
                                        policy: p.name.clone(),
                                        amount: fee,
                                        fee_invoice: String::new(),
                                        line: 0,
                                        status: OccurrenceStatus::Charged,
                                    },
                                ));
                            }
                        }
                    }
                    k += 1;
                }
            }
            for (pname, items) in per_policy {
                let p = policies.iter().find(|p| p.name == pname).cloned();
                let approve = p.as_ref().and_then(|p| p.approve).unwrap_or(true);
                let req = AdhocRequest {
                    account: id.clone(),
                    invoice_date: Some(on),
                    location: None,
                    payment_term: None,
                    currency: None,
                    lines: items.iter().map(|(l, _)| l.clone()).collect(),
                    approve,
                };
                let doc = self.adhoc_in(&mut tx, &req, "late_fee", on)?;
                let fr = doc.reference();
                for (n, (_, mut o)) in items.into_iter().enumerate() {
                    o.fee_invoice = fr.clone();
                    o.line = n as u32 + 1;
                    tx.put(line_key(&fr, o.line), &(o.invoice.clone(), o.k));
                    tx.put(occurrence_key(&o.invoice, o.k), &o);
                }
                created.push(doc);
            }
        }
        tx.commit()?;
        Ok(created)
    }

    /// 05 §4.3 `cancel_late_fee: {invoice, line}`: a draft fee invoice loses the line (and is
    /// cancelled when empty); an approved one is credited by an approved `late_fee_waiver` memo of
    /// that line. The occurrence becomes waived either way.
    pub fn cancel_late_fee(
        &self,
        invoice: &str,
        line: u32,
        on: NaiveDate,
    ) -> Result<Option<Document>> {
        let _guard = self
            .billing_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut tx = Tx::new(self.store.as_ref());
        let not_found = || {
            refused(
                Code::LateFeeNotFound,
                invoice,
                "line",
                format!("{invoice} has no late-fee line {line}"),
            )
        };
        let (inv_ref, k): (String, u32) =
            tx.get(&line_key(invoice, line))?.ok_or_else(not_found)?;
        let mut occ: Occurrence = tx
            .get(&occurrence_key(&inv_ref, k))?
            .ok_or_else(not_found)?;
        if occ.status == OccurrenceStatus::Waived {
            return Err(refused(
                Code::LateFeeAlreadyCancelled,
                invoice,
                "line",
                format!("the fee on {inv_ref} ({k}) was already cancelled"),
            ));
        }
        let Some((DocType::Invoice, account, seq)) = parse_ref(invoice) else {
            return Err(not_found());
        };
        let key_doc = doc_keys::document(DocType::Invoice, account, seq);
        let mut doc: Document = tx.get(&key_doc)?.ok_or_else(not_found)?;
        let out = match doc.status {
            DocStatus::Draft => {
                let pos = doc
                    .lines
                    .iter()
                    .position(|l| l.n == line)
                    .ok_or_else(not_found)?;
                doc.lines.remove(pos);
                tx.delete(line_key(invoice, line));
                // Renumber 1…n and move the line index with the lines.
                let mut moved = Vec::new();
                for (i, l) in doc.lines.iter_mut().enumerate() {
                    let n = i as u32 + 1;
                    if l.n != n {
                        let old = tx.get::<(String, u32)>(&line_key(invoice, l.n))?;
                        tx.delete(line_key(invoice, l.n));
                        if let Some(o) = old {
                            moved.push((n, o));
                        }
                        l.n = n;
                    }
                }
                for (n, (ir, kk)) in moved {
                    if let Some(mut o) = tx.get::<Occurrence>(&occurrence_key(&ir, kk))? {
                        o.line = n;
                        tx.put(occurrence_key(&ir, kk), &o);
                    }
                    tx.put(line_key(invoice, n), &(ir, kk));
                }
                if doc.lines.is_empty() {
                    doc.status = DocStatus::Cancelled;
                    doc.recompute_totals();
                } else {
                    let acct = self.known_account(&doc.account, invoice)?;
                    self.tax_document_of(&mut doc, &acct, false)?;
                }
                tx.put(key_doc, &doc);
                None
            }
            DocStatus::Approved => {
                let amount = doc
                    .lines
                    .iter()
                    .find(|l| l.n == line)
                    .map(|l| l.amount - l.credited)
                    .ok_or_else(not_found)?;
                let req = CreditRequest {
                    invoice: invoice.to_string(),
                    reason: "late_fee_waiver".into(),
                    date: on,
                    lines: vec![CreditLine { line, amount }],
                    approve: true,
                };
                Some(self.credit_memo_in(&mut tx, &req, "late_fee_waiver", on)??)
            }
            DocStatus::Cancelled => {
                return Err(refused(
                    Code::LateFeeAlreadyCancelled,
                    invoice,
                    "status",
                    "the late-fee invoice is cancelled",
                ))
            }
        };
        occ.status = OccurrenceStatus::Waived;
        tx.put(occurrence_key(&inv_ref, k), &occ);
        tx.commit()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::rules::RuleLoader;

    fn errors(src: &str) -> Vec<String> {
        let mut l = RuleLoader::new();
        l.add_text("p.yaml", src);
        match l.finish() {
            Ok(_) => Vec::new(),
            Err(errs) => errs.iter().map(|e| e.to_string()).collect(),
        }
    }

    const PRODUCTS: &str = "products:\n  - {code: LATE, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time}\n";

    #[test]
    fn inconsistent_policies_are_refused_at_the_key() {
        let text = errors(&format!(
            "{PRODUCTS}late_fee_policies:\n  - {{name: a, product: LATE, basis: flat}}\n  - {{name: b, product: LATE, basis: percent, percent: 2, minimum: 9, maximum: 5}}\n  - {{name: c, product: NOPE, basis: flat, amount: 5}}\n"
        ));
        let has = |code: &str, at: &str, path: &str| {
            text.iter()
                .any(|e| e.contains(code) && e.contains(at) && e.contains(path))
        };
        assert!(
            has("bad_late_fee_policy", "p.yaml:4:", "late_fee_policies[0]"),
            "{text:#?}"
        );
        assert!(
            has(
                "bad_late_fee_policy",
                "p.yaml:5:",
                "late_fee_policies[1].minimum"
            ),
            "{text:#?}"
        );
        assert!(
            has(
                "unknown_product",
                "p.yaml:6:",
                "late_fee_policies[2].product"
            ),
            "{text:#?}"
        );
        assert_eq!(text.len(), 3, "{text:#?}");
    }

    #[test]
    fn references_name_a_policy() {
        let text = errors(&format!(
            "{PRODUCTS}late_fee_policies:\n  - {{name: std, product: LATE, basis: flat, amount: 5}}\naccounts:\n  - {{id: A, currency: USD, late_fee_policy: std}}\n  - {{id: B, currency: USD, late_fee_policy: nope}}\n"
        ));
        assert_eq!(text.len(), 1, "{text:#?}");
        assert!(
            text[0].contains("unknown_policy") && text[0].contains("p.yaml:7:"),
            "{text:#?}"
        );
    }

    #[test]
    fn wallet_policies_need_their_renew_keys() {
        let text = errors(&format!(
            "{PRODUCTS}wallet_policies:\n  - {{name: a, renew: {{method: target}}}}\n  - {{name: b, renew: {{trigger: interval, amount: 5}}}}\n  - {{name: c, applies_to: [LATE, NOPE]}}\n  - {{name: ok, renew: {{method: fixed, amount: 5, trigger: threshold, threshold: 2}}}}\n"
        ));
        let has =
            |code: &str, path: &str| text.iter().any(|e| e.contains(code) && e.contains(path));
        assert!(
            has("bad_wallet_policy", "wallet_policies[0].renew"),
            "{text:#?}"
        );
        assert!(
            has("bad_wallet_policy", "wallet_policies[1].renew"),
            "{text:#?}"
        );
        assert!(
            has("unknown_product", "wallet_policies[2].applies_to[1]"),
            "{text:#?}"
        );
        assert_eq!(text.len(), 3, "{text:#?}");
    }
}

//! The document tax step (04 §5): the `tax` callback when one is registered, else the built-in
//! `tax_rates` table; plus the record conversions the callbacks need, due dates and numbering
//! schemes — everything the run and the lifecycle read from the rules.

use super::records::{Breakup, DocType, Document};
use super::run::Cand;
use crate::callbacks as cb;
use crate::engine::Engine;
use crate::error::{Code, EngineError, Result};
use crate::invoicing::model::{document_rows, NumberingRow, TaxExempt, TaxRate};
use crate::invoicing::{due, numbering, tax};
use crate::model::{Account, LegalEntity, Location};
use crate::money::{minor_units, Rounding};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The invoicing rule documents, typed once per rule set.
#[derive(Debug, Default)]
pub(crate) struct BillingRules {
    pub tax_rates: Vec<TaxRate>,
    pub numbering: Vec<NumberingRow>,
    pub tax_rounding: crate::invoicing::model::TaxRounding,
}

fn rules_error(errs: Vec<crate::rules::RuleError>) -> EngineError {
    EngineError::Rules(errs)
}

fn address_of(l: &Location) -> cb::Address {
    let text = |k: &str| match l.extra.get(k) {
        Some(serde_yaml::Value::String(s)) => Some(s.clone()),
        Some(serde_yaml::Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    cb::Address {
        line1: text("line1"),
        line2: text("line2"),
        city: text("city"),
        county: text("county"),
        region: text("region"),
        postal_code: text("postal_code"),
        country: text("country"),
    }
}

fn exemption_info(e: &TaxExempt) -> cb::TaxExemption {
    cb::TaxExemption {
        status: serde_json::to_value(e.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        certificate: e.certificate.clone(),
        effective: e.effective.map(|d| d.to_string()),
        expires: e.expires.map(|d| d.to_string()),
        tax_codes: e.tax_codes.clone().unwrap_or_default(),
    }
}

impl Engine {
    /// The typed invoicing documents of the rules in force.
    pub(crate) fn billing_rules(&self) -> Result<&BillingRules> {
        if let Some(r) = self.billing_rules.get() {
            return Ok(r);
        }
        let tax_rounding = match self.rules.system.extra.get("tax_rounding") {
            Some(serde_yaml::Value::String(s)) if s == "per_line" => {
                crate::invoicing::model::TaxRounding::PerLine
            }
            _ => crate::invoicing::model::TaxRounding::PerInvoice,
        };
        let r = BillingRules {
            tax_rates: document_rows(&self.rules, "tax_rates").map_err(rules_error)?,
            numbering: document_rows(&self.rules, "numbering").map_err(rules_error)?,
            tax_rounding,
        };
        Ok(self.billing_rules.get_or_init(|| r))
    }

    /// The account's effective billing preference rounding (01 precedence at account level).
    pub(crate) fn rounding_of(&self, account: &str) -> Result<Rounding> {
        let acct = self.account(account)?;
        Ok(self
            .preference_of(acct.as_ref())
            .map_or(Rounding::HalfUp, |p| p.rounding))
    }

    fn preference_of(&self, account: Option<&Account>) -> Option<&crate::model::BillingPreference> {
        account
            .and_then(|a| a.billing_preference.as_ref())
            .and_then(|n| self.rules.preferences.get(n))
            .or_else(|| self.rules.default_preference())
    }

    /// 04 §4: the due date of a document from its payment term (none: the invoice date).
    pub(crate) fn due_date_of(&self, doc: &Document) -> NaiveDate {
        doc.payment_term
            .as_ref()
            .and_then(|t| self.rules.payment_terms.get(t))
            .map_or(doc.invoice_date, |t| due::due_date(t, doc.invoice_date))
    }

    /// 04 §7: the numbering that applies to a document type of a legal entity.
    pub(crate) fn numbering_scheme(
        &self,
        t: DocType,
        legal_entity: Option<&str>,
    ) -> Result<numbering::Numbering> {
        // An entity that is not on record numbers like one without a prefix.
        let id = legal_entity.unwrap_or_default();
        let entity = match legal_entity {
            Some(id) => self.legal_entity(id)?,
            None => None,
        }
        .unwrap_or(LegalEntity {
            id: id.to_string(),
            name: None,
            currency: String::new(),
            invoice_number_prefix: None,
            revenue_period: None,
        });
        let kind = t.numbering_kind();
        numbering::resolve(&self.billing_rules()?.numbering, kind, &entity)
            .map_err(|e| e.into_engine(format!("numbering of {}", t.as_str())))
    }

    /// The tax location of a document (04 §5.2 step 1): the order's location, else the bill-to
    /// account's first location.
    fn tax_location<'a>(&self, account: &'a Account, doc: &Document) -> Option<&'a Location> {
        doc.location
            .as_ref()
            .and_then(|id| account.locations.iter().find(|l| &l.id == id))
            .or_else(|| account.locations.first())
    }

    /// Tax `doc` (04 §5): fills every line's `net`, `tax`, `total` and break-ups and the header.
    /// A tax failure is not an error of the step: it leaves `error_status:
    /// tax_calculation_error` with the message and no tax (04 §5.4).
    pub(crate) fn tax_document(&self, doc: &mut Document, dry_run: bool) -> Result<()> {
        let account = self.account(&doc.account)?.ok_or_else(|| {
            EngineError::refused(
                Code::UnknownAccount,
                doc.reference(),
                "account",
                format!("no account `{}`", doc.account),
            )
        })?;
        self.tax_document_of(doc, &account, dry_run)
    }

    /// [`Engine::tax_document`] with the bill-to account already read.
    pub(crate) fn tax_document_of(
        &self,
        doc: &mut Document,
        account: &Account,
        dry_run: bool,
    ) -> Result<()> {
        let location = self.tax_location(account, doc).cloned();
        let pref = self.preference_of(Some(account));
        let tax_level = match pref.and_then(|p| p.tax_level.as_deref()) {
            Some("product") => crate::invoicing::model::TaxLevelPref::Product,
            _ => crate::invoicing::model::TaxLevelPref::Account,
        };
        let rounding = pref.map_or(Rounding::HalfUp, |p| p.rounding);
        let loc_ex = match &location {
            Some(l) => TaxExempt::of_location(l).map_err(|m| bad_record(doc, &m))?,
            None => None,
        };
        let acct_ex = TaxExempt::of_account(account).map_err(|m| bad_record(doc, &m))?;
        let exemption = tax::applicable_exemption(loc_ex.as_ref(), acct_ex.as_ref());
        for l in &mut doc.lines {
            l.exempt = l.taxable
                && exemption.is_some_and(|e| {
                    tax::is_exempt(e, doc.invoice_date, tax_level, l.tax_code.as_deref())
                });
        }
        let result = match self.callbacks.tax() {
            Some(cbk) => {
                let req = cb::TaxRequest {
                    config: Default::default(),
                    dry_run,
                    document: doc.doc_type.contract_kind(),
                    invoice: self.cb_invoice_with(doc, account, location.as_ref())?,
                };
                cbk.calculate_tax(&req)
                    .map_err(|e| e.message)
                    .and_then(|taxes| apply_callback_taxes(doc, &taxes))
            }
            None => {
                let scale = minor_units(&doc.currency).unwrap_or(2);
                let tl = location
                    .as_ref()
                    .map(tax::TaxLocation::of)
                    .unwrap_or_default();
                let lines: Vec<tax::TaxLine> = doc
                    .lines
                    .iter()
                    .map(|l| tax::TaxLine {
                        n: l.n,
                        amount: l.amount,
                        tax_code: l.tax_code.clone(),
                        taxable: l.taxable,
                        inclusive: l.tax_inclusive,
                        exempt: l.exempt,
                    })
                    .collect();
                let rules = self.billing_rules()?;
                let req = tax::TaxRequest {
                    location: &tl,
                    date: doc.invoice_date,
                    scale,
                    rounding,
                    tax_rounding: rules.tax_rounding,
                    lines: &lines,
                };
                tax::calculate(&rules.tax_rates, &req)
                    .map_err(|e| e.message.clone())
                    .map(|t| apply_builtin_taxes(doc, &t))
            }
        };
        match result {
            Ok(()) => {
                if doc.error_status.as_deref() == Some("tax_calculation_error") {
                    doc.error_status = None;
                    doc.error_message = None;
                }
            }
            Err(msg) => {
                for l in &mut doc.lines {
                    l.net = l.amount;
                    l.tax = Decimal::ZERO;
                    l.total = l.amount;
                    l.breakups.clear();
                }
                doc.error_status = Some("tax_calculation_error".into());
                doc.error_message = Some(msg);
            }
        }
        doc.recompute_totals();
        Ok(())
    }

    /// The contract's account record.
    pub(crate) fn account_info(&self, a: &Account) -> cb::AccountInfo {
        let le = a
            .legal_entity
            .as_ref()
            .and_then(|id| self.legal_entity(id).ok().flatten())
            .map(|le| cb::LegalEntityInfo {
                id: le.id,
                name: le.name.unwrap_or_default(),
                currency: le.currency,
                invoice_number_prefix: le.invoice_number_prefix,
            });
        cb::AccountInfo {
            id: a.id.clone(),
            name: a.name.clone().unwrap_or_default(),
            currency: a.currency.clone(),
            parent: a.parent.clone(),
            legal_entity: le,
            address: a.locations.first().map(address_of),
            tax_exempt: TaxExempt::of_account(a)
                .ok()
                .flatten()
                .as_ref()
                .map(exemption_info),
            attributes: a.attributes.clone(),
        }
    }

    fn location_info(l: &Location) -> cb::LocationInfo {
        cb::LocationInfo {
            id: l.id.clone(),
            name: l.name.clone().unwrap_or_default(),
            address: address_of(l),
            invoice_separately: l.invoice_separately,
            tax_exempt: TaxExempt::of_location(l)
                .ok()
                .flatten()
                .as_ref()
                .map(exemption_info),
        }
    }

    pub(crate) fn product_info(&self, code: &str) -> cb::ProductInfo {
        let p = self.rules.products.get(code);
        cb::ProductInfo {
            code: code.to_string(),
            name: p.and_then(|p| p.name.clone()).unwrap_or_default(),
            price_type: p
                .map(|p| p.price_type.as_str().to_string())
                .unwrap_or_default(),
            tax_code: p.and_then(|p| p.tax_code.clone()),
            revenue_policy: p
                .and_then(|p| p.extra.get("revenue_policy"))
                .and_then(|v| v.as_str().map(str::to_string)),
            attributes: p.map(|p| p.attributes.clone()).unwrap_or_default(),
        }
    }

    /// A candidate schedule as the contract's line (grouping, filters).
    pub(crate) fn cb_line(&self, c: &Cand) -> cb::Line {
        let product = self.rules.products.get(&c.asset.product);
        let location = c.location();
        cb::Line {
            id: c.schedule.id.clone(),
            account_id: c.asset.account.clone(),
            order_id: Some(c.asset.order.clone()),
            order_line_id: Some(c.schedule.line.clone()),
            product: self.product_info(&c.asset.product),
            location: location.map(Self::location_info),
            ship_to: location.map(address_of),
            quantity: c.schedule.quantity.normalize().to_string(),
            amount: cb::Money {
                amount: c.schedule.amount.to_string(),
                currency: c.asset.currency.clone(),
            },
            period_start: c.schedule.start.to_string(),
            period_end: c.schedule.end.to_string(),
            ready_for_invoice: c.schedule.ready.to_string(),
            payment_term: crate::plans::row_payment_term(
                &c.schedule,
                c.asset.payment_term.as_ref(),
            )
            .cloned()
            .unwrap_or_default(),
            taxable: product.is_some_and(|p| p.taxable),
            tax_inclusive: product.is_some_and(|p| p.tax_inclusive),
            tax_code: product.and_then(|p| p.tax_code.clone()),
            exempt: false,
            attributes: BTreeMap::new(),
        }
    }

    /// A document as the contract's invoice (tax, numbering).
    pub(crate) fn cb_invoice(&self, doc: &Document) -> Result<cb::Invoice> {
        let account = self.account(&doc.account)?.ok_or_else(|| {
            EngineError::refused(
                Code::UnknownAccount,
                doc.reference(),
                "account",
                format!("no account `{}`", doc.account),
            )
        })?;
        let location = self.tax_location(&account, doc).cloned();
        self.cb_invoice_with(doc, &account, location.as_ref())
    }

    fn cb_invoice_with(
        &self,
        doc: &Document,
        account: &Account,
        location: Option<&Location>,
    ) -> Result<cb::Invoice> {
        let money = |a: Decimal| cb::Money {
            amount: a.to_string(),
            currency: doc.currency.clone(),
        };
        let lines = doc
            .lines
            .iter()
            .map(|l| cb::Line {
                id: l
                    .schedule
                    .clone()
                    .unwrap_or_else(|| format!("{}#{}", doc.reference(), l.n)),
                account_id: doc.account.clone(),
                order_id: l
                    .line
                    .as_deref()
                    .and_then(crate::engine::split_line_ref)
                    .map(|(o, _)| o.to_string()),
                order_line_id: l.line.clone(),
                product: self.product_info(&l.product),
                location: location.map(Self::location_info),
                ship_to: location.map(address_of),
                quantity: l.quantity.normalize().to_string(),
                amount: money(l.amount),
                period_start: l.period_start.map(|d| d.to_string()).unwrap_or_default(),
                period_end: l.period_end.map(|d| d.to_string()).unwrap_or_default(),
                ready_for_invoice: doc.invoice_date.to_string(),
                payment_term: doc.payment_term.clone().unwrap_or_default(),
                taxable: l.taxable,
                tax_inclusive: l.tax_inclusive,
                tax_code: l.tax_code.clone(),
                exempt: l.exempt,
                attributes: BTreeMap::new(),
            })
            .collect();
        Ok(cb::Invoice {
            id: doc.reference(),
            account: self.account_info(account),
            currency: doc.currency.clone(),
            invoice_date: doc.invoice_date.to_string(),
            due_date: doc.due_date.map(|d| d.to_string()),
            payment_term: doc.payment_term.clone(),
            bill_to: location.map(address_of),
            lines,
            subtotal: money(doc.subtotal),
            tax: None,
            total: money(doc.total),
            run_name: doc.run.clone(),
            group_key: Some(doc.group_key.clone()),
        })
    }
}

fn bad_record(doc: &Document, m: &str) -> EngineError {
    EngineError::refused(Code::InvalidRecord, doc.reference(), "tax_exempt", m)
}

fn apply_builtin_taxes(doc: &mut Document, t: &tax::InvoiceTax) {
    for lt in &t.lines {
        if let Some(l) = doc.lines.iter_mut().find(|l| l.n == lt.n) {
            l.net = lt.net;
            l.tax = lt.tax;
            l.total = lt.net + lt.tax;
            l.breakups = lt
                .components
                .iter()
                .map(|c| Breakup {
                    level: c.level.as_str().to_string(),
                    name: c.name.clone(),
                    rate: c.rate.normalize().to_string(),
                    amount: c.amount,
                })
                .collect();
        }
    }
}

/// Apply a (host-validated, 07 §4) callback result: amounts are in minor units already.
fn apply_callback_taxes(
    doc: &mut Document,
    taxes: &[cb::LineTax],
) -> std::result::Result<(), String> {
    let parse = |s: &str| {
        s.parse::<Decimal>()
            .map_err(|_| format!("tax `{s}` is not a decimal"))
    };
    let ids: Vec<String> = doc
        .lines
        .iter()
        .map(|l| {
            l.schedule
                .clone()
                .unwrap_or_else(|| format!("{}#{}", doc.reference(), l.n))
        })
        .collect();
    let mut staged = Vec::with_capacity(doc.lines.len());
    for (i, id) in ids.iter().enumerate() {
        let lt = taxes
            .iter()
            .find(|t| &t.line_id == id)
            .ok_or_else(|| format!("no tax for line {id}"))?;
        let tax = parse(&lt.tax.amount)?;
        let breakups = lt
            .breakups
            .iter()
            .map(|b| {
                Ok(Breakup {
                    level: b.level.clone(),
                    name: b.name.clone(),
                    rate: b.rate.clone(),
                    amount: parse(&b.tax.amount)?,
                })
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        staged.push((i, tax, breakups));
    }
    for (i, tax, breakups) in staged {
        let l = &mut doc.lines[i];
        l.net = if l.tax_inclusive {
            l.amount - tax
        } else {
            l.amount
        };
        l.tax = tax;
        l.total = l.net + tax;
        l.breakups = breakups;
    }
    Ok(())
}

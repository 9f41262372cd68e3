//! Typed requests → Rhai maps (07 §3's mapping, 07 §7's conversion advice): built straight from
//! the engine's request types, with repeated strings interned as shared `ImmutableString`s and
//! repeated sub-records (account, product, location, addresses, money) built once per call and
//! cloned. The maps are the same as `rhai::serde::to_dynamic` gives (a property test holds them
//! equal); only the sharing differs, and a clone shares nothing a script could mutate: every
//! Rhai string is immutable and every map clone is a copy.

use reckon_engine::callbacks as cb;
use rhai::{Array, Dynamic, ImmutableString, Map, INT};
use std::collections::HashMap;

/// A request type the Rhai host can convert.
pub trait ToRhai {
    /// The request as a Rhai map.
    fn to_rhai(&self) -> Dynamic;
}

/// The generic conversion through serde (`rhai::serde::to_dynamic`), which [`ToRhai`] replaced:
/// the benchmark's baseline and the property test's oracle. `()` if serde fails.
#[doc(hidden)]
pub fn via_serde<T: serde::Serialize>(v: &T) -> Dynamic {
    rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT)
}

/// Per-call conversion state: the string interner and the last sub-records seen.
#[derive(Default)]
struct Conv<'a> {
    strings: HashMap<&'a str, ImmutableString>,
    product: Option<(&'a cb::ProductInfo, Dynamic)>,
    address: Option<(&'a cb::Address, Dynamic)>,
    location: Option<(&'a cb::LocationInfo, Dynamic)>,
    account: Option<(&'a cb::AccountInfo, Dynamic)>,
}

/// A map built in one go: `BTreeMap::from_iter` sorts the fields (a few comparisons when they
/// come nearly sorted) and bulk-builds the tree, where one `insert` per field would search the
/// tree and move entries every time (measured: the inserts were the largest single cost of a
/// Rhai call's input conversion).
fn map<const N: usize>(fields: [(&str, Dynamic); N]) -> Dynamic {
    Dynamic::from_map(
        fields
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect::<Map>(),
    )
}

/// A cached sub-record: equal to the last one seen → a clone of its map.
macro_rules! cached {
    ($self:ident, $slot:ident, $value:expr, $build:expr) => {{
        let value = $value;
        if let Some((last, d)) = &$self.$slot {
            if std::ptr::eq(*last, value) || **last == *value {
                return d.clone();
            }
        }
        let d: Dynamic = $build;
        $self.$slot = Some((value, d.clone()));
        d
    }};
}

impl<'a> Conv<'a> {
    fn s(&mut self, s: &'a str) -> Dynamic {
        if let Some(i) = self.strings.get(s) {
            return Dynamic::from(i.clone());
        }
        let i = ImmutableString::from(s);
        self.strings.insert(s, i.clone());
        Dynamic::from(i)
    }

    /// A string that is unique in the request (ids): not worth interning.
    fn u(&self, s: &str) -> Dynamic {
        Dynamic::from(ImmutableString::from(s))
    }

    fn opt(&mut self, s: &'a Option<String>) -> Dynamic {
        match s {
            Some(s) => self.s(s),
            None => Dynamic::UNIT,
        }
    }

    fn strings(&mut self, v: &'a [String]) -> Dynamic {
        let a: Array = v.iter().map(|s| self.s(s)).collect();
        Dynamic::from_array(a)
    }

    fn attrs(&mut self, a: &'a cb::Attributes) -> Dynamic {
        // Already sorted and unique: the bulk build does no searching.
        let m: Map = a
            .iter()
            .map(|(k, v)| (k.as_str().into(), self.s(v)))
            .collect();
        Dynamic::from_map(m)
    }

    fn money(&mut self, m: &'a cb::Money) -> Dynamic {
        map([
            ("amount", self.s(&m.amount)),
            ("currency", self.s(&m.currency)),
        ])
    }

    fn opt_money(&mut self, m: &'a Option<cb::Money>) -> Dynamic {
        m.as_ref().map_or(Dynamic::UNIT, |m| self.money(m))
    }

    fn address(&mut self, a: &'a cb::Address) -> Dynamic {
        cached!(
            self,
            address,
            a,
            map([
                ("city", self.opt(&a.city)),
                ("country", self.opt(&a.country)),
                ("county", self.opt(&a.county)),
                ("line1", self.opt(&a.line1)),
                ("line2", self.opt(&a.line2)),
                ("postal_code", self.opt(&a.postal_code)),
                ("region", self.opt(&a.region)),
            ])
        )
    }

    fn opt_address(&mut self, a: &'a Option<cb::Address>) -> Dynamic {
        a.as_ref().map_or(Dynamic::UNIT, |a| self.address(a))
    }

    fn exemption(&mut self, e: &'a Option<cb::TaxExemption>) -> Dynamic {
        let Some(e) = e else { return Dynamic::UNIT };
        map([
            ("certificate", self.opt(&e.certificate)),
            ("effective", self.opt(&e.effective)),
            ("expires", self.opt(&e.expires)),
            ("status", self.s(&e.status)),
            ("tax_codes", self.strings(&e.tax_codes)),
        ])
    }

    fn account(&mut self, a: &'a cb::AccountInfo) -> Dynamic {
        cached!(self, account, a, {
            let legal_entity = match &a.legal_entity {
                Some(l) => map([
                    ("currency", self.s(&l.currency)),
                    ("id", self.s(&l.id)),
                    ("invoice_number_prefix", self.opt(&l.invoice_number_prefix)),
                    ("name", self.s(&l.name)),
                ]),
                None => Dynamic::UNIT,
            };
            map([
                ("address", self.opt_address(&a.address)),
                ("attributes", self.attrs(&a.attributes)),
                ("currency", self.s(&a.currency)),
                ("id", self.s(&a.id)),
                ("legal_entity", legal_entity),
                ("name", self.s(&a.name)),
                ("parent", self.opt(&a.parent)),
                ("tax_exempt", self.exemption(&a.tax_exempt)),
            ])
        })
    }

    fn product(&mut self, p: &'a cb::ProductInfo) -> Dynamic {
        cached!(
            self,
            product,
            p,
            map([
                ("attributes", self.attrs(&p.attributes)),
                ("code", self.s(&p.code)),
                ("name", self.s(&p.name)),
                ("price_type", self.s(&p.price_type)),
                ("revenue_policy", self.opt(&p.revenue_policy)),
                ("tax_code", self.opt(&p.tax_code)),
            ])
        )
    }

    fn location(&mut self, l: &'a Option<cb::LocationInfo>) -> Dynamic {
        let Some(l) = l else { return Dynamic::UNIT };
        cached!(
            self,
            location,
            l,
            map([
                ("address", self.address(&l.address)),
                ("id", self.s(&l.id)),
                (
                    "invoice_separately",
                    Dynamic::from_bool(l.invoice_separately)
                ),
                ("name", self.s(&l.name)),
                ("tax_exempt", self.exemption(&l.tax_exempt)),
            ])
        )
    }

    fn line(&mut self, l: &'a cb::Line) -> Dynamic {
        map([
            ("account_id", self.s(&l.account_id)),
            ("amount", self.money(&l.amount)),
            ("attributes", self.attrs(&l.attributes)),
            ("exempt", Dynamic::from_bool(l.exempt)),
            ("id", self.u(&l.id)),
            ("location", self.location(&l.location)),
            ("order_id", self.opt(&l.order_id)),
            ("order_line_id", self.opt(&l.order_line_id)),
            ("payment_term", self.s(&l.payment_term)),
            ("period_end", self.s(&l.period_end)),
            ("period_start", self.s(&l.period_start)),
            ("product", self.product(&l.product)),
            ("quantity", self.s(&l.quantity)),
            ("ready_for_invoice", self.s(&l.ready_for_invoice)),
            ("ship_to", self.opt_address(&l.ship_to)),
            ("tax_code", self.opt(&l.tax_code)),
            ("tax_inclusive", Dynamic::from_bool(l.tax_inclusive)),
            ("taxable", Dynamic::from_bool(l.taxable)),
        ])
    }

    fn lines(&mut self, v: &'a [cb::Line]) -> Dynamic {
        let a: Array = v.iter().map(|l| self.line(l)).collect();
        Dynamic::from_array(a)
    }

    fn invoice(&mut self, i: &'a cb::Invoice) -> Dynamic {
        map([
            ("account", self.account(&i.account)),
            ("bill_to", self.opt_address(&i.bill_to)),
            ("currency", self.s(&i.currency)),
            ("due_date", self.opt(&i.due_date)),
            ("group_key", self.opt(&i.group_key)),
            ("id", self.s(&i.id)),
            ("invoice_date", self.s(&i.invoice_date)),
            ("lines", self.lines(&i.lines)),
            ("payment_term", self.opt(&i.payment_term)),
            ("run_name", self.opt(&i.run_name)),
            ("subtotal", self.money(&i.subtotal)),
            ("tax", self.opt_money(&i.tax)),
            ("total", self.money(&i.total)),
        ])
    }

    fn document(&mut self, d: cb::DocumentKind) -> Dynamic {
        self.s(match d {
            cb::DocumentKind::Invoice => "invoice",
            cb::DocumentKind::CreditMemo => "credit_memo",
        })
    }

    fn run(&mut self, r: &'a cb::RunInfo) -> Dynamic {
        map([
            ("dry_run", Dynamic::from_bool(r.dry_run)),
            ("invoice_date", self.opt(&r.invoice_date)),
            ("kind", self.s(&r.kind)),
            ("name", self.s(&r.name)),
            ("period", self.opt(&r.period)),
            ("process_through", self.opt(&r.process_through)),
        ])
    }

    fn agreement(&mut self, a: &'a cb::Agreement) -> Dynamic {
        let lines: Array = a
            .lines
            .iter()
            .map(|l| {
                map([
                    ("attributes", self.attrs(&l.attributes)),
                    ("end_date", self.s(&l.end_date)),
                    ("id", self.u(&l.id)),
                    ("list_price", self.opt_money(&l.list_price)),
                    ("net_price", self.money(&l.net_price)),
                    ("order_line_id", self.opt(&l.order_line_id)),
                    ("product", self.product(&l.product)),
                    ("quantity", self.s(&l.quantity)),
                    ("ssp", self.opt_money(&l.ssp)),
                    ("start_date", self.s(&l.start_date)),
                    ("transaction_price", self.opt_money(&l.transaction_price)),
                ])
            })
            .collect();
        map([
            ("account", self.account(&a.account)),
            ("currency", self.s(&a.currency)),
            ("end_date", self.s(&a.end_date)),
            ("id", self.s(&a.id)),
            ("lines", Dynamic::from_array(lines)),
            ("order_id", self.opt(&a.order_id)),
            ("start_date", self.s(&a.start_date)),
        ])
    }
}

impl ToRhai for cb::TaxRequest {
    fn to_rhai(&self) -> Dynamic {
        let mut c = Conv::default();
        map([
            ("config", c.attrs(&self.config)),
            ("document", c.document(self.document)),
            ("dry_run", Dynamic::from_bool(self.dry_run)),
            ("invoice", c.invoice(&self.invoice)),
        ])
    }
}

impl ToRhai for cb::GroupingRequest {
    fn to_rhai(&self) -> Dynamic {
        let mut c = Conv::default();
        let groups: Array = self
            .default_groups
            .iter()
            .map(|g| map([("key", c.s(&g.key)), ("line_ids", c.strings(&g.line_ids))]))
            .collect();
        map([
            ("account", c.account(&self.account)),
            ("config", c.attrs(&self.config)),
            ("default_groups", Dynamic::from_array(groups)),
            ("lines", c.lines(&self.lines)),
            ("run", c.run(&self.run)),
        ])
    }
}

impl ToRhai for cb::NumberingRequest {
    fn to_rhai(&self) -> Dynamic {
        let mut c = Conv::default();
        map([
            ("config", c.attrs(&self.config)),
            ("document", c.document(self.document)),
            ("invoice", c.invoice(&self.invoice)),
            ("prefix", c.s(&self.prefix)),
            (
                "sequence",
                INT::try_from(self.sequence).map_or_else(
                    |_| Dynamic::from_decimal(rust_decimal::Decimal::from(self.sequence)),
                    Dynamic::from_int,
                ),
            ),
        ])
    }
}

impl ToRhai for cb::FilterRequest {
    fn to_rhai(&self) -> Dynamic {
        let mut c = Conv::default();
        let accounts: Array = self.accounts.iter().map(|a| c.account(a)).collect();
        let agreements: Array = self.agreements.iter().map(|a| c.agreement(a)).collect();
        map([
            ("accounts", Dynamic::from_array(accounts)),
            ("agreements", Dynamic::from_array(agreements)),
            ("config", c.attrs(&self.config)),
            ("lines", c.lines(&self.lines)),
            ("run", c.run(&self.run)),
        ])
    }
}

impl ToRhai for cb::AgreementRequest {
    fn to_rhai(&self) -> Dynamic {
        let mut c = Conv::default();
        map([
            ("agreement", c.agreement(&self.agreement)),
            ("config", c.attrs(&self.config)),
        ])
    }
}

impl ToRhai for cb::ObligationRequest {
    fn to_rhai(&self) -> Dynamic {
        let mut c = Conv::default();
        let candidates: Array = self
            .candidates
            .iter()
            .map(|o| {
                map([
                    ("agreement_id", c.s(&o.agreement_id)),
                    ("allocation", c.money(&o.allocation)),
                    ("end_date", c.s(&o.end_date)),
                    ("id", c.u(&o.id)),
                    ("line_id", c.s(&o.line_id)),
                    ("merge_policy", c.opt(&o.merge_policy)),
                    ("product", c.product(&o.product)),
                    ("revenue_policy", c.opt(&o.revenue_policy)),
                    (
                        "split_sequence",
                        o.split_sequence
                            .map_or(Dynamic::UNIT, |n| Dynamic::from_int(n as INT)),
                    ),
                    ("start_date", c.s(&o.start_date)),
                    ("transaction_price", c.money(&o.transaction_price)),
                ])
            })
            .collect();
        let open: Array = self
            .open_obligations
            .iter()
            .map(|o| {
                map([
                    ("currency", c.s(&o.currency)),
                    ("end_date", c.s(&o.end_date)),
                    ("id", c.u(&o.id)),
                    ("line_ids", c.strings(&o.line_ids)),
                    ("revenue_policy", c.s(&o.revenue_policy)),
                    ("start_date", c.s(&o.start_date)),
                ])
            })
            .collect();
        map([
            ("agreement", c.agreement(&self.agreement)),
            ("candidates", Dynamic::from_array(candidates)),
            ("config", c.attrs(&self.config)),
            ("open_obligations", Dynamic::from_array(open)),
        ])
    }
}

//! Host validation of callback outputs (07 §4): every plugin output is checked here before it
//! touches a record, whatever produced it (built-in default, WASM, Rhai or native code).
//!
//! Each point has one function returning the FIRST violation in a deterministic order: the output
//! size (V6) first, then the output's entries in order, each entry's fields in contract order, and
//! last the input ids the output failed to cover (`missing_line`, in input order). Paths index into
//! the output with the JSON (snake_case) field names: `[3].tax.currency`.

use crate::callbacks::{
    AgreementRequest, FilterRequest, GroupingRequest, LineAmount, LineGroup, LineTax, Money,
    NumberingRequest, ObligationPlan, ObligationRequest, TaxRequest,
};
use crate::money::minor_units;
use crate::schema::parse_decimal;
use rust_decimal::Decimal;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// The 07 §8 kind of a validation failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationKind {
    /// `invalid_output`: a §4 rule, named by the violation's `reason`.
    InvalidOutput,
    /// `output_too_large`: V6.
    OutputTooLarge,
}

impl ViolationKind {
    /// The kind as §8 spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationKind::InvalidOutput => "invalid_output",
            ViolationKind::OutputTooLarge => "output_too_large",
        }
    }
}

/// One broken rule of 07 §4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The §8 kind.
    pub kind: ViolationKind,
    /// The §4 reason (`wrong_currency`, `missing_line`, …); empty for `output_too_large`.
    pub reason: String,
    /// JSON path into the output (`[0].breakups[1].tax.amount`); empty for the output as a whole.
    pub path: String,
    /// The host's text (`expected USD, found EUR`).
    pub message: String,
}

impl Violation {
    /// A violation of any kind.
    pub fn new(
        kind: ViolationKind,
        reason: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Violation {
            kind,
            reason: reason.into(),
            path: path.into(),
            message: message.into(),
        }
    }

    /// An `invalid_output` violation.
    pub fn invalid_output(
        reason: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(ViolationKind::InvalidOutput, reason, path, message)
    }

    /// V6: an output of `size` bytes over `max_output_kib`.
    pub fn output_too_large(size: usize, max_output_kib: u32) -> Self {
        Self::new(
            ViolationKind::OutputTooLarge,
            "",
            "",
            format!("output is {size} bytes, limit is {max_output_kib} KiB"),
        )
    }
}

/// `KIND[/REASON][ at PATH]: TEXT`, the tail of §8's failure message.
impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if !self.reason.is_empty() {
            write!(f, "/{}", self.reason)?;
        }
        if !self.path.is_empty() {
            write!(f, " at {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for Violation {}

/// Byte length of `v`'s compact JSON (07 §3 size accounting), counted without building the text.
/// A value serde_json cannot encode counts as `usize::MAX`, so it fails any size limit.
pub fn json_size<T: serde::Serialize + ?Sized>(v: &T) -> usize {
    let mut sink = CountingSink(0);
    match serde_json::to_writer(&mut sink, v) {
        Ok(()) => sink.0,
        Err(_) => usize::MAX,
    }
}

/// An `io::Write` that only counts.
struct CountingSink(usize);

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 = self.0.saturating_add(buf.len());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The seven points.
// ---------------------------------------------------------------------------------------------

/// `tax`: one `line-tax` per line, in the invoice currency, consistent with each line.
pub fn tax(req: &TaxRequest, out: &[LineTax], max_output_kib: u32) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    let lines = &req.invoice.lines;
    let currency = Currency::of(&req.invoice.currency);
    let mut claims = Claims::new("line", lines.iter().map(|l| l.id.as_str()));
    for (i, entry) in out.iter().enumerate() {
        let at = ROOT.index(i);
        let line = &lines[claims.claim(&entry.line_id, at.field("line_id"))?];
        let tax_at = at.field("tax");
        let tax = currency.check(&entry.tax, tax_at)?;
        let amount_at = tax_at.field("amount");
        // The input is the host's: an amount it cannot parse is not the plugin's fault.
        let amount = parse_decimal(&line.amount.amount);
        if (!line.taxable || line.exempt) && !tax.is_zero() {
            return Err(invalid(
                "tax_on_exempt_line",
                amount_at,
                format!("line {} is not taxable, found tax {tax}", line.id),
            ));
        }
        if let Some(amount) = amount {
            if !tax.is_zero() && sign(tax) != sign(amount) {
                return Err(invalid(
                    "tax_sign",
                    amount_at,
                    format!("tax {tax} does not have the sign of the line amount {amount}"),
                ));
            }
            if line.tax_inclusive && tax.abs() > amount.abs() {
                return Err(invalid(
                    "tax_exceeds_amount",
                    amount_at,
                    format!("tax {tax} exceeds the tax-inclusive amount {amount}"),
                ));
            }
        }
        breakups(entry, tax, &currency, at)?;
    }
    claims.all_claimed()
}

/// The break-ups of one `line-tax`: valid rates and money, summing exactly to the tax.
fn breakups(entry: &LineTax, tax: Decimal, currency: &Currency, at: Path) -> Result<(), Violation> {
    if entry.breakups.is_empty() {
        return Ok(());
    }
    let list_at = at.field("breakups");
    let mut sum = Some(Decimal::ZERO);
    for (j, b) in entry.breakups.iter().enumerate() {
        let b_at = list_at.index(j);
        let rate_at = b_at.field("rate");
        let rate = decimal(&b.rate, rate_at)?;
        if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED {
            return Err(invalid(
                "bad_rate",
                rate_at,
                format!("rate {rate} is not from 0 to 100"),
            ));
        }
        let part = currency.check(&b.tax, b_at.field("tax"))?;
        sum = sum.and_then(|s| s.checked_add(part));
    }
    match sum {
        Some(sum) if sum == tax => Ok(()),
        Some(sum) => Err(invalid(
            "breakup_sum",
            list_at,
            format!("break-ups sum to {sum}, tax is {tax}"),
        )),
        None => Err(invalid("breakup_sum", list_at, "break-ups overflow")),
    }
}

/// `invoice_grouping`: an exact partition of the lines into non-empty, uniquely keyed groups, each
/// inside one built-in candidate.
pub fn grouping(
    req: &GroupingRequest,
    out: &[LineGroup],
    max_output_kib: u32,
) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    let candidate_of: HashMap<&str, usize> = req
        .default_groups
        .iter()
        .enumerate()
        .flat_map(|(c, g)| g.line_ids.iter().map(move |id| (id.as_str(), c)))
        .collect();
    let mut claims = Claims::new("line", req.lines.iter().map(|l| l.id.as_str()));
    let mut keys = HashSet::new();
    for (i, group) in out.iter().enumerate() {
        let at = ROOT.index(i);
        let key_at = at.field("key");
        key(&group.key, key_at)?;
        if !keys.insert(group.key.as_str()) {
            return Err(invalid(
                "duplicate_key",
                key_at,
                format!("key {:?} is used by an earlier group", group.key),
            ));
        }
        let ids_at = at.field("line_ids");
        if group.line_ids.is_empty() {
            return Err(invalid("empty_group", ids_at, "group has no lines"));
        }
        let mut inside = None;
        for (j, id) in group.line_ids.iter().enumerate() {
            let id_at = ids_at.index(j);
            claims.claim(id, id_at)?;
            let here = candidate_of.get(id.as_str()).copied();
            match (here, *inside.get_or_insert(here)) {
                (Some(c), Some(first)) if c == first => {}
                _ => {
                    return Err(invalid(
                        "crosses_default_group",
                        id_at,
                        format!(
                            "line {id} is not in the default group of {}",
                            group.line_ids[0]
                        ),
                    ))
                }
            }
        }
    }
    claims.all_claimed()
}

/// `invoice_numbering`: 1–64 characters of `[A-Za-z0-9._/-]`, never assigned before
/// (`already_assigned` answers for the document's legal entity and type).
pub fn numbering(
    _req: &NumberingRequest,
    out: &str,
    already_assigned: &dyn Fn(&str) -> bool,
    max_output_kib: u32,
) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"._/-".contains(&b);
    if out.is_empty() || out.len() > 64 || !out.bytes().all(allowed) {
        return Err(invalid(
            "bad_number",
            ROOT,
            format!("{out:?} is not 1-64 characters of A-Z a-z 0-9 . _ / -"),
        ));
    }
    if already_assigned(out) {
        return Err(invalid(
            "duplicate_number",
            ROOT,
            format!("number {out} is already assigned"),
        ));
    }
    Ok(())
}

/// `invoice_run_filter`: a subset of the input ids, the lines' for an invoice run, the
/// agreements' when there are no lines (revenue run). Order is irrelevant.
pub fn filter(req: &FilterRequest, out: &[String], max_output_kib: u32) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    let mut claims = if req.lines.is_empty() {
        Claims::new("agreement", req.agreements.iter().map(|a| a.id.as_str()))
    } else {
        Claims::new("line", req.lines.iter().map(|l| l.id.as_str()))
    };
    for (i, id) in out.iter().enumerate() {
        claims.claim(id, ROOT.index(i))?;
    }
    Ok(())
}

/// `transaction_price`: one amount per agreement line, in the agreement currency and its minor
/// units.
pub fn transaction_price(
    req: &AgreementRequest,
    out: &[LineAmount],
    max_output_kib: u32,
) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    per_agreement_line(req, out).map(|_| ())
}

/// `revenue_allocation`: as [`transaction_price`], and Σ allocation = Σ TP exactly
/// (`sum_mismatch`, reported by 06 as `allocation_mismatch`).
pub fn allocation(
    req: &AgreementRequest,
    out: &[LineAmount],
    max_output_kib: u32,
) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    let allocated = per_agreement_line(req, out)?;
    // The input TPs are the host's (already validated); a missing TP means TP = net price (06 §5).
    let tp = req
        .agreement
        .lines
        .iter()
        .map(|l| l.transaction_price.as_ref().unwrap_or(&l.net_price))
        .map(|m| parse_decimal(&m.amount).unwrap_or_default())
        .try_fold(Decimal::ZERO, Decimal::checked_add);
    match (allocated, tp) {
        (Some(a), Some(t)) if a == t => Ok(()),
        (Some(a), Some(t)) => Err(invalid(
            "sum_mismatch",
            ROOT,
            format!(
                "allocations sum to {a}, transaction prices to {t} (difference {})",
                a - t
            ),
        )),
        _ => Err(invalid("sum_mismatch", ROOT, "the sums overflow")),
    }
}

/// `obligation_merge`: a partition of the candidates into plans with valid keys, each attached to
/// at most one distinct open obligation and naming only known revenue policies.
pub fn obligation_merge(
    req: &ObligationRequest,
    out: &[ObligationPlan],
    known_policy: &dyn Fn(&str) -> bool,
    max_output_kib: u32,
) -> Result<(), Violation> {
    within_size(out, max_output_kib)?;
    let open: HashSet<&str> = req.open_obligations.iter().map(|o| o.id.as_str()).collect();
    let mut claims = Claims::new("candidate", req.candidates.iter().map(|c| c.id.as_str()));
    let mut attached = HashSet::new();
    for (i, plan) in out.iter().enumerate() {
        let at = ROOT.index(i);
        key(&plan.key, at.field("key"))?;
        if let Some(existing) = &plan.existing {
            let ex_at = at.field("existing");
            if !open.contains(existing.as_str()) {
                return Err(invalid(
                    "unknown_obligation",
                    ex_at,
                    format!("no open obligation {existing}"),
                ));
            }
            if !attached.insert(existing.as_str()) {
                return Err(invalid(
                    "duplicate_existing",
                    ex_at,
                    format!("open obligation {existing} is used by an earlier plan"),
                ));
            }
        }
        let ids_at = at.field("candidate_ids");
        if plan.candidate_ids.is_empty() {
            return Err(invalid("empty_group", ids_at, "plan has no candidates"));
        }
        for (j, id) in plan.candidate_ids.iter().enumerate() {
            claims.claim(id, ids_at.index(j))?;
        }
        if let Some(policy) = &plan.revenue_policy {
            if !known_policy(policy) {
                return Err(invalid(
                    "unknown_policy",
                    at.field("revenue_policy"),
                    format!("no revenue policy {policy}"),
                ));
            }
        }
    }
    claims.all_claimed()
}

// ---------------------------------------------------------------------------------------------
// Shared rules.
// ---------------------------------------------------------------------------------------------

/// V6.
fn within_size<T: serde::Serialize + ?Sized>(
    out: &T,
    max_output_kib: u32,
) -> Result<(), Violation> {
    let size = json_size(out);
    if size as u64 > u64::from(max_output_kib) * 1024 {
        return Err(Violation::output_too_large(size, max_output_kib));
    }
    Ok(())
}

/// `transaction_price` and `revenue_allocation`: exactly one valid amount per agreement line.
/// Returns the amounts' sum, `None` if it overflows.
fn per_agreement_line(
    req: &AgreementRequest,
    out: &[LineAmount],
) -> Result<Option<Decimal>, Violation> {
    let agreement = &req.agreement;
    let currency = Currency::of(&agreement.currency);
    let mut claims = Claims::new("line", agreement.lines.iter().map(|l| l.id.as_str()));
    let mut sum = Some(Decimal::ZERO);
    for (i, entry) in out.iter().enumerate() {
        let at = ROOT.index(i);
        claims.claim(&entry.line_id, at.field("line_id"))?;
        let amount = currency.check(&entry.amount, at.field("amount"))?;
        sum = sum.and_then(|s| s.checked_add(amount));
    }
    claims.all_claimed()?;
    Ok(sum)
}

/// V1: the contract's decimal grammar, ≤ 28 digits.
fn decimal(text: &str, at: Path) -> Result<Decimal, Violation> {
    parse_decimal(text).ok_or_else(|| {
        invalid(
            "bad_decimal",
            at,
            format!("expected a decimal, found {text:?}"),
        )
    })
}

/// -1, 0 or 1 as an ordering (`-0` is 0).
fn sign(d: Decimal) -> std::cmp::Ordering {
    d.cmp(&Decimal::ZERO)
}

/// V5: 1–64 characters, no control characters, no leading or trailing whitespace.
fn key(text: &str, at: Path) -> Result<(), Violation> {
    let len = text.chars().count();
    let problem = if len == 0 || len > 64 {
        Some(format!("key is {len} characters, expected 1-64"))
    } else if text.chars().any(char::is_control) {
        Some(format!("key {text:?} has a control character"))
    } else if text.starts_with(char::is_whitespace) || text.ends_with(char::is_whitespace) {
        Some(format!("key {text:?} has leading or trailing whitespace"))
    } else {
        None
    };
    problem.map_or(Ok(()), |message| Err(invalid("bad_key", at, message)))
}

/// The document's currency, against which every output `money` is checked.
struct Currency<'a> {
    code: &'a str,
    minor_units: Option<u32>,
}

impl<'a> Currency<'a> {
    fn of(code: &'a str) -> Self {
        Currency {
            code,
            minor_units: minor_units(code),
        }
    }

    /// V1 on the amount, V2 on the currency, V3 on the amount; returns the amount.
    fn check(&self, m: &Money, at: Path) -> Result<Decimal, Violation> {
        let amount_at = at.field("amount");
        let amount = decimal(&m.amount, amount_at)?;
        if m.currency != self.code {
            return Err(invalid(
                "wrong_currency",
                at.field("currency"),
                format!("expected {}, found {}", self.code, m.currency),
            ));
        }
        match self.minor_units {
            Some(units) if amount.normalize().scale() <= units => Ok(amount),
            Some(units) => Err(invalid(
                "bad_scale",
                amount_at,
                format!(
                    "{} has more than {units} decimals for {}",
                    m.amount, self.code
                ),
            )),
            None => Err(invalid(
                "bad_scale",
                amount_at,
                format!("{} has no known minor units", self.code),
            )),
        }
    }
}

/// V4 for outputs that name input ids: each id must be an input id and appear at most once;
/// [`Claims::all_claimed`] adds "at least once" for exact coverage.
struct Claims<'a> {
    noun: &'static str,
    input: Vec<&'a str>,
    index: HashMap<&'a str, usize>,
    claimed: Vec<bool>,
}

impl<'a> Claims<'a> {
    fn new(noun: &'static str, ids: impl Iterator<Item = &'a str>) -> Self {
        let input: Vec<&str> = ids.collect();
        let index = input.iter().enumerate().map(|(i, id)| (*id, i)).collect();
        let claimed = vec![false; input.len()];
        Claims {
            noun,
            input,
            index,
            claimed,
        }
    }

    /// Claim `id` for the output value at `at`; returns its input position.
    fn claim(&mut self, id: &str, at: Path) -> Result<usize, Violation> {
        let Some(&i) = self.index.get(id) else {
            let message = format!("no input {} {id:?}", self.noun);
            return Err(invalid("unknown_line", at, message));
        };
        if std::mem::replace(&mut self.claimed[i], true) {
            let message = format!("{} {id} is listed more than once", self.noun);
            return Err(invalid("duplicate_line", at, message));
        }
        Ok(i)
    }

    /// `missing_line` for the first input id (in input order) never claimed.
    fn all_claimed(&self) -> Result<(), Violation> {
        match self.claimed.iter().position(|c| !c) {
            None => Ok(()),
            Some(i) => Err(invalid(
                "missing_line",
                ROOT,
                format!("{} {} has no entry", self.noun, self.input[i]),
            )),
        }
    }
}

fn invalid(reason: &str, at: Path, message: impl Into<String>) -> Violation {
    Violation::invalid_output(reason, at.to_string(), message)
}

/// A JSON path into the output, rendered only when a violation needs it.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Index(&'a Path<'a>, usize),
    Field(&'a Path<'a>, &'static str),
}

const ROOT: Path<'static> = Path::Root;

impl Path<'_> {
    fn index(&self, i: usize) -> Path<'_> {
        Path::Index(self, i)
    }
    fn field(&self, name: &'static str) -> Path<'_> {
        Path::Field(self, name)
    }
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Field(Path::Root, name) => f.write_str(name),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::callbacks::{
        AccountInfo, Agreement, AgreementLine, DocumentKind, Invoice, Line, ObligationCandidate,
        OpenObligation, ProductInfo, RunInfo, TaxBreakup,
    };

    const LIMIT: u32 = 1024;

    fn usd(amount: &str) -> Money {
        money(amount, "USD")
    }

    fn money(amount: &str, currency: &str) -> Money {
        Money {
            amount: amount.into(),
            currency: currency.into(),
        }
    }

    fn product() -> ProductInfo {
        ProductInfo {
            code: "P".into(),
            name: "Product".into(),
            price_type: "recurring".into(),
            tax_code: None,
            revenue_policy: None,
            attributes: Default::default(),
        }
    }

    fn account() -> AccountInfo {
        AccountInfo {
            id: "A1".into(),
            name: "Acme".into(),
            currency: "USD".into(),
            parent: None,
            legal_entity: None,
            address: None,
            tax_exempt: None,
            attributes: Default::default(),
        }
    }

    fn run() -> RunInfo {
        RunInfo {
            name: "R".into(),
            kind: "invoice".into(),
            dry_run: false,
            process_through: None,
            invoice_date: None,
            period: None,
        }
    }

    /// A taxable, tax-exclusive, non-exempt USD line.
    fn line(id: &str, amount: &str) -> Line {
        Line {
            id: id.into(),
            account_id: "A1".into(),
            order_id: None,
            order_line_id: None,
            product: product(),
            location: None,
            ship_to: None,
            quantity: "1".into(),
            amount: usd(amount),
            period_start: "2016-01-01".into(),
            period_end: "2016-01-31".into(),
            ready_for_invoice: "2016-01-01".into(),
            payment_term: "net30".into(),
            taxable: true,
            tax_inclusive: false,
            tax_code: None,
            exempt: false,
            attributes: Default::default(),
        }
    }

    fn invoice(currency: &str, lines: Vec<Line>) -> Invoice {
        Invoice {
            id: "INV".into(),
            account: account(),
            currency: currency.into(),
            invoice_date: "2016-02-01".into(),
            due_date: None,
            payment_term: None,
            bill_to: None,
            lines,
            subtotal: money("0", currency),
            tax: None,
            total: money("0", currency),
            run_name: None,
            group_key: None,
        }
    }

    /// Agreement line with its net price and, for allocation, its TP.
    fn agreement_line(id: &str, net: &str, tp: Option<&str>) -> AgreementLine {
        AgreementLine {
            id: id.into(),
            order_line_id: None,
            product: product(),
            quantity: "1".into(),
            start_date: "2016-01-01".into(),
            end_date: "2016-12-31".into(),
            net_price: usd(net),
            list_price: None,
            ssp: None,
            transaction_price: tp.map(usd),
            attributes: Default::default(),
        }
    }

    fn agreement(id: &str, lines: Vec<AgreementLine>) -> Agreement {
        Agreement {
            id: id.into(),
            account: account(),
            currency: "USD".into(),
            order_id: None,
            start_date: "2016-01-01".into(),
            end_date: "2016-12-31".into(),
            lines,
        }
    }

    fn assert_reason(got: Result<(), Violation>, reason: &str, path: &str) {
        let v = got.expect_err(reason);
        assert_eq!(v.kind, ViolationKind::InvalidOutput, "{v}");
        assert_eq!((v.reason.as_str(), v.path.as_str()), (reason, path), "{v}");
    }

    fn assert_too_large(got: Result<(), Violation>) {
        let v = got.expect_err("output_too_large");
        assert_eq!(v.kind, ViolationKind::OutputTooLarge, "{v}");
    }

    /// A mutation of a good output and the (reason, path) it must produce.
    type Case<T> = (fn(&mut T), &'static str, &'static str);

    /// Run `check` on `good` after each mutation, expecting the (reason, path).
    fn cases<T: Clone>(good: &T, check: impl Fn(&T) -> Result<(), Violation>, cases: &[Case<T>]) {
        check(good).expect("the good output passes");
        for (mutate, reason, path) in cases {
            let mut out = good.clone();
            mutate(&mut out);
            assert_reason(check(&out), reason, path);
        }
    }

    // --- tax ---------------------------------------------------------------------------------

    fn tax_request(currency: &str, lines: Vec<Line>) -> TaxRequest {
        TaxRequest {
            config: Default::default(),
            dry_run: false,
            document: DocumentKind::Invoice,
            invoice: invoice(currency, lines),
        }
    }

    fn line_tax(id: &str, tax: &str, breakups: Vec<TaxBreakup>) -> LineTax {
        LineTax {
            line_id: id.into(),
            tax: usd(tax),
            breakups,
        }
    }

    fn breakup(rate: &str, tax: &str) -> TaxBreakup {
        TaxBreakup {
            level: "state".into(),
            name: "CA".into(),
            rate: rate.into(),
            tax: usd(tax),
        }
    }

    /// L1 plain, L2 a credit, L3 exempt, L4 not taxable, L5 tax-inclusive.
    fn tax_fixture() -> (TaxRequest, Vec<LineTax>) {
        let mut l3 = line("L3", "5.00");
        l3.exempt = true;
        let mut l4 = line("L4", "2.00");
        l4.taxable = false;
        let mut l5 = line("L5", "1.00");
        l5.tax_inclusive = true;
        let req = tax_request(
            "USD",
            vec![line("L1", "10.00"), line("L2", "-4.00"), l3, l4, l5],
        );
        let out = vec![
            line_tax(
                "L1",
                "0.80",
                vec![breakup("5", "0.50"), breakup("3.000", "0.3")],
            ),
            line_tax("L2", "-0.32", vec![]),
            line_tax("L3", "0", vec![]),
            line_tax("L4", "0.00", vec![breakup("0", "0")]),
            line_tax("L5", "0.07", vec![]),
        ];
        (req, out)
    }

    #[test]
    fn tax_reasons() {
        let (req, good) = tax_fixture();
        let check = |out: &Vec<LineTax>| tax(&req, out, LIMIT);
        cases(
            &good,
            check,
            &[
                (
                    |o| o[0].tax.amount = "1e3".into(),
                    "bad_decimal",
                    "[0].tax.amount",
                ),
                (
                    |o| o[0].tax.amount = "+0.80".into(),
                    "bad_decimal",
                    "[0].tax.amount",
                ),
                (
                    |o| o[0].tax.amount = format!("0.8{}", "0".repeat(27)),
                    "bad_decimal",
                    "[0].tax.amount",
                ),
                (
                    |o| o[3].tax.currency = "EUR".into(),
                    "wrong_currency",
                    "[3].tax.currency",
                ),
                (
                    |o| o[0].tax.amount = "0.805".into(),
                    "bad_scale",
                    "[0].tax.amount",
                ),
                (
                    |o| o[1].line_id = "L9".into(),
                    "unknown_line",
                    "[1].line_id",
                ),
                (
                    |o| o[1].line_id = "L1".into(),
                    "duplicate_line",
                    "[1].line_id",
                ),
                (|o| drop(o.remove(4)), "missing_line", ""),
                (
                    |o| o[2].tax.amount = "0.01".into(),
                    "tax_on_exempt_line",
                    "[2].tax.amount",
                ),
                (
                    |o| o[3].tax.amount = "0.01".into(),
                    "tax_on_exempt_line",
                    "[3].tax.amount",
                ),
                (
                    |o| o[1].tax.amount = "0.32".into(),
                    "tax_sign",
                    "[1].tax.amount",
                ),
                (
                    |o| o[0].tax.amount = "-0.80".into(),
                    "tax_sign",
                    "[0].tax.amount",
                ),
                (
                    |o| o[4].tax.amount = "1.01".into(),
                    "tax_exceeds_amount",
                    "[4].tax.amount",
                ),
                (
                    |o| o[0].breakups[1].tax.amount = "0.31".into(),
                    "breakup_sum",
                    "[0].breakups",
                ),
                (
                    |o| o[0].breakups[1].tax.currency = "CAD".into(),
                    "wrong_currency",
                    "[0].breakups[1].tax.currency",
                ),
                (
                    |o| o[0].breakups[1].tax.amount = "0.301".into(),
                    "bad_scale",
                    "[0].breakups[1].tax.amount",
                ),
                (
                    |o| o[0].breakups[0].rate = "5.".into(),
                    "bad_decimal",
                    "[0].breakups[0].rate",
                ),
                (
                    |o| o[0].breakups[0].rate = "100.5".into(),
                    "bad_rate",
                    "[0].breakups[0].rate",
                ),
                (
                    |o| o[0].breakups[0].rate = "-1".into(),
                    "bad_rate",
                    "[0].breakups[0].rate",
                ),
            ],
        );
        assert_too_large(tax(&req, &good, 0));
    }

    #[test]
    fn tax_scale_follows_the_currency() {
        let mut l = line("J1", "1000");
        l.amount = money("1000", "JPY");
        let req = tax_request("JPY", vec![l]);
        let ok = |amount: &str| {
            let out = [LineTax {
                line_id: "J1".into(),
                tax: money(amount, "JPY"),
                breakups: vec![],
            }];
            tax(&req, &out, LIMIT)
        };
        assert_eq!(ok("80"), Ok(()));
        assert_eq!(ok("80.000"), Ok(()));
        assert_reason(ok("1.5"), "bad_scale", "[0].tax.amount");
        assert_eq!(
            ok("8e1").unwrap_err().message,
            "expected a decimal, found \"8e1\""
        );
    }

    #[test]
    fn wrong_currency_names_both() {
        let (req, mut out) = tax_fixture();
        out[0].tax.currency = "EUR".into();
        let v = tax(&req, &out, LIMIT).unwrap_err();
        assert_eq!(v.message, "expected USD, found EUR");
        assert_eq!(
            v.to_string(),
            "invalid_output/wrong_currency at [0].tax.currency: expected USD, found EUR"
        );
    }

    #[test]
    fn first_violation_wins_in_output_order() {
        let (req, mut out) = tax_fixture();
        out[4].tax.currency = "EUR".into();
        out[1].line_id = "L9".into();
        assert_reason(tax(&req, &out, LIMIT), "unknown_line", "[1].line_id");
    }

    // --- grouping ----------------------------------------------------------------------------

    fn group(key: &str, ids: &[&str]) -> LineGroup {
        LineGroup {
            key: key.into(),
            line_ids: ids.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn grouping_reasons() {
        let req = GroupingRequest {
            config: Default::default(),
            run: run(),
            account: account(),
            lines: ["L1", "L2", "L3", "L4"]
                .iter()
                .map(|id| line(id, "1.00"))
                .collect(),
            default_groups: vec![group("A", &["L1", "L2", "L3"]), group("B", &["L4"])],
        };
        let good = vec![
            group("A-1", &["L1", "L3"]),
            group("A-2", &["L2"]),
            group("B", &["L4"]),
        ];
        cases(
            &good,
            |out| grouping(&req, out, LIMIT),
            &[
                (|o| o[1].key = String::new(), "bad_key", "[1].key"),
                (|o| o[1].key = "k".repeat(65), "bad_key", "[1].key"),
                (|o| o[1].key = "a\tb".into(), "bad_key", "[1].key"),
                (|o| o[1].key = " A-2".into(), "bad_key", "[1].key"),
                (|o| o[1].key = "A-2\n".into(), "bad_key", "[1].key"),
                (|o| o[2].key = "A-1".into(), "duplicate_key", "[2].key"),
                (|o| o[1].line_ids.clear(), "empty_group", "[1].line_ids"),
                (
                    |o| o[1].line_ids.push("L9".into()),
                    "unknown_line",
                    "[1].line_ids[1]",
                ),
                (
                    |o| o[1].line_ids.push("L1".into()),
                    "duplicate_line",
                    "[1].line_ids[1]",
                ),
                (
                    |o| o[0].line_ids.push("L4".into()),
                    "crosses_default_group",
                    "[0].line_ids[2]",
                ),
                (|o| drop(o.remove(1)), "missing_line", ""),
            ],
        );
        // Keys count characters, not bytes.
        let mut wide = good.clone();
        wide[0].key = "é".repeat(64);
        assert_eq!(grouping(&req, &wide, LIMIT), Ok(()));
        assert_too_large(grouping(&req, &good, 0));
    }

    // --- numbering ---------------------------------------------------------------------------

    #[test]
    fn numbering_reasons() {
        let req = NumberingRequest {
            config: Default::default(),
            document: DocumentKind::Invoice,
            invoice: invoice("USD", vec![line("L1", "1.00")]),
            prefix: "INV-".into(),
            sequence: 7,
        };
        let taken = |n: &str| n == "INV-2016-000001";
        let check = |n: &str| numbering(&req, n, &taken, LIMIT);
        assert_eq!(check("INV-2016/000007_a.b"), Ok(()));
        assert_eq!(check(&"9".repeat(64)), Ok(()));
        for bad in ["", "INV 7", "INV#7", "Ä7", &"9".repeat(65)] {
            assert_reason(check(bad), "bad_number", "");
        }
        assert_reason(check("INV-2016-000001"), "duplicate_number", "");
        assert_too_large(numbering(&req, "INV-7", &taken, 0));
    }

    // --- filter ------------------------------------------------------------------------------

    #[test]
    fn filter_reasons() {
        let req = FilterRequest {
            config: Default::default(),
            run: run(),
            accounts: vec![account()],
            lines: vec![line("L1", "1.00"), line("L2", "1.00"), line("L3", "1.00")],
            agreements: vec![],
        };
        let good: Vec<String> = vec!["L3".into(), "L1".into()];
        cases(
            &good,
            |out| filter(&req, out, LIMIT),
            &[
                (|o| o.push("L9".into()), "unknown_line", "[2]"),
                (|o| o.push("L3".into()), "duplicate_line", "[2]"),
            ],
        );
        assert_eq!(filter(&req, &[], LIMIT), Ok(()));
        assert_too_large(filter(&req, &good, 0));
    }

    #[test]
    fn revenue_run_filter_uses_agreement_ids() {
        let mut r = run();
        r.kind = "revenue".into();
        let req = FilterRequest {
            config: Default::default(),
            run: r,
            accounts: vec![account()],
            lines: vec![],
            agreements: vec![agreement("AG1", vec![]), agreement("AG2", vec![])],
        };
        assert_eq!(filter(&req, &["AG2".into()], LIMIT), Ok(()));
        assert_reason(
            filter(&req, &["AG2".into(), "L1".into()], LIMIT),
            "unknown_line",
            "[1]",
        );
        assert_reason(
            filter(&req, &["AG2".into(), "AG2".into()], LIMIT),
            "duplicate_line",
            "[1]",
        );
    }

    // --- transaction_price and allocation ----------------------------------------------------

    fn amount(id: &str, value: &str) -> LineAmount {
        LineAmount {
            line_id: id.into(),
            amount: usd(value),
        }
    }

    /// The per-line rules both agreement points share.
    const PER_LINE_CASES: &[Case<Vec<LineAmount>>] = &[
        (|o| o[1].line_id = "X".into(), "unknown_line", "[1].line_id"),
        (
            |o| o[1].line_id = "AL1".into(),
            "duplicate_line",
            "[1].line_id",
        ),
        (|o| drop(o.remove(0)), "missing_line", ""),
        (
            |o| o[1].amount.amount = "4.0.0".into(),
            "bad_decimal",
            "[1].amount.amount",
        ),
        (
            |o| o[1].amount.currency = "EUR".into(),
            "wrong_currency",
            "[1].amount.currency",
        ),
        (
            |o| o[1].amount.amount = "4.001".into(),
            "bad_scale",
            "[1].amount.amount",
        ),
    ];

    #[test]
    fn transaction_price_reasons() {
        let req = AgreementRequest {
            config: Default::default(),
            agreement: agreement(
                "AG1",
                vec![
                    agreement_line("AL1", "10.00", None),
                    agreement_line("AL2", "5.00", None),
                ],
            ),
        };
        // Any amounts may be returned: TP need not equal the net price.
        let good = vec![amount("AL1", "11.5"), amount("AL2", "4.00")];
        cases(
            &good,
            |out| transaction_price(&req, out, LIMIT),
            PER_LINE_CASES,
        );
        assert_too_large(transaction_price(&req, &good, 0));
    }

    #[test]
    fn allocation_reasons() {
        let req = AgreementRequest {
            config: Default::default(),
            agreement: agreement(
                "AG1",
                vec![
                    agreement_line("AL1", "10.00", Some("12.00")),
                    agreement_line("AL2", "5.00", Some("3.00")),
                ],
            ),
        };
        let good = vec![amount("AL1", "11.00"), amount("AL2", "4")];
        cases(&good, |out| allocation(&req, out, LIMIT), PER_LINE_CASES);
        let mut off = good.clone();
        off[1].amount.amount = "4.01".into();
        let v = allocation(&req, &off, LIMIT).unwrap_err();
        assert_eq!((v.reason.as_str(), v.path.as_str()), ("sum_mismatch", ""));
        assert_eq!(
            v.message,
            "allocations sum to 15.01, transaction prices to 15.00 (difference 0.01)"
        );
        // A sum that overflows Decimal is a mismatch, not a panic.
        let huge = "9999999999999999999999999999";
        let big = vec![amount("AL1", huge), amount("AL2", huge)];
        assert_reason(allocation(&req, &big, LIMIT), "sum_mismatch", "");
        assert_too_large(allocation(&req, &good, 0));
    }

    // --- obligation_merge --------------------------------------------------------------------

    fn candidate(id: &str) -> ObligationCandidate {
        ObligationCandidate {
            id: id.into(),
            agreement_id: "AG1".into(),
            line_id: "AL1".into(),
            split_sequence: None,
            product: product(),
            revenue_policy: Some("ratable".into()),
            merge_policy: None,
            start_date: "2016-01-01".into(),
            end_date: "2016-12-31".into(),
            transaction_price: usd("1.00"),
            allocation: usd("1.00"),
        }
    }

    fn open_obligation(id: &str) -> OpenObligation {
        OpenObligation {
            id: id.into(),
            revenue_policy: "ratable".into(),
            currency: "USD".into(),
            start_date: "2015-01-01".into(),
            end_date: "2016-12-31".into(),
            line_ids: vec!["OLD".into()],
        }
    }

    fn plan(
        key: &str,
        existing: Option<&str>,
        ids: &[&str],
        policy: Option<&str>,
    ) -> ObligationPlan {
        ObligationPlan {
            key: key.into(),
            existing: existing.map(Into::into),
            candidate_ids: ids.iter().map(|s| s.to_string()).collect(),
            revenue_policy: policy.map(Into::into),
        }
    }

    #[test]
    fn obligation_merge_reasons() {
        let req = ObligationRequest {
            config: Default::default(),
            agreement: agreement("AG1", vec![]),
            candidates: vec![candidate("C1"), candidate("C2"), candidate("C3")],
            open_obligations: vec![open_obligation("OB1"), open_obligation("OB2")],
        };
        let known = |p: &str| p == "ratable" || p == "immediate";
        let good = vec![
            plan("merged", Some("OB1"), &["C1", "C3"], None),
            plan("C2", None, &["C2"], Some("immediate")),
        ];
        cases(
            &good,
            |out| obligation_merge(&req, out, &known, LIMIT),
            &[
                (|o| o[1].key = "".into(), "bad_key", "[1].key"),
                (|o| o[1].key = "C2 ".into(), "bad_key", "[1].key"),
                (
                    |o| o[1].existing = Some("OB9".into()),
                    "unknown_obligation",
                    "[1].existing",
                ),
                (
                    |o| o[1].existing = Some("OB1".into()),
                    "duplicate_existing",
                    "[1].existing",
                ),
                (
                    |o| o[1].candidate_ids.push("C9".into()),
                    "unknown_line",
                    "[1].candidate_ids[1]",
                ),
                (
                    |o| o[1].candidate_ids.push("C1".into()),
                    "duplicate_line",
                    "[1].candidate_ids[1]",
                ),
                (
                    |o| o[0].candidate_ids.pop().map_or((), drop),
                    "missing_line",
                    "",
                ),
                (
                    |o| o[1].candidate_ids.clear(),
                    "empty_group",
                    "[1].candidate_ids",
                ),
                (
                    |o| o[1].revenue_policy = Some("magic".into()),
                    "unknown_policy",
                    "[1].revenue_policy",
                ),
            ],
        );
        assert_too_large(obligation_merge(&req, &good, &known, 0));
    }

    // --- size --------------------------------------------------------------------------------

    #[test]
    fn json_size_is_the_compact_json_length() {
        fn same<T: serde::Serialize + ?Sized>(v: &T) {
            assert_eq!(json_size(v), serde_json::to_vec(v).unwrap().len());
        }
        let (req, out) = tax_fixture();
        same(&req);
        same(&out);
        same("quote \" backslash \\ tab \t control \u{1} é ✓ 😀");
        same(&Vec::<LineGroup>::new());
        same(&None::<Money>);
        same(&plan("k", None, &["C1"], Some("p")));
        assert_eq!(json_size("ab"), 4);
    }

    #[test]
    fn size_limit_is_inclusive() {
        let req = NumberingRequest {
            config: Default::default(),
            document: DocumentKind::Invoice,
            invoice: invoice("USD", vec![]),
            prefix: String::new(),
            sequence: 1,
        };
        let never = |_: &str| false;
        // A string's JSON is its text plus two quotes: 1,022 characters make exactly 1 KiB, so V6
        // passes and the number fails on its length; one more character breaks V6 first.
        let exact = "9".repeat(1022);
        assert_reason(numbering(&req, &exact, &never, 1), "bad_number", "");
        assert_too_large(numbering(&req, &format!("{exact}9"), &never, 1));
    }
}

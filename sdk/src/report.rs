//! Reports as CSV and JSON (05 §9): one table shape, written byte-identically for identical data.
//! Every report of 05 §9 and `invoice_forecast` (04 §10).

use reckon_engine::billing::forecast::{parse_month, status_name, ForecastQuery, STATUSES};
use reckon_engine::{Code, Engine, EngineError};
use serde::Serialize;

/// The reports this version produces.
pub const REPORTS: &[&str] = &[
    "ar_aging",
    "dso",
    "account_billing_summary",
    "billing_dashboard",
    "billing_metrics",
    "invoice_forecast",
    "ar_transactions",
    "invoiced_by",
    "pending_billing_by",
    "paid_vs_unpaid",
    "tax_by_account",
    "tax_by_country_region",
    "activated_vs_unactivated_assets",
    "revenue_journal",
    "revenue_waterfall",
    "revenue_reconcile",
];

/// What a report is asked for.
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    /// `--as-of`.
    pub as_of: Option<String>,
    /// `--from` (a date, or `YYYY-MM` for the forecast).
    pub from: Option<String>,
    /// `--to`.
    pub to: Option<String>,
    /// `--account`.
    pub account: Option<String>,
    /// `--currency`.
    pub currency: Option<String>,
    /// `--detail`.
    pub detail: bool,
    /// `--method` (DSO: standard, countback).
    pub method: Option<String>,
    /// `--by` (invoiced_by, pending_billing_by).
    pub by: Option<String>,
    /// `--legal-entity` (revenue reports).
    pub legal_entity: Option<String>,
    /// `--period` `YYYY-MM` (revenue_journal).
    pub period: Option<String>,
}

/// A report: columns, rows and totals of cells (money as plain decimals, null as `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Report name.
    pub report: String,
    /// `--as-of`.
    pub as_of: Option<String>,
    /// `--from`.
    pub from: Option<String>,
    /// `--to`.
    pub to: Option<String>,
    /// Column names.
    pub columns: Vec<String>,
    /// Rows in the report's key order.
    pub rows: Vec<Vec<Option<String>>>,
    /// The totals row (empty when the report has none).
    pub totals: Vec<Option<String>>,
}

fn bad(field: &str, message: impl Into<String>) -> EngineError {
    EngineError::refused(Code::InvalidRecord, "report", field, message)
}

/// Build report `name`.
pub fn build(engine: &Engine, name: &str, q: &ReportQuery) -> Result<Report, EngineError> {
    match name {
        "invoice_forecast" => forecast(engine, q),
        "ar_transactions" => ar_transactions(engine, q),
        "ar_aging" => aging(engine, q),
        "dso" => dso(engine, q),
        "account_billing_summary" => summary(engine, q),
        "billing_dashboard" => dashboard(engine, q),
        "paid_vs_unpaid" => paid_vs_unpaid(engine, q),
        "billing_metrics" => metrics(engine, q),
        "invoiced_by" | "pending_billing_by" | "tax_by_account" | "tax_by_country_region" => {
            grouped(engine, name, q)
        }
        "activated_vs_unactivated_assets" => assets(engine, q),
        "revenue_waterfall" => waterfall(engine, q),
        "revenue_reconcile" => reconcile(engine, q),
        other => Err(EngineError::refused(
            Code::UnknownReport,
            "report",
            "name",
            format!(
                "no report `{other}`; this version has {}",
                REPORTS.join(", ")
            ),
        )),
    }
}

fn forecast(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let month = |field: &str, v: &Option<String>| {
        v.as_deref()
            .ok_or_else(|| bad(field, "give the month as YYYY-MM"))
            .and_then(|m| parse_month(m).ok_or_else(|| bad(field, format!("`{m}` is not YYYY-MM"))))
    };
    let query = ForecastQuery {
        account: q.account.clone(),
        from: month("from", &q.from)?,
        to: month("to", &q.to)?,
        product: None,
        price_type: None,
        currency: q.currency.clone(),
    };
    let months = engine.forecast(&query)?;
    let mut columns = vec!["month".to_string(), "currency".to_string()];
    for s in STATUSES {
        columns.push(format!("{}_count", status_name(s)));
        columns.push(status_name(s).to_string());
    }
    columns.extend(["count".to_string(), "total".to_string()]);
    let scale = months
        .first()
        .and_then(|m| reckon_engine::money::minor_units(&m.currency))
        .unwrap_or(2);
    let money = |d: rust_decimal::Decimal| Some(d.round_dp(scale).to_string());
    let money = |d| money(d).map(|s| pad(&s, scale));
    let mut totals_counts = [0u64; 6];
    let mut totals_amounts = [rust_decimal::Decimal::ZERO; 6];
    let rows = months
        .iter()
        .map(|m| {
            let mut row = vec![Some(m.month.clone()), Some(m.currency.clone())];
            for i in 0..6 {
                totals_counts[i] += m.counts[i];
                totals_amounts[i] += m.amounts[i];
                row.push(Some(m.counts[i].to_string()));
                row.push(money(m.amounts[i]));
            }
            row.push(Some(m.count().to_string()));
            row.push(money(m.total()));
            row
        })
        .collect();
    let mut totals = vec![None, months.first().map(|m| m.currency.clone())];
    for i in 0..6 {
        totals.push(Some(totals_counts[i].to_string()));
        totals.push(money(totals_amounts[i]));
    }
    totals.push(Some(totals_counts.iter().sum::<u64>().to_string()));
    totals.push(money(totals_amounts.iter().copied().sum()));
    Ok(Report {
        report: "invoice_forecast".into(),
        as_of: q.as_of.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        columns,
        rows,
        totals,
    })
}

fn date_arg(field: &str, v: &Option<String>) -> Result<chrono::NaiveDate, EngineError> {
    v.as_deref()
        .and_then(reckon_engine::dates::parse_date)
        .ok_or_else(|| bad(field, "give a date YYYY-MM-DD"))
}

/// The accounts a report covers, and its currency (the first account's unless given).
fn scope(engine: &Engine, q: &ReportQuery) -> Result<(Vec<String>, String), EngineError> {
    let accounts = match &q.account {
        Some(a) => vec![a.clone()],
        None => engine.account_ids()?,
    };
    let currency = match &q.currency {
        Some(c) => c.clone(),
        None => accounts
            .first()
            .and_then(|a| engine.account(a).ok().flatten())
            .map(|a| a.currency)
            .unwrap_or_else(|| "USD".into()),
    };
    Ok((accounts, currency))
}

fn aging(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let as_of = date_arg("as_of", &q.as_of)?;
    let (accounts, currency) = scope(engine, q)?;
    let set = engine.aging_buckets(None)?;
    let a = engine.aging(&accounts, &currency, as_of, &set, q.detail)?;
    let scale = reckon_engine::money::minor_units(&currency).unwrap_or(2);
    let money = |d: rust_decimal::Decimal| Some(pad(&d.round_dp(scale).to_string(), scale));
    let mut columns = vec![
        "account".to_string(),
        "invoice".into(),
        "days".into(),
        "currency".into(),
    ];
    columns.extend(a.labels.iter().cloned());
    columns.extend(["unapplied".to_string(), "total".to_string()]);
    let row = |r: &reckon_engine::receivables::aging::AgingRow| {
        let mut out = vec![
            r.account.clone(),
            r.invoice.clone(),
            r.days.map(|d| d.to_string()),
            Some(currency.clone()),
        ];
        out.extend(r.buckets.iter().map(|b| money(*b)));
        out.push(money(r.unapplied));
        out.push(money(r.total));
        out
    };
    let (totals, rest) = a
        .rows
        .split_last()
        .map_or((None, &a.rows[..]), |(t, r)| (Some(t), r));
    Ok(Report {
        report: "ar_aging".into(),
        as_of: q.as_of.clone(),
        from: None,
        to: None,
        columns,
        rows: rest.iter().map(row).collect(),
        totals: totals.map(row).unwrap_or_default(),
    })
}

fn dso(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let from = date_arg("from", &q.from)?;
    let to = date_arg("to", &q.to)?;
    let (accounts, currency) = scope(engine, q)?;
    let method = q.method.clone().unwrap_or_else(|| "standard".into());
    if method != "standard" && method != "countback" {
        return Err(bad(
            "method",
            format!("`{method}` is not standard or countback"),
        ));
    }
    let days = engine.dso(&accounts, &currency, from, to, method == "countback")?;
    Ok(Report {
        report: "dso".into(),
        as_of: None,
        from: q.from.clone(),
        to: q.to.clone(),
        columns: ["from", "to", "currency", "method", "days"]
            .map(String::from)
            .to_vec(),
        rows: vec![vec![
            q.from.clone(),
            q.to.clone(),
            Some(currency),
            Some(method),
            days.map(|d| pad(&d.to_string(), 2)),
        ]],
        totals: Vec::new(),
    })
}

fn ar_transactions(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let account = q
        .account
        .clone()
        .ok_or_else(|| bad("account", "give --account"))?;
    let columns: Vec<String> = [
        "number",
        "type",
        "account",
        "currency",
        "amount",
        "created_on",
        "effective_on",
        "source",
        "destination",
        "starting_balance",
        "ending_balance",
        "reverses",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let in_range = |d: &str| {
        q.from.as_deref().is_none_or(|f| d >= f) && q.to.as_deref().is_none_or(|t| d <= t)
    };
    let mut rows = Vec::new();
    for t in engine.ar_transactions(&account)? {
        let effective = t.effective_on.to_string();
        if !in_range(&effective) || q.as_of.as_deref().is_some_and(|a| effective.as_str() > a) {
            continue;
        }
        let scale = reckon_engine::money::minor_units(&t.currency).unwrap_or(2);
        let money = |d: rust_decimal::Decimal| pad(&d.round_dp(scale).to_string(), scale);
        rows.push(vec![
            Some(t.number.clone()),
            Some(t.kind.clone()),
            Some(t.account.clone()),
            Some(t.currency.clone()),
            Some(money(t.amount)),
            Some(t.created_on.to_string()),
            Some(effective),
            t.source.clone(),
            t.destination.clone(),
            t.starting_balance.map(money),
            t.ending_balance.map(money),
            t.reverses.clone(),
        ]);
    }
    Ok(Report {
        report: "ar_transactions".into(),
        as_of: q.as_of.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        columns,
        rows,
        totals: Vec::new(),
    })
}

/// Money of `currency` as a report cell.
fn money_of(currency: &str) -> impl Fn(rust_decimal::Decimal) -> Option<String> {
    let scale = reckon_engine::money::minor_units(currency).unwrap_or(2);
    move |d| Some(pad(&d.round_dp(scale).to_string(), scale))
}

fn cols(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn summary(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let as_of = date_arg("as_of", &q.as_of)?;
    let (accounts, currency) = scope(engine, q)?;
    let money = money_of(&currency);
    let date = |d: Option<chrono::NaiveDate>| d.map(|d| d.to_string());
    let mut rows = Vec::new();
    for a in &accounts {
        if engine.account(a)?.is_none_or(|x| x.currency != currency) {
            continue;
        }
        let s = engine.account_summary(a, as_of)?;
        rows.push(vec![
            Some(s.account.clone()),
            Some(currency.clone()),
            money(s.invoice_balance),
            money(s.unapplied_credit),
            money(s.overdue_amount),
            money(s.unbilled_amount),
            money(s.billed_amount),
            money(s.annual_recurring_billing),
            date(s.next_invoice_date),
            date(s.last_invoice_through),
            date(s.last_invoice_date),
        ]);
    }
    Ok(Report {
        report: "account_billing_summary".into(),
        as_of: q.as_of.clone(),
        from: None,
        to: None,
        columns: cols(&[
            "account",
            "currency",
            "invoice_balance",
            "unapplied_credit",
            "overdue_amount",
            "unbilled_amount",
            "billed_amount",
            "annual_recurring_billing",
            "next_invoice_date",
            "last_invoice_through",
            "last_invoice_date",
        ]),
        rows,
        totals: Vec::new(),
    })
}

fn opt_date(field: &str, v: &Option<String>) -> Result<Option<chrono::NaiveDate>, EngineError> {
    v.as_ref().map(|_| date_arg(field, v)).transpose()
}

/// The dashboard as rows `[metric, rank, key, count, amount]` (05 §8).
fn dashboard(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let as_of = date_arg("as_of", &q.as_of)?;
    let (accounts, currency) = scope(engine, q)?;
    let d = engine.billing_dashboard(&accounts, &currency, opt_date("from", &q.from)?, as_of)?;
    let money = money_of(&currency);
    let mut rows = Vec::new();
    let mut ranked = |metric: &str, v: &[reckon_engine::receivables::dashboard::Ranked]| {
        for (i, r) in v.iter().enumerate() {
            rows.push(vec![
                Some(metric.to_string()),
                Some((i + 1).to_string()),
                Some(r.key.clone()),
                None,
                money(r.amount),
            ]);
        }
    };
    ranked("top_invoiced_accounts", &d.top_invoiced_accounts);
    ranked("top_outstanding_invoices", &d.top_outstanding_invoices);
    ranked(
        "top_pending_billing_accounts",
        &d.top_pending_billing_accounts,
    );
    ranked("top_outstanding_accounts", &d.top_outstanding_accounts);
    let tally = |metric: &str, key: &str, t: &reckon_engine::receivables::dashboard::Tally| {
        vec![
            Some(metric.to_string()),
            None,
            Some(key.to_string()),
            Some(t.count.to_string()),
            money(t.amount),
        ]
    };
    for (status, t) in &d.schedule_status {
        rows.push(tally("schedule_status", status, t));
    }
    rows.push(tally("paid_vs_unpaid", "paid", &d.paid));
    rows.push(tally("paid_vs_unpaid", "unpaid", &d.unpaid));
    rows.push(tally("approved_vs_draft", "approved", &d.approved));
    rows.push(tally("approved_vs_draft", "draft", &d.draft));
    rows.push(vec![
        Some("dso".into()),
        None,
        None,
        None,
        d.dso.map(|x| pad(&x.to_string(), 2)),
    ]);
    Ok(Report {
        report: "billing_dashboard".into(),
        as_of: q.as_of.clone(),
        from: Some(d.from.to_string()),
        to: Some(d.as_of.to_string()),
        columns: cols(&["metric", "rank", "key", "count", "amount"]),
        rows,
        totals: Vec::new(),
    })
}

fn paid_vs_unpaid(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let as_of = date_arg("as_of", &q.as_of)?;
    let (accounts, currency) = scope(engine, q)?;
    let d = engine.billing_dashboard(&accounts, &currency, opt_date("from", &q.from)?, as_of)?;
    let money = money_of(&currency);
    let row = |k: &str, t: &reckon_engine::receivables::dashboard::Tally| {
        vec![
            Some(k.to_string()),
            Some(currency.clone()),
            Some(t.count.to_string()),
            money(t.amount),
        ]
    };
    Ok(Report {
        report: "paid_vs_unpaid".into(),
        as_of: q.as_of.clone(),
        from: None,
        to: None,
        columns: cols(&["status", "currency", "count", "total"]),
        rows: vec![row("paid", &d.paid), row("unpaid", &d.unpaid)],
        totals: Vec::new(),
    })
}

fn metrics(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let from = date_arg("from", &q.from)?;
    let to = date_arg("to", &q.to)?;
    let (accounts, currency) = scope(engine, q)?;
    let money = money_of(&currency);
    let rows = engine
        .billing_metrics(&accounts, &currency, from, to)?
        .into_iter()
        .map(|m| {
            vec![
                Some(m.month),
                Some(currency.clone()),
                money(m.invoiced),
                money(m.credited),
                money(m.net_sales),
                money(m.collected),
                money(m.refunded),
                money(m.written_off),
                money(m.late_fees),
                money(m.wallet_funded),
                money(m.wallet_drawn),
                money(m.ending_ar),
                money(m.unapplied),
                m.dso.map(|x| pad(&x.to_string(), 2)),
            ]
        })
        .collect();
    Ok(Report {
        report: "billing_metrics".into(),
        as_of: None,
        from: q.from.clone(),
        to: q.to.clone(),
        columns: cols(&[
            "month",
            "currency",
            "invoiced",
            "credited",
            "net_sales",
            "collected",
            "refunded",
            "written_off",
            "late_fees",
            "wallet_funded",
            "wallet_drawn",
            "ending_ar",
            "unapplied",
            "dso",
        ]),
        rows,
        totals: Vec::new(),
    })
}

fn grouped(engine: &Engine, name: &str, q: &ReportQuery) -> Result<Report, EngineError> {
    let (accounts, currency) = scope(engine, q)?;
    let by = q.by.clone().unwrap_or_else(|| "account".into());
    if !["account", "location", "country", "product", "price_type"].contains(&by.as_str()) {
        return Err(bad(
            "by",
            format!("`{by}` is not account, location, country, product or price_type"),
        ));
    }
    let period = || -> Result<(chrono::NaiveDate, chrono::NaiveDate), EngineError> {
        Ok((date_arg("from", &q.from)?, date_arg("to", &q.to)?))
    };
    let (key, groups) = match name {
        "invoiced_by" => {
            let (f, t) = period()?;
            (
                by.clone(),
                engine.invoiced_by(&accounts, &currency, &by, f, t)?,
            )
        }
        "pending_billing_by" => (
            by.clone(),
            engine.pending_billing_by(&accounts, &currency, &by)?,
        ),
        "tax_by_account" => {
            let (f, t) = period()?;
            (
                "account".into(),
                engine.tax_by(&accounts, &currency, false, f, t)?,
            )
        }
        _ => {
            let (f, t) = period()?;
            (
                "country_region".into(),
                engine.tax_by(&accounts, &currency, true, f, t)?,
            )
        }
    };
    let money = money_of(&currency);
    let mut total = rust_decimal::Decimal::ZERO;
    let mut count = 0u64;
    let rows = groups
        .iter()
        .map(|g| {
            total += g.amount;
            count += g.count;
            vec![
                Some(g.key.clone()),
                Some(currency.clone()),
                Some(g.count.to_string()),
                money(g.amount),
            ]
        })
        .collect();
    Ok(Report {
        report: name.to_string(),
        as_of: q.as_of.clone(),
        from: q.from.clone(),
        to: q.to.clone(),
        columns: vec![key, "currency".into(), "count".into(), "amount".into()],
        rows,
        totals: vec![
            None,
            Some(currency.clone()),
            Some(count.to_string()),
            money(total),
        ],
    })
}

fn assets(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let (accounts, currency) = scope(engine, q)?;
    let money = money_of(&currency);
    let rows = engine
        .activated_vs_unactivated(&accounts)?
        .into_iter()
        .map(|(a, act, un)| {
            vec![
                Some(a),
                Some(act.count.to_string()),
                money(act.amount),
                Some(un.count.to_string()),
                money(un.amount),
            ]
        })
        .collect();
    Ok(Report {
        report: "activated_vs_unactivated_assets".into(),
        as_of: None,
        from: None,
        to: None,
        columns: cols(&[
            "account",
            "activated_lines",
            "activated_amount",
            "unactivated_lines",
            "unactivated_amount",
        ]),
        rows,
        totals: Vec::new(),
    })
}

/// `12.5` at scale 2 → `12.50`.
fn pad(s: &str, scale: u32) -> String {
    if scale == 0 {
        return s.to_string();
    }
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    format!("{int}.{frac:0<width$}", width = scale as usize)
}

/// One CSV field, RFC 4180: quoted only when it holds `,`, `"`, CR or LF.
fn csv_field(v: &Option<String>) -> String {
    match v {
        None => String::new(),
        Some(s) if s.contains([',', '"', '\n', '\r']) => format!("\"{}\"", s.replace('"', "\"\"")),
        Some(s) => s.clone(),
    }
}

impl Report {
    /// CSV: a header row, `,` separators, `\n` line ends, the totals row last (if any).
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let line = |cells: Vec<String>, out: &mut String| {
            out.push_str(&cells.join(","));
            out.push('\n');
        };
        line(
            self.columns
                .iter()
                .map(|c| csv_field(&Some(c.clone())))
                .collect(),
            &mut out,
        );
        for r in self
            .rows
            .iter()
            .chain((!self.totals.is_empty()).then_some(&self.totals))
        {
            line(r.iter().map(csv_field).collect(), &mut out);
        }
        out
    }

    /// JSON: `{"report", "as_of", "from", "to", "columns", "rows", "totals"}`, money as strings.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

fn waterfall(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let le = q
        .legal_entity
        .as_deref()
        .ok_or_else(|| bad("legal_entity", "give --legal-entity"))?;
    let w = engine.revenue_waterfall(le)?;
    let mut columns = vec!["agreement".to_string(), "currency".to_string()];
    columns.extend(w.periods.iter().cloned());
    columns.push("total".into());
    let mut totals = vec![None, None];
    let mut sums = vec![rust_decimal::Decimal::ZERO; w.periods.len() + 1];
    let rows = w
        .rows
        .iter()
        .map(|r| {
            let scale = reckon_engine::money::minor_units(&r.currency).unwrap_or(2);
            let mut row = vec![Some(r.agreement.clone()), Some(r.currency.clone())];
            for (i, a) in r.amounts.iter().chain([&r.total]).enumerate() {
                sums[i] += *a;
                row.push(Some(pad(&a.round_dp(scale).to_string(), scale)));
            }
            row
        })
        .collect();
    totals.extend(
        sums.iter()
            .map(|d| Some(pad(&d.round_dp(2).to_string(), 2))),
    );
    Ok(Report {
        report: "revenue_waterfall".into(),
        as_of: None,
        from: w.periods.first().cloned(),
        to: w.periods.last().cloned(),
        columns,
        rows,
        totals,
    })
}

/// 06 §10 reconciliation: per agreement of the entity with a summary for the period, billed,
/// recognised and adjustments of the period, opening and closing deferred and unrecognised;
/// totals per column.
fn reconcile(engine: &Engine, q: &ReportQuery) -> Result<Report, EngineError> {
    let le = q
        .legal_entity
        .as_deref()
        .ok_or_else(|| bad("legal_entity", "give --legal-entity"))?;
    let period = q
        .period
        .as_deref()
        .ok_or_else(|| bad("period", "give --period YYYY-MM"))?;
    let columns: Vec<String> = [
        "agreement",
        "currency",
        "billed",
        "recognised",
        "adjustments",
        "opening_deferred",
        "closing_deferred",
        "opening_unrecognised",
        "closing_unrecognised",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    let mut rows = Vec::new();
    let mut sums = [rust_decimal::Decimal::ZERO; 7];
    for ag in engine.entity_agreements(le)? {
        let all = engine.revenue_summaries(&ag.id)?;
        let Some(i) = all.iter().position(|s| s.period == period) else {
            continue;
        };
        let s = &all[i];
        let (od, ou) = i
            .checked_sub(1)
            .map(|j| (all[j].deferred, all[j].unrecognised))
            .unwrap_or_default();
        let figures = [
            s.billed,
            s.recognised,
            s.adjustments,
            od,
            s.deferred,
            ou,
            s.unrecognised,
        ];
        let scale = reckon_engine::money::minor_units(&ag.currency).unwrap_or(2);
        let mut row = vec![Some(ag.id.clone()), Some(ag.currency.clone())];
        for (k, f) in figures.iter().enumerate() {
            sums[k] += *f;
            row.push(Some(pad(&f.round_dp(scale).to_string(), scale)));
        }
        rows.push(row);
    }
    let mut totals = vec![None, None];
    totals.extend(
        sums.iter()
            .map(|d| Some(pad(&d.round_dp(2).to_string(), 2))),
    );
    Ok(Report {
        report: "revenue_reconcile".into(),
        as_of: None,
        from: Some(period.to_string()),
        to: Some(period.to_string()),
        columns,
        rows,
        totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        let r = Report {
            report: "x".into(),
            as_of: None,
            from: None,
            to: None,
            columns: vec!["a".into(), "b".into()],
            rows: vec![
                vec![Some("plain".into()), Some("has, comma".into())],
                vec![None, Some("say \"hi\"".into())],
            ],
            totals: Vec::new(),
        };
        assert_eq!(
            r.to_csv(),
            "a,b\nplain,\"has, comma\"\n,\"say \"\"hi\"\"\"\n"
        );
    }

    #[test]
    fn money_is_padded_to_the_minor_unit() {
        assert_eq!(pad("12.5", 2), "12.50");
        assert_eq!(pad("0", 2), "0.00");
        assert_eq!(pad("7", 0), "7");
    }
}

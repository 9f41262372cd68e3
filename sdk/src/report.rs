//! Reports as CSV and JSON (05 §9): one table shape, written byte-identically for identical data.
//! This version has the invoicing reports `invoice_forecast` (04 §10) and `ar_transactions`; the
//! receivables reports join them with the receivables capability.

use reckon_engine::billing::forecast::{parse_month, status_name, ForecastQuery, STATUSES};
use reckon_engine::{Code, Engine, EngineError};
use serde::Serialize;

/// The reports this version produces.
pub const REPORTS: &[&str] = &[
    "invoice_forecast",
    "ar_transactions",
    "ar_aging",
    "dso",
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

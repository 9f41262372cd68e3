//! The command line, driven in-process through the same function the binary calls.

use reckon_tests::{reckon, root};

#[test]
fn rules_check_reports_every_error_with_file_line_col_and_exits_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("rules.yaml");
    std::fs::write(
        &file,
        "billing_preferences:\n  - name: std\n    default: true\n    proration_period_treatment: separate_periods\nproducts:\n  - code: ACE\n    price_type: recurring\n    colour: blue\n",
    )
    .expect("write");
    let (code, out) = reckon(&["rules", "check", dir.path().to_str().expect("utf-8 path")]);
    assert_eq!(code, 2, "{out}");
    let f = file.display().to_string();
    assert!(out.contains(&format!("{f}:4:33: bad_value: billing_preferences[0].proration_period_treatment: found `separate_periods`, expected one of separate_period, ignore, charge_full, combine_with_first_period")), "{out}");
    assert!(
        out.contains(&format!(
            "{f}:8:5: unknown_key: products[0].colour: found key `colour`"
        )),
        "{out}"
    );
    assert!(out.contains("2 error(s)"), "{out}");
}

#[test]
fn rules_check_accepts_the_demo_company() {
    let (code, out) = reckon(&[
        "rules",
        "check",
        root().join("rules/demo").to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn duplicate_names_across_files_name_both_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("a.yaml"),
        "products:\n  - {code: ACE, price_type: one_time}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b.yaml"),
        "products:\n  - {code: ACE, price_type: one_time}\n",
    )
    .expect("write");
    let (code, out) = reckon(&["rules", "check", dir.path().to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("b.yaml:2:12: duplicate_name") && out.contains("a.yaml:2:12"),
        "{out}"
    );
}

#[test]
fn rules_schema_is_json_schema_of_every_document() {
    let (code, out) = reckon(&["rules", "schema"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
    let props = v["properties"].as_object().expect("properties");
    for doc in [
        "billing_preferences",
        "payment_terms",
        "products",
        "orders",
        "system",
        "callbacks",
        "invoice_runs",
    ] {
        assert!(props.contains_key(doc), "{doc} missing");
    }
    assert_eq!(
        v["properties"]["products"]["items"]["additionalProperties"],
        serde_json::json!(false)
    );
}

#[test]
fn scenario_run_prints_the_contract_lines_and_json() {
    let path = root().join("tests/scenarios/schedules/bs-ex1-ace-arrears-monthly.yaml");
    let (code, out) = reckon(&["scenario", "run", path.to_str().expect("utf-8")]);
    assert_eq!(
        (code, out.as_str()),
        (0, "ok   bs-ex1-ace-arrears-monthly\n1 passed, 0 failed\n")
    );
    let (code, out) = reckon(&[
        "scenario",
        "run",
        "--format",
        "json",
        path.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        (v["passed"].as_u64(), v["failed"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn schedules_command_shows_a_line_as_table_and_json() {
    let rules = root().join("rules/demo");
    let (code, out) = reckon(&[
        "schedules",
        "SO-1001/L3",
        "--rules",
        rules.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    // ONBOARD: one-time, list 1500.00 × 1, on the line start (rules/demo/products.yaml).
    assert_eq!(v[0]["start"], "2026-01-20");
    assert_eq!(v[0]["amount"], "1500.00");
}

#[test]
fn demo_runs_into_a_sled_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let (code, out) = reckon(&["demo", "--store", store.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    // Values from rules/demo: PLATFORM 1200/yr × 10 billed monthly → 1000.00 a month.
    assert!(
        out.contains("SO-1001/L1 PLATFORM: 13 schedules, billable total 12000.00"),
        "{out}"
    );
    // The invoice run FEB-2026 (rules/demo/invoicing.yaml: through 2026-02-12, auto-approved)
    // bills ACME's schedules ready by then: PLATFORM 548.39 + 1000.00, SUPPORT 137.10, ONBOARD
    // 1500.00 = 3185.49. The tax plugin (rules/demo/plugins/sales_tax.rhai: 8.25 % + 1.25 %, each
    // rounded half-up) taxes only PLATFORM: 548.39 → 45.24 + 6.85 = 52.09; 1000.00 → 82.50 + 12.50
    // = 95.00; tax 147.09. Numbered with the legal entity's prefix NW-, due net 30 → 2026-03-14.
    assert!(
        out.contains("invoice NW-000001 ACME (invoice:ACME#1) dated 2026-02-12 due 2026-03-14: subtotal 3185.49, tax 147.09, total 3332.58"),
        "{out}"
    );
    assert!(
        out.contains("tax    52.09  IL State 8.25% 45.24, Springfield City 1.25% 6.85"),
        "{out}"
    );
    // GLOBEX (net_45_eom: end of February + 45 days): SUITE 500.00 and MONITOR 49.00, untaxed.
    assert!(
        out.contains("invoice NW-000002 GLOBEX (invoice:GLOBEX#1) dated 2026-02-12 due 2026-04-14: subtotal 549.00, tax 0.00, total 549.00"),
        "{out}"
    );
    // The month-end close (NW-US through 2026-03) and its waterfall, worked by hand from
    // rules/demo/revenue.yaml (06 §6). The fee amounts are the lines' billable totals (no
    // net_price on the orders). SO-1001: PLATFORM 12000.00 `ratable` over 2026-01-15..2027-01-14
    // (17/31 + 11 + 14/31 = 12 month weights) → January 12000 × (17/31) / 12 = 548.39, then 1000.00
    // a month; SUPPORT 2887.10 over 01-15..12-31 (17/31 + 11 = 358/31) → cum 2887.10 × 17/358 =
    // 137.10, × 48/358 = 387.10, × 79/358 = 637.10, so 137.10, 250.00, 250.00; ONBOARD 1500.00
    // `immediate` in January. January 548.39 + 137.10 + 1500.00 = 2185.49; February and March
    // 1000.00 + 250.00 = 1250.00. SO-1002 (ready 2026-02-03): SUITE 2854.84 over 02-10..07-31
    // (19/28 + 5 = 159/28) → cum 2854.84 × 19/159 = 341.14, × 47/159 = 843.88 (March 502.74);
    // the options are informational (fee 0.00); MONITOR `subscription` recognises what is billed:
    // 49.00 on the February invoice. February 341.14 + 49.00 = 390.14.
    assert!(
        out.contains("month-end close of NW-US through 2026-03; revenue waterfall:"),
        "{out}"
    );
    for (month, acme, globex, total) in [
        ("2026-01 actual   ", "2185.49", "0.00", "2185.49"),
        ("2026-02 actual   ", "1250.00", "390.14", "1640.14"),
        ("2026-03 actual   ", "1250.00", "502.74", "1752.74"),
        ("2026-04 projected", "1250.00", "502.74", "1752.74"),
    ] {
        let row = format!("  {month} {acme:>20} {globex:>20} {total:>12}");
        assert!(out.contains(&row), "missing `{row}` in {out}");
    }
    // Totals: SO-1001 12000.00 + 2887.10 + 1500.00 = 16387.10; SO-1002 2854.84 + 49.00 = 2903.84.
    assert!(
        out.contains(&format!(
            "  {:<17} {:>20} {:>20} {:>12}",
            "total", "16387.10", "2903.84", "19290.94"
        )),
        "{out}"
    );
    // The store is durable: reopen and read the same schedules.
    let r = reckon_sdk::Reckon::open(&store).expect("reopen");
    assert_eq!(r.schedules("SO-1001/L1").expect("read").len(), 13);
}

#[test]
fn demo_writes_the_approved_invoices_as_pdf_and_html() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let (code, out) = reckon(&["demo", "--store", store.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    let docs = dir.path().join("documents");
    // FEB-2026 approves two invoices (ACME NW-000001, GLOBEX NW-000002), each written as PDF and
    // HTML, named {number}_{template}_{date} (04 §7), every path printed.
    let mut pdfs = Vec::new();
    for entry in std::fs::read_dir(&docs).expect("documents folder") {
        let path = entry.expect("entry").path();
        assert!(
            out.contains(&format!("wrote {}", path.display())),
            "{} not printed:\n{out}",
            path.display()
        );
        if path.extension().is_some_and(|e| e == "pdf") {
            let bytes = std::fs::read(&path).expect("read");
            assert!(bytes.starts_with(b"%PDF-1.7"), "{}", path.display());
            pdfs.push(path);
        }
    }
    assert!(pdfs.len() >= 2, "{pdfs:?}");
    let acme = docs.join("NW-000001_default_invoice_2026-02-12.pdf");
    assert!(pdfs.contains(&acme), "{pdfs:?}");
    assert!(docs
        .join("NW-000002_default_invoice_2026-02-12.html")
        .is_file());
    // The text is extractable: the number and the total 3,332.58 (subtotal 3185.49 + tax 147.09,
    // see demo_runs_into_a_sled_store).
    if let Ok(text) = std::process::Command::new("pdftotext")
        .arg(&acme)
        .arg("-")
        .output()
    {
        if text.status.success() {
            let text = String::from_utf8_lossy(&text.stdout);
            assert!(text.contains("NW-000001"), "{text}");
            assert!(text.contains("3,332.58"), "{text}");
        }
    }
    // Rendering is deterministic: two renders of the same invoice are the same bytes. (The demo's
    // file was rendered before its payment run, so it shows the invoice as issued; a render now
    // also shows the payment.)
    let mut r = reckon_sdk::Reckon::open(&store).expect("reopen");
    r.load_rules(&dir.path().join("demo-rules"))
        .expect("demo rules");
    let (name, first) = r
        .render("invoice:ACME#1", reckon_sdk::Format::Pdf)
        .expect("render");
    let (_, second) = r
        .render("invoice:ACME#1", reckon_sdk::Format::Pdf)
        .expect("render");
    assert_eq!(name, "NW-000001_default_invoice_2026-02-12.pdf");
    assert!(first == second, "two renders differ");
    let issued = std::fs::read(&acme).expect("read");
    assert!(issued.starts_with(b"%PDF-"), "the demo's file is a PDF");
    assert!(
        first != issued,
        "the render after the payment run shows the payment"
    );
}

#[test]
fn rules_check_loads_plugins_and_reports_load_errors_at_the_yaml_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("num.rhai"),
        "fn number_invoice(r) { r.prefix + zero_pad(r.sequence, 6) }",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("bad.rhai"),
        "fn number_invoice(r) { eval(\"1\") }",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("rules.yaml"),
        "callbacks:\n  tax: {wasm: missing.wasm}\n  plugins:\n    yearly: {rhai: num.rhai}\n    broken: {rhai: bad.rhai}\n    idle: {rhai: num.rhai}\nnumbering:\n  - {document: invoice, callback: yearly}\n  - {document: credit_memo, callback: broken}\n",
    )
    .expect("write");
    let (code, out) = reckon(&["rules", "check", dir.path().to_str().expect("utf-8")]);
    assert_eq!(code, 2, "{out}");
    let f = dir.path().join("rules.yaml").display().to_string();
    assert!(
        out.contains(&format!("{f}:2:9: not_found: callbacks.tax.wasm")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{f}:5:14: invalid_script: callbacks.plugins.broken.rhai"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "{f}:6:5: unreferenced_callback: callbacks.plugins.idle"
        )),
        "{out}"
    );
    assert!(
        !out.contains("plugins.yearly"),
        "a good plugin is not an error: {out}"
    );
    assert!(out.contains("3 error(s)"), "{out}");
}

#[test]
fn reports_give_the_demo_forecast_and_ledger_as_csv_and_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let (code, out) = reckon(&["demo", "--store", store.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    let s = store.to_str().expect("utf-8");
    // ACME's contracted schedules by month of ready (rules/demo; see demo_runs_into_a_sled_store):
    // January PLATFORM 548.39 (ready 01-15) + ONBOARD 1500.00 (01-20) = 2048.39, invoiced;
    // February PLATFORM 1000.00 + SUPPORT 137.10 (ready 02-06, 6 days after its period) =
    // 1137.10, invoiced; March PLATFORM 1000.00, still pending. Totals 5 schedules, 4185.49.
    let (code, csv) = reckon(&[
        "report",
        "invoice_forecast",
        "--store",
        s,
        "--account",
        "ACME",
        "--from",
        "2026-01",
        "--to",
        "2026-03",
    ]);
    assert_eq!(code, 0, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "month,currency,pending_billing_count,pending_billing,pending_invoiced_count,pending_invoiced,invoiced_count,invoiced,pending_milestone_count,pending_milestone,superseded_count,superseded,cancelled_count,cancelled,count,total");
    assert_eq!(
        lines[1],
        "2026-01,USD,0,0.00,0,0.00,2,2048.39,0,0.00,0,0.00,0,0.00,2,2048.39"
    );
    assert_eq!(
        lines[2],
        "2026-02,USD,0,0.00,0,0.00,2,1137.10,0,0.00,0,0.00,0,0.00,2,1137.10"
    );
    assert_eq!(
        lines[3],
        "2026-03,USD,1,1000.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,1,1000.00"
    );
    assert_eq!(
        lines[4],
        ",USD,1,1000.00,0,0.00,4,3185.49,0,0.00,0,0.00,0,0.00,5,4185.49"
    );
    assert_eq!(lines.len(), 5);
    // The approval of NW-000001 (3332.58, dated and approved 2026-02-12), then the demo's payment
    // of 2000.00 on 2026-03-20 (demo::DEMO_PAYMENTS) and its application to NW-000001.
    let (code, json) = reckon(&[
        "report",
        "ar_transactions",
        "--store",
        s,
        "--account",
        "ACME",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["report"], "ar_transactions");
    assert_eq!(v["rows"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["rows"][0][1], "invoice");
    assert_eq!(v["rows"][0][4], "3332.58");
    assert_eq!(v["rows"][0][8], "invoice:ACME#1");
    assert_eq!(v["rows"][1][1], "payment");
    assert_eq!(v["rows"][1][4], "2000.00");
    assert_eq!(v["rows"][2][1], "payment_application");
    assert_eq!(v["rows"][2][6], "2026-03-20");
    assert_eq!(v["rows"][2][9], "3332.58");
    assert_eq!(v["rows"][2][10], "1332.58");
    let (code, out) = reckon(&["report", "no_such_report", "--store", s]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("unknown_report"), "{out}");
}

#[test]
fn aging_and_dso_reports_over_the_demo_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let (code, out) = reckon(&["demo", "--store", store.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    let s = store.to_str().expect("utf-8");
    // As of 2026-04-30: ACME's NW-000001 (3332.58, due 2026-03-14, 2000.00 paid on 2026-03-20)
    // is 47 days past due → 31-60 with 1332.58; GLOBEX paid NW-000002 (549.00) in full on
    // 2026-03-10, so it has nothing open (demo::DEMO_PAYMENTS; see demo_runs_into_a_sled_store).
    let (code, csv) = reckon(&[
        "report",
        "ar_aging",
        "--store",
        s,
        "--as-of",
        "2026-04-30",
        "--detail",
    ]);
    assert_eq!(code, 0, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "account,invoice,days,currency,current,1-30,31-60,61-90,91-120,120+,unapplied,total"
    );
    assert_eq!(
        lines[1],
        "ACME,,,USD,0.00,0.00,1332.58,0.00,0.00,0.00,0.00,1332.58"
    );
    assert_eq!(
        lines[2],
        "ACME,invoice:ACME#1,47,USD,0.00,0.00,1332.58,0.00,0.00,0.00,0.00,1332.58"
    );
    assert_eq!(
        lines[3],
        ",,,USD,0.00,0.00,1332.58,0.00,0.00,0.00,0.00,1332.58"
    );
    assert_eq!(lines.len(), 4);
    // February 2026: every sale (3332.58 + 549.00) is still open, so DSO = the 28 days.
    let (code, csv) = reckon(&[
        "report",
        "dso",
        "--store",
        s,
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
    ]);
    assert_eq!(code, 0, "{csv}");
    assert_eq!(
        csv.lines().nth(1),
        Some("2026-02-01,2026-02-28,USD,standard,28.00")
    );
}

#[test]
fn dashboard_metrics_and_grouped_reports_over_the_demo_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let (code, out) = reckon(&["demo", "--store", store.to_str().expect("utf-8")]);
    assert_eq!(code, 0, "{out}");
    let s = store.to_str().expect("utf-8");
    // As of 2026-04-30 (demo::DEMO_PAYMENTS): GLOBEX's NW-000002 (549.00) is paid, ACME's
    // NW-000001 (3332.58) is not (1332.58 open).
    let (code, csv) = reckon(&[
        "report",
        "paid_vs_unpaid",
        "--store",
        s,
        "--as-of",
        "2026-04-30",
    ]);
    assert_eq!(code, 0, "{csv}");
    assert_eq!(
        csv,
        "status,currency,count,total\npaid,USD,1,549.00\nunpaid,USD,1,3332.58\n"
    );
    // February: both invoices dated 02-12 (3881.58), nothing collected, DSO = all 28 days
    // (05 §6: every sale still open). March: no sales (DSO null), 549.00 + 2000.00 collected,
    // 1332.58 open at the month end.
    let (code, csv) = reckon(&[
        "report",
        "billing_metrics",
        "--store",
        s,
        "--from",
        "2026-02-01",
        "--to",
        "2026-03-31",
    ]);
    assert_eq!(code, 0, "{csv}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "month,currency,invoiced,credited,net_sales,collected,refunded,written_off,late_fees,wallet_funded,wallet_drawn,ending_ar,unapplied,dso");
    assert_eq!(
        lines[1],
        "2026-02,USD,3881.58,0.00,3881.58,0.00,0.00,0.00,0.00,0.00,0.00,3881.58,0.00,28.00"
    );
    assert_eq!(
        lines[2],
        "2026-03,USD,0.00,0.00,0.00,2549.00,0.00,0.00,0.00,0.00,0.00,1332.58,0.00,"
    );
    // The dashboard's outstanding invoices and accounts are ACME's 1332.58 alone.
    let (code, json) = reckon(&[
        "report",
        "billing_dashboard",
        "--store",
        s,
        "--as-of",
        "2026-04-30",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    let rows = v["rows"].as_array().expect("rows");
    let of = |metric: &str| -> Vec<&serde_json::Value> {
        rows.iter().filter(|r| r[0] == metric).collect()
    };
    let outstanding = of("top_outstanding_invoices");
    assert_eq!(outstanding.len(), 1, "{json}");
    assert_eq!(outstanding[0][2], "invoice:ACME#1");
    assert_eq!(outstanding[0][4], "1332.58");
    let invoiced = of("top_invoiced_accounts");
    assert_eq!(invoiced[0][2], "ACME");
    assert_eq!(invoiced[0][4], "3332.58");
    assert_eq!(invoiced[1][2], "GLOBEX");
    assert_eq!(invoiced[1][4], "549.00");
    // Invoiced by account over February: the same two invoices; the totals row sums them.
    let (code, csv) = reckon(&[
        "report",
        "invoiced_by",
        "--store",
        s,
        "--by",
        "account",
        "--from",
        "2026-02-01",
        "--to",
        "2026-02-28",
    ]);
    assert_eq!(code, 0, "{csv}");
    assert_eq!(
        csv,
        "account,currency,count,amount\nACME,USD,1,3332.58\nGLOBEX,USD,1,549.00\n,USD,2,3881.58\n"
    );
    let (code, out) = reckon(&[
        "report",
        "paid_vs_unpaid",
        "--store",
        s,
        "--as-of",
        "2026-04-30",
        "--format",
        "xml",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad_format"), "{out}");
    let (code, out) = reckon(&[
        "report",
        "billing_metrics",
        "--store",
        s,
        "--from",
        "2026-03-01",
        "--to",
        "2026-02-01",
    ]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("bad_period"), "{out}");
}

//! Durability and atomicity of activation: all-or-nothing, durable on return, and intact after
//! the process is killed at random moments.

use chrono::NaiveDate;
use reckon_engine::model::{Account, Order};
use reckon_sdk::Reckon;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RULES: &str = "products:\n  - {code: P, price_type: recurring, list_price: \"10.00\", selling_frequency: monthly, billing_frequency: monthly}\n";

fn account() -> Account {
    serde_yaml::from_str("{id: A, currency: USD}").expect("account")
}

fn order(i: usize, product: &str) -> Order {
    serde_yaml::from_str(&format!(
        "{{id: O-{i}, account: A, order_date: 2026-01-01, lines: [{{id: L1, product: P, start: 2026-01-01, end: 2026-12-31}}, {{id: L2, product: {product}, start: 2026-01-01, end: 2026-12-31}}]}}"
    ))
    .expect("order")
}

fn day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 1).expect("valid")
}

/// Start this test binary as a child running the ignored test `name` on `store`; the thread
/// collects what it acknowledges (`ACK …` lines) until its stdout closes.
fn spawn_child(
    exe: &std::path::Path,
    name: &str,
    store: &std::path::Path,
) -> (std::process::Child, std::thread::JoinHandle<Vec<String>>) {
    let mut child = Command::new(exe)
        .args([
            "--exact",
            name,
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env("RECKON_KILL_STORE", store)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped");
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            // The harness prints `test … ` before the child's first line, on that line.
            .filter_map(|l| l.split_once("ACK ").map(|(_, m)| m.to_string()))
            .collect::<Vec<_>>()
    });
    (child, reader)
}

/// The files of a store folder (for a failed reopen's message).
fn store_files(store: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(store)
        .map(|d| {
            d.flatten()
                .map(|f| f.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_refused_activation_writes_nothing_and_can_be_fixed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Reckon::open(dir.path()).expect("open");
    r.load_rules_str("rules.yaml", RULES).expect("rules");
    r.upsert_account(account()).expect("account");
    r.submit_order(order(1, "MISSING")).expect("submit");
    let err = r
        .activate("O-1", day())
        .expect_err("L2's product is unknown");
    assert_eq!(
        err.to_string(),
        "unknown_product: O-1/L2: product: no product `MISSING`"
    );
    assert!(
        r.schedules("O-1/L1").expect("read").is_empty(),
        "L1 must not be half-written"
    );
    assert_eq!(
        r.engine()
            .order("O-1")
            .expect("read")
            .expect("order")
            .activated_on,
        None
    );
    r.submit_order(order(1, "P")).expect("resubmit");
    r.activate("O-1", day()).expect("now it activates");
    assert_eq!(r.schedules("O-1/L2").expect("read").len(), 12);
    let err = r.activate("O-1", day()).expect_err("twice");
    assert!(err.to_string().starts_with("already_active"), "{err}");
}

/// Child half of the kill test: activates orders into the store named by the environment,
/// printing each order id once its activation has returned (and so is durable).
#[test]
#[ignore = "run by kill_during_activation_loses_nothing_acknowledged as a child process"]
fn child_activator() {
    let Ok(dir) = std::env::var("RECKON_KILL_STORE") else {
        return;
    };
    let mut r = Reckon::open(std::path::Path::new(&dir)).expect("open");
    r.load_rules_str("rules.yaml", RULES).expect("rules");
    r.upsert_account(account()).expect("account");
    let stdout = std::io::stdout();
    for i in 0..100_000 {
        let id = format!("O-{i}");
        if r.engine()
            .order(&id)
            .expect("read")
            .is_some_and(|o| o.activated_on.is_some())
        {
            continue;
        }
        r.submit_order(order(i, "P")).expect("submit");
        r.activate(&id, day()).expect("activate");
        let mut out = stdout.lock();
        writeln!(out, "ACK {id}").expect("stdout");
        out.flush().expect("flush");
    }
}

#[test]
fn kill_during_activation_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("store");
    let exe = std::env::current_exe().expect("test binary");
    let mut acked: Vec<String> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for cycle in 0..40 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (mut child, reader) = spawn_child(&exe, "durability::child_activator", &store);
        let wait = Duration::from_millis(20 + seed % 180);
        let t0 = Instant::now();
        while t0.elapsed() < wait {
            std::thread::sleep(Duration::from_millis(5));
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        acked.extend(reader.join().expect("reader"));
        // Reopen: every acknowledged order is complete; every order is all or nothing.
        let r = Reckon::open(&store).unwrap_or_else(|e| {
            panic!(
                "cycle {cycle} (seed {seed}): reopen failed: {e}; store files: {:?}",
                store_files(&store)
            )
        });
        for id in &acked {
            let o = r
                .engine()
                .order(id)
                .expect("read")
                .unwrap_or_else(|| panic!("acknowledged {id} lost"));
            assert!(o.activated_on.is_some(), "acknowledged {id} not active");
        }
        let mut i = 0;
        while let Some(o) = r.engine().order(&format!("O-{i}")).expect("read") {
            for line in ["L1", "L2"] {
                let n = r.schedules(&format!("O-{i}/{line}")).expect("read").len();
                let expected = if o.activated_on.is_some() { 12 } else { 0 };
                assert_eq!(n, expected, "cycle {cycle}: O-{i}/{line} half-written");
            }
            i += 1;
        }
    }
    assert!(
        !acked.is_empty(),
        "the child acknowledged nothing in 40 cycles"
    );
}

#[test]
fn group_activation_keeps_each_order_all_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = Reckon::open(dir.path()).expect("open");
    r.load_rules_str("rules.yaml", RULES).expect("rules");
    r.upsert_account(account()).expect("account");
    r.submit_order(order(1, "P")).expect("submit");
    r.submit_order(order(2, "MISSING")).expect("submit");
    r.submit_order(order(3, "P")).expect("submit");
    let results = r
        .engine()
        .activate_all(&["O-1", "O-2", "O-3", "O-1"], day())
        .expect("group commit");
    let codes: Vec<&str> = results
        .iter()
        .map(|x| x.as_ref().map(|_| "ok").unwrap_or_else(|e| e.code()))
        .collect();
    assert_eq!(codes, vec!["ok", "unknown_product", "ok", "already_active"]);
    drop(r);
    let r = Reckon::open(dir.path()).expect("reopen");
    for (line, n) in [("O-1/L2", 12), ("O-2/L1", 0), ("O-2/L2", 0), ("O-3/L1", 12)] {
        assert_eq!(r.schedules(line).expect("read").len(), n, "{line}");
    }
}

const BILLING_RULES: &str = "system: {batch_size: 7}\nproducts:\n  - {code: P, price_type: recurring, list_price: \"10.00\", selling_frequency: monthly, billing_frequency: monthly, billing_rule: advance}\n";
const BOOK: usize = 150;

fn month_end(m: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026 + (m / 12) as i32, m % 12 + 1, 1)
        .and_then(|d| d.pred_opt())
        .expect("valid")
}

/// Child half of the invoice-run kill test: twelve monthly runs (auto-approved, so numbered) over
/// the book in the store named by the environment, printing each run's name once it returned.
/// A run already on record returns its stored execution, so a restarted child resumes.
#[test]
#[ignore = "run by kill_during_invoice_runs_bills_once_and_numbers_without_gaps as a child process"]
fn child_invoicer() {
    let Ok(dir) = std::env::var("RECKON_KILL_STORE") else {
        return;
    };
    let mut r = Reckon::open(std::path::Path::new(&dir)).expect("open");
    r.load_rules_str("rules.yaml", BILLING_RULES)
        .expect("rules");
    let stdout = std::io::stdout();
    for m in 1..=12u32 {
        let step: serde_yaml::Value = serde_yaml::from_str(&format!(
            "{{name: M{m}, process_through: {}, invoice_date: {}, auto_approve: true}}",
            month_end(m),
            month_end(m)
        ))
        .expect("step");
        r.engine()
            .invoice_run_step(&step, month_end(m))
            .expect("run");
        let mut out = stdout.lock();
        writeln!(out, "ACK M{m}").expect("stdout");
        out.flush().expect("flush");
    }
}

/// Every schedule is on at most one live document, its status matches, approved invoice numbers
/// are exactly INV-000001…N, and every acknowledged run billed everything ready by its date.
fn check_billing(r: &Reckon, acked: &[String], context: &str) {
    use reckon_engine::billing::{DocStatus, DocType};
    use reckon_engine::ScheduleStatus;
    let mut billed = std::collections::BTreeMap::new();
    let mut numbers = std::collections::BTreeSet::new();
    for a in 0..BOOK {
        for d in r
            .engine()
            .documents(DocType::Invoice, &format!("ACC-{a:03}"))
            .expect("documents")
        {
            assert_eq!(
                d.status,
                DocStatus::Approved,
                "{context}: {} not approved",
                d.reference()
            );
            let n: u64 = d
                .number
                .as_deref()
                .and_then(|n| n.strip_prefix("INV-"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{context}: {} has no number", d.reference()));
            assert!(numbers.insert(n), "{context}: number {n} issued twice");
            for l in &d.lines {
                let s = l.schedule.clone().expect("schedule line");
                assert!(
                    billed.insert(s.clone(), d.reference()).is_none(),
                    "{context}: {s} billed twice"
                );
            }
        }
    }
    let expected: std::collections::BTreeSet<u64> = (1..=numbers.len() as u64).collect();
    assert_eq!(numbers, expected, "{context}: invoice numbers have a gap");
    let through = acked
        .iter()
        .filter_map(|m| m.strip_prefix('M').and_then(|m| m.parse::<u32>().ok()))
        .max()
        .map(month_end);
    for a in 0..BOOK {
        for s in r.schedules(&format!("O-{a}/L1")).expect("schedules") {
            match billed.get(&s.id) {
                Some(doc) => {
                    assert_eq!(s.status, ScheduleStatus::Invoiced, "{context}: {}", s.id);
                    assert_eq!(s.invoice.as_ref(), Some(doc), "{context}: {}", s.id);
                }
                None => {
                    assert_eq!(
                        s.status,
                        ScheduleStatus::PendingBilling,
                        "{context}: {}",
                        s.id
                    );
                    assert!(
                        through.is_none_or(|t| s.ready > t),
                        "{context}: {} ready {} not billed by an acknowledged run",
                        s.id,
                        s.ready
                    );
                }
            }
        }
    }
    for m in acked {
        assert_eq!(
            r.engine().run_executions(m).expect("executions").len(),
            1,
            "{context}: acknowledged run {m} has no execution on record"
        );
    }
}

/// A fresh store with the book: BOOK accounts, one monthly line each for 2026.
fn invoicing_book(store: &std::path::Path) {
    {
        let mut r = Reckon::open(store).expect("open");
        r.load_rules_str("rules.yaml", BILLING_RULES)
            .expect("rules");
        let mut ids = Vec::new();
        for a in 0..BOOK {
            let acct: Account = serde_yaml::from_str(&format!("{{id: ACC-{a:03}, currency: USD}}"))
                .expect("account");
            r.upsert_account(acct).expect("account");
            let o: Order = serde_yaml::from_str(&format!(
                "{{id: O-{a}, account: ACC-{a:03}, order_date: 2026-01-01, lines: [{{id: L1, product: P, start: 2026-01-01, end: 2026-12-31}}]}}"
            ))
            .expect("order");
            r.submit_order(o).expect("submit");
            ids.push(format!("O-{a}"));
        }
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        for res in r.engine().activate_all(&refs, day()).expect("activate") {
            res.expect("activated");
        }
    }
}

#[test]
fn kill_during_invoice_runs_bills_once_and_numbers_without_gaps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut kills = 0;
    let mut rounds = 0;
    let mut acked: Vec<String> = Vec::new();
    let mut store = dir.path().join("store-0");
    invoicing_book(&store);
    // Hundreds of kills: a round ends when the child finishes its twelve runs; the next round
    // starts on a fresh book.
    for cycle in 0..1_000 {
        if kills >= 200 {
            break;
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let (mut child, reader) = spawn_child(&exe, "durability::child_invoicer", &store);
        let wait = Duration::from_millis(30 + seed % 400);
        let t0 = Instant::now();
        let mut finished = false;
        while t0.elapsed() < wait {
            if child.try_wait().expect("poll").is_some() {
                finished = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        if !finished {
            child.kill().expect("kill -9");
            kills += 1;
        }
        child.wait().expect("reap");
        for m in reader.join().expect("reader") {
            if !acked.contains(&m) {
                acked.push(m);
            }
        }
        let r = Reckon::open(&store).unwrap_or_else(|e| {
            panic!(
                "cycle {cycle} (seed {seed}): reopen failed: {e}; store files: {:?}",
                store_files(&store)
            )
        });
        check_billing(&r, &acked, &format!("cycle {cycle} (seed {seed})"));
        if finished {
            assert_eq!(
                acked.len(),
                12,
                "a finished child acknowledges all twelve runs"
            );
            rounds += 1;
            acked.clear();
            store = dir.path().join(format!("store-{rounds}"));
            invoicing_book(&store);
        }
    }
    eprintln!("invoice-run kill test: {kills} kills over {rounds} completed rounds");
    assert!(kills >= 200, "only {kills} kills");
    assert!(rounds > 0, "no round ever completed");
}

//! E-mail delivery end to end (04 §11.3): the SDK's SMTP transport against a tiny SMTP server
//! on 127.0.0.1 that refuses the first message with 451 and accepts the second with 250; the
//! engine's outbox retries after the backoff and the delivered message carries the stored PDF.

use chrono::{Duration, NaiveDate};
use reckon_sdk::engine::billing::outbox::OutboxStatus;
use reckon_sdk::mail::SmtpTransport;
use reckon_sdk::Reckon;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// What the server saw: one entry per connection, the message data when one was sent.
type Seen = Arc<Mutex<Vec<String>>>;

/// Serve `replies.len()` connections; connection `i` answers the end of DATA with `replies[i]`.
fn smtp_server(replies: Vec<&'static str>) -> (u16, Seen, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let handle = std::thread::spawn(move || {
        for reply in replies {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let data = session(stream, reply).unwrap_or_default();
            log.lock().expect("log").push(data);
        }
    });
    (port, seen, handle)
}

fn session(stream: TcpStream, reply: &str) -> std::io::Result<String> {
    stream.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    out.write_all(b"220 127.0.0.1 ESMTP reckon-test\r\n")?;
    let mut data = String::new();
    loop {
        let mut line = String::new();
        if input.read_line(&mut line)? == 0 {
            return Ok(data);
        }
        let verb = line.trim_end().to_ascii_uppercase();
        if verb.starts_with("EHLO") || verb.starts_with("HELO") {
            out.write_all(b"250-127.0.0.1\r\n250 8BITMIME\r\n")?;
        } else if verb.starts_with("MAIL") || verb.starts_with("RCPT") || verb.starts_with("RSET") {
            out.write_all(b"250 OK\r\n")?;
        } else if verb == "DATA" {
            out.write_all(b"354 go ahead\r\n")?;
            loop {
                let mut l = String::new();
                if input.read_line(&mut l)? == 0 {
                    return Ok(data);
                }
                if l == ".\r\n" {
                    break;
                }
                data.push_str(&l);
            }
            out.write_all(format!("{reply}\r\n").as_bytes())?;
        } else if verb == "QUIT" {
            out.write_all(b"221 bye\r\n")?;
            return Ok(data);
        } else {
            out.write_all(b"502 not implemented\r\n")?;
        }
    }
}

fn rules(port: u16) -> String {
    format!(
        "
system:
  email: {{smtp_host: 127.0.0.1, smtp_port: {port}, security: none, from: billing@seller.test, retry_minutes: [1]}}
payment_terms:
  - {{name: net_30, label: Net 30, default: true, offset: {{days: 30}}}}
products:
  - {{code: SETUP, name: Setup fee, price_type: one_time, selling_frequency: one_time, billing_frequency: one_time, billing_rule: advance}}
legal_entities:
  - {{id: LE, name: Seller Ltd, currency: USD}}
accounts:
  - {{id: ACME, name: Acme Corp, currency: USD, legal_entity: LE, billing_contacts: [ap@acme.test]}}
orders:
  - {{id: O-1, account: ACME, order_date: 2016-06-01, lines: [{{id: L1, product: SETUP, net_price: '250.00', start: 2016-06-01}}]}}
"
    )
}

fn world(port: u16) -> Reckon {
    let mut r = Reckon::in_memory();
    r.load_rules_str("rules.yaml", &rules(port)).expect("rules");
    r.load_rule_data().expect("records");
    let on = NaiveDate::from_ymd_opt(2016, 6, 1).expect("date");
    r.activate("O-1", on).expect("activate");
    let run: serde_yaml::Value = serde_yaml::from_str(
        "{name: JUNE, process_through: 2016-06-01, invoice_date: 2016-06-01, auto_approve: true}",
    )
    .expect("run");
    r.invoice_run(&run, on).expect("run");
    r
}

/// Standard base64 (RFC 4648) of `bytes`, as lettre encodes attachments (before line folding).
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn smtp_delivery_retries_a_451_and_delivers_the_pdf() {
    let (port, seen, server) = smtp_server(vec!["451 4.3.0 try again later", "250 2.0.0 queued"]);
    let r = world(port);
    let now = NaiveDate::from_ymd_opt(2016, 6, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("time");
    let entry = r.send("invoice:ACME#1", now).expect("send");
    assert_eq!(entry.to, vec!["ap@acme.test".to_string()]);
    assert_eq!(entry.status, OutboxStatus::Pending);
    let mut smtp = SmtpTransport::default();

    // First attempt: 451 → pending, due again one minute later.
    let first = r.deliver_emails(&mut smtp, now).expect("deliver");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(
        (first[0].status, first[0].attempts),
        (OutboxStatus::Pending, 1)
    );
    let err = first[0].last_error.clone().unwrap_or_default();
    assert!(err.contains("451"), "{err}");
    assert_eq!(first[0].next_attempt, Some(now + Duration::minutes(1)));

    // Thirty seconds later nothing is due: no connection is made.
    let early = r
        .deliver_emails(&mut smtp, now + Duration::seconds(30))
        .expect("deliver");
    assert!(early.is_empty(), "{early:?}");

    // After the backoff: 250 → delivered.
    let second = r
        .deliver_emails(&mut smtp, now + Duration::minutes(1))
        .expect("deliver");
    assert_eq!(second.len(), 1);
    assert_eq!(
        (second[0].status, second[0].attempts),
        (OutboxStatus::Delivered, 2)
    );
    server.join().expect("server");

    let doc = r
        .engine()
        .document("invoice:ACME#1")
        .expect("read")
        .expect("doc");
    assert_eq!(
        r.engine().delivery_status(&doc).expect("status"),
        Some(OutboxStatus::Delivered)
    );
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 2, "two connections, each with the message");
    let message = &seen[1];
    assert!(message.contains("To: ap@acme.test"), "{message}");
    assert!(message.contains("From: billing@seller.test"), "{message}");
    assert!(message.contains("INV-000001"), "{message}");
    assert!(message.contains("application/pdf"), "{message}");
    assert!(
        message.contains("INV-000001_default_invoice_2016-06-01.pdf"),
        "{message}"
    );
    // The attachment is the stored current version, byte for byte.
    let (version, bytes) = r
        .engine()
        .current_document("invoice:ACME#1")
        .expect("read")
        .expect("a stored version");
    assert_eq!(version.format, "pdf");
    assert!(bytes.starts_with(b"%PDF-1.7"));
    let unfolded: String = message.split("\r\n").collect();
    assert!(
        unfolded.contains(&base64(&bytes)),
        "the PDF is attached in base64"
    );
}

#[test]
fn a_refused_connection_is_retried_later() {
    // A port with nothing listening: bind, take the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let r = world(port);
    let now = NaiveDate::from_ymd_opt(2016, 6, 1)
        .and_then(|d| d.and_hms_opt(9, 0, 0))
        .expect("time");
    r.send("invoice:ACME#1", now).expect("send");
    let out = r
        .deliver_emails(&mut SmtpTransport::default(), now)
        .expect("deliver");
    assert_eq!((out[0].status, out[0].attempts), (OutboxStatus::Pending, 1));
    assert!(out[0].last_error.is_some());
}

#[test]
fn base64_matches_the_rfc_vectors() {
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
}

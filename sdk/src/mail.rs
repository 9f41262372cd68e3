//! E-mail transports for the outbox worker (04 §11.3). The engine keeps the outbox's state
//! machine ([`reckon_engine::billing::outbox`]); a [`Transport`] only carries one message and says
//! what the server answered. Two transports: [`SmtpTransport`] (the `lettre` crate's blocking
//! SMTP client; `none`, `starttls` or `tls` with rustls) and [`MemorySink`] (scenarios and
//! tests: keeps the messages, can refuse the next N with a code).

use reckon_engine::billing::outbox::{AttemptOutcome, EmailConfig, Security};
use std::time::Duration;

/// One e-mail as the worker hands it to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Sender (`system.email.from`).
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Subject line.
    pub subject: String,
    /// HTML body.
    pub html: String,
    /// The attached document: file name, MIME type, bytes.
    pub attachment: Option<(String, String, Vec<u8>)>,
}

/// Carries one message; never panics, never retries (the engine decides that).
pub trait Transport {
    /// Send `message`: `Delivered` on a positive reply to the message data (`250` after
    /// `DATA`), `Temporary` on a `4xx` reply or a connection error, `Permanent` on a `5xx` reply.
    fn send(&mut self, config: &EmailConfig, message: &Message) -> AttemptOutcome;
}

/// The MIME type of a document file by its extension.
pub fn mime_of(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("pdf") => "application/pdf",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// An in-memory sink: every accepted message is kept in `sent`; [`MemorySink::reject_next`]
/// makes it refuse the next N messages with an SMTP code (4xx: retried, 5xx: failed).
#[derive(Debug, Clone, Default)]
pub struct MemorySink {
    reject: u32,
    code: u16,
    /// Messages accepted, in order.
    pub sent: Vec<Message>,
}

impl MemorySink {
    /// A sink that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Refuse the next `n` messages with `code` (400–599).
    pub fn reject_next(&mut self, n: u32, code: u16) {
        self.reject = n;
        self.code = code;
    }
}

impl Transport for MemorySink {
    fn send(&mut self, _config: &EmailConfig, message: &Message) -> AttemptOutcome {
        if self.reject > 0 {
            self.reject -= 1;
            let text = format!("{} refused by the in-memory sink", self.code);
            return if self.code >= 500 {
                AttemptOutcome::Permanent(text)
            } else {
                AttemptOutcome::Temporary(text)
            };
        }
        self.sent.push(message.clone());
        AttemptOutcome::Delivered
    }
}

/// SMTP over the network with `lettre` (blocking). `security: none` is plain SMTP, `starttls`
/// upgrades with STARTTLS (required), `tls` is SMTPS from the first byte; certificates are
/// checked against the webpki roots. The password is read from the environment variable that
/// `password_env` names at each attempt.
#[derive(Debug, Clone)]
pub struct SmtpTransport {
    /// Connect and command timeout.
    pub timeout: Duration,
}

impl Default for SmtpTransport {
    fn default() -> Self {
        SmtpTransport {
            timeout: Duration::from_secs(30),
        }
    }
}

fn build_message(message: &Message) -> Result<lettre::Message, String> {
    use lettre::message::{header::ContentType, Attachment, MultiPart, SinglePart};
    let mut b = lettre::Message::builder()
        .from(
            message
                .from
                .parse()
                .map_err(|e| format!("from `{}`: {e}", message.from))?,
        )
        .subject(message.subject.clone());
    for to in &message.to {
        b = b.to(to.parse().map_err(|e| format!("to `{to}`: {e}"))?);
    }
    let mut parts = MultiPart::mixed().singlepart(SinglePart::html(message.html.clone()));
    if let Some((name, mime, bytes)) = &message.attachment {
        let ct = ContentType::parse(mime).map_err(|e| format!("content type {mime}: {e}"))?;
        parts = parts.singlepart(Attachment::new(name.clone()).body(bytes.clone(), ct));
    }
    b.multipart(parts).map_err(|e| e.to_string())
}

impl Transport for SmtpTransport {
    fn send(&mut self, config: &EmailConfig, message: &Message) -> AttemptOutcome {
        use lettre::transport::smtp::authentication::Credentials;
        use lettre::Transport as _;
        let email = match build_message(message) {
            Ok(m) => m,
            Err(e) => return AttemptOutcome::Permanent(format!("bad message: {e}")),
        };
        let host = config.smtp_host.clone().unwrap_or_default();
        let builder = match config.security {
            Security::None => Ok(lettre::SmtpTransport::builder_dangerous(&host)),
            Security::Starttls => lettre::SmtpTransport::starttls_relay(&host),
            Security::Tls => lettre::SmtpTransport::relay(&host),
        };
        let mut builder = match builder {
            Ok(b) => b.port(config.port()).timeout(Some(self.timeout)),
            Err(e) => return AttemptOutcome::Temporary(format!("connection: {e}")),
        };
        if let Some(user) = &config.username {
            let password = match &config.password_env {
                Some(var) => match std::env::var(var) {
                    Ok(p) => p,
                    Err(_) => {
                        return AttemptOutcome::Temporary(format!(
                            "the password variable {var} is not set"
                        ))
                    }
                },
                None => String::new(),
            };
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        let mailer = builder.build();
        match mailer.send(&email) {
            Ok(_) => AttemptOutcome::Delivered,
            Err(e) if e.is_permanent() => AttemptOutcome::Permanent(e.to_string()),
            Err(e) => AttemptOutcome::Temporary(e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> EmailConfig {
        serde_yaml::from_str("{smtp_host: localhost, from: billing@seller.test}").expect("config")
    }

    fn msg() -> Message {
        Message {
            from: "billing@seller.test".into(),
            to: vec!["ap@acme.test".into()],
            subject: "Invoice INV-000001".into(),
            html: "<p>Hello</p>".into(),
            attachment: Some((
                "INV-000001.pdf".into(),
                "application/pdf".into(),
                b"%PDF-1.7".to_vec(),
            )),
        }
    }

    #[test]
    fn the_sink_refuses_then_accepts() {
        let mut s = MemorySink::new();
        s.reject_next(2, 451);
        assert!(
            matches!(s.send(&cfg(), &msg()), AttemptOutcome::Temporary(m) if m.starts_with("451"))
        );
        assert!(matches!(
            s.send(&cfg(), &msg()),
            AttemptOutcome::Temporary(_)
        ));
        assert_eq!(s.send(&cfg(), &msg()), AttemptOutcome::Delivered);
        assert_eq!(s.sent.len(), 1);
        s.reject_next(1, 550);
        assert!(
            matches!(s.send(&cfg(), &msg()), AttemptOutcome::Permanent(m) if m.starts_with("550"))
        );
    }

    #[test]
    fn a_message_has_its_attachment_and_a_bad_address_is_permanent() {
        let m = build_message(&msg()).expect("message");
        let text = String::from_utf8(m.formatted()).expect("utf-8");
        assert!(
            text.contains("INV-000001.pdf") && text.contains("application/pdf"),
            "{text}"
        );
        let mut bad = msg();
        bad.to = vec!["not an address".into()];
        assert!(matches!(
            SmtpTransport::default().send(&cfg(), &bad),
            AttemptOutcome::Permanent(_)
        ));
    }
}

//! Email over SMTP, through lettre (a maintained SMTP client with
//! STARTTLS, implicit TLS on rustls and AUTH): plain text, one message per
//! notification, the title as the subject.

use std::time::Duration;

use lettre::message::{header::ContentType, Mailbox};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use super::super::config::{NotifyConfig, SmtpTls};
use super::super::message::Message;

/// The port an email channel uses when none is set.
pub(crate) fn default_port(tls: SmtpTls) -> u16 {
    match tls {
        SmtpTls::None => 25,
        SmtpTls::Starttls => 587,
        SmtpTls::Tls => 465,
    }
}

/// The email for `m`: From, To, Subject, Date, Message-ID and a plain
/// text body, with `X-Vigil-Status` for mail filters.
pub(crate) fn email(config: &NotifyConfig, m: &Message) -> Result<lettre::Message, String> {
    let from: Mailbox = config
        .from
        .as_deref()
        .unwrap_or_default()
        .parse()
        .map_err(|e| format!("from: {e}"))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(m.title())
        .message_id(None)
        .header(ContentType::TEXT_PLAIN)
        .header(VigilStatus(m.reason.as_str().to_string()));
    for to in config.to.iter().flatten() {
        builder = builder.to(to.parse().map_err(|e| format!("to {to:?}: {e}"))?);
    }
    let body = format!("{}\n\n-- \nVigil on {}\n", m.text(), m.host);
    builder.body(body).map_err(|e| format!("cannot build the email: {e}"))
}

/// Sends `m` to the channel's SMTP server; what the server answered.
pub(crate) async fn send(
    config: &NotifyConfig,
    password: Option<&str>,
    ca: Option<&[u8]>,
    m: &Message,
    timeout: Duration,
) -> Result<String, String> {
    let host = config.host.as_deref().unwrap_or_default();
    let mode = config.tls.unwrap_or_default();
    let port = config.port.unwrap_or_else(|| default_port(mode));
    let tls = |host: &str| -> Result<TlsParameters, String> {
        let mut params = TlsParameters::builder(host.to_string());
        if let Some(pem) = ca {
            let cert = Certificate::from_pem(pem).map_err(|e| format!("ca_file: {e}"))?;
            params = params.add_root_certificate(cert);
        }
        params.build_rustls().map_err(|e| format!("TLS setup: {e}"))
    };
    let tls = match mode {
        SmtpTls::None => Tls::None,
        SmtpTls::Starttls => Tls::Required(tls(host)?),
        SmtpTls::Tls => Tls::Wrapper(tls(host)?),
    };
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout));
    if let (Some(user), Some(password)) = (&config.username, password) {
        transport = transport.credentials(Credentials::new(user.clone(), password.to_string()));
    }
    let email = email(config, m)?;
    let answer = tokio::time::timeout(timeout * 3, transport.build().send(email))
        .await
        .map_err(|_| format!("timed out after {}", crate::outbound::human(timeout * 3)))?
        .map_err(|e| describe(&e))?;
    Ok(format!(
        "SMTP {} {}",
        answer.code(),
        answer.message().next().unwrap_or_default()
    ))
}

/// An SMTP error in words, without credentials.
fn describe(err: &lettre::transport::smtp::Error) -> String {
    use std::error::Error;
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text = format!("{text}: {inner}");
        source = inner.source();
    }
    text
}

/// `X-Vigil-Status: firing | resolved | test`.
#[derive(Clone)]
struct VigilStatus(String);

impl lettre::message::header::Header for VigilStatus {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("X-Vigil-Status")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(VigilStatus(s.to_string()))
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::super::config::NotifyKind;
    use super::super::super::message::tests::alert;
    use super::*;
    use app::alerts::AlertState;

    #[test]
    fn the_email_has_the_headers_and_the_text() {
        let mut c = NotifyConfig::new(NotifyKind::Email, None);
        c.host = Some("127.0.0.1".into());
        c.from = Some("Vigil <vigil@example.org>".into());
        c.to = Some(vec!["ops@example.org".into(), "oncall@example.org".into()]);
        let m = Message::new("web1", vec![alert("check-down", "api", AlertState::Firing)], vec![], 0);
        let raw = String::from_utf8(email(&c, &m).unwrap().formatted()).unwrap();
        assert!(raw.contains("From: Vigil <vigil@example.org>\r\n"), "{raw}");
        assert!(raw.contains("To: ops@example.org, oncall@example.org\r\n"), "{raw}");
        assert!(
            raw.contains("Subject: [FIRING] web1: check api is down: HTTP 503\r\n"),
            "{raw}"
        );
        assert!(raw.contains("X-Vigil-Status: firing\r\n"), "{raw}");
        assert!(raw.contains("Message-ID: <"), "{raw}");
        assert!(raw.contains("Date: "), "{raw}");
        assert!(raw.contains("FIRING critical check-down: check api is down"), "{raw}");
        assert_eq!(default_port(SmtpTls::Tls), 465);
    }
}

//! Health checks of outside services: HTTP(S), TCP, WebSocket and Ethereum
//! JSON-RPC, each probed on its own interval, with retries, a circuit
//! breaker and flap damping; every announced change is an event the
//! alerts engine reads.
//!
//! ```text
//! scheduler (one task per check, at most MAX_CONCURRENT_PROBES probing at once)
//!   breaker::Breaker --gate--> retry::round --attempts, each cut at `timeout`--> Probe (http | tcp | websocket | ethereum)
//!   <--Outcome-- damping::Damper --CheckState, Transition--> signals::CheckBus (latest per check + broadcast)
//! ```
//!
//! - [`Probe`]: one trait, one file per check type ([`http`], [`tcp`],
//!   [`websocket`], [`ethereum`]); a probe answers an [`Outcome`] and never
//!   fails otherwise.
//! - [`retry`]: attempts inside one round, with exponential backoff and
//!   jitter, within the round's time.
//! - [`breaker`]: closed / open / half-open, so a dead target is probed gently.
//! - [`damping`]: a new status must hold `confirm` rounds before it is announced.
//! - [`scheduler`]: runs the checks and keeps their latest [`CheckState`]s.
//! - [`config`]: the `[[checks]]` section and its rules.
//!
//! The wire types ([`CheckState`], [`SubResult`], [`BreakerState`],
//! [`Transition`]) live in `app::checks`, shared with the web app.

pub(crate) mod breaker;
pub mod config;
pub(crate) mod damping;
pub mod ethereum;
pub(crate) mod http;
pub(crate) mod recent;
pub mod retry;
pub(crate) mod scheduler;
pub(crate) mod tcp;
pub(crate) mod websocket;

use std::time::Duration;

pub(crate) use app::checks::{BreakerState, CheckKind, SubResult};
use app::health::Status;
pub use scheduler::{initial_states, start, MAX_CONCURRENT_PROBES};

/// Why the checks could not start.
#[derive(Debug, thiserror::Error)]
pub enum ChecksError {
    /// The HTTP client (TLS roots, resolver) could not be built.
    #[error("cannot build the HTTP client for checks: {0}")]
    Client(#[from] reqwest::Error),
}

/// What one probe of a target found.
#[derive(Clone, Debug, PartialEq)]
pub struct Outcome {
    pub status: Status,
    /// Why, in words a person can act on ("HTTP 503", "connect refused").
    pub reason: String,
    /// How long the probe took.
    pub(crate) latency: Duration,
    /// The parts of a composite check (and the figures of simple ones).
    pub subs: Vec<SubResult>,
}

impl Outcome {
    /// An outcome without latency or parts (the caller adds them).
    pub(crate) fn new(status: Status, reason: impl Into<String>) -> Outcome {
        Outcome {
            status,
            reason: reason.into(),
            latency: Duration::ZERO,
            subs: Vec::new(),
        }
    }

    /// The target answered as it should.
    pub(crate) fn up(reason: impl Into<String>) -> Outcome {
        Outcome::new(Status::Up, reason)
    }

    /// The target answered, but past a warning threshold.
    #[cfg(test)]
    pub(crate) fn degraded(reason: impl Into<String>) -> Outcome {
        Outcome::new(Status::Degraded, reason)
    }

    /// The target did not answer, or answered wrong.
    pub(crate) fn down(reason: impl Into<String>) -> Outcome {
        Outcome::new(Status::Down, reason)
    }

    /// The same outcome, taking `latency`.
    pub(crate) fn with_latency(mut self, latency: Duration) -> Outcome {
        self.latency = latency;
        self
    }

    /// The outcome of a composite check: the worst status among the parts
    /// that could be told (an `unknown` part does not count), the reasons of
    /// the parts with that status, or `summary` when all is well.
    pub(crate) fn from_subs(subs: Vec<SubResult>, summary: impl FnOnce(&[SubResult]) -> String) -> Outcome {
        let status = subs
            .iter()
            .map(|s| s.status)
            .filter(|s| *s != Status::Unknown)
            .max()
            .unwrap_or(Status::Unknown);
        let reason = match status {
            Status::Up | Status::Unknown => summary(&subs),
            worst => subs
                .iter()
                .filter(|s| s.status == worst)
                .map(|s| s.reason.as_str())
                .collect::<Vec<_>>()
                .join("; "),
        };
        Outcome {
            status,
            reason,
            latency: Duration::ZERO,
            subs,
        }
    }
}

/// A part of a composite outcome.
pub(crate) fn sub(name: &str, status: Status, reason: impl Into<String>, value: Option<f64>) -> SubResult {
    SubResult {
        name: name.into(),
        status,
        reason: reason.into(),
        value,
    }
}

/// Probes one target once. Implementations turn every failure (refused,
/// garbage, an error answer) into an [`Outcome`] with a clear reason and
/// never panic; a probe that hangs is cut by the caller at the check's
/// timeout ([`retry::attempt`]).
#[async_trait::async_trait]
pub trait Probe: Send + Sync {
    async fn probe(&self) -> Outcome;
}

/// The probe for one configured check. HTTP and Ethereum probes use
/// `client` (shared, so connections are kept alive between rounds).
pub fn probe_for(check: &config::CheckConfig, client: &reqwest::Client) -> Box<dyn Probe> {
    let url = check.url.clone().unwrap_or_default();
    match check.kind {
        CheckKind::Http => Box::new(http::HttpProbe::new(client.clone(), check)),
        CheckKind::Tcp => Box::new(tcp::TcpProbe::new(check.address.clone().unwrap_or_default())),
        CheckKind::Websocket => Box::new(websocket::WebSocketProbe::new(
            url,
            check.send.clone(),
            check.expect.clone(),
        )),
        CheckKind::Ethereum => Box::new(ethereum::EthereumProbe::new(client.clone(), check)),
    }
}

/// The one HTTP client of all checks and webhooks: keep-alive, rustls with
/// the webpki roots, and the peer certificate kept for the TLS expiry.
pub fn http_client() -> Result<reqwest::Client, ChecksError> {
    Ok(reqwest::Client::builder()
        .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION"), " (health check)"))
        .tls_info(true)
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(4)
        // A check asks exactly the URL it was given: a redirect is an answer
        // (`expect_status = "300-399"` can accept it), not a detour.
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

/// What a check probes, safe to show: scheme, host and port, without
/// credentials, and with the path hidden (RPC providers put API keys there).
pub(crate) fn display_target(check: &config::CheckConfig) -> String {
    if let Some(address) = &check.address {
        return address.clone();
    }
    let Some(url) = check.url.as_deref() else {
        return String::new();
    };
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let host = u.host_str().unwrap_or("");
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if (u.path().is_empty() || u.path() == "/") && u.query().is_none() {
                "/"
            } else {
                "/…"
            };
            format!("{}://{host}{port}{rest}", u.scheme())
        }
        Err(_) => String::new(),
    }
}

/// Milliseconds as a float, for latency figures.
pub(crate) fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// At most `max` characters of `text`, for quoting what a target said in
/// a reason. Control characters are escaped (`\n`, `\u{1b}`): a reason is
/// logged and shown, and a target must not be able to forge log lines or
/// terminal escapes with it.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().take(max) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if text.chars().count() > max {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_hide_credentials_and_paths() {
        let mut c = config::CheckConfig::new("x", CheckKind::Ethereum);
        c.url = Some("https://user:pw@mainnet.example.io/v3/SECRETKEY".into());
        assert_eq!(display_target(&c), "https://mainnet.example.io/…");
        c.url = Some("http://127.0.0.1:8545".into());
        assert_eq!(display_target(&c), "http://127.0.0.1:8545/");
        c.url = Some("http://127.0.0.1:8545/?key=1".into());
        assert_eq!(display_target(&c), "http://127.0.0.1:8545/…");
        let mut t = config::CheckConfig::new("db", CheckKind::Tcp);
        t.address = Some("db:5432".into());
        assert_eq!(display_target(&t), "db:5432");
    }

    #[test]
    fn composite_status_is_the_worst_known_part() {
        let o = Outcome::from_subs(
            vec![
                sub("a", Status::Up, "fine", None),
                sub("b", Status::Unknown, "cannot tell", None),
                sub("c", Status::Degraded, "slow", None),
                sub("d", Status::Degraded, "few peers", None),
            ],
            |_| "all good".into(),
        );
        assert_eq!(o.status, Status::Degraded);
        assert_eq!(o.reason, "slow; few peers");
        let o = Outcome::from_subs(vec![sub("a", Status::Up, "fine", None)], |_| "all good".into());
        assert_eq!((o.status, o.reason.as_str()), (Status::Up, "all good"));
    }

    #[test]
    fn snippets_are_short() {
        assert_eq!(snippet("hello", 10), "hello");
        assert_eq!(snippet("hello world", 5), "hello…");
    }

    #[test]
    fn snippets_cannot_forge_log_lines() {
        let forged = "oops\n2026-12-06T00:00:00Z  INFO vigil: admin signed in\r\u{1b}[2K";
        let quoted = snippet(forged, 200);
        assert!(!quoted.contains(['\n', '\r', '\u{1b}']), "{quoted}");
        assert_eq!(
            quoted,
            "oops\\n2026-12-06T00:00:00Z  INFO vigil: admin signed in\\r\\u{1b}[2K"
        );
    }
}

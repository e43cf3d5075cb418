//! HTTP(S) checks: a GET whose status must be in the expected ranges, whose
//! body may have to contain a keyword, whose latency may have a limit, and,
//! over HTTPS, whose certificate must not expire within
//! [`CERT_WARN_DAYS`] days.
//!
//! Parts (sub-results): `http_status`, `keyword` (when set), `latency`,
//! `tls_expiry` (https only).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use app::health::Status;
use reqwest::tls::TlsInfo;
use tokio::time::Instant;

use super::config::{CheckConfig, ExpectStatus};
use super::{millis, sub, Outcome, Probe, SubResult};
use crate::outbound::{describe_error, human};

/// A certificate that expires within this many days is degraded.
pub(crate) const CERT_WARN_DAYS: i64 = 14;

/// The most of a body read (for the keyword); the rest is ignored.
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One GET per attempt.
pub(crate) struct HttpProbe {
    client: reqwest::Client,
    url: String,
    expect: ExpectStatus,
    keyword: Option<String>,
    max_latency: Option<Duration>,
    timeout: Duration,
}

impl HttpProbe {
    /// The probe of an `http` check. `client` should keep the TLS info
    /// (`tls_info(true)`, as [`super::http_client`] does) for the expiry.
    pub(crate) fn new(client: reqwest::Client, check: &CheckConfig) -> HttpProbe {
        HttpProbe {
            client,
            url: check.url.clone().unwrap_or_default(),
            expect: check.expect_status.clone().unwrap_or_default(),
            keyword: check.keyword.clone(),
            max_latency: check.max_latency,
            timeout: check.timeout(),
        }
    }
}

#[async_trait::async_trait]
impl Probe for HttpProbe {
    async fn probe(&self) -> Outcome {
        let start = Instant::now();
        let mut res = match self.client.get(&self.url).timeout(self.timeout).send().await {
            Ok(res) => res,
            Err(err) => return Outcome::down(describe_error(&err, self.timeout)).with_latency(start.elapsed()),
        };
        let code = res.status().as_u16();
        let cert = res
            .extensions()
            .get::<TlsInfo>()
            .and_then(|info| info.peer_certificate())
            .map(|der| cert_days_left(der, unix_now()));
        // Read the body even without a keyword, so the connection is reused.
        let body = read_limited(&mut res, MAX_BODY_BYTES, self.timeout).await;
        let latency = start.elapsed();

        let mut subs = Vec::new();
        let status_ok = self.expect.accepts(code);
        subs.push(sub(
            "http_status",
            if status_ok { Status::Up } else { Status::Down },
            if status_ok {
                format!("HTTP {code}")
            } else {
                format!("HTTP {code} (expected {})", self.expect)
            },
            Some(code as f64),
        ));
        match (&self.keyword, &body) {
            (_, Err(why)) => subs.push(sub("body", Status::Down, why.clone(), None)),
            (Some(keyword), Ok(body)) => {
                let found = contains(body, keyword.as_bytes());
                subs.push(sub(
                    "keyword",
                    if found { Status::Up } else { Status::Down },
                    if found {
                        format!("body contains {keyword:?}")
                    } else {
                        format!("keyword {keyword:?} not found in the body")
                    },
                    None,
                ));
            }
            (None, Ok(_)) => {}
        }
        subs.push(latency_sub(latency, self.max_latency));
        if let Some(days) = cert {
            subs.push(cert_sub(days));
        }
        Outcome::from_subs(subs, |_| format!("HTTP {code} in {}", human(latency))).with_latency(latency)
    }
}

/// Reads at most `limit` bytes of the body; a failure comes back in words.
pub(crate) async fn read_limited(
    res: &mut reqwest::Response,
    limit: usize,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        match res.chunk().await {
            Ok(Some(chunk)) => {
                let room = limit.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= limit {
                    return Ok(body);
                }
            }
            Ok(None) => return Ok(body),
            Err(err) if err.is_timeout() => return Err(format!("timed out after {} reading the body", human(timeout))),
            Err(err) => return Err(describe_error(&err, timeout)),
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

fn latency_sub(latency: Duration, max: Option<Duration>) -> SubResult {
    match max {
        Some(max) if latency > max => sub(
            "latency",
            Status::Degraded,
            format!("slow: {}, limit {}", human(latency), human(max)),
            Some(millis(latency)),
        ),
        _ => sub(
            "latency",
            Status::Up,
            format!("answered in {}", human(latency)),
            Some(millis(latency)),
        ),
    }
}

fn cert_sub(days: Result<i64, String>) -> SubResult {
    match days {
        Ok(days) if days < 0 => sub(
            "tls_expiry",
            Status::Down,
            format!("TLS certificate expired {} days ago", -days),
            Some(days as f64),
        ),
        Ok(days) if days < CERT_WARN_DAYS => sub(
            "tls_expiry",
            Status::Degraded,
            format!("TLS certificate expires in {days} days (warning under {CERT_WARN_DAYS})"),
            Some(days as f64),
        ),
        Ok(days) => sub(
            "tls_expiry",
            Status::Up,
            format!("TLS certificate valid for {days} more days"),
            Some(days as f64),
        ),
        Err(why) => sub("tls_expiry", Status::Unknown, why, None),
    }
}

/// Whole days from `now_unix` (seconds) until the certificate's notAfter,
/// negative once expired.
pub(crate) fn cert_days_left(der: &[u8], now_unix: i64) -> Result<i64, String> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(der).map_err(|e| format!("cannot read the TLS certificate: {e}"))?;
    let not_after = cert.validity().not_after.timestamp();
    Ok((not_after - now_unix).div_euclid(86_400))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_search() {
        assert!(contains(b"status: ok", b"ok"));
        assert!(!contains(b"status: fine", b"ok"));
        assert!(!contains(b"o", b"ok"));
    }

    #[test]
    fn latency_limit_degrades() {
        let s = latency_sub(Duration::from_millis(812), Some(Duration::from_millis(500)));
        assert_eq!(s.status, Status::Degraded);
        assert_eq!(s.reason, "slow: 812 ms, limit 500 ms");
        assert_eq!(
            latency_sub(Duration::from_millis(80), Some(Duration::from_millis(500))).status,
            Status::Up
        );
        assert_eq!(latency_sub(Duration::from_secs(9), None).status, Status::Up);
    }

    #[test]
    fn certificate_days() {
        assert_eq!(cert_sub(Ok(90)).status, Status::Up);
        let soon = cert_sub(Ok(5));
        assert_eq!(soon.status, Status::Degraded);
        assert_eq!(soon.reason, "TLS certificate expires in 5 days (warning under 14)");
        assert_eq!(cert_sub(Ok(-1)).status, Status::Down);
        assert_eq!(cert_sub(Err("x".into())).status, Status::Unknown);
        assert!(cert_days_left(b"not a certificate", 0)
            .unwrap_err()
            .contains("cannot read"));
    }

    #[test]
    fn certificate_expiry_is_read_from_der() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2024, 1, 31);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        // 2024-01-21T00:00:00Z: ten days left.
        assert_eq!(cert_days_left(cert.der(), 1_705_795_200), Ok(10));
        assert_eq!(cert_days_left(cert.der(), 1_705_795_200 + 11 * 86_400), Ok(-1));
    }
}

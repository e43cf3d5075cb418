//! One request to the receiver and what its answer means for the batch:
//! sent, worth retrying (no answer, 5xx, 429), or refused for good (any
//! other status: retrying the same samples would be refused again).

use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE};

use super::config::RemoteWriteConfig;
use super::proto;
use crate::outbound::{describe_error, Credentials, USER_AGENT};

/// Longest part of a refusal's body that is logged.
const MESSAGE_BYTES: usize = 300;

/// Posts request bodies to the receiver (one client, keep-alive).
#[derive(Clone, Debug)]
pub struct Sender {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
    credentials: Credentials,
}

/// How a request went.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// 2xx: the receiver has the samples.
    Sent,
    /// No answer, a timeout, 5xx or 429: keep the samples and try again.
    Retry(String),
    /// Another status (400 for out-of-order samples, 401, 404...): the
    /// same samples would be refused again.
    Refused { status: u16, message: String },
}

impl Sender {
    pub fn new(config: &RemoteWriteConfig, credentials: Credentials) -> reqwest::Result<Sender> {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .user_agent(USER_AGENT)
            .build()?;
        Ok(Sender {
            client,
            url: config.url.clone(),
            timeout: config.timeout,
            credentials,
        })
    }

    /// Posts one encoded [`proto::WriteRequest`]; the outcome and how long
    /// it took.
    pub async fn send(&self, body: Vec<u8>) -> (Outcome, Duration) {
        let started = Instant::now();
        let request = self
            .client
            .post(&self.url)
            .header(CONTENT_ENCODING, proto::CONTENT_ENCODING)
            .header(CONTENT_TYPE, proto::CONTENT_TYPE)
            .header("X-Prometheus-Remote-Write-Version", proto::VERSION)
            .body(body);
        let outcome = match self.credentials.apply(request).send().await {
            Err(err) => Outcome::Retry(describe_error(&err, self.timeout)),
            Ok(response) => {
                let status = response.status();
                // Read the answer so the connection can be reused.
                let text = response.text().await.unwrap_or_default();
                if status.is_success() {
                    Outcome::Sent
                } else if status.is_server_error() || status.as_u16() == 429 {
                    Outcome::Retry(format!("HTTP {}", status.as_u16()))
                } else {
                    Outcome::Refused {
                        status: status.as_u16(),
                        message: truncate(text.trim(), MESSAGE_BYTES),
                    }
                }
            }
        };
        (outcome, started.elapsed())
    }
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn truncate(s: &str, max: usize) -> String {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    // The receiver's words are logged: no forged lines, no escapes.
    let mut out = String::with_capacity(end + 1);
    for c in s[..end].chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if end < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_character() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("ééé", 3), "é…");
        assert_eq!(truncate("bad\nline", 20), "bad\\nline");
    }
}

//! A small client of the Prometheus HTTP API (`/api/v1/query`,
//! `/api/v1/query_range`, `/api/v1/series`), which VictoriaMetrics serves
//! too. Answers are parsed into plain vectors; values the engine sends as
//! strings (`"NaN"`, `"+Inf"`) that are not finite are dropped.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use crate::outbound::{redact_url, Credentials, USER_AGENT};

/// One engine.
#[derive(Clone, Debug)]
pub(crate) struct PromClient {
    base: String,
    client: reqwest::Client,
    credentials: Credentials,
}

/// Why the engine did not answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PromError {
    /// Without the URL (it may carry credentials).
    #[error("cannot reach the engine: {0}")]
    Transport(reqwest::Error),
    #[error("the engine refused the query (HTTP {status}, {kind}): {message}")]
    Refused { status: u16, kind: String, message: String },
    #[error("the engine's answer is unreadable: {0}")]
    Unreadable(String),
}

impl From<reqwest::Error> for PromError {
    fn from(err: reqwest::Error) -> Self {
        PromError::Transport(err.without_url())
    }
}

/// Labels of one series.
pub(crate) type Labels = BTreeMap<String, String>;

/// One series of an instant answer: its labels and value.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InstantSeries {
    pub(crate) labels: Labels,
    pub(crate) value: f64,
}

/// One series of a range answer: its labels and `(Unix ms, value)` points.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Matrix {
    pub(crate) labels: Labels,
    pub(crate) points: Vec<(i64, f64)>,
}

#[derive(Deserialize)]
struct Envelope<T> {
    status: String,
    data: Option<T>,
    #[serde(rename = "errorType", default)]
    error_type: String,
    #[serde(default)]
    error: String,
}

/// A query's `data`, read in one pass: the result's shape follows its type.
#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum QueryData {
    Vector(Vec<VectorItem>),
    Matrix(Vec<MatrixItem>),
    Scalar(serde::de::IgnoredAny),
    String(serde::de::IgnoredAny),
}

impl QueryData {
    fn kind(&self) -> &'static str {
        match self {
            QueryData::Vector(_) => "vector",
            QueryData::Matrix(_) => "matrix",
            QueryData::Scalar(_) => "scalar",
            QueryData::String(_) => "string",
        }
    }

    /// The error for an answer of another kind than `expected`.
    fn unexpected(&self, expected: &str) -> PromError {
        PromError::Unreadable(format!("expected {expected}, got {}", self.kind()))
    }
}

/// A time in the engine's seconds (also the value of `timestamp()`), as Unix ms.
pub(crate) fn millis(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

#[derive(Deserialize)]
struct VectorItem {
    metric: Labels,
    /// `[evaluation time, value]`: only the value is used.
    value: (serde::de::IgnoredAny, String),
}

#[derive(Deserialize)]
struct MatrixItem {
    metric: Labels,
    values: Vec<(f64, String)>,
}

fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

fn number(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A label value as a PromQL string literal.
pub(crate) fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

impl PromClient {
    /// `base` is the API root (`http://127.0.0.1:9090`); each request may
    /// take `timeout`.
    pub(crate) fn new(base: &str, timeout: Duration, credentials: Credentials) -> Result<PromClient, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(USER_AGENT)
            .build()?;
        Ok(PromClient {
            base: base.trim_end_matches('/').to_string(),
            client,
            credentials,
        })
    }

    /// The API root this client asks, fit for logs (no credentials).
    pub(crate) fn base(&self) -> String {
        redact_url(&self.base)
    }

    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str, params: &[(&str, String)]) -> Result<T, PromError> {
        // POST with a form: long selectors do not hit URL length limits.
        let request = self.client.post(format!("{}{path}", self.base)).form(params);
        let response = self.credentials.apply(request).send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?;
        let envelope: Envelope<T> = serde_json::from_slice(&body).map_err(|e| {
            if (200..300).contains(&status) {
                PromError::Unreadable(e.to_string())
            } else {
                PromError::Refused {
                    status,
                    kind: "http".into(),
                    message: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                }
            }
        })?;
        if envelope.status != "success" {
            return Err(PromError::Refused {
                status,
                kind: envelope.error_type,
                message: envelope.error,
            });
        }
        envelope
            .data
            .ok_or_else(|| PromError::Unreadable("success without data".into()))
    }

    /// An instant query evaluated at `at` (Unix ms; the engine's now when `None`).
    pub(crate) async fn instant(&self, query: &str, at: Option<i64>) -> Result<Vec<InstantSeries>, PromError> {
        let mut params = vec![("query", query.to_string())];
        if let Some(at) = at {
            params.push(("time", seconds(at)));
        }
        let items = match self.get("/api/v1/query", &params).await? {
            QueryData::Vector(items) => items,
            other => return Err(other.unexpected("a vector")),
        };
        Ok(items
            .into_iter()
            .filter_map(|item| {
                Some(InstantSeries {
                    value: number(&item.value.1)?,
                    labels: item.metric,
                })
            })
            .collect())
    }

    /// A range query from `start` to `end` (Unix ms, both included) every `step_ms`.
    pub(crate) async fn range(
        &self,
        query: &str,
        start: i64,
        end: i64,
        step_ms: i64,
    ) -> Result<Vec<Matrix>, PromError> {
        let params = [
            ("query", query.to_string()),
            ("start", seconds(start)),
            ("end", seconds(end)),
            ("step", seconds(step_ms.max(1))),
        ];
        let items = match self.get("/api/v1/query_range", &params).await? {
            QueryData::Matrix(items) => items,
            other => return Err(other.unexpected("a matrix")),
        };
        Ok(items
            .into_iter()
            .map(|item| Matrix {
                labels: item.metric,
                points: item
                    .values
                    .iter()
                    .filter_map(|(t, v)| Some((millis(*t), number(v)?)))
                    .collect(),
            })
            .collect())
    }

    /// The label sets of every series matching `selector` between `start` and `end`.
    pub(crate) async fn series(&self, selector: &str, start: i64, end: i64) -> Result<Vec<Labels>, PromError> {
        let params = [
            ("match[]", selector.to_string()),
            ("start", seconds(start)),
            ("end", seconds(end)),
        ];
        self.get("/api/v1/series", &params).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn credentials_in_the_engine_url_reach_no_error_or_log_field() {
        // Nothing listens on port 1: the request fails with reqwest's error,
        // whose text would name the URL.
        let client = PromClient::new(
            "http://ops:s3cret@127.0.0.1:1/?key=k3y",
            Duration::from_secs(2),
            Credentials::None,
        )
        .unwrap();
        let err = client.instant("up", None).await.unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("cannot reach the engine"), "{text}");
        for secret in ["s3cret", "k3y", "ops:"] {
            assert!(!text.contains(secret), "{text}");
            assert!(!format!("{err:?}").contains(secret), "{err:?}");
            assert!(!client.base().contains(secret), "{}", client.base());
        }
    }

    #[test]
    fn label_values_are_quoted_for_promql() {
        assert_eq!(quote("alpha"), "\"alpha\"");
        assert_eq!(quote("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
    }

    #[test]
    fn times_are_seconds_with_millisecond_fractions() {
        assert_eq!(seconds(1_700_000_000_123), "1700000000.123");
        assert_eq!(seconds(5), "0.005");
    }

    #[test]
    fn only_finite_numbers_are_kept() {
        assert_eq!(number("1.5"), Some(1.5));
        assert_eq!(number("NaN"), None);
        assert_eq!(number("+Inf"), None);
        assert_eq!(number("x"), None);
    }
}

//! What a series is, as the API and the explorer see it. The list itself
//! is the server's metric catalog (`vigil::catalog`): every series is
//! declared there once, and `/metrics`, `/api/v1/series` and the history
//! store derive from it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a series' numbers measure, so charts can label their axes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Percent,
    Bytes,
    BytesPerSecond,
    /// Operations or frames per second.
    PerSecond,
    Seconds,
    /// A plain count or a dimensionless figure such as the load average.
    Number,
}

/// How a series behaves over time, in Prometheus' terms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Goes up and down.
    Gauge,
    /// Only grows (until the process restarts).
    Counter,
}

/// One series Vigil keeps: a catalog metric, with the labels that tell its
/// instances apart (`mount`, `interface`, `core`, ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeriesInfo {
    /// Stable and URL-safe: the metric name, then `.` and the slug of its
    /// key label when it has one, e.g. `memory_used_bytes`,
    /// `filesystem_used_percent.root`, `network_receive_bytes_per_second.eth0`.
    pub name: String,
    /// The catalog metric, as in `/metrics` without the `vigil_` prefix.
    pub metric: String,
    pub help: String,
    pub unit: Unit,
    pub kind: Kind,
    pub labels: BTreeMap<String, String>,
}

/// One series' newest value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Latest {
    pub series: String,
    /// Unix time in milliseconds of the sample it comes from.
    pub ts: i64,
    pub value: f64,
}

/// The URL-safe form of a label value: `/` -> `root`, `/var/lib` ->
/// `var-lib`; letters, digits, `_`, `-` and `.` are kept, anything else
/// becomes `-`.
pub fn slug(value: &str) -> String {
    let trimmed = value.trim_matches('/');
    if trimmed.is_empty() {
        return "root".into();
    }
    trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_url_safe() {
        assert_eq!(slug("/"), "root");
        assert_eq!(slug("/var/lib/docker"), "var-lib-docker");
        assert_eq!(slug("eth0.100"), "eth0.100");
        assert_eq!(slug("veth1@if3"), "veth1-if3");
        assert_eq!(slug("3"), "3");
    }

    #[test]
    fn units_are_snake_case_on_the_wire() {
        assert_eq!(
            serde_json::to_string(&Unit::BytesPerSecond).unwrap(),
            "\"bytes_per_second\""
        );
    }
}

//! `[remote_write]`: where this Vigil pushes its series.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// Push every catalog series to a Prometheus remote-write receiver
/// (`[remote_write]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWriteConfig {
    /// The receiver, e.g. `http://127.0.0.1:9090/api/v1/write` (Prometheus
    /// with `--web.enable-remote-write-receiver`) or
    /// `http://127.0.0.1:8428/api/v1/write` (VictoriaMetrics).
    pub url: String,
    /// How often the queued samples are sent.
    #[serde(default = "default_push_interval", with = "humantime_serde")]
    pub interval: Duration,
    /// How long a request may take before it counts as failed.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How much collection time the queue holds while the receiver is
    /// unreachable; older samples are dropped (and counted) past it.
    #[serde(default = "default_buffer", with = "humantime_serde")]
    pub buffer: Duration,
    /// Most samples in one request; a backlog goes out in several.
    #[serde(default = "default_max_samples")]
    pub max_samples_per_send: usize,
    /// `Authorization: Bearer` with the token in this file.
    pub bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user, with `basic_password_file`.
    pub basic_user: Option<String>,
    pub basic_password_file: Option<PathBuf>,
}

fn default_push_interval() -> Duration {
    Duration::from_secs(10)
}

fn default_timeout() -> Duration {
    Duration::from_secs(30)
}

fn default_buffer() -> Duration {
    Duration::from_secs(3600)
}

fn default_max_samples() -> usize {
    5_000
}

//! `[host]` and `[fleet]`: how this Vigil names itself, and which
//! Prometheus-compatible engine it reads other hosts from.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// This host (`[host]`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// This host's name in every series it pushes (`instance="<name>"`)
    /// and in the fleet view. Unset: the OS hostname.
    pub name: Option<String>,
}

/// Read other hosts from a Prometheus-compatible engine (`[fleet]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// The engine's HTTP API root, e.g. `http://127.0.0.1:9090`
    /// (Prometheus) or `http://127.0.0.1:8428` (VictoriaMetrics).
    pub prometheus: String,
    /// How long one engine request may take.
    #[serde(default = "default_query_timeout", with = "humantime_serde")]
    pub(crate) timeout: Duration,
    /// A host not heard from for this long is shown as stale.
    #[serde(default = "default_stale_after", with = "humantime_serde")]
    pub(crate) stale_after: Duration,
    /// `Authorization: Bearer` with the token in this file.
    pub(crate) bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user, with `basic_password_file`.
    pub(crate) basic_user: Option<String>,
    pub(crate) basic_password_file: Option<PathBuf>,
}

fn default_query_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_stale_after() -> Duration {
    Duration::from_secs(120)
}

/// Checks a `[host]` name: it goes into label values and URLs.
pub(crate) fn validate_host_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be 1 to 253 bytes".into());
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

//! `[host]`, `[remote_write]` and `[fleet]`: how this Vigil names itself,
//! where it pushes its series, and which Prometheus-compatible engine it
//! reads other hosts from.

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

/// Read other hosts from a Prometheus-compatible engine (`[fleet]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// The engine's HTTP API root, e.g. `http://127.0.0.1:9090`
    /// (Prometheus) or `http://127.0.0.1:8428` (VictoriaMetrics).
    pub prometheus: String,
    /// How long one engine request may take.
    #[serde(default = "default_query_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// A host not heard from for this long is shown as stale.
    #[serde(default = "default_stale_after", with = "humantime_serde")]
    pub stale_after: Duration,
    /// `Authorization: Bearer` with the token in this file.
    pub bearer_token_file: Option<PathBuf>,
    /// HTTP basic auth user, with `basic_password_file`.
    pub basic_user: Option<String>,
    pub basic_password_file: Option<PathBuf>,
}

fn default_query_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_stale_after() -> Duration {
    Duration::from_secs(120)
}

/// Checks a `[host]` name: it goes into label values and URLs.
pub fn validate_host_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 253 {
        return Err("must be 1 to 253 bytes".into());
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("must not contain spaces or control characters".into());
    }
    Ok(())
}

/// Checks an engine URL: absolute `http` or `https`.
pub fn validate_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(format!(
            "{:?} must be an http:// or https:// URL with a host",
            redact_url(url)
        ));
    }
    Ok(())
}

/// An engine URL fit for logs and summaries: without the credentials it
/// may carry (`user:pass@`) or its query (which may hold a key).
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = reqwest::Url::parse(url) else {
        return "(not a URL)".into();
    };
    let had_query = parsed.query().is_some();
    let _ = parsed.set_username("");
    let _ = parsed.set_password(None);
    if !parsed.username().is_empty() || parsed.password().is_some() {
        // A URL whose credentials cannot be taken out (no host).
        return format!("{}://…", parsed.scheme());
    }
    parsed.set_query(None);
    parsed.set_fragment(None);
    let mut text = parsed.to_string();
    if had_query {
        text.push_str("?…");
    }
    text
}

/// How requests to the engine authenticate, read once from the files.
#[derive(Clone, Default)]
pub enum Credentials {
    #[default]
    None,
    Bearer(String),
    Basic {
        user: String,
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    /// Never prints a secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Credentials::None => "None",
            Credentials::Bearer(_) => "Bearer(..)",
            Credentials::Basic { .. } => "Basic(..)",
        })
    }
}

impl Credentials {
    /// Reads the token or password file (trailing newline trimmed); a
    /// bearer token wins over basic auth.
    pub fn read(
        bearer_token_file: Option<&PathBuf>,
        basic_user: Option<&str>,
        basic_password_file: Option<&PathBuf>,
    ) -> std::io::Result<Credentials> {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_string())
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))
        };
        if let Some(path) = bearer_token_file {
            return Ok(Credentials::Bearer(read(path)?));
        }
        if let Some(user) = basic_user {
            let password = basic_password_file.map(read).transpose()?.unwrap_or_default();
            return Ok(Credentials::Basic {
                user: user.to_string(),
                password,
            });
        }
        Ok(Credentials::None)
    }

    /// Adds the `Authorization` header, if any.
    pub fn apply(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match self {
            Credentials::None => request,
            Credentials::Bearer(token) => request.bearer_auth(token),
            Credentials::Basic { user, password } => request.basic_auth(user, Some(password)),
        }
    }
}

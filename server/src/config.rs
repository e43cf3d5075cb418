//! The TOML config file (`--config FILE`). Every section and key is
//! optional; Vigil runs with no config at all. Unknown keys are errors, so a
//! typo is reported instead of silently ignored, and every error names the
//! file, the line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use crate::alerts::config::{AlertConfig, AlertingConfig, MaintenanceConfig, NotifyConfig, NotifyKind};
pub(crate) use crate::checks::config::CheckConfig;
pub use crate::fleet::config::{FleetConfig, HostConfig};
pub use crate::health::Thresholds;
pub use crate::remote_write::config::RemoteWriteConfig;
pub use crate::status::config::{GroupConfig, StatusPageConfig};
pub(crate) use crate::store::HistoryConfig;

/// Everything the config file can set.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub collector: CollectorConfig,
    pub thresholds: Thresholds,
    pub live: LiveConfig,
    pub history: HistoryConfig,
    /// Health checks of outside services (`[[checks]]`), in file order.
    pub checks: Vec<CheckConfig>,
    /// Alert rules (`[[alerts]]`), besides the built-in ones.
    pub alerts: Vec<AlertConfig>,
    /// Where alerts are sent (`[[notify]]`).
    pub notify: Vec<NotifyConfig>,
    /// Routing, grouping, repeats and the built-in rules (`[alerting]`).
    pub alerting: AlertingConfig,
    /// Times alerts are shown but not sent (`[[maintenance]]`).
    pub maintenance: Vec<MaintenanceConfig>,
    pub auth: AuthConfig,
    /// Connections, limits and TLS of the HTTP server (`[server]`).
    pub server: ServerConfig,
    /// This host's name (`[host]`).
    pub host: HostConfig,
    /// Push every series to a Prometheus-compatible receiver (`[remote_write]`).
    pub remote_write: Option<RemoteWriteConfig>,
    /// Show the hosts a Prometheus-compatible engine knows (`[fleet]`).
    pub fleet: Option<FleetConfig>,
    /// Public status pages (`[[status_pages]]`).
    pub status_pages: Vec<StatusPageConfig>,
}

/// Accounts and sign-in (`[auth]`). Secrets are read from files (or the
/// environment), never written in this file, so the config can be shared
/// and logged.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// For unattended installs: this admin account is created at start when
    /// no account exists, with the password from `admin_password_file` or
    /// `$VIGIL_ADMIN_PASSWORD`.
    pub admin_user: Option<String>,
    pub admin_password_file: Option<PathBuf>,
    /// The bearer token `/metrics` accepts beyond loopback (for
    /// Prometheus); also `$VIGIL_METRICS_TOKEN`.
    pub metrics_token_file: Option<PathBuf>,
    /// How long a sign-in lasts.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Sign-in attempts allowed per client address per minute.
    pub attempts_per_minute: u32,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            admin_user: None,
            admin_password_file: None,
            metrics_token_file: None,
            session_ttl: Duration::from_secs(30 * 86_400),
            attempts_per_minute: 5,
        }
    }
}

/// How host metrics are sampled.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollectorConfig {
    /// Time between two samples.
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    /// How many processes the memory top list holds.
    pub(crate) top_processes: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            interval: Duration::from_secs(1),
            top_processes: 5,
        }
    }
}

/// The `/ws` live stream.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// How far back a reconnecting client can resume (`/ws?since=SEQ`).
    #[serde(with = "humantime_serde")]
    pub(crate) replay_window: Duration,
    /// Browser origins allowed to open `/ws` besides the page's own, e.g.
    /// `"https://dash.example.com"` when Vigil sits behind a proxy.
    pub(crate) allowed_origins: Vec<String>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            replay_window: Duration::from_secs(300),
            allowed_origins: Vec::new(),
        }
    }
}

/// The HTTP server's connections, limits and TLS (`[server]`).
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Longest time from a request's first byte to the end of its header
    /// (also bounds a TLS handshake): a client that trickles is dropped.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// How long a keep-alive connection may wait for its next request, and
    /// a request in flight may go without a byte moving (a client that
    /// stops reading). Live sockets (`/ws`) are not subject to it: they
    /// have their pings.
    #[serde(with = "humantime_serde")]
    pub idle_timeout: Duration,
    /// Most connections open at once, live sockets included; past it new
    /// connections wait in the listen queue. Unset: 10,000, or less when
    /// the open-file limit is lower.
    pub max_connections: Option<usize>,
    /// Largest request body (server functions, APIs) in KiB; larger gets 413.
    pub(crate) body_limit_kib: usize,
    /// PEM certificate chain; with `tls_key`, Vigil serves HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) of `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// Most connections open at once from one client address (an IPv6
    /// client: one /64); past it, that address's new connections are
    /// closed at once. Loopback and trusted proxies are not counted. 0: no
    /// limit.
    pub max_connections_per_address: usize,
    /// Longest time a request body may take to arrive, whole: a client
    /// that trickles one is cut off.
    #[serde(with = "humantime_serde")]
    pub body_timeout: Duration,
    /// Public names this Vigil is reached by (`vigil.example.org`), which
    /// an open Vigil (loopback, no account) answers besides `localhost`
    /// and loopback addresses.
    pub(crate) hostnames: Vec<String>,
    /// Reverse proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are
    /// believed: addresses or networks (`127.0.0.1`, `10.0.0.0/8`), as
    /// `--trust-proxy` takes them.
    pub(crate) trusted_proxies: Vec<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: None,
            body_limit_kib: 64,
            tls_cert: None,
            tls_key: None,
            max_connections_per_address: 256,
            body_timeout: Duration::from_secs(10),
            hostnames: Vec::new(),
            trusted_proxies: Vec::new(),
        }
    }
}

impl ServerConfig {
    fn validate(&self) -> Result<(), (&'static str, String)> {
        let (least, hour) = (Duration::from_millis(100), Duration::from_secs(3600));
        for (key, value) in [
            ("server.header_timeout", self.header_timeout),
            ("server.idle_timeout", self.idle_timeout),
            ("server.body_timeout", self.body_timeout),
        ] {
            if value < least || value > hour {
                return Err((key, format!("{value:?} is out of range (100ms to 1h)")));
            }
        }
        if self.max_connections == Some(0) {
            return Err(("server.max_connections", "must be at least 1".into()));
        }
        for name in &self.hostnames {
            let plain = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-');
            if name.is_empty() || name.len() > 253 || !name.chars().all(plain) {
                return Err((
                    "server.hostnames",
                    format!("{name:?} is not a host name (letters, digits, '.', '-'; no port)"),
                ));
            }
        }
        if let Err(e) = crate::auth::proxy::TrustedProxies::parse(&self.trusted_proxies) {
            return Err(("server.trusted_proxies", e));
        }
        if !(1..=1024 * 1024).contains(&self.body_limit_kib) {
            return Err(("server.body_limit_kib", "must be between 1 and 1048576 (1 GiB)".into()));
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => Err(("server.tls_cert", "set tls_key too, or neither".into())),
            (None, Some(_)) => Err(("server.tls_key", "set tls_cert too, or neither".into())),
            _ => Ok(()),
        }
    }
}

/// Why a config file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}:{line}:{column}: {key}: {message}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        key: String,
        message: String,
    },
}

impl Config {
    fn validate_fleet(&self) -> Result<(), (&'static str, String)> {
        use crate::fleet::config::validate_host_name;
        use crate::outbound::validate_url;
        if let Some(name) = &self.host.name {
            validate_host_name(name).map_err(|e| ("host.name", e))?;
        }
        if let Some(rw) = &self.remote_write {
            validate_url(&rw.url).map_err(|e| ("remote_write.url", e))?;
            let (second, hour, day) = (
                Duration::from_secs(1),
                Duration::from_secs(3600),
                Duration::from_secs(86_400),
            );
            if rw.interval < second || rw.interval > hour {
                return Err(("remote_write.interval", "out of range (1s to 1h)".into()));
            }
            if rw.timeout < second || rw.timeout > Duration::from_secs(300) {
                return Err(("remote_write.timeout", "out of range (1s to 5m)".into()));
            }
            if rw.buffer < rw.interval || rw.buffer > day {
                return Err(("remote_write.buffer", "must be between the interval and 24h".into()));
            }
            if !(100..=1_000_000).contains(&rw.max_samples_per_send) {
                return Err(("remote_write.max_samples_per_send", "100 to 1000000".into()));
            }
            if rw.basic_password_file.is_some() && rw.basic_user.is_none() {
                return Err(("remote_write.basic_password_file", "set basic_user too".into()));
            }
        }
        if let Some(fleet) = &self.fleet {
            validate_url(&fleet.prometheus).map_err(|e| ("fleet.prometheus", e))?;
            if fleet.timeout < Duration::from_millis(100) || fleet.timeout > Duration::from_secs(300) {
                return Err(("fleet.timeout", "out of range (100ms to 5m)".into()));
            }
            if fleet.stale_after < Duration::from_secs(1) {
                return Err(("fleet.stale_after", "at least 1s".into()));
            }
            if fleet.basic_password_file.is_some() && fleet.basic_user.is_none() {
                return Err(("fleet.basic_password_file", "set basic_user too".into()));
            }
        }
        Ok(())
    }

    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.into(),
            source,
        })?;
        Config::parse(&text, path)
    }

    /// Parses config text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let invalid = |span: Option<std::ops::Range<usize>>, key: String, message: String| {
            let (line, column) = line_column(text, span.map(|s| s.start).unwrap_or(0));
            ConfigError::Invalid {
                path: path.into(),
                line,
                column,
                key,
                message,
            }
        };
        let config: Config = serde_path_to_error::deserialize(toml::Deserializer::new(text)).map_err(|e| {
            let key = match e.path().to_string() {
                p if p == "." => "(top level)".to_string(),
                p => p,
            };
            let inner = e.into_inner();
            invalid(inner.span(), key, inner.message().trim().to_string())
        })?;
        config
            .validate()
            .map_err(|(key, message)| invalid(key_span(text, key), key.to_string(), message))?;
        let check_names: Vec<&str> = config.checks.iter().map(|c| c.name.as_str()).collect();
        crate::checks::config::validate(&config.checks)
            .and_then(|()| {
                crate::alerts::config::validate(
                    &config.alerts,
                    &config.notify,
                    &config.maintenance,
                    &check_names,
                    config.fleet.is_some(),
                )
            })
            .and_then(|()| crate::status::config::validate(&config.status_pages, &check_names))
            .map_err(|e| {
                let span = entry_key_span(text, e.section, e.index, e.field);
                invalid(span, e.key(), e.message)
            })?;
        crate::alerts::config::validate_alerting(&config.alerting, &config.notify)
            .map_err(|(key, message)| invalid(key_span(text, key), key.to_string(), message))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        self.server.validate()?;
        self.validate_fleet()?;
        let interval = self.collector.interval;
        if interval < Duration::from_millis(100) || interval > Duration::from_secs(3600) {
            return Err((
                "collector.interval",
                format!("{interval:?} is out of range (100ms to 1h)"),
            ));
        }
        if let Some(name) = &self.auth.admin_user {
            app::auth::validate_name(name).map_err(|e| ("auth.admin_user", e.to_string()))?;
        }
        if self.auth.session_ttl < Duration::from_secs(60) || self.auth.session_ttl > Duration::from_secs(400 * 86_400)
        {
            return Err(("auth.session_ttl", "out of range (1m to 400 days)".into()));
        }
        if !(1..=1000).contains(&self.auth.attempts_per_minute) {
            return Err(("auth.attempts_per_minute", "1 to 1000".into()));
        }
        if self.collector.top_processes > 100 {
            return Err(("collector.top_processes", "at most 100".into()));
        }
        let t = &self.thresholds;
        for (key, degraded, down) in [
            (
                "thresholds.memory_degraded_pct",
                t.memory_degraded_pct,
                t.memory_down_pct,
            ),
            (
                "thresholds.storage_degraded_pct",
                t.storage_degraded_pct,
                t.storage_down_pct,
            ),
        ] {
            if !(0.0..=100.0).contains(&degraded) || !(0.0..=100.0).contains(&down) || degraded > down {
                return Err((key, format!("need 0 <= degraded ({degraded}) <= down ({down}) <= 100")));
            }
        }
        let window = self.live.replay_window;
        if window < interval || window > Duration::from_secs(3600) {
            return Err((
                "live.replay_window",
                format!("{window:?} must be between the collector interval and 1h"),
            ));
        }
        let h = &self.history;
        let (hour, twenty_years) = (Duration::from_secs(3600), Duration::from_secs(20 * 366 * 86_400));
        for (key, value, at_least) in [
            ("history.raw_retention", h.raw_retention, hour * 2),
            (
                "history.minute_retention",
                h.minute_retention,
                h.raw_retention.max(hour * 2),
            ),
            ("history.hour_retention", h.hour_retention, h.minute_retention),
        ] {
            if value < at_least || value > twenty_years {
                return Err((
                    key,
                    format!("{value:?} must be at least {at_least:?} (and each tier at least the finer one's) and at most 20 years"),
                ));
            }
        }
        for origin in &self.live.allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(("live.allowed_origins", format!("{origin:?} is not an http(s) origin")));
            }
        }
        Ok(())
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Where the dotted `key` (`remote_write.timeout`) is set, for errors found
/// after parsing: the key itself, walked segment by segment through the
/// document (so `timeout` of `[remote_write]` is never another table's), or
/// the deepest table of it that is in the file when the key is not.
fn key_span(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    use toml_edit::TableLike;
    let doc = toml_edit::ImDocument::parse(text).ok()?;
    let mut table: &dyn TableLike = doc.as_table();
    let mut found = None;
    let mut segments = key.split('.').peekable();
    while let Some(segment) = segments.next() {
        let Some((k, item)) = table.get_key_value(segment) else {
            break;
        };
        found = k.span().or_else(|| item.span()).or(found);
        match item.as_table_like() {
            Some(inner) if segments.peek().is_some() => table = inner,
            _ => break,
        }
    }
    found
}

/// Where `field` is set in the `index`-th `[[section]]` table (0-based),
/// or that table's header when the field is absent (or `None`), for errors
/// about one entry of an array of tables such as `[[checks]]`.
fn entry_key_span(text: &str, section: &str, index: usize, field: Option<&str>) -> Option<std::ops::Range<usize>> {
    let mut offset = 0;
    let mut seen = 0;
    let mut header = None;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let start = offset + (line.len() - trimmed.len());
        offset += line.len();
        if let Some(rest) = trimmed.strip_prefix("[[") {
            let name = rest.split("]]").next().unwrap_or("").trim();
            if name == section {
                seen += 1;
                if seen == index + 1 {
                    header = Some(start..start + trimmed.trim_end().len());
                    continue;
                }
            }
            if header.is_some() {
                break;
            }
            continue;
        }
        if trimmed.starts_with('[') && header.is_some() {
            break;
        }
        if let (Some(_), Some(field)) = (&header, field) {
            if trimmed.starts_with(field) && trimmed[field.len()..].trim_start().starts_with('=') {
                return Some(start..start + field.len());
            }
        }
    }
    header
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("vigil.toml"))
    }

    #[test]
    fn empty_config_is_the_default() {
        assert_eq!(parse("").unwrap(), Config::default());
    }

    #[test]
    fn durations_are_human() {
        let c = parse("[collector]\ninterval = \"250ms\"\n[live]\nreplay_window = \"2m\"\n").unwrap();
        assert_eq!(c.collector.interval, Duration::from_millis(250));
        assert_eq!(c.live.replay_window, Duration::from_secs(120));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let err = parse("[collector]\ninterval = \"1s\"\nintervall = \"2s\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vigil.toml:3:1: collector.intervall"), "{err}");
        assert!(err.contains("unknown field `intervall`"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse("[thresholds]\nmemory_degraded_pct = \"high\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vigil.toml:2:"), "{err}");
        assert!(err.contains("thresholds.memory_degraded_pct"), "{err}");
    }

    #[test]
    fn bad_duration_names_the_key() {
        let err = parse("\n[collector]\ninterval = \"soon\"\n").unwrap_err().to_string();
        assert!(err.starts_with("vigil.toml:3:"), "{err}");
        assert!(err.contains("collector.interval"), "{err}");
    }

    #[test]
    fn syntax_error_has_a_line() {
        let err = parse("[collector\ninterval = 1\n").unwrap_err().to_string();
        assert!(err.starts_with("vigil.toml:1:"), "{err}");
    }

    #[test]
    fn out_of_range_values_are_refused_with_their_line() {
        let err = parse("[collector]\n\ninterval = \"1ms\"\n").unwrap_err().to_string();
        assert!(err.starts_with("vigil.toml:3:1: collector.interval"), "{err}");
        let err = parse("[thresholds]\nmemory_degraded_pct = 99\nmemory_down_pct = 90\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("thresholds.memory_degraded_pct"), "{err}");
        let err = parse("[live]\nallowed_origins = [\"evil\"]\n").unwrap_err().to_string();
        assert!(err.contains("live.allowed_origins"), "{err}");
    }

    #[test]
    fn many_hosts_sections_have_defaults_and_checked_values() {
        let c = parse(
            "[host]\nname = \"alpha\"\n[remote_write]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\n[fleet]\nprometheus = \"http://127.0.0.1:9090\"\n",
        )
        .unwrap();
        assert_eq!(c.host.name.as_deref(), Some("alpha"));
        let rw = c.remote_write.unwrap();
        assert_eq!(rw.interval, Duration::from_secs(10));
        assert_eq!(rw.buffer, Duration::from_secs(3600));
        assert_eq!(c.fleet.unwrap().stale_after, Duration::from_secs(120));
        assert!(parse("").unwrap().remote_write.is_none());
        for (text, key) in [
            ("[host]\nname = \"two words\"\n", "vigil.toml:2:1: host.name"),
            (
                "[remote_write]\nurl = \"ftp://x\"\n",
                "vigil.toml:2:1: remote_write.url",
            ),
            (
                "[remote_write]\nurl = \"http://x\"\n\ninterval = \"1ms\"\n",
                "vigil.toml:4:1: remote_write.interval",
            ),
            (
                "[remote_write]\nurl = \"http://x\"\nbuffer = \"30d\"\n",
                "vigil.toml:3:1: remote_write.buffer",
            ),
            ("[remote_write]\ninterval = \"5s\"\n", "remote_write"),
            (
                "[fleet]\nprometheus = \"not a url\"\n",
                "vigil.toml:2:1: fleet.prometheus",
            ),
            (
                "[fleet]\nprometheus = \"http://x\"\nbasic_password_file = \"/pw\"\n",
                "vigil.toml:3:1: fleet.basic_password_file",
            ),
        ] {
            let err = parse(text).unwrap_err().to_string();
            assert!(err.starts_with(key) || err.contains(key), "{text:?}: {err}");
        }
        let err = parse("[remote_write]\ninterval = \"5s\"\n").unwrap_err().to_string();
        assert!(err.contains("missing field `url`"), "{err}");
    }

    #[test]
    fn history_retention_is_checked() {
        let c = parse("[history]\nraw_retention = \"3d\"\nminute_retention = \"30d\"\nhour_retention = \"5years\"\n")
            .unwrap();
        assert_eq!(c.history.raw_retention, Duration::from_secs(3 * 86_400));
        let err = parse("[history]\nraw_retention = \"10d\"\nminute_retention = \"5d\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vigil.toml:3:1: history.minute_retention"), "{err}");
        let err = parse("[history]\nraw_retention = \"10m\"\n").unwrap_err().to_string();
        assert!(err.contains("history.raw_retention"), "{err}");
    }

    #[test]
    fn server_limits_and_tls_are_read_and_checked() {
        let c = parse("").unwrap();
        assert_eq!(c.server.header_timeout, Duration::from_secs(10));
        assert_eq!(c.server.idle_timeout, Duration::from_secs(60));
        assert_eq!((c.server.max_connections, c.server.body_limit_kib), (None, 64));
        let c = parse(
            "[server]\nheader_timeout = \"5s\"\nidle_timeout = \"2m\"\nmax_connections = 500\n\
             body_limit_kib = 16\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n",
        )
        .unwrap();
        assert_eq!(c.server.header_timeout, Duration::from_secs(5));
        assert_eq!(c.server.idle_timeout, Duration::from_secs(120));
        assert_eq!((c.server.max_connections, c.server.body_limit_kib), (Some(500), 16));
        assert_eq!(c.server.tls_key.as_deref(), Some(Path::new("key.pem")));
        let err = parse("[server]\n\ntls_cert = \"cert.pem\"\n").unwrap_err().to_string();
        assert!(err.starts_with("vigil.toml:3:1: server.tls_cert"), "{err}");
        let err = parse("[server]\nheader_timeout = \"0s\"\n").unwrap_err().to_string();
        assert!(err.contains("server.header_timeout"), "{err}");
        let err = parse("[server]\nmax_connections = 0\n").unwrap_err().to_string();
        assert!(err.contains("server.max_connections"), "{err}");
        let err = parse("[server]\nbody_limit = 1\n").unwrap_err().to_string();
        assert!(err.contains("unknown field"), "{err}");
    }

    #[test]
    fn the_doors_settings_are_read_and_checked() {
        let c = parse("").unwrap();
        assert_eq!(c.server.max_connections_per_address, 256);
        assert_eq!(c.server.body_timeout, Duration::from_secs(10));
        assert!(c.server.hostnames.is_empty() && c.server.trusted_proxies.is_empty());
        let c = parse(
            "[server]\nhostnames = [\"vigil.example.org\"]\ntrusted_proxies = [\"127.0.0.1\", \"10.0.0.0/8\", \"[::1]:8080\"]\n\
             max_connections_per_address = 16\nbody_timeout = \"3s\"\n",
        )
        .unwrap();
        assert_eq!(c.server.hostnames, ["vigil.example.org"]);
        assert_eq!(c.server.trusted_proxies.len(), 3);
        assert_eq!(c.server.max_connections_per_address, 16);
        let err = parse("[server]\n\ntrusted_proxies = [\"localhost\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vigil.toml:3:1: server.trusted_proxies"), "{err}");
        assert!(err.contains("not an address"), "{err}");
        let err = parse("[server]\nhostnames = [\"vigil.example.org:443\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vigil.toml:2:1: server.hostnames"), "{err}");
    }

    #[test]
    fn an_error_points_at_its_own_key_not_a_namesake_elsewhere() {
        // `timeout` appears first in [fleet]; the bad one is [remote_write]'s.
        let text = "[fleet]\nprometheus = \"http://127.0.0.1:9090\"\ntimeout = \"10s\"\n\n\
                    [remote_write]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\ntimeout = \"0s\"\n";
        let err = parse(text).unwrap_err().to_string();
        assert!(err.starts_with("vigil.toml:7:1: remote_write.timeout"), "{err}");
        // A key in a dotted or inline form is found too.
        let err = parse("remote_write = { url = \"http://x\", timeout = \"0s\" }\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("vigil.toml:1:"), "{err}");
        assert!(err.contains("remote_write.timeout"), "{err}");
    }

    #[test]
    fn credentials_in_engine_urls_never_reach_errors_or_summaries() {
        use crate::outbound::redact_url;
        assert_eq!(
            redact_url("https://ops:s3cret@vm.example.org:8428/api/v1/write?key=abc"),
            "https://vm.example.org:8428/api/v1/write?…"
        );
        assert_eq!(redact_url("http://127.0.0.1:9090"), "http://127.0.0.1:9090/");
        assert!(!redact_url("nonsense://ops:s3cret@").contains("s3cret"));
        let err = parse("[fleet]\nprometheus = \"ftp://ops:s3cret@host\"\n")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("s3cret"), "{err}");
    }

    const CHECKS: &str = r#"
[collector]
interval = "1s"

[[checks]]
name = "rpc"
type = "ethereum"
url = "http://127.0.0.1:8545"
interval = "10s"
timeout = "3s"
retries = 2
chain_id = 1
max_block_age = "60s"
min_peers = 3
reference = "https://ref.example.com/v3/key"
max_lag_blocks = 5

[[checks]]
name = "site"
type = "http"
url = "https://example.com/health"
expect_status = "200,204,300-399"
keyword = "ok"
max_latency = "500ms"
failure_threshold = 5
reset_timeout = "2m"
confirm = 3

[[checks]]
name = "db"
type = "tcp"
address = "127.0.0.1:5432"

[[checks]]
name = "feed"
type = "websocket"
url = "wss://example.com/feed"
send = "ping"
expect = "ping"

[[notify]]
type = "webhook"
url = "http://127.0.0.1:9000/hook"
"#;

    #[test]
    fn checks_and_notify_parse_with_defaults() {
        let c = parse(CHECKS).unwrap();
        assert_eq!(c.checks.len(), 4);
        let rpc = &c.checks[0];
        assert_eq!(rpc.kind, app::checks::CheckKind::Ethereum);
        assert_eq!(
            (rpc.interval, rpc.timeout(), rpc.retries),
            (Duration::from_secs(10), Duration::from_secs(3), 2)
        );
        assert_eq!(
            (rpc.chain_id, rpc.min_peers, rpc.max_lag_blocks),
            (Some(1), Some(3), Some(5))
        );
        assert_eq!(rpc.max_block_age, Some(Duration::from_secs(60)));
        let site = &c.checks[1];
        let expect = site.expect_status.as_ref().unwrap();
        assert!(expect.accepts(204) && expect.accepts(302) && !expect.accepts(201));
        assert_eq!(site.max_latency, Some(Duration::from_millis(500)));
        assert_eq!(
            (site.failure_threshold, site.reset_timeout, site.confirm),
            (5, Duration::from_secs(120), 3)
        );
        let db = &c.checks[2];
        assert_eq!(db.address.as_deref(), Some("127.0.0.1:5432"));
        assert_eq!(
            (db.interval, db.timeout(), db.retries),
            (Duration::from_secs(30), Duration::from_secs(5), 1)
        );
        // No timeout with a short interval: derived from it, not refused.
        let short =
            parse("[[checks]]\nname = \"fast\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ninterval = \"5s\"\n")
                .unwrap();
        assert_eq!(short.checks[0].timeout(), Duration::from_secs(4));
        let one = parse("[[checks]]\nname = \"fast\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ninterval = \"1s\"\n")
            .unwrap();
        assert_eq!(one.checks[0].timeout(), Duration::from_millis(800));
        // One set explicitly is still held to the interval.
        let err = parse("[[checks]]\nname = \"fast\"\ntype = \"tcp\"\naddress = \"127.0.0.1:1\"\ninterval = \"5s\"\ntimeout = \"5s\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("checks[0].timeout") && err.contains("shorter than the interval"),
            "{err}"
        );
        assert_eq!(
            (db.failure_threshold, db.reset_timeout, db.confirm),
            (3, Duration::from_secs(60), 2)
        );
        assert_eq!(c.checks[3].send.as_deref(), Some("ping"));
        assert_eq!(c.notify, [NotifyConfig::webhook("http://127.0.0.1:9000/hook")]);
    }

    #[test]
    fn alerting_sections_parse_with_defaults() {
        let c = parse(
            r#"
[[checks]]
name = "db"
type = "tcp"
address = "h:1"

[[checks]]
name = "web"
type = "tcp"
address = "h:2"
depends_on = ["db"]

[[alerts]]
name = "root-full"
series = "filesystem_used_percent.root"
above = 80
for = "10m"
severity = "critical"
notify = ["mail"]

[[alerts]]
name = "memory-full"
enabled = false

[[alerts]]
name = "disk-filling"
series = "filesystem_used_percent"
full_within = "2d"

[[notify]]
name = "mail"
type = "email"
host = "smtp.example.org"
from = "vigil@example.org"
to = ["ops@example.org"]
username = "vigil"
secret_env = "SMTP_PASSWORD"

[[notify]]
type = "ntfy"
topic = "ops"

[alerting]
group_wait = "5s"
route_warning = ["ntfy"]

[[maintenance]]
name = "backups"
days = ["sun"]
at = "02:00"
duration = "1h"
timezone = "Europe/Berlin"
"#,
        )
        .unwrap();
        assert_eq!(c.alerts[0].hold, Some(Duration::from_secs(600)));
        assert_eq!(c.alerts[1].enabled, Some(false));
        assert_eq!(c.notify[0].tls, None, "STARTTLS unless set");
        assert_eq!(c.notify[1].retries, crate::alerts::config::DEFAULT_RETRIES);
        assert_eq!(c.alerting.group_wait, Duration::from_secs(5));
        assert_eq!(c.alerting.repeat, Duration::from_secs(4 * 3600));
        assert_eq!(c.checks[1].depends_on, ["db"]);
        assert_eq!(c.alerts[2].full_within, Some(Duration::from_secs(2 * 86_400)));
        assert_eq!(crate::alerts::config::rule_count(&c.alerts, &c.alerting, false), 6);
    }

    #[test]
    fn alerting_errors_name_file_line_and_key() {
        let err = check_error(
            "[[alerts]]\nname = \"x\"\nseries = \"nope\"\nabove = 1\n",
            3,
            "alerts[0].series",
        );
        assert!(err.contains("not a stored series"), "{err}");
        let err = check_error(
            "[[alerts]]\nname = \"x\"\nseries = \"memory_used_percent\"\n",
            1,
            "alerts[0]",
        );
        assert!(err.contains("needs above, below or full_within"), "{err}");
        let err = check_error(
            "[[alerts]]\nname = \"x\"\nseries = \"memory_used_percent\"\nfull_within = \"1d\"\n",
            4,
            "alerts[0].full_within",
        );
        assert!(err.contains("filesystem_used_percent only"), "{err}");
        let err = check_error(
            "[[alerts]]\nname = \"x\"\nseries = \"filesystem_used_percent\"\nfull_within = \"1d\"\nabove = 9\n",
            4,
            "alerts[0].full_within",
        );
        assert!(err.contains("not both"), "{err}");
        let err = check_error(
            "[[alerts]]\nname = \"x\"\nseries = \"filesystem_used_percent\"\nfull_within = \"5m\"\n",
            4,
            "alerts[0].full_within",
        );
        assert!(err.contains("from 1h to 90d"), "{err}");
        let err = check_error(
            "[[alerts]]\nname = \"x\"\npromql = \"up == 0\"\n",
            3,
            "alerts[0].promql",
        );
        assert!(err.contains("needs a [fleet] section"), "{err}");
        let err = check_error("[[alerts]]\nname = \"x\"\nhost = \"*\"\n", 3, "alerts[0].host");
        assert!(err.contains("needs a [fleet] section"), "{err}");
        let err = check_error("[[alerts]]\nname = \"x\"\ncheck = \"ghost\"\n", 3, "alerts[0].check");
        assert!(err.contains("no [[checks]] entry is named \"ghost\""), "{err}");
        let err = check_error(
            "[[alerts]]\nname = \"x\"\ncheck = \"*\"\nnotify = [\"pager\"]\n",
            4,
            "alerts[0].notify",
        );
        assert!(err.contains("no [[notify]] channel is named \"pager\""), "{err}");
        let err = check_error("[[alerts]]\nname = \"disk-full\"\nabove = 80\n", 1, "alerts[0]");
        assert!(err.contains("replaces a built-in rule"), "{err}");
        let err = check_error(
            "[[notify]]\ntype = \"telegram\"\nchat_id = \"1\"\n",
            1,
            "notify[0].secret_file",
        );
        assert!(err.contains("token"), "{err}");
        let err = check_error(
            "[[notify]]\ntype = \"slack\"\nurl = \"http://x\"\ntopic = \"a\"\n",
            4,
            "notify[0].topic",
        );
        assert!(err.contains("not a key of a slack channel"), "{err}");
        let err = check_error(
            "[[notify]]\ntype = \"email\"\nhost = \"h\"\nfrom = \"not an address\"\nto = [\"a@b.c\"]\n",
            4,
            "notify[0].from",
        );
        assert!(err.contains("not an email address"), "{err}");
        let err = check_error(
            "[alerting]\nroute_critical = [\"pager\"]\n",
            2,
            "alerting.route_critical",
        );
        assert!(err.contains("pager"), "{err}");
        let err = check_error(
            "[[maintenance]]\nname = \"m\"\nstart = \"2026-01-01T00:00\"\nduration = \"1h\"\ntimezone = \"Mars/Base\"\n",
            5,
            "maintenance[0].timezone",
        );
        assert!(err.contains("not an IANA time zone"), "{err}");
        let err = check_error(
            "[[checks]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\ndepends_on = [\"a\"]\n",
            5,
            "checks[0].depends_on",
        );
        assert!(err.contains("depends on itself"), "{err}");
    }

    /// Parses `text` and returns the error, which must start with
    /// `vigil.toml:LINE:` and name `key`.
    fn check_error(text: &str, line: usize, key: &str) -> String {
        let err = parse(text).expect_err("must be refused").to_string();
        assert!(
            err.starts_with(&format!("vigil.toml:{line}:")),
            "want line {line}: {err}"
        );
        assert!(err.contains(&format!(" {key}: ")), "want key {key}: {err}");
        err
    }

    #[test]
    fn check_errors_name_file_line_and_key() {
        let two = "[[checks]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\n\n[[checks]]\n";
        // Duplicate name: the second entry's `name` line.
        let err = check_error(
            &format!("{two}name = \"a\"\ntype = \"tcp\"\naddress = \"h:2\"\n"),
            7,
            "checks[1].name",
        );
        assert!(err.contains("duplicate name"), "{err}");
        // tcp without an address: the entry's header.
        let err = check_error(&format!("{two}name = \"b\"\ntype = \"tcp\"\n"), 6, "checks[1].address");
        assert!(err.contains("tcp checks need `address"), "{err}");
        // http without a url.
        let err = check_error("[[checks]]\nname = \"w\"\ntype = \"http\"\n", 1, "checks[0].url");
        assert!(err.contains("http checks need a `url`"), "{err}");
        // timeout >= interval: the timeout line of that entry, not another's.
        let err = check_error(
            &format!("{two}name = \"b\"\ntype = \"tcp\"\naddress = \"h:2\"\ninterval = \"5s\"\ntimeout = \"5s\"\n"),
            11,
            "checks[1].timeout",
        );
        assert!(err.contains("must be shorter than the interval"), "{err}");
        assert!(err.contains("check \"b\""), "{err}");
        // A url that is not http(s) / ws(s).
        let err = check_error(
            "[[checks]]\nname = \"w\"\ntype = \"http\"\nurl = \"ftp://x\"\n",
            4,
            "checks[0].url",
        );
        assert!(err.contains("is not a http:// or https:// URL"), "{err}");
        check_error(
            "[[checks]]\nname = \"w\"\ntype = \"websocket\"\nurl = \"http://x\"\n",
            4,
            "checks[0].url",
        );
        check_error(
            "[[checks]]\nname = \"e\"\ntype = \"ethereum\"\nurl = \"http://x\"\nreference = \"nope\"\n",
            5,
            "checks[0].reference",
        );
        check_error(
            "[[notify]]\ntype = \"webhook\"\nurl = \"mailto:a@b\"\n",
            3,
            "notify[0].url",
        );
    }

    #[test]
    fn check_type_errors_come_from_the_parser_with_their_line() {
        // Unknown type.
        let err = check_error("[[checks]]\nname = \"a\"\ntype = \"ping\"\n", 3, "checks[0].type");
        assert!(err.contains("unknown variant `ping`"), "{err}");
        // Bad expect_status.
        let err = check_error(
            "[[checks]]\nname = \"a\"\ntype = \"http\"\nurl = \"http://x\"\nexpect_status = \"2xx\"\n",
            5,
            "checks[0].expect_status",
        );
        assert!(err.contains("\"2xx\" is not a status code"), "{err}");
        // Unknown key.
        let err = check_error(
            "[[checks]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\nretry = 2\n",
            5,
            "checks[0].retry",
        );
        assert!(err.contains("unknown field `retry`"), "{err}");
        check_error(
            "[[notify]]\ntype = \"pigeon\"\nurl = \"http://x\"\n",
            2,
            "notify[0].type",
        );
        // A missing name names the entry.
        let err = parse("[[checks]]\ntype = \"tcp\"\naddress = \"h:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing field `name`"), "{err}");
        assert!(err.starts_with("vigil.toml:1:"), "{err}");
    }

    #[test]
    fn check_rules() {
        let base = "[[checks]]\nname = \"a\"\ntype = \"tcp\"\naddress = \"h:1\"\n";
        for (extra, key, words) in [
            ("interval = \"500ms\"\n", "interval", "out of range"),
            ("interval = \"2h\"\n", "interval", "out of range"),
            ("retries = 11\n", "retries", "more than 10"),
            ("failure_threshold = 0\n", "failure_threshold", "out of range"),
            ("confirm = 0\n", "confirm", "out of range"),
            ("reset_timeout = \"100ms\"\n", "reset_timeout", "out of range"),
            ("keyword = \"ok\"\n", "keyword", "is for http checks, not tcp"),
            ("chain_id = 1\n", "chain_id", "is for ethereum checks"),
            ("send = \"x\"\n", "send", "is for websocket checks"),
            ("url = \"http://x\"\n", "url", "not a url"),
        ] {
            let err = check_error(&format!("{base}{extra}"), 5, &format!("checks[0].{key}"));
            assert!(err.contains(words), "{extra}: {err}");
        }
        let err = check_error(&base.replace("\"a\"", "\"My Check\""), 2, "checks[0].name");
        assert!(err.contains("a-z, 0-9"), "{err}");
        check_error(&base.replace("\"a\"", "\"memory\""), 2, "checks[0].name");
        check_error(&base.replace("h:1", "nohost"), 4, "checks[0].address");
        let eth = "[[checks]]\nname = \"e\"\ntype = \"ethereum\"\nurl = \"http://x\"\nmax_lag_blocks = 3\n";
        let err = check_error(eth, 5, "checks[0].max_lag_blocks");
        assert!(err.contains("needs a `reference`"), "{err}");
    }

    #[test]
    fn missing_file_is_a_clear_error() {
        let err = Config::load(Path::new("/nonexistent/vigil.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read config file /nonexistent/vigil.toml"),
            "{err}"
        );
    }
}

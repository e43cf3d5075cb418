//! The TOML config file (`--config FILE`). Every section and key is
//! optional; Vigil runs with no config at all. Unknown keys are errors, so a
//! typo is reported instead of silently ignored, and every error names the
//! file, the line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// Everything the config file can set.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub collector: CollectorConfig,
    pub thresholds: Thresholds,
    pub live: LiveConfig,
    pub history: HistoryConfig,
}

/// How long the history store keeps each resolution.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// Every sample (one per collector interval).
    #[serde(with = "humantime_serde")]
    pub raw_retention: Duration,
    /// One-minute rollups (min, max, avg, last, count).
    #[serde(with = "humantime_serde")]
    pub minute_retention: Duration,
    /// One-hour rollups.
    #[serde(with = "humantime_serde")]
    pub hour_retention: Duration,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        let day = Duration::from_secs(86_400);
        HistoryConfig {
            raw_retention: day * 2,
            minute_retention: day * 90,
            hour_retention: day * 730,
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
    pub top_processes: usize,
}

impl Default for CollectorConfig {
    fn default() -> Self {
        CollectorConfig {
            interval: Duration::from_secs(1),
            top_processes: 5,
        }
    }
}

/// Percentages past which a resource is degraded or down.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub memory_degraded_pct: f64,
    pub memory_down_pct: f64,
    pub storage_degraded_pct: f64,
    pub storage_down_pct: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            memory_degraded_pct: 90.0,
            memory_down_pct: 98.0,
            storage_degraded_pct: 90.0,
            storage_down_pct: 98.0,
        }
    }
}

/// The `/ws` live stream.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LiveConfig {
    /// How far back a reconnecting client can resume (`/ws?since=SEQ`).
    #[serde(with = "humantime_serde")]
    pub replay_window: Duration,
    /// Browser origins allowed to open `/ws` besides the page's own, e.g.
    /// `"https://dash.example.com"` when Vigil sits behind a proxy.
    pub allowed_origins: Vec<String>,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            replay_window: Duration::from_secs(300),
            allowed_origins: Vec::new(),
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
        Ok(config)
    }

    fn validate(&self) -> Result<(), (&'static str, String)> {
        let interval = self.collector.interval;
        if interval < Duration::from_millis(100) || interval > Duration::from_secs(3600) {
            return Err((
                "collector.interval",
                format!("{interval:?} is out of range (100ms to 1h)"),
            ));
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

/// Where the last segment of a dotted key is set, for errors found after
/// parsing. Good enough for this flat schema: the first line that assigns
/// the key.
fn key_span(text: &str, key: &str) -> Option<std::ops::Range<usize>> {
    let name = key.rsplit('.').next()?;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with(name) && trimmed[name.len()..].trim_start().starts_with('=') {
            let start = offset + (line.len() - trimmed.len());
            return Some(start..start + name.len());
        }
        offset += line.len();
    }
    None
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

//! This host as the web app queries it: implements the app's per-feature
//! query traits ([`MetricsQuery`], [`HealthQuery`], [`ChecksQuery`]) over
//! the hub, the sample bus, the health monitor, the checks and the history
//! store. Provided to server functions as Leptos context by the router.

use std::sync::Arc;

use std::time::Duration;

use app::checks::{CheckDetail, CheckSummary, ChecksError, ChecksQuery, Uptime, UptimeBar, RECENT_ROUNDS};
use app::health::{HealthError, HealthQuery, HealthReport};
use app::metrics::{Latest, MetricsError, MetricsQuery, Range, SeriesInfo, Snapshot};

use crate::health::Monitor;
use crate::live::Hub;
use crate::signals::SampleBus;
use crate::store::{History, StoreError};

/// Answers the app's queries from the live state.
pub(crate) struct LocalHost {
    pub(crate) hub: Arc<Hub>,
    pub(crate) bus: Arc<SampleBus>,
    pub(crate) monitor: Arc<Monitor>,
    pub(crate) history: Arc<History>,
    pub(crate) checks: Arc<crate::signals::CheckBus>,
    pub(crate) recent: Arc<crate::checks::recent::Recent>,
    /// Each check's uptime, for a short while: the list asks for every
    /// check's, and three range queries per check add up.
    pub(crate) uptimes: moka::sync::Cache<String, Uptime>,
}

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// How long a computed uptime is reused.
pub(crate) const UPTIME_TTL: Duration = Duration::from_secs(30);

/// Uptime over the last 24 h, 7 d and 30 d. Spans end at the next whole
/// minute, so that repeated asks within a minute hit the store's cache.
fn uptime(history: &History, check: &str, now: i64) -> Uptime {
    let to = (now / 60_000 + 1) * 60_000;
    let span = |days: i64| history.uptime_buckets(check, to - days * DAY, to, 1, now)[0];
    Uptime {
        day: span(1),
        week: span(7),
        month: span(30),
    }
}

/// [`uptime`] through `cache`. A check with no stored round yet is not
/// cached: its first rounds should show as soon as they are written.
fn cached_uptime(cache: &moka::sync::Cache<String, Uptime>, history: &History, check: &str, now: i64) -> Uptime {
    if let Some(hit) = cache.get(check) {
        return hit;
    }
    let fresh = uptime(history, check, now);
    if fresh.month.is_some() {
        cache.insert(check.to_string(), fresh);
    }
    fresh
}

/// `n` bars of `width` ms each, the last one holding `now`.
fn bars(history: &History, check: &str, width: i64, n: u32, now: i64) -> Vec<UptimeBar> {
    let to = (now / width + 1) * width;
    let from = to - width * i64::from(n);
    history
        .uptime_buckets(check, from, to, n, now)
        .into_iter()
        .enumerate()
        .map(|(i, pct)| UptimeBar {
            t: from + i as i64 * width,
            pct,
        })
        .collect()
}

impl LocalHost {
    /// This host in the fleet list, named `name`: from its latest sample
    /// and its health rollup.
    pub(crate) fn summary(&self, name: &str) -> app::fleet::HostSummary {
        let sample = self.bus.latest();
        let report = self.monitor.report();
        let reason = report
            .components
            .iter()
            .filter(|c| c.status == report.status && c.status != app::health::Status::Up)
            .map(|c| format!("{}: {}", c.name, c.reason))
            .next()
            .unwrap_or_default();
        app::fleet::HostSummary {
            name: name.to_string(),
            last_seen: sample.as_ref().map(|s| s.ts),
            cpu_percent: sample.as_ref().map(|s| f64::from(s.cpu.total)),
            memory_percent: sample.as_ref().map(|s| s.memory.used_pct()),
            disk: sample.as_ref().and_then(|s| {
                crate::health::fullest(&s.disks).map(|d| app::fleet::DiskFill {
                    mount: d.mount.clone(),
                    percent: d.used_pct(),
                })
            }),
            status: report.status,
            reason,
            local: true,
        }
    }

    /// The newest sample; before the first one, metrics are unavailable.
    fn latest_sample(&self) -> Result<Arc<app::metrics::Sample>, MetricsError> {
        self.bus
            .latest()
            .ok_or_else(|| MetricsError::Unavailable("no sample collected yet".into()))
    }

    /// Every check's uptime, computed off the async workers where not cached.
    async fn uptimes(&self, names: Vec<String>) -> Result<Vec<Uptime>, ChecksError> {
        let history = self.history.clone();
        let cache = self.uptimes.clone();
        let now = crate::signals::clock::now_ms();
        tokio::task::spawn_blocking(move || {
            names
                .iter()
                .map(|name| cached_uptime(&cache, &history, name, now))
                .collect()
        })
        .await
        .map_err(|e| ChecksError::Unavailable(format!("uptime task: {e}")))
    }
}

#[async_trait::async_trait]
impl MetricsQuery for LocalHost {
    async fn snapshot(&self) -> Result<Snapshot, MetricsError> {
        Ok(Snapshot::clone(&self.hub.snapshot()))
    }

    async fn series(&self) -> Result<Vec<SeriesInfo>, MetricsError> {
        let sample = self.latest_sample()?;
        let mut series = crate::catalog::series(&sample);
        let checks = self.checks.snapshot();
        series.extend(crate::catalog::check_series(checks.iter().map(|c| c.name.as_str())));
        Ok(series)
    }

    async fn latest(&self, series: &str) -> Result<Latest, MetricsError> {
        let sample = self.latest_sample()?;
        let value =
            crate::catalog::value(&sample, series).ok_or_else(|| MetricsError::UnknownSeries(series.to_string()))?;
        Ok(Latest {
            series: series.to_string(),
            ts: sample.ts,
            value,
        })
    }

    async fn range(&self, series: &str, from: i64, to: i64, points: u32) -> Result<Range, MetricsError> {
        let metric =
            crate::catalog::metric_of(series).ok_or_else(|| MetricsError::UnknownSeries(series.to_string()))?;
        let history = self.history.clone();
        let name = series.to_string();
        let now = crate::signals::clock::now_ms();
        let answer = tokio::task::spawn_blocking(move || history.range(&name, metric.unit, from, to, points, now))
            .await
            .map_err(|e| MetricsError::Unavailable(format!("range query task: {e}")))?;
        match answer {
            Ok(Some(range)) => Ok(Range::clone(&range)),
            // Known now but not written yet (the first second, or a check
            // before its first round): no points.
            Ok(None)
                if self
                    .bus
                    .latest()
                    .is_some_and(|s| crate::catalog::value(&s, series).is_some())
                    || series
                        .split_once('.')
                        .is_some_and(|(_, check)| self.checks.get(check).is_some()) =>
            {
                Ok(Range {
                    series: series.to_string(),
                    unit: metric.unit,
                    from,
                    to,
                    step_ms: 0,
                    tier: "raw".into(),
                    points: Vec::new(),
                })
            }
            Ok(None) => Err(MetricsError::UnknownSeries(series.to_string())),
            Err(StoreError::Closed) => Err(MetricsError::Unavailable("the history store is not open".into())),
            Err(err) => Err(MetricsError::Unavailable(err.to_string())),
        }
    }
}

#[async_trait::async_trait]
impl ChecksQuery for LocalHost {
    async fn list(&self) -> Result<Vec<CheckSummary>, ChecksError> {
        let states = self.checks.snapshot();
        let uptimes = self.uptimes(states.iter().map(|s| s.name.clone()).collect()).await?;
        Ok(states
            .into_iter()
            .zip(uptimes)
            .map(|(state, uptime)| CheckSummary {
                recent: self.recent.rounds(&state.name, RECENT_ROUNDS),
                state,
                uptime,
            })
            .collect())
    }

    async fn detail(&self, name: &str) -> Result<CheckDetail, ChecksError> {
        let mut detail = self
            .recent
            .detail(&self.checks, name)
            .ok_or_else(|| ChecksError::UnknownCheck(name.to_string()))?;
        let history = self.history.clone();
        let cache = self.uptimes.clone();
        let check = name.to_string();
        let now = crate::signals::clock::now_ms();
        let (uptime, hours, days, latency, stored) = tokio::task::spawn_blocking(move || {
            // One check: fresh figures, which the list then reuses.
            let uptime = uptime(&history, &check, now);
            cache.insert(check.clone(), uptime);
            let latency = history
                .range(
                    &app::checks::latency_series(&check),
                    app::metrics::Unit::Seconds,
                    now - DAY,
                    now,
                    144,
                    now,
                )
                .ok()
                .flatten()
                .map(|r| r.points.clone())
                .unwrap_or_default();
            (
                uptime,
                bars(&history, &check, HOUR, 24, now),
                bars(&history, &check, DAY, 30, now),
                latency,
                history.transitions(&check, 50),
            )
        })
        .await
        .map_err(|e| ChecksError::Unavailable(format!("check detail task: {e}")))?;
        detail.uptime = uptime;
        detail.hours = hours;
        detail.days = days;
        detail.latency_day = latency;
        // The store keeps changes across restarts; memory has the newest
        // ones even when the store is closed or behind.
        if let Ok(mut stored) = stored {
            for t in detail.transitions.drain(..) {
                if !stored.iter().any(|s| s.ts == t.ts && s.to == t.to) {
                    stored.push(t);
                }
            }
            stored.sort_by_key(|t| t.ts);
            detail.transitions = stored;
        }
        Ok(detail)
    }
}

#[async_trait::async_trait]
impl HealthQuery for LocalHost {
    async fn health(&self) -> Result<HealthReport, HealthError> {
        Ok(self.monitor.report())
    }
}

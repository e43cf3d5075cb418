//! The engine as the web app sees it: implements the app's per-feature
//! query traits ([`MetricsQuery`], [`HealthQuery`]) over the hub, the sample
//! bus and the health monitor. Provided to server functions as Leptos
//! context by the router.

use std::sync::Arc;

use app::health::{HealthError, HealthQuery, HealthReport};
use app::metrics::{Latest, MetricsError, MetricsQuery, Range, SeriesInfo, Snapshot};

use crate::bus::SampleBus;
use crate::health::Monitor;
use crate::live::Hub;
use crate::store::{History, StoreError};

/// Answers the app's queries from the live state.
pub struct Engine {
    pub hub: Arc<Hub>,
    pub bus: Arc<SampleBus>,
    pub monitor: Arc<Monitor>,
    pub history: Arc<History>,
    pub checks: Arc<crate::checks::Checks>,
    pub recent: Arc<crate::checks::recent::Recent>,
}

impl Engine {
    /// The newest sample; before the first one, metrics are unavailable.
    fn latest_sample(&self) -> Result<Arc<app::metrics::Sample>, MetricsError> {
        self.bus
            .latest()
            .ok_or_else(|| MetricsError::Unavailable("no sample collected yet".into()))
    }

    /// One check with its recent history; `None` for an unknown name.
    pub fn check(&self, name: &str) -> Option<app::checks::CheckDetail> {
        self.recent.detail(&self.checks, name)
    }
}

#[async_trait::async_trait]
impl MetricsQuery for Engine {
    async fn snapshot(&self) -> Result<Snapshot, MetricsError> {
        Ok(Snapshot::clone(&self.hub.snapshot()))
    }

    async fn series(&self) -> Result<Vec<SeriesInfo>, MetricsError> {
        let sample = self.latest_sample()?;
        Ok(crate::catalog::series(&sample))
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
        let now = crate::collect::now_ms();
        let answer = tokio::task::spawn_blocking(move || history.range(&name, metric.unit, from, to, points, now))
            .await
            .map_err(|e| MetricsError::Unavailable(format!("range query task: {e}")))?;
        match answer {
            Ok(Some(range)) => Ok(Range::clone(&range)),
            // Known now but not written yet (the first second): no points.
            Ok(None)
                if self
                    .bus
                    .latest()
                    .is_some_and(|s| crate::catalog::value(&s, series).is_some()) =>
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
impl HealthQuery for Engine {
    async fn health(&self) -> Result<HealthReport, HealthError> {
        Ok(self.monitor.report())
    }
}

//! The engine as the web app sees it: implements the app's per-feature
//! query traits ([`MetricsQuery`], [`HealthQuery`]) over the hub, the sample
//! bus and the health monitor. Provided to server functions as Leptos
//! context by the router.

use std::sync::Arc;

use app::health::{HealthError, HealthQuery, HealthReport};
use app::metrics::{Latest, MetricsError, MetricsQuery, SeriesInfo, Snapshot};

use crate::bus::SampleBus;
use crate::health::Monitor;
use crate::live::Hub;

/// Answers the app's queries from the live state.
pub struct Engine {
    pub hub: Arc<Hub>,
    pub bus: Arc<SampleBus>,
    pub monitor: Arc<Monitor>,
}

#[async_trait::async_trait]
impl MetricsQuery for Engine {
    async fn snapshot(&self) -> Result<Snapshot, MetricsError> {
        Ok(Snapshot::clone(&self.hub.snapshot()))
    }

    async fn series(&self) -> Result<Vec<SeriesInfo>, MetricsError> {
        let sample = self
            .bus
            .latest()
            .ok_or_else(|| MetricsError::Unavailable("no sample collected yet".into()))?;
        Ok(crate::catalog::series(&sample))
    }

    async fn latest(&self, series: &str) -> Result<Latest, MetricsError> {
        let sample = self
            .bus
            .latest()
            .ok_or_else(|| MetricsError::Unavailable("no sample collected yet".into()))?;
        let value =
            crate::catalog::value(&sample, series).ok_or_else(|| MetricsError::UnknownSeries(series.to_string()))?;
        Ok(Latest {
            series: series.to_string(),
            ts: sample.ts,
            value,
        })
    }
}

#[async_trait::async_trait]
impl HealthQuery for Engine {
    async fn health(&self) -> Result<HealthReport, HealthError> {
        Ok(self.monitor.report())
    }
}

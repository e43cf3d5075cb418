//! The engine as the web app sees it: implements [`app::engine::Engine`] on
//! top of the hub and the health rollup.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use app::engine::Engine;
use app::health::HealthReport;
use app::metrics::Snapshot;
use tokio_util::sync::CancellationToken;

use crate::config::Thresholds;
use crate::health;
use crate::hub::Hub;

/// Answers the app's queries from the live state.
pub struct VigilEngine {
    pub hub: Arc<Hub>,
    pub thresholds: Thresholds,
    pub shutdown: CancellationToken,
}

impl VigilEngine {
    pub fn health_report(&self) -> HealthReport {
        let sample = self.hub.current();
        health::rollup(
            &health::Inputs {
                now_ms: crate::collector::now_ms(),
                interval: self.hub.options().interval,
                sample: sample.as_deref(),
                clients: self.hub.stats.clients.load(Ordering::Relaxed),
                shutting_down: self.shutdown.is_cancelled(),
            },
            &self.thresholds,
        )
    }
}

impl Engine for VigilEngine {
    fn snapshot(&self) -> Snapshot {
        Snapshot::clone(&self.hub.snapshot())
    }

    fn health(&self) -> HealthReport {
        self.health_report()
    }
}

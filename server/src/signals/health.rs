//! The health bus: every rollup worth announcing (a status changed, or its
//! reasons moved a while ago), and the latest one. The health monitor
//! publishes; the live hub turns each into a `health` frame.

use std::sync::{Arc, RwLock};

use app::health::HealthReport;
use tokio::sync::broadcast;

/// Announced rollups are rare: a subscriber that falls this far behind
/// only needs the latest.
const CAPACITY: usize = 16;

/// Monitor -> live stream.
pub struct HealthBus {
    tx: broadcast::Sender<Arc<HealthReport>>,
    latest: RwLock<Option<Arc<HealthReport>>>,
}

impl HealthBus {
    pub(crate) fn new() -> Arc<HealthBus> {
        let (tx, _) = broadcast::channel(CAPACITY);
        Arc::new(HealthBus {
            tx,
            latest: RwLock::new(None),
        })
    }

    /// Announces a rollup to every subscriber and makes it the latest.
    pub(crate) fn publish(&self, report: HealthReport) {
        let report = Arc::new(report);
        *self.latest.write().unwrap_or_else(|e| e.into_inner()) = Some(report.clone());
        let _ = self.tx.send(report);
    }

    /// Every rollup announced from now on.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<HealthReport>> {
        self.tx.subscribe()
    }

    /// The last rollup announced, if any.
    pub(crate) fn latest(&self) -> Option<Arc<HealthReport>> {
        self.latest.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

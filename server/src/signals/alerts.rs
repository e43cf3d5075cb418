//! The alerts bus: the pending and firing alerts each time they change,
//! published by the alerts engine; the live hub turns each into an
//! `alerts` frame (and keeps the latest for snapshots).

use std::sync::Arc;

use app::alerts::AlertsLive;
use tokio::sync::watch;

/// The alerts engine -> the live hub. A watch: only the latest matters.
pub struct AlertsBus {
    tx: watch::Sender<Arc<AlertsLive>>,
}

impl AlertsBus {
    pub(crate) fn new() -> Arc<AlertsBus> {
        Arc::new(AlertsBus {
            tx: watch::Sender::new(Arc::new(AlertsLive::default())),
        })
    }

    /// Publishes the alerts when they differ from the latest.
    pub(crate) fn publish(&self, live: AlertsLive) {
        self.tx.send_if_modified(|current| {
            if **current == live {
                return false;
            }
            *current = Arc::new(live);
            true
        });
    }

    /// The latest, and every change from now on.
    pub(crate) fn subscribe(&self) -> watch::Receiver<Arc<AlertsLive>> {
        self.tx.subscribe()
    }
}

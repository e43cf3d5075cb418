//! The alerts bus: the pending and firing alerts each time they change,
//! published by the alerts engine; the live hub turns each into an
//! `alerts` frame (and keeps the latest for snapshots).

use std::sync::Arc;

use app::alerts::{Alert, AlertsLive};
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

    /// Publishes the alerts when they tell something new (see
    /// [`same_news`]).
    pub(crate) fn publish(&self, live: AlertsLive) {
        self.tx.send_if_modified(|current| {
            if same_news(current, &live) {
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

/// Whether `a` and `b` tell the same: the same alerts in the same states,
/// with the same mutes, and the same forecasts. A value that moves while
/// an alert stays pending or firing is no news (the sample frames carry
/// it; the alerts page and API read it fresh): a disk pending at 91 % must
/// not add an `alerts` frame to every `sample` frame.
fn same_news(a: &AlertsLive, b: &AlertsLive) -> bool {
    let key = |x: &Alert| {
        (
            x.name.clone(),
            x.instance.clone(),
            x.state,
            x.severity,
            x.since,
            x.fired_at,
            x.resolved_at,
            x.silenced,
            x.muted_by.clone(),
        )
    };
    a.forecasts == b.forecasts
        && a.alerts.len() == b.alerts.len()
        && a.alerts.iter().zip(&b.alerts).all(|(x, y)| key(x) == key(y))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::alerts::{AlertState, Severity};

    fn disk(value: f64, state: AlertState) -> AlertsLive {
        AlertsLive {
            alerts: vec![Alert {
                name: "disk-full".into(),
                instance: "filesystem_used_percent.root".into(),
                state,
                severity: Severity::Warning,
                value: Some(value),
                threshold: Some(90.0),
                since: 1,
                fired_at: None,
                resolved_at: None,
                message: format!("at {value}"),
                check: None,
                reason: String::new(),
                silenced: false,
                muted_by: None,
            }],
            forecasts: Vec::new(),
        }
    }

    #[test]
    fn a_moving_value_is_no_news_a_new_state_is() {
        let bus = AlertsBus::new();
        let mut rx = bus.subscribe();
        bus.publish(disk(91.0, AlertState::Pending));
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        bus.publish(disk(91.4, AlertState::Pending));
        assert!(!rx.has_changed().unwrap(), "the value alone moved");
        bus.publish(disk(91.4, AlertState::Firing));
        assert!(rx.has_changed().unwrap(), "it fired");
        bus.publish(AlertsLive::default());
        assert!(rx.borrow_and_update().alerts.is_empty());
    }
}

//! The page's live data as separate signals, so that a tick redraws only
//! what depends on what changed: the current sample, the sparkline history,
//! the health rollup and the host facts each have their own signal.
//!
//! One [`LiveStore`] per page load, created by the app shell and shared as
//! context; the browser's live client ([`super::socket`]) writes into it,
//! components read from it.

use leptos::prelude::*;

use super::machine::ConnState;
use super::protocol::{SparkHistory, Step};
use crate::alerts::AlertsLive;
use crate::checks::CheckBoard;
use crate::health::HealthReport;
use crate::metrics::{Point, Sample, Snapshot, SystemInfo};

/// What the host is and how often it is sampled; changes only on a reset.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HostFacts {
    pub host: String,
    pub system: SystemInfo,
    pub interval_ms: u64,
}

/// The live client's data and state.
#[derive(Clone, Copy)]
pub struct LiveStore {
    /// The connection state shown on every page.
    pub state: RwSignal<ConnState>,
    /// The server ended this page's session: the client has stopped and
    /// the page offers to sign in again.
    pub signed_out: RwSignal<bool>,
    /// The `seq` of the last frame applied; reconnects resume from it.
    pub seq: RwSignal<u64>,
    pub facts: RwSignal<HostFacts>,
    pub current: RwSignal<Sample>,
    pub history: RwSignal<SparkHistory>,
    pub health: RwSignal<Option<HealthReport>>,
    /// The health checks, seeded by the checks pages and moved by `checks` frames.
    pub checks: RwSignal<CheckBoard>,
    /// The pending and firing alerts: from snapshots and `alerts` frames.
    pub alerts: RwSignal<Option<AlertsLive>>,
}

impl LiveStore {
    pub fn new() -> Self {
        LiveStore {
            state: RwSignal::new(ConnState::Connecting),
            signed_out: RwSignal::new(false),
            seq: RwSignal::new(0),
            facts: RwSignal::new(HostFacts::default()),
            current: RwSignal::new(Sample::default()),
            history: RwSignal::new(SparkHistory::new([])),
            health: RwSignal::new(None),
            checks: RwSignal::new(CheckBoard::default()),
            alerts: RwSignal::new(None),
        }
    }

    /// Fills the store from a server-rendered snapshot, unless the live
    /// client already holds something newer.
    pub fn seed(&self, snapshot: Snapshot) {
        if snapshot.seq > self.seq.get_untracked() {
            self.apply(Step::Reset(Box::new(snapshot)));
        }
    }

    /// Applies one step of the stream.
    pub fn apply(&self, step: Step) {
        match step {
            Step::Reset(s) => {
                let s = *s;
                let facts = HostFacts {
                    host: s.host,
                    system: s.system,
                    interval_ms: s.interval_ms,
                };
                if self.facts.with_untracked(|f| *f != facts) {
                    self.facts.set(facts);
                }
                self.seq.set(s.seq);
                self.current.set(s.current);
                self.history.set(SparkHistory::new(s.history));
                if s.health.is_some() {
                    self.health.set(s.health);
                }
                if s.alerts.is_some() {
                    self.alerts.set(s.alerts);
                }
            }
            Step::Sample(sample) => {
                let point = Point::from(&sample);
                self.history.update(|h| h.push(point));
                self.current.set(sample);
            }
            Step::Health(report) => self.health.set(Some(report)),
            // Changes always follow a whole report (the snapshot carries
            // the rollup the stream's changes start from).
            Step::HealthChanges(changes) => self.health.update(|health| {
                if let Some(report) = health {
                    report.apply(changes);
                }
            }),
            Step::Checks(update) => self.checks.update(|board| board.apply(&update)),
            Step::Alerts(alerts) => self.alerts.set(Some(alerts)),
            Step::Nothing | Step::Gap | Step::Corrupt => {}
        }
    }
}

impl Default for LiveStore {
    fn default() -> Self {
        Self::new()
    }
}

/// The app's live store.
pub fn use_live() -> LiveStore {
    expect_context::<LiveStore>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(seq: u64, host: &str) -> Snapshot {
        Snapshot {
            seq,
            host: host.into(),
            history: vec![Point {
                t: 1,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn health_changes_move_the_rollup_the_store_holds() {
        use crate::health::{ComponentHealth, HealthChanges, HealthReport, Status};
        let component = |status, reason: &str| ComponentHealth {
            name: "api".into(),
            status,
            reason: reason.into(),
        };
        let owner = Owner::new();
        owner.with(|| {
            let store = LiveStore::new();
            let changes = HealthChanges {
                status: Status::Down,
                ts: 2,
                changed: vec![component(Status::Down, "refused")],
            };
            store.apply(Step::HealthChanges(changes.clone()));
            assert_eq!(store.health.get_untracked(), None, "no report to change yet");
            store.apply(Step::Health(HealthReport::from_components(
                1,
                vec![component(Status::Up, "ok")],
            )));
            store.apply(Step::HealthChanges(changes));
            let health = store.health.get_untracked().unwrap();
            assert_eq!((health.status, health.ts), (Status::Down, 2));
            assert_eq!(health.components, vec![component(Status::Down, "refused")]);
        });
    }

    #[test]
    fn seeding_keeps_what_is_newer() {
        let owner = Owner::new();
        owner.with(|| {
            let store = LiveStore::new();
            store.seed(snapshot(10, "a"));
            assert_eq!(
                (store.seq.get_untracked(), store.facts.get_untracked().host),
                (10, "a".into())
            );
            store.seed(snapshot(5, "old"));
            assert_eq!(store.facts.get_untracked().host, "a", "an older snapshot is ignored");
            store.apply(Step::Sample(Sample {
                ts: 2,
                ..Default::default()
            }));
            assert_eq!(store.current.get_untracked().ts, 2);
            assert_eq!(store.history.with_untracked(|h| h.points.len()), 2);
        });
    }
}

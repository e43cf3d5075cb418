//! Vigil's own health rollup: the live hub, the collector, memory and
//! storage, each judged against the configured thresholds.
//!
//! [`Monitor::report`] computes the rollup on demand (for `/healthz`, the
//! API and `/metrics`); [`announce`] subscribes to the sample bus and puts a
//! `health` frame on the live stream when a status changes, so pages learn
//! of it at once without polling.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::health::{ComponentHealth, HealthReport, Status};
use app::metrics::Sample;
use serde::Deserialize;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::signals::stats::SelfStats;
use crate::signals::{CheckBus, CheckEvent, HealthBus, SampleBus};

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

/// While only the reasons change (memory 41.2 % -> 41.3 %), a new `health`
/// frame goes out at most this often; a status change goes out at once.
pub(crate) const REASONS_EVERY: Duration = Duration::from_secs(10);

/// The rollup of Vigil's own components, from the latest sample and the
/// sinks' counters.
pub(crate) struct Monitor {
    pub(crate) bus: Arc<SampleBus>,
    pub(crate) stats: SelfStats,
    /// Outside services: each check is a component of the rollup.
    pub(crate) checks: Arc<CheckBus>,
    pub(crate) thresholds: Thresholds,
    /// The collector interval, to tell a stale collector.
    pub(crate) interval: Duration,
    pub(crate) shutdown: CancellationToken,
}

impl Monitor {
    /// The rollup as of now: Vigil's own components and every check.
    pub(crate) fn report(&self) -> HealthReport {
        let own = self.own_report();
        let mut components = own.components;
        components.extend(self.checks.components());
        HealthReport::from_components(own.ts, components)
    }

    /// Vigil's own components only: what `/healthz` answers for, so that a
    /// dead outside service does not make Vigil itself look down.
    pub(crate) fn own_report(&self) -> HealthReport {
        let sample = self.bus.latest();
        let store = &self.stats.store;
        let open_error = store.open_error();
        rollup(
            &Inputs {
                now_ms: crate::signals::clock::now_ms(),
                interval: self.interval,
                sample: sample.as_deref(),
                clients: self.stats.live.clients.load(Ordering::Relaxed),
                shutting_down: self.shutdown.is_cancelled(),
                store: StoreInputs {
                    open_error: open_error.as_deref(),
                    failing_batches: store.failing_batches.load(Ordering::Relaxed),
                    last_error: store.last_error(),
                    last_write_ms: store.last_write_ms(),
                    bytes: store.bytes.load(Ordering::Relaxed),
                },
            },
            &self.thresholds,
        )
    }
}

/// Whether `next` is worth a `health` frame after `last` went out `since` ago.
pub(crate) fn should_announce(last: Option<&HealthReport>, next: &HealthReport, since: Duration) -> bool {
    let Some(last) = last else { return true };
    let same_statuses = last.components.len() == next.components.len()
        && last
            .components
            .iter()
            .zip(&next.components)
            .all(|(a, b)| a.name == b.name && a.status == b.status);
    if last.status != next.status || !same_statuses {
        return true;
    }
    let reasons_changed = last
        .components
        .iter()
        .zip(&next.components)
        .any(|(a, b)| a.reason != b.reason);
    reasons_changed && since >= REASONS_EVERY
}

/// Announces the first rollup on `reports` now, then keeps announcing (see
/// [`announce`]) as a task of `tasks` until `shutdown`.
pub fn start(
    monitor: Arc<Monitor>,
    reports: Arc<HealthBus>,
    shutdown: CancellationToken,
    tasks: &tokio_util::task::TaskTracker,
) {
    // Subscribed before the first report, so nothing after it is missed.
    let samples = monitor.bus.subscribe();
    let checks = monitor.checks.subscribe();
    reports.publish(monitor.report());
    tasks.spawn(announce(monitor, reports, samples, checks, shutdown));
}

/// Re-evaluates the rollup on every sample, on every announced check
/// transition, and every few seconds (so a collector that stopped is
/// noticed), and announces changes on the health bus.
async fn announce(
    monitor: Arc<Monitor>,
    reports: Arc<HealthBus>,
    mut samples: broadcast::Receiver<Arc<Sample>>,
    mut check_events: broadcast::Receiver<CheckEvent>,
    shutdown: CancellationToken,
) {
    // What start-up already announced.
    let mut last: Option<HealthReport> = reports.latest().map(|r| HealthReport::clone(&r));
    let mut last_at = Instant::now();
    let mut ticker = tokio::time::interval(Duration::from_secs(5));
    loop {
        let report = monitor.report();
        if should_announce(last.as_ref(), &report, last_at.elapsed()) {
            if last.as_ref().is_some_and(|l| l.status != report.status) {
                tracing::info!(status = report.status.as_str(), "health changed");
            }
            reports.publish(report.clone());
            last = Some(report);
            last_at = Instant::now();
        }
        // Wait for something that can change the rollup. A check's ordinary
        // rounds cannot (its announced status changes only by a transition),
        // so with many checks they cost a channel receive, not a rollup.
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = ticker.tick() => break,
                sample = samples.recv() => match sample {
                    Err(broadcast::error::RecvError::Closed) => return,
                    _ => break,
                },
                event = check_events.recv() => match event {
                    Ok(CheckEvent::Round(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return,
                    _ => break,
                },
            }
        }
    }
}

/// The history store's figures, as the rollup judges them.
#[derive(Clone, Debug, Default)]
pub(crate) struct StoreInputs<'a> {
    /// Why the store could not open, if it could not.
    pub(crate) open_error: Option<&'a str>,
    /// Batches that failed in a row, up to the last one.
    pub(crate) failing_batches: u64,
    /// Why the last one failed, while they fail.
    pub(crate) last_error: Option<String>,
    pub(crate) last_write_ms: f64,
    pub(crate) bytes: u64,
}

/// A batch write slower than this makes the store degraded.
const SLOW_WRITE_MS: f64 = 500.0;

/// What the rollup looks at, gathered from the engine.
pub(crate) struct Inputs<'a> {
    pub(crate) now_ms: i64,
    pub(crate) interval: Duration,
    pub(crate) sample: Option<&'a Sample>,
    pub(crate) clients: u64,
    pub(crate) shutting_down: bool,
    pub(crate) store: StoreInputs<'a>,
}

/// Computes the rollup.
pub(crate) fn rollup(inputs: &Inputs, t: &Thresholds) -> HealthReport {
    let mut components = vec![hub(inputs), collector(inputs)];
    match inputs.sample {
        Some(s) => {
            components.push(memory(s, t));
            components.push(storage(s, t));
        }
        None => {
            for name in ["memory", "storage"] {
                components.push(component(name, Status::Unknown, "no sample collected yet".into()));
            }
        }
    }
    components.push(store(&inputs.store));
    HealthReport::from_components(inputs.now_ms, components)
}

fn store(s: &StoreInputs) -> ComponentHealth {
    if let Some(err) = s.open_error {
        return component("store", Status::Down, format!("no history: {err}"));
    }
    let size = app::format::bytes(s.bytes);
    match s.failing_batches {
        0 if s.last_write_ms > SLOW_WRITE_MS => component(
            "store",
            Status::Degraded,
            format!(
                "last write took {:.0} ms (slow above {SLOW_WRITE_MS:.0} ms); {size} on disk",
                s.last_write_ms
            ),
        ),
        0 => component(
            "store",
            Status::Up,
            format!("last write {:.1} ms; {size} on disk", s.last_write_ms),
        ),
        n @ 1..=4 => component(
            "store",
            Status::Degraded,
            format!("{n} writes failed in a row{}", why(s)),
        ),
        n => component(
            "store",
            Status::Down,
            format!("{n} writes failed in a row, history is being lost{}", why(s)),
        ),
    }
}

fn why(s: &StoreInputs) -> String {
    s.last_error
        .as_deref()
        .map_or_else(|| " (see the log)".into(), |e| format!(": {e}"))
}

fn component(name: &str, status: Status, reason: String) -> ComponentHealth {
    ComponentHealth {
        name: name.into(),
        status,
        reason,
    }
}

fn hub(i: &Inputs) -> ComponentHealth {
    if i.shutting_down {
        return component("websocket hub", Status::Down, "shutting down".into());
    }
    let plural = if i.clients == 1 { "" } else { "s" };
    component(
        "websocket hub",
        Status::Up,
        format!("{} live client{plural}", i.clients),
    )
}

fn collector(i: &Inputs) -> ComponentHealth {
    let Some(sample) = i.sample else {
        return component("collector", Status::Unknown, "no sample collected yet".into());
    };
    let age = Duration::from_millis((i.now_ms - sample.ts).max(0) as u64);
    let status = if age <= i.interval * 3 + Duration::from_secs(1) {
        Status::Up
    } else if age <= i.interval * 10 + Duration::from_secs(5) {
        Status::Degraded
    } else {
        Status::Down
    };
    let reason = format!(
        "last sample {:.1} s ago, took {:.1} ms",
        age.as_secs_f64(),
        sample.vigil.collector_ms
    );
    component("collector", status, reason)
}

pub(crate) fn judge(pct: f64, degraded: f64, down: f64) -> Status {
    if pct >= down {
        Status::Down
    } else if pct >= degraded {
        Status::Degraded
    } else {
        Status::Up
    }
}

fn memory(s: &Sample, t: &Thresholds) -> ComponentHealth {
    let pct = s.memory.used_pct();
    let status = judge(pct, t.memory_degraded_pct, t.memory_down_pct);
    let reason = format!(
        "{pct:.1}% used (degraded at {}%, down at {}%)",
        t.memory_degraded_pct, t.memory_down_pct
    );
    component("memory", status, reason)
}

/// The filesystem with the largest used share, as df counts it.
pub(crate) fn fullest(disks: &[app::metrics::Disk]) -> Option<&app::metrics::Disk> {
    disks.iter().max_by(|a, b| a.used_pct().total_cmp(&b.used_pct()))
}

fn storage(s: &Sample, t: &Thresholds) -> ComponentHealth {
    let Some(fullest) = fullest(&s.disks) else {
        return component("storage", Status::Unknown, "no filesystem found".into());
    };
    let pct = fullest.used_pct();
    let status = judge(pct, t.storage_degraded_pct, t.storage_down_pct);
    let reason = format!(
        "fullest is {} at {pct:.1}% of {} filesystem{} (degraded at {}%)",
        fullest.mount,
        s.disks.len(),
        if s.disks.len() == 1 { "" } else { "s" },
        t.storage_degraded_pct
    );
    component("storage", status, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::metrics::{Disk, Memory};

    /// Memory `mem_pct` % used; one filesystem per entry, used as `df` counts it.
    fn sample(mem_pct: u64, disk_pcts: &[u64]) -> Sample {
        Sample {
            ts: 10_000,
            memory: Memory {
                total: 100,
                used: mem_pct,
                ..Default::default()
            },
            disks: disk_pcts
                .iter()
                .enumerate()
                .map(|(i, p)| Disk {
                    mount: format!("/m{i}"),
                    total: 100,
                    used: *p,
                    available: 100 - *p,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn inputs(sample: Option<&Sample>, now_ms: i64) -> Inputs<'_> {
        Inputs {
            now_ms,
            interval: Duration::from_secs(1),
            sample,
            clients: 1,
            shutting_down: false,
            store: StoreInputs::default(),
        }
    }

    fn status_of(r: &HealthReport, name: &str) -> Status {
        r.components.iter().find(|c| c.name == name).unwrap().status
    }

    #[test]
    fn healthy_host_is_up() {
        let s = sample(50, &[10, 20]);
        let r = rollup(&inputs(Some(&s), 10_500), &Thresholds::default());
        assert_eq!(r.status, Status::Up, "{r:?}");
        assert_eq!(r.components.len(), 5);
    }

    #[test]
    fn thresholds_decide_memory_and_storage() {
        let s = sample(91, &[10, 99]);
        let r = rollup(&inputs(Some(&s), 10_000), &Thresholds::default());
        assert_eq!(status_of(&r, "memory"), Status::Degraded);
        assert_eq!(status_of(&r, "storage"), Status::Down);
        assert!(r.components.iter().any(|c| c.reason.contains("/m1 at 99.0%")));
        assert_eq!(r.status, Status::Down);
    }

    #[test]
    fn storage_is_judged_on_the_percent_df_shows() {
        // 100 GB: 20 used, 5 available, 75 reserved for root. df: 80 % used.
        let mut s = sample(10, &[]);
        s.disks.push(Disk {
            mount: "/".into(),
            total: 100,
            used: 20,
            available: 5,
            reserved: 75,
            ..Default::default()
        });
        let r = rollup(&inputs(Some(&s), 10_000), &Thresholds::default());
        assert_eq!(status_of(&r, "storage"), Status::Up, "{r:?}");
        assert!(r.components.iter().any(|c| c.reason.contains("/ at 80.0%")), "{r:?}");
    }

    #[test]
    fn a_stale_collector_degrades_then_goes_down() {
        let s = sample(10, &[10]);
        let t = Thresholds::default();
        assert_eq!(
            status_of(&rollup(&inputs(Some(&s), 14_000), &t), "collector"),
            Status::Up
        );
        assert_eq!(
            status_of(&rollup(&inputs(Some(&s), 20_000), &t), "collector"),
            Status::Degraded
        );
        assert_eq!(
            status_of(&rollup(&inputs(Some(&s), 60_000), &t), "collector"),
            Status::Down
        );
    }

    #[test]
    fn a_status_change_is_announced_at_once_reasons_only_now_and_then() {
        let t = Thresholds::default();
        let calm = rollup(&inputs(Some(&sample(50, &[10])), 10_000), &t);
        assert!(should_announce(None, &calm, Duration::ZERO), "the first one goes out");
        let busier = rollup(&inputs(Some(&sample(51, &[10])), 10_000), &t);
        assert!(!should_announce(Some(&calm), &calm, REASONS_EVERY), "nothing changed");
        assert!(!should_announce(Some(&calm), &busier, Duration::from_secs(1)));
        assert!(should_announce(Some(&calm), &busier, REASONS_EVERY));
        let full = rollup(&inputs(Some(&sample(95, &[10])), 10_000), &t);
        assert!(should_announce(Some(&calm), &full, Duration::ZERO), "memory degraded");
    }

    #[test]
    fn the_store_is_judged_by_its_writes() {
        let status = |store: StoreInputs| {
            let s = sample(10, &[10]);
            let mut i = inputs(Some(&s), 10_000);
            i.store = store;
            status_of(&rollup(&i, &Thresholds::default()), "store")
        };
        assert_eq!(status(StoreInputs::default()), Status::Up);
        let slow = StoreInputs {
            last_write_ms: 900.0,
            ..Default::default()
        };
        assert_eq!(status(slow), Status::Degraded);
        let failing = |n| StoreInputs {
            failing_batches: n,
            ..Default::default()
        };
        assert_eq!(status(failing(1)), Status::Degraded);
        assert_eq!(status(failing(5)), Status::Down);
        let closed = StoreInputs {
            open_error: Some("disk full"),
            ..Default::default()
        };
        assert_eq!(status(closed), Status::Down);
    }

    #[test]
    fn nothing_sampled_is_unknown() {
        let r = rollup(&inputs(None, 0), &Thresholds::default());
        assert_eq!(r.status, Status::Unknown);
    }
}

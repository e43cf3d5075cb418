//! Vigil's own health rollup: the live hub, the collector, memory and
//! storage, each judged against the configured thresholds.

use std::time::Duration;

use app::health::{ComponentHealth, HealthReport, Status};
use app::metrics::Sample;

use crate::config::Thresholds;

/// What the rollup looks at, gathered from the engine.
pub struct Inputs<'a> {
    pub now_ms: i64,
    pub interval: Duration,
    pub sample: Option<&'a Sample>,
    pub clients: u64,
    pub shutting_down: bool,
}

/// Computes the rollup.
pub fn rollup(inputs: &Inputs, t: &Thresholds) -> HealthReport {
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
    HealthReport::from_components(inputs.now_ms, components)
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

fn judge(pct: f64, degraded: f64, down: f64) -> Status {
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

fn storage(s: &Sample, t: &Thresholds) -> ComponentHealth {
    let Some(fullest) = s.disks.iter().max_by(|a, b| a.used_pct().total_cmp(&b.used_pct())) else {
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
        assert_eq!(r.components.len(), 4);
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
    fn nothing_sampled_is_unknown() {
        let r = rollup(&inputs(None, 0), &Thresholds::default());
        assert_eq!(r.status, Status::Unknown);
    }
}

//! Series for the push: every value of every catalog metric in a sample,
//! plus the two series of each check, each named as `/metrics` names it
//! (`vigil_<catalog name>`) with `job="vigil"`, `instance="<host>"` and the
//! metric's own labels. Label sets are interned once; the queue holds only
//! a series index, a timestamp and a value per sample.

use std::collections::HashMap;
use std::fmt::Write as _;

use app::checks::CheckState;
use app::metrics::Sample;

use super::proto::Label;
use crate::catalog::{self, Metric, CHECK_METRICS};

/// The `job` label of every pushed series.
pub(crate) const JOB: &str = "vigil";

/// One queued value: which series, when (Unix ms), what.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Queued {
    pub(crate) series: u32,
    pub(crate) ts: i64,
    pub(crate) value: f64,
}

/// The label sets seen so far, by index.
pub struct Series {
    instance: String,
    ids: HashMap<Box<str>, u32>,
    labels: Vec<Vec<Label>>,
    /// The newest timestamp queued per series: a receiver refuses a whole
    /// request for one out-of-order or duplicate sample, so those are
    /// never queued.
    newest: Vec<i64>,
    /// How many of the series are check series.
    checks: usize,
    /// Reused to build lookup keys without allocating.
    key: String,
}

impl Series {
    pub fn new(instance: String) -> Series {
        Series {
            instance,
            ids: HashMap::new(),
            labels: Vec::new(),
            newest: Vec::new(),
            checks: 0,
            key: String::new(),
        }
    }

    /// The labels of series `id`, sorted by name (`__name__` first).
    pub(crate) fn labels(&self, id: u32) -> &[Label] {
        &self.labels[id as usize]
    }

    /// Series known so far.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether no series is known yet.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Check series known so far.
    pub(crate) fn check_series(&self) -> usize {
        self.checks
    }

    /// The points of one sample, in catalog order; returns how many series
    /// the sample has (non-finite values included: the series exists).
    pub fn sample(&mut self, sample: &Sample, mut push: impl FnMut(Queued)) -> usize {
        let mut count = 0;
        catalog::for_each(sample, |metric, values, value| {
            count += 1;
            if let Some(point) = self.point(metric, values, sample.ts, value) {
                push(point);
            }
        });
        count
    }

    /// The points of one check round: `check_up` (1 answering, 0 down,
    /// nothing for unknown) and `check_latency_seconds`, as the history
    /// store keeps them.
    pub(crate) fn round(&mut self, round: &CheckState, mut push: impl FnMut(Queued)) {
        if round.ts <= 0 {
            return;
        }
        let up = crate::catalog::check_up(round.observed);
        let latency = round.latency_ms.map(|ms| ms / 1e3);
        for (metric, value) in CHECK_METRICS.iter().zip([up, latency]) {
            let before = self.labels.len();
            if let Some(point) = value.and_then(|v| self.point(metric, &[&round.name], round.ts, v)) {
                push(point);
            }
            self.checks += self.labels.len() - before;
        }
    }

    /// One value as a point: finite, rounded to the metric's precision (the
    /// same values the history keeps), newer than the series' last one.
    fn point(&mut self, metric: &Metric, values: &[&str], ts: i64, value: f64) -> Option<Queued> {
        if !value.is_finite() {
            return None;
        }
        let series = self.id(metric, values);
        let newest = &mut self.newest[series as usize];
        if ts <= *newest {
            return None;
        }
        *newest = ts;
        // 100, 1 or 1e6: exact, so the division rounds correctly.
        let scale = (1.0 / metric.precision()).round();
        Some(Queued {
            series,
            ts,
            value: (value * scale).round() / scale,
        })
    }

    fn id(&mut self, metric: &Metric, values: &[&str]) -> u32 {
        self.key.clear();
        self.key.push_str(metric.name);
        for v in values {
            let _ = write!(self.key, "\u{0}{v}");
        }
        if let Some(id) = self.ids.get(self.key.as_str()) {
            return *id;
        }
        let id = self.labels.len() as u32;
        self.ids.insert(self.key.as_str().into(), id);
        self.labels.push(label_set(metric, values, &self.instance));
        self.newest.push(i64::MIN);
        id
    }
}

/// `__name__`, `job`, `instance` and the metric's own labels, sorted by
/// name as the remote-write spec requires (all of Vigil's label names are
/// lowercase, so `__name__` sorts first).
fn label_set(metric: &Metric, values: &[&str], instance: &str) -> Vec<Label> {
    let label = |name: &str, value: &str| Label {
        name: name.to_string(),
        value: value.to_string(),
    };
    let mut labels = vec![
        label("__name__", &format!("vigil_{}", metric.name)),
        label("job", JOB),
        label("instance", instance),
    ];
    labels.extend(metric.labels.iter().zip(values).map(|(n, v)| label(n, v)));
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

#[cfg(test)]
mod tests {
    use app::checks::{CheckKind, CheckState};
    use app::health::Status;
    use app::metrics::{Disk, Memory};

    use super::*;

    fn names(labels: &[Label]) -> Vec<(&str, &str)> {
        labels.iter().map(|l| (l.name.as_str(), l.value.as_str())).collect()
    }

    fn sample(ts: i64) -> Sample {
        Sample {
            ts,
            memory: Memory {
                total: 1000,
                used: 250,
                ..Default::default()
            },
            disks: vec![Disk {
                mount: "/".into(),
                device: "vda".into(),
                fs: "ext4".into(),
                total: 100,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn every_catalog_value_becomes_a_point_with_its_labels() {
        let mut series = Series::new("alpha".into());
        let mut points = Vec::new();
        let count = series.sample(&sample(1_000), |p| points.push(p));
        let mut expected = 0;
        catalog::for_each(&sample(1_000), |_, _, _| expected += 1);
        assert_eq!(count, expected);
        assert_eq!(points.len(), expected);
        assert_eq!(series.len(), expected);
        let find = |name: &str| {
            (0..series.len() as u32)
                .find(|id| series.labels(*id)[0].value == name)
                .unwrap_or_else(|| panic!("no {name}"))
        };
        let used = find("vigil_memory_used_bytes");
        assert_eq!(
            names(series.labels(used)),
            [
                ("__name__", "vigil_memory_used_bytes"),
                ("instance", "alpha"),
                ("job", "vigil")
            ]
        );
        assert_eq!(points.iter().find(|p| p.series == used).unwrap().value, 250.0);
        let fs = find("vigil_filesystem_size_bytes");
        assert_eq!(
            names(series.labels(fs)),
            [
                ("__name__", "vigil_filesystem_size_bytes"),
                ("device", "vda"),
                ("fs", "ext4"),
                ("instance", "alpha"),
                ("job", "vigil"),
                ("mount", "/")
            ]
        );
        // Counters keep `_total`, as `/metrics` shows them.
        find("vigil_ws_frames_sent_total");

        // The next sample reuses the same series.
        let mut again = Vec::new();
        series.sample(&sample(2_000), |p| again.push(p));
        assert_eq!(series.len(), expected);
        assert_eq!(
            again.iter().map(|p| p.series).collect::<Vec<_>>(),
            points.iter().map(|p| p.series).collect::<Vec<_>>()
        );
    }

    #[test]
    fn non_finite_and_stale_values_are_skipped() {
        let mut series = Series::new("alpha".into());
        let mut s = sample(5_000);
        s.vigil.broadcast_lag_ms = f64::NAN;
        let mut points = Vec::new();
        let count = series.sample(&s, |p| points.push(p));
        assert_eq!(points.len(), count - 1);
        assert!(points.iter().all(|p| p.value.is_finite()));
        // Same timestamp again, or older: the receiver would refuse it.
        let mut again = Vec::new();
        series.sample(&sample(5_000), |p| again.push(p));
        series.sample(&sample(4_000), |p| again.push(p));
        // Only the series that was NaN before takes its first point.
        assert_eq!(again.len(), 1);
    }

    #[test]
    fn a_check_round_becomes_up_and_latency() {
        let mut series = Series::new("alpha".into());
        let round = |observed, latency_ms, ts| CheckState {
            name: "api".into(),
            kind: CheckKind::Http,
            target: "http://x".into(),
            status: observed,
            observed,
            reason: String::new(),
            latency_ms,
            subs: vec![],
            breaker: Default::default(),
            ts,
            since: 0,
            consecutive_failures: 0,
        };
        let mut points = Vec::new();
        series.round(&round(Status::Degraded, Some(12.5), 1_000), |p| points.push(p));
        assert_eq!(series.check_series(), 2);
        let labels: Vec<_> = points.iter().map(|p| names(series.labels(p.series))).collect();
        assert_eq!(
            labels,
            [
                vec![
                    ("__name__", "vigil_check_up"),
                    ("check", "api"),
                    ("instance", "alpha"),
                    ("job", "vigil")
                ],
                vec![
                    ("__name__", "vigil_check_latency_seconds"),
                    ("check", "api"),
                    ("instance", "alpha"),
                    ("job", "vigil")
                ],
            ]
        );
        assert_eq!(points.iter().map(|p| p.value).collect::<Vec<_>>(), [1.0, 0.0125]);
        assert!(points.iter().all(|p| p.ts == 1_000));

        points.clear();
        series.round(&round(Status::Down, None, 2_000), |p| points.push(p));
        assert_eq!(points.iter().map(|p| p.value).collect::<Vec<_>>(), [0.0]);
        points.clear();
        series.round(&round(Status::Unknown, None, 3_000), |p| points.push(p));
        series.round(&round(Status::Up, Some(1.0), 0), |p| points.push(p));
        assert!(points.is_empty(), "unknown and not-yet-run rounds have no value");
        assert_eq!(series.check_series(), 2);
    }
}

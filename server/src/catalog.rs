//! The metric catalog: every series Vigil keeps, declared once with its
//! name, help, unit, kind, labels and how to read it from a [`Sample`].
//! `/metrics`, `/api/v1/series` (and the explorer's picker), and the
//! history store all derive from this table, so a new figure is one entry.
//!
//! Names follow Prometheus conventions (unit in the name, `_total` for
//! counters) and appear in `/metrics` with a `vigil_` prefix. A series is a
//! metric plus the value of its key label (the first one): see
//! [`app::metrics::SeriesInfo::name`].

use std::collections::BTreeMap;

use app::metrics::{slug, Disk, Kind, NetIface, RemoteWriteFigures, Sample, SeriesInfo, Unit};

/// Called once per series value: the label values (in the order of
/// [`Metric::labels`]) and the value.
pub(crate) type Emit<'a> = dyn FnMut(&[&str], f64) + 'a;

/// One catalog entry.
pub(crate) struct Metric {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) unit: Unit,
    pub(crate) kind: Kind,
    /// Label names; the first tells the series apart and names them.
    pub(crate) labels: &'static [&'static str],
    /// Emits every value of this metric in `sample`.
    pub(crate) read: fn(&Sample, &mut Emit),
}

impl Metric {
    /// The smallest step the history store keeps for this metric: values
    /// are stored as integer multiples of it (a person reads percentages to
    /// two decimals and byte counts to the byte).
    pub(crate) fn precision(&self) -> f64 {
        match self.unit {
            Unit::Percent | Unit::PerSecond | Unit::Number => 0.01,
            Unit::Bytes | Unit::BytesPerSecond => 1.0,
            Unit::Seconds => 1e-6,
        }
    }

    /// The series name for these label values.
    pub(crate) fn series_name(&self, labels: &[&str]) -> String {
        match labels.first() {
            Some(key) => format!("{}.{}", self.name, slug(key)),
            None => self.name.to_string(),
        }
    }
}

const DISK_LABELS: &[&str] = &["mount", "device", "fs"];
const NET_LABELS: &[&str] = &["interface"];

fn disks(s: &Sample, emit: &mut Emit, f: fn(&Disk) -> f64) {
    for d in &s.disks {
        emit(&[&d.mount, &d.device, &d.fs], f(d));
    }
}

fn nets(s: &Sample, emit: &mut Emit, f: fn(&NetIface) -> f64) {
    for n in &s.net {
        emit(&[&n.name], f(n));
    }
}

/// The push's figures, when `[remote_write]` is set.
fn remote_write(s: &Sample, emit: &mut Emit, f: fn(&RemoteWriteFigures) -> f64) {
    if let Some(r) = &s.vigil.remote_write {
        emit(&[], f(r));
    }
}

macro_rules! metric {
    ($name:literal, $unit:ident, $kind:ident, $labels:expr, $help:literal, $read:expr) => {
        Metric {
            name: $name,
            help: $help,
            unit: Unit::$unit,
            kind: Kind::$kind,
            labels: $labels,
            read: $read,
        }
    };
    ($name:literal, $unit:ident, $help:literal, |$s:ident| $value:expr) => {
        metric!($name, $unit, Gauge, &[], $help, |$s, emit| emit(&[], $value as f64))
    };
}

/// Every series Vigil keeps.
pub(crate) static CATALOG: &[Metric] = &[
    metric!(
        "cpu_usage_percent",
        Percent,
        "CPU usage of all cores, in percent.",
        |s| s.cpu.total
    ),
    metric!(
        "cpu_core_usage_percent",
        Percent,
        Gauge,
        &["core"],
        "CPU usage per logical core, in percent.",
        |s, emit| {
            for (i, v) in s.cpu.cores.iter().enumerate() {
                emit(&[&i.to_string()], *v as f64);
            }
        }
    ),
    metric!(
        "load_average",
        Number,
        Gauge,
        &["period"],
        "Run-queue load average.",
        |s, emit| {
            emit(&["1m"], s.load.one);
            emit(&["5m"], s.load.five);
            emit(&["15m"], s.load.fifteen);
        }
    ),
    metric!("memory_total_bytes", Bytes, "Total RAM.", |s| s.memory.total),
    metric!("memory_used_bytes", Bytes, "Used RAM.", |s| s.memory.used),
    metric!("memory_available_bytes", Bytes, "RAM available for new work.", |s| s
        .memory
        .available),
    metric!("memory_used_percent", Percent, "Used RAM in percent of total.", |s| s
        .memory
        .used_pct()),
    metric!("swap_total_bytes", Bytes, "Total swap.", |s| s.memory.swap_total),
    metric!("swap_used_bytes", Bytes, "Used swap.", |s| s.memory.swap_used),
    metric!(
        "filesystem_size_bytes",
        Bytes,
        Gauge,
        DISK_LABELS,
        "Filesystem size.",
        |s, e| disks(s, e, |d| d.total as f64)
    ),
    metric!(
        "filesystem_used_bytes",
        Bytes,
        Gauge,
        DISK_LABELS,
        "Filesystem space used (size minus free blocks, as df counts it).",
        |s, e| { disks(s, e, |d| d.used as f64) }
    ),
    metric!(
        "filesystem_available_bytes",
        Bytes,
        Gauge,
        DISK_LABELS,
        "Filesystem space an unprivileged user can still write.",
        |s, e| { disks(s, e, |d| d.available as f64) }
    ),
    metric!(
        "filesystem_reserved_bytes",
        Bytes,
        Gauge,
        DISK_LABELS,
        "Free filesystem space only root may write.",
        |s, e| { disks(s, e, |d| d.reserved as f64) }
    ),
    metric!(
        "filesystem_used_percent",
        Percent,
        Gauge,
        DISK_LABELS,
        "Used space in percent, as df shows it: used / (used + available).",
        |s, e| { disks(s, e, |d| d.used_pct()) }
    ),
    metric!(
        "disk_read_bytes_per_second",
        BytesPerSecond,
        Gauge,
        DISK_LABELS,
        "Bytes read per second from the device.",
        |s, e| { disks(s, e, |d| d.read_bps) }
    ),
    metric!(
        "disk_written_bytes_per_second",
        BytesPerSecond,
        Gauge,
        DISK_LABELS,
        "Bytes written per second to the device.",
        |s, e| { disks(s, e, |d| d.write_bps) }
    ),
    metric!(
        "disk_reads_per_second",
        PerSecond,
        Gauge,
        DISK_LABELS,
        "Read operations per second.",
        |s, e| disks(s, e, |d| d.read_iops)
    ),
    metric!(
        "disk_writes_per_second",
        PerSecond,
        Gauge,
        DISK_LABELS,
        "Write operations per second.",
        |s, e| disks(s, e, |d| d.write_iops)
    ),
    metric!(
        "network_receive_bytes_per_second",
        BytesPerSecond,
        Gauge,
        NET_LABELS,
        "Bytes received per second.",
        |s, e| { nets(s, e, |n| n.rx_bps) }
    ),
    metric!(
        "network_transmit_bytes_per_second",
        BytesPerSecond,
        Gauge,
        NET_LABELS,
        "Bytes sent per second.",
        |s, e| { nets(s, e, |n| n.tx_bps) }
    ),
    metric!("ws_clients", Number, "Live WebSocket clients connected.", |s| s
        .vigil
        .ws_clients),
    metric!(
        "ws_frames_per_second",
        PerSecond,
        "Frames written to live clients per second.",
        |s| s.vigil.frames_per_s
    ),
    metric!(
        "ws_frames_sent_total",
        Number,
        Counter,
        &[],
        "Frames written to live clients.",
        |s, emit| { emit(&[], s.vigil.frames_sent_total as f64) }
    ),
    metric!(
        "ws_lagged_total",
        Number,
        Counter,
        &[],
        "Times a live client fell behind and was resynced.",
        |s, emit| { emit(&[], s.vigil.lagged_total as f64) }
    ),
    metric!(
        "broadcast_lag_seconds",
        Seconds,
        "Longest publish-to-write delay of a live frame in the last tick.",
        |s| { s.vigil.broadcast_lag_ms / 1000.0 }
    ),
    metric!(
        "collector_duration_seconds",
        Seconds,
        "How long the last host sample took.",
        |s| s.vigil.collector_ms / 1000.0
    ),
    metric!("resident_memory_bytes", Bytes, "Vigil's own resident memory.", |s| s
        .vigil
        .rss),
    metric!(
        "cpu_self_percent",
        Percent,
        "Vigil's own CPU usage, in percent of one core.",
        |s| s.vigil.cpu
    ),
    metric!(
        "remote_write_queue_samples",
        Number,
        Gauge,
        &[],
        "Samples waiting to be pushed to the remote-write receiver.",
        |s, emit| remote_write(s, emit, |r| r.queued as f64)
    ),
    metric!(
        "remote_write_queue_capacity_samples",
        Number,
        Gauge,
        &[],
        "Most samples the remote-write queue holds; past it the oldest are dropped.",
        |s, emit| remote_write(s, emit, |r| r.capacity as f64)
    ),
    metric!(
        "remote_write_sent_samples_total",
        Number,
        Counter,
        &[],
        "Samples the remote-write receiver accepted.",
        |s, emit| remote_write(s, emit, |r| r.sent_total as f64)
    ),
    metric!(
        "remote_write_failed_sends_total",
        Number,
        Counter,
        &[],
        "Remote-write requests that failed and were retried.",
        |s, emit| remote_write(s, emit, |r| r.failed_sends_total as f64)
    ),
    metric!(
        "remote_write_dropped_samples_total",
        Number,
        Counter,
        &[],
        "Samples never pushed: the queue was full, or the receiver refused them for good.",
        |s, emit| remote_write(s, emit, |r| r.dropped_total as f64)
    ),
    metric!(
        "remote_write_send_duration_seconds",
        Seconds,
        Gauge,
        &[],
        "How long the last remote-write request took.",
        |s, emit| remote_write(s, emit, |r| r.last_send_ms / 1000.0)
    ),
];

/// Calls `f` for every series value in `sample`, catalog order.
pub(crate) fn for_each(sample: &Sample, mut f: impl FnMut(&Metric, &[&str], f64)) {
    for metric in CATALOG {
        (metric.read)(sample, &mut |labels, value| f(metric, labels, value));
    }
}

/// The series present in `sample`, described for the API.
pub fn series(sample: &Sample) -> Vec<SeriesInfo> {
    let mut out = Vec::new();
    for_each(sample, |m, labels, _| {
        out.push(SeriesInfo {
            name: m.series_name(labels),
            metric: m.name.to_string(),
            help: m.help.to_string(),
            unit: m.unit,
            kind: m.kind,
            labels: m
                .labels
                .iter()
                .zip(labels)
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        });
    });
    out
}

/// The catalog metric a series name belongs to.
pub(crate) fn metric_of(series: &str) -> Option<&'static Metric> {
    let metric_name = series.split('.').next()?;
    CATALOG.iter().chain(CHECK_METRICS).find(|m| m.name == metric_name)
}

/// The series of the health checks, one of each per configured check
/// (`check_up.NAME`, `check_latency_seconds.NAME`). The store writes them
/// from check rounds, not from samples, so they read nothing from a sample;
/// `/metrics` encodes the checks' latest state itself.
pub(crate) static CHECK_METRICS: &[Metric] = &[
    metric!(
        "check_up",
        Number,
        Gauge,
        &["check"],
        "1 for a check round that found the target answering (up or degraded), 0 for one that found it down; its average over a span is the uptime.",
        |_s, _emit| {}
    ),
    metric!(
        "check_latency_seconds",
        Seconds,
        Gauge,
        &["check"],
        "How long a check round's last attempt took.",
        |_s, _emit| {}
    ),
];

/// The `check_up` value of a round that observed `status`: 1 when the
/// target answered (up or degraded), 0 when down, none when unknown.
pub(crate) fn check_up(status: app::health::Status) -> Option<f64> {
    use app::health::Status;
    match status {
        Status::Up | Status::Degraded => Some(1.0),
        Status::Down => Some(0.0),
        Status::Unknown => None,
    }
}

/// The series of the checks named `checks`, for the series list.
pub(crate) fn check_series<'a>(checks: impl IntoIterator<Item = &'a str>) -> Vec<SeriesInfo> {
    let mut out = Vec::new();
    for name in checks {
        for m in CHECK_METRICS {
            out.push(SeriesInfo {
                name: m.series_name(&[name]),
                metric: m.name.to_string(),
                help: m.help.to_string(),
                unit: m.unit,
                kind: m.kind,
                labels: BTreeMap::from([("check".to_string(), name.to_string())]),
            });
        }
    }
    out
}

/// The value of one series in `sample`, by its series name.
pub(crate) fn value(sample: &Sample, series: &str) -> Option<f64> {
    let metric = metric_of(series)?;
    let mut found = None;
    (metric.read)(sample, &mut |labels, v| {
        if found.is_none() && metric.series_name(labels) == series {
            found = Some(v);
        }
    });
    found
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use app::metrics::{Cpu, Memory};

    use super::*;

    fn sample() -> Sample {
        Sample {
            cpu: Cpu {
                total: 12.5,
                cores: vec![10.0, 15.0],
            },
            memory: Memory {
                total: 200,
                used: 50,
                ..Default::default()
            },
            disks: vec![
                Disk {
                    mount: "/".into(),
                    device: "vda".into(),
                    total: 100,
                    used: 20,
                    available: 75,
                    reserved: 5,
                    ..Default::default()
                },
                Disk {
                    mount: "/var/lib".into(),
                    total: 10,
                    ..Default::default()
                },
            ],
            net: vec![NetIface {
                name: "eth0".into(),
                rx_bps: 3.0,
                tx_bps: 4.0,
            }],
            ..Default::default()
        }
    }

    #[test]
    fn names_are_unique_url_safe_and_prometheus_shaped() {
        let mut metrics = HashSet::new();
        for m in CATALOG {
            assert!(metrics.insert(m.name), "{} declared twice", m.name);
            assert!(m
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
            assert_eq!(m.kind == Kind::Counter, m.name.ends_with("_total"), "{}", m.name);
        }
        let series = series(&sample());
        let mut names = HashSet::new();
        for s in &series {
            assert!(names.insert(s.name.clone()), "{} twice", s.name);
            assert!(
                s.name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')),
                "{} is not URL-safe",
                s.name
            );
        }
        assert!(names.contains("filesystem_used_percent.root"));
        assert!(names.contains("filesystem_used_percent.var-lib"));
        assert!(names.contains("cpu_core_usage_percent.1"));
        assert!(names.contains("load_average.15m"));
        assert!(names.contains("network_receive_bytes_per_second.eth0"));
        let root = series.iter().find(|s| s.name == "filesystem_used_bytes.root").unwrap();
        assert_eq!(root.labels.get("device").map(String::as_str), Some("vda"));
        assert_eq!(root.unit, Unit::Bytes);
    }

    #[test]
    fn values_read_by_series_name() {
        let s = sample();
        assert_eq!(value(&s, "cpu_usage_percent"), Some(12.5));
        assert_eq!(value(&s, "cpu_core_usage_percent.1"), Some(15.0));
        assert_eq!(value(&s, "memory_used_percent"), Some(25.0));
        assert_eq!(value(&s, "filesystem_reserved_bytes.root"), Some(5.0));
        assert_eq!(value(&s, "network_transmit_bytes_per_second.eth0"), Some(4.0));
        assert_eq!(value(&s, "nope"), None);
        assert_eq!(value(&s, "cpu_core_usage_percent.9"), None);
    }
}

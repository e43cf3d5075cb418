//! `GET /metrics`: everything Vigil collects in the Prometheus text format,
//! encoded by prometheus-client from the latest sample at scrape time (no
//! second copy of the figures to keep in step).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::engine::VigilEngine;

/// The route an HTTP request matched: a route pattern such as `/healthz`,
/// or `(static)` for files and unknown paths (bounded label values).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabel {
    pub route: String,
}

/// Request latency by route (the performance monitor's HTTP side).
pub type HttpLatency = Family<RouteLabel, Histogram, fn() -> Histogram>;

/// Latency buckets from 0.5 ms to about 4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

pub fn http_latency() -> HttpLatency {
    Family::new_with_constructor(latency_histogram)
}

/// Builds the registry served at `/metrics`.
pub fn registry(engine: Arc<VigilEngine>, http: HttpLatency) -> Registry {
    let mut registry = Registry::with_prefix("vigil");
    registry.register_collector(Box::new(SampleCollector(engine)));
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by route.",
        http,
    );
    registry
}

/// Encodes the registry as text.
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

fn disk_labels(d: &app::metrics::Disk) -> Labels<'_> {
    vec![
        ("mount", d.mount.as_str()),
        ("device", d.device.as_str()),
        ("fs", d.fs.as_str()),
    ]
}

struct SampleCollector(Arc<VigilEngine>);

impl std::fmt::Debug for SampleCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SampleCollector")
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(e.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(e.encode_descriptor(name, help, None, metric.metric_type())?)
}

fn gauges<'a>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    series: impl IntoIterator<Item = (Labels<'a>, f64)>,
) -> std::fmt::Result {
    let mut family = e.encode_descriptor(name, help, None, MetricType::Gauge)?;
    for (labels, value) in series {
        family.encode_family(&labels)?.encode_gauge(&value)?;
    }
    Ok(())
}

impl Collector for SampleCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let engine = &self.0;
        let stats = &engine.hub.stats;
        counter(
            &mut e,
            "ws_frames_sent",
            "Frames written to live clients.",
            stats.frames_sent.load(Ordering::Relaxed),
        )?;
        counter(
            &mut e,
            "ws_lagged",
            "Times a live client fell behind and was resynced.",
            stats.lagged.load(Ordering::Relaxed),
        )?;
        gauge(
            &mut e,
            "ws_clients",
            "Live WebSocket clients connected.",
            stats.clients.load(Ordering::Relaxed) as f64,
        )?;
        let report = engine.health_report();
        gauges(
            &mut e,
            "health_status",
            "1 for the status each component is in (up, degraded, down, unknown).",
            report
                .components
                .iter()
                .map(|c| (vec![("component", c.name.as_str()), ("status", c.status.as_str())], 1.0)),
        )?;

        let sys = &engine.hub.options().system;
        gauges(
            &mut e,
            "host_info",
            "Always 1; the labels describe the host.",
            [(
                vec![
                    ("os", sys.os.as_str()),
                    ("kernel", sys.kernel.as_str()),
                    ("arch", sys.arch.as_str()),
                    ("cpu_model", sys.cpu_model.as_str()),
                ],
                1.0,
            )],
        )?;
        gauge(
            &mut e,
            "host_boot_time_seconds",
            "Unix time the host booted.",
            sys.boot_time as f64,
        )?;

        let Some(s) = engine.hub.current() else {
            return Ok(());
        };
        gauge(
            &mut e,
            "cpu_usage_percent",
            "CPU usage of all cores, in percent.",
            s.cpu.total as f64,
        )?;
        let cores: Vec<String> = (0..s.cpu.cores.len()).map(|i| i.to_string()).collect();
        gauges(
            &mut e,
            "cpu_core_usage_percent",
            "CPU usage per logical core, in percent.",
            s.cpu
                .cores
                .iter()
                .zip(&cores)
                .map(|(v, i)| (vec![("core", i.as_str())], *v as f64)),
        )?;
        gauges(
            &mut e,
            "load_average",
            "Run-queue load average.",
            [("1m", s.load.one), ("5m", s.load.five), ("15m", s.load.fifteen)].map(|(p, v)| (vec![("period", p)], v)),
        )?;
        let m = &s.memory;
        gauge(&mut e, "memory_total_bytes", "Total RAM.", m.total as f64)?;
        gauge(&mut e, "memory_used_bytes", "Used RAM.", m.used as f64)?;
        gauge(
            &mut e,
            "memory_available_bytes",
            "RAM available for new work.",
            m.available as f64,
        )?;
        gauge(&mut e, "swap_total_bytes", "Total swap.", m.swap_total as f64)?;
        gauge(&mut e, "swap_used_bytes", "Used swap.", m.swap_used as f64)?;
        let pids: Vec<String> = m.top.iter().map(|p| p.pid.to_string()).collect();
        gauges(
            &mut e,
            "process_top_memory_bytes",
            "Resident memory of the processes using the most.",
            m.top
                .iter()
                .zip(&pids)
                .map(|(p, pid)| (vec![("pid", pid.as_str()), ("name", p.name.as_str())], p.bytes as f64)),
        )?;

        type DiskField = fn(&app::metrics::Disk) -> f64;
        let disk_series: [(&str, &str, DiskField); 7] = [
            ("filesystem_size_bytes", "Filesystem size.", |d| d.total as f64),
            ("filesystem_used_bytes", "Filesystem space used.", |d| d.used as f64),
            ("filesystem_free_bytes", "Filesystem space available.", |d| {
                d.free as f64
            }),
            (
                "disk_read_bytes_per_second",
                "Bytes read per second from the device.",
                |d| d.read_bps,
            ),
            (
                "disk_written_bytes_per_second",
                "Bytes written per second to the device.",
                |d| d.write_bps,
            ),
            ("disk_reads_per_second", "Read operations per second.", |d| d.read_iops),
            ("disk_writes_per_second", "Write operations per second.", |d| {
                d.write_iops
            }),
        ];
        for (name, help, field) in disk_series {
            gauges(&mut e, name, help, s.disks.iter().map(|d| (disk_labels(d), field(d))))?;
        }
        gauges(
            &mut e,
            "network_receive_bytes_per_second",
            "Bytes received per second.",
            s.net.iter().map(|n| (vec![("interface", n.name.as_str())], n.rx_bps)),
        )?;
        gauges(
            &mut e,
            "network_transmit_bytes_per_second",
            "Bytes sent per second.",
            s.net.iter().map(|n| (vec![("interface", n.name.as_str())], n.tx_bps)),
        )?;
        let v = &s.vigil;
        gauge(
            &mut e,
            "broadcast_lag_seconds",
            "Longest publish-to-write delay of a live frame in the last tick.",
            v.broadcast_lag_ms / 1000.0,
        )?;
        gauge(
            &mut e,
            "collector_duration_seconds",
            "How long the last host sample took.",
            v.collector_ms / 1000.0,
        )?;
        gauge(
            &mut e,
            "resident_memory_bytes",
            "Vigil's own resident memory.",
            v.rss as f64,
        )?;
        gauge(
            &mut e,
            "cpu_self_percent",
            "Vigil's own CPU usage, in percent of one core.",
            v.cpu as f64,
        )?;
        gauge(
            &mut e,
            "last_sample_timestamp_seconds",
            "Unix time of the latest sample.",
            s.ts as f64 / 1000.0,
        )?;
        Ok(())
    }
}

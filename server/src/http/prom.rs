//! `GET /metrics`: everything Vigil collects in the Prometheus text format,
//! encoded by prometheus-client from the latest sample at scrape time
//! through the metric catalog (no second copy of the figures or their names).

use std::sync::Arc;

use app::metrics::{Kind, Sample, SystemInfo};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

use crate::catalog::{Metric, CATALOG};
use crate::checks::BreakerState;
use crate::health::Monitor;
use crate::http::serve::Connections;
use crate::signals::CheckBus;
use crate::signals::SampleBus;

/// The route an HTTP request matched: a route pattern such as `/healthz`,
/// or `(static)` for files and unknown paths (bounded label values).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabel {
    pub(crate) route: String,
}

/// Request latency by route (the performance monitor's HTTP side).
pub(crate) type HttpLatency = Family<RouteLabel, Histogram, fn() -> Histogram>;

/// Latency buckets from 0.5 ms to about 4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 14))
}

pub(crate) fn http_latency() -> HttpLatency {
    Family::new_with_constructor(latency_histogram)
}

/// Builds the registry served at `/metrics`.
pub(crate) fn registry(
    bus: Arc<SampleBus>,
    monitor: Arc<Monitor>,
    checks: Arc<CheckBus>,
    system: SystemInfo,
    http: HttpLatency,
    connections: Arc<Connections>,
    alerts: crate::alerts::Alerts,
) -> Registry {
    let mut registry = Registry::with_prefix("vigil");
    registry.register_collector(Box::new(SampleCollector { bus, monitor, system }));
    registry.register_collector(Box::new(CheckCollector { checks }));
    registry.register_collector(Box::new(ConnectionCollector { connections }));
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request, by route.",
        http,
    );
    let counters = alerts.counters();
    registry.register(
        "notifications_sent",
        "Notifications delivered, by channel (test messages included).",
        counters.sent,
    );
    registry.register(
        "notifications_failed",
        "Notifications given up on after their retries, by channel.",
        counters.failed,
    );
    registry.register_collector(Box::new(AlertsCollector { alerts }));
    registry
}

/// The alerts firing now, and how many of them are muted.
struct AlertsCollector {
    alerts: crate::alerts::Alerts,
}

impl std::fmt::Debug for AlertsCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AlertsCollector")
    }
}

impl Collector for AlertsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (firing, muted) = self.alerts.firing();
        for (name, help, value) in [
            (
                "alerts_firing",
                "Alert rule instances firing now (muted ones included).",
                firing,
            ),
            (
                "alerts_muted",
                "Firing alerts muted by a silence, a maintenance window or a down parent check.",
                muted,
            ),
        ] {
            let metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            prometheus_client::encoding::EncodeMetric::encode(
                &prometheus_client::metrics::gauge::ConstGauge::new(value as i64),
                metric,
            )?;
        }
        Ok(())
    }
}

/// Encodes the registry as text.
pub(crate) fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}

/// Encodes the latest sample (through the catalog), the health rollup and
/// the host facts at scrape time.
struct SampleCollector {
    bus: Arc<SampleBus>,
    monitor: Arc<Monitor>,
    system: SystemInfo,
}

impl std::fmt::Debug for SampleCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SampleCollector")
    }
}

type Labels<'a> = Vec<(&'static str, &'a str)>;

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> std::fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Gauge)?
        .encode_gauge(&value)
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

/// One catalog metric with every value it has in `sample`; nothing for a
/// metric without values (the remote-write figures while the push is off).
fn encode_metric(e: &mut DescriptorEncoder, metric: &Metric, sample: &Sample) -> std::fmt::Result {
    let mut any = false;
    (metric.read)(sample, &mut |_, _| any = true);
    if !any {
        return Ok(());
    }
    let (name, kind) = match metric.kind {
        // The encoder appends `_total` to counters itself.
        Kind::Counter => (metric.name.trim_end_matches("_total"), MetricType::Counter),
        Kind::Gauge => (metric.name, MetricType::Gauge),
    };
    let mut family = e.encode_descriptor(name, metric.help, None, kind)?;
    let mut result = Ok(());
    (metric.read)(sample, &mut |values, value| {
        if result.is_err() {
            return;
        }
        let labels: Labels = metric.labels.iter().copied().zip(values.iter().copied()).collect();
        let write = |m: &mut MetricEncoder| match metric.kind {
            Kind::Counter => m.encode_counter::<Labels, _, u64>(&(value as u64), None),
            Kind::Gauge => m.encode_gauge(&value),
        };
        // An empty label set would be written as `name{}`.
        result = if labels.is_empty() {
            write(&mut family)
        } else {
            family.encode_family(&labels).and_then(|mut m| write(&mut m))
        };
    });
    result
}

impl Collector for SampleCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let report = self.monitor.report();
        gauges(
            &mut e,
            "health_status",
            "1 for the status each component is in (up, degraded, down, unknown).",
            report
                .components
                .iter()
                .map(|c| (vec![("component", c.name.as_str()), ("status", c.status.as_str())], 1.0)),
        )?;

        let sys = &self.system;
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

        let Some(s) = self.bus.latest() else {
            return Ok(());
        };
        for metric in CATALOG {
            encode_metric(&mut e, metric, &s)?;
        }
        // Not a kept series (process ids come and go), but worth a scrape.
        let pids: Vec<String> = s.memory.top.iter().map(|p| p.pid.to_string()).collect();
        gauges(
            &mut e,
            "process_top_memory_bytes",
            "Resident memory of the processes using the most.",
            s.memory
                .top
                .iter()
                .zip(&pids)
                .map(|(p, pid)| (vec![("pid", pid.as_str()), ("name", p.name.as_str())], p.bytes as f64)),
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

/// Encodes every check's latest round at scrape time: whether it found the
/// target answering, its latency, its announced status and its breaker.
struct CheckCollector {
    checks: Arc<CheckBus>,
}

impl std::fmt::Debug for CheckCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckCollector")
    }
}

impl Collector for CheckCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let states = self.checks.snapshot();
        if states.is_empty() {
            return Ok(());
        }
        let probed = || states.iter().filter(|c| c.ts > 0);
        gauges(
            &mut e,
            "check_up",
            "1 when the check's last round found the target answering (up or degraded), 0 when down.",
            probed()
                .filter(|c| c.observed != app::health::Status::Unknown)
                .map(|c| {
                    let up = matches!(c.observed, app::health::Status::Up | app::health::Status::Degraded);
                    (vec![("check", c.name.as_str())], if up { 1.0 } else { 0.0 })
                }),
        )?;
        gauges(
            &mut e,
            "check_latency_seconds",
            "How long the check's last attempt took.",
            probed().filter_map(|c| Some((vec![("check", c.name.as_str())], c.latency_ms? / 1000.0))),
        )?;
        gauges(
            &mut e,
            "check_status",
            "1 for the status each check is announced in (up, degraded, down, unknown).",
            states
                .iter()
                .map(|c| (vec![("check", c.name.as_str()), ("status", c.status.as_str())], 1.0)),
        )?;
        gauges(
            &mut e,
            "check_breaker_state",
            "1 for the state each check's circuit breaker is in (closed, open, half_open).",
            states.iter().map(|c| {
                let state = match c.breaker {
                    BreakerState::Closed => "closed",
                    BreakerState::Open => "open",
                    BreakerState::HalfOpen => "half_open",
                };
                (vec![("check", c.name.as_str()), ("state", state)], 1.0)
            }),
        )?;
        gauges(
            &mut e,
            "check_consecutive_failures",
            "Rounds in a row that found the target down.",
            states
                .iter()
                .map(|c| (vec![("check", c.name.as_str())], c.consecutive_failures as f64)),
        )?;
        Ok(())
    }
}

/// The accept loop's figures: open connections, the cap, and what the
/// limits did.
#[derive(Debug)]
struct ConnectionCollector {
    connections: Arc<Connections>,
}

impl Collector for ConnectionCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let c = &self.connections;
        gauge(
            &mut e,
            "http_connections",
            "HTTP connections open now, live sockets included.",
            c.open() as f64,
        )?;
        gauge(
            &mut e,
            "http_connections_max",
            "Most HTTP connections open at once (server.max_connections).",
            c.max() as f64,
        )?;
        counter(
            &mut e,
            "http_connections_capped",
            "Times new connections had to wait because the cap was reached.",
            c.capped(),
        )?;
        counter(
            &mut e,
            "http_connections_timed_out",
            "Connections closed by the header or idle timeout.",
            c.timed_out(),
        )?;
        counter(
            &mut e,
            "http_connections_refused_per_address",
            "Connections closed at accept: their address had server.max_connections_per_address open.",
            c.refused_per_address(),
        )
    }
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    e.encode_descriptor(name, help, None, MetricType::Counter)?
        .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)
}

//! Alerting figures for BENCHMARKS.md, against a real Vigil started here:
//!
//!     cargo bench -p vigil --bench alerts            # optimized
//!     ALERTS_BENCH_FLIPS=10 cargo bench -p vigil --bench alerts
//!
//! 1. **Threshold to message.** A check (1 s interval, 500 ms timeout,
//!    `confirm = 1`) of a local target that the bench flips between 200
//!    and 503; a webhook receiver notes when each firing message arrives.
//!    Two figures per flip: from the flip (the next round, the probe, the
//!    engine, the group wait, the POST) and from the breach as the engine
//!    saw it (the alert's `since`: the group wait and the delivery). Once
//!    with the default `group_wait` (1 s) and once with 0.
//! 2. **1,000 rules every second.** A Vigil sampling every second with
//!    1,000 series rules that never fire, beside one with none, in turn
//!    (A B A B A B), CPU from `/proc/self/stat` over 20 s each and RSS.
//! 3. **Forecast error on a steady fill.** Twelve hours of history written
//!    in the store's own format (a point a minute, rising at a set rate
//!    with ±0.3 points of noise, ending at the root filesystem's real
//!    level), a Vigil started on it, and its forecast of when the
//!    filesystem is full against the line the data was drawn from.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[path = "../tests/common/fill.rs"]
mod fill;

use app::checks::CheckKind;
use axum::extract::State;
use axum::routing::{any, get};
use axum::Router;
use serde_json::Value;
use vigil::checks::config::CheckConfig;
use vigil::config::{AlertConfig, Config, NotifyConfig};
use vigil::{Options, Server};

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

async fn start(data: &std::path::Path, tune: impl FnOnce(&mut Config)) -> Server {
    let mut config = Config::default();
    config.collector.interval = Duration::from_secs(1);
    tune(&mut config);
    let mut options = Options::new("127.0.0.1:0".parse().unwrap(), data.join("data"), config);
    options.site_root = Some(data.join("no-site"));
    Server::start(options).await.expect("vigil starts")
}

async fn stop(server: Server) {
    server.shutdown();
    server.wait().await.expect("vigil stops");
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn quantile(v: &[f64], q: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * q).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

fn median(v: &[f64]) -> f64 {
    quantile(v, 0.5)
}

// ------------------------------------------------- 1. threshold to message

/// (arrived at, wall-clock ms, body) of each message.
type Inbox = Arc<Mutex<Vec<(Instant, i64, Value)>>>;

async fn latency(group_wait: Duration, flips: usize) -> (Vec<f64>, Vec<f64>) {
    let status = Arc::new(AtomicU16::new(200));
    let target = serve(
        Router::new()
            .fallback(get(|State(s): State<Arc<AtomicU16>>| async move {
                axum::http::StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
            }))
            .with_state(status.clone()),
    )
    .await;
    let inbox: Inbox = Arc::default();
    let receiver = serve(
        Router::new()
            .fallback(any(|State(inbox): State<Inbox>, body: axum::body::Bytes| async move {
                let json: Value = serde_json::from_slice(&body).unwrap_or_default();
                inbox.lock().unwrap().push((Instant::now(), now_ms(), json));
            }))
            .with_state(inbox.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |c| {
        let mut check = CheckConfig::new("api", CheckKind::Http);
        check.url = Some(format!("http://{target}/"));
        check.interval = Duration::from_secs(1);
        check.timeout = Some(Duration::from_millis(500));
        check.retries = 0;
        check.confirm = 1;
        c.checks = vec![check];
        c.notify = vec![NotifyConfig::webhook(&format!("http://{receiver}/hook"))];
        c.alerting.group_wait = group_wait;
        c.alerting.defaults = true;
        for name in ["disk-full", "disk-full-critical", "memory-full"] {
            c.alerts.push(AlertConfig {
                name: name.into(),
                enabled: Some(false),
                ..Default::default()
            });
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (mut from_flip, mut from_breach) = (Vec::new(), Vec::new());
    for i in 0..flips {
        // Flip at a different point of the round each time.
        tokio::time::sleep(Duration::from_millis(1000 + (i as u64 * 317) % 1000)).await;
        let seen = inbox.lock().unwrap().len();
        status.store(503, Ordering::SeqCst);
        let flipped = Instant::now();
        let (at, wall, body) = wait_message(&inbox, seen, "firing").await;
        from_flip.push(at.duration_since(flipped).as_secs_f64() * 1000.0);
        let since = body["alerts"][0]["since"].as_i64().unwrap();
        from_breach.push((wall - since) as f64);
        let seen = inbox.lock().unwrap().len();
        status.store(200, Ordering::SeqCst);
        wait_message(&inbox, seen, "resolved").await;
    }
    stop(server).await;
    (from_flip, from_breach)
}

async fn wait_message(inbox: &Inbox, after: usize, status: &str) -> (Instant, i64, Value) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(m) = inbox.lock().unwrap()[after..].iter().find(|m| m.2["status"] == status) {
            return m.clone();
        }
        assert!(Instant::now() < deadline, "no {status} message within 20 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ------------------------------------------------ 2. 1,000 rules per second

/// CPU seconds this process has used (user + system), from /proc.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    kb / 1024.0
}

/// The series rules: every metric a host has, thresholds never reached.
fn many_rules(n: usize) -> Vec<AlertConfig> {
    let series = [
        ("cpu_usage_percent", 1e9),
        ("memory_used_percent", 1e9),
        ("memory_used_bytes", 1e18),
        ("filesystem_used_percent", 1e9),
        ("filesystem_available_bytes", -1.0),
        ("network_receive_bytes_per_second", 1e18),
        ("network_transmit_bytes_per_second", 1e18),
        ("cpu_core_usage_percent", 1e9),
    ];
    (0..n)
        .map(|i| {
            let (series, line) = series[i % series.len()];
            let (above, below) = if line < 0.0 {
                (None, Some(line))
            } else {
                (Some(line), None)
            };
            AlertConfig {
                name: format!("rule-{i}"),
                series: Some(series.into()),
                above,
                below,
                hold: Some(Duration::from_secs(60)),
                ..Default::default()
            }
        })
        .collect()
}

/// (CPU % of one core, RSS MiB) of a Vigil with `rules`, over `secs`.
async fn footprint(rules: usize, secs: u64) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), |c| {
        c.alerting.defaults = false;
        c.alerts = many_rules(rules);
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (cpu, wall) = (cpu_seconds(), Instant::now());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let used = (cpu_seconds() - cpu) / wall.elapsed().as_secs_f64() * 100.0;
    let rss = rss_mib();
    stop(server).await;
    (used, rss)
}

// ------------------------------------------------------- 3. forecast error

async fn forecast_error(per_hour: f64) -> (f64, f64) {
    let series = "filesystem_used_percent.root";
    let probe = tempfile::tempdir().unwrap();
    let server = start(probe.path(), |_| {}).await;
    let addr = server.addr;
    let latest: Value = reqwest::get(format!("http://{addr}/api/v1/latest?series={series}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stop(server).await;
    let level = latest["value"].as_f64().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let minutes = 12 * 60;
    // A fixed pseudo-random noise, so every run draws the same data.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    fill::write_root_fill(dir.path(), minutes, now_ms(), |i| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let noise = (seed % 600) as f64 / 1000.0 - 0.3;
        level - per_hour * (minutes - i) as f64 / 60.0 + noise
    });

    let server = start(dir.path(), |_| {}).await;
    let addr = server.addr;
    let deadline = Instant::now() + Duration::from_secs(15);
    let forecast = loop {
        let snapshot: Value = reqwest::get(format!("http://{addr}/api/v1/snapshot"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let found = snapshot["alerts"]["forecasts"]
            .as_array()
            .and_then(|all| all.iter().find(|f| f["series"] == series).cloned());
        if let Some(f) = found {
            break f;
        }
        assert!(Instant::now() < deadline, "no forecast within 15 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    stop(server).await;
    let truth_hours = (100.0 - level) / per_hour;
    let told_hours = (forecast["full_at"].as_i64().unwrap() - now_ms()) as f64 / 3_600_000.0;
    (truth_hours, told_hours)
}

fn main() {
    let flips: usize = std::env::var("ALERTS_BENCH_FLIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        println!("## threshold to message ({flips} flips each)");
        for wait in [Duration::from_secs(1), Duration::ZERO] {
            let (flip, breach) = latency(wait, flips).await;
            println!(
                "group_wait {:?}: from the flip p50 {:.0} ms p99 {:.0} ms max {:.0} ms; from the breach p50 {:.0} ms p99 {:.0} ms",
                wait,
                median(&flip),
                quantile(&flip, 0.99),
                quantile(&flip, 1.0),
                median(&breach),
                quantile(&breach, 0.99),
            );
        }

        println!("## 1,000 rules every second (A B A B A B, 20 s each)");
        let (mut none, mut many) = (Vec::new(), Vec::new());
        for _ in 0..3 {
            none.push(footprint(0, 20).await);
            many.push(footprint(1_000, 20).await);
        }
        let cpu = |v: &[(f64, f64)]| median(&v.iter().map(|x| x.0).collect::<Vec<_>>());
        let rss = |v: &[(f64, f64)]| median(&v.iter().map(|x| x.1).collect::<Vec<_>>());
        println!(
            "no rules: CPU {:.2} % of a core, RSS {:.1} MiB; 1,000 rules: CPU {:.2} %, RSS {:.1} MiB; the rules: {:+.2} % of a core, {:+.1} KiB per rule",
            cpu(&none),
            rss(&none),
            cpu(&many),
            rss(&many),
            cpu(&many) - cpu(&none),
            (rss(&many) - rss(&none)) * 1024.0 / 1000.0,
        );
        println!("runs (cpu %, rss MiB): none {none:.2?} many {many:.2?}");

        println!("## forecast on a steady fill (12 h, a point a minute, ±0.3 points of noise)");
        for per_hour in [2.0, 0.5, 0.1] {
            let (truth, told) = forecast_error(per_hour).await;
            println!(
                "{per_hour} points/h: full in {truth:.1} h by the line, {told:.1} h told: {:+.1} %",
                (told - truth) / truth * 100.0
            );
        }
    });
}

//! Fleet figures for BENCHMARKS.md: how long a Vigil with `[fleet]` takes
//! to answer `/hosts` (the server-rendered page) and `GET /api/v1/hosts`
//! for 1,000 hosts held by a real Prometheus (Debian's, started here).
//!
//!     cargo bench -p vigil --bench fleet          # optimized
//!     cargo test  -p vigil --bench fleet          # debug build
//!
//! Each simulated host pushes (by remote write, as a Vigil does) the
//! series the fleet list reads: CPU, memory, two filesystems and a check,
//! three samples 5 s apart ending now. "Cold" requests wait out the list's
//! 2 s cache, so the six engine queries are in the time; "cached" ones do not.

#[path = "../tests/engines/mod.rs"]
mod engines;

use std::time::{Duration, Instant};

use vigil::config::{Config, FleetConfig};
use vigil::remote_write::proto::{self, Label, PromSample, TimeSeries, WriteRequest};
use vigil::{Options, Server};

const HOSTS: usize = 1_000;
const RUNS: usize = 15;

fn series(name: &str, host: &str, extra: &[(&str, &str)], value: f64, now: i64) -> TimeSeries {
    let mut labels = vec![("__name__", name), ("instance", host), ("job", "vigil")];
    labels.extend_from_slice(extra);
    labels.sort();
    TimeSeries {
        labels: labels
            .into_iter()
            .map(|(name, value)| Label {
                name: name.into(),
                value: value.into(),
            })
            .collect(),
        samples: (0..3)
            .map(|i| PromSample {
                value: value + i as f64,
                timestamp: now - (2 - i) * 5_000,
            })
            .collect(),
    }
}

/// One request with every simulated host's series.
fn fleet_request(now: i64) -> WriteRequest {
    let mut timeseries = Vec::new();
    for i in 0..HOSTS {
        let host = format!("host-{i:04}");
        let f = (i % 97) as f64;
        timeseries.push(series("vigil_cpu_usage_percent", &host, &[], f, now));
        timeseries.push(series("vigil_memory_used_percent", &host, &[], 20.0 + f / 2.0, now));
        for (mount, used) in [("/", 30.0 + f / 2.0), ("/data", 10.0 + f / 3.0)] {
            timeseries.push(series(
                "vigil_filesystem_used_percent",
                &host,
                &[("mount", mount), ("device", "vda"), ("fs", "ext4")],
                used,
                now,
            ));
        }
        let up = if i % 50 == 0 { 0.0 } else { 1.0 };
        timeseries.push(series("vigil_check_up", &host, &[("check", "web")], up, now));
    }
    WriteRequest { timeseries }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn time(client: &reqwest::Client, url: &str, cold: bool) -> (f64, f64, usize) {
    let mut ms = Vec::new();
    let mut bytes = 0;
    for _ in 0..RUNS {
        if cold {
            tokio::time::sleep(Duration::from_millis(2_100)).await;
        }
        let started = Instant::now();
        let response = client.get(url).send().await.expect("request");
        assert!(response.status().is_success(), "{url}: {}", response.status());
        bytes = response.bytes().await.expect("body").len();
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    (percentile(&ms, 0.5), percentile(&ms, 0.99), bytes)
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let prom = engines::Prometheus::start(dir.path()).await;
    let body = proto::encode(&fleet_request(vigil::signals::clock::now_ms()));
    let client = reqwest::Client::new();
    let pushed = client
        .post(prom.write_url())
        .header("Content-Encoding", proto::CONTENT_ENCODING)
        .header("Content-Type", proto::CONTENT_TYPE)
        .header("X-Prometheus-Remote-Write-Version", proto::VERSION)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = pushed.status();
    assert!(
        status.is_success(),
        "push: {status}: {}",
        pushed.text().await.unwrap_or_default()
    );

    let fleet = format!("prometheus = {:?}\nstale_after = \"1h\"", prom.url());
    let config = Config {
        fleet: Some(toml::from_str::<FleetConfig>(&fleet).unwrap()),
        ..Config::default()
    };
    let data = tempfile::tempdir().unwrap();
    let mut options = Options::new("127.0.0.1:0".parse().unwrap(), data.path().join("data"), config);
    options.site_root = Some(data.path().join("no-site"));
    let server = Server::start(options).await.expect("vigil starts");
    let base = format!("http://{}", server.addr);

    let (_, hosts) = {
        let r = client.get(format!("{base}/api/v1/hosts")).send().await.unwrap();
        (r.status(), r.json::<serde_json::Value>().await.unwrap())
    };
    let listed = hosts.as_array().map_or(0, Vec::len);
    assert_eq!(listed, HOSTS + 1, "every simulated host and this one");

    println!("fleet of {HOSTS} hosts (+ this one) in Prometheus 2.42, {RUNS} requests each:");
    for (what, path) in [
        ("GET /api/v1/hosts", "/api/v1/hosts"),
        ("GET /hosts (SSR page)", "/hosts"),
    ] {
        for cold in [true, false] {
            let (p50, p99, bytes) = time(&client, &format!("{base}{path}"), cold).await;
            println!(
                "  {what:<24} {:<7} p50 {p50:7.1} ms   p99 {p99:7.1} ms   {bytes} B",
                if cold { "cold" } else { "cached" }
            );
        }
    }
    server.shutdown();
    let _ = server.wait().await;
}

fn main() {
    tokio::runtime::Runtime::new().unwrap().block_on(run());
}

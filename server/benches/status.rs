//! Status figures for BENCHMARKS.md, against a real Vigil started here:
//!
//!     cargo bench -p vigil --bench status
//!     STATUS_BENCH_CHECKS=100 STATUS_BENCH_MONTHS=24 cargo bench -p vigil --bench status
//!
//! **A 24-month report for 100 checks.** Each check's status changes are
//! written into the history store's `transition` table as Vigil keeps
//! them: up from the start, then an outage of 5 to 95 minutes every 1 to
//! 5 days (about 8,000 changes a check over two years, drawn from a fixed
//! seed), with a weekly maintenance window (Sundays 02:00 UTC, one hour)
//! over every check. A Vigil starts on that data dir (open, on loopback)
//! and the bench asks `GET /api/v1/reports` for the whole 24 months, 20
//! times, printing the median and the slowest answer, and the rows'
//! totals so a run can be checked against the next.

use std::time::{Duration, Instant};

use app::checks::CheckKind;
use serde_json::Value;
use vigil::checks::config::CheckConfig;
use vigil::config::{Config, MaintenanceConfig};
use vigil::{Options, Server};

const DAY: i64 = 86_400_000;
const MIN: i64 = 60_000;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (xorshift), so every run writes the same history.
struct Draw(u64);

impl Draw {
    fn next(&mut self, below: i64) -> i64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % below as u64) as i64
    }
}

#[tokio::main]
async fn main() {
    let checks = env("STATUS_BENCH_CHECKS", 100);
    let months = env("STATUS_BENCH_MONTHS", 24);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let to = now / DAY * DAY;
    let from = to - months * 30 * DAY;

    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let started = Instant::now();
    let mut changes = 0usize;
    {
        let mut conn = vigil::store::open(&data.join(vigil::store::FILE_NAME)).unwrap();
        let tx = conn.transaction().unwrap();
        {
            let mut insert = tx
                .prepare(
                    "INSERT OR REPLACE INTO transition (check_name, t, from_status, to_status, reason) VALUES (?1, ?2, ?3, ?4, '')",
                )
                .unwrap();
            let mut draw = Draw(0x9e37_79b9_7f4a_7c15);
            for c in 0..checks {
                let name = format!("service-{c:03}");
                insert
                    .execute(rusqlite::params![name, from - DAY, "unknown", "up"])
                    .unwrap();
                let mut t = from;
                loop {
                    t += DAY + draw.next(4 * DAY);
                    let length = 5 * MIN + draw.next(90 * MIN);
                    if t + length >= to {
                        break;
                    }
                    insert.execute(rusqlite::params![name, t, "up", "down"]).unwrap();
                    insert
                        .execute(rusqlite::params![name, t + length, "down", "up"])
                        .unwrap();
                    changes += 2;
                }
            }
        }
        tx.commit().unwrap();
    }
    println!(
        "history: {checks} checks, {months} months, {changes} status changes written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut config = Config::default();
    config.collector.interval = Duration::from_secs(1);
    config.checks = (0..checks)
        .map(|c| {
            let mut check = CheckConfig::new(&format!("service-{c:03}"), CheckKind::Tcp);
            check.address = Some("127.0.0.1:1".into());
            check.interval = Duration::from_secs(3600);
            check.slo = Some(99.9);
            check
        })
        .collect();
    config.maintenance = vec![MaintenanceConfig {
        name: "weekly".into(),
        start: None,
        days: Some(vec!["sun".into()]),
        at: Some("02:00".into()),
        duration: Duration::from_secs(3600),
        timezone: Some("UTC".into()),
        rules: None,
        checks: None,
    }];
    let mut options = Options::new("127.0.0.1:0".parse().unwrap(), data.clone(), config);
    options.site_root = Some(dir.path().join("no-site"));
    let server = Server::start(options).await.expect("server starts");
    let url = format!("http://{}/api/v1/reports?from={from}&to={to}", server.addr);
    let client = reqwest::Client::new();
    let mut times = Vec::new();
    let mut last = Value::Null;
    for _ in 0..20 {
        let t0 = Instant::now();
        let res = client.get(&url).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.status());
        last = res.json().await.unwrap();
        times.push(t0.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    let rows = last["rows"].as_array().expect("rows");
    let outages: i64 = rows.iter().map(|r| r["outages"].as_i64().unwrap_or(0)).sum();
    let down: i64 = rows.iter().map(|r| r["down_ms"].as_i64().unwrap_or(0)).sum();
    println!(
        "report over {months} months for {} checks: median {:.1} ms, slowest {:.1} ms (20 asks); {outages} outages, {:.0} down minutes in all",
        rows.len(),
        times[times.len() / 2],
        times[times.len() - 1],
        down as f64 / MIN as f64
    );
    server.shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(15), server.wait()).await;
}

//! History store figures for BENCHMARKS.md: ingest rate, bytes per sample,
//! file size after a month, and range query latency (cold and cached).
//!
//!     cargo bench -p vigil --bench store            # 30 simulated days
//!     STORE_BENCH_DAYS=2 cargo bench -p vigil --bench store
//!
//! It simulates a typical small host (2 cores, 1 filesystem, 4 network
//! interfaces: the catalog yields ~45 series) sampled every second, with
//! values that move like real ones (random walks, bursts, steady totals),
//! and writes them through the real writer, ten samples per transaction:
//! simulated time, real disk.

#[path = "support/host.rs"]
mod host;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::metrics::Sample;
use host::Host;

use vigil::signals::StoreStats;
use vigil::store::writer::Writer;
use vigil::store::{self, History, Tiers};

/// Bytes of pages per table and index, largest first.
fn layout(path: &std::path::Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, SUM(pgsize) AS b FROM dbstat GROUP BY name ORDER BY b DESC")
        .unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap();
    rows.map(|r| {
        let (name, bytes) = r.unwrap();
        format!("{name} {:.0} KiB", bytes as f64 / 1024.0)
    })
    .collect::<Vec<_>>()
    .join(", ")
}

fn quantile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * q) as usize).min(v.len() - 1)]
}

fn sql_i64(path: &std::path::Path, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn checkpoint(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);").unwrap();
}

fn main() {
    let days: i64 = std::env::var("STORE_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(30);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(store::FILE_NAME);
    let stats = Arc::new(StoreStats::default());
    let tiers = Tiers::standard(Duration::from_secs(1));
    let mut writer = Writer::new(store::open(&path).unwrap(), path.clone(), tiers.clone(), stats.clone());
    let mut host = Host::new(5e9, 30e9);
    // Midnight, so that day one ends on a sealed hour.
    let start: i64 = 1_790_000_000_000 - 1_790_000_000_000 % 86_400_000;
    let series = vigil::catalog::series(&host.sample(start)).len();
    let mut t = start;
    let mut ingest_secs = 0.0;
    println!("simulating {days} day(s) of 1 s samples, {series} series");
    for day in 0..days {
        let started = Instant::now();
        for _ in 0..86_400 / 10 {
            let batch: Vec<Arc<Sample>> = (0..10)
                .map(|i| Arc::new(host.sample(t + i * 1000 + (i * 37 % 11))))
                .collect();
            t += 10_000;
            writer.write(&batch).unwrap();
        }
        ingest_secs += started.elapsed().as_secs_f64();
        if day == 0 {
            let blocks = sql_i64(
                &path,
                "SELECT (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM chunk WHERE tier = 0)
                      + (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM times WHERE tier = 0)",
            );
            let rows = sql_i64(&path, "SELECT COALESCE(SUM(rows), 0) FROM chunk WHERE tier = 0");
            checkpoint(&path);
            let file = store::file_bytes(&path);
            println!(
                "after 24 h: raw blocks (with their shared times) {blocks} B for {rows} values = {:.3} B/value; whole file {file} B = {:.3} B/value (with the open hour, rollups and indexes)",
                blocks as f64 / rows as f64,
                file as f64 / (86_400.0 * series as f64),
            );
            println!("  where the bytes are (dbstat, per table or index): {}", layout(&path));
        }
    }
    let values = stats.values_written.load(Ordering::Relaxed) as f64;
    println!(
        "ingest: {values:.0} values in {ingest_secs:.1} s = {:.0} values/s ({:.0} host samples/s)",
        values / ingest_secs,
        values / ingest_secs / series as f64
    );
    checkpoint(&path);
    let file = store::file_bytes(&path);
    println!(
        "file after {days} day(s): {file} B ({:.1} MiB)",
        file as f64 / 1_048_576.0
    );
    drop(writer);

    // Queries through the History the server uses (read pool + TTL cache).
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let tracker = tokio_util::task::TaskTracker::new();
    let history = runtime.block_on(async {
        let (_tx, rx) = tokio::sync::broadcast::channel(1);
        let (_checks_tx, checks_rx) = tokio::sync::broadcast::channel(1);
        History::start(
            vigil::store::StoreOptions {
                data_dir: dir.path().to_path_buf(),
                tiers,
                interval: Duration::from_secs(1),
                max_bytes: None,
            },
            rx,
            checks_rx,
            tokio_util::sync::CancellationToken::new(),
            &tracker,
        )
    });
    let now = t;
    let unit = app::metrics::Unit::Percent;
    for (label, span, name) in [
        ("24 h -> 1000 points", 86_400_000, "cpu_usage_percent"),
        ("30 d -> 1000 points", 30 * 86_400_000, "cpu_usage_percent"),
        ("1 h -> 1000 points", 3_600_000, "memory_used_bytes"),
    ] {
        let (mut cold, mut cached) = (Vec::new(), Vec::new());
        for i in 0..200 {
            // A different `to` per run: never cached on the first ask.
            let to = now - i * 1000;
            let started = Instant::now();
            let r = history.range(name, unit, to - span, to, 1000, now).unwrap().unwrap();
            cold.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(!r.points.is_empty());
            let started = Instant::now();
            history.range(name, unit, to - span, to, 1000, now).unwrap();
            cached.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        println!(
            "query {label}: cold p50 {:.2} ms p99 {:.2} ms; cached p50 {:.4} ms p99 {:.4} ms",
            quantile(&mut cold, 0.5),
            quantile(&mut cold, 0.99),
            quantile(&mut cached, 0.5),
            quantile(&mut cached, 0.99)
        );
    }
}

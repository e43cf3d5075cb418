//! Remote-write figures for BENCHMARKS.md: the cost of one request for one
//! typical host (encode + compress CPU time, bytes before and after
//! snappy), and, with `RW_BENCH_ENGINES=1`, what a day of one host costs an
//! engine's disk (VictoriaMetrics and Prometheus, real binaries).
//!
//!     cargo bench -p vigil --bench remote_write                       # optimized
//!     cargo test  -p vigil --bench remote_write                       # debug build
//!     RW_BENCH_ENGINES=1 cargo test -p vigil --bench remote_write     # + engines' disk
//!
//! The host is the one of `benches/store.rs` (2 cores, 1 filesystem, 4
//! interfaces, values that move like real ones) plus the push's own
//! figures, collected every second and pushed every 10 s: ten samples per
//! series per request.

#[path = "../tests/engines/mod.rs"]
mod engines;
#[path = "support/host.rs"]
mod host;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::metrics::{RemoteWriteFigures, Sample};
use prost::Message;
use vigil::config::RemoteWriteConfig;
use vigil::remote_write::series::{Queued, Series};
use vigil::remote_write::{proto, queue, Outcome, Pusher, Sender};
use vigil::signals::WriteStats;

/// The store's simulated host, plus the push's own figures.
struct Host {
    inner: host::Host,
    sent: u64,
}

impl Host {
    fn new() -> Host {
        Host {
            inner: host::Host::new(8e9, 40e9),
            sent: 0,
        }
    }

    fn sample(&mut self, ts: i64) -> Sample {
        let mut sample = self.inner.sample(ts);
        self.sent += 45;
        let frames = self.inner.frames;
        sample.vigil.remote_write = Some(RemoteWriteFigures {
            queued: (frames % 10) * 45,
            capacity: 3600 * 45,
            sent_total: self.sent,
            failed_sends_total: 0,
            dropped_total: 0,
            last_send_ms: 2.0 + self.inner.noise.next(),
            last_success: ts - 1000,
        });
        sample
    }
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Encode + compress of one 10 s request, and what a sample costs to queue.
fn request_cost() {
    let mut host = Host::new();
    let start = 1_750_000_000_000;
    let mut series = Series::new("web-01".into());
    let mut points: Vec<Queued> = Vec::new();
    let mut queue_us = Vec::new();
    for i in 0..10 {
        let s = host.sample(start + i * 1000);
        let t = Instant::now();
        series.sample(&s, |p| points.push(p));
        queue_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    // Queueing again with fresh timestamps (the first pass interned).
    for i in 10..2010 {
        let s = host.sample(start + i * 1000);
        let mut scratch = Vec::with_capacity(64);
        let t = Instant::now();
        series.sample(&s, |p| scratch.push(p));
        queue_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let request = queue::request(&points, &series);
    let raw = request.encoded_len();
    let body = proto::encode(&request);
    let mut encode_us = Vec::new();
    let mut total_us = Vec::new();
    for _ in 0..2000 {
        let t = Instant::now();
        let request = queue::request(&points, &series);
        let grouped = t.elapsed();
        let body = proto::encode(&request);
        let all = t.elapsed();
        std::hint::black_box(body);
        encode_us.push((all - grouped).as_secs_f64() * 1e6);
        total_us.push(all.as_secs_f64() * 1e6);
    }
    let (enc, total, queue) = (median(&mut encode_us), median(&mut total_us), median(&mut queue_us));
    println!(
        "one host: {} series, {} samples per 10 s request",
        series.len(),
        points.len()
    );
    println!(
        "request bytes: {raw} protobuf, {} snappy ({:.1} B/sample, ratio {:.1})",
        body.len(),
        body.len() as f64 / points.len() as f64,
        raw as f64 / body.len() as f64
    );
    println!("encode+compress: median {enc:.1} µs; with grouping into series {total:.1} µs");
    println!("queueing one sample (all its series): median {queue:.2} µs");
    println!(
        "per host: {:.0} B/s on the wire (before HTTP headers), {:.1} µs CPU/s = {:.4} % of a core",
        body.len() as f64 / 10.0,
        total / 10.0 + queue,
        (total / 10.0 + queue) / 1e4
    );
}

/// Pushes 24 h of one host at 1 s (timestamps in the past) to `url`;
/// returns the samples sent.
async fn push_day(url: &str) -> u64 {
    let config = RemoteWriteConfig {
        url: url.to_string(),
        interval: Duration::from_secs(10),
        timeout: Duration::from_secs(60),
        buffer: Duration::from_secs(86_400),
        max_samples_per_send: 50_000,
        bearer_token_file: None,
        basic_user: None,
        basic_password_file: None,
    };
    let sender = Sender::new(&config, Default::default()).unwrap();
    let stats = Arc::new(WriteStats::default());
    let mut pusher = Pusher::new("web-01".into(), 86_400 + 1, config.max_samples_per_send, stats.clone());
    let mut host = Host::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let start = (now - 86_400_000 - 60_000) / 1000 * 1000;
    for chunk in 0..144 {
        for i in 0..600 {
            pusher.sample(&host.sample(start + (chunk * 600 + i) * 1000));
        }
        while let Some(batch) = pusher.next_batch() {
            let (outcome, _) = sender.send(batch.body.clone()).await;
            assert_eq!(outcome, Outcome::Sent);
            pusher.sent(batch);
        }
    }
    stats.sent_total.load(Ordering::Relaxed)
}

/// Samples in Prometheus's persisted blocks (their `meta.json`).
fn block_samples(tsdb: &std::path::Path) -> (u64, u64, usize) {
    let (mut samples, mut bytes, mut blocks) = (0, 0, 0);
    for entry in std::fs::read_dir(tsdb).into_iter().flatten().flatten() {
        let meta = entry.path().join("meta.json");
        if let Ok(text) = std::fs::read_to_string(&meta) {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            samples += v["stats"]["numSamples"].as_u64().unwrap_or(0);
            bytes += engines::dir_bytes(&entry.path());
            blocks += 1;
        }
    }
    (samples, bytes, blocks)
}

async fn engines_disk() {
    let dir = tempfile::tempdir().unwrap();
    let vm = engines::VictoriaMetrics::start(dir.path()).await;
    let t = Instant::now();
    let sent = push_day(&vm.write_url()).await;
    let took = t.elapsed();
    vm.force_flush().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    vm.force_flush().await;
    let bytes = engines::dir_bytes(&dir.path().join("data"));
    println!(
        "victoria-metrics: {sent} samples in {:.1} s, data dir {bytes} B = {:.2} B/sample",
        took.as_secs_f64(),
        bytes as f64 / sent as f64
    );
    drop(vm);

    let dir = tempfile::tempdir().unwrap();
    let mut prom = engines::Prometheus::start(dir.path()).await;
    let t = Instant::now();
    let sent = push_day(&prom.write_url()).await;
    let took = t.elapsed();
    // Head compaction writes 2 h blocks behind the newest 3 h; wait until
    // the blocks stop changing.
    let tsdb = dir.path().join("tsdb");
    let mut last = (0, 0, 0);
    for _ in 0..60 {
        tokio::time::sleep(Duration::from_secs(2)).await;
        let now = block_samples(&tsdb);
        if now == last && now.0 > 0 {
            break;
        }
        last = now;
    }
    prom.stop().await;
    let (in_blocks, block_bytes, blocks) = block_samples(&tsdb);
    let total = engines::dir_bytes(&tsdb);
    println!(
        "prometheus: {sent} samples in {:.1} s; {blocks} blocks hold {in_blocks} samples in {block_bytes} B = {:.2} B/sample; whole tsdb dir (blocks, WAL, head chunks) {total} B = {:.2} B/sample",
        took.as_secs_f64(),
        block_bytes as f64 / in_blocks.max(1) as f64,
        total as f64 / sent as f64
    );
}

fn main() {
    // `cargo test --bench` passes test-harness flags; there is nothing to filter.
    request_cost();
    if std::env::var_os("RW_BENCH_ENGINES").is_some() {
        tokio::runtime::Runtime::new().unwrap().block_on(engines_disk());
    }
}

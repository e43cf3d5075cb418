//! Collectors: sample the host on a timer and publish to the hub.
//!
//! The timing and shutdown live in an async task; the sampling itself
//! ([`HostCollector::sample`], which reads `/proc` through sysinfo and procfs)
//! runs on the blocking pool so it never stalls the runtime.

mod disks;
mod host;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub use host::HostCollector;

use crate::hub::Hub;

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Samples every `interval` until `shutdown`, publishing each sample.
pub async fn run(mut collector: HostCollector, hub: Arc<Hub>, interval: Duration, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first sample was taken before serving (see `first_sample`).
    ticker.tick().await;
    let mut last = Instant::now();
    let mut last_sent = hub.stats.frames_sent.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let elapsed = last.elapsed().as_secs_f64();
        last = Instant::now();
        let sent = hub.stats.frames_sent.load(Ordering::Relaxed);
        let live = LiveFigures {
            clients: hub.stats.clients.load(Ordering::Relaxed),
            frames_per_s: (sent - last_sent) as f64 / elapsed.max(1e-3),
            lagged_total: hub.stats.lagged.load(Ordering::Relaxed),
            broadcast_lag_ms: hub.stats.max_delay_us.swap(0, Ordering::Relaxed) as f64 / 1000.0,
        };
        last_sent = sent;
        let result = tokio::task::spawn_blocking(move || {
            let sample = collector.sample(live);
            (collector, sample)
        })
        .await;
        match result {
            Ok((c, sample)) => {
                collector = c;
                hub.publish_sample(sample);
            }
            Err(err) => {
                tracing::error!(%err, "host collector failed; host metrics stop");
                return;
            }
        }
    }
}

/// Takes the first sample before the server accepts requests, so the first
/// page already shows real values. CPU usage needs two readings apart in time.
pub async fn first_sample(collector: HostCollector, hub: &Hub) -> std::io::Result<HostCollector> {
    let (collector, sample) = tokio::task::spawn_blocking(move || {
        let mut collector = collector;
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let sample = collector.sample(LiveFigures::default());
        (collector, sample)
    })
    .await
    .map_err(std::io::Error::other)?;
    hub.publish_sample(sample);
    Ok(collector)
}

/// Publishes heartbeats while the collector is quiet (long intervals).
pub async fn heartbeat(hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => { hub.heartbeat_if_idle(now_ms()); }
        }
    }
}

/// The live stream's own figures, read from the hub for each sample.
#[derive(Clone, Copy, Debug, Default)]
pub struct LiveFigures {
    pub clients: u64,
    pub frames_per_s: f64,
    pub lagged_total: u64,
    pub broadcast_lag_ms: f64,
}

//! Collectors: sample the host on a timer and publish each sample on the
//! [`SampleBus`](crate::signals::SampleBus).
//!
//! - [`host`]: CPU, load, memory and top processes, network, Vigil's own
//!   process (sysinfo), filesystems ([`fs`], statvfs) and per-device I/O
//!   ([`io`], `/proc/diskstats`).
//!
//! The timing and shutdown live in an async task; the sampling itself
//! ([`HostCollector::sample`], which reads `/proc`) runs on the blocking
//! pool so it never stalls the runtime. Vigil's own figures come from the
//! sinks' counters in [`SelfStats`], so the collector reads nothing else.

mod fs;
mod host;
mod io;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub(crate) use host::HostCollector;

use crate::signals::stats::SelfStats;
use crate::signals::SampleBus;

/// Samples every `interval` until `shutdown`, publishing each sample.
pub(crate) async fn run(
    mut collector: HostCollector,
    bus: Arc<SampleBus>,
    sources: SelfStats,
    interval: Duration,
    shutdown: CancellationToken,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    // The first sample was taken before serving (see `first_sample`).
    ticker.tick().await;
    let mut last = Instant::now();
    let stats = &sources.live;
    let mut last_sent = stats.frames_sent.load(Ordering::Relaxed);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let elapsed = last.elapsed().as_secs_f64();
        last = Instant::now();
        let sent = stats.frames_sent.load(Ordering::Relaxed);
        let live = LiveFigures {
            clients: stats.clients.load(Ordering::Relaxed),
            frames_per_s: sent.saturating_sub(last_sent) as f64 / elapsed.max(1e-3),
            frames_sent_total: sent,
            lagged_total: stats.lagged.load(Ordering::Relaxed),
            broadcast_lag_ms: stats.take_max_delay_ms(),
            store_write_ms: sources.store.last_write_ms(),
            store_bytes: sources.store.bytes.load(Ordering::Relaxed),
            remote_write: sources.remote_write.as_ref().map(|w| w.figures()),
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
                bus.publish(sample);
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
pub(crate) async fn first_sample(collector: HostCollector, bus: &SampleBus) -> std::io::Result<HostCollector> {
    let (collector, sample) = tokio::task::spawn_blocking(move || {
        let mut collector = collector;
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let sample = collector.sample(LiveFigures::default());
        (collector, sample)
    })
    .await
    .map_err(std::io::Error::other)?;
    bus.publish(sample);
    Ok(collector)
}

/// The live stream's own figures for one sample.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LiveFigures {
    pub(crate) clients: u64,
    pub(crate) frames_per_s: f64,
    pub(crate) frames_sent_total: u64,
    pub(crate) lagged_total: u64,
    pub(crate) broadcast_lag_ms: f64,
    pub(crate) store_write_ms: f64,
    pub(crate) store_bytes: u64,
    pub(crate) remote_write: Option<app::metrics::RemoteWriteFigures>,
}

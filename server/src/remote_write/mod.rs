//! Prometheus remote write: every catalog series, pushed on an interval
//! through a bounded queue that rides out a receiver outage.
//!
//! ```text
//! bus --Arc<Sample>--+                                 +--> Sender --POST snappy(protobuf)--> receiver
//!                    +--> Pusher (series, Queue) --Batch
//! checks --Round-----+          (WriteStats) --> collect::SelfSources --> catalog, /metrics, history
//! ```
//!
//! - [`proto`]: the `WriteRequest` messages and the snappy body.
//! - [`series`]: names and labels of the pushed series, interned.
//! - [`queue`]: the bounded queue (drops the oldest) and request batching.
//! - [`pusher`]: the push's state and figures, without I/O.
//! - [`sender`]: one HTTP request and what its answer means.
//!
//! One task does it all: it reads the sample bus and the check events
//! (so collection never waits on it: a task that falls behind the bus
//! loses samples, counted as dropped), and every `interval` sends the
//! queue oldest-first, one request in flight at a time, while it keeps
//! reading. A failed request is retried with exponential backoff; its
//! samples stay queued until the buffer is full.

pub(crate) mod config;
pub mod proto;
pub(crate) mod pusher;
pub mod queue;
pub(crate) mod sender;
pub mod series;

use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use app::metrics::Sample;
use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use pusher::{Batch, Pusher};
pub use sender::{Outcome, Sender};

use self::config::RemoteWriteConfig;
use crate::outbound::Credentials;
use crate::signals::{CheckEvent, WriteStats};

/// Longest wait between retries (before jitter, which adds up to as much).
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long the last flush on shutdown may take.
const FLUSH: Duration = Duration::from_secs(2);

/// Why the push could not start.
#[derive(Debug, thiserror::Error)]
pub enum RemoteWriteError {
    #[error("cannot read the remote_write credentials: {0}")]
    Credentials(std::io::Error),
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// Starts pushing every sample of `samples` and every check round of
/// `checks` to `config.url`, as `instance="<host>"`; `interval` is the
/// collector's (it sizes the queue). Stops on `shutdown` after a last
/// flush of at most ~2 s. The returned figures feed the self stats.
pub fn start(
    config: &RemoteWriteConfig,
    host: String,
    interval: Duration,
    samples: broadcast::Receiver<Arc<Sample>>,
    checks: broadcast::Receiver<CheckEvent>,
    shutdown: CancellationToken,
    tasks: &TaskTracker,
) -> Result<Arc<WriteStats>, RemoteWriteError> {
    let credentials = Credentials::read(
        config.bearer_token_file.as_ref(),
        config.basic_user.as_deref(),
        config.basic_password_file.as_ref(),
    )
    .map_err(RemoteWriteError::Credentials)?;
    let sender = Sender::new(config, credentials)?;
    let stats = Arc::new(WriteStats::default());
    let pusher = Pusher::new(
        host,
        queue::ticks(config.buffer, interval),
        config.max_samples_per_send,
        stats.clone(),
    );
    tasks.spawn(run(
        pusher,
        sender,
        config.interval,
        Inputs { samples, checks },
        shutdown,
    ));
    Ok(stats)
}

/// What the task reads.
struct Inputs {
    samples: broadcast::Receiver<Arc<Sample>>,
    checks: broadcast::Receiver<CheckEvent>,
}

type InFlight = Pin<Box<dyn Future<Output = (Outcome, Duration)> + Send>>;

/// What the task remembers about the receiver, for its logs and backoff.
struct Link {
    backoff_builder: ExponentialBuilder,
    backoff: ExponentialBackoff,
    /// Failed requests in a row.
    failures: u64,
    /// Refusal statuses already logged.
    refusals: HashSet<u16>,
}

impl Link {
    fn new(every: Duration) -> Link {
        let backoff_builder = ExponentialBuilder::default()
            .with_min_delay(every.min(MAX_BACKOFF))
            .with_max_delay(MAX_BACKOFF)
            .with_jitter()
            .without_max_times();
        Link {
            backoff: backoff_builder.build(),
            backoff_builder,
            failures: 0,
            refusals: HashSet::new(),
        }
    }

    /// Books `outcome` for `batch`; whether the receiver answered (so the
    /// next batch may go), or else how long to wait before retrying.
    fn settle(
        &mut self,
        pusher: &mut Pusher,
        stats: &WriteStats,
        batch: Batch,
        outcome: Outcome,
        took: Duration,
    ) -> Result<(), Duration> {
        stats.set_last_send_ms(took.as_secs_f64() * 1e3);
        match outcome {
            Outcome::Sent => {
                stats
                    .last_success
                    .store(crate::signals::clock::now_ms(), Ordering::Relaxed);
                pusher.sent(batch);
                if self.failures > 0 {
                    tracing::info!(
                        failed_sends = self.failures,
                        queued = pusher.queued(),
                        "remote write: the receiver takes samples again"
                    );
                    self.failures = 0;
                    self.backoff = self.backoff_builder.build();
                }
                Ok(())
            }
            Outcome::Refused { status, message } => {
                let n = batch.points.len();
                pusher.refused(batch);
                if self.refusals.insert(status) {
                    tracing::warn!(status, %message, dropped = n, "remote write: the receiver refused samples; dropped");
                } else {
                    tracing::debug!(status, dropped = n, "remote write: refused again");
                }
                Ok(())
            }
            Outcome::Retry(why) => {
                pusher.failed(batch);
                self.failures += 1;
                let delay = self.backoff.next().unwrap_or(MAX_BACKOFF);
                if self.failures == 1 {
                    tracing::warn!(%why, queued = pusher.queued(), "remote write failed; keeping the samples and retrying");
                } else {
                    tracing::debug!(%why, ?delay, failures = self.failures, "remote write failed again");
                }
                Err(delay)
            }
        }
    }
}

async fn run(mut pusher: Pusher, sender: Sender, every: Duration, mut inputs: Inputs, shutdown: CancellationToken) {
    let stats = pusher.stats();
    let mut link = Link::new(every);
    let mut next_send = Instant::now() + every;
    let mut in_flight: Option<(Batch, InFlight)> = None;
    let (mut samples_open, mut checks_open) = (true, true);
    let mut lag_logged = false;
    loop {
        tokio::select! {
            biased;
            _ = shutdown.cancelled() => break,
            got = inputs.samples.recv(), if samples_open => match got {
                Ok(sample) => pusher.sample(&sample),
                Err(RecvError::Lagged(missed)) => {
                    let lost = pusher.lagged(missed);
                    if !lag_logged {
                        lag_logged = true;
                        tracing::warn!(missed, lost, "remote write fell behind the collector; samples dropped");
                    }
                }
                Err(RecvError::Closed) => samples_open = false,
            },
            got = inputs.checks.recv(), if checks_open => match got {
                Ok(CheckEvent::Round(round)) => pusher.round(&round),
                Ok(CheckEvent::Transition(_)) => {}
                // Check rounds are a few per interval; a lag is not worth counting.
                Err(RecvError::Lagged(_)) => {}
                Err(RecvError::Closed) => checks_open = false,
            },
            (outcome, took) = async { in_flight.as_mut().expect("guarded").1.as_mut().await }, if in_flight.is_some() => {
                let (batch, _) = in_flight.take().expect("guarded");
                let full = pusher.was_full(&batch);
                next_send = match link.settle(&mut pusher, &stats, batch, outcome, took) {
                    // A full batch: more of the backlog waits behind it.
                    Ok(()) if full => Instant::now(),
                    Ok(()) => Instant::now() + every,
                    Err(delay) => Instant::now() + delay,
                };
            },
            _ = tokio::time::sleep_until(next_send), if in_flight.is_none() => {
                match pusher.next_batch() {
                    Some(batch) => {
                        let body = batch.body.clone();
                        let sender = sender.clone();
                        in_flight = Some((batch, Box::pin(async move { sender.send(body).await })));
                    }
                    None => next_send = Instant::now() + every,
                }
            },
        }
    }
    // What was published before the cancel still goes out.
    while let Ok(sample) = inputs.samples.try_recv() {
        pusher.sample(&sample);
    }
    let flushed = tokio::time::timeout(FLUSH, async {
        if let Some((batch, request)) = in_flight.take() {
            let (outcome, took) = request.await;
            if link.settle(&mut pusher, &stats, batch, outcome, took).is_err() {
                return;
            }
        }
        while let Some(batch) = pusher.next_batch() {
            let (outcome, took) = sender.send(batch.body.clone()).await;
            if link.settle(&mut pusher, &stats, batch, outcome, took).is_err() {
                return;
            }
        }
    })
    .await;
    let left = pusher.queued();
    if flushed.is_err() || left > 0 {
        tracing::warn!(left, "remote write stopped with samples not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ts: i64) -> Sample {
        Sample {
            ts,
            ..Default::default()
        }
    }

    #[test]
    fn retries_back_off_to_a_cap_and_start_over_after_a_success() {
        let stats = Arc::new(WriteStats::default());
        let mut pusher = Pusher::new("alpha".into(), 10, 100_000, stats.clone());
        pusher.sample(&sample(1_000));
        let queued = pusher.queued();
        let mut link = Link::new(Duration::from_secs(1));
        let fail = |pusher: &mut Pusher, link: &mut Link| {
            let batch = pusher.next_batch().expect("points wait");
            link.settle(pusher, &stats, batch, Outcome::Retry("down".into()), Duration::ZERO)
                .expect_err("a retry waits")
        };
        let delays: Vec<Duration> = (0..12).map(|_| fail(&mut pusher, &mut link)).collect();
        let secs = |d: &Duration| d.as_secs_f64();
        // Exponential from the push interval, jitter adding up to as much again.
        assert!((1.0..=2.0).contains(&secs(&delays[0])), "{delays:?}");
        assert!((2.0..=4.0).contains(&secs(&delays[1])), "{delays:?}");
        assert!((4.0..=8.0).contains(&secs(&delays[2])), "{delays:?}");
        assert!(delays[11] >= MAX_BACKOFF && delays.iter().all(|d| *d <= 2 * MAX_BACKOFF));
        assert_eq!(stats.failed_sends_total.load(Ordering::Relaxed), 12);
        assert_eq!(pusher.queued(), queued, "nothing lost while retrying");
        assert_eq!(stats.last_success.load(Ordering::Relaxed), 0);

        let batch = pusher.next_batch().unwrap();
        link.settle(&mut pusher, &stats, batch, Outcome::Sent, Duration::from_millis(3))
            .expect("sent");
        assert_eq!(pusher.queued(), 0);
        assert_eq!(stats.sent_total.load(Ordering::Relaxed) as usize, queued);
        assert!(stats.last_success.load(Ordering::Relaxed) > 0);
        assert_eq!(stats.figures().last_send_ms, 3.0);

        // After a success the backoff starts over.
        pusher.sample(&sample(2_000));
        let again = fail(&mut pusher, &mut link);
        assert!((1.0..=2.0).contains(&secs(&again)), "{again:?}");
    }
}

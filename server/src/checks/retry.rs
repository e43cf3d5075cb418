//! Retries inside one round. An attempt that finds the target down is
//! repeated after an exponential backoff with jitter, up to the check's
//! `retries`, so a single dropped packet does not count as a failure. Every
//! attempt is cut at the check's `timeout`, and the whole round stays within
//! its `budget` (the interval): a retry that could not finish in time is not
//! started, so rounds never pile up.
//!
//! The delays come from `backon`'s `ExponentialBuilder`: a small, tested
//! iterator of exponential delays with jitter and a cap. We drive the loop
//! ourselves rather than use `backon::Retryable`, because a round retries on
//! an [`Outcome`] (not an `Err`) and stops on a time budget.

use std::time::Duration;

use app::health::Status;
use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::{Outcome, Probe};
use crate::outbound::human;

/// The first delay between two attempts (before jitter).
pub(crate) const FIRST_DELAY: Duration = Duration::from_millis(200);
/// The longest delay between two attempts (before jitter).
pub(crate) const MAX_DELAY: Duration = Duration::from_secs(5);

/// Delays between the attempts of one round: 200 ms, 400 ms, 800 ms, ...
/// up to 5 s, each plus a random jitter of up to its own length, so that
/// checks of one target do not retry in lockstep.
pub(crate) fn backoff(retries: u32) -> ExponentialBuilder {
    ExponentialBuilder::default()
        .with_min_delay(FIRST_DELAY)
        .with_max_delay(MAX_DELAY)
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(retries as usize)
}

/// One attempt, cut at `timeout`: a probe that hangs ends as down,
/// "timed out after 3 s".
pub async fn attempt(probe: &dyn Probe, timeout: Duration) -> Outcome {
    let start = Instant::now();
    match tokio::time::timeout(timeout, probe.probe()).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::down(format!("timed out after {}", human(timeout))).with_latency(start.elapsed()),
    }
}

/// What a round found, and how many attempts it took.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Round {
    pub(crate) outcome: Outcome,
    pub(crate) attempts: u32,
}

/// Probes until the target is not down, `backoff` runs out of delays, or
/// the next attempt could not end within `budget` from the start of the
/// round. A down outcome after several attempts says how many. Each attempt
/// holds one of `permits` (not counted in its timeout); backoff pauses hold
/// none.
pub(crate) async fn round(
    probe: &dyn Probe,
    timeout: Duration,
    budget: Duration,
    backoff: ExponentialBuilder,
    permits: &Semaphore,
) -> Round {
    let start = Instant::now();
    let mut delays = backoff.build();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut outcome = {
            // The semaphore is never closed; if it were, probe anyway.
            let _permit = permits.acquire().await.ok();
            attempt(probe, timeout).await
        };
        if outcome.status != Status::Down {
            return Round { outcome, attempts };
        }
        let next = delays
            .next()
            .filter(|delay| start.elapsed() + *delay + timeout <= budget);
        let Some(delay) = next else {
            if attempts > 1 {
                outcome.reason = format!("{} ({attempts} attempts)", outcome.reason);
            }
            return Round { outcome, attempts };
        };
        tracing::debug!(reason = %outcome.reason, ?delay, attempts, "attempt failed; retrying");
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Mutex;

    use super::*;

    /// Answers from a script (the last one repeats), after `delay` each;
    /// records when each attempt started.
    struct Script {
        outcomes: Vec<Outcome>,
        delay: Duration,
        calls: AtomicU32,
        starts: Mutex<Vec<Instant>>,
    }

    impl Script {
        fn new(outcomes: Vec<Outcome>, delay: Duration) -> Script {
            Script {
                outcomes,
                delay,
                calls: AtomicU32::new(0),
                starts: Mutex::new(Vec::new()),
            }
        }
    }

    #[async_trait::async_trait]
    impl Probe for Script {
        async fn probe(&self) -> Outcome {
            self.starts.lock().unwrap().push(Instant::now());
            let n = self.calls.fetch_add(1, Ordering::SeqCst) as usize;
            tokio::time::sleep(self.delay).await;
            self.outcomes[n.min(self.outcomes.len() - 1)].clone()
        }
    }

    #[test]
    fn delays_grow_with_jitter_and_a_cap() {
        let delays: Vec<Duration> = backoff(8).with_jitter_seed(7).build().collect();
        assert_eq!(delays.len(), 8);
        for (i, d) in delays.iter().enumerate() {
            let base = (FIRST_DELAY * 2u32.pow(i as u32)).min(MAX_DELAY);
            assert!(*d >= base && *d < base * 2, "delay {i}: {d:?} not in [{base:?}, 2x)");
        }
        assert_eq!(backoff(0).build().count(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hang_is_cut_at_the_timeout() {
        let probe = Script::new(vec![Outcome::up("late")], Duration::from_secs(3600));
        let start = Instant::now();
        let o = attempt(&probe, Duration::from_secs(3)).await;
        assert_eq!(o.status, Status::Down);
        assert_eq!(o.reason, "timed out after 3 s");
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn retries_back_off_until_the_target_answers() {
        let probe = Script::new(
            vec![
                Outcome::down("HTTP 503"),
                Outcome::down("HTTP 503"),
                Outcome::up("HTTP 200"),
            ],
            Duration::ZERO,
        );
        let start = Instant::now();
        let r = round(
            &probe,
            Duration::from_secs(1),
            Duration::from_secs(30),
            backoff(5).with_jitter_seed(1),
            &Semaphore::new(1),
        )
        .await;
        assert_eq!((r.outcome.status, r.attempts), (Status::Up, 3));
        let starts = probe.starts.lock().unwrap().clone();
        let gaps: Vec<Duration> = starts.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps[0] >= FIRST_DELAY && gaps[0] < FIRST_DELAY * 2, "{gaps:?}");
        assert!(gaps[1] >= FIRST_DELAY * 2 && gaps[1] < FIRST_DELAY * 4, "{gaps:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test(start_paused = true)]
    async fn a_failure_counts_after_all_retries() {
        let probe = Script::new(vec![Outcome::down("connect refused")], Duration::ZERO);
        let r = round(
            &probe,
            Duration::from_secs(1),
            Duration::from_secs(60),
            backoff(2),
            &Semaphore::new(1),
        )
        .await;
        assert_eq!((r.outcome.status, r.attempts), (Status::Down, 3));
        assert_eq!(r.outcome.reason, "connect refused (3 attempts)");
        let r = round(
            &probe,
            Duration::from_secs(1),
            Duration::from_secs(60),
            backoff(0),
            &Semaphore::new(1),
        )
        .await;
        assert_eq!((r.attempts, r.outcome.reason.as_str()), (1, "connect refused"));
    }

    #[tokio::test(start_paused = true)]
    async fn degraded_is_not_retried() {
        let probe = Script::new(vec![Outcome::degraded("slow")], Duration::ZERO);
        let r = round(
            &probe,
            Duration::from_secs(1),
            Duration::from_secs(60),
            backoff(3),
            &Semaphore::new(1),
        )
        .await;
        assert_eq!((r.outcome.status, r.attempts), (Status::Degraded, 1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_round_stays_within_its_budget() {
        // Each attempt hangs to its 1 s timeout: in a 2.5 s budget only two
        // fit (1 s, ~0.2-0.4 s pause, 1 s), whatever `retries` says.
        let probe = Script::new(vec![Outcome::up("late")], Duration::from_secs(3600));
        let start = Instant::now();
        let r = round(
            &probe,
            Duration::from_secs(1),
            Duration::from_millis(2500),
            backoff(10),
            &Semaphore::new(1),
        )
        .await;
        assert_eq!(r.attempts, 2);
        assert_eq!(r.outcome.reason, "timed out after 1 s (2 attempts)");
        assert!(start.elapsed() <= Duration::from_millis(2500), "{:?}", start.elapsed());
    }
}

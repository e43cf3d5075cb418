//! The circuit breaker of one check, so a dead target is probed gently.
//!
//! - closed: every round probes (with retries). `failure_threshold` failed
//!   rounds in a row open it.
//! - open: rounds do not probe; the check stays down. After `reset_timeout`
//!   the next round is a trial.
//! - half-open: one trial attempt, without retries. Success closes the
//!   breaker; failure opens it for another `reset_timeout`.
//!
//! Time is tokio's clock, so the tests run on a paused one.

use std::time::Duration;

use app::checks::BreakerState;
use tokio::time::Instant;

/// What a round may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Gate {
    /// Closed: probe, with the check's retries.
    Probe,
    /// Half-open: one trial attempt, no retries.
    Trial,
    /// Open: do not probe; the next trial is this far away.
    Wait(Duration),
}

/// One check's breaker.
#[derive(Clone, Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    reset_timeout: Duration,
    state: State,
    failures: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, reset_timeout: Duration) -> Breaker {
        Breaker {
            threshold: threshold.max(1),
            reset_timeout,
            state: State::Closed,
            failures: 0,
        }
    }

    /// Whether this round may probe; an open breaker whose time is up turns
    /// half-open here.
    pub(crate) fn gate(&mut self) -> Gate {
        match self.state {
            State::Closed => Gate::Probe,
            State::HalfOpen => Gate::Trial,
            State::Open { until } => {
                let now = Instant::now();
                if now >= until {
                    self.state = State::HalfOpen;
                    Gate::Trial
                } else {
                    Gate::Wait(until - now)
                }
            }
        }
    }

    /// Records a probed round: `ok` unless the target was found down.
    pub(crate) fn record(&mut self, ok: bool) {
        if ok {
            self.failures = 0;
            self.state = State::Closed;
            return;
        }
        self.failures = self.failures.saturating_add(1);
        let open = match self.state {
            State::HalfOpen => true,
            State::Closed => self.failures >= self.threshold,
            State::Open { .. } => false,
        };
        if open {
            self.state = State::Open {
                until: Instant::now() + self.reset_timeout,
            };
        }
    }

    pub(crate) fn state(&self) -> BreakerState {
        match self.state {
            State::Closed => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen => BreakerState::HalfOpen,
        }
    }

    /// Probed rounds in a row that found the target down.
    pub(crate) fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use tokio::time::advance;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_threshold_and_stays_open_until_the_reset_timeout() {
        let mut b = Breaker::new(3, Duration::from_secs(60));
        for _ in 0..2 {
            assert_eq!(b.gate(), Gate::Probe);
            b.record(false);
            assert_eq!(b.state(), BreakerState::Closed);
        }
        assert_eq!(b.gate(), Gate::Probe);
        b.record(false);
        assert_eq!((b.state(), b.failures()), (BreakerState::Open, 3));
        assert_eq!(b.gate(), Gate::Wait(Duration::from_secs(60)));
        advance(Duration::from_secs(59)).await;
        assert_eq!(b.gate(), Gate::Wait(Duration::from_secs(1)));
        assert_eq!(b.state(), BreakerState::Open);
        advance(Duration::from_secs(1)).await;
        assert_eq!(b.gate(), Gate::Trial);
        assert_eq!(b.state(), BreakerState::HalfOpen);
    }

    #[tokio::test(start_paused = true)]
    async fn a_good_trial_closes_it() {
        let mut b = Breaker::new(1, Duration::from_secs(10));
        b.record(false);
        advance(Duration::from_secs(10)).await;
        assert_eq!(b.gate(), Gate::Trial);
        b.record(true);
        assert_eq!((b.state(), b.failures()), (BreakerState::Closed, 0));
        assert_eq!(b.gate(), Gate::Probe);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_trial_opens_it_for_another_reset_timeout() {
        let mut b = Breaker::new(2, Duration::from_secs(10));
        b.record(false);
        b.record(false);
        advance(Duration::from_secs(15)).await;
        assert_eq!(b.gate(), Gate::Trial);
        b.record(false);
        assert_eq!(b.state(), BreakerState::Open);
        assert_eq!(b.gate(), Gate::Wait(Duration::from_secs(10)));
        assert_eq!(b.failures(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_resets_the_count() {
        let mut b = Breaker::new(3, Duration::from_secs(10));
        b.record(false);
        b.record(false);
        b.record(true);
        b.record(false);
        b.record(false);
        assert_eq!(b.state(), BreakerState::Closed, "two in a row, not four");
    }
}

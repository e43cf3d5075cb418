//! The browser's reconnect schedule, as the `herd` clients follow it.
//!
//! A copy of the schedule in `app/src/live/machine.rs` (the live client's
//! connection machine: its `Backoff`, `RestartRetry` and `GoingAway`
//! handling): keep the two in step. If the browser's schedule changes,
//! change this one the same way, or `vigil-load herd` stops measuring what
//! real pages do after a restart.
//!
//! * After the server closes the socket with 1001 (going away: it is
//!   restarting), every retry waits a uniformly random delay in
//!   `[500, 2000)` ms, for as long as 30 s since that close. Failed retries
//!   in that window do not advance the backoff below.
//! * After any other close or failure, or once those 30 s are over: capped
//!   exponential backoff with full jitter, the n-th retry waiting a uniform
//!   delay in `[0, min(10000, 500 * 2^n))` ms.
//! * A connection that received a frame resets n to 0 (and ends the
//!   going-away window).
//!
//! Like the machine, it takes the time and the random number as inputs, so
//! tests can drive it on a clock of their own.

/// Close code of a server that is going away (restarting).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Shortest delay of a retry after a going-away close.
pub const AWAY_MIN_MS: f64 = 500.0;
/// Longest delay (exclusive) of a retry after a going-away close.
pub const AWAY_MAX_MS: f64 = 2_000.0;
/// How long after a going-away close its short delays apply.
pub const AWAY_WINDOW_MS: f64 = 30_000.0;
/// First backoff ceiling.
pub const BACKOFF_BASE_MS: f64 = 500.0;
/// Largest backoff ceiling.
pub const BACKOFF_CAP_MS: f64 = 10_000.0;

/// Capped exponential backoff with full jitter: the n-th retry waits a
/// uniformly random time in `[0, min(cap, base * 2^n))`. Same as the
/// machine's `Backoff`.
#[derive(Clone, Debug, PartialEq)]
pub struct Backoff {
    pub base_ms: f64,
    pub cap_ms: f64,
    attempt: u32,
}

impl Backoff {
    pub fn new(base_ms: f64, cap_ms: f64) -> Self {
        Backoff {
            base_ms,
            cap_ms,
            attempt: 0,
        }
    }

    /// The ceiling of the next delay, before jitter.
    pub fn ceiling_ms(&self) -> f64 {
        (self.base_ms * 2f64.powi(self.attempt.min(30) as i32)).min(self.cap_ms)
    }

    /// The next delay; `unit` is a random number in `[0, 1)`.
    pub fn next_delay_ms(&mut self, unit: f64) -> f64 {
        let delay = self.ceiling_ms() * unit.clamp(0.0, 1.0);
        self.attempt = self.attempt.saturating_add(1);
        delay
    }

    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(BACKOFF_BASE_MS, BACKOFF_CAP_MS)
    }
}

/// One client's retry schedule.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Schedule {
    backoff: Backoff,
    /// When the server last closed with 1001, until a connection gets a frame.
    away_since_ms: Option<f64>,
}

impl Schedule {
    /// A connection received a frame: the link is healthy.
    pub fn connected(&mut self) {
        self.backoff.reset();
        self.away_since_ms = None;
    }

    /// The server closed the socket at `now_ms`, with `code` if it sent a
    /// Close frame (any 1001, even on a socket that had no frame yet, as the
    /// page's `GoingAway`). A failed connect passes `None`: it leaves the
    /// schedule as it is.
    pub fn closed(&mut self, code: Option<u16>, now_ms: f64) {
        if code == Some(CLOSE_GOING_AWAY) {
            self.away_since_ms = Some(now_ms);
        }
    }

    /// True while retries get the short going-away delays.
    pub fn going_away(&self, now_ms: f64) -> bool {
        self.away_since_ms.is_some_and(|at| now_ms - at < AWAY_WINDOW_MS)
    }

    /// The delay before the next retry, decided at `now_ms`; `unit` is a
    /// random number in `[0, 1)`.
    pub fn next_delay_ms(&mut self, now_ms: f64, unit: f64) -> f64 {
        if self.going_away(now_ms) {
            AWAY_MIN_MS + (AWAY_MAX_MS - AWAY_MIN_MS) * unit.clamp(0.0, 1.0)
        } else {
            self.backoff.next_delay_ms(unit)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn going_away_retries_wait_half_a_second_to_two_for_thirty_seconds() {
        let mut s = Schedule::default();
        s.connected();
        s.closed(Some(CLOSE_GOING_AWAY), 1_000.0);
        assert_eq!(s.next_delay_ms(1_000.0, 0.0), 500.0);
        assert_eq!(s.next_delay_ms(2_000.0, 0.5), 1_250.0);
        assert!(s.next_delay_ms(2_000.0, 0.999_999) < 2_000.0);
        // Many failed retries in the window: still short delays.
        for i in 0..50 {
            let d = s.next_delay_ms(3_000.0 + f64::from(i) * 500.0, 0.9);
            assert!((500.0..2_000.0).contains(&d), "{d}");
        }
        assert!(s.going_away(30_999.0));
        // 30 s after the close: the backoff, from its first step.
        assert!(!s.going_away(31_000.0));
        assert_eq!(s.next_delay_ms(31_000.0, 0.5), 250.0);
        assert_eq!(s.next_delay_ms(32_000.0, 0.5), 500.0);
        assert_eq!(s.next_delay_ms(33_000.0, 0.5), 1_000.0);
    }

    #[test]
    fn other_closes_back_off_and_a_frame_resets() {
        let mut s = Schedule::default();
        s.closed(Some(1006), 0.0);
        s.closed(None, 0.0);
        let ceilings: Vec<f64> = (0..8).map(|_| s.next_delay_ms(0.0, 1.0)).collect();
        assert_eq!(
            ceilings,
            vec![500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0, 10_000.0, 10_000.0, 10_000.0]
        );
        assert_eq!(s.next_delay_ms(0.0, 0.0), 0.0, "full jitter reaches zero");
        s.connected();
        assert_eq!(s.next_delay_ms(0.0, 1.0), 500.0);
    }

    #[test]
    fn a_frame_ends_the_going_away_window() {
        let mut s = Schedule::default();
        s.closed(Some(CLOSE_GOING_AWAY), 0.0);
        assert!(s.going_away(10.0));
        s.connected();
        assert!(!s.going_away(10.0));
        // A later ordinary failure backs off from zero.
        s.closed(None, 20.0);
        assert_eq!(s.next_delay_ms(20.0, 1.0), 500.0);
        // A new going-away close opens a new window from its own time.
        s.closed(Some(CLOSE_GOING_AWAY), 40_000.0);
        assert!(s.going_away(69_999.0));
        assert!(!s.going_away(70_000.0));
    }

    #[test]
    fn backoff_survives_many_attempts() {
        let mut b = Backoff::default();
        for _ in 0..1_000 {
            assert!(b.next_delay_ms(1.0) <= BACKOFF_CAP_MS);
        }
        assert_eq!(b.ceiling_ms(), BACKOFF_CAP_MS);
    }
}

//! The live client's connection logic as a pure state machine: it is fed
//! events with the current time and answers with what the browser driver must
//! do. Keeping time and randomness as inputs makes every transition, the
//! backoff and the heartbeat timeout testable on a clock the test drives.

use serde::{Deserialize, Serialize};

use super::protocol::HEARTBEAT_MS;

/// The connection state shown on the page (`data-state`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnState {
    #[default]
    Connecting,
    Connected,
    Disconnecting,
    Disconnected,
}

impl ConnState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::Connecting => "connecting",
            ConnState::Connected => "connected",
            ConnState::Disconnecting => "disconnecting",
            ConnState::Disconnected => "disconnected",
        }
    }
}

/// Capped exponential backoff with full jitter: the n-th retry waits a
/// uniformly random time in `[0, min(cap, base * 2^n))`, so a server restart
/// is not met by every browser at the same instant.
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
        Backoff::new(500.0, 10_000.0)
    }
}

/// How the client retries after the server said it is going away (close
/// code 1001: a restart). A restart takes seconds, so waiting out an
/// exponential backoff would leave pages dark long after the server is
/// back; instead every retry waits a uniformly random `[min_ms, max_ms)`
/// for `window_ms` after the close, then the ordinary [`Backoff`] takes
/// over (the server did not come back; it may be gone for a while).
///
/// The floor keeps a restarted server from meeting every page at once:
/// 10,000 pages retrying every 0.5–2 s reconnect spread over 2 s once it
/// listens again (at most ~8,000 connects/s, then falling), and a refused
/// connect costs the host a reset, nothing more. `vigil-load herd` copies
/// this schedule to measure the herd: keep both in step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RestartRetry {
    pub min_ms: f64,
    pub max_ms: f64,
    pub window_ms: f64,
}

impl RestartRetry {
    fn delay_ms(&self, unit: f64) -> f64 {
        self.min_ms + (self.max_ms - self.min_ms) * unit.clamp(0.0, 1.0)
    }
}

impl Default for RestartRetry {
    fn default() -> Self {
        RestartRetry {
            min_ms: 500.0,
            max_ms: 2_000.0,
            window_ms: 30_000.0,
        }
    }
}

/// What happened, as the browser driver reports it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Event {
    /// The page wants the live stream.
    Start,
    /// The socket finished its handshake.
    Opened,
    /// A frame arrived.
    Frame,
    /// The applied frames showed a gap; reconnect to resume after the last one.
    Gap,
    /// A frame was unusable; start over with a fresh snapshot (at most once
    /// per [`Machine::start_over_cooldown_ms`], so bad data cannot loop).
    Corrupt,
    /// The server closed the socket saying it is going away (code 1001:
    /// shutting down for a restart). A `Closed` follows.
    GoingAway,
    /// The socket closed or failed, for whatever reason.
    Closed,
    /// The scheduled retry is due.
    RetryDue,
    /// The tab was hidden: pause the stream.
    Hidden,
    /// The tab is visible again: resume at once.
    Visible,
    /// Periodic check of the heartbeat and connect timeouts.
    Tick,
    /// The server closed the socket because this page's session ended
    /// ([`super::protocol::CLOSE_SIGNED_OUT`]): `/ws` would refuse every
    /// retry, so the client stops for good.
    SignedOut,
}

/// What the driver must do.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Command {
    /// Open a socket: resuming after the last applied `seq`, or with
    /// `fresh` for a new snapshot (no `since`).
    Open { fresh: bool },
    /// Close the current socket.
    Close,
    /// Deliver [`Event::RetryDue`] after this many milliseconds.
    RetryIn(f64),
}

/// The client's connection state machine.
#[derive(Clone, Debug)]
pub struct Machine {
    state: ConnState,
    backoff: Backoff,
    /// How retries go while the server restarts.
    pub restart: RestartRetry,
    /// When the server last said it was going away, until a link carries
    /// data again.
    going_away_since_ms: Option<f64>,
    hidden: bool,
    /// When the socket was asked to open, or the last frame arrived.
    last_activity_ms: f64,
    /// A socket is open or opening (so a close is expected before a retry).
    socket: bool,
    /// A retry timer is pending.
    retry_pending: bool,
    /// The next socket starts over with a fresh snapshot.
    fresh_pending: bool,
    /// The session ended: nothing opens a socket again.
    signed_out: bool,
    /// When the client last started over after an unusable frame.
    last_start_over_ms: Option<f64>,
    /// Unusable frames within this long of the last start-over are skipped
    /// without another one.
    pub start_over_cooldown_ms: f64,
    /// No frame for this long on an open socket means the link is dead.
    pub heartbeat_timeout_ms: f64,
    /// A handshake that takes longer than this is abandoned.
    pub connect_timeout_ms: f64,
}

impl Default for Machine {
    fn default() -> Self {
        Machine::new(Backoff::default())
    }
}

impl Machine {
    pub fn new(backoff: Backoff) -> Self {
        Machine {
            state: ConnState::Disconnected,
            backoff,
            restart: RestartRetry::default(),
            going_away_since_ms: None,
            hidden: false,
            last_activity_ms: 0.0,
            socket: false,
            retry_pending: false,
            fresh_pending: false,
            signed_out: false,
            last_start_over_ms: None,
            start_over_cooldown_ms: 300_000.0,
            heartbeat_timeout_ms: (3 * HEARTBEAT_MS) as f64,
            connect_timeout_ms: 10_000.0,
        }
    }

    pub fn state(&self) -> ConnState {
        self.state
    }

    /// The session ended ([`Event::SignedOut`]); the client has stopped.
    pub fn signed_out(&self) -> bool {
        self.signed_out
    }

    /// Feeds one event at time `now_ms`; `unit` is a random number in
    /// `[0, 1)` used for jitter.
    pub fn handle(&mut self, event: Event, now_ms: f64, unit: f64) -> Option<Command> {
        use ConnState::*;
        if self.signed_out {
            return None;
        }
        match (event, self.state) {
            (Event::SignedOut, _) => {
                // The socket is already closed; the `Closed` that follows
                // is ignored with everything else.
                self.signed_out = true;
                self.socket = false;
                self.state = Disconnected;
                None
            }
            (Event::Start | Event::Visible, _) => {
                self.hidden = false;
                if self.socket {
                    return None;
                }
                self.backoff.reset();
                self.open(now_ms)
            }
            (Event::RetryDue, _) => {
                self.retry_pending = false;
                if self.hidden || self.socket {
                    return None;
                }
                self.open(now_ms)
            }
            (Event::Opened, Connecting) => {
                self.state = Connected;
                self.last_activity_ms = now_ms;
                None
            }
            (Event::Frame, Connected) => {
                // A link that carried data is healthy: the next failure
                // starts the backoff from the beginning again.
                self.backoff.reset();
                self.going_away_since_ms = None;
                self.last_activity_ms = now_ms;
                None
            }
            (Event::GoingAway, _) => {
                self.going_away_since_ms = Some(now_ms);
                None
            }
            (Event::Hidden, Connecting | Connected) => {
                self.hidden = true;
                self.close()
            }
            (Event::Hidden, _) => {
                self.hidden = true;
                None
            }
            (Event::Gap, Connected) => self.close(),
            (Event::Corrupt, Connected) => {
                let recent = self
                    .last_start_over_ms
                    .is_some_and(|at| now_ms - at < self.start_over_cooldown_ms);
                if recent {
                    return None;
                }
                self.last_start_over_ms = Some(now_ms);
                self.fresh_pending = true;
                self.close()
            }
            (Event::Tick, Connected) if now_ms - self.last_activity_ms > self.heartbeat_timeout_ms => self.close(),
            (Event::Tick, Connecting) if now_ms - self.last_activity_ms > self.connect_timeout_ms => self.close(),
            (Event::Closed, _) => {
                self.socket = false;
                self.state = Disconnected;
                if self.hidden {
                    return None;
                }
                if self.fresh_pending {
                    // Starting over is not a failure: no backoff.
                    return self.open(now_ms);
                }
                if self.retry_pending {
                    return None;
                }
                self.retry_pending = true;
                let restarting = self
                    .going_away_since_ms
                    .is_some_and(|since| now_ms - since < self.restart.window_ms);
                let delay = if restarting {
                    self.restart.delay_ms(unit)
                } else {
                    self.backoff.next_delay_ms(unit)
                };
                Some(Command::RetryIn(delay))
            }
            _ => None,
        }
    }

    fn open(&mut self, now_ms: f64) -> Option<Command> {
        self.state = ConnState::Connecting;
        self.socket = true;
        self.last_activity_ms = now_ms;
        Some(Command::Open {
            fresh: std::mem::take(&mut self.fresh_pending),
        })
    }

    fn close(&mut self) -> Option<Command> {
        self.state = ConnState::Disconnecting;
        Some(Command::Close)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Command = Command::Open { fresh: false };

    /// A clock the test moves by hand, with the machine it drives.
    struct Harness {
        now: f64,
        machine: Machine,
    }

    impl Harness {
        fn new() -> Self {
            Harness {
                now: 0.0,
                machine: Machine::default(),
            }
        }
        fn send(&mut self, e: Event) -> Option<Command> {
            self.machine.handle(e, self.now, 0.5)
        }
        fn advance(&mut self, ms: f64) -> Option<Command> {
            self.now += ms;
            self.send(Event::Tick)
        }
        fn state(&self) -> ConnState {
            self.machine.state()
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_full_jitter() {
        let mut b = Backoff::new(100.0, 1_000.0);
        let ceilings: Vec<f64> = (0..6).map(|_| b.next_delay_ms(1.0)).collect();
        assert_eq!(ceilings, vec![100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0]);
        assert_eq!(b.next_delay_ms(0.0), 0.0, "full jitter reaches zero");
        assert_eq!(b.next_delay_ms(0.25), 250.0);
        b.reset();
        assert_eq!(b.next_delay_ms(1.0), 100.0);
    }

    #[test]
    fn backoff_survives_many_attempts() {
        let mut b = Backoff::new(500.0, 30_000.0);
        for _ in 0..10_000 {
            b.next_delay_ms(0.9);
        }
        assert_eq!(b.ceiling_ms(), 30_000.0);
    }

    #[test]
    fn connects_then_goes_live() {
        let mut h = Harness::new();
        assert_eq!(h.state(), ConnState::Disconnected);
        assert_eq!(h.send(Event::Start), Some(OPEN));
        assert_eq!(h.state(), ConnState::Connecting);
        assert_eq!(h.send(Event::Opened), None);
        assert_eq!(h.state(), ConnState::Connected);
    }

    #[test]
    fn a_closed_socket_is_retried_with_growing_delays() {
        let mut h = Harness::new();
        h.send(Event::Start);
        let mut delays = vec![];
        for _ in 0..4 {
            match h.send(Event::Closed) {
                Some(Command::RetryIn(d)) => delays.push(d),
                other => panic!("expected a retry, got {other:?}"),
            }
            assert_eq!(h.state(), ConnState::Disconnected);
            h.now += delays.last().copied().unwrap_or_default();
            assert_eq!(h.send(Event::RetryDue), Some(OPEN));
            assert_eq!(h.state(), ConnState::Connecting);
        }
        // unit = 0.5: half of 500, 1000, 2000, 4000.
        assert_eq!(delays, vec![250.0, 500.0, 1000.0, 2000.0]);
    }

    #[test]
    fn data_on_the_link_resets_the_backoff() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Closed);
        h.send(Event::RetryDue);
        h.send(Event::Opened);
        h.send(Event::Frame);
        assert_eq!(h.send(Event::Closed), Some(Command::RetryIn(250.0)));
    }

    #[test]
    fn a_restarting_server_is_retried_often_then_with_the_backoff() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        h.send(Event::Frame);
        assert_eq!(h.send(Event::GoingAway), None);
        // The restart takes a while: every refused retry waits 0.5–2 s
        // (unit 0.5: 1.25 s), not a growing delay.
        let mut delays = vec![];
        while h.now < 27_000.0 {
            match h.send(Event::Closed) {
                Some(Command::RetryIn(d)) => delays.push(d),
                other => panic!("expected a retry, got {other:?}"),
            }
            h.now += delays.last().copied().unwrap_or_default();
            assert_eq!(h.send(Event::RetryDue), Some(OPEN));
        }
        assert!(delays.len() > 20, "{delays:?}");
        assert!(delays.iter().all(|&d| d == 1_250.0), "{delays:?}");
        assert_eq!(
            h.machine.handle(Event::Closed, h.now, 0.0),
            Some(Command::RetryIn(500.0)),
            "never sooner than the floor"
        );
        h.send(Event::RetryDue);
        // 30 s on, the server is not back: the ordinary backoff from its start.
        h.now = 31_000.0;
        assert_eq!(h.send(Event::Closed), Some(Command::RetryIn(250.0)));
        h.send(Event::RetryDue);
        assert_eq!(h.send(Event::Closed), Some(Command::RetryIn(500.0)));
    }

    #[test]
    fn a_link_that_carries_data_ends_the_restart_schedule() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        h.send(Event::GoingAway);
        assert_eq!(h.send(Event::Closed), Some(Command::RetryIn(1_250.0)));
        h.send(Event::RetryDue);
        h.send(Event::Opened);
        h.send(Event::Frame);
        // A later ordinary drop (no going-away) backs off as usual.
        assert_eq!(h.send(Event::Closed), Some(Command::RetryIn(250.0)));
    }

    #[test]
    fn silence_past_the_heartbeat_timeout_closes_the_link() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        for _ in 0..10 {
            assert_eq!(h.advance(1_000.0), None);
            h.send(Event::Frame);
        }
        assert_eq!(h.advance(14_000.0), None, "still within the timeout");
        assert_eq!(h.advance(2_000.0), Some(Command::Close));
        assert_eq!(h.state(), ConnState::Disconnecting);
        assert!(matches!(h.send(Event::Closed), Some(Command::RetryIn(_))));
        assert_eq!(h.state(), ConnState::Disconnected);
    }

    #[test]
    fn a_hanging_handshake_is_abandoned() {
        let mut h = Harness::new();
        h.send(Event::Start);
        assert_eq!(h.advance(9_000.0), None);
        assert_eq!(h.advance(2_000.0), Some(Command::Close));
    }

    #[test]
    fn hidden_tab_pauses_and_visible_resumes_at_once() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        assert_eq!(h.send(Event::Hidden), Some(Command::Close));
        assert_eq!(h.state(), ConnState::Disconnecting);
        assert_eq!(h.send(Event::Closed), None, "no retry while hidden");
        assert_eq!(h.state(), ConnState::Disconnected);
        assert_eq!(h.advance(60_000.0), None);
        assert_eq!(h.send(Event::Visible), Some(OPEN));
        assert_eq!(h.state(), ConnState::Connecting);
    }

    #[test]
    fn a_stale_retry_does_not_open_a_second_socket() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Closed);
        // The tab becomes visible (opening a socket) before the retry fires.
        h.send(Event::Hidden);
        assert_eq!(h.send(Event::Visible), Some(OPEN));
        assert_eq!(h.send(Event::RetryDue), None);
    }

    #[test]
    fn a_gap_reconnects_to_resume() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        assert_eq!(h.send(Event::Gap), Some(Command::Close));
        assert!(matches!(h.send(Event::Closed), Some(Command::RetryIn(_))));
    }

    #[test]
    fn an_unusable_frame_starts_over_fresh_once_not_in_a_loop() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        assert_eq!(h.send(Event::Corrupt), Some(Command::Close));
        assert_eq!(
            h.send(Event::Closed),
            Some(Command::Open { fresh: true }),
            "at once, without a since"
        );
        h.send(Event::Opened);
        // The fresh snapshot's stream has bad data again: skip, do not reconnect.
        for _ in 0..10 {
            h.now += 1_000.0;
            assert_eq!(h.send(Event::Corrupt), None);
        }
        assert_eq!(h.state(), ConnState::Connected);
        // Much later a new problem may start over again, once.
        h.now += 300_000.0;
        assert_eq!(h.send(Event::Corrupt), Some(Command::Close));
        assert_eq!(h.send(Event::Closed), Some(Command::Open { fresh: true }));
        h.send(Event::Opened);
        // An ordinary drop resumes with since, not fresh.
        h.send(Event::Closed);
        assert_eq!(h.send(Event::RetryDue), Some(OPEN));
    }

    #[test]
    fn a_session_that_ended_stops_the_client_for_good() {
        let mut h = Harness::new();
        h.send(Event::Start);
        h.send(Event::Opened);
        assert_eq!(h.send(Event::SignedOut), None);
        assert_eq!(h.state(), ConnState::Disconnected);
        assert!(h.machine.signed_out());
        // The close that follows, a due retry, the tab coming back, a stale
        // link: none opens a socket the server would refuse.
        for event in [
            Event::Closed,
            Event::RetryDue,
            Event::Hidden,
            Event::Visible,
            Event::Start,
        ] {
            assert_eq!(h.send(event), None, "{event:?}");
        }
        assert_eq!(h.advance(60_000.0), None);
        assert_eq!(h.state(), ConnState::Disconnected);
    }

    #[test]
    fn the_state_word_matches_the_page_contract() {
        let words: Vec<_> = [
            ConnState::Connecting,
            ConnState::Connected,
            ConnState::Disconnecting,
            ConnState::Disconnected,
        ]
        .iter()
        .map(|s| s.as_str())
        .collect();
        assert_eq!(words, ["connecting", "connected", "disconnecting", "disconnected"]);
    }
}

//! The recent history of every check, kept in memory from the check
//! events: the last rounds (status and latency) and the last announced
//! transitions, for `GET /api/v1/checks/NAME`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, RwLock};

use app::checks::{CheckDetail, Round, Transition};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::signals::{CheckBus, CheckEvent};

/// Rounds kept per check: what the page shows (at a 10 s interval, the
/// last 20 minutes; older ones are in the history store).
const ROUNDS: usize = app::checks::RECENT_ROUNDS;
/// Transitions kept per check.
const TRANSITIONS: usize = 50;

#[derive(Default)]
struct Log {
    rounds: VecDeque<Round>,
    transitions: VecDeque<Transition>,
}

/// Recent rounds and transitions by check name.
#[derive(Default)]
pub(crate) struct Recent {
    logs: RwLock<HashMap<String, Log>>,
}

impl Recent {
    /// Takes one event.
    pub(crate) fn record(&self, event: &CheckEvent) {
        let mut logs = self.logs.write().unwrap_or_else(|e| e.into_inner());
        match event {
            CheckEvent::Round(state) if state.ts > 0 => {
                let log = logs.entry(state.name.clone()).or_default();
                // A half-open notice repeats the last round's time: not a round.
                if log.rounds.back().is_some_and(|r| r.ts == state.ts) {
                    return;
                }
                log.rounds.push_back(Round {
                    ts: state.ts,
                    status: state.observed,
                    latency_ms: state.latency_ms,
                });
                if log.rounds.len() > ROUNDS {
                    log.rounds.pop_front();
                }
            }
            CheckEvent::Round(_) => {}
            CheckEvent::Transition(t) => {
                let log = logs.entry(t.check.clone()).or_default();
                log.transitions.push_back(Transition::clone(t));
                if log.transitions.len() > TRANSITIONS {
                    log.transitions.pop_front();
                }
            }
        }
    }

    /// One check's state and recent history; `None` for an unknown name.
    pub(crate) fn detail(&self, checks: &CheckBus, name: &str) -> Option<CheckDetail> {
        let state = checks.get(name)?;
        let logs = self.logs.read().unwrap_or_else(|e| e.into_inner());
        let log = logs.get(name);
        Some(CheckDetail {
            state,
            rounds: log.map(|l| l.rounds.iter().copied().collect()).unwrap_or_default(),
            transitions: log.map(|l| l.transitions.iter().cloned().collect()).unwrap_or_default(),
            uptime: Default::default(),
            hours: Vec::new(),
            days: Vec::new(),
            latency_day: Vec::new(),
        })
    }

    /// One check's last `n` rounds, oldest first.
    pub(crate) fn rounds(&self, name: &str, n: usize) -> Vec<Round> {
        let logs = self.logs.read().unwrap_or_else(|e| e.into_inner());
        logs.get(name).map_or_else(Vec::new, |l| {
            l.rounds
                .iter()
                .skip(l.rounds.len().saturating_sub(n))
                .copied()
                .collect()
        })
    }
}

/// Records every check event until `shutdown`.
pub(crate) async fn keep(
    recent: Arc<Recent>,
    mut events: broadcast::Receiver<CheckEvent>,
    shutdown: CancellationToken,
) {
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(event) => recent.record(&event),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::debug!(missed = n, "check history fell behind the check events");
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use app::checks::{CheckKind, CheckState};
    use app::health::Status;

    use super::*;

    fn round(ts: i64, status: Status) -> CheckEvent {
        CheckEvent::Round(Arc::new(CheckState {
            name: "web".into(),
            kind: CheckKind::Http,
            target: "http://x".into(),
            status,
            observed: status,
            reason: String::new(),
            latency_ms: Some(3.0),
            subs: vec![],
            breaker: Default::default(),
            ts,
            since: 0,
            consecutive_failures: 0,
        }))
    }

    #[test]
    fn rounds_are_bounded_and_repeats_skipped() {
        let recent = Recent::default();
        for ts in 1..=(ROUNDS as i64 + 10) {
            recent.record(&round(ts, Status::Up));
            recent.record(&round(ts, Status::Up));
        }
        let logs = recent.logs.read().unwrap();
        let log = logs.get("web").unwrap();
        assert_eq!(log.rounds.len(), ROUNDS);
        assert_eq!(log.rounds.front().unwrap().ts, 11);
    }
}

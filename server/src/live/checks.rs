//! Check rounds on the live stream: every check event is gathered for a
//! short period and published as one `checks` frame, so a thousand checks
//! make at most one frame per period however their rounds fall, and a
//! status change reaches the browser within one period.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::checks::{CheckState, ChecksUpdate, Transition};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use super::Hub;
use crate::signals::CheckEvent;

/// What one frame will carry.
#[derive(Default)]
struct Gathered {
    /// The latest state of each check that moved, by name.
    states: HashMap<String, Arc<CheckState>>,
    /// In the order they were announced.
    transitions: Vec<Arc<Transition>>,
}

impl Gathered {
    fn take(&mut self) -> Option<ChecksUpdate> {
        if self.states.is_empty() && self.transitions.is_empty() {
            return None;
        }
        let mut states: Vec<CheckState> = self.states.drain().map(|(_, s)| CheckState::clone(&s)).collect();
        states.sort_by(|a, b| a.name.cmp(&b.name));
        let transitions = self.transitions.drain(..).map(|t| Transition::clone(&t)).collect();
        Some(ChecksUpdate { states, transitions })
    }
}

/// Publishes the check events of `events` as `checks` frames, at most one
/// per `period`, until `shutdown`.
pub(crate) async fn run(
    hub: Arc<Hub>,
    mut events: broadcast::Receiver<CheckEvent>,
    period: Duration,
    shutdown: CancellationToken,
) {
    let mut gathered = Gathered::default();
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => {
                if let Some(update) = gathered.take() {
                    hub.publish_checks(&update);
                }
            }
            event = events.recv() => match event {
                Ok(CheckEvent::Round(state)) => {
                    gathered.states.insert(state.name.clone(), state);
                }
                Ok(CheckEvent::Transition(t)) => gathered.transitions.push(t),
                // A lost round is made good by the check's next one.
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "live stream fell behind the checks"),
                Err(RecvError::Closed) => return,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use app::checks::{BreakerState, CheckKind};
    use app::health::Status;
    use app::live::protocol::{parse_frame, ServerFrame};

    use super::*;
    use crate::live::hub::{test_hub, Start};

    fn state(name: &str, ts: i64, status: Status) -> Arc<CheckState> {
        Arc::new(CheckState {
            name: name.into(),
            kind: CheckKind::Tcp,
            target: "127.0.0.1:1".into(),
            status,
            observed: status,
            reason: "connect refused".into(),
            latency_ms: Some(1.5),
            subs: vec![],
            breaker: BreakerState::Closed,
            ts,
            since: ts,
            consecutive_failures: 0,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_are_gathered_into_one_frame_per_period() {
        let hub = test_hub(0);
        let mut sub = hub.subscribe(Some(0));
        assert!(matches!(sub.start, Start::Replay(ref f) if f.is_empty()));
        let (tx, rx) = broadcast::channel(16);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(hub.clone(), rx, Duration::from_millis(500), shutdown.clone()));
        tokio::time::sleep(Duration::from_millis(10)).await;
        tx.send(CheckEvent::Round(state("a", 1, Status::Up))).unwrap();
        tx.send(CheckEvent::Round(state("b", 1, Status::Up))).unwrap();
        tx.send(CheckEvent::Transition(Arc::new(Transition {
            check: "a".into(),
            from: Status::Up,
            to: Status::Down,
            reason: "connect refused".into(),
            ts: 2,
        })))
        .unwrap();
        tx.send(CheckEvent::Round(state("a", 2, Status::Down))).unwrap();
        tokio::time::sleep(Duration::from_millis(600)).await;

        let frame = sub.rx.try_recv().expect("one frame");
        assert!(sub.rx.try_recv().is_err(), "only one frame for four events");
        let ServerFrame::Checks { seq, data } = parse_frame(frame.text.as_str()).unwrap() else {
            panic!("a checks frame: {}", frame.text.as_str());
        };
        assert_eq!(seq, 1);
        assert_eq!(
            data.states.iter().map(|s| (s.name.as_str(), s.ts)).collect::<Vec<_>>(),
            vec![("a", 2), ("b", 1)],
            "the latest state of each check"
        );
        assert_eq!(data.transitions.len(), 1);

        // Nothing new: no frame.
        tokio::time::sleep(Duration::from_millis(1000)).await;
        assert!(sub.rx.try_recv().is_err());
        shutdown.cancel();
        task.await.unwrap();
    }
}

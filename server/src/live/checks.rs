//! Check rounds on the live stream. Every check event is gathered and goes
//! out as one `checks` frame right behind the next sample: a thousand
//! checks make at most one frame per sample however their rounds fall, and
//! no sample waits behind a checks frame (a shard writes each frame to all
//! its clients in turn, so a frame just ahead of a sample is a whole pass
//! of lag for it). When samples are slower than `period`, or stop, what is
//! gathered goes out on its own a quarter of a period after `period`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use app::checks::{CheckState, ChecksUpdate, Transition};
use tokio::time::Instant;

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

/// The check events waiting for a frame, and when that frame goes out.
pub(crate) struct CheckFrames {
    gathered: Gathered,
    period: Duration,
    /// When the first of the gathered events came.
    first: Option<Instant>,
    /// When the last frame went out.
    last_sent: Option<Instant>,
}

impl CheckFrames {
    /// Frames at most about one per `period` (behind samples that come
    /// faster, one every three quarters of it at most).
    pub(crate) fn new(period: Duration) -> Self {
        CheckFrames {
            gathered: Gathered::default(),
            period,
            first: None,
            last_sent: None,
        }
    }

    /// Gathers one event.
    pub(crate) fn gather(&mut self, event: CheckEvent, now: Instant) {
        match event {
            CheckEvent::Round(state) => {
                self.gathered.states.insert(state.name.clone(), state);
            }
            CheckEvent::Transition(t) => self.gathered.transitions.push(t),
        }
        self.first.get_or_insert(now);
    }

    /// The frame to publish right behind a sample, if anything is gathered
    /// and the last frame is not too recent.
    pub(crate) fn behind_sample(&mut self, now: Instant) -> Option<ChecksUpdate> {
        let spaced = self.last_sent.is_none_or(|at| now >= at + self.period * 3 / 4);
        if spaced {
            self.take(now)
        } else {
            None
        }
    }

    /// When what is gathered goes out if no sample takes it first.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.first.map(|first| first + self.period * 5 / 4)
    }

    /// The frame to publish now (at the [`deadline`](Self::deadline)):
    /// everything gathered.
    pub(crate) fn take(&mut self, now: Instant) -> Option<ChecksUpdate> {
        self.first = None;
        let update = self.gathered.take()?;
        self.last_sent = Some(now);
        Some(update)
    }
}

#[cfg(test)]
mod tests {
    use app::checks::{BreakerState, CheckKind};
    use app::health::{HealthReport, Status};
    use app::live::protocol::{parse_frame, ServerFrame};
    use app::metrics::Sample;
    use tokio::sync::broadcast;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::live::hub::{run, test_hub, Feeds, Frame, Hub, Start};

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

    /// The hub, fed by `run` from buses the test holds.
    struct Fed {
        hub: Arc<Hub>,
        samples: broadcast::Sender<Arc<Sample>>,
        checks: broadcast::Sender<CheckEvent>,
        _reports: broadcast::Sender<Arc<HealthReport>>,
        shutdown: CancellationToken,
        task: tokio::task::JoinHandle<()>,
    }

    fn fed(period: Duration) -> Fed {
        let hub = test_hub(0);
        let (samples, samples_rx) = broadcast::channel(16);
        let (checks, checks_rx) = broadcast::channel(16);
        let (reports, reports_rx) = broadcast::channel(16);
        let shutdown = CancellationToken::new();
        let feeds = Feeds {
            samples: samples_rx,
            reports: reports_rx,
            checks: checks_rx,
            checks_period: period,
        };
        let task = tokio::spawn(run(hub.clone(), feeds, shutdown.clone()));
        Fed {
            hub,
            samples,
            checks,
            _reports: reports,
            shutdown,
            task,
        }
    }

    impl Fed {
        fn sample(&self, ts: i64) {
            self.samples
                .send(Arc::new(Sample {
                    ts,
                    ..Default::default()
                }))
                .unwrap();
        }

        fn round(&self, name: &str, ts: i64) {
            self.checks
                .send(CheckEvent::Round(state(name, ts, Status::Up)))
                .unwrap();
        }

        async fn stop(self) {
            self.shutdown.cancel();
            self.task.await.unwrap();
        }
    }

    /// The kinds of the frames received so far, with check names for `checks`.
    fn kinds(rx: &mut broadcast::Receiver<Arc<Frame>>) -> Vec<String> {
        let mut kinds = vec![];
        while let Ok(frame) = rx.try_recv() {
            kinds.push(match parse_frame(frame.text.as_str()).unwrap() {
                ServerFrame::Sample { data, .. } => format!("sample {}", data.ts),
                ServerFrame::Checks { data, .. } => {
                    let names: Vec<&str> = data.states.iter().map(|s| s.name.as_str()).collect();
                    format!("checks {}", names.join(","))
                }
                other => panic!("unexpected frame {other:?}"),
            });
        }
        kinds
    }

    async fn after(ms: u64) {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_with_no_sample_go_out_as_one_frame_a_quarter_period_late() {
        let fed = fed(Duration::from_millis(500));
        let mut sub = fed.hub.subscribe(Some(0));
        assert!(matches!(sub.start, Start::Replay(ref f) if f.is_empty()));
        after(10).await;
        fed.round("a", 1);
        fed.round("b", 1);
        fed.checks
            .send(CheckEvent::Transition(Arc::new(Transition {
                check: "a".into(),
                from: Status::Up,
                to: Status::Down,
                reason: "connect refused".into(),
                ts: 2,
            })))
            .unwrap();
        fed.checks.send(CheckEvent::Round(state("a", 2, Status::Down))).unwrap();
        after(600).await;
        assert!(sub.rx.try_recv().is_err(), "nothing before a period and a quarter");
        after(50).await;

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
        after(1000).await;
        assert!(sub.rx.try_recv().is_err());
        fed.stop().await;
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_go_out_right_behind_the_next_sample_at_most_one_frame_a_period() {
        let fed = fed(Duration::from_secs(1));
        let mut frames = fed.hub.frames();
        after(10).await;
        fed.round("a", 1);
        after(300).await;
        assert_eq!(kinds(&mut frames), Vec::<String>::new(), "waiting for a sample");
        fed.sample(1);
        after(1).await;
        assert_eq!(kinds(&mut frames), ["sample 1", "checks a"], "right behind it");

        // A sample sooner than three quarters of a period after that frame
        // goes out alone; the next one takes what came meanwhile.
        fed.round("b", 2);
        after(400).await;
        fed.sample(2);
        after(1).await;
        assert_eq!(kinds(&mut frames), ["sample 2"]);
        after(600).await;
        fed.sample(3);
        after(1).await;
        assert_eq!(kinds(&mut frames), ["sample 3", "checks b"]);

        // The sample goes first when a round comes with it: the round
        // waits for the next sample.
        fed.round("c", 3);
        after(1000).await;
        fed.sample(4);
        fed.round("d", 4);
        after(1).await;
        assert_eq!(kinds(&mut frames), ["sample 4", "checks c"]);
        after(1000).await;
        fed.sample(5);
        after(1).await;
        assert_eq!(kinds(&mut frames), ["sample 5", "checks d"]);
        fed.stop().await;
    }
}

//! The hub: the one broadcast every live frame goes through.
//!
//! [`run`] feeds it from the sample, health and check buses (check events
//! gathered into one frame behind the next sample): each frame gets the
//! next `seq`, is serialized once, kept in a replay ring (for `?since=SEQ`),
//! and broadcast as shared bytes to the fan-out's shards. Snapshots for new
//! clients are built from the latest sample and a compact history, and
//! cached per `seq` so a burst of connects serializes once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use app::checks::ChecksUpdate;
use app::health::{HealthChanges, HealthReport};
use app::live::protocol::{SparkHistory, HEARTBEAT_MS};
use app::metrics::{Point, Sample, Snapshot, SystemInfo};
use serde::Serialize;
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Utf8Bytes;
use tokio_util::sync::CancellationToken;

use super::checks::CheckFrames;
use crate::signals::{CheckEvent, LiveStats};

/// One serialized frame, shared by every client.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) seq: u64,
    pub(crate) text: Utf8Bytes,
    /// When it was published, to measure how long delivery took.
    pub(crate) published: Instant,
}

pub(crate) type SharedFrame = Arc<Frame>;

/// How a new subscription starts.
#[derive(Debug)]
pub(crate) enum Start {
    /// A fresh client: a `snapshot` frame first.
    Snapshot(Utf8Bytes),
    /// A resuming client: the frames it missed, in order (maybe none).
    Replay(Vec<SharedFrame>),
    /// A resuming client whose frames are gone: one `resync` frame.
    Resync(Utf8Bytes),
}

/// A client's view of the stream (tests).
#[cfg(test)]
pub(crate) struct Subscription {
    pub(crate) start: Start,
    pub(crate) rx: broadcast::Receiver<SharedFrame>,
}

/// Hub tuning.
#[derive(Clone, Debug)]
pub(crate) struct HubOptions {
    pub(crate) host: String,
    /// What the host is, for snapshots.
    pub(crate) system: SystemInfo,
    pub(crate) interval: Duration,
    /// How long frames stay replayable.
    pub(crate) replay_window: Duration,
    /// How many frames a slow client may fall behind before it must resync.
    pub(crate) channel_capacity: usize,
    /// Points of history a snapshot carries.
    pub(crate) history_len: usize,
    /// First `seq`; defaults to the boot time in ms, so that `seq` keeps
    /// increasing across restarts and a client of an earlier run never
    /// mistakes new frames for ones it has seen.
    pub(crate) first_seq: u64,
}

impl HubOptions {
    pub(crate) fn new(host: String, interval: Duration, replay_window: Duration) -> Self {
        let boot_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        HubOptions {
            host,
            system: SystemInfo::default(),
            interval,
            replay_window,
            channel_capacity: 64,
            history_len: SparkHistory::DEFAULT_CAPACITY,
            first_seq: boot_ms,
        }
    }
}

/// The snapshot of the current `seq` and its `snapshot`/`resync` frames,
/// each built at most once however many pages and clients ask for them.
#[derive(Default)]
struct SnapshotCache {
    snapshot: Option<Arc<Snapshot>>,
    frames: Option<(Utf8Bytes, Utf8Bytes)>,
}

struct Ring {
    seq: u64,
    frames: VecDeque<SharedFrame>,
    /// Text bytes of `frames`.
    bytes: usize,
    /// The sample of the newest `sample` frame: a snapshot must hold the
    /// sample its `seq` covers, which the sample bus's latest may already
    /// have passed.
    current: Option<Arc<Sample>>,
    health: Option<Arc<HealthReport>>,
    /// The pending and firing alerts of the newest `alerts` frame.
    alerts: Option<Arc<app::alerts::AlertsLive>>,
    history: VecDeque<Point>,
    last_publish: Instant,
    /// What was built from the current `seq`; emptied by every publish.
    cache: SnapshotCache,
}

/// The live stream's single point of publication.
pub(crate) struct Hub {
    options: HubOptions,
    tx: broadcast::Sender<SharedFrame>,
    ring: Mutex<Ring>,
    pub(crate) stats: Arc<LiveStats>,
}

#[derive(Serialize)]
struct Out<'a, T: Serialize> {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    data: &'a T,
}

#[derive(Serialize)]
struct Heartbeat {
    #[serde(rename = "type")]
    kind: &'static str,
    seq: u64,
    ts: i64,
}

fn to_text<T: Serialize>(value: &T) -> Utf8Bytes {
    // Serializing plain structs of numbers and strings cannot fail.
    let mut text = serde_json::to_string(value).unwrap_or_default();
    // The replay ring keeps frames for minutes: without the growth slack.
    text.shrink_to_fit();
    text.into()
}

/// Most bytes of frames the replay ring keeps, whatever its time window:
/// with a thousand checks, health and checks frames of tens of kilobytes
/// each would otherwise hold tens of megabytes. A client that resumes from
/// further back gets a `resync`.
const RING_MAX_BYTES: usize = 4 << 20;

impl Hub {
    pub(crate) fn new(options: HubOptions, stats: Arc<LiveStats>) -> Arc<Hub> {
        let (tx, _) = broadcast::channel(options.channel_capacity.max(1));
        let ring = Ring {
            seq: options.first_seq,
            frames: VecDeque::new(),
            bytes: 0,
            current: None,
            health: None,
            alerts: None,
            history: VecDeque::new(),
            last_publish: Instant::now(),
            cache: SnapshotCache::default(),
        };
        Arc::new(Hub {
            options,
            tx,
            ring: Mutex::new(ring),
            stats,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Ring> {
        // A panic while holding the lock leaves consistent data (every
        // mutation is a push or pop), so keep serving.
        self.ring.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Gives `data` the next `seq` as a frame of type `kind`, lets `keep`
    /// record what snapshots need of it, and sends the frame to every
    /// client; returns its `seq`.
    fn publish<T: Serialize>(&self, kind: &'static str, data: &T, keep: impl FnOnce(&mut Ring)) -> u64 {
        self.publish_with(|ring, seq| {
            let text = to_text(&Out { kind, seq, data });
            keep(ring);
            text
        })
    }

    /// Gives the frame `frame` builds (from the ring as it is, under the
    /// lock) the next `seq` and sends it to every client; returns its `seq`.
    fn publish_with(&self, frame: impl FnOnce(&mut Ring, u64) -> Utf8Bytes) -> u64 {
        let mut ring = self.lock();
        let seq = ring.seq + 1;
        let text = frame(&mut ring, seq);
        self.push(&mut ring, seq, text);
        seq
    }

    /// Publishes one sample (a `sample` frame); snapshots carry the latest
    /// and a compact history. Returns its `seq`.
    pub(crate) fn publish_sample(&self, sample: Arc<Sample>) -> u64 {
        let history_len = self.options.history_len;
        self.publish("sample", &*sample.clone(), |ring| {
            ring.history.push_back(Point::from(&*sample));
            while ring.history.len() > history_len {
                ring.history.pop_front();
            }
            ring.current = Some(sample);
        })
    }

    /// Publishes a health rollup: a `health_changes` frame with what
    /// changed since the last one, or a whole `health` frame when there is
    /// no last one or a component came or went. Snapshots carry the latest
    /// whole report. Returns its `seq`.
    pub(crate) fn publish_health(&self, report: HealthReport) -> u64 {
        self.publish_with(|ring, seq| {
            // Clients hold the previous report (from their snapshot, or the
            // frames since): what changed is enough.
            let changes = ring
                .health
                .as_deref()
                .and_then(|last| HealthChanges::between(last, &report));
            let text = match changes {
                Some(changes) => to_text(&Out {
                    kind: "health_changes",
                    seq,
                    data: &changes,
                }),
                None => to_text(&Out {
                    kind: "health",
                    seq,
                    data: &report,
                }),
            };
            ring.health = Some(Arc::new(report));
            text
        })
    }

    /// Publishes the pending and firing alerts (an `alerts` frame);
    /// snapshots carry the latest. Returns its `seq`.
    pub(crate) fn publish_alerts(&self, alerts: Arc<app::alerts::AlertsLive>) -> u64 {
        let kept = alerts.clone();
        self.publish("alerts", &*alerts, |ring| ring.alerts = Some(kept))
    }

    /// Publishes check rounds and transitions (a `checks` frame); returns its `seq`.
    pub(crate) fn publish_checks(&self, update: &ChecksUpdate) -> u64 {
        self.publish("checks", update, |_| {})
    }

    /// Publishes a heartbeat if nothing went out for [`HEARTBEAT_MS`].
    pub(crate) fn heartbeat_if_idle(&self, now_ms: i64) -> Option<u64> {
        let mut ring = self.lock();
        if ring.last_publish.elapsed() < Duration::from_millis(HEARTBEAT_MS) {
            return None;
        }
        let seq = ring.seq + 1;
        let text = to_text(&Heartbeat {
            kind: "heartbeat",
            seq,
            ts: now_ms,
        });
        self.push(&mut ring, seq, text);
        Some(seq)
    }

    fn push(&self, ring: &mut Ring, seq: u64, text: Utf8Bytes) {
        let now = Instant::now();
        let frame = Arc::new(Frame {
            seq,
            text,
            published: now,
        });
        ring.seq = seq;
        ring.last_publish = now;
        ring.cache = SnapshotCache::default();
        ring.frames.push_back(frame.clone());
        let window = self.options.replay_window;
        // Samples take one frame per interval; health and checks frames at
        // most one each per interval more.
        let cap = 3 * (window.as_millis() / self.options.interval.as_millis().max(1)) as usize + 16;
        ring.bytes += frame.text.len();
        while ring.frames.len() > cap
            || ring.bytes > RING_MAX_BYTES
            || ring.frames.front().is_some_and(|f| now - f.published > window)
        {
            match ring.frames.pop_front() {
                Some(old) => ring.bytes -= old.text.len(),
                None => break,
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.tx.send(frame);
    }

    /// The newest `seq` published.
    #[cfg(test)]
    pub(crate) fn seq(&self) -> u64 {
        self.lock().seq
    }

    /// The current state for a page or a new client.
    pub(crate) fn snapshot(&self) -> Arc<Snapshot> {
        let mut ring = self.lock();
        self.snapshot_locked(&mut ring)
    }

    fn snapshot_locked(&self, ring: &mut Ring) -> Arc<Snapshot> {
        if let Some(snap) = &ring.cache.snapshot {
            return snap.clone();
        }
        let snap = Arc::new(Snapshot {
            host: self.options.host.clone(),
            system: self.options.system.clone(),
            interval_ms: self.options.interval.as_millis() as u64,
            seq: ring.seq,
            current: ring.current.as_deref().cloned().unwrap_or_default(),
            history: ring.history.iter().copied().collect(),
            health: ring.health.as_deref().cloned(),
            alerts: ring.alerts.as_deref().cloned(),
        });
        ring.cache.snapshot = Some(snap.clone());
        snap
    }

    /// The `snapshot` and `resync` frames for the current `seq`.
    fn snapshot_frames(&self, ring: &mut Ring) -> (Utf8Bytes, Utf8Bytes) {
        if let Some(frames) = &ring.cache.frames {
            return frames.clone();
        }
        let snap = self.snapshot_locked(ring);
        let seq = ring.seq;
        let snapshot = to_text(&Out {
            kind: "snapshot",
            seq,
            data: &*snap,
        });
        let resync = to_text(&Out {
            kind: "resync",
            seq,
            data: &*snap,
        });
        ring.cache.frames = Some((snapshot.clone(), resync.clone()));
        (snapshot, resync)
    }

    /// How a client starts, and the `seq` of the last frame that start
    /// covers (later frames come from [`Hub::frames`]). With `since`,
    /// replays the frames after it if the ring still holds all of them, and
    /// otherwise starts with a resync.
    pub(crate) fn start(&self, since: Option<u64>) -> (Start, u64) {
        self.start_locked(&mut self.lock(), since)
    }

    fn start_locked(&self, ring: &mut Ring, since: Option<u64>) -> (Start, u64) {
        let seq = ring.seq;
        let start = match since {
            None => Start::Snapshot(self.snapshot_frames(ring).0),
            Some(s) if s == seq => Start::Replay(Vec::new()),
            Some(s) if s < seq && ring.frames.front().is_some_and(|f| f.seq <= s + 1) => {
                Start::Replay(ring.frames.iter().filter(|f| f.seq > s).cloned().collect())
            }
            Some(_) => Start::Resync(self.snapshot_frames(ring).1),
        };
        (start, seq)
    }

    /// Every frame published from now on. A receiver that falls more than
    /// the channel's capacity behind gets `Lagged` and must resync.
    pub(crate) fn frames(&self) -> broadcast::Receiver<SharedFrame> {
        self.tx.subscribe()
    }

    /// [`Hub::start`] and [`Hub::frames`] in one step, under the ring's lock,
    /// so no frame can slip between the start and the receiver.
    #[cfg(test)]
    pub(crate) fn subscribe(&self, since: Option<u64>) -> Subscription {
        let mut ring = self.lock();
        let rx = self.tx.subscribe();
        let (start, _) = self.start_locked(&mut ring, since);
        Subscription { start, rx }
    }

    /// A `resync` frame for a client that fell behind, and its `seq`.
    pub(crate) fn resync(&self) -> (u64, Utf8Bytes) {
        let mut ring = self.lock();
        (ring.seq, self.snapshot_frames(&mut ring).1)
    }
}

/// What [`run`] publishes from.
pub(crate) struct Feeds {
    pub(crate) samples: broadcast::Receiver<Arc<Sample>>,
    pub(crate) reports: broadcast::Receiver<Arc<HealthReport>>,
    pub(crate) checks: broadcast::Receiver<CheckEvent>,
    /// How long check events may wait for a sample to go out behind (see
    /// [`CheckFrames`]).
    pub(crate) checks_period: Duration,
}

/// Publishes every sample of the sample bus, every announced rollup of the
/// health bus and the check events gathered into `checks` frames, until
/// `shutdown`. A hub that falls behind a bus skips what it missed: clients
/// see a gap in time, never in `seq`.
pub(crate) async fn run(hub: Arc<Hub>, feeds: Feeds, shutdown: CancellationToken) {
    use broadcast::error::RecvError;
    let Feeds {
        mut samples,
        mut reports,
        mut checks,
        checks_period,
    } = feeds;
    let mut check_frames = CheckFrames::new(checks_period);
    // One timer for the gathered checks' deadline, moved only when the
    // deadline does (not a new one per event: a thousand checks send a
    // hundred events a second).
    let overdue = tokio::time::sleep(Duration::ZERO);
    tokio::pin!(overdue);
    let mut armed = None;
    loop {
        let deadline = check_frames.deadline();
        if deadline != armed {
            if let Some(at) = deadline {
                overdue.as_mut().reset(at);
            }
            armed = deadline;
        }
        tokio::select! {
            // In this order when several are ready. A rollup is evaluated on
            // each sample, so the two often arrive together: the sample goes
            // first, or it would wait for the health frame's pass over every
            // client (a whole pass of lag for every client, once every few
            // seconds, in whichever order `select!` happened to pick). Check
            // events go out right behind a sample for the same reason.
            biased;
            _ = shutdown.cancelled() => return,
            sample = samples.recv() => match sample {
                Ok(sample) => {
                    hub.publish_sample(sample);
                    if let Some(update) = check_frames.behind_sample(tokio::time::Instant::now()) {
                        hub.publish_checks(&update);
                    }
                }
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "live hub fell behind the sample bus"),
                Err(RecvError::Closed) => return,
            },
            report = reports.recv() => match report {
                Ok(report) => {
                    hub.publish_health(HealthReport::clone(&report));
                }
                Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "live hub skipped health reports"),
                Err(RecvError::Closed) => return,
            },
            event = checks.recv() => match event {
                Ok(event) => check_frames.gather(event, tokio::time::Instant::now()),
                // A lost round is made good by the check's next one.
                Err(RecvError::Lagged(n)) => tracing::warn!(missed = n, "live stream fell behind the checks"),
                Err(RecvError::Closed) => return,
            },
            () = &mut overdue, if deadline.is_some() => {
                if let Some(update) = check_frames.take(tokio::time::Instant::now()) {
                    hub.publish_checks(&update);
                }
            }
        }
    }
}

/// Publishes every change of the pending and firing alerts until `shutdown`.
pub(crate) async fn alerts(
    hub: Arc<Hub>,
    mut alerts: tokio::sync::watch::Receiver<Arc<app::alerts::AlertsLive>>,
    shutdown: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = alerts.changed() => {
                if changed.is_err() {
                    return;
                }
                let latest = alerts.borrow_and_update().clone();
                hub.publish_alerts(latest);
            }
        }
    }
}

/// Publishes heartbeats while the stream is quiet (long collector intervals).
pub(crate) async fn heartbeat(hub: Arc<Hub>, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = ticker.tick() => { hub.heartbeat_if_idle(crate::signals::clock::now_ms()); }
        }
    }
}

/// A hub for tests: 1 s interval, 60 s replay, a broadcast of only 4 frames
/// (so lag is quick to provoke), counting from `first_seq`.
#[cfg(test)]
pub(crate) fn test_hub(first_seq: u64) -> Arc<Hub> {
    let mut o = HubOptions::new("test".into(), Duration::from_secs(1), Duration::from_secs(60));
    o.first_seq = first_seq;
    o.channel_capacity = 4;
    Hub::new(o, Arc::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::health::{ComponentHealth, Status};
    use app::live::protocol::ServerFrame;

    fn hub() -> Arc<Hub> {
        test_hub(100)
    }

    fn sample(ts: i64) -> Arc<Sample> {
        Arc::new(Sample {
            ts,
            ..Default::default()
        })
    }

    fn parse(text: &Utf8Bytes) -> ServerFrame {
        app::live::protocol::parse_frame(text.as_str()).expect("frames parse as the browser parses them")
    }

    #[test]
    fn seq_increases_by_one_per_frame() {
        let hub = hub();
        assert_eq!(hub.publish_sample(sample(1)), 101);
        assert_eq!(hub.publish_sample(sample(2)), 102);
        assert_eq!(hub.seq(), 102);
    }

    #[test]
    fn the_replay_ring_is_bounded_in_bytes() {
        let hub = hub();
        let big = app::checks::ChecksUpdate {
            states: Vec::new(),
            transitions: vec![app::checks::Transition {
                check: "x".repeat(1 << 20),
                from: app::health::Status::Up,
                to: app::health::Status::Down,
                reason: String::new(),
                ts: 1,
            }],
        };
        // Eight frames of a megabyte, well inside the time window.
        for _ in 0..8 {
            hub.publish_checks(&big);
        }
        let ring = hub.lock();
        assert!(ring.bytes <= RING_MAX_BYTES, "{} bytes kept", ring.bytes);
        assert_eq!(ring.bytes, ring.frames.iter().map(|f| f.text.len()).sum::<usize>());
        assert!(ring.frames.len() >= 3, "as many as fit stay: {}", ring.frames.len());
        drop(ring);
        // A client from before the oldest kept frame must resync.
        assert!(matches!(hub.subscribe(Some(101)).start, Start::Resync(_)));
    }

    #[test]
    fn a_fresh_client_starts_with_a_snapshot_then_live_frames() {
        let hub = hub();
        hub.publish_sample(sample(1));
        let mut sub = hub.subscribe(None);
        let Start::Snapshot(text) = &sub.start else {
            panic!("expected a snapshot")
        };
        match parse(text) {
            ServerFrame::Snapshot { seq, data } => {
                assert_eq!((seq, data.seq, data.current.ts, data.history.len()), (101, 101, 1, 1));
            }
            other => panic!("unexpected {other:?}"),
        }
        hub.publish_sample(sample(2));
        let frame = sub.rx.try_recv().unwrap();
        assert_eq!(frame.seq, 102);
        assert!(matches!(parse(&frame.text), ServerFrame::Sample { seq: 102, .. }));
    }

    #[test]
    fn resume_replays_exactly_the_missed_frames() {
        let hub = hub();
        for ts in 1..=5 {
            hub.publish_sample(sample(ts));
        }
        let sub = hub.subscribe(Some(102));
        let Start::Replay(frames) = sub.start else {
            panic!("expected a replay")
        };
        assert_eq!(frames.iter().map(|f| f.seq).collect::<Vec<_>>(), vec![103, 104, 105]);
        assert!(matches!(hub.subscribe(Some(105)).start, Start::Replay(f) if f.is_empty()));
    }

    #[test]
    fn resume_from_too_far_back_or_another_run_resyncs() {
        let hub = hub();
        hub.publish_sample(sample(1));
        assert!(
            matches!(hub.subscribe(Some(5)).start, Start::Resync(_)),
            "older than the ring"
        );
        assert!(
            matches!(hub.subscribe(Some(10_000)).start, Start::Resync(_)),
            "ahead of this run"
        );
        let Start::Resync(text) = hub.subscribe(Some(5)).start else {
            unreachable!()
        };
        assert!(matches!(parse(&text), ServerFrame::Resync { seq: 101, .. }));
    }

    #[test]
    fn the_ring_forgets_frames_beyond_the_window() {
        let mut o = HubOptions::new("t".into(), Duration::from_secs(1), Duration::from_secs(4));
        o.first_seq = 0;
        let hub = Hub::new(o, Arc::default());
        for ts in 0..100 {
            hub.publish_sample(sample(ts));
        }
        // cap = window / interval + 16 = 20 frames.
        assert!(matches!(hub.subscribe(Some(80)).start, Start::Replay(f) if f.len() == 20));
        assert!(matches!(hub.subscribe(Some(70)).start, Start::Resync(_)));
    }

    #[test]
    fn a_slow_receiver_lags_instead_of_buffering_forever() {
        let hub = hub();
        let mut sub = hub.subscribe(None);
        for ts in 0..10 {
            hub.publish_sample(sample(ts));
        }
        assert!(matches!(
            sub.rx.try_recv(),
            Err(broadcast::error::TryRecvError::Lagged(6))
        ));
    }

    #[test]
    fn snapshot_is_serialized_once_per_seq() {
        let hub = hub();
        hub.publish_sample(sample(1));
        let (Start::Snapshot(a), Start::Snapshot(b)) = (hub.subscribe(None).start, hub.subscribe(None).start) else {
            panic!()
        };
        assert_eq!(a.as_str().as_ptr(), b.as_str().as_ptr(), "same shared bytes");
    }

    #[test]
    fn health_frames_take_a_seq_and_ride_in_snapshots() {
        let hub = hub();
        hub.publish_sample(sample(1));
        let report = HealthReport::from_components(5, vec![]);
        assert_eq!(hub.publish_health(report.clone()), 102);
        let Start::Replay(frames) = hub.subscribe(Some(101)).start else {
            panic!()
        };
        assert!(matches!(parse(&frames[0].text), ServerFrame::Health { seq: 102, data } if data == report));
        assert_eq!(hub.snapshot().health, Some(report));
    }

    #[tokio::test]
    async fn a_sample_and_a_rollup_waiting_together_go_out_sample_first() {
        // Unordered, each round would be a coin toss: twenty make a wrong
        // order all but certain to show.
        for round in 0..20 {
            let hub = hub();
            let (samples, samples_rx) = broadcast::channel(4);
            let (reports, reports_rx) = broadcast::channel(4);
            let mut frames = hub.frames();
            reports
                .send(Arc::new(HealthReport::from_components(round, vec![])))
                .unwrap();
            samples.send(sample(round)).unwrap();
            let shutdown = CancellationToken::new();
            let feeds = Feeds {
                samples: samples_rx,
                reports: reports_rx,
                checks: broadcast::channel(1).1,
                checks_period: Duration::from_secs(1),
            };
            let task = tokio::spawn(run(hub.clone(), feeds, shutdown.clone()));
            let first = frames.recv().await.unwrap();
            let second = frames.recv().await.unwrap();
            assert!(
                matches!(parse(&first.text), ServerFrame::Sample { .. }),
                "round {round}"
            );
            assert!(
                matches!(parse(&second.text), ServerFrame::Health { .. }),
                "round {round}"
            );
            shutdown.cancel();
            task.await.unwrap();
        }
    }

    #[test]
    fn health_frames_after_the_first_carry_only_what_changed() {
        let hub = hub();
        let component = |name: &str, status, reason: &str| ComponentHealth {
            name: name.into(),
            status,
            reason: reason.into(),
        };
        let up = |name: &str| component(name, Status::Up, "fine");
        let first = HealthReport::from_components(1, vec![up("memory"), up("api"), up("db")]);
        let mut second = first.clone();
        second.ts = 2;
        second.components[1] = component("api", Status::Down, "refused");
        second.status = Status::Down;
        let third = HealthReport::from_components(3, vec![up("memory"), up("api")]);
        for report in [&first, &second, &third] {
            hub.publish_health(report.clone());
        }
        let Start::Replay(frames) = hub.subscribe(Some(100)).start else {
            panic!()
        };
        let frames: Vec<ServerFrame> = frames.iter().map(|f| parse(&f.text)).collect();
        assert!(
            matches!(&frames[0], ServerFrame::Health { data, .. } if *data == first),
            "whole at first"
        );
        let ServerFrame::HealthChanges { data, .. } = &frames[1] else {
            panic!("{:?}", frames[1])
        };
        assert_eq!(
            (data.status, data.ts, data.changed.clone()),
            (Status::Down, 2, vec![second.components[1].clone()]),
            "only api changed"
        );
        let mut applied = first.clone();
        applied.apply(data.clone());
        assert_eq!(applied, second, "the changes turn the last report into the next");
        assert!(
            matches!(&frames[2], ServerFrame::Health { data, .. } if *data == third),
            "a component went: the whole report again"
        );
        assert_eq!(hub.snapshot().health, Some(third), "snapshots carry the whole report");
    }

    #[test]
    fn heartbeat_only_when_idle() {
        let hub = hub();
        assert_eq!(hub.heartbeat_if_idle(0), None);
        hub.lock().last_publish -= Duration::from_millis(HEARTBEAT_MS + 1);
        assert_eq!(hub.heartbeat_if_idle(7), Some(101));
        let Start::Replay(frames) = hub.subscribe(Some(100)).start else {
            panic!()
        };
        assert!(matches!(
            parse(&frames[0].text),
            ServerFrame::Heartbeat { seq: 101, ts: 7 }
        ));
    }
}

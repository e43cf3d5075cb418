//! The `/ws` protocol. Every server frame is a JSON text frame with a `type`
//! and a `seq`. Within one connection `seq` strictly increases; across server
//! restarts it keeps increasing too, because a server starts counting from its
//! boot time in milliseconds.
//!
//! - `snapshot`: the first frame of a fresh connection (`GET /ws`).
//! - `sample`: one collector tick; `seq` is the previous frame's plus one.
//! - `health`: the whole health rollup: the first after start, and when a
//!   component comes or goes.
//! - `health_changes`: what changed in the rollup since the previous one
//!   (its status and time, and the components whose status or reason
//!   moved), when a status changes and every few seconds while only the
//!   reasons do.
//! - `checks`: health checks whose round finished since the last such frame,
//!   and the status changes announced meanwhile (at most a few per second).
//! - `alerts`: the pending and firing alerts, when they change.
//! - `heartbeat`: sent when no sample went out for [`HEARTBEAT_MS`].
//! - `resync`: the server could not replay everything after the `since` the
//!   client asked for, or the client fell behind; it carries a new snapshot.
//!
//! `GET /ws?since=SEQ` first replays every frame after `SEQ` still held.
//!
//! Clients skip frame types they do not know (their `seq` still counts), so
//! a newer server can add types without breaking an older page.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::alerts::AlertsLive;
use crate::checks::ChecksUpdate;
use crate::health::{HealthChanges, HealthReport};
use crate::metrics::{Point, Sample, Snapshot};

/// The close code (1008, policy violation) and reason of a socket whose
/// session has ended (signed out, the password changed, the account
/// removed): the client stops reconnecting, since `/ws` would refuse it,
/// and offers to sign in again.
pub const CLOSE_SIGNED_OUT: (u16, &str) = (1008, "signed out: this session has ended");

/// The server sends some frame at least this often, so a client that hears
/// nothing for a few of these periods knows the link is dead.
pub const HEARTBEAT_MS: u64 = 5_000;

/// Largest text frame a client may send; larger ones close the socket.
pub const MAX_CLIENT_FRAME_BYTES: usize = 4 * 1024;

/// A frame from the server, as the browser reads it ([`parse_frame`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    Snapshot {
        seq: u64,
        data: Snapshot,
    },
    Sample {
        seq: u64,
        data: Sample,
    },
    /// The whole health rollup.
    Health {
        seq: u64,
        data: HealthReport,
    },
    /// What changed in the rollup (or its reasons, at most every few seconds).
    #[serde(rename = "health_changes")]
    HealthChanges {
        seq: u64,
        data: HealthChanges,
    },
    /// Check rounds and transitions.
    Checks {
        seq: u64,
        data: ChecksUpdate,
    },
    /// The pending and firing alerts changed.
    Alerts {
        seq: u64,
        data: AlertsLive,
    },
    Heartbeat {
        seq: u64,
        ts: i64,
    },
    Resync {
        seq: u64,
        data: Snapshot,
    },
    /// A type this client does not know, from a newer server: skipped, but
    /// its `seq` counts, so it never looks like a gap.
    #[serde(skip)]
    Other {
        seq: u64,
        kind: String,
    },
}

impl ServerFrame {
    pub fn seq(&self) -> u64 {
        match self {
            ServerFrame::Snapshot { seq, .. }
            | ServerFrame::Sample { seq, .. }
            | ServerFrame::Health { seq, .. }
            | ServerFrame::HealthChanges { seq, .. }
            | ServerFrame::Checks { seq, .. }
            | ServerFrame::Alerts { seq, .. }
            | ServerFrame::Heartbeat { seq, .. }
            | ServerFrame::Resync { seq, .. }
            | ServerFrame::Other { seq, .. } => *seq,
        }
    }
}

/// A frame the client cannot use.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Not a frame at all: not JSON, or without a `type` and `seq`.
    #[error("not a frame: {0}")]
    Envelope(serde_json::Error),
    /// A known type whose `data` does not parse (a bug, or a server that
    /// changed the payload): the frame's `seq` is known, its content is lost.
    #[error("{kind} frame {seq} has unreadable data: {error}")]
    Payload {
        seq: u64,
        kind: &'static str,
        error: serde_json::Error,
    },
}

/// Parses a server frame in two steps, the envelope and then `data` by
/// `type`, so that an unknown type is still a frame with a `seq`. serde's
/// internally tagged enums would also buffer the whole frame and compile
/// every payload's deserializer a second time, which the browser pays for
/// in WASM size.
pub fn parse_frame(text: &str) -> Result<ServerFrame, FrameError> {
    use serde::de::Error as _;

    #[derive(Deserialize)]
    struct Envelope<'a> {
        #[serde(rename = "type", borrow)]
        kind: std::borrow::Cow<'a, str>,
        seq: u64,
        #[serde(borrow, default)]
        data: Option<&'a serde_json::value::RawValue>,
        #[serde(default)]
        ts: i64,
    }

    fn payload<T: serde::de::DeserializeOwned>(
        seq: u64,
        kind: &'static str,
        data: Option<&serde_json::value::RawValue>,
    ) -> Result<T, FrameError> {
        let raw = data.ok_or_else(|| FrameError::Payload {
            seq,
            kind,
            error: serde_json::Error::missing_field("data"),
        })?;
        serde_json::from_str(raw.get()).map_err(|error| FrameError::Payload { seq, kind, error })
    }

    let env: Envelope = serde_json::from_str(text).map_err(FrameError::Envelope)?;
    let seq = env.seq;
    Ok(match env.kind.as_ref() {
        "sample" => ServerFrame::Sample {
            seq,
            data: payload(seq, "sample", env.data)?,
        },
        "health" => ServerFrame::Health {
            seq,
            data: payload(seq, "health", env.data)?,
        },
        "health_changes" => ServerFrame::HealthChanges {
            seq,
            data: payload(seq, "health_changes", env.data)?,
        },
        "checks" => ServerFrame::Checks {
            seq,
            data: payload(seq, "checks", env.data)?,
        },
        "alerts" => ServerFrame::Alerts {
            seq,
            data: payload(seq, "alerts", env.data)?,
        },
        "snapshot" => ServerFrame::Snapshot {
            seq,
            data: payload(seq, "snapshot", env.data)?,
        },
        "resync" => ServerFrame::Resync {
            seq,
            data: payload(seq, "resync", env.data)?,
        },
        "heartbeat" => ServerFrame::Heartbeat { seq, ts: env.ts },
        other => ServerFrame::Other {
            seq,
            kind: other.to_string(),
        },
    })
}

/// A frame from a client. Anything else is malformed and closes the socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    /// Keeps an otherwise silent client counted as alive.
    Ping {},
}

/// Where a client is in the stream: the `seq` of the last frame it used.
/// It turns each parsed frame into a [`Step`] for the page's data, and is
/// what a reconnect resumes from (`?since=seq`).
///
/// Every frame occupies one `seq`, usable or not: a frame of an unknown type
/// or with unreadable data still moves the cursor, so that it is never
/// mistaken for a gap (which would reconnect, get the same frame replayed,
/// and loop).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub seq: u64,
}

/// What a frame means for the page.
// One Step lives for one frame and is moved, never stored: boxing the
// sample would only add an allocation per tick.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Replace everything (a `snapshot` or `resync`).
    Reset(Box<Snapshot>),
    /// The next sample.
    Sample(Sample),
    /// The whole health rollup.
    Health(HealthReport),
    /// What changed in the health rollup.
    HealthChanges(HealthChanges),
    /// Check rounds and transitions.
    Checks(ChecksUpdate),
    /// The pending and firing alerts.
    Alerts(AlertsLive),
    /// Nothing to draw: a heartbeat, a replayed frame, or a type this client
    /// does not know.
    Nothing,
    /// Frames were missed: reconnect and resume after `seq`.
    Gap,
    /// The frame was unusable. The cursor moved past it; the page's data may
    /// now be incomplete, so the client should start over with a fresh
    /// snapshot (which the connection machine allows once in a while).
    Corrupt,
}

impl Cursor {
    /// Takes one frame in stream order.
    pub fn step(&mut self, frame: Result<ServerFrame, FrameError>) -> Step {
        let frame = match frame {
            Ok(frame) => frame,
            // The one after the last: frames on a connection are consecutive.
            Err(FrameError::Envelope(_)) => {
                self.seq += 1;
                return Step::Corrupt;
            }
            Err(FrameError::Payload { seq, .. }) => return self.advance(seq, || Step::Corrupt),
        };
        match frame {
            ServerFrame::Snapshot { seq, data } | ServerFrame::Resync { seq, data } => {
                self.seq = seq;
                Step::Reset(Box::new(data))
            }
            ServerFrame::Sample { seq, data } => self.advance(seq, || Step::Sample(data)),
            ServerFrame::Health { seq, data } => self.advance(seq, || Step::Health(data)),
            ServerFrame::HealthChanges { seq, data } => self.advance(seq, || Step::HealthChanges(data)),
            ServerFrame::Checks { seq, data } => self.advance(seq, || Step::Checks(data)),
            ServerFrame::Alerts { seq, data } => self.advance(seq, || Step::Alerts(data)),
            ServerFrame::Heartbeat { seq, .. } | ServerFrame::Other { seq, .. } => self.advance(seq, || Step::Nothing),
        }
    }

    /// Moves to `seq` and takes `then` if it is the next one; an old `seq`
    /// is a replay, a later one a gap.
    fn advance(&mut self, seq: u64, then: impl FnOnce() -> Step) -> Step {
        if seq <= self.seq {
            Step::Nothing
        } else if seq != self.seq + 1 {
            Step::Gap
        } else {
            self.seq = seq;
            then()
        }
    }
}

/// The recent history the sparklines draw, oldest first, bounded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SparkHistory {
    pub points: VecDeque<Point>,
    pub capacity: usize,
}

impl SparkHistory {
    /// Points kept by default: ten minutes at one sample a second.
    pub const DEFAULT_CAPACITY: usize = 600;

    pub fn new(points: impl IntoIterator<Item = Point>) -> Self {
        let mut h = SparkHistory {
            points: VecDeque::new(),
            capacity: Self::DEFAULT_CAPACITY,
        };
        for p in points {
            h.push(p);
        }
        h
    }

    pub fn push(&mut self, point: Point) {
        if self.points.len() >= self.capacity.max(1) {
            self.points.pop_front();
        }
        self.points.push_back(point);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(seq: u64) -> ServerFrame {
        ServerFrame::Sample {
            seq,
            data: Sample {
                ts: seq as i64 * 1000,
                ..Default::default()
            },
        }
    }

    fn text(frame: &ServerFrame) -> String {
        serde_json::to_string(frame).unwrap()
    }

    fn at(seq: u64) -> Cursor {
        Cursor { seq }
    }

    #[test]
    fn frames_use_type_and_seq_on_the_wire() {
        let json = serde_json::to_value(ServerFrame::Heartbeat { seq: 9, ts: 1 }).unwrap();
        assert_eq!(json, serde_json::json!({"type": "heartbeat", "seq": 9, "ts": 1}));
        for frame in [
            sample(3),
            ServerFrame::Heartbeat { seq: 4, ts: 5 },
            ServerFrame::Resync {
                seq: 6,
                data: Snapshot::default(),
            },
            ServerFrame::Health {
                seq: 7,
                data: HealthReport::from_components(1, vec![]),
            },
            ServerFrame::Alerts {
                seq: 8,
                data: AlertsLive::default(),
            },
        ] {
            assert_eq!(parse_frame(&text(&frame)).unwrap(), frame);
        }
    }

    #[test]
    fn unusable_frames_are_errors_not_panics() {
        for bad in [
            "",
            "{}",
            "[]",
            r#"{"type":"sample","seq":-1,"data":{}}"#,
            r#"{"seq":3}"#,
        ] {
            assert!(matches!(parse_frame(bad), Err(FrameError::Envelope(_))), "{bad:?}");
        }
        for bad in [
            r#"{"type":"sample","seq":1}"#,
            r#"{"type":"sample","seq":1,"data":{"cpu":{"total":null}}}"#,
            r#"{"type":"health","seq":1,"data":[]}"#,
        ] {
            assert!(
                matches!(parse_frame(bad), Err(FrameError::Payload { seq: 1, .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn health_changes_are_a_frame_of_their_own() {
        let text = r#"{"type":"health_changes","seq":7,"data":{"status":"down","ts":5,"changed":[{"name":"api","status":"down","reason":"refused"}]}}"#;
        let frame = parse_frame(text).unwrap();
        let ServerFrame::HealthChanges { seq: 7, data } = &frame else {
            panic!("{frame:?}")
        };
        assert_eq!(data.changed[0].name, "api");
        assert_eq!(serde_json::to_string(&frame).unwrap(), text, "the same on the wire");
        let mut cursor = Cursor { seq: 6 };
        assert!(matches!(cursor.step(Ok(frame)), Step::HealthChanges(_)));
    }

    #[test]
    fn an_unknown_type_is_a_frame_with_a_seq() {
        assert_eq!(
            parse_frame(r#"{"type":"alert","seq":12,"data":{"x":1}}"#).unwrap(),
            ServerFrame::Other {
                seq: 12,
                kind: "alert".into()
            }
        );
    }

    #[test]
    fn client_frames_are_strict() {
        assert_eq!(
            serde_json::from_str::<ClientFrame>(r#"{"type":"ping"}"#).unwrap(),
            ClientFrame::Ping {}
        );
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"pong"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"ping","x":1}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>("not json").is_err());
    }

    #[test]
    fn samples_in_order_advance_and_replays_are_ignored() {
        let mut c = at(10);
        assert!(matches!(c.step(Ok(sample(11))), Step::Sample(s) if s.ts == 11_000));
        assert_eq!(c.step(Ok(sample(11))), Step::Nothing, "replayed");
        assert_eq!(c.step(Ok(sample(13))), Step::Gap);
        assert_eq!(c.seq, 11, "a gap must not move the resume point");
        assert_eq!(c.step(Ok(ServerFrame::Heartbeat { seq: 12, ts: 0 })), Step::Nothing);
        assert!(matches!(c.step(Ok(sample(13))), Step::Sample(_)));
        assert_eq!(c.seq, 13);
    }

    #[test]
    fn a_frame_of_an_unknown_type_is_skipped_and_its_seq_counts() {
        let mut c = at(10);
        let unknown = parse_frame(r#"{"type":"from-the-future","seq":11}"#);
        assert_eq!(c.step(unknown), Step::Nothing);
        assert_eq!(c.seq, 11);
        assert!(
            matches!(c.step(Ok(sample(12))), Step::Sample(_)),
            "the next frame is not a gap"
        );
    }

    #[test]
    fn a_known_frame_with_bad_data_moves_on_and_asks_to_start_over() {
        let mut c = at(10);
        // What NaN turns into on the wire.
        let bad = parse_frame(r#"{"type":"sample","seq":11,"data":{"ts":1,"cpu":{"total":null,"cores":[]}}}"#);
        assert_eq!(c.step(bad), Step::Corrupt);
        assert_eq!(c.seq, 11);
        assert!(matches!(c.step(Ok(sample(12))), Step::Sample(_)), "no gap after it");
        // Not JSON at all: it takes the next seq.
        assert_eq!(c.step(parse_frame("{garbage")), Step::Corrupt);
        assert_eq!(c.seq, 13);
        assert!(matches!(c.step(Ok(sample(14))), Step::Sample(_)));
        // A bad frame that was already applied is just a replay.
        let old = parse_frame(r#"{"type":"sample","seq":5,"data":{}}"#);
        assert_eq!(c.step(old), Step::Nothing);
    }

    #[test]
    fn snapshot_and_resync_reset_the_cursor() {
        let mut c = at(10);
        let snap = Snapshot {
            seq: 500,
            host: "h".into(),
            ..Default::default()
        };
        assert!(matches!(
            c.step(Ok(ServerFrame::Resync { seq: 500, data: snap })),
            Step::Reset(s) if s.host == "h"
        ));
        assert_eq!(c.seq, 500);
    }

    #[test]
    fn history_is_bounded() {
        let mut h = SparkHistory::new([]);
        h.capacity = 3;
        for t in 1..=5 {
            h.push(Point {
                t,
                ..Default::default()
            });
        }
        assert_eq!(h.points.iter().map(|p| p.t).collect::<Vec<_>>(), vec![3, 4, 5]);
    }
}

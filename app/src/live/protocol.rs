//! The `/ws` protocol. Every server frame is a JSON text frame with a `type`
//! and a `seq`. Within one connection `seq` strictly increases; across server
//! restarts it keeps increasing too, because a server starts counting from its
//! boot time in milliseconds.
//!
//! - `snapshot`: the first frame of a fresh connection (`GET /ws`).
//! - `sample`: one collector tick; `seq` is the previous frame's plus one.
//! - `heartbeat`: sent when no sample went out for [`HEARTBEAT_MS`].
//! - `resync`: the server could not replay everything after the `since` the
//!   client asked for, or the client fell behind; it carries a new snapshot.
//!
//! `GET /ws?since=SEQ` first replays every frame after `SEQ` still held.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::metrics::{Point, Sample, Snapshot, SystemInfo};

/// The server sends some frame at least this often, so a client that hears
/// nothing for a few of these periods knows the link is dead.
pub const HEARTBEAT_MS: u64 = 5_000;

/// Largest text frame a client may send; larger ones close the socket.
pub const MAX_CLIENT_FRAME_BYTES: usize = 4 * 1024;

/// A frame from the server, as the browser reads it ([`parse_frame`]).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum ServerFrame {
    Snapshot { seq: u64, data: Snapshot },
    Sample { seq: u64, data: Sample },
    Heartbeat { seq: u64, ts: i64 },
    Resync { seq: u64, data: Snapshot },
}

impl ServerFrame {
    pub fn seq(&self) -> u64 {
        match self {
            ServerFrame::Snapshot { seq, .. }
            | ServerFrame::Sample { seq, .. }
            | ServerFrame::Heartbeat { seq, .. }
            | ServerFrame::Resync { seq, .. } => *seq,
        }
    }
}

/// Parses a server frame in two steps, the envelope and then `data` by
/// `type`. serde's internally tagged enums would buffer the whole frame and
/// compile every payload struct's deserializer a second time, which the
/// browser pays for in WASM size.
pub fn parse_frame(text: &str) -> Result<ServerFrame, serde_json::Error> {
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

    let env: Envelope = serde_json::from_str(text)?;
    let seq = env.seq;
    let data = || {
        env.data
            .map(|d| d.get())
            .ok_or_else(|| serde_json::Error::missing_field("data"))
    };
    Ok(match env.kind.as_ref() {
        "sample" => ServerFrame::Sample {
            seq,
            data: serde_json::from_str(data()?)?,
        },
        "snapshot" => ServerFrame::Snapshot {
            seq,
            data: serde_json::from_str(data()?)?,
        },
        "resync" => ServerFrame::Resync {
            seq,
            data: serde_json::from_str(data()?)?,
        },
        "heartbeat" => ServerFrame::Heartbeat { seq, ts: env.ts },
        other => {
            return Err(serde_json::Error::unknown_variant(
                other,
                &["snapshot", "sample", "heartbeat", "resync"],
            ))
        }
    })
}

/// A frame from a client. Anything else is malformed and closes the socket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ClientFrame {
    /// Keeps an otherwise silent client counted as alive.
    Ping {},
}

/// What the page shows: the latest sample plus the recent history, advanced
/// frame by frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LiveData {
    pub host: String,
    pub system: SystemInfo,
    pub interval_ms: u64,
    /// The last frame applied; a resume asks for everything after it.
    pub seq: u64,
    pub current: Sample,
    pub history: VecDeque<Point>,
    /// How many points of history to keep.
    pub capacity: usize,
}

/// What applying a frame did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    /// The data changed.
    Updated,
    /// A heartbeat or a frame already applied: nothing to redraw.
    Unchanged,
    /// Frames were missed (`seq` jumped); the client should resume from `seq`.
    Gap,
}

impl LiveData {
    /// Points of history kept by default: ten minutes at one sample a second.
    pub const DEFAULT_CAPACITY: usize = 600;

    pub fn from_snapshot(snapshot: Snapshot) -> Self {
        let mut data = LiveData {
            capacity: Self::DEFAULT_CAPACITY,
            ..Default::default()
        };
        data.reset(snapshot);
        data
    }

    fn reset(&mut self, s: Snapshot) {
        self.host = s.host;
        self.system = s.system;
        self.interval_ms = s.interval_ms;
        self.seq = s.seq;
        self.current = s.current;
        let skip = s.history.len().saturating_sub(self.capacity);
        self.history = s.history.into_iter().skip(skip).collect();
    }

    /// Applies one frame in stream order.
    pub fn apply(&mut self, frame: ServerFrame) -> Applied {
        match frame {
            ServerFrame::Snapshot { data, .. } | ServerFrame::Resync { data, .. } => {
                self.reset(data);
                Applied::Updated
            }
            ServerFrame::Sample { seq, .. } | ServerFrame::Heartbeat { seq, .. } if seq <= self.seq => {
                Applied::Unchanged
            }
            ServerFrame::Sample { seq, .. } | ServerFrame::Heartbeat { seq, .. } if seq != self.seq + 1 => Applied::Gap,
            ServerFrame::Heartbeat { seq, .. } => {
                self.seq = seq;
                Applied::Unchanged
            }
            ServerFrame::Sample { seq, data } => {
                self.seq = seq;
                if self.history.len() >= self.capacity.max(1) {
                    self.history.pop_front();
                }
                self.history.push_back(Point::from(&data));
                self.current = data;
                Applied::Updated
            }
        }
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

    fn live_at(seq: u64) -> LiveData {
        LiveData::from_snapshot(Snapshot {
            seq,
            ..Default::default()
        })
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
        ] {
            assert_eq!(parse_frame(&serde_json::to_string(&frame).unwrap()).unwrap(), frame);
        }
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        for text in [
            "",
            "{}",
            "[]",
            r#"{"type":"sample","seq":1}"#,
            r#"{"type":"bogus","seq":1}"#,
            r#"{"type":"sample","seq":-1,"data":{}}"#,
        ] {
            assert!(parse_frame(text).is_err(), "{text:?} should not parse");
        }
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
    fn samples_in_order_extend_history() {
        let mut live = live_at(10);
        assert_eq!(live.apply(sample(11)), Applied::Updated);
        assert_eq!(live.apply(sample(12)), Applied::Updated);
        assert_eq!(live.seq, 12);
        assert_eq!(live.current.ts, 12_000);
        assert_eq!(
            live.history.iter().map(|p| p.t).collect::<Vec<_>>(),
            vec![11_000, 12_000]
        );
    }

    #[test]
    fn replayed_frames_are_ignored_and_gaps_reported() {
        let mut live = live_at(10);
        assert_eq!(live.apply(sample(10)), Applied::Unchanged);
        assert_eq!(live.apply(sample(12)), Applied::Gap);
        assert_eq!(live.seq, 10, "a gap must not move the resume point");
        assert_eq!(
            live.apply(ServerFrame::Heartbeat { seq: 11, ts: 0 }),
            Applied::Unchanged
        );
        assert_eq!(live.seq, 11);
        assert_eq!(live.apply(sample(12)), Applied::Updated);
    }

    #[test]
    fn history_is_bounded() {
        let mut live = live_at(0);
        live.capacity = 3;
        for seq in 1..=5 {
            live.apply(sample(seq));
        }
        assert_eq!(
            live.history.iter().map(|p| p.t).collect::<Vec<_>>(),
            vec![3000, 4000, 5000]
        );
    }

    #[test]
    fn resync_replaces_everything() {
        let mut live = live_at(10);
        live.apply(sample(11));
        let snap = Snapshot {
            seq: 500,
            host: "h".into(),
            ..Default::default()
        };
        assert_eq!(
            live.apply(ServerFrame::Resync { seq: 500, data: snap }),
            Applied::Updated
        );
        assert_eq!((live.seq, live.host.as_str(), live.history.len()), (500, "h", 0));
    }
}

//! Cheap parsing of server frames and per-client bookkeeping.
//!
//! Only `type`, `seq` and `data.ts` are looked at; everything else in a frame
//! (snapshots can be large) is skipped by serde without being materialised.

use std::borrow::Cow;

use serde::Deserialize;

/// Kind of a server frame, from its `type` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Snapshot,
    Sample,
    Heartbeat,
    Resync,
    /// A well-formed frame with a `type` this tool does not know about.
    Other,
}

/// The parts of a frame this tool cares about.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub kind: FrameKind,
    pub seq: Option<u64>,
    /// `data.ts` (Unix milliseconds) of a `sample` frame.
    pub sample_ts_ms: Option<f64>,
}

#[derive(Deserialize)]
struct RawFrame<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    data: Option<RawData>,
}

#[derive(Deserialize)]
struct RawData {
    // f64 accepts both integer and fractional millisecond timestamps.
    #[serde(default)]
    ts: Option<f64>,
}

/// Why a text frame could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// Not JSON, or missing/mistyped `type`, `seq` or `data`.
    Invalid,
    /// A `sample` frame without a numeric `data.ts`.
    SampleWithoutTs,
}

/// Parses one text frame. Never panics on bad input.
pub fn parse_frame(text: &str) -> Result<Frame, FrameError> {
    let raw: RawFrame<'_> = serde_json::from_str(text).map_err(|_| FrameError::Invalid)?;
    let kind = match raw.kind.as_ref() {
        "snapshot" => FrameKind::Snapshot,
        "sample" => FrameKind::Sample,
        "heartbeat" => FrameKind::Heartbeat,
        "resync" => FrameKind::Resync,
        _ => FrameKind::Other,
    };
    let sample_ts_ms = if kind == FrameKind::Sample {
        match raw.data.and_then(|d| d.ts) {
            Some(ts) if ts.is_finite() => Some(ts),
            _ => return Err(FrameError::SampleWithoutTs),
        }
    } else {
        None
    };
    Ok(Frame {
        kind,
        seq: raw.seq,
        sample_ts_ms,
    })
}

/// What [`SeqTracker::observe`] concluded about one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeqCheck {
    /// Nothing to report.
    Ok,
    /// A `sample` whose seq is not the previous seq + 1. `missing` is how many
    /// sequence numbers were skipped (0 when the seq went backwards or repeated).
    Gap { missing: u64 },
}

/// Tracks the `seq` of one client's stream.
///
/// The last seen seq is updated by every frame that carries one (snapshot,
/// resync, heartbeat, sample), so heartbeats that repeat the current seq and
/// snapshots/resyncs that re-base the stream are both handled. Only `sample`
/// frames are checked for continuity.
#[derive(Debug, Default, Clone)]
pub struct SeqTracker {
    last: Option<u64>,
}

impl SeqTracker {
    pub fn observe(&mut self, frame: &Frame) -> SeqCheck {
        let Some(seq) = frame.seq else {
            return SeqCheck::Ok;
        };
        let check = match (frame.kind, self.last) {
            (FrameKind::Sample, Some(last)) if seq != last.wrapping_add(1) => SeqCheck::Gap {
                missing: seq.saturating_sub(last).saturating_sub(1),
            },
            _ => SeqCheck::Ok,
        };
        self.last = Some(seq);
        check
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sample() {
        let f =
            parse_frame(r#"{"type":"sample","seq":42,"data":{"ts":1700000000123,"cpu":[1.5,2.0],"mem":{"used":1}}}"#)
                .unwrap();
        assert_eq!(f.kind, FrameKind::Sample);
        assert_eq!(f.seq, Some(42));
        assert_eq!(f.sample_ts_ms, Some(1_700_000_000_123.0));
    }

    #[test]
    fn parses_other_kinds_and_ignores_payload() {
        let f =
            parse_frame(r#"{"seq":1,"data":{"ts":5,"history":[{"a":[1,2,{"b":"c\"d"}]}]},"type":"snapshot"}"#).unwrap();
        assert_eq!(f.kind, FrameKind::Snapshot);
        assert_eq!(f.seq, Some(1));
        assert_eq!(f.sample_ts_ms, None);

        let f = parse_frame(r#"{"type":"heartbeat","seq":7,"ts":1700000000000}"#).unwrap();
        assert_eq!(f.kind, FrameKind::Heartbeat);
        assert_eq!(f.seq, Some(7));

        let f = parse_frame(r#"{"type":"resync","seq":9,"data":{}}"#).unwrap();
        assert_eq!(f.kind, FrameKind::Resync);

        let f = parse_frame(r#"{"type":"something-new","seq":3}"#).unwrap();
        assert_eq!(f.kind, FrameKind::Other);

        // Escaped type strings still work (borrowed Cow falls back to owned).
        let f = parse_frame(r#"{"type":"s\u0061mple","seq":1,"data":{"ts":1}}"#).unwrap();
        assert_eq!(f.kind, FrameKind::Sample);
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        for bad in [
            "",
            "not json",
            "{",
            "[]",
            "null",
            r#"{"seq":1}"#,
            r#"{"type":5}"#,
            r#"{"type":"sample","seq":"x","data":{"ts":1}}"#,
            r#"{"type":"sample","seq":-1,"data":{"ts":1}}"#,
            r#"{"type":"sample","seq":1,"data":"oops"}"#,
            r#"{"type":"sample","seq":1,"data":{"ts":"soon"}}"#,
            "{\"type\":\"sample\",\"seq\":1,\"data\":{\"ts\":1}}trailing",
        ] {
            assert_eq!(parse_frame(bad), Err(FrameError::Invalid), "input: {bad:?}");
        }
        assert_eq!(
            parse_frame(r#"{"type":"sample","seq":1,"data":{}}"#),
            Err(FrameError::SampleWithoutTs)
        );
        assert_eq!(
            parse_frame(r#"{"type":"sample","seq":1}"#),
            Err(FrameError::SampleWithoutTs)
        );
    }

    fn frame(kind: FrameKind, seq: u64) -> Frame {
        Frame {
            kind,
            seq: Some(seq),
            sample_ts_ms: None,
        }
    }

    #[test]
    fn seq_tracking() {
        use FrameKind::*;
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(&frame(Snapshot, 10)), SeqCheck::Ok);
        assert_eq!(t.observe(&frame(Sample, 11)), SeqCheck::Ok);
        // Heartbeat repeating the current seq, then the next sample.
        assert_eq!(t.observe(&frame(Heartbeat, 11)), SeqCheck::Ok);
        assert_eq!(t.observe(&frame(Sample, 12)), SeqCheck::Ok);
        // Two samples lost.
        assert_eq!(t.observe(&frame(Sample, 15)), SeqCheck::Gap { missing: 2 });
        assert_eq!(t.observe(&frame(Sample, 16)), SeqCheck::Ok);
        // Duplicate / backwards.
        assert_eq!(t.observe(&frame(Sample, 16)), SeqCheck::Gap { missing: 0 });
        // A resync re-bases the stream.
        assert_eq!(t.observe(&frame(Resync, 100)), SeqCheck::Ok);
        assert_eq!(t.observe(&frame(Sample, 101)), SeqCheck::Ok);
        // First sample without a preceding snapshot is not a gap.
        let mut t = SeqTracker::default();
        assert_eq!(t.observe(&frame(Sample, 5)), SeqCheck::Ok);
    }
}

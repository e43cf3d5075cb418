//! Range queries: one series between two times, downsampled for a chart.
//! The wire types of `GET /api/v1/query` (JSON, one array per point) and
//! of `GET /api/v1/columns` (postcard, one array per column: what the
//! explorer reads).

use serde::{Deserialize, Serialize};

use super::Unit;

/// Most points one range query may ask for.
pub const MAX_POINTS: u32 = 100_000;
/// Longest range one query may span: ten years.
pub const MAX_SPAN_MS: i64 = 10 * 366 * 86_400_000;

/// One point of a range answer. On the wire a point is `[t, value]` where
/// the bucket holds one sample, and `[t, min, max, avg]` where it holds
/// several, so peaks survive downsampling.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RangePoint {
    Value(i64, f64),
    Bucket(i64, f64, f64, f64),
}

impl RangePoint {
    /// Unix time in milliseconds (the bucket's start).
    pub fn t(&self) -> i64 {
        match *self {
            RangePoint::Value(t, _) | RangePoint::Bucket(t, ..) => t,
        }
    }

    /// (min, max, avg); all three equal for a single sample.
    pub fn min_max_avg(&self) -> (f64, f64, f64) {
        match *self {
            RangePoint::Value(_, v) => (v, v, v),
            RangePoint::Bucket(_, min, max, avg) => (min, max, avg),
        }
    }
}

/// The answer to a range query.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    pub series: String,
    pub unit: Unit,
    /// The range asked for, Unix ms.
    pub from: i64,
    pub to: i64,
    /// Width of one bucket in ms (the stored resolution when not downsampled).
    pub step_ms: i64,
    /// Which stored tier answered: `raw`, `1m` or `1h`.
    pub tier: String,
    /// Oldest first.
    pub points: Vec<RangePoint>,
}

/// The answer to a range query in columns, for the explorer: sent as
/// postcard (`GET /api/v1/columns`, the same arguments as
/// `/api/v1/query`). Each column is one byte string the browser reads
/// in a tight loop, so 100,000 points cost a copy and a pass instead of
/// parsing 100,000 numbers.
///
/// The bytes, field by field in this order (postcard: strings and byte
/// strings are a varint length then the bytes, integers zigzag varints,
/// [`Unit`] its variant's index): `series`, `unit`, `from`, `to`,
/// `step_ms`, `tier`, then the columns as byte strings: `t` as zigzag
/// varint differences (the first from 0), `avg`, `min` and `max` as
/// little-endian `f64`s. The end-to-end tests build such answers by
/// hand; `columns_wire_format_is_pinned` below fails when this changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RangeColumns {
    pub series: String,
    pub unit: Unit,
    /// The range asked for, Unix ms.
    pub from: i64,
    pub to: i64,
    /// Width of one bucket in ms.
    pub step_ms: i64,
    /// Which stored tier answered: `raw`, `1m` or `1h`.
    pub tier: String,
    /// Each point's time (a bucket's start), Unix ms, oldest first.
    #[serde(with = "column::times")]
    pub t: Vec<i64>,
    /// Each point's value (a bucket's average).
    #[serde(with = "column::floats")]
    pub avg: Vec<f64>,
    /// Each bucket's lowest and highest sample; both empty when every
    /// point is a single sample (min = max = avg).
    #[serde(with = "column::floats")]
    pub min: Vec<f64>,
    #[serde(with = "column::floats")]
    pub max: Vec<f64>,
}

/// The byte forms of [`RangeColumns`]' columns.
mod column {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    /// Reads a byte string with `read`.
    fn bytes<'de, D: Deserializer<'de>, T>(
        d: D,
        expecting: &'static str,
        read: fn(&[u8]) -> Result<T, String>,
    ) -> Result<T, D::Error> {
        struct Bytes<T> {
            expecting: &'static str,
            read: fn(&[u8]) -> Result<T, String>,
        }
        impl<T> Visitor<'_> for Bytes<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(self.expecting)
            }
            fn visit_bytes<E: Error>(self, b: &[u8]) -> Result<T, E> {
                (self.read)(b).map_err(E::custom)
            }
        }
        d.deserialize_bytes(Bytes { expecting, read })
    }

    /// `f64`s as 8 little-endian bytes each.
    pub mod floats {
        use super::*;

        pub fn serialize<S: Serializer>(values: &[f64], s: S) -> Result<S::Ok, S::Error> {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            s.serialize_bytes(&bytes)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
            bytes(d, "little-endian f64s", |b| {
                if b.len() % 8 != 0 {
                    return Err(format!("{} bytes of f64s is not a multiple of 8", b.len()));
                }
                Ok(b.chunks_exact(8)
                    .map(|c| {
                        let mut v = [0; 8];
                        v.copy_from_slice(c);
                        f64::from_le_bytes(v)
                    })
                    .collect())
            })
        }
    }

    /// Times as zigzag varint differences, the first from 0: evenly
    /// spaced times take a byte or two each.
    pub mod times {
        use super::*;

        pub fn serialize<S: Serializer>(times: &[i64], s: S) -> Result<S::Ok, S::Error> {
            let mut bytes = Vec::with_capacity(times.len() * 2 + 8);
            let mut prev = 0i64;
            for &t in times {
                crate::varint::put_signed(&mut bytes, t.wrapping_sub(prev));
                prev = t;
            }
            s.serialize_bytes(&bytes)
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<i64>, D::Error> {
            bytes(d, "varint time differences", |mut b| {
                let mut times = Vec::with_capacity(b.len() / 2);
                let mut prev = 0i64;
                while !b.is_empty() {
                    let delta = crate::varint::get_signed(&mut b).map_err(|e| format!("a time: {e}"))?;
                    prev = prev.wrapping_add(delta);
                    times.push(prev);
                }
                Ok(times)
            })
        }
    }
}

impl From<Range> for RangeColumns {
    fn from(range: Range) -> Self {
        let n = range.points.len();
        let buckets = range.points.iter().any(|p| matches!(p, RangePoint::Bucket(..)));
        let mut c = RangeColumns {
            series: range.series,
            unit: range.unit,
            from: range.from,
            to: range.to,
            step_ms: range.step_ms,
            tier: range.tier,
            t: Vec::with_capacity(n),
            avg: Vec::with_capacity(n),
            min: Vec::with_capacity(if buckets { n } else { 0 }),
            max: Vec::with_capacity(if buckets { n } else { 0 }),
        };
        for p in &range.points {
            let (min, max, avg) = p.min_max_avg();
            c.t.push(p.t());
            c.avg.push(avg);
            if buckets {
                c.min.push(min);
                c.max.push(max);
            }
        }
        c
    }
}

/// Checks the arguments of a range query; the message says what is wrong.
pub fn validate_range(from: i64, to: i64, points: u32) -> Result<(), String> {
    if from >= to {
        return Err(format!("from ({from}) must be before to ({to})"));
    }
    if from < 0 {
        return Err(format!("from ({from}) is before 1970"));
    }
    if to - from > MAX_SPAN_MS {
        return Err(format!("the range spans more than ten years ({} ms)", to - from));
    }
    if points == 0 || points > MAX_POINTS {
        return Err(format!("points must be between 1 and {MAX_POINTS}, got {points}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_pairs_or_quadruples_on_the_wire() {
        let v = serde_json::to_string(&[RangePoint::Value(1, 2.5), RangePoint::Bucket(2, 1.0, 3.0, 2.0)]).unwrap();
        assert_eq!(v, "[[1,2.5],[2,1.0,3.0,2.0]]");
        let back: Vec<RangePoint> = serde_json::from_str(&v).unwrap();
        assert_eq!(back[1].min_max_avg(), (1.0, 3.0, 2.0));
    }

    #[test]
    fn columns_keep_min_and_max_only_for_buckets() {
        let range = |points| Range {
            series: "s".into(),
            unit: Unit::Percent,
            from: 0,
            to: 10,
            step_ms: 1,
            tier: "raw".into(),
            points,
        };
        let single = RangeColumns::from(range(vec![RangePoint::Value(1, 2.5), RangePoint::Value(2, 3.5)]));
        assert_eq!((single.t, single.avg), (vec![1, 2], vec![2.5, 3.5]));
        assert!(single.min.is_empty() && single.max.is_empty());
        let mixed = RangeColumns::from(range(vec![
            RangePoint::Value(1, 2.5),
            RangePoint::Bucket(2, 1.0, 3.0, 2.0),
        ]));
        assert_eq!(
            (mixed.min, mixed.max, mixed.avg),
            (vec![2.5, 1.0], vec![2.5, 3.0], vec![2.5, 2.0])
        );
    }

    /// The bytes the end-to-end tests write by hand
    /// (`end2end/tests/columns.ts`): a change here must change them too.
    #[test]
    fn columns_wire_format_is_pinned() {
        let c = RangeColumns {
            series: "cpu".into(),
            unit: Unit::Percent,
            from: 1000,
            to: -1,
            step_ms: 64,
            tier: "raw".into(),
            t: vec![1000, 1064, 1000],
            avg: vec![0.5],
            min: vec![],
            max: vec![],
        };
        let bytes = postcard::to_allocvec(&c).unwrap();
        let mut want = vec![3, b'c', b'p', b'u', 0];
        want.extend([0xd0, 0x0f, 0x01, 0x80, 0x01, 3, b'r', b'a', b'w']);
        // Times: 1000, +64, -64 as zigzag varints, 5 bytes.
        want.extend([5, 0xd0, 0x0f, 0x80, 0x01, 0x7f]);
        want.push(8);
        want.extend(0.5f64.to_le_bytes());
        want.extend([0, 0]);
        assert_eq!(bytes, want);
        assert_eq!(postcard::from_bytes::<RangeColumns>(&bytes).unwrap(), c);
    }

    #[test]
    fn columns_round_trip_extremes_and_refuse_damage() {
        let c = RangeColumns {
            series: "s".into(),
            unit: Unit::Bytes,
            from: 0,
            to: i64::MAX,
            step_ms: 1,
            tier: "1h".into(),
            t: vec![i64::MIN, i64::MAX, 0, -5, 1_795_852_978_857],
            avg: vec![f64::MAX, f64::MIN_POSITIVE, -0.0, 1e-300, 12.25],
            min: vec![1.0; 5],
            max: vec![2.0; 5],
        };
        let bytes = postcard::to_allocvec(&c).unwrap();
        assert_eq!(postcard::from_bytes::<RangeColumns>(&bytes).unwrap(), c);
        // Every cut-off answer is an error, never a panic or a short column.
        for cut in 0..bytes.len() {
            assert!(
                postcard::from_bytes::<RangeColumns>(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // A float column whose length is not a multiple of 8.
        let empty = RangeColumns {
            t: vec![],
            avg: vec![],
            min: vec![],
            max: vec![],
            ..c
        };
        let mut head = postcard::to_allocvec(&empty).unwrap();
        assert_eq!(head.split_off(head.len() - 3), [0, 0, 0], "avg, min and max: empty");
        let with_avg = |avg: &[u8]| {
            let mut b = head.clone();
            b.push(avg.len() as u8);
            b.extend_from_slice(avg);
            b.extend([0, 0]);
            postcard::from_bytes::<RangeColumns>(&b)
        };
        assert!(with_avg(&[1, 2, 3]).is_err());
        assert_eq!(with_avg(&1.5f64.to_le_bytes()).unwrap().avg, [1.5]);
    }

    #[test]
    fn absurd_ranges_are_refused() {
        assert!(validate_range(0, 1000, 10).is_ok());
        assert!(validate_range(1000, 1000, 10).unwrap_err().contains("before"));
        assert!(validate_range(2000, 1000, 10).is_err());
        assert!(validate_range(-5, 1000, 10).is_err());
        assert!(validate_range(0, MAX_SPAN_MS + 1, 10)
            .unwrap_err()
            .contains("ten years"));
        assert!(validate_range(0, 1000, 0).unwrap_err().contains("points"));
        assert!(validate_range(0, 1000, MAX_POINTS + 1).is_err());
    }
}

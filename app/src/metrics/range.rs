//! Range queries: one series between two times, downsampled for a chart.
//! The wire types of `GET /api/v1/query` and of the explorer.

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

//! Latency histograms and small summary helpers.

use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest trackable lag: one hour, in microseconds. Larger values saturate.
const MAX_LAG_US: u64 = 3_600_000_000;
const SIGFIGS: u8 = 3;
/// Local samples a client buffers before flushing them into a shard.
pub const LOCAL_FLUSH_AT: usize = 256;

/// Creates an empty lag histogram (microsecond values).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LAG_US, SIGFIGS).expect("static histogram bounds are valid")
}

/// A lag histogram shared by many clients.
///
/// Each client buffers its lags locally and flushes them in batches into one
/// of a few sharded histograms, so the hot path never takes a lock and a full
/// histogram per client (≈180 KiB each at this precision) is not needed even
/// with tens of thousands of clients. The shards are merged at the end.
pub struct SharedLag {
    shards: Vec<Mutex<Histogram<u64>>>,
}

impl SharedLag {
    pub fn new(shards: usize) -> Self {
        let shards = shards.max(1);
        Self {
            shards: (0..shards).map(|_| Mutex::new(new_histogram())).collect(),
        }
    }

    /// Moves all values from `local` into the shard picked by `client_id`.
    pub fn flush(&self, client_id: usize, local: &mut Vec<u64>) {
        if local.is_empty() {
            return;
        }
        let shard = &self.shards[client_id % self.shards.len()];
        let mut hist = shard.lock().unwrap_or_else(|e| e.into_inner());
        for &v in local.iter() {
            hist.saturating_record(v.max(1));
        }
        local.clear();
    }

    /// Merges all shards into one histogram.
    pub fn merged(&self) -> Histogram<u64> {
        let mut out = new_histogram();
        for shard in &self.shards {
            let hist = shard.lock().unwrap_or_else(|e| e.into_inner());
            out.add(&*hist).expect("shards share bounds");
        }
        out
    }
}

/// Percentile summary of a lag histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LagSummary {
    pub count: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

impl LagSummary {
    /// Summarises a histogram of microsecond values. `None` when empty.
    pub fn from_histogram_us(hist: &Histogram<u64>) -> Option<Self> {
        if hist.is_empty() {
            return None;
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Some(Self {
            count: hist.len(),
            p50_ms: ms(hist.value_at_quantile(0.50)),
            p90_ms: ms(hist.value_at_quantile(0.90)),
            p99_ms: ms(hist.value_at_quantile(0.99)),
            max_ms: ms(hist.max()),
            mean_ms: hist.mean() / 1000.0,
        })
    }
}

/// Median of a set of values (mean of the two middle ones for even counts).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let mid = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    })
}

/// Largest value, ignoring NaN.
pub fn peak(values: &[f64]) -> Option<f64> {
    values
        .iter()
        .copied()
        .filter(|x| !x.is_nan())
        .max_by(|a, b| a.total_cmp(b))
}

/// `a / b`, or `None` when `b` is zero.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    if b == 0.0 || !a.is_finite() || !b.is_finite() {
        None
    } else {
        Some(a / b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= b.abs() * rel
    }

    #[test]
    fn percentiles_of_uniform_lags() {
        let mut h = new_histogram();
        // 1..=1000 ms in microseconds.
        for ms in 1..=1000u64 {
            h.record(ms * 1000).unwrap();
        }
        let s = LagSummary::from_histogram_us(&h).unwrap();
        assert_eq!(s.count, 1000);
        assert!(close(s.p50_ms, 500.0, 0.002), "{s:?}");
        assert!(close(s.p90_ms, 900.0, 0.002), "{s:?}");
        assert!(close(s.p99_ms, 990.0, 0.002), "{s:?}");
        assert!(close(s.max_ms, 1000.0, 0.002), "{s:?}");
        assert!(close(s.mean_ms, 500.5, 0.002), "{s:?}");
    }

    #[test]
    fn empty_histogram_has_no_summary() {
        assert_eq!(LagSummary::from_histogram_us(&new_histogram()), None);
    }

    #[test]
    fn shards_merge_to_the_same_result_as_one_histogram() {
        let shared = SharedLag::new(4);
        let mut single = new_histogram();
        for client in 0..10usize {
            let mut local = Vec::new();
            for i in 0..300u64 {
                let v = (client as u64 + 1) * 1000 + i * 7;
                single.record(v).unwrap();
                local.push(v);
                if local.len() >= LOCAL_FLUSH_AT {
                    shared.flush(client, &mut local);
                    assert!(local.is_empty());
                }
            }
            shared.flush(client, &mut local);
        }
        let merged = shared.merged();
        assert_eq!(merged.len(), single.len());
        assert_eq!(
            LagSummary::from_histogram_us(&merged),
            LagSummary::from_histogram_us(&single)
        );
    }

    #[test]
    fn zero_and_huge_values_saturate() {
        let shared = SharedLag::new(1);
        let mut local = vec![0, u64::MAX];
        shared.flush(0, &mut local);
        let h = shared.merged();
        assert_eq!(h.len(), 2);
        assert_eq!(h.min(), 1);
        assert!(h.max() >= MAX_LAG_US);
    }

    #[test]
    fn median_peak_ratio() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0]), Some(3.0));
        assert_eq!(median(&[5.0, 1.0, 3.0]), Some(3.0));
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(peak(&[1.0, 7.5, 3.0]), Some(7.5));
        assert_eq!(peak(&[]), None);
        assert_eq!(ratio(1.0, 4.0), Some(0.25));
        assert_eq!(ratio(1.0, 0.0), None);
    }
}

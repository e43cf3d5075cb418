//! The bounded queue between collection and the receiver: points waiting
//! to be sent, oldest first, and the batch on its way. Past its capacity
//! the oldest waiting points are dropped (the caller counts them), so a
//! receiver outage costs the oldest data, never memory or the collector's
//! time.

use std::collections::{HashMap, VecDeque};

use super::proto::{PromSample, TimeSeries, WriteRequest};
use super::series::{Queued, Series};

/// Points waiting, plus the batch in flight.
#[derive(Debug)]
pub(crate) struct Queue {
    waiting: VecDeque<Queued>,
    in_flight: usize,
    capacity: usize,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Queue {
        Queue {
            waiting: VecDeque::new(),
            in_flight: 0,
            capacity: capacity.max(1),
        }
    }

    /// Points held: waiting and in flight.
    pub(crate) fn len(&self) -> usize {
        self.waiting.len() + self.in_flight
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Points waiting (not in flight).
    pub(crate) fn waiting(&self) -> usize {
        self.waiting.len()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Queues `point`; returns how many old points were dropped for it.
    pub(crate) fn push(&mut self, point: Queued) -> usize {
        self.waiting.push_back(point);
        self.trim()
    }

    /// Changes the bound; returns how many old points were dropped.
    pub(crate) fn set_capacity(&mut self, capacity: usize) -> usize {
        self.capacity = capacity.max(1);
        self.trim()
    }

    /// The oldest `max` waiting points, now in flight until [`Queue::done`]
    /// or [`Queue::put_back`]. One batch at a time.
    pub(crate) fn take(&mut self, max: usize) -> Vec<Queued> {
        debug_assert_eq!(self.in_flight, 0, "one batch at a time");
        let n = max.min(self.waiting.len());
        self.in_flight = n;
        self.waiting.drain(..n).collect()
    }

    /// The batch in flight is gone (sent, or refused for good).
    pub(crate) fn done(&mut self) {
        self.in_flight = 0;
    }

    /// The batch in flight failed: back to the front, in order, to be
    /// retried; returns how many old points were dropped to fit it.
    pub(crate) fn put_back(&mut self, batch: Vec<Queued>) -> usize {
        self.in_flight = 0;
        for point in batch.into_iter().rev() {
            self.waiting.push_front(point);
        }
        self.trim()
    }

    /// Drops the oldest waiting points beyond the capacity (a batch in
    /// flight counts but cannot be dropped).
    fn trim(&mut self) -> usize {
        let over = self.len().saturating_sub(self.capacity).min(self.waiting.len());
        self.waiting.drain(..over);
        over
    }
}

/// One request for `batch`: a time series per label set, in the order the
/// series first appear, each with its samples in time order.
pub fn request(batch: &[Queued], series: &Series) -> WriteRequest {
    let mut index: HashMap<u32, usize> = HashMap::new();
    let mut timeseries: Vec<TimeSeries> = Vec::new();
    for point in batch {
        let at = *index.entry(point.series).or_insert_with(|| {
            timeseries.push(TimeSeries {
                labels: series.labels(point.series).to_vec(),
                samples: Vec::new(),
            });
            timeseries.len() - 1
        });
        timeseries[at].samples.push(PromSample {
            value: point.value,
            timestamp: point.ts,
        });
    }
    for ts in &mut timeseries {
        // Already in order (points are queued per series in time order);
        // a stable sort keeps it so should that ever change.
        if !ts.samples.is_sorted_by_key(|s| s.timestamp) {
            ts.samples.sort_by_key(|s| s.timestamp);
        }
    }
    WriteRequest { timeseries }
}

/// Ticks of the collector in `buffer`, rounded up.
pub(crate) fn ticks(buffer: std::time::Duration, interval: std::time::Duration) -> usize {
    let interval = interval.as_millis().max(1);
    buffer.as_millis().div_ceil(interval).max(1) as usize
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use app::metrics::Sample as HostSample;

    use super::*;

    fn point(series: u32, ts: i64) -> Queued {
        Queued {
            series,
            ts,
            value: ts as f64,
        }
    }

    #[test]
    fn a_full_queue_drops_the_oldest() {
        let mut q = Queue::new(3);
        let dropped: usize = (1..=5).map(|ts| q.push(point(0, ts))).sum();
        assert_eq!(dropped, 2);
        assert_eq!(q.take(10).iter().map(|p| p.ts).collect::<Vec<_>>(), [3, 4, 5]);
    }

    #[test]
    fn a_batch_in_flight_counts_and_comes_back_first() {
        let mut q = Queue::new(4);
        for ts in 1..=4 {
            q.push(point(0, ts));
        }
        let batch = q.take(2);
        assert_eq!((q.len(), q.waiting()), (4, 2));
        // Full: new points push out the oldest waiting ones, not the batch.
        assert_eq!(q.push(point(0, 5)), 1);
        assert_eq!(q.push(point(0, 6)), 1);
        assert_eq!(q.push(point(0, 7)), 1);
        assert_eq!(q.waiting(), 2);
        // The failed batch goes back in front and the bound holds.
        assert_eq!(q.put_back(batch), 0);
        assert_eq!(q.take(10).iter().map(|p| p.ts).collect::<Vec<_>>(), [1, 2, 6, 7]);
        q.done();
        assert!(q.is_empty());
    }

    #[test]
    fn shrinking_drops_the_oldest_and_growing_keeps_all() {
        let mut q = Queue::new(10);
        for ts in 1..=10 {
            q.push(point(0, ts));
        }
        assert_eq!(q.set_capacity(20), 0);
        assert_eq!(q.set_capacity(4), 6);
        assert_eq!(q.take(10)[0].ts, 7);
    }

    #[test]
    fn capacity_is_buffer_ticks() {
        assert_eq!(ticks(Duration::from_secs(3600), Duration::from_secs(1)), 3600);
        assert_eq!(ticks(Duration::from_secs(10), Duration::from_millis(3000)), 4);
        assert_eq!(ticks(Duration::from_secs(1), Duration::from_secs(10)), 1);
    }

    #[test]
    fn a_request_groups_points_by_series_in_time_order() {
        let mut series = Series::new("alpha".into());
        let mut points = Vec::new();
        for ts in [1_000, 2_000, 3_000] {
            series.sample(
                &HostSample {
                    ts,
                    ..Default::default()
                },
                |p| points.push(p),
            );
        }
        let per_sample = series.len();
        let request = request(&points, &series);
        assert_eq!(request.timeseries.len(), per_sample);
        for ts in &request.timeseries {
            assert_eq!(ts.labels[0].name, "__name__");
            assert_eq!(
                ts.samples.iter().map(|s| s.timestamp).collect::<Vec<_>>(),
                [1_000, 2_000, 3_000]
            );
        }
    }
}

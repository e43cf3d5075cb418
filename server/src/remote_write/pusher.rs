//! The push's state, without I/O: the series, the bounded queue, and the
//! figures in [`WriteStats`]. The task in `mod.rs` feeds it samples and
//! check rounds and hands its batches to the [`super::sender::Sender`].

use std::sync::atomic::Ordering;
use std::sync::Arc;

use app::checks::CheckState;
use app::metrics::Sample;

use super::proto;
use super::queue::{self, Queue};
use super::series::{Queued, Series};
use crate::signals::WriteStats;

/// One request's points and its encoded body.
pub struct Batch {
    pub(crate) points: Vec<Queued>,
    pub body: Vec<u8>,
}

pub struct Pusher {
    series: Series,
    queue: Queue,
    /// Collector ticks the buffer holds.
    ticks: usize,
    /// Series in the latest sample.
    sample_series: usize,
    max_per_send: usize,
    stats: Arc<WriteStats>,
    scratch: Vec<Queued>,
}

impl Pusher {
    pub fn new(host: String, ticks: usize, max_per_send: usize, stats: Arc<WriteStats>) -> Pusher {
        let pusher = Pusher {
            series: Series::new(host),
            queue: Queue::new(ticks),
            ticks,
            sample_series: 0,
            max_per_send: max_per_send.max(1),
            stats,
            scratch: Vec::new(),
        };
        pusher.publish();
        pusher
    }

    /// Queues every value of `sample`.
    pub fn sample(&mut self, sample: &Sample) {
        let mut points = std::mem::take(&mut self.scratch);
        let count = self.series.sample(sample, |p| points.push(p));
        let mut dropped = 0;
        if count != self.sample_series {
            self.sample_series = count;
            dropped += self.resize();
        }
        for point in points.drain(..) {
            dropped += self.queue.push(point);
        }
        self.scratch = points;
        self.dropped(dropped);
    }

    /// Queues the values of a check round.
    pub(crate) fn round(&mut self, round: &CheckState) {
        let before = self.series.check_series();
        let mut points = std::mem::take(&mut self.scratch);
        self.series.round(round, |p| points.push(p));
        let mut dropped = 0;
        if self.series.check_series() != before {
            dropped += self.resize();
        }
        for point in points.drain(..) {
            dropped += self.queue.push(point);
        }
        self.scratch = points;
        self.dropped(dropped);
    }

    /// `missed` samples went by unread (the task lagged the bus): their
    /// values are lost. Returns how many.
    pub(crate) fn lagged(&mut self, missed: u64) -> u64 {
        let lost = missed * self.sample_series as u64;
        self.stats.dropped_total.fetch_add(lost, Ordering::Relaxed);
        lost
    }

    /// The oldest waiting points as a request, or `None` when none wait.
    pub fn next_batch(&mut self) -> Option<Batch> {
        if self.queue.waiting() == 0 {
            return None;
        }
        let points = self.queue.take(self.max_per_send);
        let body = proto::encode(&queue::request(&points, &self.series));
        Some(Batch { points, body })
    }

    /// Whether a batch this big means more are waiting behind it.
    pub(crate) fn was_full(&self, batch: &Batch) -> bool {
        batch.points.len() >= self.max_per_send
    }

    /// The receiver took `batch`.
    pub fn sent(&mut self, batch: Batch) {
        self.queue.done();
        self.stats
            .sent_total
            .fetch_add(batch.points.len() as u64, Ordering::Relaxed);
        self.publish();
    }

    /// The receiver refused `batch` for good: its points are dropped.
    pub(crate) fn refused(&mut self, batch: Batch) {
        self.queue.done();
        self.dropped(batch.points.len());
    }

    /// `batch` did not get through: queued again, in front.
    pub(crate) fn failed(&mut self, batch: Batch) {
        self.stats.failed_sends_total.fetch_add(1, Ordering::Relaxed);
        let dropped = self.queue.put_back(batch.points);
        self.dropped(dropped);
    }

    /// The figures this pusher keeps current.
    pub(crate) fn stats(&self) -> Arc<WriteStats> {
        self.stats.clone()
    }

    /// Points held (waiting and in flight).
    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    /// Capacity = buffer ticks × (series per sample + check series). When
    /// the host has fewer series (an interface or a filesystem gone), it
    /// shrinks only as far as the points already waiting allow: what the
    /// buffer took in during an outage is not dropped for it.
    fn resize(&mut self) -> usize {
        let series = self.sample_series + self.series.check_series();
        let wanted = self.ticks.saturating_mul(series.max(1));
        self.queue.set_capacity(wanted.max(self.queue.len()))
    }

    fn dropped(&self, n: usize) {
        if n > 0 {
            self.stats.dropped_total.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.publish();
    }

    fn publish(&self) {
        self.stats.queued.store(self.queue.len() as u64, Ordering::Relaxed);
        self.stats
            .capacity
            .store(self.queue.capacity() as u64, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use app::metrics::Disk;

    use super::*;

    fn sample(ts: i64, disks: usize) -> Sample {
        Sample {
            ts,
            disks: (0..disks)
                .map(|i| Disk {
                    mount: format!("/m{i}"),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    fn series_in(s: &Sample) -> usize {
        let mut n = 0;
        crate::catalog::for_each(s, |_, _, _| n += 1);
        n
    }

    #[test]
    fn capacity_follows_the_series_and_the_full_queue_drops_the_oldest() {
        let stats = Arc::new(WriteStats::default());
        let mut pusher = Pusher::new("alpha".into(), 3, 1_000_000, stats.clone());
        let small = series_in(&sample(0, 0));
        for ts in 1..=3 {
            pusher.sample(&sample(ts, 0));
        }
        assert_eq!(stats.capacity.load(Ordering::Relaxed) as usize, 3 * small);
        assert_eq!(stats.queued.load(Ordering::Relaxed) as usize, 3 * small);
        assert_eq!(stats.dropped_total.load(Ordering::Relaxed), 0);

        // Two more samples: the oldest two are pushed out and counted.
        pusher.sample(&sample(4, 0));
        pusher.sample(&sample(5, 0));
        assert_eq!(stats.dropped_total.load(Ordering::Relaxed) as usize, 2 * small);
        let batch = pusher.next_batch().unwrap();
        assert_eq!(batch.points[0].ts, 3);
        pusher.sent(batch);
        assert_eq!(stats.sent_total.load(Ordering::Relaxed) as usize, 3 * small);
        assert_eq!(stats.queued.load(Ordering::Relaxed), 0);

        // A new filesystem appears: the bound grows with it.
        pusher.sample(&sample(6, 1));
        let big = series_in(&sample(0, 1));
        assert!(big > small);
        assert_eq!(stats.capacity.load(Ordering::Relaxed) as usize, 3 * big);

        // A check appears: two more series per tick.
        let round = CheckState {
            name: "api".into(),
            kind: app::checks::CheckKind::Tcp,
            target: "db:5432".into(),
            status: app::health::Status::Up,
            observed: app::health::Status::Up,
            reason: String::new(),
            latency_ms: Some(2.0),
            subs: vec![],
            breaker: Default::default(),
            ts: 7,
            since: 0,
            consecutive_failures: 0,
        };
        pusher.round(&round);
        assert_eq!(stats.capacity.load(Ordering::Relaxed) as usize, 3 * (big + 2));
        assert_eq!(pusher.queued(), big + 2);
    }

    #[test]
    fn fewer_series_during_an_outage_do_not_shrink_the_bound_under_what_waits() {
        let stats = Arc::new(WriteStats::default());
        let mut pusher = Pusher::new("alpha".into(), 3, 1_000_000, stats.clone());
        let (small, big) = (series_in(&sample(0, 0)), series_in(&sample(0, 1)));
        // Nothing is sent (the receiver is away): the queue fills.
        for ts in 1..=3 {
            pusher.sample(&sample(ts, 1));
        }
        assert_eq!(pusher.queued(), 3 * big);
        // The filesystem goes: the next sample is smaller. The bound does not
        // shrink under what waits, so only as many of the oldest points make
        // room as the new sample brings (before: the whole difference too).
        pusher.sample(&sample(4, 0));
        assert_eq!(stats.dropped_total.load(Ordering::Relaxed) as usize, small);
        assert_eq!(pusher.queued(), 3 * big);
        // Once sent, the bound comes down to what the host has now.
        while let Some(batch) = pusher.next_batch() {
            pusher.sent(batch);
        }
        pusher.sample(&sample(5, 1));
        pusher.sample(&sample(6, 0));
        assert_eq!(stats.capacity.load(Ordering::Relaxed) as usize, 3 * small);
    }

    #[test]
    fn batches_split_by_max_samples_and_keep_each_series_in_time_order() {
        let stats = Arc::new(WriteStats::default());
        let mut pusher = Pusher::new("alpha".into(), 100, 7, stats.clone());
        for ts in 1..=10 {
            pusher.sample(&sample(ts * 1000, 1));
        }
        let total = pusher.queued();
        let mut seen: std::collections::HashMap<String, Vec<i64>> = Default::default();
        let mut requests = 0;
        while let Some(batch) = pusher.next_batch() {
            requests += 1;
            assert!(batch.points.len() <= 7);
            let request = proto::decode(&batch.body).unwrap();
            let samples: usize = request.timeseries.iter().map(|t| t.samples.len()).sum();
            assert_eq!(samples, batch.points.len());
            for ts in request.timeseries {
                let key = format!("{:?}", ts.labels);
                seen.entry(key)
                    .or_default()
                    .extend(ts.samples.iter().map(|s| s.timestamp));
            }
            pusher.sent(batch);
        }
        assert_eq!(requests, total.div_ceil(7));
        assert_eq!(stats.sent_total.load(Ordering::Relaxed) as usize, total);
        for (series, times) in seen {
            assert_eq!(times, (1..=10).map(|t| t * 1000).collect::<Vec<_>>(), "{series}");
        }
    }

    #[test]
    fn failed_batches_come_back_and_refused_ones_are_dropped() {
        let stats = Arc::new(WriteStats::default());
        let mut pusher = Pusher::new("alpha".into(), 100, 5, stats.clone());
        pusher.sample(&sample(1000, 0));
        let total = pusher.queued();
        let batch = pusher.next_batch().unwrap();
        let first: Vec<Queued> = batch.points.clone();
        pusher.failed(batch);
        assert_eq!(stats.failed_sends_total.load(Ordering::Relaxed), 1);
        assert_eq!(pusher.queued(), total);
        let again = pusher.next_batch().unwrap();
        assert_eq!(again.points, first, "retried first, same order");
        pusher.refused(again);
        assert_eq!(stats.dropped_total.load(Ordering::Relaxed), 5);
        assert_eq!(pusher.queued(), total - 5);
    }

    #[test]
    fn lagging_the_bus_counts_every_missed_value() {
        let stats = Arc::new(WriteStats::default());
        let mut pusher = Pusher::new("alpha".into(), 100, 5, stats.clone());
        pusher.sample(&sample(1000, 0));
        let per = series_in(&sample(0, 0)) as u64;
        assert_eq!(pusher.lagged(3), 3 * per);
        assert_eq!(stats.dropped_total.load(Ordering::Relaxed), 3 * per);
    }
}

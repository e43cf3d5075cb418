//! The explorer's data: one [`query_range`] per selected series, run side
//! by side, then summarized for the table and laid out in columns for the
//! chart.
//!
//! The server render needs only the summaries, so [`Loaded`] carries the
//! points (`ranges`) outside its serialized form: the page's HTML stays
//! small whatever the chart draws, and the browser asks for the points
//! itself once hydrated.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use serde::{Deserialize, Serialize};

use super::state::{now_ms, View};
use crate::error::ApiError;
use crate::metrics::{query_range, Range, Unit};

/// Points asked for per series: more than a wide screen has pixels, far
/// fewer than the store holds for long ranges (peaks survive as bucket
/// min/max). Zooming in asks again, for a narrower window.
pub const POINTS: u32 = 1_500;

/// One row of the summary table: a series over the window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub series: String,
    pub unit: Unit,
    /// The newest value (the last bucket's average); `None` without points.
    pub latest: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Mean of the bucket averages.
    pub avg: Option<f64>,
    pub points: usize,
    pub step_ms: i64,
    pub tier: String,
}

/// Min, max, average and latest of one range answer.
pub fn summarize(range: &Range) -> Summary {
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    let mut n = 0usize;
    for p in &range.points {
        let (lo, hi, avg) = p.min_max_avg();
        if avg.is_finite() {
            min = min.min(lo);
            max = max.max(hi);
            sum += avg;
            n += 1;
        }
    }
    let some = |v: f64| (n > 0).then_some(v);
    Summary {
        series: range.series.clone(),
        unit: range.unit,
        latest: range.points.last().map(|p| p.min_max_avg().2),
        min: some(min),
        max: some(max),
        avg: some(sum / n.max(1) as f64),
        points: range.points.len(),
        step_ms: range.step_ms,
        tier: range.tier.clone(),
    }
}

/// What one load of a view gives.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Loaded {
    /// The window asked for, Unix ms.
    pub from: i64,
    pub to: i64,
    /// One per selected series, in the view's order.
    pub rows: Vec<Summary>,
    /// The points, for the chart. Not serialized: `None` in a page
    /// hydrated from the server's render, until the browser loads again.
    #[serde(skip)]
    pub ranges: Option<Arc<Vec<Range>>>,
}

/// Queries every series of `view` over its window (as of now) at once.
/// The first failure (e.g. an unknown series) fails the whole load, and
/// its message is what the page shows.
pub async fn load(view: View) -> Result<Loaded, ApiError> {
    let (from, to) = view.span.window(now_ms());
    let queries = view
        .series
        .iter()
        .map(|name| query_range(name.clone(), from, to, POINTS))
        .collect();
    let ranges = join_all(queries).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded {
        from,
        to,
        rows: ranges.iter().map(summarize).collect(),
        ranges: Some(Arc::new(ranges)),
    })
}

/// Runs futures concurrently and returns their outputs in order (the
/// `futures` crate is a browser-only dependency of this crate).
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pending: Vec<Option<Pin<Box<F>>>> = futures.into_iter().map(|f| Some(Box::pin(f))).collect();
    let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
    poll_fn(|cx| {
        for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
            if let Some(fut) = slot {
                if let Poll::Ready(v) = fut.as_mut().poll(cx) {
                    *out = Some(v);
                    *slot = None;
                }
            }
        }
        if pending.iter().all(Option::is_none) {
            Poll::Ready(done.iter_mut().filter_map(Option::take).collect())
        } else {
            Poll::Pending
        }
    })
    .await
}

/// One chart value: a point, a break in the line (the series has no data
/// for a while), or nothing at this time (another series has a point here).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cell {
    Value(f64),
    Gap,
    Absent,
}

/// One series' values, aligned with [`Columns::xs`].
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// A value at every x: goes to the chart as one `Float64Array`.
    Dense(Vec<f64>),
    /// Breaks or holes: goes as a plain array of numbers, `null` (break)
    /// and `undefined` (skipped), as uPlot reads them.
    Sparse(Vec<Cell>),
}

/// uPlot's data layout: one x column shared by all series, in seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    pub xs: Vec<f64>,
    pub ys: Vec<Column>,
    /// How many values are drawn, over all series.
    pub drawn: usize,
}

/// Lays out range answers for the chart: the union of their times as x,
/// each series' bucket averages at its own times, and a break wherever a
/// series has no point for more than three steps (so an outage shows as a
/// hole, not as a straight line across it).
pub fn columns(ranges: &[Range]) -> Columns {
    // Each series' cells keyed by time, oldest first.
    let per_series: Vec<Vec<(i64, Option<f64>)>> = ranges
        .iter()
        .map(|r| {
            let mut cells = Vec::with_capacity(r.points.len() + 8);
            let gap_after = r.step_ms.saturating_mul(3);
            for (i, p) in r.points.iter().enumerate() {
                let t = p.t();
                if i > 0 && r.step_ms > 0 {
                    let prev = r.points[i - 1].t();
                    if t - prev > gap_after {
                        cells.push((prev + r.step_ms, None));
                    }
                }
                let v = p.min_max_avg().2;
                cells.push((t, v.is_finite().then_some(v)));
            }
            cells
        })
        .collect();

    let same_times = per_series
        .windows(2)
        .all(|w| w[0].len() == w[1].len() && w[0].iter().zip(&w[1]).all(|(a, b)| a.0 == b.0));
    let times: Vec<i64> = if same_times {
        per_series
            .first()
            .map(|s| s.iter().map(|c| c.0).collect())
            .unwrap_or_default()
    } else {
        let mut all: Vec<i64> = per_series.iter().flat_map(|s| s.iter().map(|c| c.0)).collect();
        all.sort_unstable();
        all.dedup();
        all
    };

    let mut drawn = 0;
    let ys = per_series
        .iter()
        .map(|series| {
            let mut cells = Vec::with_capacity(times.len());
            let mut it = series.iter().peekable();
            for &t in &times {
                // Times within one series are increasing; a repeated time keeps the last value.
                let mut cell = Cell::Absent;
                while let Some(&&(st, v)) = it.peek() {
                    if st > t {
                        break;
                    }
                    if st == t {
                        cell = v.map_or(Cell::Gap, Cell::Value);
                    }
                    it.next();
                }
                if matches!(cell, Cell::Value(_)) {
                    drawn += 1;
                }
                cells.push(cell);
            }
            if cells.iter().all(|c| matches!(c, Cell::Value(_))) {
                Column::Dense(
                    cells
                        .into_iter()
                        .map(|c| if let Cell::Value(v) = c { v } else { f64::NAN })
                        .collect(),
                )
            } else {
                Column::Sparse(cells)
            }
        })
        .collect();
    Columns {
        xs: times.iter().map(|t| *t as f64 / 1000.0).collect(),
        ys,
        drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::RangePoint;

    fn range(series: &str, step_ms: i64, points: Vec<RangePoint>) -> Range {
        Range {
            series: series.into(),
            unit: Unit::Percent,
            from: 0,
            to: 100_000,
            step_ms,
            tier: "raw".into(),
            points,
        }
    }

    #[test]
    fn summaries_take_peaks_from_buckets() {
        let r = range(
            "cpu",
            1000,
            vec![
                RangePoint::Value(0, 10.0),
                RangePoint::Bucket(1000, 2.0, 90.0, 30.0),
                RangePoint::Value(2000, 20.0),
            ],
        );
        let s = summarize(&r);
        assert_eq!(
            (s.min, s.max, s.latest, s.points),
            (Some(2.0), Some(90.0), Some(20.0), 3)
        );
        assert_eq!(s.avg, Some(20.0));
        let empty = summarize(&range("cpu", 1000, vec![]));
        assert_eq!(
            (empty.min, empty.max, empty.avg, empty.latest, empty.points),
            (None, None, None, None, 0)
        );
    }

    #[test]
    fn aligned_series_share_one_dense_x() {
        let a = range(
            "a",
            1000,
            vec![RangePoint::Value(1000, 1.0), RangePoint::Value(2000, 2.0)],
        );
        let b = range(
            "b",
            1000,
            vec![RangePoint::Value(1000, 5.0), RangePoint::Bucket(2000, 4.0, 8.0, 6.0)],
        );
        let c = columns(&[a, b]);
        assert_eq!(c.xs, [1.0, 2.0], "seconds, as uPlot wants");
        assert_eq!(c.ys, [Column::Dense(vec![1.0, 2.0]), Column::Dense(vec![5.0, 6.0])]);
        assert_eq!(c.drawn, 4);
    }

    #[test]
    fn unaligned_series_get_holes_and_outages_get_breaks() {
        let a = range(
            "a",
            1000,
            vec![
                RangePoint::Value(1000, 1.0),
                RangePoint::Value(2000, 2.0),
                // 8 s without data: a break at 3 s.
                RangePoint::Value(10_000, 3.0),
            ],
        );
        let b = range("b", 1000, vec![RangePoint::Value(1500, 7.0)]);
        let c = columns(&[a, b]);
        assert_eq!(c.xs, [1.0, 1.5, 2.0, 3.0, 10.0]);
        assert_eq!(
            c.ys[0],
            Column::Sparse(vec![
                Cell::Value(1.0),
                Cell::Absent,
                Cell::Value(2.0),
                Cell::Gap,
                Cell::Value(3.0)
            ])
        );
        assert_eq!(
            c.ys[1],
            Column::Sparse(vec![
                Cell::Absent,
                Cell::Value(7.0),
                Cell::Absent,
                Cell::Absent,
                Cell::Absent
            ])
        );
        assert_eq!(c.drawn, 4);
    }

    #[test]
    fn nothing_to_draw() {
        assert_eq!(columns(&[]), Columns::default());
        let c = columns(&[range("a", 1000, vec![])]);
        assert_eq!((c.xs.len(), c.drawn), (0, 0));
    }

    #[test]
    fn join_all_keeps_the_order() {
        async fn n(i: u32) -> u32 {
            i
        }
        let out = futures_lite_block_on(join_all(vec![n(1), n(2), n(3)]));
        assert_eq!(out, [1, 2, 3]);
    }

    /// Polls a future that is ready without waking (enough for the test).
    fn futures_lite_block_on<F: Future>(f: F) -> F::Output {
        let mut f = Box::pin(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}

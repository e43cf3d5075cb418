//! The explorer's data: one range query per selected series, run side by
//! side, then summarized for the table and laid out in columns for the
//! chart.
//!
//! The server render needs only the summaries, so [`Loaded`] carries the
//! points (`series`) outside its serialized form: the page's HTML stays
//! small whatever the chart draws, and the browser asks for the points
//! itself once hydrated. Both ask the `query_columns` server function:
//! the server render calls it directly, the browser over HTTP, and the
//! answer comes in columns (postcard), as the chart takes them.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use serde::{Deserialize, Serialize};

use super::state::{now_ms, View};
use crate::error::ApiError;
use crate::metrics::{RangeColumns, Unit};

/// Points asked for per series: more than a wide screen has pixels, far
/// fewer than the store holds for long ranges (peaks survive as bucket
/// min/max). Zooming in asks again, for a narrower window.
pub const POINTS: u32 = 1_500;

/// One series' points in columns, oldest first, as the chart takes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    /// Unix ms (a bucket's start).
    pub t: Vec<i64>,
    pub avg: Vec<f64>,
    /// Each bucket's lowest and highest sample, when [`Points::buckets`];
    /// empty otherwise (every point is one sample: min = max = avg).
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    /// Some point is a bucket of several samples: the chart shades its
    /// min-max band.
    pub buckets: bool,
}

impl Points {
    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
    }

    /// The lowest and highest sample of each point.
    pub fn lows_and_highs(&self) -> (&[f64], &[f64]) {
        if self.buckets {
            (&self.min, &self.max)
        } else {
            (&self.avg, &self.avg)
        }
    }
}

/// One range answer with its points in columns.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesData {
    pub series: String,
    pub unit: Unit,
    /// Width of one bucket in ms.
    pub step_ms: i64,
    /// Which stored tier answered.
    pub tier: String,
    pub points: Points,
}

impl TryFrom<RangeColumns> for SeriesData {
    type Error = ApiError;

    /// Takes the columns as they come. Columns of different lengths are
    /// refused: the chart indexes them together.
    fn try_from(c: RangeColumns) -> Result<Self, ApiError> {
        let n = c.t.len();
        let buckets = !(c.min.is_empty() && c.max.is_empty());
        if c.avg.len() != n || (buckets && (c.min.len() != n || c.max.len() != n)) {
            return Err(ApiError::new(format!(
                "the answer for {} is unreadable: {} times but {} values ({} min, {} max)",
                c.series,
                n,
                c.avg.len(),
                c.min.len(),
                c.max.len()
            )));
        }
        Ok(SeriesData {
            series: c.series,
            unit: c.unit,
            step_ms: c.step_ms,
            tier: c.tier,
            points: Points {
                t: c.t,
                avg: c.avg,
                min: c.min,
                max: c.max,
                buckets,
            },
        })
    }
}

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

/// Min, max, average and latest of one series.
pub fn summarize(data: &SeriesData) -> Summary {
    let p = &data.points;
    let (lows, highs) = p.lows_and_highs();
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    let mut n = 0usize;
    for i in 0..p.len() {
        if p.avg[i].is_finite() {
            min = min.min(lows[i]);
            max = max.max(highs[i]);
            sum += p.avg[i];
            n += 1;
        }
    }
    let some = |v: f64| (n > 0).then_some(v);
    Summary {
        series: data.series.clone(),
        unit: data.unit,
        latest: p.avg.last().copied(),
        min: some(min),
        max: some(max),
        avg: some(sum / n.max(1) as f64),
        points: p.len(),
        step_ms: data.step_ms,
        tier: data.tier.clone(),
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
    pub series: Option<Arc<Vec<SeriesData>>>,
}

/// Queries every series of `view` over its window (as of now) at once.
/// The first failure (e.g. an unknown series) fails the whole load, and
/// its message is what the page shows.
pub async fn load(view: View) -> Result<Loaded, ApiError> {
    let (from, to) = view.span.window(now_ms());
    let host = view.host.as_deref();
    let queries = view
        .series
        .iter()
        .map(|name| fetch(name.clone(), host, from, to))
        .collect();
    let series = join_all(queries).await.into_iter().collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded {
        from,
        to,
        rows: series.iter().map(summarize).collect(),
        series: Some(Arc::new(series)),
    })
}

/// One series over `from..to`: the `query_columns` server function, which
/// the server render calls directly and the browser asks of
/// `GET /api/v1/columns`, a postcard answer read straight into columns.
async fn fetch(name: String, host: Option<&str>, from: i64, to: i64) -> Result<SeriesData, ApiError> {
    crate::metrics::query_columns(name, from, to, POINTS, host.map(str::to_string))
        .await
        .and_then(SeriesData::try_from)
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

/// One drawn line's values, aligned with [`Columns::xs`].
#[derive(Clone, Debug, PartialEq)]
pub enum Column {
    /// A value at every x: goes to the chart as one `Float64Array`.
    Dense(Vec<f64>),
    /// Breaks or holes: goes as a plain array of numbers, `null` (break)
    /// and `undefined` (skipped), as uPlot reads them.
    Sparse(Vec<Cell>),
}

impl Column {
    fn from_cells(cells: Vec<Cell>) -> Column {
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
    }
}

/// uPlot's data layout: one x column shared by all lines, in seconds, then
/// per series its average, followed by its min and max when it has a band
/// ([`Points::buckets`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Columns {
    pub xs: Vec<f64>,
    pub ys: Vec<Column>,
    /// How many averages are drawn, over all series.
    pub drawn: usize,
    /// More points than the chart's pixel columns (set by [`thin`] and
    /// [`chart_columns`]): the lines zigzag within a pixel and are drawn
    /// as hairlines.
    pub dense: bool,
}

/// What one x of the chart shows of one series.
#[derive(Clone, Copy)]
enum Slot {
    Point(usize),
    Gap,
    Absent,
}

/// Whether the series has no point for more than three steps somewhere:
/// the chart must break its line there (an outage is a hole, not a
/// straight line across it).
fn has_outage(s: &SeriesData) -> bool {
    s.step_ms > 0 && s.points.t.windows(2).any(|w| w[1] - w[0] > s.step_ms.saturating_mul(3))
}

/// Whether every series has the same times, finite values and no outage:
/// then the chart takes their columns as they are.
fn aligned(series: &[SeriesData]) -> bool {
    let first = series.first().map(|s| &s.points.t);
    series
        .iter()
        .all(|s| Some(&s.points.t) == first && !has_outage(s) && s.points.avg.iter().all(|v| v.is_finite()))
}

/// The lines of aligned series as the chart orders them: per series its
/// average, then its min and max when it has a band.
fn lines(series: &[SeriesData]) -> Vec<&[f64]> {
    let mut lines = Vec::with_capacity(series.len() * 3);
    for s in series {
        lines.push(s.points.avg.as_slice());
        if s.points.buckets {
            lines.extend([s.points.min.as_slice(), s.points.max.as_slice()]);
        }
    }
    lines
}

/// Columns of aligned series at the points `keep` (all when `None`).
fn aligned_columns(series: &[SeriesData], keep: Option<&[usize]>) -> Columns {
    let t: &[i64] = series.first().map_or(&[], |s| &s.points.t);
    let pick = |v: &[f64]| match keep {
        Some(keep) => keep.iter().map(|&i| v[i]).collect(),
        None => v.to_vec(),
    };
    let xs = match keep {
        Some(keep) => keep.iter().map(|&i| t[i] as f64 / 1000.0).collect(),
        None => t.iter().map(|t| *t as f64 / 1000.0).collect(),
    };
    Columns {
        xs,
        ys: lines(series).into_iter().map(|l| Column::Dense(pick(l))).collect(),
        drawn: series.iter().map(|s| s.points.len()).sum(),
        dense: false,
    }
}

/// What the chart draws of `series` on `width` device pixels: their
/// columns ([`columns`]), thinned ([`thin`]). Aligned series are thinned
/// from their own columns, without laying all their points out first.
pub fn chart_columns(series: &[SeriesData], width: usize) -> Columns {
    if !aligned(series) {
        return thin(columns(series), width);
    }
    let t: &[i64] = series.first().map_or(&[], |s| &s.points.t);
    let keep = thin_indices(t.len(), |i| t[i] as f64, &lines(series), width);
    Columns {
        dense: t.len() > width,
        ..aligned_columns(series, keep.as_deref())
    }
}

/// Lays out series for the chart. The common case (every series at the
/// same times, finite values, no outage) copies the columns as they are;
/// otherwise x is the union of their times, each series has its values at
/// its own times, and a break after each outage.
pub fn columns(series: &[SeriesData]) -> Columns {
    if aligned(series) {
        return aligned_columns(series, None);
    }

    // Each series' cells keyed by time, oldest first: a point's index, or
    // `None` for a break after an outage.
    let per_series: Vec<Vec<(i64, Option<usize>)>> = series
        .iter()
        .map(|s| {
            let t = &s.points.t;
            let mut cells = Vec::with_capacity(t.len() + 8);
            for i in 0..t.len() {
                if i > 0 && s.step_ms > 0 && t[i] - t[i - 1] > s.step_ms.saturating_mul(3) {
                    cells.push((t[i - 1] + s.step_ms, None));
                }
                cells.push((t[i], s.points.avg[i].is_finite().then_some(i)));
            }
            cells
        })
        .collect();
    let mut times: Vec<i64> = per_series.iter().flat_map(|s| s.iter().map(|c| c.0)).collect();
    times.sort_unstable();
    times.dedup();

    let mut drawn = 0;
    let mut ys = Vec::with_capacity(series.len() * 3);
    for (s, cells) in series.iter().zip(&per_series) {
        // What each x shows of this series; a repeated time keeps the last.
        let mut slots: Vec<Slot> = Vec::with_capacity(times.len());
        let mut it = cells.iter().peekable();
        for &t in &times {
            let mut slot = Slot::Absent;
            while let Some(&&(ct, i)) = it.peek() {
                if ct > t {
                    break;
                }
                if ct == t {
                    slot = i.map_or(Slot::Gap, Slot::Point);
                }
                it.next();
            }
            drawn += usize::from(matches!(slot, Slot::Point(_)));
            slots.push(slot);
        }
        let column = |values: &[f64]| {
            Column::from_cells(
                slots
                    .iter()
                    .map(|slot| match *slot {
                        Slot::Point(i) => Cell::Value(values[i]),
                        Slot::Gap => Cell::Gap,
                        Slot::Absent => Cell::Absent,
                    })
                    .collect(),
            )
        };
        ys.push(column(&s.points.avg));
        if s.points.buckets {
            ys.push(column(&s.points.min));
            ys.push(column(&s.points.max));
        }
    }
    Columns {
        xs: times.iter().map(|t| *t as f64 / 1000.0).collect(),
        ys,
        drawn,
        dense: false,
    }
}

/// Thins dense columns to what `width` pixel columns can show: per pixel
/// column the first and last point and, for every line, the points of its
/// lowest and highest value (M4 aggregation). The chart draws the same
/// picture from a few thousand points instead of a hundred thousand, so
/// building paths and painting stay fast; no peak is lost. Columns with
/// breaks or holes, and those with few points, are left as they are.
/// [`Columns::drawn`] still counts every point loaded.
pub fn thin(mut columns: Columns, width: usize) -> Columns {
    let n = columns.xs.len();
    columns.dense = n > width;
    let dense: Option<Vec<&[f64]>> = columns
        .ys
        .iter()
        .map(|c| match c {
            Column::Dense(v) if v.len() == n => Some(v.as_slice()),
            _ => None,
        })
        .collect();
    let Some(keep) = dense.and_then(|dense| thin_indices(n, |i| columns.xs[i], &dense, width)) else {
        return columns;
    };
    let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    Columns {
        xs: pick(&columns.xs),
        ys: columns
            .ys
            .iter()
            .map(|c| match c {
                Column::Dense(v) => Column::Dense(pick(v)),
                Column::Sparse(cells) => Column::Sparse(keep.iter().map(|&i| cells[i]).collect()),
            })
            .collect(),
        ..columns
    }
}

/// The points M4 keeps of `n` points at `x(i)` (ascending) with `lines`
/// of values: per pixel column the first and the last, and each line's
/// lowest and highest. `None` when there is nothing to gain: few points
/// for the width.
fn thin_indices(n: usize, x: impl Fn(usize) -> f64, lines: &[&[f64]], width: usize) -> Option<Vec<usize>> {
    let width = width.max(1);
    // Each pixel column keeps at most 2 + 2 per line.
    let per_pixel = 2 + 2 * lines.len();
    if n <= width * per_pixel || n < 2 {
        return None;
    }
    let x0 = x(0);
    let scale = width as f64 / (x(n - 1) - x0).max(f64::MIN_POSITIVE);
    let last = width - 1;
    let pixel = |i: usize| (((x(i) - x0) * scale).max(0.0) as usize).min(last);
    let mut keep: Vec<usize> = Vec::with_capacity(width * per_pixel);
    let mut picked: Vec<usize> = Vec::with_capacity(per_pixel);
    let mut start = 0;
    while start < n {
        let p = pixel(start);
        let mut end = start + 1;
        while end < n && pixel(end) == p {
            end += 1;
        }
        picked.clear();
        picked.extend([start, end - 1]);
        for line in lines {
            let (mut lo, mut hi) = (start, start);
            for (i, &v) in line[start..end].iter().enumerate() {
                if v < line[lo] {
                    lo = start + i;
                }
                if v > line[hi] {
                    hi = start + i;
                }
            }
            picked.extend([lo, hi]);
        }
        picked.sort_unstable();
        picked.dedup();
        keep.extend_from_slice(&picked);
        start = end;
    }
    Some(keep)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::{Range, RangePoint};

    fn series(name: &str, step_ms: i64, points: Vec<RangePoint>) -> SeriesData {
        SeriesData::try_from(RangeColumns::from(Range {
            series: name.into(),
            unit: Unit::Percent,
            from: 0,
            to: 100_000,
            step_ms,
            tier: "raw".into(),
            points,
        }))
        .unwrap()
    }

    #[test]
    fn columns_of_different_lengths_are_refused() {
        let mut c = RangeColumns::from(Range {
            series: "a".into(),
            unit: Unit::Percent,
            from: 0,
            to: 10,
            step_ms: 1,
            tier: "raw".into(),
            points: vec![
                RangePoint::Bucket(1, 1.0, 3.0, 2.0),
                RangePoint::Bucket(2, 1.0, 3.0, 2.0),
            ],
        });
        assert!(SeriesData::try_from(c.clone()).is_ok());
        c.max.pop();
        let err = SeriesData::try_from(c.clone()).unwrap_err();
        assert!(err.error.contains("unreadable"), "{err}");
        c.min.clear();
        c.max.clear();
        c.avg.pop();
        assert!(SeriesData::try_from(c).is_err());
    }

    #[test]
    fn aligned_series_thin_from_their_own_columns_as_from_the_laid_out_ones() {
        let n = 20_000i64;
        let band = |i: i64| RangePoint::Bucket(i * 1000, (i % 17) as f64, (i % 29) as f64 + 30.0, (i % 23) as f64);
        let a = series("a", 1000, (0..n).map(band).collect());
        let b = series(
            "b",
            1000,
            (0..n)
                .map(|i| RangePoint::Value(i * 1000, ((i * 7919) % 1000) as f64))
                .collect(),
        );
        let both = [a, b];
        for width in [300, 1_000, 20_000] {
            let direct = chart_columns(&both, width);
            assert_eq!(direct, thin(columns(&both), width), "width {width}");
            assert_eq!(direct.drawn, 2 * n as usize);
            assert_eq!(direct.ys.len(), 4, "a's average, min and max, then b's average");
        }
        assert!(
            chart_columns(&both, 300).xs.len() <= 300 * (2 + 2 * 4),
            "thinned to at most 10 per pixel"
        );
    }

    #[test]
    fn thinning_keeps_every_peak_and_both_ends() {
        let n = 10_000;
        let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let a: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1000) as f64).collect();
        let mut b: Vec<f64> = (0..n).map(|i| (i % 13) as f64).collect();
        b[4321] = 1e6; // a one-sample spike
        b[77] = -5.0;
        let columns = Columns {
            xs: xs.clone(),
            ys: vec![Column::Dense(a.clone()), Column::Dense(b.clone())],
            drawn: 2 * n,
            dense: false,
        };
        let thin = thin(columns.clone(), 100);
        assert!(thin.dense, "100 points per pixel column");
        assert!(thin.xs.len() <= 100 * 6 && thin.xs.len() > 100, "{}", thin.xs.len());
        assert_eq!(thin.drawn, 2 * n);
        assert_eq!(thin.xs.first(), Some(&0.0));
        assert_eq!(thin.xs.last(), Some(&((n - 1) as f64)));
        assert!(thin.xs.windows(2).all(|w| w[0] < w[1]), "x stays in order");
        let Column::Dense(tb) = &thin.ys[1] else {
            panic!("dense")
        };
        assert!(tb.contains(&1e6) && tb.contains(&-5.0), "the spike and the dip survive");
        // Every pixel column's extremes of each line survive.
        for px in 0..100 {
            let range = px * 100..(px + 1) * 100;
            let (lo, hi) = a[range.clone()]
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
            let kept: Vec<f64> = thin
                .xs
                .iter()
                .zip(match &thin.ys[0] {
                    Column::Dense(v) => v,
                    _ => unreachable!(),
                })
                .filter(|(x, _)| range.contains(&(**x as usize)))
                .map(|(_, v)| *v)
                .collect();
            assert!(kept.contains(&lo) && kept.contains(&hi), "pixel column {px}");
        }
        // Few points, or breaks and holes: untouched.
        // (one line: at most 4 per pixel column, so 400 points stay)
        let small = Columns {
            xs: xs[..400].to_vec(),
            ys: vec![Column::Dense(a[..400].to_vec())],
            drawn: 400,
            dense: false,
        };
        assert_eq!(
            super::thin(small.clone(), 100),
            Columns {
                dense: true,
                ..small.clone()
            }
        );
        assert_eq!(
            super::thin(small.clone(), 400),
            small,
            "one point per pixel column: not dense"
        );
        let sparse = Columns {
            ys: vec![Column::Sparse(vec![Cell::Gap; n])],
            ..columns
        };
        assert_eq!(super::thin(sparse.clone(), 100), Columns { dense: true, ..sparse });
    }

    #[test]
    fn summaries_take_peaks_from_buckets() {
        let s = summarize(&series(
            "cpu",
            1000,
            vec![
                RangePoint::Value(0, 10.0),
                RangePoint::Bucket(1000, 2.0, 90.0, 30.0),
                RangePoint::Value(2000, 20.0),
            ],
        ));
        assert_eq!(
            (s.min, s.max, s.latest, s.points),
            (Some(2.0), Some(90.0), Some(20.0), 3)
        );
        assert_eq!(s.avg, Some(20.0));
        let empty = summarize(&series("cpu", 1000, vec![]));
        assert_eq!(
            (empty.min, empty.max, empty.avg, empty.latest, empty.points),
            (None, None, None, None, 0)
        );
    }

    #[test]
    fn aligned_series_share_one_dense_x_and_buckets_bring_their_band() {
        let a = series(
            "a",
            1000,
            vec![RangePoint::Value(1000, 1.0), RangePoint::Value(2000, 2.0)],
        );
        let b = series(
            "b",
            1000,
            vec![RangePoint::Value(1000, 5.0), RangePoint::Bucket(2000, 4.0, 8.0, 6.0)],
        );
        assert!(!a.points.buckets && b.points.buckets);
        let c = columns(&[a, b]);
        assert_eq!(c.xs, [1.0, 2.0], "seconds, as uPlot wants");
        assert_eq!(
            c.ys,
            [
                Column::Dense(vec![1.0, 2.0]),
                Column::Dense(vec![5.0, 6.0]),
                Column::Dense(vec![5.0, 4.0]),
                Column::Dense(vec![5.0, 8.0]),
            ],
            "a's average; b's average, min and max"
        );
        assert_eq!(c.drawn, 4);
    }

    #[test]
    fn unaligned_series_get_holes_and_outages_get_breaks() {
        let a = series(
            "a",
            1000,
            vec![
                RangePoint::Value(1000, 1.0),
                RangePoint::Value(2000, 2.0),
                // 8 s without data: a break at 3 s.
                RangePoint::Value(10_000, 3.0),
            ],
        );
        let b = series("b", 1000, vec![RangePoint::Bucket(1500, 6.0, 9.0, 7.0)]);
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
        let only_at_1500 = |v: f64| {
            Column::Sparse(vec![
                Cell::Absent,
                Cell::Value(v),
                Cell::Absent,
                Cell::Absent,
                Cell::Absent,
            ])
        };
        assert_eq!(c.ys[1..], [only_at_1500(7.0), only_at_1500(6.0), only_at_1500(9.0)]);
        assert_eq!(c.drawn, 4);
    }

    #[test]
    fn an_outage_alone_breaks_the_line() {
        let a = series(
            "a",
            1000,
            vec![RangePoint::Value(1000, 1.0), RangePoint::Value(9000, 2.0)],
        );
        let c = columns(&[a]);
        assert_eq!(c.xs, [1.0, 2.0, 9.0]);
        assert_eq!(
            c.ys,
            [Column::Sparse(vec![Cell::Value(1.0), Cell::Gap, Cell::Value(2.0)])]
        );
    }

    #[test]
    fn nothing_to_draw() {
        assert_eq!(columns(&[]), Columns::default());
        let c = columns(&[series("a", 1000, vec![])]);
        assert_eq!((c.xs.len(), c.ys.len(), c.drawn), (0, 1, 0));
    }

    #[test]
    fn join_all_keeps_the_order() {
        async fn n(i: u32) -> u32 {
            i
        }
        let out = block_on(join_all(vec![n(1), n(2), n(3)]));
        assert_eq!(out, [1, 2, 3]);
    }

    /// Polls a future that is ready without waking (enough for the test).
    fn block_on<F: Future>(f: F) -> F::Output {
        let mut f = Box::pin(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        loop {
            if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
                return v;
            }
        }
    }
}

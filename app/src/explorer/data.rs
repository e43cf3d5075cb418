//! The explorer's data: one range query per selected series, run side by
//! side, then summarized for the table and laid out in columns for the
//! chart.
//!
//! The server render needs only the summaries, so [`Loaded`] carries the
//! points (`series`) outside its serialized form: the page's HTML stays
//! small whatever the chart draws, and the browser asks for the points
//! itself once hydrated. On the server a load calls [`query_range`]
//! directly; in the browser it asks `GET /api/v1/query` and reads the
//! answer with [`super::wire`], straight into columns.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use serde::{Deserialize, Serialize};

use super::state::{now_ms, View};
use crate::error::ApiError;
use crate::metrics::{Range, RangePoint, Unit};

/// Points asked for per series: more than a wide screen has pixels, far
/// fewer than the store holds for long ranges (peaks survive as bucket
/// min/max). Zooming in asks again, for a narrower window.
pub const POINTS: u32 = 1_500;

/// One series' points in columns, oldest first, as the chart takes them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Points {
    /// Unix ms (a bucket's start).
    pub t: Vec<i64>,
    pub min: Vec<f64>,
    pub max: Vec<f64>,
    pub avg: Vec<f64>,
    /// Some point is a bucket of several samples: the chart shades its
    /// min-max band.
    pub buckets: bool,
}

impl Points {
    pub fn push(&mut self, t: i64, min: f64, max: f64, avg: f64) {
        self.t.push(t);
        self.min.push(min);
        self.max.push(max);
        self.avg.push(avg);
    }

    pub fn reserve(&mut self, n: usize) {
        self.t.reserve(n);
        self.min.reserve(n);
        self.max.reserve(n);
        self.avg.reserve(n);
    }

    pub fn len(&self) -> usize {
        self.t.len()
    }

    pub fn is_empty(&self) -> bool {
        self.t.is_empty()
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

impl From<Range> for SeriesData {
    fn from(range: Range) -> Self {
        let mut points = Points::default();
        for p in &range.points {
            let (min, max, avg) = p.min_max_avg();
            points.push(p.t(), min, max, avg);
            points.buckets |= matches!(p, RangePoint::Bucket(..));
        }
        SeriesData {
            series: range.series,
            unit: range.unit,
            step_ms: range.step_ms,
            tier: range.tier,
            points,
        }
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
    let mut min = f64::INFINITY;
    let mut max = f64::NEG_INFINITY;
    let mut sum = 0.0;
    let mut n = 0usize;
    for i in 0..p.len() {
        if p.avg[i].is_finite() {
            min = min.min(p.min[i]);
            max = max.max(p.max[i]);
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

/// One series over `from..to`, from the engine (server side).
#[cfg(not(feature = "hydrate"))]
async fn fetch(name: String, host: Option<&str>, from: i64, to: i64) -> Result<SeriesData, ApiError> {
    crate::metrics::query_range(name, from, to, POINTS, host.map(str::to_string))
        .await
        .map(SeriesData::from)
}

/// One series over `from..to`, asked of `GET /api/v1/query` (the same
/// endpoint the `query_range` server function answers on) and read into
/// columns without serde. Sent through the server-function client, so the
/// request and its errors behave like every other server call.
#[cfg(feature = "hydrate")]
async fn fetch(name: String, host: Option<&str>, from: i64, to: i64) -> Result<SeriesData, ApiError> {
    use leptos::server_fn::client::{browser::BrowserClient, Client};
    use leptos::server_fn::request::{browser::BrowserRequest, ClientReq};
    use leptos::server_fn::response::ClientRes;

    let mut query = String::from("series=");
    super::state::push_escaped(&mut query, &name);
    query.push_str(&format!("&from={from}&to={to}&points={POINTS}"));
    if let Some(host) = host {
        query.push_str("&host=");
        super::state::push_escaped(&mut query, host);
    }
    let request: BrowserRequest = ClientReq::<ApiError>::try_new_get("/api/v1/query", "", "application/json", &query)?;
    let response = <BrowserClient as Client<ApiError>>::send(request).await?;
    let status = ClientRes::<ApiError>::status(&response);
    let body = ClientRes::<ApiError>::try_into_bytes(response).await?;
    if !(200..300).contains(&status) {
        return Err(super::wire::parse_error(&body)
            .unwrap_or_else(|| ApiError::new(format!("the query for {name} failed (HTTP {status})"))));
    }
    super::wire::parse_range(&body).map_err(|e| ApiError::new(format!("the answer for {name} is unreadable: {e}")))
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

/// Lays out series for the chart. The common case (every series at the
/// same times, finite values, no outage) copies the columns as they are;
/// otherwise x is the union of their times, each series has its values at
/// its own times, and a break after each outage.
pub fn columns(series: &[SeriesData]) -> Columns {
    let first = series.first().map(|s| &s.points.t);
    let simple = series
        .iter()
        .all(|s| Some(&s.points.t) == first && !has_outage(s) && s.points.avg.iter().all(|v| v.is_finite()));
    if simple {
        let mut ys = Vec::with_capacity(series.len() * 3);
        for s in series {
            ys.push(Column::Dense(s.points.avg.clone()));
            if s.points.buckets {
                ys.push(Column::Dense(s.points.min.clone()));
                ys.push(Column::Dense(s.points.max.clone()));
            }
        }
        return Columns {
            xs: first.map_or_else(Vec::new, |t| t.iter().map(|t| *t as f64 / 1000.0).collect()),
            ys,
            drawn: series.iter().map(|s| s.points.len()).sum(),
        };
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
    }
}

/// Thins dense columns to what `width` pixel columns can show: per pixel
/// column the first and last point and, for every line, the points of its
/// lowest and highest value (M4 aggregation). The chart draws the same
/// picture from a few thousand points instead of a hundred thousand, so
/// building paths and painting stay fast; no peak is lost. Columns with
/// breaks or holes, and those with few points, are left as they are.
/// [`Columns::drawn`] still counts every point loaded.
pub fn thin(columns: Columns, width: usize) -> Columns {
    let n = columns.xs.len();
    let width = width.max(1);
    let dense: Option<Vec<&Vec<f64>>> = columns
        .ys
        .iter()
        .map(|c| match c {
            Column::Dense(v) if v.len() == n => Some(v),
            _ => None,
        })
        .collect();
    let Some(dense) = dense else {
        return columns;
    };
    // Each pixel column keeps at most 2 + 2 per line.
    if n <= width * (2 + 2 * dense.len()) || n < 2 {
        return columns;
    }
    let (x0, x1) = (columns.xs[0], columns.xs[n - 1]);
    let span = (x1 - x0).max(f64::MIN_POSITIVE);
    let pixel = |x: f64| (((x - x0) / span) * width as f64).min(width as f64 - 1.0).max(0.0) as usize;
    let mut keep: Vec<usize> = Vec::with_capacity(width * (2 + 2 * dense.len()));
    let mut picked: Vec<usize> = Vec::with_capacity(2 + 2 * dense.len());
    let mut start = 0;
    while start < n {
        let p = pixel(columns.xs[start]);
        let mut end = start + 1;
        while end < n && pixel(columns.xs[end]) == p {
            end += 1;
        }
        picked.clear();
        picked.extend([start, end - 1]);
        for column in &dense {
            let (mut lo, mut hi) = (start, start);
            for i in start..end {
                if column[i] < column[lo] {
                    lo = i;
                }
                if column[i] > column[hi] {
                    hi = i;
                }
            }
            picked.extend([lo, hi]);
        }
        picked.sort_unstable();
        picked.dedup();
        keep.extend_from_slice(&picked);
        start = end;
    }
    Columns {
        xs: keep.iter().map(|&i| columns.xs[i]).collect(),
        ys: dense
            .iter()
            .map(|c| Column::Dense(keep.iter().map(|&i| c[i]).collect()))
            .collect(),
        drawn: columns.drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(name: &str, step_ms: i64, points: Vec<RangePoint>) -> SeriesData {
        SeriesData::from(Range {
            series: name.into(),
            unit: Unit::Percent,
            from: 0,
            to: 100_000,
            step_ms,
            tier: "raw".into(),
            points,
        })
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
        };
        let thin = thin(columns.clone(), 100);
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
        };
        assert_eq!(super::thin(small.clone(), 100), small);
        let sparse = Columns {
            ys: vec![Column::Sparse(vec![Cell::Gap; n])],
            ..columns
        };
        assert_eq!(super::thin(sparse.clone(), 100), sparse);
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

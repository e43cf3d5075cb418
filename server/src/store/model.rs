//! The store's data model, shared by its append path (`writer`), its
//! open part (`head`) and its reads (`query`): a stored point ([`Row`]),
//! the step a series' values are kept in ([`scale_of`]), the rows a
//! block holds ([`block_rows`]) and the rollup of rows into coarser ones
//! ([`rollup`]). (Prometheus' tsdb splits its model from its append path
//! the same way.)

use super::codec::Block;
use crate::catalog;

/// One stored point of any tier. Raw points have min = max = avg = last, n = 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Row {
    pub(crate) t: i64,
    pub(crate) min: f64,
    pub(crate) max: f64,
    pub(crate) avg: f64,
    pub(crate) last: f64,
    pub(crate) n: i64,
}

impl Row {
    /// One raw sample.
    pub(crate) fn raw(t: i64, v: f64) -> Row {
        Row {
            t,
            min: v,
            max: v,
            avg: v,
            last: v,
            n: 1,
        }
    }
}

/// Values of series whose metric is unknown (from another version) are
/// kept to this step.
pub(crate) const DEFAULT_SCALE: f64 = 0.01;

/// The step a series' values are stored in: its metric's precision.
pub(crate) fn scale_of(series: &str) -> f64 {
    catalog::metric_of(series).map_or(DEFAULT_SCALE, |m| m.precision())
}

/// The rows a block holds.
pub(crate) fn block_rows(block: &Block) -> Vec<Row> {
    let s = block.scale;
    match block.columns.as_slice() {
        [v] => block
            .t
            .iter()
            .zip(v)
            .map(|(&t, &v)| Row::raw(t, v as f64 * s))
            .collect(),
        [min, max, avg, last, n] => (0..block.t.len())
            .map(|i| Row {
                t: block.t[i],
                min: min[i] as f64 * s,
                max: max[i] as f64 * s,
                avg: avg[i] as f64 * s,
                last: last[i] as f64 * s,
                n: n[i],
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// Rolls rows (oldest first) up into buckets of `step` ms: min of the
/// minimums, max of the maximums, the average weighted by count, the last
/// value, and the count.
pub(crate) fn rollup(rows: &[Row], step: i64) -> Vec<Row> {
    let mut out: Vec<Row> = Vec::new();
    for r in rows {
        let t = r.t.div_euclid(step.max(1)) * step.max(1);
        match out.last_mut() {
            Some(b) if b.t == t => {
                let n = b.n + r.n;
                b.avg = (b.avg * b.n as f64 + r.avg * r.n as f64) / n as f64;
                b.min = b.min.min(r.min);
                b.max = b.max.max(r.max);
                b.last = r.last;
                b.n = n;
            }
            _ => out.push(Row { t, ..*r }),
        }
    }
    out
}

//! Range reads: pick the tier, read its blocks and head rows, fill the
//! newest part from finer tiers, downsample keeping peaks.

use app::metrics::{Range, RangePoint, Unit};
use rusqlite::{params, Connection, OptionalExtension};

use super::codec::Block;
use super::head;
use super::model::{block_rows, scale_of, Row};
use super::{StoreError, Tier, Tiers};

/// What a range read needs to know about the series.
pub(crate) struct Series<'a> {
    pub(crate) name: &'a str,
    pub(crate) unit: Unit,
    /// Its id in the `series` table.
    pub(crate) id: i64,
}

/// The id of a stored series, if it was ever written.
pub(crate) fn series_id(conn: &Connection, name: &str) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .query_row("SELECT id FROM series WHERE name = ?1", [name], |r| r.get(0))
        .optional()?)
}

fn ms(t: &Tier) -> i64 {
    (t.step.as_millis() as i64).max(1)
}

/// The tier to answer from: the coarsest whose step still gives `bucket`
/// resolution, moved coarser while it no longer holds `from`.
pub(crate) fn choose_tier(tiers: &Tiers, from: i64, bucket: i64, now: i64) -> usize {
    let mut k = tiers.0.iter().rposition(|t| ms(t) <= bucket).unwrap_or(0);
    while k + 1 < tiers.0.len() && from < now - tiers.0[k].retention.as_millis() as i64 {
        k += 1;
    }
    k
}

/// Rows of one tier in `[from, to)`: blocks overlapping it (a block's rows
/// end less than `reach` ms after its start), then open points (in units of
/// `scale`).
pub(crate) fn read_tier(
    conn: &Connection,
    series: i64,
    tier: usize,
    (from, to): (i64, i64),
    reach: i64,
    scale: f64,
) -> Result<Vec<Row>, StoreError> {
    let mut rows = Vec::new();
    let mut stmt = conn.prepare_cached(
        "SELECT c.data, m.data FROM chunk c LEFT JOIN times m ON m.tier = c.tier AND m.start = c.start
         WHERE c.series = ?1 AND c.tier = ?2 AND c.start > ?3 AND c.start < ?4 AND c.end > ?5
         ORDER BY c.start",
    )?;
    // Bounded on both sides, so the index range holds only candidates.
    let mut blocks = stmt.query(params![series, tier as i64, from.saturating_sub(reach), to, from])?;
    while let Some(row) = blocks.next()? {
        let times = row.get_ref(1)?.as_blob_or_null().map_err(rusqlite::Error::from)?;
        let block = Block::decode(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?, times)?;
        rows.extend(block_rows(&block).into_iter().filter(|r| r.t >= from && r.t < to));
    }
    rows.extend(head::rows(conn, series, tier, from, to, scale)?);
    Ok(rows)
}

/// Answers a range query for a stored series.
pub(crate) fn range(
    conn: &Connection,
    tiers: &Tiers,
    series: Series,
    from: i64,
    to: i64,
    points: u32,
    now: i64,
) -> Result<Range, StoreError> {
    let bucket = ((to - from) as f64 / points.max(1) as f64).ceil().max(1.0) as i64;
    let chosen = choose_tier(tiers, from, bucket, now);
    // The chosen tier, then each finer tier for what it does not cover yet
    // (rollups are made when a chunk window closes).
    let mut rows: Vec<Row> = Vec::new();
    let mut covered = from;
    let scale = scale_of(series.name);
    for k in (0..=chosen).rev() {
        if covered >= to {
            break;
        }
        // A block's window, and its last row's step past it.
        let reach = tiers.0[k].chunk.as_millis() as i64 + ms(&tiers.0[k]);
        let part = read_tier(conn, series.id, k, (covered, to), reach, scale)?;
        if let Some(last) = part.last() {
            covered = last.t + ms(&tiers.0[k]);
        }
        rows.extend(part);
    }
    let step = bucket.max(ms(&tiers.0[chosen]));
    Ok(Range {
        series: series.name.to_string(),
        unit: series.unit,
        from,
        to,
        step_ms: step,
        tier: tiers.0[chosen].name.to_string(),
        points: downsample(&rows, from, bucket),
    })
}

/// Groups rows (oldest first) into buckets of `bucket` ms from `from`. A
/// bucket of one raw sample is a `[t, value]`; anything else keeps its
/// min, max and count-weighted average, so peaks survive.
pub(crate) fn downsample(rows: &[Row], from: i64, bucket: i64) -> Vec<RangePoint> {
    struct Acc {
        start: i64,
        first: Row,
        min: f64,
        max: f64,
        sum: f64,
        n: i64,
        rows: usize,
    }
    let finish = |a: &Acc| {
        if a.rows == 1 && a.n == 1 {
            RangePoint::Value(a.first.t, a.first.avg)
        } else {
            RangePoint::Bucket(a.start, a.min, a.max, a.sum / a.n.max(1) as f64)
        }
    };
    let mut out = Vec::new();
    let mut acc: Option<Acc> = None;
    for r in rows {
        let start = from + (r.t - from).div_euclid(bucket) * bucket;
        match &mut acc {
            Some(a) if a.start == start => {
                a.min = a.min.min(r.min);
                a.max = a.max.max(r.max);
                a.sum += r.avg * r.n as f64;
                a.n += r.n;
                a.rows += 1;
            }
            _ => {
                if let Some(a) = &acc {
                    out.push(finish(a));
                }
                acc = Some(Acc {
                    start,
                    first: *r,
                    min: r.min,
                    max: r.max,
                    sum: r.avg * r.n as f64,
                    n: r.n,
                    rows: 1,
                });
            }
        }
    }
    if let Some(a) = &acc {
        out.push(finish(a));
    }
    out
}

//! The open part of every series: points not yet sealed into a block.
//!
//! One row of the `pending` table per write, holding the points of every
//! series that write carried: a batch of the writer (raw values), or the
//! rollups one sealed window gave the next tier. Points are integers in
//! units of their series' scale (the metric's precision, as in blocks),
//! grouped by time and written as varints: a raw value of a steady host
//! costs two to four bytes, where a row per value cost about thirty, and a
//! batch is one insert instead of one per value.
//!
//! Layout: `[version u8][kind u8][groups]`, then per group (one time,
//! ascending) `[t: zigzag delta from the previous group][count]` and per
//! point (series ascending) `[series delta]` then, raw: `[zigzag value]`;
//! rollup: `[zigzag avg][avg - min][max - avg][zigzag last - avg][n]`.
//! Every number is an LEB128 varint.

use rusqlite::{params, Connection, Transaction};

use app::varint::{put, put_signed};

use super::codec::CodecError;
use super::model::Row;
use super::StoreError;

const VERSION: u8 = 1;
const RAW: u8 = 0;
const ROLLUP: u8 = 1;

/// One open point: a series' value (or rollup) at a time, in units of the
/// series' scale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OpenPoint {
    pub(crate) series: i64,
    pub(crate) t: i64,
    pub(crate) min: i64,
    pub(crate) max: i64,
    pub(crate) avg: i64,
    pub(crate) last: i64,
    pub(crate) n: i64,
}

impl OpenPoint {
    /// One raw value.
    pub(crate) fn raw(series: i64, t: i64, q: i64) -> OpenPoint {
        OpenPoint {
            series,
            t,
            min: q,
            max: q,
            avg: q,
            last: q,
            n: 1,
        }
    }

    /// A row of `series` quantized to `scale`.
    pub(crate) fn of_row(series: i64, row: &Row, scale: f64) -> OpenPoint {
        let q = |v: f64| (v / scale).round() as i64;
        OpenPoint {
            series,
            t: row.t,
            min: q(row.min),
            max: q(row.max),
            avg: q(row.avg),
            last: q(row.last),
            n: row.n,
        }
    }

    /// The point as a row, its values scaled back.
    pub(crate) fn row(&self, scale: f64) -> Row {
        Row {
            t: self.t,
            min: self.min as f64 * scale,
            max: self.max as f64 * scale,
            avg: self.avg as f64 * scale,
            last: self.last as f64 * scale,
            n: self.n,
        }
    }

    fn is_raw(&self) -> bool {
        self.n == 1 && self.min == self.avg && self.max == self.avg && self.last == self.avg
    }
}

fn get(bytes: &mut &[u8]) -> Result<u64, CodecError> {
    app::varint::get(bytes).map_err(varint_error)
}

fn get_signed(bytes: &mut &[u8]) -> Result<i64, CodecError> {
    app::varint::get_signed(bytes).map_err(varint_error)
}

fn varint_error(err: app::varint::VarintError) -> CodecError {
    match err {
        app::varint::VarintError::Truncated => CodecError::Truncated,
        app::varint::VarintError::TooLong => CodecError::Column("varint longer than 64 bits".into()),
    }
}

/// Encodes points, sorting them by time and series. Of two points with the
/// same series and time the later one in `points` is kept.
pub(crate) fn encode(points: &mut Vec<OpenPoint>) -> Vec<u8> {
    dedup(points);
    let raw = points.iter().all(OpenPoint::is_raw);
    let mut out = Vec::with_capacity(8 + points.len() * 4);
    out.push(VERSION);
    out.push(if raw { RAW } else { ROLLUP });
    let groups = points.windows(2).filter(|w| w[0].t != w[1].t).count() + usize::from(!points.is_empty());
    put(&mut out, groups as u64);
    let mut t = 0i64;
    for group in points.chunk_by(|a, b| a.t == b.t) {
        put_signed(&mut out, group[0].t.wrapping_sub(t));
        t = group[0].t;
        put(&mut out, group.len() as u64);
        let mut series = 0i64;
        for p in group {
            put_signed(&mut out, p.series.wrapping_sub(series));
            series = p.series;
            put_signed(&mut out, p.avg);
            if !raw {
                put(&mut out, p.avg.wrapping_sub(p.min) as u64);
                put(&mut out, p.max.wrapping_sub(p.avg) as u64);
                put_signed(&mut out, p.last.wrapping_sub(p.avg));
                put(&mut out, p.n as u64);
            }
        }
    }
    out
}

/// Sorts by time and series, keeping the later of two points with the same
/// series and time.
fn dedup(points: &mut Vec<OpenPoint>) {
    keep_last(points, |p| (p.t, p.series));
}

/// Sorts `items` by `key`, keeping of items with equal keys the one that
/// came last: the later write wins.
pub(crate) fn keep_last<T, K: Ord>(items: &mut Vec<T>, key: impl Fn(&T) -> K) {
    // Stable: of equal keys the later stays last, and survives the reversed dedup.
    items.sort_by_key(&key);
    items.reverse();
    items.dedup_by(|a, b| key(a) == key(b));
    items.reverse();
}

/// Decodes a write made by [`encode`], keeping the points `keep` accepts.
pub(crate) fn decode(
    mut bytes: &[u8],
    mut keep: impl FnMut(&OpenPoint) -> bool,
    out: &mut Vec<OpenPoint>,
) -> Result<(), CodecError> {
    let bytes = &mut bytes;
    let [version, kind] = [get_byte(bytes)?, get_byte(bytes)?];
    if version != VERSION {
        return Err(CodecError::Version(version));
    }
    let raw = match kind {
        RAW => true,
        ROLLUP => false,
        other => return Err(CodecError::Column(format!("open points of kind {other}"))),
    };
    let mut t = 0i64;
    for _ in 0..get(bytes)? {
        t = t.wrapping_add(get_signed(bytes)?);
        let mut series = 0i64;
        for _ in 0..get(bytes)? {
            series = series.wrapping_add(get_signed(bytes)?);
            let avg = get_signed(bytes)?;
            let point = if raw {
                OpenPoint::raw(series, t, avg)
            } else {
                OpenPoint {
                    series,
                    t,
                    min: avg.wrapping_sub(get(bytes)? as i64),
                    max: avg.wrapping_add(get(bytes)? as i64),
                    avg,
                    last: avg.wrapping_add(get_signed(bytes)?),
                    n: get(bytes)? as i64,
                }
            };
            if keep(&point) {
                out.push(point);
            }
        }
    }
    if !bytes.is_empty() {
        return Err(CodecError::Column("bytes after the last open point".into()));
    }
    Ok(())
}

fn get_byte(bytes: &mut &[u8]) -> Result<u8, CodecError> {
    let (&b, rest) = bytes.split_first().ok_or(CodecError::Truncated)?;
    *bytes = rest;
    Ok(b)
}

/// Stores `points` of `tier` as one write. Nothing is stored for none.
pub(crate) fn insert(tx: &Transaction, tier: usize, points: &mut Vec<OpenPoint>) -> Result<(), StoreError> {
    let (Some(first), Some(last)) = (points.iter().map(|p| p.t).min(), points.iter().map(|p| p.t).max()) else {
        return Ok(());
    };
    let data = encode(points);
    tx.prepare_cached("INSERT INTO pending (tier, first, last, data) VALUES (?1, ?2, ?3, ?4)")?
        .execute(params![tier as i64, first, last, data])?;
    Ok(())
}

/// The open points of `tier` at times in `[from, to)` that `keep` accepts,
/// oldest write first.
pub(crate) fn read(
    conn: &Connection,
    tier: usize,
    from: i64,
    to: i64,
    mut keep: impl FnMut(&OpenPoint) -> bool,
) -> Result<Vec<OpenPoint>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT data FROM pending WHERE tier = ?1 AND first < ?3 AND last >= ?2 ORDER BY id")?;
    let mut rows = stmt.query(params![tier as i64, from, to])?;
    let mut points = Vec::new();
    while let Some(row) = rows.next()? {
        decode(blob(row)?, |p| p.t >= from && p.t < to && keep(p), &mut points)?;
    }
    Ok(points)
}

/// Removes and returns the points of `tier` of every write that began
/// before `before`, oldest write first (with any later points they hold).
/// A damaged write is logged and dropped with the rest: kept, it would
/// stop every later seal, and the file would grow without end.
pub(crate) fn take(tx: &Transaction, tier: usize, before: i64) -> Result<Vec<OpenPoint>, StoreError> {
    let mut points = Vec::new();
    {
        let mut stmt = tx.prepare_cached("SELECT id, data FROM pending WHERE tier = ?1 AND first < ?2 ORDER BY id")?;
        let mut rows = stmt.query(params![tier as i64, before])?;
        let mut one = Vec::new();
        while let Some(row) = rows.next()? {
            one.clear();
            let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            match decode(data, |_| true, &mut one) {
                Ok(()) => points.append(&mut one),
                Err(err) => {
                    let id: i64 = row.get(0)?;
                    tracing::error!(%err, write = id, tier, "a damaged write of open points is dropped");
                }
            }
        }
    }
    tx.execute(
        "DELETE FROM pending WHERE tier = ?1 AND first < ?2",
        params![tier as i64, before],
    )?;
    Ok(points)
}

fn blob<'a>(row: &'a rusqlite::Row) -> Result<&'a [u8], StoreError> {
    Ok(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?)
}

/// The open rows of one series and tier in `[from, to)`, oldest first, its
/// values in units of `scale`. Of two points at the same time, the one
/// written last counts.
pub(crate) fn rows(
    conn: &Connection,
    series: i64,
    tier: usize,
    from: i64,
    to: i64,
    scale: f64,
) -> Result<Vec<Row>, StoreError> {
    let mut points = read(conn, tier, from, to, |p| p.series == series)?;
    dedup(&mut points);
    Ok(points.iter().map(|p| p.row(scale)).collect())
}

/// Moves the rows of `head`, the table a row per open point that stores
/// made before [`encode`] existed, into writes of open points, and drops it.
pub(crate) fn migrate_rows_table(conn: &mut Connection) -> Result<(), StoreError> {
    let exists: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'head'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let tx = conn.transaction()?;
    let mut by_tier: Vec<Vec<OpenPoint>> = Vec::new();
    {
        let mut stmt = tx.prepare(
            "SELECT h.tier, h.series, s.name, h.t, h.min, h.max, h.avg, h.last, h.n
             FROM head h JOIN series s ON s.id = h.series ORDER BY h.tier",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let tier = r.get::<_, i64>(0)?.max(0) as usize;
            let avg: f64 = r.get(6)?;
            let row = Row {
                t: r.get(3)?,
                min: r.get::<_, Option<f64>>(4)?.unwrap_or(avg),
                max: r.get::<_, Option<f64>>(5)?.unwrap_or(avg),
                avg,
                last: r.get::<_, Option<f64>>(7)?.unwrap_or(avg),
                n: r.get::<_, Option<i64>>(8)?.unwrap_or(1),
            };
            if by_tier.len() <= tier {
                by_tier.resize(tier + 1, Vec::new());
            }
            let scale = super::model::scale_of(&r.get::<_, String>(2)?);
            by_tier[tier].push(OpenPoint::of_row(r.get(1)?, &row, scale));
        }
    }
    for (tier, mut points) in by_tier.into_iter().enumerate() {
        insert(&tx, tier, &mut points)?;
    }
    tx.execute_batch("DROP TABLE head")?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(mut points: Vec<OpenPoint>) -> Vec<OpenPoint> {
        let bytes = encode(&mut points);
        let mut out = Vec::new();
        decode(&bytes, |_| true, &mut out).unwrap();
        assert_eq!(out, points);
        out
    }

    #[test]
    fn raw_and_rollup_points_round_trip() {
        let t = 1_700_000_000_123;
        round_trip(vec![]);
        round_trip(vec![
            OpenPoint::raw(3, t, 4200),
            OpenPoint::raw(1, t, -7),
            OpenPoint::raw(2, t + 1000, i64::MAX),
            OpenPoint::raw(1, t + 1000, i64::MIN),
            OpenPoint::raw(i64::MAX, -5, 0),
        ]);
        round_trip(vec![
            OpenPoint {
                series: 9,
                t,
                min: -100,
                max: 300,
                avg: 12,
                last: 299,
                n: 60,
            },
            OpenPoint::raw(4, t - 60_000, 1),
        ]);
    }

    #[test]
    fn points_sort_and_the_later_of_two_at_one_time_stays() {
        let out = round_trip(vec![
            OpenPoint::raw(2, 2000, 1),
            OpenPoint::raw(1, 1000, 1),
            OpenPoint::raw(2, 2000, 5),
        ]);
        assert_eq!(out, vec![OpenPoint::raw(1, 1000, 1), OpenPoint::raw(2, 2000, 5)]);
    }

    #[test]
    fn a_steady_host_costs_a_few_bytes_a_value() {
        let t = 1_700_000_000_000;
        let mut points: Vec<OpenPoint> = (0..10)
            .flat_map(|s| (1..=40).map(move |series| OpenPoint::raw(series, t + s * 1000, 4200 + series * 3)))
            .collect();
        let bytes = encode(&mut points).len();
        assert!(bytes <= 400 * 4, "{bytes} bytes for 400 values");
    }

    #[test]
    fn damaged_writes_are_errors() {
        let mut points = vec![OpenPoint::raw(1, 1000, 300), OpenPoint::raw(2, 1000, 5)];
        let bytes = encode(&mut points);
        let mut out = Vec::new();
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut], |_| true, &mut out).is_err(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode(&longer, |_| true, &mut out).is_err());
        assert!(matches!(
            decode(&[7, 0, 0], |_| true, &mut out),
            Err(CodecError::Version(7))
        ));
        assert!(decode(&[VERSION, 9, 0], |_| true, &mut out).is_err());
        assert!(decode(
            &[VERSION, RAW, 1, 0, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1],
            |_| true,
            &mut out
        )
        .is_err());
    }

    #[test]
    fn any_damage_is_an_error_or_other_points_never_a_panic() {
        let t = 1_700_000_000_000;
        let mut raw: Vec<OpenPoint> = (0..40).map(|s| OpenPoint::raw(s, t + s % 3, s * 977 - 5000)).collect();
        let mut rolled = vec![OpenPoint {
            series: 3,
            t,
            min: -4,
            max: 90,
            avg: 7,
            last: 80,
            n: 60,
        }];
        for good in [encode(&mut raw), encode(&mut rolled)] {
            let mut out = Vec::new();
            for at in 0..good.len() {
                for byte in [0x00, 0x01, 0x7f, 0x80, 0xff, good[at] ^ 0x40] {
                    let mut bad = good.clone();
                    bad[at] = byte;
                    out.clear();
                    let _ = decode(&bad, |_| true, &mut out);
                    bad.truncate(at);
                    let _ = decode(&bad, |_| true, &mut out);
                }
            }
        }
    }
}

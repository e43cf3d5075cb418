//! The writer thread: writes each batch of samples as one write of open
//! points ([`head`]), seals closed chunk windows into compressed blocks,
//! rolls them up into the next tier, and applies retention. The only
//! connection that writes.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::checks::{CheckState, Transition};
use app::metrics::Sample;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::codec::Block;
use super::head::{self, OpenPoint};
use super::model::{block_rows, rollup, scale_of, Row, DEFAULT_SCALE};
use super::{file_bytes, StoreError, Tiers};
use crate::catalog;
use crate::signals::StoreStats;

/// A batch is written after this many samples even if its time is not up.
const MAX_BATCH: usize = 512;

/// Owns the write connection.
pub struct Writer {
    conn: Connection,
    path: PathBuf,
    tiers: Tiers,
    stats: Arc<StoreStats>,
    ids: HashMap<String, i64>,
    /// The ids in the order the catalog emitted values last time, with the
    /// metric and key label that named them: consecutive samples emit the
    /// same series in the same order, so most values find their id here
    /// without building the name.
    order: Vec<(&'static str, String, i64)>,
    /// Per tier: every window before this time is sealed.
    sealed_until: Vec<i64>,
    /// Errors already logged, to keep a failing disk from flooding the log.
    logged_errors: u64,
    /// The batch's points, reused from batch to batch.
    points: Vec<OpenPoint>,
}

fn ms(d: Duration) -> i64 {
    d.as_millis() as i64
}

impl Writer {
    pub fn new(conn: Connection, path: PathBuf, tiers: Tiers, stats: Arc<StoreStats>) -> Writer {
        let sealed_until = vec![0; tiers.0.len()];
        stats.bytes.store(file_bytes(&path), Ordering::Relaxed);
        stats.open.store(1, Ordering::Relaxed);
        Writer {
            conn,
            path,
            tiers,
            stats,
            ids: HashMap::new(),
            order: Vec::new(),
            sealed_until,
            logged_errors: 0,
            points: Vec::new(),
        }
    }

    fn series_id(ids: &mut HashMap<String, i64>, tx: &Transaction, name: &str) -> Result<i64, StoreError> {
        if let Some(id) = ids.get(name) {
            return Ok(*id);
        }
        let existing: Option<i64> = tx
            .query_row("SELECT id FROM series WHERE name = ?1", [name], |r| r.get(0))
            .optional()?;
        let id = match existing {
            Some(id) => id,
            None => {
                tx.execute("INSERT INTO series (name) VALUES (?1)", [name])?;
                tx.last_insert_rowid()
            }
        };
        ids.insert(name.to_string(), id);
        Ok(id)
    }

    /// Writes one batch of samples in one transaction, then seals what closed.
    pub fn write(&mut self, samples: &[Arc<Sample>]) -> Result<(), StoreError> {
        self.write_batch(samples, &[])
    }

    /// Writes samples and check rounds in one transaction, then seals what
    /// closed. A round becomes two points: `check_up.NAME` (1 when the
    /// target answered, up or degraded; 0 when down; nothing when unknown)
    /// and `check_latency_seconds.NAME`.
    pub(crate) fn write_batch(
        &mut self,
        samples: &[Arc<Sample>],
        rounds: &[Arc<CheckState>],
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let tx = self.conn.transaction()?;
        let mut points = std::mem::take(&mut self.points);
        points.clear();
        {
            let mut result = Ok(());
            for sample in samples {
                let mut position = 0;
                catalog::for_each(sample, |metric, labels, value| {
                    let at = position;
                    position += 1;
                    if result.is_err() || !value.is_finite() {
                        return;
                    }
                    let key = labels.first().copied().unwrap_or("");
                    let id = match self.order.get(at) {
                        Some((m, k, id)) if *m == metric.name && k == key => Ok(*id),
                        _ => Self::series_id(&mut self.ids, &tx, &metric.series_name(labels)).inspect(|id| {
                            let entry = (metric.name, key.to_string(), *id);
                            if at < self.order.len() {
                                self.order[at] = entry;
                            } else if at == self.order.len() {
                                self.order.push(entry);
                            }
                        }),
                    };
                    let q = (value / metric.precision()).round() as i64;
                    result = id.map(|id| points.push(OpenPoint::raw(id, sample.ts, q)));
                });
            }
            result?;
            for round in rounds.iter().filter(|r| r.ts > 0) {
                let up = catalog::check_up(round.observed);
                let latency = round.latency_ms.filter(|v| v.is_finite()).map(|ms| ms / 1e3);
                for (name, value) in [
                    (app::checks::up_series(&round.name), up),
                    (app::checks::latency_series(&round.name), latency),
                ] {
                    if let Some(value) = value {
                        let q = (value / scale_of(&name)).round() as i64;
                        points.push(OpenPoint::raw(Self::series_id(&mut self.ids, &tx, &name)?, round.ts, q));
                    }
                }
            }
        }
        head::insert(&tx, 0, &mut points)?;
        let written = points.len() as u64;
        self.points = points;
        tx.commit()?;
        let now = samples
            .last()
            .map(|s| s.ts)
            .into_iter()
            .chain(rounds.iter().map(|r| r.ts))
            .max()
            .unwrap_or(0);
        self.seal(now)?;
        self.stats.values_written.fetch_add(written, Ordering::Relaxed);
        self.stats
            .last_write_us
            .store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        self.stats.bytes.store(file_bytes(&self.path), Ordering::Relaxed);
        Ok(())
    }

    /// Records announced status changes of checks.
    pub(crate) fn write_transitions(&mut self, transitions: &[Arc<Transition>]) -> Result<(), StoreError> {
        if transitions.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT OR REPLACE INTO transition (check_name, t, from_status, to_status, reason)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for t in transitions {
                insert.execute(params![t.check, t.ts, t.from.as_str(), t.to.as_str(), t.reason])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Seals every chunk window that closed before `now_ms`, rolls it up
    /// into the next tier, and applies retention. Cheap when nothing closed.
    pub(crate) fn seal(&mut self, now_ms: i64) -> Result<(), StoreError> {
        for k in 0..self.tiers.0.len() {
            let window = ms(self.tiers.0[k].chunk).max(1);
            let closed_before = now_ms.div_euclid(window) * window;
            if self.sealed_until[k] >= closed_before {
                continue;
            }
            self.seal_tier(k, closed_before, now_ms)?;
            self.sealed_until[k] = closed_before;
        }
        Ok(())
    }

    fn seal_tier(&mut self, k: usize, closed_before: i64, now_ms: i64) -> Result<(), StoreError> {
        let tier = self.tiers.0[k].clone();
        let next = self.tiers.0.get(k + 1).cloned();
        let window = ms(tier.chunk).max(1);
        let tx = self.conn.transaction()?;
        let points = head::take(&tx, k, closed_before)?;
        let (mut sealed, mut kept): (Vec<OpenPoint>, Vec<OpenPoint>) =
            points.into_iter().partition(|p| p.t < closed_before);
        let w = |t: i64| t.div_euclid(window);
        // By window, series and time; of two points at one time the later write's stays.
        head::keep_last(&mut sealed, |p| (w(p.t), p.series, p.t));
        let scales = series_scales(&tx)?;
        let mut rolled = Vec::new();
        for in_window in sealed.chunk_by(|a, b| w(a.t) == w(b.t)) {
            let start = w(in_window[0].t) * window;
            let by_series: Vec<&[OpenPoint]> = in_window.chunk_by(|a, b| a.series == b.series).collect();
            let times = window_times(&tx, k, start, &by_series)?;
            let spec = Window {
                tier: k,
                start,
                step: ms(tier.step),
                times: times.as_ref(),
            };
            for points in by_series {
                let id = points[0].series;
                let scale = scales.get(&id).copied().unwrap_or(DEFAULT_SCALE);
                let rows: Vec<Row> = points.iter().map(|p| p.row(scale)).collect();
                let all = write_chunk(&tx, id, &spec, &rows, scale)?;
                if let Some(next) = &next {
                    rolled.extend(
                        rollup(&all, ms(next.step))
                            .iter()
                            .map(|r| OpenPoint::of_row(id, r, scale)),
                    );
                }
            }
        }
        head::insert(&tx, k + 1, &mut rolled)?;
        head::insert(&tx, k, &mut kept)?;
        let horizon = now_ms - ms(tier.retention);
        tx.execute(
            "DELETE FROM chunk WHERE tier = ?1 AND end < ?2",
            params![k as i64, horizon],
        )?;
        tx.execute(
            "DELETE FROM pending WHERE tier = ?1 AND last < ?2",
            params![k as i64, horizon],
        )?;
        // A window's times go with the last block that can still use them.
        tx.execute(
            "DELETE FROM times WHERE tier = ?1 AND start < ?2",
            params![k as i64, horizon - window],
        )?;
        if next.is_none() {
            // Status changes live as long as the coarsest tier.
            tx.execute("DELETE FROM transition WHERE t < ?1", [horizon])?;
        }
        tx.commit()?;
        // Give freed pages back so the file does not only grow.
        self.conn.execute_batch("PRAGMA incremental_vacuum;")?;
        Ok(())
    }

    /// Writes a failing batch's error to the log, rarely once it repeats.
    fn report(&mut self, err: &StoreError, lost: usize) {
        self.stats.write_errors.fetch_add(1, Ordering::Relaxed);
        self.stats.failing_batches.fetch_add(1, Ordering::Relaxed);
        if self.logged_errors.is_multiple_of(60) {
            tracing::error!(%err, lost_samples = lost, "history store write failed; the batch is dropped");
        }
        self.logged_errors += 1;
    }
}

/// Every stored series' scale, by id.
fn series_scales(conn: &Connection) -> Result<HashMap<i64, f64>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, name FROM series")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, scale_of(&r.get::<_, String>(1)?))))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One window of a tier being sealed.
struct Window<'a> {
    tier: usize,
    start: i64,
    /// The tier's step: a block ends one step after its last row.
    step: i64,
    /// The times most of the window's series share, if any.
    times: Option<&'a Times>,
}

/// A window's shared times, decoded and as stored.
struct Times {
    t: Vec<i64>,
    bytes: Vec<u8>,
}

/// The times the blocks of a window share: those stored already, or else
/// the times most of its series have (when at least two do), stored now.
/// Once stored they never change: blocks rely on them.
fn window_times(
    tx: &Transaction,
    tier: usize,
    start: i64,
    by_series: &[&[OpenPoint]],
) -> Result<Option<Times>, StoreError> {
    let stored: Option<Vec<u8>> = tx
        .query_row(
            "SELECT data FROM times WHERE tier = ?1 AND start = ?2",
            params![tier as i64, start],
            |r| r.get(0),
        )
        .optional()?;
    if let Some(bytes) = stored {
        let t = super::codec::decode_times(&bytes)?;
        return Ok(Some(Times { t, bytes }));
    }
    let columns: Vec<Vec<i64>> = by_series.iter().map(|p| p.iter().map(|p| p.t).collect()).collect();
    let mut counts: HashMap<&[i64], usize> = HashMap::new();
    for t in &columns {
        *counts.entry(t.as_slice()).or_default() += 1;
    }
    let most = counts.values().copied().max().unwrap_or(0);
    let Some(t) = columns
        .iter()
        .find(|t| counts[t.as_slice()] == most)
        .filter(|_| most >= 2)
    else {
        return Ok(None);
    };
    let bytes = super::codec::encode_times(t);
    tx.execute(
        "INSERT INTO times (tier, start, data) VALUES (?1, ?2, ?3)",
        params![tier as i64, start, bytes],
    )?;
    Ok(Some(Times { t: t.clone(), bytes }))
}

/// Compresses `rows` (in one window) into a chunk, merging with a chunk
/// already stored for the window (late rows after a restart or a clock
/// step; of two rows at one time the new one stays). Returns the window's
/// rows.
fn write_chunk(
    tx: &Transaction,
    series: i64,
    window: &Window,
    rows: &[Row],
    precision: f64,
) -> Result<Vec<Row>, StoreError> {
    let Window {
        tier,
        start,
        step,
        times,
    } = *window;
    let existing: Option<Vec<u8>> = tx
        .query_row(
            "SELECT data FROM chunk WHERE series = ?1 AND tier = ?2 AND start = ?3",
            params![series, tier as i64, start],
            |r| r.get(0),
        )
        .optional()?;
    let mut all: Vec<Row> = match existing {
        Some(bytes) => block_rows(&Block::decode(&bytes, times.map(|t| t.bytes.as_slice()))?),
        None => Vec::new(),
    };
    all.extend_from_slice(rows);
    // Of two rows at one time the new one (last) stays.
    head::keep_last(&mut all, |r| r.t);
    let q = |v: f64| (v / precision).round() as i64;
    let columns = if tier > 0 {
        vec![
            all.iter().map(|r| q(r.min)).collect(),
            all.iter().map(|r| q(r.max)).collect(),
            all.iter().map(|r| q(r.avg)).collect(),
            all.iter().map(|r| q(r.last)).collect(),
            all.iter().map(|r| r.n).collect(),
        ]
    } else {
        vec![all.iter().map(|r| q(r.avg)).collect()]
    };
    let block = Block {
        scale: precision,
        t: all.iter().map(|r| r.t).collect(),
        columns,
    };
    let end = all.last().map_or(start, |r| r.t + step);
    let data = block.encode(times.map(|t| t.t.as_slice()));
    tx.execute(
        "INSERT OR REPLACE INTO chunk (series, tier, start, end, rows, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![series, tier as i64, start, end, all.len() as i64, data],
    )?;
    Ok(all)
}

/// What the writer thread takes.
#[derive(Clone, Debug)]
pub(crate) enum Input {
    Sample(Arc<Sample>),
    /// A finished check round (also one while the breaker is open).
    Round(Arc<CheckState>),
    /// An announced status change of a check.
    Transition(Arc<Transition>),
}

/// Runs the writer until every sender is gone: batches of at most `batch`
/// time (or [`MAX_BATCH`] inputs), one transaction each; the last batch is
/// flushed before returning.
pub(crate) fn run(mut writer: Writer, rx: Receiver<Input>, batch: Duration) {
    let mut pending = Pending::default();
    let mut deadline: Option<Instant> = None;
    loop {
        let wait = deadline.map_or(Duration::from_secs(3600), |d| {
            d.saturating_duration_since(Instant::now())
        });
        let flush = match rx.recv_timeout(wait) {
            Ok(input) => {
                if pending.is_empty() {
                    deadline = Some(Instant::now() + batch);
                }
                match input {
                    Input::Sample(s) => pending.samples.push(s),
                    Input::Round(r) => pending.rounds.push(r),
                    Input::Transition(t) => pending.transitions.push(t),
                }
                pending.len() >= MAX_BATCH
            }
            Err(RecvTimeoutError::Timeout) => true,
            Err(RecvTimeoutError::Disconnected) => {
                writer.flush(&mut pending);
                tracing::debug!("history writer stopped");
                return;
            }
        };
        if flush {
            writer.flush(&mut pending);
            deadline = None;
        }
    }
}

#[derive(Default)]
struct Pending {
    samples: Vec<Arc<Sample>>,
    rounds: Vec<Arc<CheckState>>,
    transitions: Vec<Arc<Transition>>,
}

impl Pending {
    fn len(&self) -> usize {
        self.samples.len() + self.rounds.len() + self.transitions.len()
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Writer {
    fn flush(&mut self, pending: &mut Pending) {
        if pending.is_empty() {
            return;
        }
        let result = self
            .write_batch(&pending.samples, &pending.rounds)
            .and_then(|()| self.write_transitions(&pending.transitions));
        match result {
            Ok(()) => {
                if self.stats.failing_batches.swap(0, Ordering::Relaxed) > 0 {
                    self.stats.set_error(None);
                    tracing::info!("history store writes again");
                }
            }
            Err(err) => {
                self.stats.set_error(Some(err.to_string()));
                self.report(&err, pending.len())
            }
        }
        pending.samples.clear();
        pending.rounds.clear();
        pending.transitions.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rollups_keep_min_max_weighted_avg_last_and_count() {
        let rows = [
            Row::raw(0, 1.0),
            Row::raw(1_000, 5.0),
            Row::raw(59_000, 3.0),
            Row::raw(60_000, 10.0),
        ];
        let minutes = rollup(&rows, 60_000);
        assert_eq!(minutes.len(), 2);
        let m = minutes[0];
        assert_eq!((m.t, m.min, m.max, m.avg, m.last, m.n), (0, 1.0, 5.0, 3.0, 3.0, 3));
        // Rolling rollups up weights each by its count.
        let hour = rollup(&minutes, 3_600_000);
        assert_eq!(hour.len(), 1);
        let h = hour[0];
        assert_eq!((h.min, h.max, h.last, h.n), (1.0, 10.0, 10.0, 4));
        assert!((h.avg - 19.0 / 4.0).abs() < 1e-9, "{}", h.avg);
    }
}

//! History: an embedded time-series store in SQLite under the data dir.
//!
//! - [`writer`]: a dedicated thread fed from the sample bus. Each batch
//!   (one second, or sooner when many samples queue) is one transaction
//!   and one row of open points in `pending` ([`head`]: every series'
//!   values of the batch as varints). When a chunk window closes (10
//!   minutes of raw points, 6 hours of minute rollups, a week of hour
//!   rollups) its points are compressed into one [`codec::Block`] per
//!   series in `chunk` (the times most of them share once, in `times`),
//!   and the next tier's rollups (min, max, avg, last, count) are computed
//!   from them. Retention drops old chunks; freed pages go back to the
//!   file system (incremental vacuum), so the file stays bounded.
//! - [`query`]: range reads on their own connections (WAL lets them run
//!   beside the writer): picks the coarsest tier that still gives the points
//!   asked for, fills the newest part from finer tiers, and downsamples
//!   keeping each bucket's min and max.
//! - [`codec`]: the compressed block format; [`head`]: the open points' format.
//! - [`model`]: what both hold: a stored point, a series' scale, rollups.
//! - [`backup`]: an online copy of the database (`vigil backup`).
//!
//! A `kill -9` loses at most the batch being collected: every batch is
//! committed (WAL, `synchronous = NORMAL`, which survives a process crash).

pub(crate) mod backup;
pub(crate) mod codec;
pub(crate) mod head;
pub(crate) mod model;
pub(crate) mod query;
pub mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::signals::{CheckEvent, StoreStats};
use app::metrics::{Range, Sample};
use rusqlite::Connection;
use serde::Deserialize;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The file under the data dir.
pub const FILE_NAME: &str = "vigil.db";

/// One resolution of stored history.
#[derive(Clone, Debug, PartialEq)]
pub struct Tier {
    /// `raw`, `1m`, `1h`: the name queries report.
    pub(crate) name: &'static str,
    /// Time one point covers (raw: the collector interval).
    pub(crate) step: Duration,
    /// How long points are kept.
    pub(crate) retention: Duration,
    /// Time one compressed chunk covers.
    pub(crate) chunk: Duration,
}

/// The tiers, finest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Tiers(pub Vec<Tier>);

impl Tiers {
    /// Raw samples for 48 h, minute rollups for 90 days, hour rollups for 2 years.
    pub fn standard(interval: Duration) -> Tiers {
        Tiers::configured(interval, &HistoryConfig::default())
    }

    /// The three tiers with the configured retention.
    ///
    /// Chunk windows are short (10 minutes of raw points, 6 hours of minute
    /// rollups, a week of hour rollups): until its window closes a point is
    /// open ([`head`], two to four bytes instead of under one in a block),
    /// and a query reads the open part write by write. Much shorter windows
    /// cost more in per-block overhead and query time (see BENCHMARKS.md).
    pub(crate) fn configured(interval: Duration, config: &HistoryConfig) -> Tiers {
        let hour = Duration::from_secs(3600);
        Tiers(vec![
            Tier {
                name: "raw",
                step: interval,
                retention: config.raw_retention,
                chunk: Duration::from_secs(600),
            },
            Tier {
                name: "1m",
                step: Duration::from_secs(60),
                retention: config.minute_retention,
                chunk: hour * 6,
            },
            Tier {
                name: "1h",
                step: hour,
                retention: config.hour_retention,
                chunk: hour * 24 * 7,
            },
        ])
    }
}

/// How long the history store keeps each resolution.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// Every sample (one per collector interval).
    #[serde(with = "humantime_serde")]
    pub raw_retention: Duration,
    /// One-minute rollups (min, max, avg, last, count).
    #[serde(with = "humantime_serde")]
    pub minute_retention: Duration,
    /// One-hour rollups.
    #[serde(with = "humantime_serde")]
    pub hour_retention: Duration,
    /// Largest size of the database file in MiB (0: no limit beyond the
    /// disk's). Past it writes fail like on a full disk: reported on the
    /// `store` health component, never fatal.
    pub max_size_mib: u64,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        let day = Duration::from_secs(86_400);
        HistoryConfig {
            raw_retention: day * 2,
            minute_retention: day * 90,
            hour_retention: day * 730,
            max_size_mib: 0,
        }
    }
}

/// Why the store failed.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("damaged block: {0}")]
    Codec(#[from] codec::CodecError),
    #[error("the history store is not open")]
    Closed,
}

/// Opens (creating if needed) the database and applies the schema.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    if let Err(err) = crate::private::database_file(path) {
        // SQLite will say what is wrong with the file, if anything is.
        tracing::warn!(path = %path.display(), %err, "cannot make the history database private");
    }
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    // auto_vacuum must be chosen before the first table exists.
    conn.execute_batch(
        "PRAGMA auto_vacuum = INCREMENTAL;
         PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA cache_size = -16000;
         PRAGMA foreign_keys = OFF;
         CREATE TABLE IF NOT EXISTS series (
             id   INTEGER PRIMARY KEY,
             name TEXT NOT NULL UNIQUE
         );
         -- The open part of every series and tier until its chunk window
         -- closes: one row per write (a batch, or one window's rollups),
         -- its points encoded by head::encode, at times first..=last.
         CREATE TABLE IF NOT EXISTS pending (
             id    INTEGER PRIMARY KEY,
             tier  INTEGER NOT NULL,
             first INTEGER NOT NULL,
             last  INTEGER NOT NULL,
             data  BLOB NOT NULL
         );
         CREATE INDEX IF NOT EXISTS pending_by_time ON pending (tier, first);
         -- Compressed blocks (codec::Block), one per series, tier and window.
         CREATE TABLE IF NOT EXISTS chunk (
             series INTEGER NOT NULL,
             tier   INTEGER NOT NULL,
             start  INTEGER NOT NULL,
             end    INTEGER NOT NULL,
             rows   INTEGER NOT NULL,
             data   BLOB NOT NULL
         );
         CREATE UNIQUE INDEX IF NOT EXISTS chunk_by_time ON chunk (series, tier, start);
         -- The times most blocks of a tier's window share (codec::encode_times).
         CREATE TABLE IF NOT EXISTS times (
             tier  INTEGER NOT NULL,
             start INTEGER NOT NULL,
             data  BLOB NOT NULL,
             PRIMARY KEY (tier, start)
         ) WITHOUT ROWID;
         CREATE INDEX IF NOT EXISTS chunk_by_end ON chunk (tier, end);
         -- Announced status changes of the health checks.
         CREATE TABLE IF NOT EXISTS transition (
             check_name TEXT NOT NULL,
             t          INTEGER NOT NULL,
             from_status TEXT NOT NULL,
             to_status   TEXT NOT NULL,
             reason      TEXT NOT NULL,
             PRIMARY KEY (check_name, t, to_status)
         ) WITHOUT ROWID;",
    )?;
    head::migrate_rows_table(&mut conn)?;
    Ok(conn)
}

/// Caps the database file at `max_bytes` (SQLite's `max_page_count`):
/// past it a write fails as on a full disk, and the store reports it.
fn limit_size(conn: Connection, max_bytes: Option<u64>) -> Result<Connection, StoreError> {
    if let Some(max) = max_bytes {
        let page: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let page = page.max(512) as u64;
        let pages = (max / page).max(1);
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
    }
    Ok(conn)
}

/// Size of the database and its WAL on disk.
pub fn file_bytes(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path.to_path_buf(), wal]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// A few read connections, reused across queries.
pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf) -> ReadPool {
        ReadPool {
            path,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f` on a read connection (blocking).
    pub(crate) fn with<T>(&self, f: impl FnOnce(&Connection) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let conn = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.path,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(Duration::from_secs(5))?;
                c
            }
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < 4 {
            idle.push(conn);
        }
        result
    }
}

/// Where and how the store keeps history.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    pub data_dir: PathBuf,
    pub tiers: Tiers,
    /// The collector interval.
    pub interval: Duration,
    /// Largest size of the database file; `None`: the disk's.
    pub max_bytes: Option<u64>,
}

/// A cache key: series, from, to, points.
type Key = (String, i64, i64, u32);

/// Bytes of answers the range caches hold at most (recent, past).
const RECENT_CACHE_BYTES: u64 = 16 * 1024 * 1024;
const PAST_CACHE_BYTES: u64 = 64 * 1024 * 1024;

/// What a cached answer costs in memory, about: its points, its strings
/// and its key.
fn range_weight(key: &Key, range: &Arc<Range>) -> u32 {
    let bytes = std::mem::size_of::<Range>()
        + range.points.capacity() * std::mem::size_of::<app::metrics::RangePoint>()
        + range.series.capacity()
        + range.tier.capacity()
        + std::mem::size_of::<Key>()
        + key.0.capacity();
    u32::try_from(bytes).unwrap_or(u32::MAX)
}

/// The store as the rest of the server sees it: range queries behind a TTL
/// cache, and the writer's figures.
pub struct History {
    pool: Option<ReadPool>,
    tiers: Tiers,
    pub(crate) stats: Arc<StoreStats>,
    /// Ranges that end near now: new data arrives every interval.
    recent: moka::sync::Cache<Key, Arc<Range>>,
    /// Ranges wholly in the past, which only retention changes.
    past: moka::sync::Cache<Key, Arc<Range>>,
    interval: Duration,
}

impl History {
    /// Opens the store under `options.data_dir` (at most `max_bytes` large)
    /// and starts its writer thread, fed from `samples` and the check rounds of
    /// `checks` until `shutdown`. A store that cannot open is
    /// reported (log, health) and Vigil runs on without history.
    pub fn start(
        options: StoreOptions,
        samples: tokio::sync::broadcast::Receiver<Arc<Sample>>,
        checks: tokio::sync::broadcast::Receiver<CheckEvent>,
        shutdown: CancellationToken,
        tasks: &TaskTracker,
    ) -> Arc<History> {
        let StoreOptions {
            data_dir,
            tiers,
            interval,
            max_bytes,
        } = options;
        let path = data_dir.join(FILE_NAME);
        let stats = Arc::new(StoreStats::default());
        // Weighed in bytes, not answers: one answer may hold 100,000 points.
        let recent = moka::sync::Cache::builder()
            .max_capacity(RECENT_CACHE_BYTES)
            .weigher(range_weight)
            .time_to_live(interval.min(Duration::from_secs(5)))
            .build();
        let past = moka::sync::Cache::builder()
            .max_capacity(PAST_CACHE_BYTES)
            .weigher(range_weight)
            .time_to_live(Duration::from_secs(300))
            .build();
        let (pool, open_error) = match open(&path).and_then(|conn| limit_size(conn, max_bytes)) {
            Ok(conn) => {
                let (tx, rx) = std::sync::mpsc::sync_channel(4096);
                let writer = writer::Writer::new(conn, path.clone(), tiers.clone(), stats.clone());
                let thread = std::thread::Builder::new()
                    .name("vigil-store".into())
                    .spawn(move || writer::run(writer, rx, Duration::from_secs(1)));
                match thread {
                    Ok(thread) => {
                        tasks.spawn(feed(samples, checks, tx, stats.clone(), shutdown, thread));
                        (Some(ReadPool::new(path)), None)
                    }
                    Err(err) => (None, Some(format!("cannot start the writer thread: {err}"))),
                }
            }
            Err(err) => {
                // SQLite says "readonly database" or "unable to open" depending on
                // which of its files were left; say why when the cause is plain.
                let read_only = rustix::fs::statvfs(&data_dir)
                    .is_ok_and(|v| v.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY));
                let why = if read_only {
                    " (the data dir's file system is read-only)"
                } else {
                    ""
                };
                (None, Some(format!("cannot open {}: {err}{why}", path.display())))
            }
        };
        if let Some(err) = &open_error {
            tracing::error!("history store unavailable, running without history: {err}");
            *stats.open_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(err.clone());
        }
        Arc::new(History {
            pool,
            tiers,
            stats,
            recent,
            past,
            interval,
        })
    }

    /// One series between `from` and `to`, at most `points` points; `None`
    /// when the series was never stored. Blocking: run it off the async workers.
    pub fn range(
        &self,
        name: &str,
        unit: app::metrics::Unit,
        from: i64,
        to: i64,
        points: u32,
        now: i64,
    ) -> Result<Option<Arc<Range>>, StoreError> {
        let pool = self.pool.as_ref().ok_or(StoreError::Closed)?;
        let key = (name.to_string(), from, to, points);
        let live = to > now - 2 * self.interval.as_millis() as i64;
        let cache = if live { &self.recent } else { &self.past };
        if let Some(hit) = cache.get(&key) {
            return Ok(Some(hit));
        }
        let answer = pool.with(|conn| {
            let Some(id) = query::series_id(conn, name)? else {
                return Ok(None);
            };
            let series = query::Series { name, unit, id };
            query::range(conn, &self.tiers, series, from, to, points, now).map(Some)
        })?;
        Ok(answer.map(|range| {
            let range = Arc::new(range);
            cache.insert(key, range.clone());
            range
        }))
    }
}

impl History {
    /// Percent up of the rounds stored for `check` in `[from, to)`, in
    /// `points` equal buckets; `None` for a bucket without rounds.
    /// Blocking: run it off the async workers.
    pub(crate) fn uptime_buckets(&self, check: &str, from: i64, to: i64, points: u32, now: i64) -> Vec<Option<f64>> {
        let mut out = vec![None; points as usize];
        let series = app::checks::up_series(check);
        let Ok(Some(range)) = self.range(&series, app::metrics::Unit::Number, from, to, points, now) else {
            return out;
        };
        let bucket = ((to - from) / i64::from(points.max(1))).max(1);
        for p in &range.points {
            let i = ((p.t() - from) / bucket) as usize;
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(p.min_max_avg().2 * 100.0);
            }
        }
        out
    }

    /// A check's announced status over `[from, to)`: the last change at
    /// or before `from` (its time and new status), then every change
    /// after it and before `to`, oldest first. What reports count.
    /// Blocking: run it off the async workers.
    #[allow(clippy::type_complexity)]
    pub(crate) fn timeline(
        &self,
        check: &str,
        from: i64,
        to: i64,
    ) -> Result<(Option<(i64, app::health::Status)>, Vec<(i64, app::health::Status)>), StoreError> {
        let pool = self.pool.as_ref().ok_or(StoreError::Closed)?;
        pool.with(|conn| {
            let before = conn
                .prepare_cached(
                    "SELECT t, to_status FROM transition WHERE check_name = ?1 AND t <= ?2 ORDER BY t DESC LIMIT 1",
                )?
                .query_map(rusqlite::params![check, from], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?
                .next()
                .transpose()?
                .and_then(|(t, word)| Some((t, status(&word)?)));
            let mut stmt = conn.prepare_cached(
                "SELECT t, to_status FROM transition WHERE check_name = ?1 AND t > ?2 AND t < ?3 ORDER BY t",
            )?;
            let changes = stmt
                .query_map(rusqlite::params![check, from, to], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })?
                .filter_map(|row| match row {
                    Ok((t, word)) => status(&word).map(|s| Ok((t, s))),
                    Err(e) => Some(Err(e)),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok((before, changes))
        })
    }

    /// The last `limit` announced status changes of a check, oldest first.
    /// Blocking: run it off the async workers.
    pub(crate) fn transitions(&self, check: &str, limit: u32) -> Result<Vec<app::checks::Transition>, StoreError> {
        let pool = self.pool.as_ref().ok_or(StoreError::Closed)?;
        pool.with(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT t, from_status, to_status, reason FROM transition
                 WHERE check_name = ?1 ORDER BY t DESC LIMIT ?2",
            )?;
            let rows = stmt.query_map(rusqlite::params![check, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get(3)?,
                ))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (ts, from, to, reason) = row?;
                // A status word this version does not know is skipped, not an error.
                if let (Some(from), Some(to)) = (status(&from), status(&to)) {
                    out.push(app::checks::Transition {
                        check: check.to_string(),
                        from,
                        to,
                        reason,
                        ts,
                    });
                }
            }
            out.reverse();
            Ok(out)
        })
    }
}

fn status(word: &str) -> Option<app::health::Status> {
    use app::health::Status;
    [Status::Up, Status::Degraded, Status::Unknown, Status::Down]
        .into_iter()
        .find(|s| s.as_str() == word)
}

/// Forwards bus samples and check rounds to the writer thread without ever
/// blocking the runtime; a full queue drops (and counts) the input. On
/// shutdown the queue closes, the writer flushes its last batch, and this
/// waits for it.
async fn feed(
    mut samples: tokio::sync::broadcast::Receiver<Arc<Sample>>,
    mut checks: tokio::sync::broadcast::Receiver<CheckEvent>,
    tx: std::sync::mpsc::SyncSender<writer::Input>,
    stats: Arc<StoreStats>,
    shutdown: CancellationToken,
    thread: std::thread::JoinHandle<()>,
) {
    use tokio::sync::broadcast::error::RecvError;
    let mut checks_open = true;
    loop {
        let input = tokio::select! {
            _ = shutdown.cancelled() => break,
            sample = samples.recv() => sample.map(writer::Input::Sample),
            event = checks.recv(), if checks_open => match event {
                Ok(CheckEvent::Round(state)) => Ok(writer::Input::Round(state)),
                Ok(CheckEvent::Transition(t)) => Ok(writer::Input::Transition(t)),
                Err(RecvError::Lagged(n)) => Err(RecvError::Lagged(n)),
                // No checks configured, or they stopped: samples go on.
                Err(RecvError::Closed) => {
                    checks_open = false;
                    continue;
                }
            },
        };
        match input {
            Ok(input) => match tx.try_send(input) {
                Ok(()) => {}
                Err(std::sync::mpsc::TrySendError::Full(_)) => {
                    stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(std::sync::mpsc::TrySendError::Disconnected(_)) => break,
            },
            Err(RecvError::Lagged(n)) => {
                stats.dropped.fetch_add(n, Ordering::Relaxed);
            }
            Err(RecvError::Closed) => break,
        }
    }
    drop(tx);
    if tokio::task::spawn_blocking(move || thread.join()).await.is_err() {
        tracing::error!("history writer thread panicked");
    }
}

#[cfg(test)]
mod tests;

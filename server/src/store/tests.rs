//! Store tests on a real database file in a temp dir, with small tiers so
//! that hours of history take a moment.

use std::sync::Arc;
use std::time::Duration;

use app::metrics::{Cpu, RangePoint, Sample, Unit};

use super::model::{scale_of, Row};
use super::query::{self, choose_tier, downsample, Series};
use super::writer::Writer;
use super::*;

/// raw every 1 s, chunks of 1 min, kept 10 min; 10 s rollups in chunks of
/// 5 min, kept 1 h; 1 min rollups in chunks of 30 min, kept a day.
fn small_tiers() -> Tiers {
    let s = Duration::from_secs;
    Tiers(vec![
        Tier {
            name: "raw",
            step: s(1),
            retention: s(600),
            chunk: s(60),
        },
        Tier {
            name: "1m",
            step: s(10),
            retention: s(3600),
            chunk: s(300),
        },
        Tier {
            name: "1h",
            step: s(60),
            retention: s(86_400),
            chunk: s(1800),
        },
    ])
}

const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % 3_600_000;

fn sample(ts: i64, cpu: f32) -> Arc<Sample> {
    Arc::new(Sample {
        ts,
        cpu: Cpu {
            total: cpu,
            cores: vec![],
        },
        ..Default::default()
    })
}

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    writer: Writer,
    stats: Arc<StoreStats>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    let stats = Arc::new(StoreStats::default());
    let writer = Writer::new(open(&path).unwrap(), path.clone(), small_tiers(), stats.clone());
    Fixture {
        _dir: dir,
        path,
        writer,
        stats,
    }
}

/// Writes one sample a second from `from` for `secs` seconds, in batches of 10.
fn ingest(f: &mut Fixture, from: i64, secs: i64, cpu: impl Fn(i64) -> f32) {
    let samples: Vec<_> = (0..secs).map(|i| sample(from + i * 1000, cpu(i))).collect();
    for batch in samples.chunks(10) {
        f.writer.write(batch).unwrap();
    }
}

fn read(f: &Fixture, from: i64, to: i64, points: u32, now: i64) -> app::metrics::Range {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let id = query::series_id(&conn, "cpu_usage_percent")
        .unwrap()
        .expect("series stored");
    let series = Series {
        name: "cpu_usage_percent",
        unit: Unit::Percent,
        id,
    };
    query::range(&conn, &small_tiers(), series, from, to, points, now).unwrap()
}

/// The open (not yet sealed) rows of a series in a tier.
fn open_rows(f: &Fixture, name: &str, tier: usize) -> Vec<Row> {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let id = query::series_id(&conn, name).unwrap().expect("series stored");
    head::rows(&conn, id, tier, i64::MIN, i64::MAX, scale_of(name)).unwrap()
}

fn count(f: &Fixture, sql: &str) -> i64 {
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn raw_points_read_back_at_their_precision() {
    let mut f = fixture();
    ingest(&mut f, T0, 30, |i| i as f32 + 0.123);
    let r = read(&f, T0, T0 + 30_000, 1000, T0 + 30_000);
    assert_eq!(r.tier, "raw");
    assert_eq!(r.points.len(), 30);
    assert_eq!(r.points[3], RangePoint::Value(T0 + 3000, 3.12));
    assert!(f.stats.values_written.load(Ordering::Relaxed) >= 30);
}

#[test]
fn closed_windows_are_compressed_and_rolled_up() {
    let mut f = fixture();
    // 12 minutes with one spike at 7:30.
    ingest(&mut f, T0, 720, |i| if i == 450 { 99.0 } else { 10.0 + (i % 5) as f32 });
    assert!(
        count(&f, "SELECT COUNT(*) FROM chunk WHERE tier = 0") >= 10,
        "raw minutes sealed"
    );
    assert!(
        count(&f, "SELECT COUNT(*) FROM chunk WHERE tier = 1") >= 1,
        "10 s rollups sealed"
    );
    assert!(
        count(&f, "SELECT COUNT(*) FROM times WHERE tier = 0") >= 10,
        "the series sampled together share each window's times"
    );
    let open_raw = open_rows(&f, "cpu_usage_percent", 0).len();
    assert!(
        (1..=60).contains(&open_raw),
        "only the open minute stays open: {open_raw}"
    );
    // 12 minutes in 60 points: 12 s buckets, answered from the 10 s rollups
    // (plus raw for the newest minute), and the spike survives.
    let r = read(&f, T0, T0 + 720_000, 60, T0 + 720_000);
    assert_eq!(r.tier, "1m");
    let peak = r.points.iter().map(|p| p.min_max_avg().1).fold(f64::MIN, f64::max);
    assert_eq!(peak, 99.0);
    let low = r.points.iter().map(|p| p.min_max_avg().0).fold(f64::MAX, f64::min);
    assert_eq!(low, 10.0);
    assert!(r.points.len() <= 61, "{}", r.points.len());
    // Every second is counted once: the buckets' counts add up (via averages).
    let last = r.points.last().unwrap().t();
    assert!(last >= T0 + 700_000, "the newest part comes from finer tiers: {last}");
}

#[test]
fn rollups_average_like_the_raw_data() {
    let mut f = fixture();
    ingest(&mut f, T0, 600, |i| (i % 10) as f32);
    let raw = read(&f, T0, T0 + 300_000, 100_000, T0 + 600_000);
    let mean_raw: f64 = raw.points.iter().map(|p| p.min_max_avg().2).sum::<f64>() / raw.points.len() as f64;
    let coarse = read(&f, T0, T0 + 300_000, 10, T0 + 600_000);
    let mean_coarse: f64 = coarse.points.iter().map(|p| p.min_max_avg().2).sum::<f64>() / coarse.points.len() as f64;
    assert!((mean_raw - 4.5).abs() < 1e-9 && (mean_coarse - 4.5).abs() < 1e-9);
}

#[test]
fn retention_drops_what_is_too_old() {
    let mut f = fixture();
    ingest(&mut f, T0, 60, |_| 1.0);
    // Twenty minutes later: raw is kept ten minutes.
    ingest(&mut f, T0 + 1_200_000, 70, |_| 2.0);
    let oldest_raw = count(&f, "SELECT MIN(start) FROM chunk WHERE tier = 0");
    assert!(oldest_raw >= T0 + 600_000, "old raw chunks are gone");
    // The rollup of the first minute is still there.
    let r = read(&f, T0, T0 + 60_000, 10, T0 + 1_270_000);
    assert!(!r.points.is_empty(), "older data comes from a coarser tier: {r:?}");
    assert_ne!(r.tier, "raw");
}

#[test]
fn a_restart_continues_the_same_series_and_merges_late_rows() {
    let mut f = fixture();
    ingest(&mut f, T0, 90, |_| 5.0);
    // A new writer on the same file (a restart), then more data.
    let stats = Arc::new(StoreStats::default());
    f.writer = Writer::new(open(&f.path).unwrap(), f.path.clone(), small_tiers(), stats);
    ingest(&mut f, T0 + 90_000, 90, |_| 6.0);
    let r = read(&f, T0, T0 + 180_000, 1000, T0 + 180_000);
    assert_eq!(r.points.len(), 180, "no hole, no duplicate");
    assert_eq!(
        count(&f, "SELECT COUNT(*) FROM series WHERE name = 'cpu_usage_percent'"),
        1
    );
}

#[test]
fn the_tier_is_the_coarsest_that_still_gives_the_points() {
    let tiers = small_tiers();
    let now = T0 + 7_200_000;
    assert_eq!(choose_tier(&tiers, now - 60_000, 1, now), 0);
    assert_eq!(choose_tier(&tiers, now - 600_000, 5_000, now), 0);
    assert_eq!(choose_tier(&tiers, now - 600_000, 15_000, now), 1);
    assert_eq!(choose_tier(&tiers, now - 600_000, 120_000, now), 2);
    // Older than raw keeps: a coarser tier even for fine buckets.
    assert_eq!(choose_tier(&tiers, now - 1_800_000, 1, now), 1);
    assert_eq!(choose_tier(&tiers, now - 7_000_000, 1, now), 2);
}

#[test]
fn downsampling_keeps_the_extremes() {
    let rows: Vec<Row> = (0..1000)
        .map(|i| {
            let v = if i == 777 {
                500.0
            } else if i == 222 {
                -3.0
            } else {
                1.0
            };
            Row::raw(i * 1000, v)
        })
        .collect();
    let points = downsample(&rows, 0, 100_000);
    assert_eq!(points.len(), 10);
    // 99 ones and the 500 in one bucket.
    assert_eq!(points[7], RangePoint::Bucket(700_000, 1.0, 500.0, 5.99));
    assert_eq!(points[2].min_max_avg().0, -3.0);
    // One sample per bucket stays a plain pair at its own time.
    assert_eq!(downsample(&rows[..3], 0, 1000)[1], RangePoint::Value(1000, 1.0));
}

#[test]
fn damaged_blocks_are_an_error_not_a_panic() {
    let mut f = fixture();
    ingest(&mut f, T0, 130, |_| 1.0);
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    conn.execute("UPDATE chunk SET data = x'0102'", []).unwrap();
    let id = query::series_id(&conn, "cpu_usage_percent").unwrap().unwrap();
    let series = Series {
        name: "cpu_usage_percent",
        unit: Unit::Percent,
        id,
    };
    let err = query::range(&conn, &small_tiers(), series, T0, T0 + 130_000, 100, T0 + 130_000).unwrap_err();
    assert!(matches!(err, StoreError::Codec(_)), "{err}");
}

#[test]
fn a_store_with_a_row_per_open_point_is_carried_over_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(FILE_NAME);
    {
        // The layout of earlier versions: one `head` row per open point.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
             CREATE TABLE head (series INTEGER NOT NULL, tier INTEGER NOT NULL, t INTEGER NOT NULL,
                 min REAL, max REAL, avg REAL NOT NULL, last REAL, n INTEGER,
                 PRIMARY KEY (series, tier, t)) WITHOUT ROWID;
             INSERT INTO series VALUES (1, 'cpu_usage_percent');",
        )
        .unwrap();
        for i in 0..30 {
            conn.execute(
                "INSERT INTO head (series, tier, t, avg) VALUES (1, 0, ?1, ?2)",
                rusqlite::params![T0 + i * 1000, i as f64 + 0.25],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO head VALUES (1, 1, ?1, 1.5, 9.75, 4.125, 2.0, 60)",
            [T0 - 60_000],
        )
        .unwrap();
    }
    let stats = Arc::new(StoreStats::default());
    let mut f = Fixture {
        writer: Writer::new(open(&path).unwrap(), path.clone(), small_tiers(), stats.clone()),
        _dir: dir,
        path,
        stats,
    };
    assert_eq!(count(&f, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'head'"), 0);
    let raw = open_rows(&f, "cpu_usage_percent", 0);
    assert_eq!(raw.len(), 30);
    assert_eq!(raw[3], Row::raw(T0 + 3000, 3.25));
    let minute = open_rows(&f, "cpu_usage_percent", 1);
    assert_eq!(minute.len(), 1);
    let m = minute[0];
    assert_eq!((m.min, m.max, m.last, m.n), (1.5, 9.75, 2.0, 60));
    assert!((m.avg - 4.13).abs() < 1e-9, "kept to the metric's precision: {}", m.avg);
    // The series goes on, and what was carried over is read and sealed with it.
    ingest(&mut f, T0 + 30_000, 60, |i| i as f32);
    let r = read(&f, T0, T0 + 90_000, 1000, T0 + 90_000);
    assert_eq!(r.points.len(), 90, "no hole, no duplicate");
    assert_eq!(r.points[3], RangePoint::Value(T0 + 3000, 3.25));
    assert!(count(&f, "SELECT COUNT(*) FROM chunk WHERE tier = 0") >= 1);
}

#[test]
fn a_late_write_for_a_sealed_window_merges_into_its_block() {
    let mut f = fixture();
    ingest(&mut f, T0, 130, |_| 5.0);
    // A sample from the first minute arrives after it was sealed (a clock
    // step back): it lands in that minute's block; the later write wins.
    f.writer.write(&[sample(T0 + 10_000, 7.0)]).unwrap();
    ingest(&mut f, T0 + 130_000, 60, |_| 5.0);
    let r = read(&f, T0, T0 + 190_000, 1000, T0 + 190_000);
    assert_eq!(r.points.len(), 190);
    assert_eq!(r.points[10], RangePoint::Value(T0 + 10_000, 7.0));
    assert_eq!(
        count(
            &f,
            &format!(
                "SELECT COUNT(*) FROM chunk c JOIN series s ON s.id = c.series
                 WHERE s.name = 'cpu_usage_percent' AND c.tier = 0 AND c.start = {T0}"
            )
        ),
        1,
        "merged into the minute's block, not a second one"
    );
    // Its 10 s rollup is made again from the merged minute: ten samples, one of them 7.
    let rolled = open_rows(&f, "cpu_usage_percent", 1);
    let first = rolled
        .iter()
        .find(|r| r.t == T0 + 10_000)
        .expect("rollup of the second 10 s");
    assert_eq!((first.min, first.max, first.n), (5.0, 7.0, 10));
    assert!((first.avg - 5.2).abs() < 1e-9, "{}", first.avg);
}

#[test]
fn a_damaged_open_write_is_dropped_and_sealing_goes_on() {
    let mut f = fixture();
    ingest(&mut f, T0, 30, |_| 3.0);
    {
        let conn = rusqlite::Connection::open(&f.path).unwrap();
        conn.execute(
            "INSERT INTO pending (tier, first, last, data) VALUES (0, ?1, ?1, x'01000501')",
            [T0 + 5_000],
        )
        .unwrap();
    }
    // Reading the window names the damage...
    let conn = rusqlite::Connection::open(&f.path).unwrap();
    let id = query::series_id(&conn, "cpu_usage_percent").unwrap().unwrap();
    assert!(matches!(
        head::rows(&conn, id, 0, T0, T0 + 30_000, 0.01),
        Err(StoreError::Codec(_))
    ));
    // ...and sealing drops it, keeps the rest, and goes on.
    ingest(&mut f, T0 + 30_000, 100, |_| 3.0);
    let r = read(&f, T0, T0 + 130_000, 1000, T0 + 130_000);
    assert_eq!(r.points.len(), 130);
    assert_eq!(
        count(
            &f,
            &format!(
                "SELECT COUNT(*) FROM pending WHERE tier = 0 AND first < {}",
                T0 + 120_000
            )
        ),
        0,
        "every closed minute sealed, the damaged write with it"
    );
}

#[test]
fn the_range_caches_are_bounded_in_bytes_not_answers() {
    let big = |i: i64| {
        Arc::new(Range {
            series: "cpu_usage_percent".into(),
            unit: Unit::Percent,
            from: i,
            to: i + 100_000,
            step_ms: 1,
            tier: "raw".into(),
            points: (0..100_000).map(|t| RangePoint::Value(t, 1.0)).collect(),
        })
    };
    let key = |i: i64| ("cpu_usage_percent".to_string(), i, i + 100_000, 100_000u32);
    // One answer of 100,000 points weighs what it holds, megabytes.
    let weight = range_weight(&key(0), &big(0));
    assert!(weight > 2_000_000, "{weight}");
    let past = moka::sync::Cache::builder()
        .max_capacity(PAST_CACHE_BYTES)
        .weigher(range_weight)
        .build();
    for i in 0..100 {
        past.insert(key(i), big(i));
    }
    past.run_pending_tasks();
    assert!(past.weighted_size() <= PAST_CACHE_BYTES, "{}", past.weighted_size());
    assert!(past.entry_count() < 40, "{} answers of 2.4 MB kept", past.entry_count());
}

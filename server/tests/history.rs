//! History against a real server: the range query API, its argument
//! checks, and data surviving a restart, a `kill -9` and a broken store.

mod common;

use std::time::Duration;

use common::*;
use serde_json::Value;

fn query(series: &str, from: i64, to: i64, points: u32) -> String {
    format!("/api/v1/query?series={series}&from={from}&to={to}&points={points}")
}

/// Times of the points of a range answer.
fn times(body: &Value) -> Vec<i64> {
    body["points"]
        .as_array()
        .unwrap_or_else(|| panic!("no points in {body}"))
        .iter()
        .map(|p| p[0].as_i64().unwrap())
        .collect()
}

/// Waits until the store answers at least `n` points for `series` since `from`.
async fn wait_for_points(t: &TestServer, series: &str, from: i64, n: usize) -> Value {
    for _ in 0..100 {
        let (status, body) = get_json(t, &query(series, from, now_ms() + 1000, 1000)).await;
        assert_eq!(status, 200, "{body}");
        if body["points"].as_array().is_some_and(|p| p.len() >= n) {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the store never held {n} points of {series}");
}

#[tokio::test]
async fn samples_are_stored_and_queried_as_pairs_or_buckets() {
    let t = start(100).await;
    let from = now_ms() - 1000;
    let body = wait_for_points(&t, "memory_used_bytes", from, 5).await;
    assert_eq!(
        (body["series"].as_str(), body["unit"].as_str()),
        (Some("memory_used_bytes"), Some("bytes"))
    );
    assert_eq!(body["tier"], "raw");
    let first = &body["points"][0];
    assert_eq!(
        first.as_array().unwrap().len(),
        2,
        "one sample per point: [t, value]: {first}"
    );
    assert!(first[1].as_f64().unwrap() > 0.0);
    let ts = times(&body);
    assert!(ts.windows(2).all(|w| w[0] < w[1]), "oldest first");

    // Two points for the same span: buckets with min <= avg <= max.
    let (_, coarse) = get_json(&t, &query("memory_used_bytes", from, now_ms(), 2)).await;
    let buckets = coarse["points"].as_array().unwrap();
    assert!(!buckets.is_empty() && buckets.len() <= 3, "{coarse}");
    let b = buckets
        .iter()
        .map(|b| b.as_array().unwrap())
        .find(|b| b.len() == 4)
        .unwrap_or_else(|| panic!("a bucket of several samples is [t, min, max, avg]: {coarse}"));
    let (min, max, avg) = (b[1].as_f64().unwrap(), b[2].as_f64().unwrap(), b[3].as_f64().unwrap());
    assert!(min <= avg && avg <= max, "{coarse}");

    // The explorer's form of the same answers: columns as postcard. The
    // window ends before a batch's time, so both reads see the same samples.
    let to = now_ms();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for points in [1000, 2] {
        let path = query("memory_used_bytes", from, to, points);
        let (_, json) = get_json(&t, &path).await;
        let res = reqwest::get(t.http(&path.replace("/query?", "/columns?")))
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "application/x-postcard");
        let columns: app::metrics::RangeColumns = postcard::from_bytes(&res.bytes().await.unwrap()).unwrap();
        assert_eq!(columns.t, times(&json), "{points} points");
        let range: app::metrics::Range = serde_json::from_value(json).unwrap();
        assert_eq!(columns, app::metrics::RangeColumns::from(range));
        assert!(!columns.t.is_empty());
        assert_eq!(columns.min.is_empty(), points == 1000, "buckets only when downsampled");
    }
}

#[tokio::test]
async fn every_bad_argument_gets_its_clear_error() {
    let t = start(1000).await;
    let now = now_ms();
    for (path, status, says) in [
        (query("cpu_usage_percent", now, now - 1000, 10), 400, "before"),
        (query("cpu_usage_percent", now - 1000, now, 0), 400, "points"),
        (query("cpu_usage_percent", now - 1000, now, 1_000_000), 400, "points"),
        (query("cpu_usage_percent", -5, now, 10), 400, "1970"),
        (query("cpu_usage_percent", 0, i64::MAX, 10), 400, "ten years"),
        (query("no_such_metric", now - 1000, now, 10), 404, "unknown series"),
        (
            query("filesystem_used_percent.nowhere", now - 1000, now, 10),
            404,
            "unknown series",
        ),
        (
            format!("/api/v1/query?series=cpu_usage_percent&from={now}"),
            400,
            "bad arguments",
        ),
        (
            format!("/api/v1/query?series=cpu_usage_percent&from=soon&to={now}&points=3"),
            400,
            "bad arguments",
        ),
    ] {
        // The explorer's column form refuses the same way, in JSON too.
        for path in [path.clone(), path.replace("/query?", "/columns?")] {
            let (got, body) = get_json(&t, &path).await;
            assert_eq!(got, status, "{path}: {body}");
            let error = body["error"].as_str().unwrap_or_else(|| panic!("{path}: {body}"));
            assert!(error.contains(says), "{path}: {error}");
        }
    }
}

#[tokio::test]
async fn history_survives_a_restart() {
    let t = start(100).await;
    let from = now_ms() - 1000;
    let before = times(&wait_for_points(&t, "cpu_usage_percent", from, 5).await);
    let data = stop(t).await;
    let restarted_at = now_ms();
    let t = start_in(data, 100, |_| {}).await;
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len() + 3).await);
    for ts in &before {
        assert!(after.contains(ts), "{ts} from before the restart is kept");
    }
    assert!(after.iter().any(|&ts| ts > restarted_at), "and the series continues");
}

#[tokio::test]
async fn a_store_that_cannot_open_is_reported_and_the_rest_keeps_working() {
    let data = tempfile::tempdir().unwrap();
    // The database path is taken by a directory: SQLite cannot open it.
    std::fs::create_dir_all(data.path().join("data").join("vigil.db")).unwrap();
    let t = start_in(data, 100, |_| {}).await;
    let (status, health) = get_json(&t, "/healthz").await;
    assert!(status == 200 || status == 503, "{health}");
    assert_eq!(component_status(&health, "store"), "down", "{health}");
    let now = now_ms();
    let (status, body) = get_json(&t, &query("cpu_usage_percent", now - 1000, now, 10)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("unavailable"), "{body}");
    let (status, _) = get_json(&t, "/api/v1/snapshot").await;
    assert_eq!(status, 200, "live data still served");
}

/// A full disk, made real with a size cap below what the file already
/// holds: writes fail, the store says why on `/healthz`, live data and the
/// history written before keep being served, and the file stays sound.
#[tokio::test]
async fn a_full_store_is_reported_and_loses_nothing_already_written() {
    let t = start(100).await;
    let from = now_ms() - 1000;
    let before = times(&wait_for_points(&t, "cpu_usage_percent", from, 5).await);
    let data = stop(t).await;
    let db = data.path().join("data").join("vigil.db");
    {
        // Fill the file past a 1 MiB cap, so nothing new fits.
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE TABLE filler (b BLOB); INSERT INTO filler VALUES (zeroblob(1500000));")
            .unwrap();
    }
    let t = start_in(data, 100, |o| o.config.history.max_size_mib = 1).await;
    let (_, reason) = store_not_up(&t).await;
    assert!(reason.contains("full"), "{reason}");
    let (status, _) = get_json(&t, "/api/v1/snapshot").await;
    assert_eq!(status, 200, "live data still served");
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len()).await);
    for ts in &before {
        assert!(
            after.contains(ts),
            "{ts}, written before the disk filled, is still there"
        );
    }
    let data = stop(t).await;
    let conn = rusqlite::Connection::open(data.path().join("data").join("vigil.db")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// Files made immutable (`chattr +i`, which binds root too) for as long as
/// it lives; the flag comes off on drop, even when the test fails, so the
/// temp dir can be removed.
struct Immutable(Vec<std::path::PathBuf>);

impl Immutable {
    /// `None` where the file system or the process cannot set the flag.
    fn set(paths: Vec<std::path::PathBuf>) -> Option<Immutable> {
        let ok = std::process::Command::new("chattr")
            .arg("+i")
            .args(&paths)
            .status()
            .is_ok_and(|s| s.success());
        let guard = Immutable(paths);
        ok.then_some(guard)
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = std::process::Command::new("chattr").arg("-i").args(&self.0).status();
    }
}

/// A store that cannot be written (a read-only file: what a read-only data
/// directory or mount does to it): the server starts and serves live data,
/// `/healthz` says what is wrong with the store, and once writable again
/// the history written before is all there and the file is sound.
#[tokio::test]
async fn a_read_only_store_is_reported_and_the_server_runs_on() {
    let t = start(100).await;
    let from = now_ms() - 1000;
    let before = times(&wait_for_points(&t, "cpu_usage_percent", from, 5).await);
    let data = stop(t).await;
    let dir = data.path().join("data");
    let files: Vec<_> = ["vigil.db", "vigil.db-wal", "vigil.db-shm"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.exists())
        .collect();
    let Some(lock) = Immutable::set(files) else {
        eprintln!("skipped: chattr +i is not available here (needs ext4-like file systems and CAP_LINUX_IMMUTABLE)");
        return;
    };

    let t = start_in(data, 100, |_| {}).await;
    let (status, reason) = store_not_up(&t).await;
    // "no history: cannot open …/vigil.db: database: attempt to write a readonly database"
    assert_eq!(status, "down", "{reason}");
    assert!(
        reason.contains("vigil.db") && reason.contains("readonly database"),
        "the reason says what is wrong: {reason}"
    );
    let (status, _) = get_json(&t, "/api/v1/snapshot").await;
    assert_eq!(status, 200, "live data still served");
    let data = stop(t).await;
    drop(lock);

    let t = start_in(data, 100, |_| {}).await;
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len()).await);
    for ts in &before {
        assert!(after.contains(ts), "{ts}, written before, is still there");
    }
    let data = stop(t).await;
    let conn = rusqlite::Connection::open(data.path().join("data").join("vigil.db")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// Waits (up to 10 s) until `/healthz` reports the store component as not
/// up; its status and reason.
async fn store_not_up(t: &TestServer) -> (String, String) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, health) = get_json(t, "/healthz").await;
        let store = health["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "store")
            .unwrap()
            .clone();
        if store["status"] != "up" {
            return (
                store["status"].as_str().unwrap().to_string(),
                store["reason"].as_str().unwrap().to_string(),
            );
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the store never noticed: {health}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

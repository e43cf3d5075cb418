//! History against a real server: the range query API, its argument
//! checks, and data surviving a restart, a `kill -9` and a broken store.

mod common;

use std::time::Duration;

use common::mount::Mounted;
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
    // The newest sample, still in the writer's open batch (it commits once
    // a second): a graceful stop writes it.
    let last = sample_ts(&t).await;
    let data = stop(t).await;
    let restarted_at = now_ms();
    let t = start_in(data, 100, |_| {}).await;
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len() + 3).await);
    for ts in &before {
        assert!(after.contains(ts), "{ts} from before the restart is kept");
    }
    assert!(
        after.contains(&last),
        "the last sample before the stop ({last}) was flushed: {:?}",
        after
            .iter()
            .filter(|&&ts| ts < restarted_at)
            .rev()
            .take(5)
            .collect::<Vec<_>>()
    );
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

/// A full store, made with a size cap below what the file already holds:
/// writes fail, the store says why on `/healthz` (degraded, then down as
/// the failures go on), live data keeps flowing, the history written
/// before is still served, and the file stays sound.
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
    let (status, reason) = wait_store(&t, "down", Duration::from_secs(15)).await;
    assert_eq!(status, "down");
    assert!(
        reason.contains("full") && reason.contains("failed in a row"),
        "{reason}"
    );
    samples_advance(&t).await;
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len()).await);
    for ts in &before {
        assert!(
            after.contains(ts),
            "{ts}, written before the disk filled, is still there"
        );
    }
    let data = stop(t).await;
    integrity_ok(&data);
}

/// A data dir whose file system is read-only from the start: the server
/// starts and serves live data, `/healthz` says what is wrong with the
/// store, and once writable again the history written before is all
/// there and the file is sound.
#[tokio::test]
async fn a_read_only_data_dir_is_reported_and_the_server_runs_on() {
    let data = tempfile::tempdir().unwrap();
    let mount = Mounted::tmpfs(&data.path().join("data"), 32);
    let t = start_in(data, 100, |_| {}).await;
    let from = now_ms() - 1000;
    let before = times(&wait_for_points(&t, "cpu_usage_percent", from, 5).await);
    let data = stop(t).await;
    mount.remount("ro");

    let t = start_in(data, 100, |_| {}).await;
    let (status, reason) = wait_store(&t, "down", Duration::from_secs(10)).await;
    // "no history: cannot open …/vigil.db: database: attempt to write a
    // readonly database (the data dir's file system is read-only)"
    assert_eq!(status, "down", "{reason}");
    assert!(
        reason.contains("vigil.db") && reason.contains("the data dir's file system is read-only"),
        "the reason says what is wrong: {reason}"
    );
    samples_advance(&t).await;
    let data = stop(t).await;
    mount.remount("rw");

    let t = start_in(data, 100, |_| {}).await;
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len()).await);
    for ts in &before {
        assert!(after.contains(ts), "{ts}, written before, is still there");
    }
    let data = stop(t).await;
    integrity_ok(&data);
    drop(mount);
}

/// The disk fills up under a running store (a real "no space left", not
/// the size cap): the store is reported, live data keeps flowing, and once
/// space is freed the store is up again and new samples are stored.
#[tokio::test]
async fn a_disk_that_fills_under_the_store_is_reported_and_recovers() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("data");
    let mount = Mounted::tmpfs(&dir, 16);
    let t = start_in(data, 100, |_| {}).await;
    let from = now_ms() - 1000;
    let before = times(&wait_for_points(&t, "cpu_usage_percent", from, 5).await);
    // Everything the file system has left, taken.
    let filler = dir.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.sync_all();
    }
    let (status, reason) = wait_store(&t, "down", Duration::from_secs(20)).await;
    assert_eq!(status, "down", "{reason}");
    assert!(
        reason.contains("full") && reason.contains("failed in a row"),
        "{reason}"
    );
    samples_advance(&t).await;
    // Space again: the store recovers by itself.
    std::fs::remove_file(&filler).unwrap();
    let freed = now_ms();
    let (status, reason) = wait_store(&t, "up", Duration::from_secs(10)).await;
    assert_eq!(status, "up", "{reason}");
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len() + 5).await);
    assert!(
        after.iter().filter(|&&ts| ts > freed).count() >= 3,
        "new samples are stored again: {:?}",
        after.iter().rev().take(5).collect::<Vec<_>>()
    );
    for ts in &before {
        assert!(
            after.contains(ts),
            "{ts}, written before the disk filled, is still there"
        );
    }
    let data = stop(t).await;
    integrity_ok(&data);
    drop(mount);
}

/// The file system turns read-only under a running store (the kernel's
/// answer to a disk error): the store is reported, live data keeps
/// flowing, the server stops cleanly; once the file system is repaired
/// the store opens, holds what was written before, and is up with new
/// samples.
#[tokio::test]
async fn a_file_system_that_turns_read_only_under_the_store_is_reported_and_survives() {
    let data = tempfile::tempdir().unwrap();
    let image = tempfile::tempdir().unwrap();
    let mount = Mounted::ext4(&data.path().join("data"), &image.path().join("disk.img"), 32);
    let t = start_in(data, 100, |_| {}).await;
    let from = now_ms() - 1000;
    let before = times(&wait_for_points(&t, "cpu_usage_percent", from, 5).await);
    mount.fail();
    let (status, reason) = wait_store(&t, "down", Duration::from_secs(20)).await;
    assert_eq!(status, "down", "{reason}");
    assert!(reason.contains("failed in a row"), "{reason}");
    samples_advance(&t).await;
    let data = stop(t).await;
    mount.repair();

    let t = start_in(data, 100, |_| {}).await;
    let restarted = now_ms();
    let (status, reason) = wait_store(&t, "up", Duration::from_secs(10)).await;
    assert_eq!(status, "up", "{reason}");
    let after = times(&wait_for_points(&t, "cpu_usage_percent", from, before.len() + 3).await);
    for ts in &before {
        assert!(after.contains(ts), "{ts}, written before the error, is still there");
    }
    assert!(after.iter().any(|&ts| ts > restarted), "and new samples are stored");
    let data = stop(t).await;
    integrity_ok(&data);
    drop(mount);
}

/// `PRAGMA integrity_check` of the history database says "ok".
fn integrity_ok(data: &tempfile::TempDir) {
    let conn = rusqlite::Connection::open(data.path().join("data").join("vigil.db")).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
}

/// The live sample moves on: two reads of the snapshot a little apart
/// show a newer sample (a 200 alone would not tell).
async fn samples_advance(t: &TestServer) {
    let first = sample_ts(t).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let next = sample_ts(t).await;
        if next > first {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "live samples stopped at {first}");
    }
}

async fn sample_ts(t: &TestServer) -> i64 {
    let (status, snapshot) = get_json(t, "/api/v1/snapshot").await;
    assert_eq!(status, 200, "{snapshot}");
    snapshot["current"]["ts"]
        .as_i64()
        .unwrap_or_else(|| panic!("no sample time in the snapshot: {snapshot}"))
}

/// Waits (up to `within`) until `/healthz` reports the store component
/// with status `want`; its status and reason then (or at the deadline).
async fn wait_store(t: &TestServer, want: &str, within: Duration) -> (String, String) {
    let deadline = std::time::Instant::now() + within;
    loop {
        let (_, health) = get_json(t, "/healthz").await;
        let store = health["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "store")
            .unwrap()
            .clone();
        let status = store["status"].as_str().unwrap().to_string();
        let reason = store["reason"].as_str().unwrap().to_string();
        if status == want || std::time::Instant::now() >= deadline {
            return (status, reason);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

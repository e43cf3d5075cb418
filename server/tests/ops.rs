//! Operating Vigil: `vigil backup` beside a running, ingesting server,
//! `vigil check-config`, and `--log-format json`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

fn vigil() -> Command {
    common::vigil_command()
}

/// The raw batches the store holds open (one a second).
fn raw_writes(db: &Path) -> i64 {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT count(*) FROM pending WHERE tier = 0", [], |r| r.get(0))
        .unwrap()
}

/// Waits until the store holds more than `writes` raw batches.
async fn wait_for_writes_beyond(db: &Path, writes: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = if db.exists() { raw_writes(db) } else { 0 };
        if now > writes {
            return now;
        }
        assert!(Instant::now() < deadline, "the store stayed at {now} batches");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_copies_a_running_store_without_stopping_it() {
    let server = common::start(100).await;
    let data = server.data.path().join("data");
    let live = data.join("vigil.db");
    let before = wait_for_writes_beyond(&live, 2).await;

    let out_dir = tempfile::tempdir().unwrap();
    let copy_dir = out_dir.path().join("backup");
    let copy = copy_dir.join("vigil.db");
    let out = vigil()
        .arg("backup")
        .arg("--data-dir")
        .arg(&data)
        .arg("--to")
        .arg(&copy_dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("backed up"), "{stdout}");

    let conn = Connection::open(&copy).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let series: i64 = conn.query_row("SELECT count(*) FROM series", [], |r| r.get(0)).unwrap();
    assert!(series > 5, "{series} series");
    let copied = raw_writes(&copy);
    assert!(
        copied >= before,
        "the copy holds {copied} raw batches, the store had {before} before"
    );
    assert!(!copy_dir.join("vigil.db-wal").exists(), "the copy is one file");
    assert!(copy_dir.join("auth.db").is_file(), "the accounts are copied too");

    // The server kept writing during and after the copy.
    wait_for_writes_beyond(&live, copied).await;
    let again = vigil()
        .arg("backup")
        .arg("--data-dir")
        .arg(&data)
        .arg("--to")
        .arg(&copy_dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(1), "an existing copy is not overwritten");
    assert_eq!(raw_writes(&copy), copied);
    common::stop(server).await;
}

#[test]
fn check_config_accepts_a_good_file_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.toml");
    std::fs::write(
        &path,
        "[collector]\ninterval = \"5s\"\n\n[[checks]]\nname = \"web\"\ntype = \"http\"\nurl = \"http://127.0.0.1:9\"\n",
    )
    .unwrap();
    let out = vigil().arg("check-config").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok"), "{stdout}");
    assert!(stdout.contains("1 checks"), "{stdout}");
    assert!(stdout.contains("sampling every 5s"), "{stdout}");
    assert!(stdout.contains("history raw 2d / minute 90d / hour 730d"), "{stdout}");

    std::fs::write(
        &path,
        "[host]\nname = \"alpha\"\n[remote_write]\nurl = \"http://127.0.0.1:9090/api/v1/write\"\n[fleet]\nprometheus = \"http://127.0.0.1:9090\"\n",
    )
    .unwrap();
    let out = vigil().arg("check-config").arg(&path).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "host \"alpha\"; pushing to http://127.0.0.1:9090/api/v1/write every 10s; fleet from http://127.0.0.1:9090"
        ),
        "{stdout}"
    );
}

#[test]
fn check_config_names_file_line_and_key_of_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.toml");
    std::fs::write(
        &path,
        "[collector]\ninterval = \"1s\"\n\n[live]\nreplay_window = \"soon\"\n",
    )
    .unwrap();
    let out = vigil().arg("check-config").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:5:", path.display());
    assert!(
        stderr.contains(&expected) && stderr.contains("live.replay_window"),
        "{stderr}"
    );

    let missing = vigil()
        .arg("check-config")
        .arg(dir.path().join("none.toml"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("none.toml"));
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = vigil()
        .args(["--log-format", "json", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    for line in lines {
        let line = line.unwrap();
        let value: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        let serving = value["message"].as_str().is_some_and(|m| m.contains("serving on"));
        seen.push(value);
        if serving {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let last = seen.last().expect("some log lines");
    assert_eq!(last["level"], "INFO", "{last}");
    assert!(last["timestamp"].is_string(), "{last}");
    let addr = last["addr"].as_str().expect("the address as a field of its own");
    assert!(addr.starts_with("127.0.0.1:"), "{last}");
    assert!(
        seen.iter().any(|v| v["level"] == "WARN" && v["site"].is_string()),
        "structured fields of the front-end warning: {seen:?}"
    );
}

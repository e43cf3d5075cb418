//! The `vigil` binary's command line and config errors.

use std::process::Command;

fn vigil() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vigil"));
    // No front end needed here.
    cmd.env("LEPTOS_SITE_ROOT", "/nonexistent");
    cmd
}

#[test]
fn bad_config_names_file_line_and_key_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.toml");
    std::fs::write(&path, "[collector]\ninterval = \"1s\"\ntop_procs = 3\n").unwrap();
    let out = vigil()
        .arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:3:1: collector.top_procs", path.display());
    assert!(stderr.contains(&expected), "{stderr}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = vigil()
        .arg("--bind")
        .arg(addr.to_string())
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains(&format!("cannot listen on {addr}")), "{text}");
}

#[test]
fn help_lists_the_contract_flags() {
    let out = vigil().arg("--help").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in ["--bind", "--data-dir", "--config"] {
        assert!(text.contains(flag), "{text}");
    }
}

/// A running `vigil` process on a port of its own.
struct Process {
    child: std::process::Child,
    base: String,
}

impl Process {
    // `Drop` kills and waits for the child.
    #[allow(clippy::zombie_processes)]
    async fn start(port: u16, data: &std::path::Path, config: &std::path::Path) -> Process {
        let child = vigil()
            .args(["--bind", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data)
            .arg("--config")
            .arg(config)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok() {
                return Process { child, base };
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("vigil did not start on {port}");
    }

    /// Times of the stored cpu_usage_percent points since `from`.
    async fn stored(&self, from: i64) -> Vec<i64> {
        let url = format!(
            "{}/api/v1/query?series=cpu_usage_percent&from={from}&to={}&points=100000",
            self.base,
            now_ms() + 1000
        );
        let body: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        body["points"]
            .as_array()
            .unwrap_or_else(|| panic!("{body}"))
            .iter()
            .map(|p| p[0].as_i64().unwrap())
            .collect()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn kill_dash_nine_loses_at_most_the_last_batch() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.toml");
    std::fs::write(&config, "[collector]\ninterval = \"200ms\"\n").unwrap();
    let data = dir.path().join("data");
    let from = now_ms() - 1000;

    let mut p = Process::start(port, &data, &config).await;
    tokio::time::sleep(std::time::Duration::from_millis(3000)).await;
    let seen = p.stored(from).await;
    assert!(seen.len() >= 5, "{seen:?}");
    // Mid-ingest: samples keep arriving every 200 ms.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    p.child.kill().unwrap(); // SIGKILL
    let killed_at = now_ms();
    p.child.wait().unwrap();

    let p = Process::start(port, &data, &config).await;
    let restarted_at = now_ms();
    let health: serde_json::Value = reqwest::get(format!("{}/healthz", p.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let store = health["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "store")
        .unwrap();
    assert_eq!(store["status"], "up", "the store opens cleanly: {store}");
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let after = p.stored(from).await;
    for ts in &seen {
        assert!(after.contains(ts), "committed point {ts} was lost");
    }
    let last_before = after.iter().copied().filter(|&t| t < restarted_at).max().unwrap();
    assert!(
        killed_at - last_before <= 1_500,
        "lost {} ms before the kill: more than a batch",
        killed_at - last_before
    );
    assert!(after.iter().any(|&t| t > restarted_at), "the series continues");
    drop(p);
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

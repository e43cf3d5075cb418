//! The `vigil` binary's command line and config errors.

mod common;

use std::process::Command;

fn vigil() -> Command {
    common::vigil_command()
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
fn trust_proxy_takes_addresses_and_networks_and_names_a_bad_one() {
    let out = vigil()
        .args(["--trust-proxy", "127.0.0.1:8080,10.0.0.0/8,localhost"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("\"localhost\" is not an address or a network"), "{text}");
    let help = vigil().arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--trust-proxy [<ADDR>...]"), "{help}");
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
    let mut seen = p.stored(from).await;
    assert!(seen.len() >= 5, "{seen:?}");
    // Catch a commit (the newest stored point moves), then kill 2.5 s
    // later: the store commits once a second, so two more commits have
    // happened by then, and what is lost is the last second's open batch.
    // A store that committed less often would lose more.
    let newest = *seen.iter().max().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while seen.iter().max() == Some(&newest) {
        assert!(std::time::Instant::now() < deadline, "no commit within 5 s");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        seen = p.stored(from).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    p.child.kill().unwrap(); // SIGKILL, mid-ingest
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
    // The killed process's points are those stamped before the kill (the
    // new one starts sampling after it); the newest of them tells how much
    // was lost: at most the open batch (1 s), one sample (200 ms) and slack.
    let last_before = after.iter().copied().filter(|&t| t <= killed_at).max().unwrap();
    assert!(
        last_before >= seen.iter().copied().max().unwrap(),
        "the newest point stored before the kill is older than one already read"
    );
    let lost = killed_at - last_before;
    assert!(
        (0..=1_500).contains(&lost),
        "lost {lost} ms of samples before the kill: more than the open batch"
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

/// The board's rule names and its reload error, polled until `done`.
async fn board_until(
    base: &str,
    what: &str,
    done: impl Fn(&[String], &serde_json::Value) -> bool,
) -> serde_json::Value {
    for _ in 0..100 {
        let board: serde_json::Value = reqwest::get(format!("{base}/api/v1/alerts/board"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let names: Vec<String> = board["rules"]
            .as_array()
            .unwrap_or_else(|| panic!("{board}"))
            .iter()
            .map(|r| r["name"].as_str().unwrap().to_string())
            .collect();
        if done(&names, &board["config_error"]) {
            return board;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{what}: not within 10 s");
}

fn hang_up(p: &Process) {
    let status = Command::new("kill")
        .args(["-HUP", &p.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// SIGHUP reloads the alerting sections from the config file: a rule
/// added to the file is in force without a restart. A file that no longer
/// parses changes nothing: the running rules stay, and the alerts page
/// tells admins why (file, line and key).
#[tokio::test]
async fn sighup_reloads_alert_rules_and_a_bad_file_keeps_the_running_ones() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("vigil.toml");
    let first = "[[alerts]]\nname = \"store-gone\"\ncomponent = \"store\"\n";
    std::fs::write(&config, first).unwrap();
    let p = Process::start(port, &dir.path().join("data"), &config).await;
    board_until(&p.base, "the first rule", |names, _| {
        names.contains(&"store-gone".to_string()) && !names.contains(&"memory-high".to_string())
    })
    .await;

    let second =
        format!("{first}\n[[alerts]]\nname = \"memory-high\"\nseries = \"memory_used_percent\"\nabove = 99.9\n");
    std::fs::write(&config, &second).unwrap();
    hang_up(&p);
    board_until(&p.base, "the added rule in force", |names, error| {
        names.contains(&"memory-high".to_string()) && error.is_null()
    })
    .await;

    std::fs::write(
        &config,
        format!("{second}\n[[alerts]]\nname = \"broken\"\nseries = \"memory_used_percent\"\nabove = \"high\"\n"),
    )
    .unwrap();
    hang_up(&p);
    let board = board_until(&p.base, "the reload error shown", |_, error| !error.is_null()).await;
    let error = board["config_error"].as_str().unwrap();
    assert!(error.contains("vigil.toml") && error.contains("above"), "{error}");
    let names: Vec<&str> = board["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"memory-high") && !names.contains(&"broken"),
        "{names:?}"
    );
    drop(p);
}

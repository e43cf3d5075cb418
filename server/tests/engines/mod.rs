//! Real time-series engines for integration tests and measurements:
//! Prometheus and VictoriaMetrics (and Prometheus Alertmanager, which
//! alerts go through) as child processes on a free loopback port, with
//! their data in a directory the test owns.
//!
//! Use it as `mod engines;` from a test file (a directory module, so cargo
//! does not build it as a test of its own):
//!
//! ```ignore
//! let dir = tempfile::tempdir().unwrap();
//! let mut prom = engines::Prometheus::start(dir.path()).await;
//! // push to prom.write_url() ...
//! let result = prom.query("vigil_memory_used_bytes").await; // data.result
//! prom.stop().await;      // SIGTERM, wait: an outage
//! prom.restart().await;   // same data, same port
//! ```
//!
//! The binaries are Debian's (`scripts/setup.sh` installs them), or the
//! ones named by `$PROMETHEUS_BIN` / `$VICTORIA_METRICS_BIN`. A process is
//! killed when its handle is dropped, so a failing test leaves none behind.
//! Each engine's output goes to `<dir>/<engine>.log`, whose tail a panic
//! about the engine quotes.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

/// How long an engine may take to become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A free port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One engine process: how to start it, and the running child.
struct Process {
    name: &'static str,
    bin: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    ready_url: String,
    child: Option<Child>,
}

impl Process {
    async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("engine log file");
        let child = Command::new(&self.bin)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log handle"))
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} ({e}): install Debian's {} (scripts/setup.sh does) or set ${}",
                    self.bin.display(),
                    self.name,
                    env_name(self.name)
                )
            });
        self.child = Some(child);
        self.wait_ready().await;
    }

    /// Polls the readiness URL until it answers 200.
    async fn wait_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
        loop {
            if let Ok(res) = client.get(&self.ready_url).send().await {
                if res.status().is_success() {
                    return;
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "{} exited ({status}) before it was ready:\n{}",
                    self.name,
                    self.log_tail()
                );
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "{} not ready within {READY_TIMEOUT:?} at {}:\n{}",
                    self.name,
                    self.ready_url,
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then wait for the exit (SIGKILL after 30 s).
    async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child.id().and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if tokio::time::timeout(Duration::from_secs(30), child.wait())
            .await
            .is_err()
        {
            let _ = child.kill().await;
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

fn env_name(engine: &str) -> &'static str {
    match engine {
        "prometheus" => "PROMETHEUS_BIN",
        "prometheus-alertmanager" => "ALERTMANAGER_BIN",
        _ => "VICTORIA_METRICS_BIN",
    }
}

fn binary(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

/// GET `url` and return the `data` of a Prometheus API answer; panics on
/// anything but `"status": "success"`.
async fn api_data(url: &str, params: &[(&str, String)]) -> Value {
    let res = reqwest::Client::new()
        .get(url)
        .query(params)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let body: Value = res.json().await.unwrap_or_else(|e| panic!("{url}: not JSON: {e}"));
    assert_eq!(body["status"], "success", "{url} {params:?}: {body}");
    body["data"].clone()
}

/// A running engine: Prometheus or VictoriaMetrics, both of which take
/// remote write at `/api/v1/write` and answer the Prometheus query API.
pub struct Engine {
    process: Process,
    port: u16,
}

/// A Prometheus server with the remote-write receiver on and no scrape
/// jobs: it holds only what is pushed to it.
pub struct Prometheus;

impl Prometheus {
    /// Starts Prometheus with its config and TSDB under `dir`; waits until
    /// `/-/ready` answers.
    pub async fn start(dir: &Path) -> Engine {
        Prometheus::start_with(dir, "").await
    }

    /// Like [`Prometheus::start`], with `extra` appended to the config
    /// file (YAML), e.g. a `storage:` section with an out-of-order window.
    pub async fn start_with(dir: &Path, extra: &str) -> Engine {
        let config = dir.join("prometheus.yml");
        std::fs::write(&config, format!("global:\n  scrape_interval: 15s\n{extra}")).expect("write prometheus.yml");
        let port = free_port();
        Engine::spawn(
            Process {
                name: "prometheus",
                bin: binary("PROMETHEUS_BIN", "/usr/bin/prometheus"),
                args: vec![
                    format!("--config.file={}", config.display()),
                    format!("--storage.tsdb.path={}", dir.join("tsdb").display()),
                    format!("--web.listen-address=127.0.0.1:{port}"),
                    "--web.enable-remote-write-receiver".into(),
                    "--log.level=warn".into(),
                ],
                log: dir.join("prometheus.log"),
                ready_url: format!("http://127.0.0.1:{port}/-/ready"),
                child: None,
            },
            port,
        )
        .await
    }
}

/// A single-node VictoriaMetrics; it takes remote write at
/// `/api/v1/write`, samples of any age, and answers PromQL (MetricsQL).
pub struct VictoriaMetrics;

impl VictoriaMetrics {
    /// Starts VictoriaMetrics with its data in `<dir>/data`; waits until
    /// `/health` answers. Retention is 100 years, so old samples are kept.
    pub async fn start(dir: &Path) -> Engine {
        let port = free_port();
        Engine::spawn(
            Process {
                name: "victoria-metrics",
                bin: binary("VICTORIA_METRICS_BIN", "/usr/bin/victoria-metrics"),
                args: vec![
                    format!("-storageDataPath={}", dir.join("data").display()),
                    format!("-httpListenAddr=127.0.0.1:{port}"),
                    "-retentionPeriod=100y".into(),
                    // Queries see samples a second old, not only 30 s old
                    // (the default), so tests need not wait.
                    "-search.latencyOffset=1s".into(),
                    "-loggerLevel=WARN".into(),
                ],
                log: dir.join("victoria-metrics.log"),
                ready_url: format!("http://127.0.0.1:{port}/health"),
                child: None,
            },
            port,
        )
        .await
    }
}

/// Prometheus Alertmanager, routing every alert to one webhook receiver
/// with waits of a second (so tests need not wait), resolved ones too.
pub struct Alertmanager;

impl Alertmanager {
    /// Starts Alertmanager with its config and state under `dir`, sending
    /// to `receiver` (a webhook URL); waits until `/-/ready` answers.
    pub async fn start(dir: &Path, receiver: &str) -> Engine {
        let config = dir.join("alertmanager.yml");
        std::fs::write(
            &config,
            format!(
                "route:\n  receiver: hook\n  group_by: ['alertname']\n  group_wait: 1s\n  group_interval: 1s\n  repeat_interval: 1h\n\
                 receivers:\n  - name: hook\n    webhook_configs:\n      - url: '{receiver}'\n        send_resolved: true\n"
            ),
        )
        .expect("write alertmanager.yml");
        let port = free_port();
        Engine::spawn(
            Process {
                name: "prometheus-alertmanager",
                bin: binary("ALERTMANAGER_BIN", "/usr/bin/prometheus-alertmanager"),
                args: vec![
                    format!("--config.file={}", config.display()),
                    format!("--storage.path={}", dir.join("am").display()),
                    format!("--web.listen-address=127.0.0.1:{port}"),
                    // One instance: no gossip port.
                    "--cluster.listen-address=".into(),
                    "--log.level=warn".into(),
                ],
                log: dir.join("alertmanager.log"),
                ready_url: format!("http://127.0.0.1:{port}/-/ready"),
                child: None,
            },
            port,
        )
        .await
    }
}

impl Engine {
    async fn spawn(mut process: Process, port: u16) -> Engine {
        process.spawn().await;
        Engine { process, port }
    }

    /// The HTTP root, e.g. `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Where remote write goes.
    pub fn write_url(&self) -> String {
        format!("{}/api/v1/write", self.url())
    }

    /// Stops it gracefully (SIGTERM, wait): nothing listens on the port
    /// until [`Engine::restart`].
    pub async fn stop(&mut self) {
        self.process.stop().await;
    }

    /// Starts it again on the same data and port; waits until ready.
    pub async fn restart(&mut self) {
        self.process.stop().await;
        self.process.spawn().await;
    }

    /// VictoriaMetrics only: writes what is buffered in memory to disk
    /// (`/internal/force_flush`).
    pub async fn force_flush(&self) {
        let res = reqwest::get(format!("{}/internal/force_flush", self.url()))
            .await
            .expect("force_flush");
        assert!(res.status().is_success(), "force_flush: {}", res.status());
    }

    /// `data.result` of an instant query at the current time.
    pub async fn query(&self, promql: &str) -> Value {
        api_data(
            &format!("{}/api/v1/query", self.url()),
            &[("query", promql.to_string())],
        )
        .await["result"]
            .clone()
    }

    /// `data.result` of an instant query at `time_ms` (Unix ms).
    pub async fn query_at(&self, promql: &str, time_ms: i64) -> Value {
        api_data(
            &format!("{}/api/v1/query", self.url()),
            &[("query", promql.to_string()), ("time", seconds(time_ms))],
        )
        .await["result"]
            .clone()
    }
}

/// Unix ms as the API's seconds with a fraction.
fn seconds(ms: i64) -> String {
    format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
}

/// The one number of a single-element vector result, if any.
pub fn single_value(result: &Value) -> Option<f64> {
    result.as_array()?.first()?["value"][1].as_str()?.parse().ok()
}

/// Bytes under `path`, recursively.
pub fn dir_bytes(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

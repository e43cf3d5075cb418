//! Shared test harness: a real Vigil on 127.0.0.1:0 and a real WebSocket client.
#![allow(dead_code)]

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vigil::config::Config;
use vigil::{Options, Server};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running server and the data dir it owns.
pub struct TestServer {
    pub server: Server,
    pub data: tempfile::TempDir,
}

impl TestServer {
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.server.addr, path)
    }
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/ws{}", self.server.addr, query)
    }
}

/// Starts Vigil sampling every `interval_ms`.
pub async fn start(interval_ms: u64) -> TestServer {
    start_with(interval_ms, |_| {}).await
}

/// Starts Vigil sampling every `interval_ms`, with `tune` applied to its options.
pub async fn start_with(interval_ms: u64, tune: impl FnOnce(&mut Options)) -> TestServer {
    start_in(tempfile::tempdir().expect("temp dir"), interval_ms, tune).await
}

/// Starts Vigil with its data under `data` (kept across restarts).
pub async fn start_in(data: tempfile::TempDir, interval_ms: u64, tune: impl FnOnce(&mut Options)) -> TestServer {
    let mut config = Config::default();
    config.collector.interval = Duration::from_millis(interval_ms);
    let mut options = Options::new("127.0.0.1:0".parse().unwrap(), data.path().join("data"), config);
    // No built front end in Rust tests: pages render, assets are absent.
    options.site_root = Some(data.path().join("no-site"));
    tune(&mut options);
    let server = Server::start(options).await.expect("server starts");
    TestServer { server, data }
}

/// Stops the server gracefully and hands back its data dir.
pub async fn stop(t: TestServer) -> tempfile::TempDir {
    let TestServer { server, data } = t;
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(15), server.wait())
        .await
        .expect("stops within 15 s")
        .expect("clean stop");
    data
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Status and JSON body of a GET.
pub async fn get_json(t: &TestServer, path: &str) -> (u16, Value) {
    let res = reqwest::get(t.http(path)).await.unwrap();
    let status = res.status().as_u16();
    let body = res.json().await.unwrap_or_else(|e| panic!("{path}: not JSON: {e}"));
    (status, body)
}

/// The status of one component of a health report.
pub fn component_status<'a>(report: &'a Value, name: &str) -> &'a str {
    report["components"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["name"] == name))
        .and_then(|c| c["status"].as_str())
        .unwrap_or_else(|| panic!("no component {name:?} in {report}"))
}

/// A gauge's value from `/metrics` text, e.g. `vigil_ws_clients`.
pub async fn scrape(t: &TestServer, name: &str) -> Option<f64> {
    let text = reqwest::get(t.http("/metrics")).await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connects");
    ws
}

/// Next text frame as JSON, skipping pings; panics after 5 s.
pub async fn next_json(ws: &mut Ws) -> Value {
    loop {
        match next_message(ws).await {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("frames are JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// Next message of any kind; panics after 5 s or when the stream ends.
pub async fn next_message(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(5), ws.next())
        .await
        .expect("a frame within 5 s")
        .expect("stream still open")
        .expect("no protocol error")
}

pub fn seq(frame: &Value) -> u64 {
    frame["seq"].as_u64().expect("every frame has a numeric seq")
}

pub fn kind(frame: &Value) -> &str {
    frame["type"].as_str().expect("every frame has a type")
}

/// Reads until the close frame; asserts its code and that its reason
/// contains `reason_part`.
pub async fn expect_close(
    ws: &mut Ws,
    code: tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode,
    reason_part: &str,
) {
    loop {
        match next_message(ws).await {
            Message::Close(Some(frame)) => {
                assert_eq!(frame.code, code);
                assert!(frame.reason.as_str().contains(reason_part), "reason: {}", frame.reason);
                return;
            }
            Message::Close(None) => panic!("closed without a reason"),
            _ => continue,
        }
    }
}

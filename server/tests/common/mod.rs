//! Shared test harness: a real Vigil on 127.0.0.1:0 and a real WebSocket client.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use vigil::config::Config;
use vigil::{Options, Server};

pub mod fill;
pub mod mount;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A running server and the data dir it owns.
pub struct TestServer {
    pub server: Server,
    pub data: tempfile::TempDir,
}

impl TestServer {
    /// Where to reach it: its address, or 127.0.0.1 when it is bound to
    /// every address.
    pub fn addr(&self) -> SocketAddr {
        let addr = self.server.addr;
        if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        }
    }
    pub fn http(&self, path: &str) -> String {
        format!("http://{}{}", self.addr(), path)
    }
    pub fn ws_url(&self, query: &str) -> String {
        format!("ws://{}/ws{}", self.addr(), query)
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

/// The built-in alert rules that read this machine's own disks and
/// memory. They follow whatever host runs the tests (a build machine's
/// disk can sit at 92 %: a pending alert, an `alerts` frame, a message no
/// test expects), so test servers have them off unless a test names them.
const HOST_RULES: [&str; 3] = ["disk-full", "disk-full-critical", "memory-full"];

/// Starts Vigil with its data under `data` (kept across restarts).
pub async fn start_in(data: tempfile::TempDir, interval_ms: u64, tune: impl FnOnce(&mut Options)) -> TestServer {
    let mut config = Config::default();
    config.collector.interval = Duration::from_millis(interval_ms);
    // Likewise the host's memory and disks never make a test server's own
    // components degraded or down (a build disk at 98 % would turn
    // `/healthz` to 503), unless a test sets thresholds of its own.
    config.thresholds.memory_degraded_pct = 100.0;
    config.thresholds.memory_down_pct = 100.0;
    config.thresholds.storage_degraded_pct = 100.0;
    config.thresholds.storage_down_pct = 100.0;
    let mut options = Options::new("127.0.0.1:0".parse().unwrap(), data.path().join("data"), config);
    // No built front end in Rust tests: pages render, assets are absent.
    options.site_root = Some(data.path().join("no-site"));
    tune(&mut options);
    for name in HOST_RULES {
        if !options.config.alerts.iter().any(|a| a.name == name) {
            options.config.alerts.push(vigil::config::AlertConfig {
                name: name.into(),
                enabled: Some(false),
                ..Default::default()
            });
        }
    }
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

/// A test CA and a certificate for localhost signed by it: the CA to trust
/// and the certificate and key as PEM files.
pub fn test_certificate(dir: &std::path::Path) -> (TestCa, std::path::PathBuf, std::path::PathBuf) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&key, &ca, &ca_key)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, leaf.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let trusted = TestCa {
        pem: ca.pem(),
        der: ca.der().clone(),
    };
    (trusted, cert_path, key_path)
}

/// The test CA, for the HTTPS and the WebSocket client.
pub struct TestCa {
    pub pem: String,
    pub der: rustls_pki_types::CertificateDer<'static>,
}

/// A `wss://` client trusting only `ca`, connected to `addr` as localhost.
pub async fn connect_wss(addr: SocketAddr, ca: &TestCa) -> Ws {
    use std::sync::Arc;
    use tokio_rustls::rustls;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der.clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = TcpStream::connect(addr).await.unwrap();
    let url = format!("wss://localhost:{}/ws", addr.port());
    let connector = tokio_tungstenite::Connector::Rustls(Arc::new(config));
    let (ws, _) = tokio_tungstenite::client_async_tls_with_config(url, tcp, None, Some(connector))
        .await
        .expect("wss handshake with the test CA");
    ws
}

/// The `vigil` binary, without a front end (command-line and process tests).
pub fn vigil_command() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vigil"));
    cmd.env("LEPTOS_SITE_ROOT", "/nonexistent");
    cmd
}

/// `GET path`, with a session cookie if given; redirects are not followed.
pub async fn get_with(t: &TestServer, path: &str, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client().get(t.http(path));
    if let Some(c) = cookie {
        req = req.header(reqwest::header::COOKIE, c);
    }
    req.send().await.unwrap()
}

/// `POST path` with a JSON body, with a session cookie if given.
pub async fn post_json_with(t: &TestServer, path: &str, body: Value, cookie: Option<&str>) -> reqwest::Response {
    let mut req = client().post(t.http(path)).json(&body);
    if let Some(c) = cookie {
        req = req.header(reqwest::header::COOKIE, c);
    }
    req.send().await.unwrap()
}

/// A server function call as the page's forms make it (urlencoded), with
/// a session cookie: the status and the JSON answer (`null` if none).
pub async fn call_with(
    t: &TestServer,
    path: &str,
    form: &[(&str, &str)],
    cookie: &str,
) -> (reqwest::StatusCode, Value) {
    let res = client()
        .post(t.http(path))
        .header(reqwest::header::COOKIE, cookie)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// Sends one keep-alive GET on an open socket and reads the whole answer
/// (its length must be announced).
pub async fn raw_get_on(socket: &mut TcpStream, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "closed before answering");
        answer.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&answer);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>())
                })
                .and_then(Result::ok);
            if length.is_some_and(|n| body.len() >= n) {
                return text.into_owned();
            }
        }
    }
}

/// A client that never follows redirects, so a test sees them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// An answer read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    /// The status line and headers, as sent.
    pub head: String,
    /// The body (chunked transfer decoded).
    pub body: String,
}

impl RawResponse {
    /// A header's value (the first, by case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|line| {
            let (k, v) = line.split_once(':')?;
            k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `target` exactly as written (no client library normalises it:
/// dot segments, backslashes and escapes reach the server as they are),
/// with `headers` (`Name: value` lines), and reads the whole answer.
pub async fn raw_request(addr: SocketAddr, method: &str, target: &str, headers: &[&str]) -> RawResponse {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut request = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|h| h.to_ascii_lowercase().starts_with("host:")) {
        request.push_str(&format!("Host: 127.0.0.1:{}\r\n", addr.port()));
    }
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    if method != "GET"
        && !headers
            .iter()
            .any(|h| h.to_ascii_lowercase().starts_with("content-length:"))
    {
        request.push_str("Content-Length: 0\r\n");
    }
    request.push_str("\r\n");
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), socket.read_to_end(&mut answer))
        .await
        .unwrap_or_else(|_| panic!("{method} {target}: no whole answer within 15 s"))
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"));
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {target}: not an HTTP answer: {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {target}: no status in {head:?}"));
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let body = if chunked { dechunk(body) } else { body.to_string() };
    RawResponse {
        status,
        head: head.to_string(),
        body,
    }
}

/// Decodes a chunked body (sizes in hex, each chunk followed by CRLF).
fn dechunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || after.len() < n {
            out.push_str(&after[..n.min(after.len())]);
            break;
        }
        out.push_str(&after[..n]);
        rest = after[n..].strip_prefix("\r\n").unwrap_or(&after[n..]);
    }
    out
}

/// An address of this machine that is not loopback (so per-address
/// caps and limits count it), added to `lo` for as long as the value lives.
pub struct ExtraAddress(pub &'static str);

impl ExtraAddress {
    pub fn add(ip: &'static str) -> ExtraAddress {
        let out = std::process::Command::new("ip")
            .args(["addr", "add", &format!("{ip}/32"), "dev", "lo"])
            .output()
            .expect("ip (iproute2) runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() || err.contains("exists"),
            "cannot add {ip} to lo (this test needs root): {err}"
        );
        ExtraAddress(ip)
    }
}

impl Drop for ExtraAddress {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["addr", "del", &format!("{}/32", self.0), "dev", "lo"])
            .status();
    }
}

//! The health-check engine against real local targets, started by the tests:
//! an axum HTTP server whose status and delay the test sets, an HTTPS server
//! with a short-lived certificate, a TCP listener, a target that accepts and
//! never answers, a WebSocket echo server, JSON-RPC servers that answer
//! garbage or refuse batches, a webhook receiver, and real Ethereum nodes
//! (Anvil, from npm `@foundry-rs/anvil`).
//!
//! Anvil is found at `$ANVIL_BIN`, else `<repo>/node_modules/.bin/anvil`
//! (installed by `npm ci` at the repository root); a missing Anvil fails
//! the Anvil tests with a message saying so.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use app::checks::{BreakerState, CheckKind, CheckState, Transition};
use app::health::Status;
use axum::extract::ws::{Message as AxumMessage, WebSocketUpgrade};
use axum::extract::State;
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use vigil::checks::config::CheckConfig;
use vigil::checks::{self, probe_for, retry, Outcome};
use vigil::signals::{CheckBus, CheckEvent};

// ---------------------------------------------------------------- helpers

/// Serves `router` on a free loopback port until the test ends.
async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

fn check(name: &str, kind: CheckKind, url: &str) -> CheckConfig {
    let mut c = CheckConfig::new(name, kind);
    c.url = Some(url.to_string());
    c.interval = Duration::from_secs(1);
    c.timeout = Some(Duration::from_millis(500));
    c.retries = 0;
    c.confirm = 1;
    c
}

async fn probe_once(config: &CheckConfig) -> Outcome {
    let client = checks::http_client().unwrap();
    retry::attempt(probe_for(config, &client).as_ref(), config.timeout()).await
}

fn sub_value(o: &Outcome, name: &str) -> Option<f64> {
    o.subs.iter().find(|s| s.name == name).and_then(|s| s.value)
}

/// Waits (up to `within`) until `check`'s state satisfies `pred`.
async fn wait_for(
    checks: &CheckBus,
    name: &str,
    within: Duration,
    what: &str,
    pred: impl Fn(&CheckState) -> bool,
) -> CheckState {
    let deadline = Instant::now() + within;
    loop {
        let state = checks.get(name).expect("the check exists");
        if pred(&state) {
            return state;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: not {what} within {within:?}: {state:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An HTTP target whose answer the test sets.
#[derive(Clone, Default)]
struct Knobs {
    status: Arc<AtomicU16>,
    delay_ms: Arc<AtomicU64>,
    hits: Arc<AtomicU32>,
}

async fn http_target() -> (SocketAddr, Knobs) {
    let knobs = Knobs::default();
    knobs.status.store(200, Ordering::SeqCst);
    let app = Router::new()
        .route(
            "/health",
            get(|State(k): State<Knobs>| async move {
                k.hits.fetch_add(1, Ordering::SeqCst);
                let delay = k.delay_ms.load(Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(delay)).await;
                let status = axum::http::StatusCode::from_u16(k.status.load(Ordering::SeqCst)).unwrap();
                (status, "status: ok")
            }),
        )
        .route("/old", get(|| async { axum::response::Redirect::permanent("/health") }))
        .with_state(knobs.clone());
    (serve(app).await, knobs)
}

/// A listener that accepts connections and never answers.
async fn silent_target() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    addr
}

// ---------------------------------------------------------------- scheduler

/// An HTTP check through its whole life: up, 503 (down within interval +
/// timeout), the breaker opens and the target is left alone, the target
/// recovers and one half-open trial closes the breaker. Meanwhile a check
/// of a silent target times out without holding anything up.
#[tokio::test]
async fn http_check_goes_down_opens_the_breaker_and_recovers_through_half_open() {
    let (addr, knobs) = http_target().await;
    let silent = silent_target().await;

    let mut api = check("api", CheckKind::Http, &format!("http://{addr}/health"));
    api.retries = 1;
    api.failure_threshold = 2;
    api.reset_timeout = Duration::from_secs(2);
    let hang = check("hang", CheckKind::Http, &format!("http://{silent}/"));
    let interval_plus_timeout = api.interval + api.timeout();

    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let checks = checks::start(&[api, hang], shutdown.clone(), &tasks).unwrap();
    let mut events = checks.subscribe();
    assert_eq!(checks.snapshot().len(), 2);

    let s = wait_for(&checks, "api", Duration::from_secs(3), "up", |s| s.status == Status::Up).await;
    assert_eq!(s.kind, CheckKind::Http);
    assert_eq!(s.target, format!("http://{addr}/…"));
    assert!(s.reason.starts_with("HTTP 200 in "), "{}", s.reason);
    assert!(s.latency_ms.is_some());
    // The silent target does not delay the other check; it times out alone.
    let h = wait_for(&checks, "hang", Duration::from_secs(3), "down", |s| {
        s.status == Status::Down
    })
    .await;
    assert_eq!(h.reason, "timed out after 500 ms");

    // 503: down within one interval plus the timeout (plus the retry's
    // backoff of at most 400 ms and some slack for a busy machine).
    knobs.status.store(503, Ordering::SeqCst);
    let broke = Instant::now();
    let s = wait_for(&checks, "api", Duration::from_secs(4), "down", |s| {
        s.status == Status::Down
    })
    .await;
    let took = broke.elapsed();
    assert!(
        took <= interval_plus_timeout + Duration::from_millis(1000),
        "down after {took:?}"
    );
    assert_eq!(s.reason, "HTTP 503 (expected 200-299) (2 attempts)");
    assert_eq!(s.observed, Status::Down);

    // Two failed rounds open the breaker; while open, the target gets nothing.
    let s = wait_for(&checks, "api", Duration::from_secs(4), "open", |s| {
        s.breaker == BreakerState::Open
    })
    .await;
    assert_eq!(s.consecutive_failures, 2);
    let hits = knobs.hits.load(Ordering::SeqCst);
    let s = wait_for(&checks, "api", Duration::from_secs(3), "skipping", |s| {
        s.reason.starts_with("circuit open")
    })
    .await;
    assert_eq!(s.status, Status::Down);
    assert_eq!(
        knobs.hits.load(Ordering::SeqCst),
        hits,
        "an open breaker leaves the target alone"
    );

    // Back: the half-open trial (slowed down so it can be seen) is a single
    // request, and closes the breaker.
    knobs.delay_ms.store(300, Ordering::SeqCst);
    knobs.status.store(200, Ordering::SeqCst);
    let s = wait_for(&checks, "api", Duration::from_secs(4), "half-open", |s| {
        s.breaker == BreakerState::HalfOpen
    })
    .await;
    assert_eq!(s.status, Status::Down, "still down until the trial answers");
    let s = wait_for(&checks, "api", Duration::from_secs(2), "up again", |s| {
        s.status == Status::Up
    })
    .await;
    assert_eq!(s.breaker, BreakerState::Closed);
    assert_eq!(s.consecutive_failures, 0);
    assert_eq!(knobs.hits.load(Ordering::SeqCst), hits + 1, "one trial request");

    // Every announced transition, from the event stream.
    let mut transitions: Vec<Arc<Transition>> = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let CheckEvent::Transition(t) = e {
            transitions.push(t);
        }
    }
    let api_changes: Vec<(Status, Status)> = transitions
        .iter()
        .filter(|t| t.check == "api")
        .map(|t| (t.from, t.to))
        .collect();
    assert_eq!(
        api_changes,
        [
            (Status::Unknown, Status::Up),
            (Status::Up, Status::Down),
            (Status::Down, Status::Up)
        ]
    );

    shutdown.cancel();
    tasks.close();
    tokio::time::timeout(Duration::from_secs(2), tasks.wait())
        .await
        .expect("checks stop on shutdown");
}

// ---------------------------------------------------------------- http

#[tokio::test]
async fn http_probe_judges_status_keyword_and_latency() {
    let (addr, knobs) = http_target().await;
    let url = format!("http://{addr}/health");

    let mut c = check("h", CheckKind::Http, &url);
    c.keyword = Some("ok".into());
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Up, "{o:?}");
    assert_eq!(sub_value(&o, "http_status"), Some(200.0));
    assert!(sub_value(&o, "latency").is_some());
    assert!(!o.subs.iter().any(|s| s.name == "tls_expiry"), "no TLS over http");

    c.keyword = Some("healthy".into());
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Down);
    assert_eq!(o.reason, "keyword \"healthy\" not found in the body");

    c.keyword = None;
    knobs.status.store(503, Ordering::SeqCst);
    let o = probe_once(&c).await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Down, "HTTP 503 (expected 200-299)")
    );
    c.expect_status = Some("200,500-599".parse().unwrap());
    assert_eq!(probe_once(&c).await.status, Status::Up);
    knobs.status.store(200, Ordering::SeqCst);

    knobs.delay_ms.store(200, Ordering::SeqCst);
    c.expect_status = None;
    c.max_latency = Some(Duration::from_millis(50));
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Degraded, "{o:?}");
    assert!(
        o.reason.starts_with("slow: ") && o.reason.ends_with(", limit 50 ms"),
        "{}",
        o.reason
    );

    // Slower than the timeout: cut, with a clear reason.
    knobs.delay_ms.store(2000, Ordering::SeqCst);
    let o = probe_once(&c).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "timed out after 500 ms"));

    // A redirect is an answer, not followed.
    let mut moved = check("h", CheckKind::Http, &format!("http://{addr}/old"));
    let o = probe_once(&moved).await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Down, "HTTP 308 (expected 200-299)")
    );
    moved.expect_status = Some("300-399".parse().unwrap());
    assert_eq!(probe_once(&moved).await.status, Status::Up);

    // Nobody listening.
    let closed = free_port().await;
    let o = probe_once(&check("h", CheckKind::Http, &format!("http://{closed}/"))).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "connect refused"));
}

/// A real TLS server (tokio-rustls) with a certificate from a test CA.
async fn https_target(not_after: time::OffsetDateTime) -> (SocketAddr, rcgen::Certificate) {
    use tokio_rustls::rustls;

    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Vigil test CA");
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params.not_before = time::OffsetDateTime::now_utc() - time::Duration::days(30);
    params.not_after = not_after;
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (addr, ca)
}

#[tokio::test]
async fn https_probe_reads_the_certificate_expiry() {
    let in_5_days = time::OffsetDateTime::now_utc() + time::Duration::days(5) + time::Duration::hours(1);
    let (addr, ca) = https_target(in_5_days).await;
    // The test CA is trusted by this client only; checks use the webpki roots.
    let client = reqwest::Client::builder()
        .tls_info(true)
        .add_root_certificate(reqwest::Certificate::from_der(ca.der()).unwrap())
        .build()
        .unwrap();
    let c = check("tls", CheckKind::Http, &format!("https://localhost:{}/", addr.port()));
    let o = retry::attempt(probe_for(&c, &client).as_ref(), c.timeout()).await;
    assert_eq!(o.status, Status::Degraded, "{o:?}");
    assert_eq!(o.reason, "TLS certificate expires in 5 days (warning under 14)");
    assert_eq!(sub_value(&o, "tls_expiry"), Some(5.0));

    let (addr, ca) = https_target(time::OffsetDateTime::now_utc() + time::Duration::days(90)).await;
    let client = reqwest::Client::builder()
        .tls_info(true)
        .add_root_certificate(reqwest::Certificate::from_der(ca.der()).unwrap())
        .build()
        .unwrap();
    let c = check("tls", CheckKind::Http, &format!("https://localhost:{}/", addr.port()));
    let o = retry::attempt(probe_for(&c, &client).as_ref(), c.timeout()).await;
    assert_eq!(o.status, Status::Up, "{o:?}");

    // The shared client does not trust the test CA: a clear TLS reason.
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Down);
    assert!(
        o.reason.starts_with("connect failed: ") && o.reason.contains("certificate"),
        "{}",
        o.reason
    );
}

// ---------------------------------------------------------------- tcp

async fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn tcp_probe_open_then_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut c = CheckConfig::new("port", CheckKind::Tcp);
    c.address = Some(addr.to_string());
    c.timeout = Some(Duration::from_millis(500));
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Up, "{o:?}");
    assert!(o.reason.starts_with("connected in "), "{}", o.reason);
    assert!(sub_value(&o, "connect").is_some());

    drop(listener);
    let o = probe_once(&c).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "connect refused"));
}

// ---------------------------------------------------------------- websocket

async fn ws_echo_target() -> SocketAddr {
    let app = Router::new().route(
        "/echo",
        any(|ws: WebSocketUpgrade| async move {
            ws.on_upgrade(|mut socket| async move {
                while let Some(Ok(msg)) = socket.recv().await {
                    let echo = match msg {
                        AxumMessage::Text(t) => AxumMessage::Text(t),
                        AxumMessage::Binary(b) => AxumMessage::Binary(b),
                        AxumMessage::Close(_) => break,
                        _ => continue,
                    };
                    if socket.send(echo).await.is_err() {
                        break;
                    }
                }
            })
        }),
    );
    serve(app).await
}

#[tokio::test]
async fn websocket_probe_handshake_and_echo() {
    let addr = ws_echo_target().await;
    let mut c = check("ws", CheckKind::Websocket, &format!("ws://{addr}/echo"));
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Up, "{o:?}");
    assert!(o.reason.starts_with("handshake in "), "{}", o.reason);

    c.send = Some("ping".into());
    c.expect = Some("ping".into());
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Up, "{o:?}");
    assert!(o.reason.contains("answered \"ping\" in "), "{}", o.reason);
    assert!(sub_value(&o, "echo").is_some());

    c.expect = Some("pong".into());
    let o = probe_once(&c).await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Down, "expected \"pong\", got \"ping\"")
    );

    let c = check("ws", CheckKind::Websocket, &format!("ws://{addr}/nope"));
    let o = probe_once(&c).await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Down, "handshake refused: HTTP 404")
    );

    let closed = free_port().await;
    let o = probe_once(&check("ws", CheckKind::Websocket, &format!("ws://{closed}/"))).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "connect refused"));

    let silent = silent_target().await;
    let o = probe_once(&check("ws", CheckKind::Websocket, &format!("ws://{silent}/"))).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "timed out after 500 ms"));
}

// ---------------------------------------------------------------- json-rpc

#[tokio::test]
async fn json_rpc_garbage_and_hangs_have_clear_reasons() {
    let app = Router::new().route("/", post(|| async { "<html><body>502 Bad Gateway</body></html>" }));
    let addr = serve(app).await;
    let o = probe_once(&check("rpc", CheckKind::Ethereum, &format!("http://{addr}/"))).await;
    assert_eq!(o.status, Status::Down);
    assert_eq!(
        o.reason,
        "not a JSON-RPC answer: \"<html><body>502 Bad Gateway</body></html>\""
    );

    let silent = silent_target().await;
    let o = probe_once(&check("rpc", CheckKind::Ethereum, &format!("http://{silent}/"))).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "timed out after 500 ms"));

    let closed = free_port().await;
    let o = probe_once(&check("rpc", CheckKind::Ethereum, &format!("http://{closed}/"))).await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Down, "connect refused"));
}

/// A JSON-RPC server that refuses batches and answers single calls (like
/// some providers): the probe falls back to single calls and stays with them.
#[tokio::test]
async fn a_node_that_refuses_batches_gets_single_calls() {
    let batches = Arc::new(AtomicU32::new(0));
    let app = Router::new()
        .route(
            "/",
            post(|State(batches): State<Arc<AtomicU32>>, Json(req): Json<Value>| async move {
                if req.is_array() {
                    batches.fetch_add(1, Ordering::SeqCst);
                    return Json(json!({"jsonrpc": "2.0", "id": null,
                        "error": {"code": -32600, "message": "batch requests are not supported"}}));
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs();
                let result = match req["method"].as_str().unwrap_or("") {
                    "eth_chainId" => json!("0x1"),
                    "eth_syncing" => json!(false),
                    "net_peerCount" => json!("0x9"),
                    "eth_blockNumber" => json!("0x64"),
                    "eth_getBlockByNumber" => json!({"number": "0x64", "timestamp": format!("{now:#x}")}),
                    _ => return Json(json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32601, "message": "method not found"}})),
                };
                Json(json!({"jsonrpc": "2.0", "id": req["id"], "result": result}))
            }),
        )
        .with_state(batches.clone());
    let addr = serve(app).await;
    let mut c = check("rpc", CheckKind::Ethereum, &format!("http://{addr}/"));
    c.chain_id = Some(1);
    let client = checks::http_client().unwrap();
    let probe = probe_for(&c, &client);
    for _ in 0..2 {
        let o = retry::attempt(probe.as_ref(), c.timeout()).await;
        assert_eq!(o.status, Status::Up, "{o:?}");
        assert_eq!(sub_value(&o, "block_number"), Some(100.0));
        assert_eq!(sub_value(&o, "peers"), Some(9.0));
    }
    assert_eq!(
        batches.load(Ordering::SeqCst),
        1,
        "one refused batch, then single calls"
    );
}

// ---------------------------------------------------------------- anvil

/// A running Anvil node, killed (with its npm wrapper's child) on drop.
struct Anvil {
    url: String,
    child: tokio::process::Child,
}

impl Drop for Anvil {
    fn drop(&mut self) {
        // The npm bin is a node script that spawns the real binary: kill the
        // whole process group, then reap the wrapper.
        if let Some(pid) = self.child.id().and_then(|id| rustix::process::Pid::from_raw(id as i32)) {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
        let _ = self.child.start_kill();
    }
}

fn anvil_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("ANVIL_BIN") {
        let bin = PathBuf::from(bin);
        assert!(bin.exists(), "ANVIL_BIN={} does not exist", bin.display());
        return bin;
    }
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node_modules/.bin/anvil");
    assert!(
        bin.exists(),
        "Anvil not found at {}: run `npm ci` at the repository root (package.json lists @foundry-rs/anvil) \
         or set ANVIL_BIN to an anvil binary",
        bin.display()
    );
    bin
}

async fn rpc(url: &str, method: &str, params: Value) -> Result<Value, String> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let res = reqwest::Client::new()
        .post(url)
        .json(&body)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let v: Value = res.json().await.map_err(|e| e.to_string())?;
    v.get("result").cloned().ok_or_else(|| v.to_string())
}

async fn start_anvil(args: &[&str]) -> Anvil {
    let port = free_port().await.port();
    let mut cmd = tokio::process::Command::new(anvil_bin());
    cmd.args(["--host", "127.0.0.1", "--port", &port.to_string(), "--silent"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd.spawn().unwrap_or_else(|e| panic!("cannot start anvil: {e}"));
    let anvil = Anvil {
        url: format!("http://127.0.0.1:{port}"),
        child,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while rpc(&anvil.url, "eth_chainId", json!([])).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "anvil did not answer on port {port} within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    anvil
}

fn eth_check(url: &str) -> CheckConfig {
    let mut c = check("rpc", CheckKind::Ethereum, url);
    c.timeout = Some(Duration::from_secs(2));
    c.interval = Duration::from_secs(5);
    c
}

#[tokio::test]
async fn anvil_node_with_a_moving_head() {
    let (moving, stale) = tokio::join!(
        start_anvil(&["--block-time", "1"]),
        start_anvil(&["--no-mining", "--timestamp", "1700000000"]),
    );

    // A healthy node on the right chain: up, and its head moves.
    let mut c = eth_check(&moving.url);
    c.chain_id = Some(31337);
    c.max_block_age = Some(Duration::from_secs(30));
    let first = probe_once(&c).await;
    assert_eq!(first.status, Status::Up, "{first:?}");
    assert_eq!(sub_value(&first, "chain_id"), Some(31337.0));
    assert!(first.reason.contains("chain id 31337"), "{}", first.reason);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let o = probe_once(&c).await;
        assert_eq!(o.status, Status::Up, "{o:?}");
        if sub_value(&o, "block_number") > sub_value(&first, "block_number") {
            break;
        }
        assert!(Instant::now() < deadline, "the head did not move: {o:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The wrong chain is caught.
    c.chain_id = Some(1);
    let o = probe_once(&c).await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Down, "chain id 31337, expected 1")
    );

    // Anvil has no net_peerCount: without a peer minimum the node is up,
    // and the reason says the count is unknown.
    assert!(
        first
            .reason
            .contains("peer count unknown (net_peerCount: JSON-RPC error -32601: Method not found)"),
        "{}",
        first.reason
    );
    // With a minimum, that the node cannot tell is named.
    let mut c = eth_check(&moving.url);
    c.min_peers = Some(1);
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Degraded, "{o:?}");
    assert_eq!(
        o.reason,
        "net_peerCount: JSON-RPC error -32601: Method not found (cannot check min_peers = 1)"
    );

    // A node that does not mine, with an old genesis: its head is stale.
    let mut c = eth_check(&stale.url);
    c.max_block_age = Some(Duration::from_secs(60));
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Down, "{o:?}");
    assert!(
        o.reason.starts_with("latest block ") && o.reason.ends_with(" s old, limit 60 s"),
        "{}",
        o.reason
    );

    // Compared with a reference ten blocks ahead, it lags.
    rpc(&moving.url, "anvil_mine", json!(["0xa"])).await.unwrap();
    let mut c = eth_check(&stale.url);
    c.max_block_age = Some(Duration::from_secs(3600 * 24 * 365 * 30));
    c.reference = Some(moving.url.clone());
    c.max_lag_blocks = Some(5);
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Degraded, "{o:?}");
    let lag = o.subs.iter().find(|s| s.name == "lag").unwrap();
    assert!(lag.value.unwrap() >= 10.0, "{lag:?}");
    assert!(
        lag.reason.ends_with(" blocks behind the reference (limit 5)"),
        "{}",
        lag.reason
    );
    assert_eq!(o.reason, lag.reason);

    // The node itself as its reference: level.
    let mut c = eth_check(&moving.url);
    c.reference = Some(moving.url.clone());
    let o = probe_once(&c).await;
    assert_eq!(o.status, Status::Up, "{o:?}");
}

// ---------------------------------------------------------------- server

mod common;

/// Waits (up to 5 s) for a `checks` frame that satisfies `pred`.
async fn next_checks_frame(ws: &mut common::Ws, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no checks frame with {what} within 5 s");
        let frame = common::next_json(ws).await;
        if common::kind(&frame) == "checks" && pred(&frame["data"]) {
            return frame;
        }
    }
}

fn state_of<'a>(data: &'a Value, name: &str) -> Option<&'a Value> {
    data["states"].as_array()?.iter().find(|s| s["name"] == name)
}

/// A server with a check: its rounds and status changes go out live as
/// `checks` frames, into `/metrics`, and into the history store, where
/// uptime, latency and the status changes outlive a restart.
#[tokio::test]
async fn a_server_streams_scrapes_and_keeps_its_checks() {
    let (addr, knobs) = http_target().await;
    let web = check("web", CheckKind::Http, &format!("http://{addr}/health"));
    let with_check = move |o: &mut vigil::Options| o.config.checks = vec![web];
    let t = common::start_with(1000, with_check.clone()).await;
    let mut ws = common::connect(&t.ws_url("")).await;
    assert_eq!(common::kind(&common::next_json(&mut ws).await), "snapshot");

    next_checks_frame(&mut ws, "web up", |d| {
        state_of(d, "web").is_some_and(|s| s["status"] == "up")
    })
    .await;
    knobs.status.store(503, Ordering::SeqCst);
    let frame = next_checks_frame(&mut ws, "web down", |d| {
        state_of(d, "web").is_some_and(|s| s["status"] == "down")
    })
    .await;
    assert_eq!(frame["data"]["transitions"][0]["to"], "down", "{frame}");
    assert_eq!(
        state_of(&frame["data"], "web").unwrap()["reason"],
        "HTTP 503 (expected 200-299)"
    );

    let metrics = reqwest::get(t.http("/metrics")).await.unwrap().text().await.unwrap();
    for line in [
        "vigil_check_up{check=\"web\"} 0.0",
        "vigil_check_status{check=\"web\",status=\"down\"} 1.0",
        "vigil_check_breaker_state{check=\"web\",state=\"closed\"} 1.0",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in /metrics:\n{metrics}"
        );
    }
    assert!(
        metrics.contains("vigil_check_latency_seconds{check=\"web\"} "),
        "{metrics}"
    );

    knobs.status.store(200, Ordering::SeqCst);
    next_checks_frame(&mut ws, "web up again", |d| {
        state_of(d, "web").is_some_and(|s| s["status"] == "up")
    })
    .await;
    // The writer batches for a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;

    // The list: each item is the state with uptime and the last rounds.
    let (code, list) = common::get_json(&t, "/api/v1/checks").await;
    assert_eq!(code, 200);
    let item = &list[0];
    assert_eq!(
        (item["name"].as_str(), item["status"].as_str()),
        (Some("web"), Some("up"))
    );
    let day = item["uptime"]["day"].as_f64().expect("an uptime after some rounds");
    assert!(day > 0.0 && day < 100.0, "some rounds were down: {day}");
    assert!(item["recent"].as_array().unwrap().len() >= 3, "{item}");

    // The rounds are series like any other.
    let (_, series) = common::get_json(&t, "/api/v1/series").await;
    let names: Vec<&str> = series
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        names.contains(&"check_up.web") && names.contains(&"check_latency_seconds.web"),
        "{names:?}"
    );
    let now = common::now_ms();
    let (code, range) = common::get_json(
        &t,
        &format!(
            "/api/v1/query?series=check_up.web&from={}&to={}&points=1000",
            now - 60_000,
            now + 1000
        ),
    )
    .await;
    assert_eq!(code, 200, "{range}");
    let values: Vec<f64> = range["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert!(values.contains(&0.0) && values.contains(&1.0), "{values:?}");

    // After a restart the store still has the status changes and uptime.
    let data = common::stop(t).await;
    let t = common::start_in(data, 1000, with_check).await;
    let (code, detail) = common::get_json(&t, "/api/v1/checks/web").await;
    assert_eq!(code, 200);
    let changes: Vec<(&str, &str)> = detail["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["from"].as_str().unwrap(), t["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        changes[..3],
        [("unknown", "up"), ("up", "down"), ("down", "up")],
        "{detail}"
    );
    assert!(detail["uptime"]["day"].as_f64().is_some_and(|d| d < 100.0), "{detail}");
    assert_eq!(detail["hours"].as_array().unwrap().len(), 24);
    assert_eq!(detail["days"].as_array().unwrap().len(), 30);
    assert!(
        detail["hours"][23]["pct"].as_f64().is_some(),
        "the current hour has rounds: {detail}"
    );
    common::stop(t).await;
}

//! Hardening against a real server: slow and idle connections, the
//! connection cap, body and WebSocket limits, TLS, security headers.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{connect, next_json, scrape, start_with, stop, ExtraAddress, TestServer};
use futures_util::SinkExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use vigil::Options;

/// Starts Vigil with `[server]` timeouts (seconds) and a connection cap.
async fn start_bounded(header_s: f64, idle_s: f64, max: Option<usize>) -> TestServer {
    start_with(100, |o: &mut Options| {
        o.config.server.header_timeout = Duration::from_secs_f64(header_s);
        o.config.server.idle_timeout = Duration::from_secs_f64(idle_s);
        o.config.server.max_connections = max;
    })
    .await
}

/// Reads until the peer closes; the time it took, or `None` if the socket
/// was still open after `within`.
async fn closed_within(socket: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at((started + within).into(), socket.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(started.elapsed()),
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn a_trickled_header_is_dropped_at_the_header_timeout_while_others_are_served() {
    let t = start_bounded(1.0, 60.0, None).await;
    let opened = Instant::now();
    let mut slow = TcpStream::connect(t.server.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    // One header line every 200 ms: always sending, never done.
    let trickle = tokio::spawn(async move {
        for i in 0.. {
            if writer.write_all(format!("x-slow-{i}: 1\r\n").as_bytes()).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let (status, _) = common::get_json(&t, "/healthz").await;
    assert_eq!(status, 200, "a normal client is served meanwhile");

    let mut buf = [0u8; 1024];
    let read = tokio::time::timeout(Duration::from_secs(5), reader.read(&mut buf))
        .await
        .expect("the trickling connection is closed within 5 s");
    assert!(matches!(read, Ok(0) | Err(_)), "closed without an answer: {read:?}");
    // Not before its time (a server that dropped it at once would be
    // wrong too), and not much after.
    let lived = opened.elapsed();
    assert!(
        lived >= Duration::from_millis(900) && lived < Duration::from_secs(2),
        "closed at the 1 s header timeout, not after {lived:?}"
    );
    trickle.abort();
    assert!(scrape(&t, "vigil_http_connections_timed_out_total").await >= Some(1.0));
    stop(t).await;
}

#[tokio::test]
async fn a_header_over_64_kib_gets_431() {
    let t = start_bounded(10.0, 60.0, None).await;
    let mut socket = TcpStream::connect(t.server.addr).await.unwrap();
    let big = format!(
        "GET /healthz HTTP/1.1\r\nHost: localhost\r\nx-big: {}\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    // The server may answer and close before it has read everything.
    let _ = socket.write_all(big.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
    let (status, _) = common::get_json(&t, "/healthz").await;
    assert_eq!(status, 200);
    stop(t).await;
}

#[tokio::test]
async fn a_keep_alive_connection_outlives_the_header_timeout_and_ends_at_the_idle_timeout() {
    let t = start_bounded(1.0, 3.0, None).await;
    let mut socket = TcpStream::connect(t.server.addr).await.unwrap();
    assert!(common::raw_get_on(&mut socket, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));
    // Idle for twice the header timeout: still open, and serves again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(common::raw_get_on(&mut socket, "/healthz")
        .await
        .starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut socket, Duration::from_secs(6))
        .await
        .expect("an idle connection is closed");
    assert!(
        closed >= Duration::from_millis(2500),
        "not before the 3 s idle timeout ({closed:?})"
    );
    stop(t).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answer_is_dropped_after_the_idle_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let site = tiny_site(dir.path());
    // Far more than the socket buffers hold: the server is left in the
    // middle of the body, with the request in flight.
    std::fs::write(site.join("big.png"), vec![0u8; 32 * 1024 * 1024]).unwrap();
    let t = start_with(100, |o| {
        o.site_root = Some(site);
        o.config.server.header_timeout = Duration::from_secs(1);
        o.config.server.idle_timeout = Duration::from_secs(2);
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(t.server.addr).await.unwrap();
    stream
        .write_all(b"GET /big.png HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        scrape(&t, "vigil_http_connections_timed_out_total").await >= Some(1.0),
        "dropped two seconds after its last byte moved"
    );
    // What was buffered drains, then the socket ends before the 32 MiB do.
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = 0;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the connection was closed by the server");
    assert!(received < 32 * 1024 * 1024, "closed mid-body ({received} bytes)");
    stop(t).await;
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_an_answer_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let site = tiny_site(dir.path());
    let size = 8 * 1024 * 1024;
    std::fs::write(site.join("big.png"), vec![7u8; size]).unwrap();
    let t = start_with(100, |o| o.site_root = Some(site)).await;
    let addr = t.server.addr;
    // A small receive buffer keeps the server in the middle of the body.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /big.png HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    let mut received = stream.read(&mut buf).await.unwrap();
    assert!(received > 0, "the answer has begun");

    t.server.shutdown();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no new connections once shutting down"
    );
    // The answer in flight still arrives whole, then the connection ends.
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match stream.read(&mut buf).await.unwrap() {
                0 => break,
                n => received += n,
            }
        }
    })
    .await
    .expect("the answer completes");
    assert!(received > size, "all {size} bytes and the head arrived ({received})");
    stop(t).await;
}

#[tokio::test]
async fn a_live_socket_is_not_cut_by_the_idle_timeout() {
    // A sample a minute and pings every 30 s: the socket's only traffic is
    // the heartbeat, every 5 s, far longer than the 1 s idle timeout.
    let t = start_with(60_000, |o: &mut Options| {
        o.config.server.header_timeout = Duration::from_secs(1);
        o.config.server.idle_timeout = Duration::from_secs(1);
        o.socket.ping_every = Duration::from_secs(30);
    })
    .await;
    let mut ws = connect(&t.ws_url("")).await;
    assert_eq!(common::kind(&next_json(&mut ws).await), "snapshot");
    // Silent both ways (no client byte at all) for several idle timeouts,
    // then the next frame still arrives on the same socket.
    let mut last = Instant::now();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(8), futures_util::StreamExt::next(&mut ws))
            .await
            .expect("a frame within 8 s")
            .expect("the socket is still open")
            .expect("no protocol error");
        assert!(matches!(message, Message::Text(_)), "{message:?}");
        let quiet = last.elapsed();
        if quiet >= Duration::from_secs(3) {
            break;
        }
        last = Instant::now();
    }
    assert_eq!(scrape(&t, "vigil_http_connections_timed_out_total").await, Some(0.0));
    stop(t).await;
}

#[tokio::test]
async fn the_connection_cap_holds_new_connections_until_one_closes() {
    let t = start_bounded(30.0, 60.0, Some(2)).await;
    let first = TcpStream::connect(t.server.addr).await.unwrap();
    let _second = TcpStream::connect(t.server.addr).await.unwrap();
    // Give the loop time to accept both.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let held = client.get(t.http("/healthz")).send().await;
    assert!(
        held.as_ref().is_err_and(|e| e.is_timeout()),
        "a third connection waits: {held:?}"
    );
    drop(first);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let served = client
        .get(t.http("/healthz"))
        .send()
        .await
        .expect("served once a slot is free");
    assert_eq!(served.status(), 200);
    drop(client);
    drop(_second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(scrape(&t, "vigil_http_connections_capped_total").await >= Some(1.0));
    assert_eq!(scrape(&t, "vigil_http_connections_max").await, Some(2.0));
    stop(t).await;
}

#[tokio::test]
async fn the_peer_address_reaches_the_router_and_metrics_count_connections() {
    let t = start_bounded(10.0, 60.0, None).await;
    let mut a = TcpStream::connect(t.server.addr).await.unwrap();
    let _b = TcpStream::connect(t.server.addr).await.unwrap();
    assert!(common::raw_get_on(&mut a, "/healthz").await.starts_with("HTTP/1.1 200"));
    let open = scrape(&t, "vigil_http_connections").await.unwrap();
    assert!(open >= 3.0, "two raw sockets and the scrape: {open}");
    stop(t).await;
}

#[tokio::test]
async fn an_oversized_body_gets_413_and_the_server_keeps_serving() {
    let t = start_bounded(10.0, 60.0, None).await;
    let client = reqwest::Client::new();
    let res = client
        .post(t.http("/api/v1/query"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 65 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 413);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("64 KiB"),
        "a JSON error like the other APIs: {body}"
    );
    // A body within the limit reaches the server function (which answers
    // for itself: here, that the arguments are wrong).
    let res = client
        .post(t.http("/api/v1/query"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("series=x")
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 413);
    let (status, _) = common::get_json(&t, "/healthz").await;
    assert_eq!(status, 200);
    stop(t).await;
}

#[tokio::test]
async fn absurd_server_function_arguments_are_refused_with_400() {
    let t = start_bounded(10.0, 60.0, None).await;
    let long = "x".repeat(300);
    let (status, body) = common::get_json(&t, &format!("/api/v1/latest?series={long}")).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("too long"), "{body}");
    let (status, body) = common::get_json(&t, &format!("/api/v1/checks/{}", "n".repeat(100))).await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = common::get_json(&t, &format!("/api/v1/check?name={}", "n".repeat(100))).await;
    assert_eq!(status, 400, "{body}");
    stop(t).await;
}

/// Another client keeps receiving live frames.
async fn still_live(ws: &mut common::Ws) {
    let first = common::seq(&next_json(ws).await);
    let mut next = first;
    while next == first {
        next = common::seq(&next_json(ws).await);
    }
    assert!(next > first);
}

#[tokio::test]
async fn an_oversized_ws_frame_closes_that_socket_only() {
    let t = start_bounded(10.0, 60.0, None).await;
    let mut bystander = connect(&t.ws_url("")).await;
    let mut big = connect(&t.ws_url("")).await;
    big.send(Message::Text("x".repeat(5 * 1024).into())).await.unwrap();
    common::expect_close(&mut big, CloseCode::Size, "").await;
    still_live(&mut bystander).await;
    stop(t).await;
}

#[tokio::test]
async fn a_ws_message_flood_closes_that_socket_with_policy_violation() {
    let t = start_bounded(10.0, 60.0, None).await;
    let mut bystander = connect(&t.ws_url("")).await;
    let mut flood = connect(&t.ws_url("")).await;
    for _ in 0..100 {
        if flood.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
            break;
        }
    }
    common::expect_close(&mut flood, CloseCode::Policy, "").await;
    still_live(&mut bystander).await;
    stop(t).await;
}

#[tokio::test]
async fn tls_serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = common::test_certificate(dir.path());
    let t = start_with(100, |o| {
        o.config.server.tls_cert = Some(cert);
        o.config.server.tls_key = Some(key);
    })
    .await;
    let addr: SocketAddr = t.server.addr;
    let client = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem.as_bytes()).unwrap())
        .resolve("localhost", addr)
        .build()
        .unwrap();
    let res = client
        .get(format!("https://localhost:{}/healthz", addr.port()))
        .send()
        .await
        .expect("HTTPS with the test CA");
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("content-security-policy"));
    let report: serde_json::Value = res.json().await.unwrap();
    assert!(report["components"].is_array());
    // The live socket upgrades inside TLS too.
    let mut ws = common::connect_wss(addr, &ca).await;
    assert_eq!(common::kind(&next_json(&mut ws).await), "snapshot");
    still_live(&mut ws).await;
    // Plain HTTP on the TLS port gets no answer.
    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
        .get(format!("http://{addr}/healthz"))
        .send()
        .await;
    assert!(plain.is_err(), "plain HTTP must not be served: {plain:?}");
    stop(t).await;
}

#[tokio::test]
async fn bad_tls_files_stop_the_start_with_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cert, key) = common::test_certificate(dir.path());
    let start = |cert: std::path::PathBuf, key: std::path::PathBuf| {
        let data = dir.path().join("data");
        async move {
            let mut config = vigil::config::Config::default();
            config.server.tls_cert = Some(cert);
            config.server.tls_key = Some(key);
            let options = Options::new("127.0.0.1:0".parse().unwrap(), data, config);
            match vigil::Server::start(options).await {
                Ok(_) => panic!("started with bad TLS files"),
                Err(err) => err.to_string(),
            }
        }
    };
    let missing = start(dir.path().join("nope.pem"), key.clone()).await;
    assert!(
        missing.contains("TLS certificate") && missing.contains("nope.pem"),
        "{missing}"
    );
    let swapped = start(key.clone(), key.clone()).await;
    assert!(swapped.contains("no certificate found"), "{swapped}");
    let not_a_key = start(cert.clone(), cert.clone()).await;
    assert!(not_a_key.contains("TLS private key"), "{not_a_key}");
}

/// A minimal built site: a static file and the service worker template.
fn tiny_site(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("site");
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("pkg/vigil.css"), "body{}").unwrap();
    std::fs::write(root.join("favicon.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    std::fs::write(root.join("sw.js"), "const VERSION = '__VIGIL_VERSION__';").unwrap();
    root
}

fn assert_security_headers(what: &str, headers: &reqwest::header::HeaderMap) -> String {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}"))
            .to_string()
    };
    assert_eq!(get("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(get("referrer-policy"), "same-origin", "{what}");
    assert_eq!(get("x-frame-options"), "DENY", "{what}");
    let csp = get("content-security-policy");
    assert!(csp.contains("default-src 'self'"), "{what}: {csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
    let script = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("script-src"))
        .unwrap();
    assert!(!script.contains("'unsafe-inline'"), "{what}: {script}");
    csp
}

#[tokio::test]
async fn security_headers_are_on_pages_apis_and_static_files() {
    let dir = tempfile::tempdir().unwrap();
    let site = tiny_site(dir.path());
    let t = start_with(100, |o| o.site_root = Some(site)).await;

    let page = reqwest::get(t.http("/")).await.unwrap();
    assert_eq!(page.status(), 200);
    let csp = assert_security_headers("page", page.headers());
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("the page's policy has a nonce")
        .to_string();
    assert!(nonce.len() >= 16, "a nonce with enough entropy: {nonce}");
    let html = page.text().await.unwrap();
    let inline: Vec<&str> = html
        .split("<script")
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(attrs, _)| attrs))
        .filter(|attrs| !attrs.contains("src="))
        .collect();
    assert!(!inline.is_empty(), "the page has its hydration script");
    for attrs in inline {
        assert!(
            attrs.contains(&format!("nonce=\"{nonce}\"")),
            "an inline script without this response's nonce: <script{attrs}>"
        );
    }
    let again = reqwest::get(t.http("/")).await.unwrap();
    let other = assert_security_headers("page", again.headers());
    assert_ne!(csp, other, "a new nonce per response");

    let api = reqwest::get(t.http("/api/v1/series")).await.unwrap();
    assert_eq!(api.status(), 200);
    assert_security_headers("api", api.headers());
    for path in ["/favicon.svg", "/pkg/vigil.css", "/sw.js"] {
        let file = reqwest::get(t.http(path)).await.unwrap();
        assert_eq!(file.status(), 200, "{path}");
        assert_security_headers(path, file.headers());
    }
    let missing = reqwest::get(t.http("/no-such-page")).await.unwrap();
    assert_eq!(missing.status(), 404);
    assert_security_headers("404", missing.headers());
    stop(t).await;
}

#[tokio::test]
async fn a_trickled_body_is_cut_off_at_the_body_timeout() {
    let t = start_with(100, |o: &mut Options| {
        o.config.server.body_timeout = Duration::from_secs(1);
        o.config.server.idle_timeout = Duration::from_secs(60);
    })
    .await;
    let started = Instant::now();
    let mut slow = TcpStream::connect(t.server.addr).await.unwrap();
    slow.write_all(
        b"POST /auth/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
    )
    .await
    .unwrap();
    let (mut reader, mut writer) = slow.into_split();
    // A byte every 200 ms: always moving (so the idle timeout never
    // fires), never done.
    let trickle = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), reader.read_to_end(&mut answer))
        .await
        .expect("the request is ended within 5 s")
        .ok();
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 4"),
        "a client error, then the close: {answer}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(3),
        "cut off at the 1 s body timeout, not after {took:?}"
    );
    trickle.abort();
    let (status, _) = common::get_json(&t, "/healthz").await;
    assert_eq!(status, 200, "others are served");
    stop(t).await;
}

#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    let address = ExtraAddress::add("198.51.100.77");
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("metrics.token");
    std::fs::write(&token_file, "scrape-7c2e\n").unwrap();
    let t = start_with(100, |o: &mut Options| {
        o.bind = "0.0.0.0:0".parse().unwrap();
        o.config.server.max_connections_per_address = 4;
        o.config.auth.metrics_token_file = Some(token_file.clone());
    })
    .await;
    let port = t.server.addr.port();
    let there: SocketAddr = format!("{}:{port}", address.0).parse().unwrap();
    // Four idle connections from that address: all held open.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(there).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // The fifth is closed at once.
    let mut fifth = TcpStream::connect(there).await.unwrap();
    let closed = closed_within(&mut fifth, Duration::from_secs(2)).await;
    assert!(closed.is_some(), "a fifth connection from one address is closed");
    // Loopback (and a trusted proxy) is not counted, and is served.
    let (status, _) = common::get_json(&t, "/healthz").await;
    assert_eq!(status, 200);
    // Bound beyond loopback, /metrics wants its token.
    let text = reqwest::Client::new()
        .get(t.http("/metrics"))
        .bearer_auth("scrape-7c2e")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let refused: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("vigil_http_connections_refused_per_address_total "))
        .unwrap_or_else(|| panic!("no refused count in {text}"))
        .trim()
        .parse()
        .unwrap();
    assert!(refused >= 1.0, "{refused}");
    // One closes: the address gets its slot back.
    held.pop();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut again = TcpStream::connect(there).await.unwrap();
    let answer = common::raw_get_on(&mut again, "/healthz").await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(held);
    stop(t).await;
    drop(address);
}

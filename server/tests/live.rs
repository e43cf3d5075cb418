//! The `/ws` contract against a real server and a real WebSocket client.

mod common;

use std::time::Duration;

use common::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_new_client_gets_a_snapshot_then_consecutive_samples() {
    let t = start(100).await;
    let mut ws = connect(&t.ws_url("")).await;
    let first = next_json(&mut ws).await;
    assert_eq!(kind(&first), "snapshot");
    assert!(
        first["data"]["current"]["memory"]["total"].as_u64().unwrap() > 0,
        "real values: {first}"
    );
    assert_eq!(first["data"]["seq"], first["seq"]);
    let mut last = seq(&first);
    for _ in 0..5 {
        let frame = next_json(&mut ws).await;
        assert_eq!(kind(&frame), "sample");
        assert_eq!(seq(&frame), last + 1, "no gaps, no repeats");
        assert!(frame["data"]["ts"].as_i64().unwrap() > 0);
        last = seq(&frame);
    }
}

#[tokio::test]
async fn a_reconnecting_client_resumes_without_a_gap() {
    let t = start(50).await;
    let mut ws = connect(&t.ws_url("")).await;
    let mut last = seq(&next_json(&mut ws).await);
    for _ in 0..3 {
        last = seq(&next_json(&mut ws).await);
    }
    ws.close(None).await.unwrap();
    drop(ws);
    // Frames keep flowing while the client is away.
    tokio::time::sleep(Duration::from_millis(400)).await;

    let mut ws = connect(&t.ws_url(&format!("?since={last}"))).await;
    // At least the ~8 frames published while away, then live ones, with no
    // snapshot in between and no seq skipped.
    for _ in 0..12 {
        let frame = next_json(&mut ws).await;
        assert!(
            ["sample", "health", "health_changes"].contains(&kind(&frame)),
            "{frame}"
        );
        assert_eq!(seq(&frame), last + 1, "resume continues right after {last}");
        last = seq(&frame);
    }
}

#[tokio::test]
async fn resuming_from_frames_no_longer_held_sends_one_resync() {
    let t = start(100).await;
    let mut ws = connect(&t.ws_url("?since=1")).await;
    let first = next_json(&mut ws).await;
    assert_eq!(kind(&first), "resync");
    assert!(first["data"]["current"]["cpu"]["cores"]
        .as_array()
        .is_some_and(|c| !c.is_empty()));
    let next = next_json(&mut ws).await;
    assert_eq!((kind(&next), seq(&next)), ("sample", seq(&first) + 1));
}

/// A WebSocket opening handshake without its key, sent as a plain request
/// to read the server's refusal.
fn upgrade_request(url: &str) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .get(url)
        .header("connection", "upgrade")
        .header("upgrade", "websocket")
        .header("sec-websocket-version", "13")
}

#[tokio::test]
async fn a_bogus_since_is_a_json_error() {
    let t = start(1000).await;
    let res = upgrade_request(&t.http("/ws?since=yesterday"))
        .header("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("since"), "{body}");
}

#[tokio::test]
async fn bad_frames_are_refused_while_other_clients_keep_receiving() {
    let t = start(50).await;
    let mut watcher = connect(&t.ws_url("")).await;
    let mut last = seq(&next_json(&mut watcher).await);

    let mut malformed = connect(&t.ws_url("")).await;
    malformed.send(Message::text("{not json")).await.unwrap();
    expect_close(&mut malformed, CloseCode::Invalid, "malformed frame").await;

    let mut oversized = connect(&t.ws_url("")).await;
    oversized.send(Message::text("x".repeat(10_000))).await.unwrap();
    expect_close(&mut oversized, CloseCode::Size, "too large").await;

    let mut binary = connect(&t.ws_url("")).await;
    binary.send(Message::binary(vec![0u8; 16])).await.unwrap();
    expect_close(&mut binary, CloseCode::Unsupported, "binary").await;

    // A valid ping is fine and does not end the connection.
    let mut polite = connect(&t.ws_url("")).await;
    polite.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(kind(&next_json(&mut polite).await), "snapshot");
    assert_eq!(kind(&next_json(&mut polite).await), "sample");

    for _ in 0..5 {
        let frame = next_json(&mut watcher).await;
        assert_eq!(seq(&frame), last + 1);
        last = seq(&frame);
    }
    let health: serde_json::Value = reqwest::get(t.http("/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(component_status(&health, "websocket hub"), "up", "{health}");
}

#[tokio::test]
async fn a_foreign_origin_is_refused_and_the_own_origin_accepted() {
    let t = start(1000).await;
    let mut req = t.ws_url("").into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "http://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) => assert_eq!(res.status(), 403),
        other => panic!("expected 403, got {:?}", other.map(|(_, r)| r.status())),
    }
    let mut req = t.ws_url("").into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", format!("http://{}", t.server.addr).parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(req)
        .await
        .expect("own origin accepted");
    assert_eq!(kind(&next_json(&mut ws).await), "snapshot");
}

#[tokio::test]
async fn graceful_shutdown_sends_every_client_a_close_frame() {
    let t = start(100).await;
    let mut a = connect(&t.ws_url("")).await;
    let mut b = connect(&t.ws_url("")).await;
    next_json(&mut a).await;
    next_json(&mut b).await;
    t.server.shutdown();
    expect_close(&mut a, CloseCode::Away, "shutting down").await;
    expect_close(&mut b, CloseCode::Away, "shutting down").await;
    let TestServer { server, data: _data } = t;
    tokio::time::timeout(Duration::from_secs(10), server.wait())
        .await
        .expect("server stops within 10 s")
        .expect("clean stop");
}

// A client that stops reading is covered by the channel-driven unit test in
// `live::ws` (`a_client_that_stops_reading_is_dropped`): over real loopback
// TCP the kernel's send buffer grows to megabytes before a write stalls,
// which takes far longer than a test should.

#[tokio::test]
async fn the_snapshot_carries_health_and_the_stream_announces_it() {
    let t = start(100).await;
    let mut ws = connect(&t.ws_url("")).await;
    let snapshot = next_json(&mut ws).await;
    let health = &snapshot["data"]["health"];
    assert_eq!(component_status(health, "websocket hub"), "up", "{health}");
    // The start-up rollup went out as a `health` frame right after the
    // first sample: resuming from the start replays both.
    let snap_seq = seq(&snapshot);
    let (mut ws, mut since) = (None, snap_seq);
    while since > snap_seq.saturating_sub(20) {
        since -= 1;
        let mut c = connect(&t.ws_url(&format!("?since={since}"))).await;
        if kind(&next_json(&mut c).await) == "resync" {
            // Before the stream's first frame: start from the one after.
            since += 1;
            ws = Some(connect(&t.ws_url(&format!("?since={since}"))).await);
            break;
        }
    }
    let mut ws = ws.expect("found the stream's start");
    let mut kinds = vec![];
    for _ in 0..2 {
        kinds.push(kind(&next_json(&mut ws).await).to_string());
    }
    assert_eq!(kinds, ["sample", "health"], "frames after {since}");
}

#[tokio::test]
async fn a_clients_ping_is_answered_and_its_close_echoed() {
    use tokio_tungstenite::tungstenite::protocol::CloseFrame;
    let t = start(100).await;
    let mut ws = connect(&t.ws_url("")).await;
    assert_eq!(kind(&next_json(&mut ws).await), "snapshot");
    ws.send(Message::Ping("are you there".into())).await.unwrap();
    let pong = async {
        loop {
            match next_message(&mut ws).await {
                Message::Pong(payload) => return payload,
                Message::Text(_) | Message::Ping(_) => continue,
                other => panic!("expected a pong, got {other:?}"),
            }
        }
    };
    let payload = tokio::time::timeout(Duration::from_secs(5), pong)
        .await
        .expect("a pong within 5 s");
    assert_eq!(&payload[..], b"are you there");
    ws.close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "leaving".into(),
    }))
    .await
    .unwrap();
    // Frames already on their way may come first; then the echo, then the end.
    let echo = async {
        loop {
            match next_message(&mut ws).await {
                Message::Close(frame) => return frame,
                _ => continue,
            }
        }
    };
    let echo = tokio::time::timeout(Duration::from_secs(5), echo)
        .await
        .expect("the close echoed within 5 s");
    assert_eq!(
        echo.map(|f| f.code),
        Some(CloseCode::Away),
        "the client's code comes back"
    );
    let end = tokio::time::timeout(Duration::from_secs(5), futures_util::StreamExt::next(&mut ws))
        .await
        .expect("the server ends the connection");
    assert!(
        end.is_none() || end.is_some_and(|r| r.is_err()),
        "nothing after the close"
    );
}

#[tokio::test]
async fn a_request_that_is_no_websocket_handshake_is_told_what_is_missing() {
    let t = start(1000).await;
    let res = reqwest::get(t.http("/ws")).await.unwrap();
    assert_eq!(res.status(), 426);
    assert_eq!(res.headers()["upgrade"], "websocket");
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Upgrade: websocket"), "{body}");

    let res = upgrade_request(&t.http("/ws")).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("Sec-WebSocket-Key"), "{body}");
}

#[tokio::test]
async fn a_frame_sent_with_the_handshake_is_read_not_lost() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::Role;
    let t = start(100).await;
    let mut tcp = tokio::net::TcpStream::connect(t.server.addr).await.unwrap();
    // The handshake and a masked ping in one write, before any 101: the
    // ping reaches the server in the same read as the request's header.
    let mut bytes = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        t.server.addr
    )
    .into_bytes();
    let mut ping = Frame::ping(&b"early"[..]);
    ping.header_mut().mask = Some([1, 2, 3, 4]);
    ping.format(&mut bytes).unwrap();
    tcp.write_all(&bytes).await.unwrap();
    // Read the 101's header; what follows it is the start of the frames.
    let mut read = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), tcp.read(&mut chunk))
            .await
            .expect("an answer within 5 s")
            .unwrap();
        assert!(n > 0, "the server closed: {}", String::from_utf8_lossy(&read));
        read.extend_from_slice(&chunk[..n]);
        if let Some(at) = read.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    assert!(
        read.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&read[..end])
    );
    let rest = read.split_off(end);
    let mut ws = tokio_tungstenite::WebSocketStream::from_partially_read(tcp, rest, Role::Client, None).await;
    let pong = async {
        loop {
            match futures_util::StreamExt::next(&mut ws).await {
                Some(Ok(Message::Pong(payload))) => return payload,
                Some(Ok(_)) => continue,
                other => panic!("the stream ended before a pong: {other:?}"),
            }
        }
    };
    let payload = tokio::time::timeout(Duration::from_secs(5), pong)
        .await
        .expect("the early ping answered within 5 s");
    assert_eq!(&payload[..], b"early");
}

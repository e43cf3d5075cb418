//! The floor server in-process: measured by the `ws` scenario, spoken to
//! with raw HTTP and a WebSocket client, and restarted under a `herd`.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use vigil_load::floor::{self, FloorConfig, FloorReport};
use vigil_load::herd::{self, HerdConfig};
use vigil_load::ws::{self, WsConfig};

/// A running floor and the means to stop it.
struct Floor {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<FloorReport>,
}

impl Floor {
    async fn start_on(addr: &str, cfg: FloorConfig) -> Floor {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            floor::serve(listener, cfg, async {
                let _ = stopped.await;
            })
            .await
            .unwrap()
        });
        Floor { addr, stop, task }
    }

    async fn stop(self) -> FloorReport {
        let _ = self.stop.send(());
        self.task.await.unwrap()
    }
}

fn fast(frame_bytes: usize) -> FloorConfig {
    FloorConfig {
        interval: Duration::from_millis(50),
        frame_bytes,
        shards: 2,
        ..FloorConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ws_clients_see_contiguous_samples_of_the_set_size() {
    let floor = Floor::start_on("127.0.0.1:0", fast(400)).await;
    let report = ws::run(WsConfig {
        url: format!("ws://{}/ws", floor.addr),
        clients: 3,
        duration: Duration::from_millis(1200),
        connect_concurrency: 3,
        connect_timeout: Duration::from_secs(5),
        close_timeout: Duration::from_secs(2),
        server_pid: None,
        nofile_limit: None,
        progress: false,
    })
    .await
    .unwrap();

    assert_eq!(report.connected, 3, "{report:?}");
    // ~24 ticks per client in the window.
    assert!(report.samples >= 3 * 15, "{report:?}");
    assert_eq!(report.seq_gaps, 0, "{report:?}");
    assert_eq!(report.malformed, 0);
    assert_eq!(report.disconnects, 0, "{report:?}");
    assert_eq!(report.clients_without_samples, 0);
    assert_eq!(report.sample_bytes_mean, Some(400.0));
    let lag = report.lag.expect("lag recorded");
    assert!(lag.p50_ms < 1000.0, "{lag:?}");

    let served = floor.stop().await;
    assert_eq!(served.upgraded, 3);
    assert_eq!(served.clients_peak, 3);
    // Every client said Close and got the reply.
    assert_eq!(served.closed_by_client, 3, "{served:?}");
    assert_eq!(served.clients_at_end, 0);
    assert_eq!(served.write_errors + served.dropped_slow + served.disconnected, 0);
    assert_eq!(served.wire_frame_bytes, 404);
    assert!(
        served.ticks >= 24 && served.last_seq == served.first_seq + served.ticks,
        "{served:?}"
    );
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_health_checks_and_refuses_other_paths() {
    let floor = Floor::start_on("127.0.0.1:0", fast(200)).await;
    let ok = http_get(floor.addr, "/healthz").await;
    assert!(ok.starts_with("HTTP/1.1 200 OK\r\n") && ok.ends_with("ok\n"), "{ok}");
    let nope = http_get(floor.addr, "/api/x").await;
    assert!(nope.starts_with("HTTP/1.1 404 "), "{nope}");
    let served = floor.stop().await;
    assert_eq!((served.health_checks, served.refused_requests), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_first_then_samples_then_going_away() {
    let floor = Floor::start_on("127.0.0.1:0", fast(300)).await;
    let stream = TcpStream::connect(floor.addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{}/ws?since=5", floor.addr), stream)
        .await
        .unwrap();
    let text = |m: Option<Result<Message, _>>| match m {
        Some(Ok(Message::Text(t))) => t.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    };
    let first: serde_json::Value = serde_json::from_str(&text(ws.next().await)).unwrap();
    assert_eq!(first["type"], "snapshot");
    let seq = first["seq"].as_u64().unwrap();
    for next in 1..=3 {
        let raw = text(ws.next().await);
        assert_eq!(raw.len(), 300);
        let sample: serde_json::Value = serde_json::from_str(&raw).unwrap();
        assert_eq!(sample["type"], "sample");
        assert_eq!(sample["seq"].as_u64(), Some(seq + next));
        assert!(sample["data"]["ts"].as_u64().unwrap() > 1_600_000_000_000);
    }

    let stopping = tokio::spawn(floor.stop());
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 1001);
                break;
            }
            Some(Ok(Message::Text(_))) => {}
            other => panic!("expected a 1001 close, got {other:?}"),
        }
    }
    let served = stopping.await.unwrap();
    assert_eq!(served.clients_at_end, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn herd_comes_back_after_a_restart() {
    let floor = Floor::start_on("127.0.0.1:0", fast(200)).await;
    let addr = floor.addr;
    let ready = std::env::temp_dir().join(format!("vigil-load-herd-test-{}.ready", std::process::id()));
    let _ = std::fs::remove_file(&ready);
    let cfg = HerdConfig {
        ready_file: Some(ready.clone()),
        max_wait: Duration::from_secs(20),
        ..HerdConfig::new(format!("ws://{addr}/ws"), 20)
    };
    let run = tokio::spawn(herd::run(cfg));
    for _ in 0..100 {
        if ready.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ready.exists(), "the herd never got ready");
    std::fs::remove_file(&ready).unwrap();

    floor.stop().await;
    // Down longer than the longest going-away retry (2 s), so every
    // client's first retry meets a closed port: with a shorter outage, all
    // 20 first retries could land after it and none be refused.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let again = Floor::start_on(&addr.to_string(), fast(200)).await;
    let report = run.await.unwrap().unwrap();
    again.stop().await;

    assert_eq!(report.connected, 20, "{report:?}");
    assert_eq!(report.disconnected, 20);
    assert_eq!(report.close_reasons[0].error, "close 1001");
    assert_eq!(report.reconnected, 20, "{report:?}");
    assert_eq!(report.never_reconnected, 0);
    assert!(!report.timed_out && !report.no_restart);
    assert!(report.back_after_refusal);
    let down = report.downtime_secs.unwrap();
    assert!((0.6..5.0).contains(&down), "downtime {down}");
    assert!(report.refused_during_downtime > 0, "{report:?}");
    // Going-away retries wait less than 2 s, so all are back within ~2 s.
    let back = report.reconnect.unwrap();
    assert!(back.max_ms < 2_500.0, "{back:?}");
    assert_eq!(
        report.connects_per_bin.iter().sum::<u64>(),
        20 - report.reconnected_before_back as u64
    );
    assert_eq!(report.reconnect_ms_each.len(), 20);
    assert!(report.reconnect_ms_each.windows(2).all(|w| w[0] <= w[1]));
    assert!((report.reconnect_ms_each[19] - back.max_ms).abs() < back.max_ms * 0.01 + 0.2);
    assert!(herd::render_text(&report).contains("herd after back"));
}

/// The `seq` of a floor frame, read from its prefix (the frames are large).
fn seq_of(text: &str) -> u64 {
    let rest = text.split_once(r#""seq":"#).expect("a seq").1;
    rest[..rest.find(',').unwrap()].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_is_dropped_and_the_others_keep_up() {
    // 256 KiB every 10 ms: a silent client fills its socket buffers within
    // about half a second, then falls `max_backlog` frames behind.
    let floor = Floor::start_on(
        "127.0.0.1:0",
        FloorConfig {
            interval: Duration::from_millis(10),
            frame_bytes: 256 * 1024,
            shards: 1,
            max_backlog: 2,
            ..FloorConfig::default()
        },
    )
    .await;

    let mut silent = TcpStream::connect(floor.addr).await.unwrap();
    silent
        .write_all(
            b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
              Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        )
        .await
        .unwrap();
    let mut head = [0u8; 12];
    silent.read_exact(&mut head).await.unwrap();
    assert_eq!(&head, b"HTTP/1.1 101");

    let stream = TcpStream::connect(floor.addr).await.unwrap();
    let (mut reader, _) = tokio_tungstenite::client_async(format!("ws://{}/ws", floor.addr), stream)
        .await
        .unwrap();
    let mut last = None;
    let mut samples = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    while tokio::time::Instant::now() < deadline {
        let Some(Ok(Message::Text(text))) = reader.next().await else {
            panic!("the reading client lost its stream");
        };
        let seq = seq_of(text.as_str());
        if let Some(prev) = last {
            assert_eq!(seq, prev + 1, "gap for the reading client");
            samples += 1;
        }
        last = Some(seq);
    }
    assert!(samples > 50, "{samples} samples");

    let served = floor.stop().await;
    assert_eq!(served.dropped_slow, 1, "{served:?}");
    assert!(served.blocked_writes > 0, "{served:?}");
    drop(silent);
}

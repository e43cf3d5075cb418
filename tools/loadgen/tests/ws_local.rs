//! End-to-end run of the `ws` scenario against a small in-process server that
//! speaks the same frame format as Vigil.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::Message;
use vigil_load::ws::{run, WsConfig};

#[derive(Clone, Copy)]
struct ServerBehaviour {
    tick: Duration,
    /// Send an unparsable frame every N ticks.
    malformed_every: u64,
    /// Skip one seq every N ticks.
    gap_every: u64,
    /// Close each connection after this many ticks.
    close_after: Option<u64>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

async fn start_server(b: ServerBehaviour) -> std::net::SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let mut seq = 0u64;
                let snapshot =
                    format!(r#"{{"type":"snapshot","seq":{seq},"data":{{"hosts":[{{"name":"x","cpu":[1,2,3]}}]}}}}"#);
                if ws.send(Message::text(snapshot)).await.is_err() {
                    return;
                }
                let mut interval = tokio::time::interval(b.tick);
                interval.tick().await;
                let mut ticks = 0u64;
                loop {
                    tokio::select! {
                        _ = interval.tick() => {
                            ticks += 1;
                            if b.close_after == Some(ticks) {
                                let _ = ws.close(None).await;
                                // Drain until the client answers the close.
                                while let Some(Ok(_)) = ws.next().await {}
                                return;
                            }
                            if ticks.is_multiple_of(b.malformed_every)
                                && ws.send(Message::text("{not json")).await.is_err() {
                                return;
                            }
                            seq += 1;
                            if ticks.is_multiple_of(b.gap_every) {
                                seq += 1;
                            }
                            let sample = format!(
                                r#"{{"type":"sample","seq":{seq},"data":{{"ts":{},"cpu":0.5,"mem":{{"used":1024}}}}}}"#,
                                now_ms()
                            );
                            if ws.send(Message::text(sample)).await.is_err() {
                                return;
                            }
                            if ticks.is_multiple_of(4) {
                                let hb = format!(r#"{{"type":"heartbeat","seq":{seq},"ts":{}}}"#, now_ms());
                                if ws.send(Message::text(hb)).await.is_err() {
                                    return;
                                }
                                if ws.send(Message::Ping(Vec::new().into())).await.is_err() {
                                    return;
                                }
                            }
                        }
                        msg = ws.next() => match msg {
                            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                            Some(Ok(_)) => {}
                        },
                    }
                }
            });
        }
    });
    addr
}

fn config(addr: std::net::SocketAddr, clients: usize) -> WsConfig {
    WsConfig {
        url: format!("ws://{addr}/ws"),
        clients,
        duration: Duration::from_millis(1200),
        connect_concurrency: 8,
        connect_timeout: Duration::from_secs(5),
        close_timeout: Duration::from_secs(2),
        server_pid: Some(std::process::id()),
        nofile_limit: None,
        progress: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measures_local_server() {
    let addr = start_server(ServerBehaviour {
        tick: Duration::from_millis(50),
        malformed_every: 7,
        gap_every: 9,
        close_after: None,
    })
    .await;
    let report = run(config(addr, 20)).await.unwrap();

    assert_eq!(report.connected, 20, "{report:?}");
    assert_eq!(report.failed, 0);
    assert_eq!(report.disconnects, 0, "{report:?}");
    assert_eq!(report.unreported_clients, 0);
    assert!(report.duration_secs >= 1.2);
    // ~24 ticks per client in the window.
    assert!(report.samples >= 20 * 15, "{report:?}");
    assert!(report.samples_per_sec_per_client > 10.0, "{report:?}");
    assert!(report.frames > report.samples);
    assert!(report.malformed >= 20, "{report:?}");
    assert!(report.seq_gaps >= 20, "{report:?}");
    assert_eq!(report.missed_seqs, report.seq_gaps);
    assert!(report.heartbeats > 0);
    assert_eq!(report.resyncs, 0);
    let lag = report.lag.expect("lag recorded");
    assert_eq!(lag.count, report.samples);
    assert!(lag.p50_ms < 1000.0, "{lag:?}");
    assert!(lag.p50_ms <= lag.p99_ms && lag.p99_ms <= lag.max_ms);
    let server = report.server.as_ref().unwrap();
    assert!(server.rss_samples >= 1);
    assert!(server.rss_peak_mib.unwrap() > 0.0);
    assert!(server.cpu_percent.is_some());

    let text = vigil_load::ws::render_text(&report);
    assert!(text.contains("lag ms"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["connected"], 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_server_disconnects() {
    let addr = start_server(ServerBehaviour {
        tick: Duration::from_millis(50),
        malformed_every: 1000,
        gap_every: 1000,
        close_after: Some(10),
    })
    .await;
    let report = run(config(addr, 5)).await.unwrap();
    assert_eq!(report.connected, 5);
    assert_eq!(report.disconnects, 5, "{report:?}");
    assert!(report.disconnect_reasons[0].error.contains("server closed"));
}

#[tokio::test]
async fn failed_connects_are_reported() {
    // Bind and drop to get a port that nothing listens on.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let mut cfg = config(addr, 3);
    cfg.duration = Duration::from_millis(100);
    let report = run(cfg).await.unwrap();
    assert_eq!(report.connected, 0);
    assert_eq!(report.failed, 3);
    assert_eq!(report.connect_errors.iter().map(|e| e.count).sum::<u64>(), 3);
    assert!(report.lag.is_none());
}

#[tokio::test]
async fn refuses_remote_targets() {
    let mut cfg = config("127.0.0.1:9".parse().unwrap(), 1);
    cfg.url = "ws://192.0.2.1:3000/ws".into();
    let err = run(cfg).await.unwrap_err();
    assert!(err.to_string().contains("non-loopback"), "{err}");
}

//! `vigil-load ws`: many WebSocket clients, delivery lag and server footprint.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use futures_util::StreamExt;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

use crate::frame::{parse_frame, FrameError, FrameKind, SeqCheck, SeqTracker};
use crate::procfs;
use crate::stats::{self, LagSummary, SharedLag, LOCAL_FLUSH_AT};
use crate::target::{parse_loopback_ws_url, resolve_loopback};

/// Settings for one `ws` run.
#[derive(Debug, Clone)]
pub struct WsConfig {
    pub url: String,
    pub clients: usize,
    pub duration: Duration,
    pub connect_concurrency: usize,
    pub connect_timeout: Duration,
    pub close_timeout: Duration,
    pub server_pid: Option<u32>,
    /// Soft RLIMIT_NOFILE after raising it, if known (only used for the report).
    pub nofile_limit: Option<u64>,
    /// Print progress lines on stderr.
    pub progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Measuring,
    Stop,
}

/// One error message and how often it was seen.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ErrorCount {
    pub error: String,
    pub count: u64,
}

/// Server resource usage over the measurement window.
#[derive(Debug, Clone, Serialize)]
pub struct ServerUsage {
    pub pid: u32,
    pub rss_median_mib: Option<f64>,
    pub rss_peak_mib: Option<f64>,
    pub rss_samples: usize,
    /// Percent of one core (can exceed 100 on several cores).
    pub cpu_percent: Option<f64>,
    pub error: Option<String>,
}

/// Result of a `ws` run.
#[derive(Debug, Clone, Serialize)]
pub struct WsReport {
    pub url: String,
    pub clients: usize,
    pub connected: usize,
    pub failed: usize,
    pub connect_secs: f64,
    pub connect_errors: Vec<ErrorCount>,
    pub nofile_limit: Option<u64>,
    pub interrupted: bool,
    /// Length of the measurement window actually used.
    pub duration_secs: f64,
    /// Data frames (text or binary) received during the window.
    pub frames: u64,
    pub samples: u64,
    pub samples_per_sec_per_client: f64,
    /// Mean length of a `sample` frame's JSON text: what `floor --frame-bytes`
    /// should be to match this server.
    pub sample_bytes_mean: Option<f64>,
    pub lag: Option<LagSummary>,
    /// Samples whose `data.ts` was later than the receive time (clock issue); recorded as 0.
    pub negative_lag: u64,
    pub seq_gaps: u64,
    pub missed_seqs: u64,
    pub clients_with_gaps: usize,
    pub clients_without_samples: usize,
    pub snapshots: u64,
    pub resyncs: u64,
    pub heartbeats: u64,
    pub other_frames: u64,
    pub malformed: u64,
    /// Server-side closes or errors after a client had connected (whole run).
    pub disconnects: usize,
    pub disconnects_during_measurement: usize,
    pub disconnect_reasons: Vec<ErrorCount>,
    /// Clients whose statistics did not come back before the close deadline.
    pub unreported_clients: usize,
    pub server: Option<ServerUsage>,
    /// CPU used by this load generator during the window (percent of one core).
    pub loadgen_cpu_percent: Option<f64>,
}

#[derive(Debug, Default)]
struct ClientStats {
    connected: bool,
    frames: u64,
    samples: u64,
    sample_bytes: u64,
    negative_lag: u64,
    gaps: u64,
    missed: u64,
    snapshots: u64,
    resyncs: u64,
    heartbeats: u64,
    other: u64,
    malformed: u64,
    disconnect: Option<String>,
    disconnect_while_measuring: bool,
}

struct Shared {
    addr: SocketAddr,
    url: String,
    connect_sem: Semaphore,
    connect_timeout: Duration,
    close_timeout: Duration,
    lag: SharedLag,
    connect_tx: mpsc::UnboundedSender<std::result::Result<(), String>>,
    result_tx: mpsc::UnboundedSender<ClientStats>,
}

pub(crate) fn ws_config() -> WebSocketConfig {
    // Small buffers: with 10k connections the 128 KiB defaults add up.
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
}

async fn connect_one(addr: SocketAddr, url: &str) -> Result<WebSocketStream<TcpStream>> {
    let stream = TcpStream::connect(addr).await.context("tcp connect")?;
    stream.set_nodelay(true).ok();
    let request = url.into_client_request().context("building request")?;
    let (ws, _response) = client_async_with_config(request, stream, Some(ws_config()))
        .await
        .context("websocket handshake")?;
    Ok(ws)
}

fn now_unix_us() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1e6)
        .unwrap_or(0.0)
}

impl ClientStats {
    fn on_text(
        &mut self,
        text: &str,
        received_us: f64,
        measuring: bool,
        seq: &mut SeqTracker,
        local_lags: &mut Vec<u64>,
    ) {
        if measuring {
            self.frames += 1;
        }
        let frame = match parse_frame(text) {
            Ok(f) => f,
            Err(FrameError::Invalid) | Err(FrameError::SampleWithoutTs) => {
                if measuring {
                    self.malformed += 1;
                }
                return;
            }
        };
        let check = seq.observe(&frame);
        if !measuring {
            return;
        }
        match frame.kind {
            FrameKind::Sample => {
                self.samples += 1;
                self.sample_bytes += text.len() as u64;
                if let SeqCheck::Gap { missing } = check {
                    self.gaps += 1;
                    self.missed += missing;
                }
                if let Some(ts_ms) = frame.sample_ts_ms {
                    let lag_us = received_us - ts_ms * 1000.0;
                    if lag_us < 0.0 {
                        self.negative_lag += 1;
                        local_lags.push(0);
                    } else {
                        local_lags.push(lag_us.round() as u64);
                    }
                }
            }
            FrameKind::Snapshot => self.snapshots += 1,
            FrameKind::Resync => self.resyncs += 1,
            FrameKind::Heartbeat => self.heartbeats += 1,
            FrameKind::Other => self.other += 1,
        }
    }
}

async fn client_task(id: usize, shared: Arc<Shared>, mut phase: watch::Receiver<Phase>) {
    let mut st = ClientStats::default();

    let connected = {
        let _permit = shared.connect_sem.acquire().await;
        if *phase.borrow() == Phase::Stop {
            Err("not attempted (stopped)".to_string())
        } else {
            match tokio::time::timeout(shared.connect_timeout, connect_one(shared.addr, &shared.url)).await {
                Ok(Ok(ws)) => Ok(ws),
                Ok(Err(e)) => Err(format!("{e:#}")),
                Err(_) => Err(format!("connect timed out after {:?}", shared.connect_timeout)),
            }
        }
    };
    let mut ws = match connected {
        Ok(ws) => {
            let _ = shared.connect_tx.send(Ok(()));
            ws
        }
        Err(e) => {
            let _ = shared.connect_tx.send(Err(e));
            let _ = shared.result_tx.send(st);
            return;
        }
    };
    st.connected = true;

    let mut seq = SeqTracker::default();
    let mut local_lags: Vec<u64> = Vec::with_capacity(16);
    let mut current = *phase.borrow_and_update();
    while current != Phase::Stop {
        tokio::select! {
            changed = phase.changed() => {
                current = if changed.is_ok() { *phase.borrow_and_update() } else { Phase::Stop };
            }
            msg = ws.next() => {
                let measuring = current == Phase::Measuring;
                match msg {
                    Some(Ok(Message::Text(text))) => {
                        let received_us = now_unix_us();
                        st.on_text(text.as_str(), received_us, measuring, &mut seq, &mut local_lags);
                        if local_lags.len() >= LOCAL_FLUSH_AT {
                            shared.lag.flush(id, &mut local_lags);
                        }
                    }
                    Some(Ok(Message::Binary(_))) => {
                        if measuring {
                            st.frames += 1;
                            st.malformed += 1;
                        }
                    }
                    // Pings are answered by tungstenite while we keep reading.
                    Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    Some(Ok(Message::Close(frame))) => {
                        let reason = match frame {
                            Some(f) => format!("server closed ({})", u16::from(f.code)),
                            None => "server closed".to_string(),
                        };
                        st.disconnect = Some(reason);
                        st.disconnect_while_measuring = measuring;
                        break;
                    }
                    Some(Err(e)) => {
                        st.disconnect = Some(format!("error: {e}"));
                        st.disconnect_while_measuring = measuring;
                        break;
                    }
                    None => {
                        st.disconnect = Some("connection ended without close".to_string());
                        st.disconnect_while_measuring = measuring;
                        break;
                    }
                }
            }
        }
    }
    shared.lag.flush(id, &mut local_lags);
    let _ = shared.result_tx.send(st);

    // Polite, bounded close: send Close and wait briefly for the server's reply.
    let _ = tokio::time::timeout(shared.close_timeout, async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

pub(crate) fn tally(map: &mut HashMap<String, u64>, key: String) {
    *map.entry(key).or_insert(0) += 1;
}

pub(crate) fn top_errors(map: HashMap<String, u64>, n: usize) -> Vec<ErrorCount> {
    let mut v: Vec<ErrorCount> = map
        .into_iter()
        .map(|(error, count)| ErrorCount { error, count })
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.error.cmp(&b.error)));
    v.truncate(n);
    v
}

/// Samples the server's RSS once per second until `phase` becomes `Stop`.
async fn sample_rss(pid: u32, mut phase: watch::Receiver<Phase>) -> (Vec<f64>, Option<String>) {
    let mut rss = Vec::new();
    let mut error = None;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                match procfs::read_rss_kib(pid) {
                    Ok(kib) => rss.push(procfs::kib_to_mib(kib)),
                    Err(e) => {
                        error = Some(format!("{e:#}"));
                        break;
                    }
                }
            }
            changed = phase.changed() => {
                if changed.is_err() || *phase.borrow_and_update() == Phase::Stop {
                    break;
                }
            }
        }
    }
    (rss, error)
}

fn progress(enabled: bool, msg: impl AsRef<str>) {
    if enabled {
        eprintln!("[vigil-load] {}", msg.as_ref());
    }
}

/// Runs the whole `ws` scenario and returns its report.
pub async fn run(cfg: WsConfig) -> Result<WsReport> {
    let target = parse_loopback_ws_url(&cfg.url)?;
    let addr = resolve_loopback(&target).await?;
    if let Some(pid) = cfg.server_pid {
        procfs::read_stat(pid).with_context(|| format!("server pid {pid} is not readable"))?;
    }
    let n = cfg.clients;
    let ticks_per_sec = procfs::clock_ticks_per_sec();

    let (phase_tx, phase_rx) = watch::channel(Phase::Connecting);
    let (connect_tx, mut connect_rx) = mpsc::unbounded_channel();
    let (result_tx, mut result_rx) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared {
        addr,
        url: target.url.clone(),
        connect_sem: Semaphore::new(cfg.connect_concurrency.max(1)),
        connect_timeout: cfg.connect_timeout,
        close_timeout: cfg.close_timeout,
        lag: SharedLag::new(64),
        connect_tx,
        result_tx,
    });

    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut interrupted = false;

    // --- connect phase -------------------------------------------------
    progress(
        cfg.progress,
        format!(
            "connecting {n} clients to {} ({addr}), {} at a time",
            cfg.url, cfg.connect_concurrency
        ),
    );
    let connect_start = Instant::now();
    let mut tasks = JoinSet::new();
    for id in 0..n {
        tasks.spawn(client_task(id, shared.clone(), phase_rx.clone()));
    }
    let mut connected = 0usize;
    let mut failed = 0usize;
    let mut connect_errors = HashMap::new();
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.tick().await;
    while connected + failed < n {
        tokio::select! {
            r = connect_rx.recv() => match r {
                Some(Ok(())) => connected += 1,
                Some(Err(e)) => {
                    failed += 1;
                    tally(&mut connect_errors, e);
                }
                None => break,
            },
            _ = tick.tick() => progress(cfg.progress, format!("  {connected} connected, {failed} failed, {:.1}s", connect_start.elapsed().as_secs_f64())),
            _ = &mut ctrl_c, if !interrupted => {
                interrupted = true;
                progress(cfg.progress, "interrupted while connecting; stopping");
                let _ = phase_tx.send(Phase::Stop);
            }
        }
    }
    let connect_secs = connect_start.elapsed().as_secs_f64();
    progress(
        cfg.progress,
        format!("connected {connected}/{n} ({failed} failed) in {connect_secs:.2}s"),
    );

    // --- measurement window ----------------------------------------------
    let mut server_cpu_start = None;
    let mut rss_task = None;
    let self_cpu_start = procfs::read_self_cpu().ok();
    let measure_start = Instant::now();
    let measured = !interrupted;
    if measured {
        if let Some(pid) = cfg.server_pid {
            server_cpu_start = procfs::read_stat(pid).ok().map(|s| s.cpu);
            rss_task = Some(tokio::spawn(sample_rss(pid, phase_rx.clone())));
        }
        let _ = phase_tx.send(Phase::Measuring);
        progress(
            cfg.progress,
            format!("measuring for {}", humantime::format_duration(cfg.duration)),
        );
        tokio::select! {
            _ = tokio::time::sleep(cfg.duration) => {}
            _ = &mut ctrl_c => {
                interrupted = true;
                progress(cfg.progress, "interrupted; ending measurement early");
            }
        }
    }
    let duration_secs = if measured {
        measure_start.elapsed().as_secs_f64()
    } else {
        0.0
    };
    let _ = phase_tx.send(Phase::Stop);
    let self_cpu_end = procfs::read_self_cpu().ok();
    let server_cpu_end = cfg
        .server_pid
        .and_then(|pid| procfs::read_stat(pid).ok().map(|s| s.cpu));
    drop(phase_rx);

    // --- collect and close -------------------------------------------------
    progress(cfg.progress, "closing connections");
    let mut per_client = Vec::with_capacity(n);
    let collect_deadline = cfg.close_timeout + Duration::from_secs(10);
    let _ = tokio::time::timeout(collect_deadline, async {
        while per_client.len() < n {
            match result_rx.recv().await {
                Some(s) => per_client.push(s),
                None => break,
            }
        }
    })
    .await;
    let unreported = n - per_client.len();
    let close_deadline = cfg.close_timeout + Duration::from_secs(5);
    if tokio::time::timeout(close_deadline, async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        progress(
            cfg.progress,
            format!("{} clients did not close in time; dropping them", tasks.len()),
        );
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }

    // --- report -------------------------------------------------------------
    let mut frames = 0;
    let mut samples = 0;
    let mut sample_bytes = 0;
    let mut negative_lag = 0;
    let mut seq_gaps = 0;
    let mut missed_seqs = 0;
    let mut clients_with_gaps = 0;
    let mut clients_without_samples = 0;
    let mut snapshots = 0;
    let mut resyncs = 0;
    let mut heartbeats = 0;
    let mut other_frames = 0;
    let mut malformed = 0;
    let mut disconnects = 0;
    let mut disconnects_during_measurement = 0;
    let mut reasons = HashMap::new();
    for s in per_client.into_iter().filter(|s| s.connected) {
        frames += s.frames;
        samples += s.samples;
        sample_bytes += s.sample_bytes;
        negative_lag += s.negative_lag;
        seq_gaps += s.gaps;
        missed_seqs += s.missed;
        clients_with_gaps += usize::from(s.gaps > 0);
        clients_without_samples += usize::from(s.samples == 0);
        snapshots += s.snapshots;
        resyncs += s.resyncs;
        heartbeats += s.heartbeats;
        other_frames += s.other;
        malformed += s.malformed;
        if let Some(reason) = s.disconnect {
            disconnects += 1;
            disconnects_during_measurement += usize::from(s.disconnect_while_measuring);
            tally(&mut reasons, reason);
        }
    }
    let lag = LagSummary::from_histogram_us(&shared.lag.merged());

    let server = match cfg.server_pid {
        None => None,
        Some(pid) => {
            let (rss, mut error) = match rss_task {
                Some(t) => t.await.unwrap_or_else(|e| (Vec::new(), Some(e.to_string()))),
                None => (Vec::new(), None),
            };
            let cpu_percent = match (server_cpu_start, server_cpu_end) {
                (Some(a), Some(b)) if duration_secs > 0.0 => {
                    Some(procfs::cpu_percent(a, b, ticks_per_sec, duration_secs))
                }
                (Some(_), None) => {
                    error.get_or_insert_with(|| "server exited during measurement".to_string());
                    None
                }
                _ => None,
            };
            Some(ServerUsage {
                pid,
                rss_median_mib: stats::median(&rss),
                rss_peak_mib: stats::peak(&rss),
                rss_samples: rss.len(),
                cpu_percent,
                error,
            })
        }
    };
    let loadgen_cpu_percent = match (self_cpu_start, self_cpu_end) {
        (Some(a), Some(b)) if duration_secs > 0.0 => Some(procfs::cpu_percent(a, b, ticks_per_sec, duration_secs)),
        _ => None,
    };
    let samples_per_sec_per_client = if connected > 0 && duration_secs > 0.0 {
        samples as f64 / duration_secs / connected as f64
    } else {
        0.0
    };

    Ok(WsReport {
        url: cfg.url,
        clients: n,
        connected,
        failed,
        connect_secs,
        connect_errors: top_errors(connect_errors, 5),
        nofile_limit: cfg.nofile_limit,
        interrupted,
        duration_secs,
        frames,
        samples,
        samples_per_sec_per_client,
        sample_bytes_mean: (samples > 0).then(|| sample_bytes as f64 / samples as f64),
        lag,
        negative_lag,
        seq_gaps,
        missed_seqs,
        clients_with_gaps,
        clients_without_samples,
        snapshots,
        resyncs,
        heartbeats,
        other_frames,
        malformed,
        disconnects,
        disconnects_during_measurement,
        disconnect_reasons: top_errors(reasons, 5),
        unreported_clients: unreported,
        server,
        loadgen_cpu_percent,
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.prec$}"))
}

/// Human-readable report.
pub fn render_text(r: &WsReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "vigil-load ws report ({})", r.url);
    let _ = writeln!(s, "  clients            {}", r.clients);
    let _ = writeln!(
        s,
        "  connected          {} ({} failed) in {:.2}s",
        r.connected, r.failed, r.connect_secs
    );
    for e in &r.connect_errors {
        let _ = writeln!(s, "    connect error x{}: {}", e.count, e.error);
    }
    if let Some(lim) = r.nofile_limit {
        let _ = writeln!(s, "  fd limit           {lim}");
    }
    let _ = writeln!(
        s,
        "  duration           {:.1}s{}",
        r.duration_secs,
        if r.interrupted { " (interrupted)" } else { "" }
    );
    let _ = writeln!(s, "  frames             {}", r.frames);
    let _ = writeln!(
        s,
        "  samples            {} ({:.3}/s per client, {} clients got none, mean {} B)",
        r.samples,
        r.samples_per_sec_per_client,
        r.clients_without_samples,
        opt(r.sample_bytes_mean, 0)
    );
    match &r.lag {
        Some(l) => {
            let _ = writeln!(
                s,
                "  lag ms             p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (mean {:.1}, n={})",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms, l.count
            );
        }
        None => {
            let _ = writeln!(s, "  lag ms             n/a (no samples)");
        }
    }
    if r.negative_lag > 0 {
        let _ = writeln!(s, "  negative lag       {} (counted as 0)", r.negative_lag);
    }
    let _ = writeln!(
        s,
        "  seq gaps           {} ({} seqs missed, {} clients affected)",
        r.seq_gaps, r.missed_seqs, r.clients_with_gaps
    );
    let _ = writeln!(s, "  resyncs            {}", r.resyncs);
    let _ = writeln!(
        s,
        "  other frames       {} snapshot, {} heartbeat, {} unknown, {} malformed",
        r.snapshots, r.heartbeats, r.other_frames, r.malformed
    );
    let _ = writeln!(
        s,
        "  disconnects        {} ({} during measurement)",
        r.disconnects, r.disconnects_during_measurement
    );
    for e in &r.disconnect_reasons {
        let _ = writeln!(s, "    x{}: {}", e.count, e.error);
    }
    if r.unreported_clients > 0 {
        let _ = writeln!(s, "  unreported clients {}", r.unreported_clients);
    }
    if let Some(sv) = &r.server {
        let _ = writeln!(
            s,
            "  server RSS MiB     median {}  peak {}  ({} samples, pid {})",
            opt(sv.rss_median_mib, 1),
            opt(sv.rss_peak_mib, 1),
            sv.rss_samples,
            sv.pid
        );
        let _ = writeln!(s, "  server CPU         {}% of one core", opt(sv.cpu_percent, 1));
        if let Some(e) = &sv.error {
            let _ = writeln!(s, "  server note        {e}");
        }
    }
    let _ = writeln!(s, "  loadgen CPU        {}% of one core", opt(r.loadgen_cpu_percent, 1));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_stats_count_frames_only_while_measuring() {
        let mut st = ClientStats::default();
        let mut seq = SeqTracker::default();
        let mut lags = Vec::new();
        let now_us = 1_700_000_000_500_000.0;
        st.on_text(
            r#"{"type":"snapshot","seq":1,"data":{}}"#,
            now_us,
            false,
            &mut seq,
            &mut lags,
        );
        assert_eq!(st.frames, 0);
        st.on_text(
            r#"{"type":"sample","seq":2,"data":{"ts":1700000000400}}"#,
            now_us,
            true,
            &mut seq,
            &mut lags,
        );
        st.on_text("garbage", now_us, true, &mut seq, &mut lags);
        st.on_text(
            r#"{"type":"sample","seq":4,"data":{"ts":1700000000600}}"#,
            now_us,
            true,
            &mut seq,
            &mut lags,
        );
        st.on_text(
            r#"{"type":"resync","seq":10,"data":{}}"#,
            now_us,
            true,
            &mut seq,
            &mut lags,
        );
        st.on_text(
            r#"{"type":"heartbeat","seq":10,"ts":1}"#,
            now_us,
            true,
            &mut seq,
            &mut lags,
        );
        assert_eq!(st.frames, 5);
        assert_eq!(st.samples, 2);
        assert_eq!(st.malformed, 1);
        assert_eq!(st.gaps, 1);
        assert_eq!(st.missed, 1);
        assert_eq!(st.resyncs, 1);
        assert_eq!(st.heartbeats, 1);
        assert_eq!(st.negative_lag, 1);
        assert_eq!(st.sample_bytes, 2 * 53);
        assert_eq!(lags, vec![100_000, 0]);
    }

    #[test]
    fn top_errors_sorted_and_truncated() {
        let mut m = HashMap::new();
        for (k, n) in [("a", 1), ("b", 5), ("c", 3)] {
            for _ in 0..n {
                tally(&mut m, k.to_string());
            }
        }
        let top = top_errors(m, 2);
        assert_eq!(
            top,
            vec![
                ErrorCount {
                    error: "b".into(),
                    count: 5
                },
                ErrorCount {
                    error: "c".into(),
                    count: 3
                },
            ]
        );
    }
}

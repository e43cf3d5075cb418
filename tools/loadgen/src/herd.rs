//! `vigil-load herd`: how a crowd of pages comes back after a server restart.
//!
//! Connects N clients, waits for the server to go away (it is restarted by
//! the caller, e.g. `scripts/bench-restart.sh`), and has every client
//! reconnect on the browser's schedule ([`crate::reconnect`]), resuming with
//! `?since=LAST_SEQ` as the page does. Meanwhile a probe tries a plain TCP
//! connect every 10 ms to find the instant the server listens again
//! ("back"). The run ends once every client is back or `max_wait` after the
//! server went away, and reports the downtime, how long after "back" each
//! client got its first frame, the refused connects during the downtime, and
//! the herd's shape (connects per 100 ms after "back").
//!
//! One run measures exactly one restart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Result;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

use crate::frame::{parse_frame, FrameKind};
use crate::reconnect::Schedule;
use crate::stats::{new_histogram, LagSummary};
use crate::target::{parse_loopback_ws_url, resolve_loopback};
use crate::ws::{tally, top_errors, ws_config, ErrorCount};

/// Settings for one `herd` run.
#[derive(Debug, Clone)]
pub struct HerdConfig {
    pub url: String,
    pub clients: usize,
    /// How long after the server went away the clients have to come back.
    pub max_wait: Duration,
    /// How long to wait, once connected, for the server to go away.
    pub restart_timeout: Duration,
    /// Initial handshakes in flight at once (reconnects follow the schedule only).
    pub connect_concurrency: usize,
    /// One connection attempt: TCP connect, handshake and the first frame.
    pub connect_timeout: Duration,
    /// Per-client timeout for the closing handshake at the end.
    pub close_timeout: Duration,
    /// Time between two probe connects.
    pub probe_every: Duration,
    /// Width of the herd histogram's bins.
    pub bin: Duration,
    /// Written once every client has connected (or failed to), so a script
    /// knows when to restart the server.
    pub ready_file: Option<PathBuf>,
    /// Soft RLIMIT_NOFILE after raising it, if known (only used for the report).
    pub nofile_limit: Option<u64>,
    /// Print progress lines on stderr.
    pub progress: bool,
}

impl HerdConfig {
    /// The defaults of `vigil-load herd` for `url` and `clients`.
    pub fn new(url: impl Into<String>, clients: usize) -> Self {
        HerdConfig {
            url: url.into(),
            clients,
            max_wait: Duration::from_secs(60),
            restart_timeout: Duration::from_secs(600),
            connect_concurrency: 200,
            connect_timeout: Duration::from_secs(10),
            close_timeout: Duration::from_secs(5),
            probe_every: Duration::from_millis(10),
            bin: Duration::from_millis(100),
            ready_file: None,
            nofile_limit: None,
            progress: false,
        }
    }
}

/// Result of a `herd` run.
#[derive(Debug, Clone, Serialize)]
pub struct HerdReport {
    pub url: String,
    pub clients: usize,
    pub connected: usize,
    pub failed: usize,
    pub connect_secs: f64,
    pub connect_errors: Vec<ErrorCount>,
    pub nofile_limit: Option<u64>,
    pub interrupted: bool,
    /// The server did not go away within the restart timeout.
    pub no_restart: bool,
    /// `max_wait` passed before every client was back.
    pub timed_out: bool,
    pub max_wait_secs: f64,
    /// Clients whose first connection ended, and how (e.g. "close 1001").
    pub disconnected: usize,
    pub close_reasons: Vec<ErrorCount>,
    /// From the first client's close to the last one's.
    pub close_spread_ms: Option<f64>,
    /// From the first close seen to the server listening again ("back").
    pub downtime_secs: Option<f64>,
    /// "Back" is the probe's first successful connect after one was refused;
    /// false when it never saw a refusal and fell back to its first success.
    pub back_after_refusal: bool,
    pub reconnected: usize,
    /// Clients that connected at first but were not back at the end.
    pub never_reconnected: usize,
    /// Of those, clients whose first connection never ended.
    pub not_disconnected: usize,
    /// From "back" to each client's first frame on its new connection.
    pub reconnect: Option<LagSummary>,
    /// The same for every client that came back, in ms, sorted (JSON only).
    pub reconnect_ms_each: Vec<f64>,
    /// Clients back before the probe saw the server (counted as 0 ms).
    pub reconnected_before_back: usize,
    /// Reconnect attempts (failed and successful) after the server went away.
    pub attempts: u64,
    pub attempts_per_client_mean: Option<f64>,
    pub attempts_per_client_max: Option<u32>,
    /// Attempts whose TCP connect was refused (nothing listening).
    pub refused: u64,
    pub refused_during_downtime: u64,
    pub refused_per_sec_during_downtime: Option<f64>,
    /// Refused attempts per second, from the first close.
    pub refused_per_second: Vec<u64>,
    /// Failed attempts that were not refusals (timeouts, resets, HTTP errors).
    pub other_failures: Vec<ErrorCount>,
    /// Clients that came back but lost the new connection before the end.
    pub lost_after_reconnect: usize,
    pub probe_refused: u64,
    pub bin_ms: f64,
    /// Clients back per bin after "back" (the first bin starts at "back").
    pub connects_per_bin: Vec<u64>,
}

/// What a client tells the coordinator.
#[derive(Debug)]
enum Event {
    Initial(Result<(), String>),
    /// The first connection ended.
    Ended {
        at: Instant,
        how: String,
    },
    /// A reconnect attempt failed.
    Failed {
        at: Instant,
        refused: bool,
        error: String,
    },
    /// A client is back: handshake done and a frame received.
    Back {
        at: Instant,
        attempts: u32,
    },
    /// A client that was back lost its new connection.
    Lost,
}

struct Shared {
    addr: SocketAddr,
    url: String,
    /// Zero of the clients' schedule clocks.
    epoch: Instant,
    connect_sem: Semaphore,
    connect_timeout: Duration,
    close_timeout: Duration,
    events: mpsc::UnboundedSender<Event>,
}

impl Shared {
    fn ms(&self, at: Instant) -> f64 {
        at.duration_since(self.epoch).as_secs_f64() * 1000.0
    }

    fn send(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// The URL the browser opens: `?since=SEQ` after a disconnect, none when it
/// has no `seq` yet (`app/src/live/socket.rs`).
pub fn resume_url(base: &str, since: u64) -> String {
    match (since, base.contains('?')) {
        (0, _) => base.to_string(),
        (_, false) => format!("{base}?since={since}"),
        (_, true) => format!("{base}&since={since}"),
    }
}

/// Moves the client's cursor as the page's does: a snapshot or resync sets
/// it, any other frame with a later `seq` advances it.
fn advance(cursor: &mut u64, text: &str) {
    let Ok(frame) = parse_frame(text) else {
        return;
    };
    match (frame.kind, frame.seq) {
        (FrameKind::Snapshot | FrameKind::Resync, Some(seq)) => *cursor = seq,
        (_, Some(seq)) if seq > *cursor => *cursor = seq,
        _ => {}
    }
}

type Socket = WebSocketStream<TcpStream>;

struct Connected {
    ws: Socket,
    at: Instant,
}

struct AttemptError {
    at: Instant,
    refused: bool,
    /// The close code, when the server closed the socket before its first frame.
    code: Option<u16>,
    error: String,
}

fn failure(refused: bool, error: impl Into<String>) -> AttemptError {
    AttemptError {
        at: Instant::now(),
        refused,
        code: None,
        error: error.into(),
    }
}

/// One connection as the page makes it: TCP, the handshake, and the first
/// frame, all within the connect timeout.
async fn attempt(shared: &Shared, cursor: &mut u64) -> Result<Connected, AttemptError> {
    let deadline = Instant::now() + shared.connect_timeout;
    let stream = match tokio::time::timeout_at(deadline, TcpStream::connect(shared.addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            return Err(failure(true, "connection refused"))
        }
        Ok(Err(e)) => return Err(failure(false, format!("tcp connect: {e}"))),
        Err(_) => return Err(failure(false, "tcp connect timed out")),
    };
    stream.set_nodelay(true).ok();
    let request = resume_url(&shared.url, *cursor)
        .into_client_request()
        .map_err(|e| failure(false, format!("building request: {e}")))?;
    let mut ws =
        match tokio::time::timeout_at(deadline, client_async_with_config(request, stream, Some(ws_config()))).await {
            Ok(Ok((ws, _response))) => ws,
            Ok(Err(e)) => return Err(failure(false, format!("websocket handshake: {e}"))),
            Err(_) => return Err(failure(false, "websocket handshake timed out")),
        };
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(text)))) => {
                advance(cursor, text.as_str());
                return Ok(Connected { ws, at: Instant::now() });
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                let code = frame.map(|f| u16::from(f.code));
                let shown = code.map_or_else(|| "no code".to_string(), |c| c.to_string());
                return Err(AttemptError {
                    code,
                    ..failure(false, format!("closed before the first frame ({shown})"))
                });
            }
            // Pings are answered by tungstenite while we keep reading.
            Ok(Some(Ok(_))) => {}
            Ok(Some(Err(e))) => return Err(failure(false, format!("error before the first frame: {e}"))),
            Ok(None) => return Err(failure(false, "ended before the first frame")),
            Err(_) => return Err(failure(false, "no frame within the connect timeout")),
        }
    }
}

/// How a connection ended.
struct Ending {
    at: Instant,
    code: Option<u16>,
    how: String,
}

/// Reads (answering pings, moving the cursor) until the server ends the
/// connection.
async fn read_until_end(ws: &mut Socket, cursor: &mut u64) -> Ending {
    let (code, how) = loop {
        match ws.next().await {
            Some(Ok(Message::Text(text))) => advance(cursor, text.as_str()),
            Some(Ok(Message::Close(Some(frame)))) => {
                let code = u16::from(frame.code);
                break (Some(code), format!("close {code}"));
            }
            Some(Ok(Message::Close(None))) => break (None, "close without code".to_string()),
            Some(Ok(_)) => {}
            Some(Err(e)) => break (None, format!("error: {e}")),
            None => break (None, "ended without close".to_string()),
        }
    };
    Ending {
        at: Instant::now(),
        code,
        how,
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// Polite, bounded close: send Close (or the reply to the server's) and
/// read until the connection ends.
async fn close_politely(mut ws: Socket, timeout: Duration) {
    let _ = tokio::time::timeout(timeout, async {
        let _ = ws.close(None).await;
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}

/// One page: connects, reads until the server goes away, comes back on the
/// browser's schedule, then keeps reading until the run ends.
async fn herd_client(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut cursor = 0u64;
    let first = {
        let _permit = shared.connect_sem.acquire().await;
        if *stop.borrow() {
            Err("not attempted (stopped)".to_string())
        } else {
            attempt(&shared, &mut cursor).await.map_err(|e| e.error)
        }
    };
    let mut ws = match first {
        Ok(c) => c.ws,
        Err(e) => return shared.send(Event::Initial(Err(e))),
    };
    shared.send(Event::Initial(Ok(())));
    let mut schedule = Schedule::default();
    schedule.connected();

    let ending = tokio::select! {
        ending = read_until_end(&mut ws, &mut cursor) => Some(ending),
        _ = stopped(&mut stop) => None,
    };
    let Some(ending) = ending else {
        return close_politely(ws, shared.close_timeout).await;
    };
    shared.send(Event::Ended {
        at: ending.at,
        how: ending.how,
    });
    schedule.closed(ending.code, shared.ms(ending.at));
    // Finish the closing handshake without delaying the first retry, whose
    // timer (as the browser's) starts at the close.
    tokio::spawn(close_politely(ws, shared.close_timeout));

    let mut since = ending.at;
    let mut attempts = 0u32;
    let mut ws = loop {
        let delay = schedule.next_delay_ms(shared.ms(since), rand::random::<f64>());
        let due = since + Duration::from_secs_f64(delay / 1000.0);
        let result = tokio::select! {
            r = async {
                tokio::time::sleep_until(due).await;
                attempt(&shared, &mut cursor).await
            } => r,
            _ = stopped(&mut stop) => return,
        };
        attempts += 1;
        match result {
            Ok(c) => {
                shared.send(Event::Back { at: c.at, attempts });
                schedule.connected();
                break c.ws;
            }
            Err(e) => {
                since = e.at;
                // The page treats any 1001 as a restart, even on a new socket.
                schedule.closed(e.code, shared.ms(e.at));
                shared.send(Event::Failed {
                    at: e.at,
                    refused: e.refused,
                    error: e.error,
                });
            }
        }
    };

    let lost = tokio::select! {
        _ = read_until_end(&mut ws, &mut cursor) => true,
        _ = stopped(&mut stop) => false,
    };
    if lost {
        shared.send(Event::Lost);
    } else {
        close_politely(ws, shared.close_timeout).await;
    }
}

/// What the probe found.
#[derive(Debug, Default, Clone)]
struct ProbeState {
    refused: u64,
    /// First successful connect after at least one refusal.
    back: Option<Instant>,
    /// First successful connect at all (the old listener may still be up).
    first_ok: Option<Instant>,
}

/// Tries a plain TCP connect every `every` until one succeeds after a
/// refusal: the instant the restarted server listens again.
async fn probe(addr: SocketAddr, every: Duration, state: Arc<Mutex<ProbeState>>) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let result = tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await;
        let at = Instant::now();
        let mut st = state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(Ok(_stream)) => {
                st.first_ok.get_or_insert(at);
                if st.refused > 0 {
                    st.back = Some(at);
                    return;
                }
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => st.refused += 1,
            _ => {}
        }
    }
}

/// Everything the clients reported.
#[derive(Default)]
struct Tally {
    initial_ok: usize,
    initial_failed: usize,
    initial_errors: HashMap<String, u64>,
    first_close: Option<Instant>,
    last_close: Option<Instant>,
    ended: usize,
    close_reasons: HashMap<String, u64>,
    backs: Vec<(Instant, u32)>,
    refused: Vec<Instant>,
    failures: HashMap<String, u64>,
    failed: u64,
    lost: usize,
}

impl Tally {
    fn on(&mut self, event: Event) {
        match event {
            Event::Initial(Ok(())) => self.initial_ok += 1,
            Event::Initial(Err(e)) => {
                self.initial_failed += 1;
                tally(&mut self.initial_errors, e);
            }
            Event::Ended { at, how } => {
                self.ended += 1;
                self.first_close = Some(self.first_close.map_or(at, |f| f.min(at)));
                self.last_close = Some(self.last_close.map_or(at, |l| l.max(at)));
                tally(&mut self.close_reasons, how);
            }
            Event::Failed { at, refused, error } => {
                self.failed += 1;
                if refused {
                    self.refused.push(at);
                } else {
                    tally(&mut self.failures, error);
                }
            }
            Event::Back { at, attempts } => self.backs.push((at, attempts)),
            Event::Lost => self.lost += 1,
        }
    }

    fn initial_done(&self, n: usize) -> bool {
        self.initial_ok + self.initial_failed >= n
    }

    fn all_back(&self) -> bool {
        self.first_close.is_some() && self.backs.len() >= self.initial_ok
    }
}

fn progress(enabled: bool, msg: impl AsRef<str>) {
    if enabled {
        eprintln!("[vigil-load herd] {}", msg.as_ref());
    }
}

/// Why the coordinator stopped waiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    AllBack,
    NoClients,
    NoRestart,
    TimedOut,
    Interrupted,
}

/// Runs the whole `herd` scenario (one restart) and returns its report.
pub async fn run(cfg: HerdConfig) -> Result<HerdReport> {
    let target = parse_loopback_ws_url(&cfg.url)?;
    let addr = resolve_loopback(&target).await?;
    let n = cfg.clients;
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (stop_tx, stop_rx) = watch::channel(false);
    let shared = Arc::new(Shared {
        addr,
        url: target.url.clone(),
        epoch: Instant::now(),
        connect_sem: Semaphore::new(cfg.connect_concurrency.max(1)),
        connect_timeout: cfg.connect_timeout,
        close_timeout: cfg.close_timeout,
        events: events_tx,
    });

    progress(
        cfg.progress,
        format!(
            "connecting {n} clients to {} ({addr}), {} at a time",
            cfg.url, cfg.connect_concurrency
        ),
    );
    let connect_start = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..n {
        tasks.spawn(herd_client(shared.clone(), stop_rx.clone()));
    }
    drop(stop_rx);

    let probe_state = Arc::new(Mutex::new(ProbeState::default()));
    let mut probe_task = None;
    let mut t = Tally::default();
    let mut connect_secs = None;
    let mut ready_at = None;
    let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    tick.tick().await;
    let outcome = loop {
        if connect_secs.is_none() && t.initial_done(n) {
            let secs = connect_start.elapsed().as_secs_f64();
            connect_secs = Some(secs);
            ready_at = Some(Instant::now());
            progress(
                cfg.progress,
                format!(
                    "connected {}/{n} ({} failed) in {secs:.2}s; waiting for the server to go away",
                    t.initial_ok, t.initial_failed
                ),
            );
            if t.initial_ok == 0 {
                break Outcome::NoClients;
            }
            write_ready_file(&cfg, t.initial_ok)?;
        }
        if t.all_back() {
            break Outcome::AllBack;
        }
        let deadline = match (t.first_close, ready_at) {
            (Some(first), _) => Some(first + cfg.max_wait),
            (None, Some(ready)) => Some(ready + cfg.restart_timeout),
            (None, None) => None,
        };
        tokio::select! {
            Some(event) = events.recv() => {
                let had_close = t.first_close.is_some();
                t.on(event);
                if !had_close && t.first_close.is_some() {
                    progress(cfg.progress, "the server went away; probing for it every 10 ms");
                    probe_task = Some(tokio::spawn(probe(addr, cfg.probe_every, probe_state.clone())));
                }
            }
            _ = tick.tick() => {
                if t.first_close.is_some() {
                    let back = probe_state.lock().unwrap_or_else(|e| e.into_inner()).back;
                    let seen = back.map_or_else(|| "not yet".to_string(), |b| format!("after {:.2}s", secs(b, t.first_close)));
                    progress(cfg.progress, format!("  {}/{} back (server back {seen}), {} refused", t.backs.len(), t.initial_ok, t.refused.len()));
                } else if connect_secs.is_none() {
                    progress(cfg.progress, format!("  {} connected, {} failed, {:.1}s", t.initial_ok, t.initial_failed, connect_start.elapsed().as_secs_f64()));
                }
            }
            _ = tokio::time::sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                break if t.first_close.is_some() { Outcome::TimedOut } else { Outcome::NoRestart };
            }
            _ = &mut ctrl_c => break Outcome::Interrupted,
        }
    };
    let ended_at = Instant::now();
    // Events already queued (a client back in the same instant) still count.
    while let Ok(event) = events.try_recv() {
        t.on(event);
    }
    if let Some(p) = probe_task {
        p.abort();
    }
    let probe = probe_state.lock().unwrap_or_else(|e| e.into_inner()).clone();
    progress(cfg.progress, format!("{outcome:?}; closing connections"));
    let _ = stop_tx.send(true);
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

    Ok(build_report(
        &cfg,
        t,
        &probe,
        connect_secs.unwrap_or_else(|| connect_start.elapsed().as_secs_f64()),
        outcome,
        ended_at,
    ))
}

/// Seconds from `from` (when known) to `to`.
fn secs(to: Instant, from: Option<Instant>) -> f64 {
    from.map_or(0.0, |f| to.saturating_duration_since(f).as_secs_f64())
}

fn write_ready_file(cfg: &HerdConfig, connected: usize) -> Result<()> {
    if let Some(path) = &cfg.ready_file {
        std::fs::write(path, format!("connected {connected}\n"))
            .map_err(|e| anyhow::anyhow!("writing the ready file {}: {e}", path.display()))?;
    }
    Ok(())
}

/// Counts `times` in bins of `width` from `start`, up to `end` when given.
fn bin_counts(times: impl Iterator<Item = Instant>, start: Instant, width: Duration, end: Option<Instant>) -> Vec<u64> {
    let mut bins = Vec::new();
    let width = width.as_secs_f64().max(1e-6);
    for at in times {
        if at < start || end.is_some_and(|e| at >= e) {
            continue;
        }
        let i = (at.duration_since(start).as_secs_f64() / width) as usize;
        if bins.len() <= i {
            bins.resize(i + 1, 0);
        }
        bins[i] += 1;
    }
    bins
}

fn build_report(
    cfg: &HerdConfig,
    t: Tally,
    probe: &ProbeState,
    connect_secs: f64,
    outcome: Outcome,
    ended_at: Instant,
) -> HerdReport {
    let back = probe.back.or(probe.first_ok);
    let downtime_secs = match (t.first_close, back) {
        (Some(first), Some(b)) => Some(b.saturating_duration_since(first).as_secs_f64()),
        _ => None,
    };

    let mut reconnect = new_histogram();
    let mut each = Vec::with_capacity(t.backs.len());
    let mut before_back = 0;
    for &(at, _) in &t.backs {
        let us = match back {
            Some(b) if at >= b => at.duration_since(b).as_micros() as u64,
            _ => {
                before_back += 1;
                0
            }
        };
        reconnect.saturating_record(us.max(1));
        each.push((us as f64 / 100.0).round() / 10.0);
    }
    each.sort_by(f64::total_cmp);
    let connects_per_bin = match back {
        Some(b) => bin_counts(t.backs.iter().map(|&(at, _)| at), b, cfg.bin, None),
        None => Vec::new(),
    };

    let refused_during_downtime = match (t.first_close, back) {
        (Some(first), Some(b)) => t.refused.iter().filter(|&&at| at >= first && at < b).count() as u64,
        _ => 0,
    };
    let refused_per_second = match t.first_close {
        Some(first) => bin_counts(t.refused.iter().copied(), first, Duration::from_secs(1), Some(ended_at)),
        None => Vec::new(),
    };
    let attempts: Vec<u32> = t.backs.iter().map(|&(_, a)| a).collect();
    let reconnected = t.backs.len();

    HerdReport {
        url: cfg.url.clone(),
        clients: cfg.clients,
        connected: t.initial_ok,
        failed: t.initial_failed,
        connect_secs,
        connect_errors: top_errors(t.initial_errors, 5),
        nofile_limit: cfg.nofile_limit,
        interrupted: outcome == Outcome::Interrupted,
        no_restart: outcome == Outcome::NoRestart,
        timed_out: outcome == Outcome::TimedOut,
        max_wait_secs: cfg.max_wait.as_secs_f64(),
        disconnected: t.ended,
        close_reasons: top_errors(t.close_reasons, 5),
        close_spread_ms: match (t.first_close, t.last_close) {
            (Some(f), Some(l)) => Some(l.duration_since(f).as_secs_f64() * 1000.0),
            _ => None,
        },
        downtime_secs,
        back_after_refusal: probe.back.is_some(),
        reconnected,
        never_reconnected: t.initial_ok.saturating_sub(reconnected),
        not_disconnected: t.initial_ok.saturating_sub(t.ended),
        reconnect: LagSummary::from_histogram_us(&reconnect),
        reconnect_ms_each: each,
        reconnected_before_back: before_back,
        attempts: t.failed + reconnected as u64,
        attempts_per_client_mean: (!attempts.is_empty())
            .then(|| attempts.iter().map(|&a| f64::from(a)).sum::<f64>() / attempts.len() as f64),
        attempts_per_client_max: attempts.iter().copied().max(),
        refused: t.refused.len() as u64,
        refused_during_downtime,
        refused_per_sec_during_downtime: downtime_secs
            .filter(|&d| d > 0.0)
            .map(|d| refused_during_downtime as f64 / d),
        refused_per_second,
        other_failures: top_errors(t.failures, 5),
        lost_after_reconnect: t.lost,
        probe_refused: probe.refused,
        bin_ms: cfg.bin.as_secs_f64() * 1000.0,
        connects_per_bin,
    }
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.prec$}"))
}

/// Text histogram of the connects after "back", at most 60 rows (bins are
/// merged when there are more), bars scaled to the largest row.
pub fn render_histogram(bins: &[u64], bin_ms: f64) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    if bins.is_empty() {
        return s;
    }
    let per_row = bins.len().div_ceil(60);
    let rows: Vec<u64> = bins.chunks(per_row).map(|c| c.iter().sum()).collect();
    let widest = rows.iter().copied().max().unwrap_or(0).max(1);
    for (i, &count) in rows.iter().enumerate() {
        let start_s = i as f64 * per_row as f64 * bin_ms / 1000.0;
        let bar = "#".repeat(((count * 50).div_ceil(widest)) as usize);
        let _ = writeln!(s, "    +{start_s:>5.1}s {count:>6} {bar}");
    }
    s
}

/// Human-readable report.
pub fn render_text(r: &HerdReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "vigil-load herd report ({})", r.url);
    let _ = writeln!(s, "  clients            {}", r.clients);
    let _ = writeln!(
        s,
        "  connected          {} ({} failed) in {:.2}s",
        r.connected, r.failed, r.connect_secs
    );
    for e in &r.connect_errors {
        let _ = writeln!(s, "    connect error x{}: {}", e.count, e.error);
    }
    if r.interrupted {
        let _ = writeln!(s, "  interrupted");
    }
    if r.no_restart {
        let _ = writeln!(s, "  the server did not go away: nothing to measure");
        return s;
    }
    let _ = writeln!(
        s,
        "  went away          {} clients disconnected over {} ms",
        r.disconnected,
        opt(r.close_spread_ms, 1)
    );
    for e in &r.close_reasons {
        let _ = writeln!(s, "    x{}: {}", e.count, e.error);
    }
    let _ = writeln!(
        s,
        "  downtime           {} s (first close seen -> listening again{})",
        opt(r.downtime_secs, 3),
        if r.back_after_refusal { "" } else { "; no refusal seen" }
    );
    let _ = writeln!(
        s,
        "  back               {}/{} ({} never came back{}){}",
        r.reconnected,
        r.connected,
        r.never_reconnected,
        if r.not_disconnected > 0 {
            format!(", {} never disconnected", r.not_disconnected)
        } else {
            String::new()
        },
        if r.timed_out {
            format!(", max wait {:.0}s passed", r.max_wait_secs)
        } else {
            String::new()
        }
    );
    match &r.reconnect {
        Some(l) => {
            let _ = writeln!(
                s,
                "  reconnect ms       p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}  (mean {:.0}, after the server was back)",
                l.p50_ms, l.p90_ms, l.p99_ms, l.max_ms, l.mean_ms
            );
        }
        None => {
            let _ = writeln!(s, "  reconnect ms       n/a (nobody came back)");
        }
    }
    if r.reconnected_before_back > 0 {
        let _ = writeln!(
            s,
            "  before back        {} (counted as 0 ms)",
            r.reconnected_before_back
        );
    }
    let _ = writeln!(
        s,
        "  attempts           {} (per client mean {}, max {})",
        r.attempts,
        opt(r.attempts_per_client_mean, 1),
        r.attempts_per_client_max
            .map_or_else(|| "n/a".to_string(), |m| m.to_string())
    );
    let _ = writeln!(
        s,
        "  refused            {} during the downtime ({}/s), {} in all",
        r.refused_during_downtime,
        opt(r.refused_per_sec_during_downtime, 1),
        r.refused
    );
    for e in &r.other_failures {
        let _ = writeln!(s, "    other failure x{}: {}", e.count, e.error);
    }
    if r.lost_after_reconnect > 0 {
        let _ = writeln!(s, "  lost again         {}", r.lost_after_reconnect);
    }
    if !r.connects_per_bin.is_empty() {
        let _ = writeln!(s, "  herd after back (connects per {:.0} ms):", r.bin_ms);
        s.push_str(&render_histogram(&r.connects_per_bin, r.bin_ms));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_url_matches_the_browser() {
        assert_eq!(resume_url("ws://127.0.0.1:3000/ws", 0), "ws://127.0.0.1:3000/ws");
        assert_eq!(
            resume_url("ws://127.0.0.1:3000/ws", 1_796_628_283_645),
            "ws://127.0.0.1:3000/ws?since=1796628283645"
        );
        assert_eq!(resume_url("ws://h/ws?x=1", 5), "ws://h/ws?x=1&since=5");
    }

    #[test]
    fn cursor_follows_the_page() {
        let mut c = 0;
        advance(&mut c, r#"{"type":"snapshot","seq":100,"data":{}}"#);
        assert_eq!(c, 100);
        advance(&mut c, r#"{"type":"sample","seq":101,"data":{"ts":1}}"#);
        advance(&mut c, r#"{"type":"health","seq":102,"data":{}}"#);
        assert_eq!(c, 102);
        // Replayed (older) frames do not move it back; garbage is skipped.
        advance(&mut c, r#"{"type":"sample","seq":90,"data":{"ts":1}}"#);
        advance(&mut c, "not json");
        assert_eq!(c, 102);
        // A resync from a restarted server re-bases it, even lower.
        advance(&mut c, r#"{"type":"resync","seq":50,"data":{}}"#);
        assert_eq!(c, 50);
    }

    #[test]
    fn bins_and_histogram() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let times = [0, 50, 99, 100, 250, 1_000].map(at);
        let bins = bin_counts(times.into_iter(), start, Duration::from_millis(100), None);
        assert_eq!(bins, vec![3, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
        let bins = bin_counts(times.into_iter(), at(100), Duration::from_millis(100), Some(at(1_000)));
        assert_eq!(bins, vec![1, 1]);

        let text = render_histogram(&[3, 1, 0, 2], 100.0);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4);
        assert!(
            lines[0].contains("+  0.0s      3 ") && lines[0].ends_with(&"#".repeat(50)),
            "{text}"
        );
        assert!(lines[2].trim_end().ends_with(" 0"), "{text}");
        // 130 bins fold into at most 60 rows.
        let text = render_histogram(&[1; 130], 100.0);
        assert_eq!(text.lines().count(), 44);
        assert!(text.lines().nth(1).unwrap().contains("+  0.3s      3"), "{text}");
    }
}

//! `vigil-load floor`: the floor server of the fan-out benchmark.
//!
//! Vigil's fan-out lag, as `vigil-load ws` measures it, means little alone:
//! part of it is what any tokio server on this machine pays to write one
//! frame to N sockets. The floor does only that, so the same load tool can
//! measure both in the same run and the difference is what Vigil adds.
//!
//! How it stays a floor:
//! * One ticker stamps each tick with the wall clock, builds the `sample`
//!   frame once (JSON padded to Vigil's size, WebSocket header included)
//!   and hands the same bytes to every shard.
//! * Clients are spread over a few shards, one per worker thread. A shard is
//!   one task that owns its clients' write side and writes the frame to each
//!   with `try_write`: one syscall per client per tick, no per-client task
//!   wake-up, no per-client copy.
//! * Only a client whose kernel send buffer is full gets a waiter task (for
//!   writability) and a backlog of the shared frames; one that falls
//!   `max_backlog` frames behind is dropped, as Vigil drops a client whose
//!   send stalls.
//! * Each client has a reader task that sleeps until the client sends
//!   something (never per tick), skips pongs and pings with a
//!   [`FrameScanner`] and reports a Close, which the shard answers.
//!
//! Every client first gets a small `snapshot` frame with the current `seq`,
//! written by its shard between two ticks, so the `sample`s that follow are
//! contiguous, as in Vigil's stream.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{self, UnboundedSender};
use tokio::task::{AbortHandle, JoinHandle};

use crate::wire::{self, FrameScanner, Route};

/// Size of the JSON text of Vigil's `sample` frame, measured on the machine
/// the benchmark was written on (2 cores, one disk: 1151 to 1247 bytes over
/// 26 samples, median 1200). It varies with the host's cores, disks and
/// process names; `scripts/bench-floor.sh` passes the size it measured from
/// Vigil in the same run.
pub const DEFAULT_FRAME_BYTES: usize = 1200;

/// Settings for one floor server.
#[derive(Debug, Clone)]
pub struct FloorConfig {
    /// Time between two `sample` frames (Vigil's collector interval).
    pub interval: Duration,
    /// Length of each `sample` frame's JSON text (the WebSocket payload).
    pub frame_bytes: usize,
    /// Client shards, each one task (default: one per worker thread).
    pub shards: usize,
    /// Frames a client may fall behind (send buffer full) before it is dropped.
    pub max_backlog: usize,
    /// Longest time a connection may take to send its request head.
    pub handshake_timeout: Duration,
    /// Print a line on stderr every 10 s while the client count changes.
    pub progress: bool,
}

impl Default for FloorConfig {
    fn default() -> Self {
        FloorConfig {
            interval: Duration::from_secs(1),
            frame_bytes: DEFAULT_FRAME_BYTES,
            shards: 1,
            max_backlog: 8,
            handshake_timeout: Duration::from_secs(10),
            progress: false,
        }
    }
}

/// What the floor did, reported when it stops.
#[derive(Debug, Clone, Serialize)]
pub struct FloorReport {
    pub bind: String,
    pub interval_ms: f64,
    /// JSON text length of each `sample` frame.
    pub frame_bytes: usize,
    /// The same frame on the wire, with its WebSocket header.
    pub wire_frame_bytes: usize,
    pub shards: usize,
    pub uptime_secs: f64,
    pub ticks: u64,
    pub first_seq: u64,
    pub last_seq: u64,
    pub accepted: u64,
    pub upgraded: u64,
    pub health_checks: u64,
    pub refused_requests: u64,
    pub handshake_failures: u64,
    pub clients_peak: u64,
    pub clients_at_end: u64,
    pub closed_by_client: u64,
    /// Clients whose connection ended without a Close.
    pub disconnected: u64,
    pub dropped_slow: u64,
    pub write_errors: u64,
    /// Writes that found a full send buffer (the client then got a waiter).
    pub blocked_writes: u64,
    /// Time one shard took to write one tick's frame to all its clients.
    pub shard_write_mean_ms: Option<f64>,
    pub shard_write_max_ms: Option<f64>,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    upgraded: AtomicU64,
    health: AtomicU64,
    refused: AtomicU64,
    handshake_failed: AtomicU64,
    clients: AtomicU64,
    peak: AtomicU64,
    closed_by_client: AtomicU64,
    gone: AtomicU64,
    dropped_slow: AtomicU64,
    write_errors: AtomicU64,
    blocked: AtomicU64,
    ticks: AtomicU64,
    last_seq: AtomicU64,
    /// Shard write passes over a non-empty client list, and their total/max time.
    write_passes: AtomicU64,
    write_total_us: AtomicU64,
    write_max_us: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The JSON text of one `sample` frame: Vigil's envelope with `data.ts`,
/// padded with a `pad` string to `frame_bytes` (never shorter than the
/// unpadded frame, about 70 bytes).
pub fn sample_payload(seq: u64, ts_ms: u64, frame_bytes: usize) -> String {
    let head = format!(r#"{{"type":"sample","seq":{seq},"data":{{"ts":{ts_ms},"pad":""#);
    let tail = r#""}}"#;
    let pad = frame_bytes.saturating_sub(head.len() + tail.len());
    let mut text = String::with_capacity(head.len() + pad + tail.len());
    text.push_str(&head);
    text.extend(std::iter::repeat_n('x', pad));
    text.push_str(tail);
    text
}

/// The JSON text of the `snapshot` frame that starts every connection.
/// Small: it is not what the benchmark measures.
pub fn snapshot_payload(seq: u64) -> String {
    format!(r#"{{"type":"snapshot","seq":{seq},"data":{{}}}}"#)
}

fn text_frame(payload: &str) -> Arc<[u8]> {
    Arc::from(wire::encode_frame(wire::OP_TEXT, payload.as_bytes()))
}

/// One tick: its `seq` and the complete frame every client gets.
#[derive(Clone)]
struct Tick {
    seq: u64,
    frame: Arc<[u8]>,
}

/// A client by slot, with the generation that tells a reused slot apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Key {
    slot: usize,
    gen: u64,
}

/// An upgraded connection and the bytes it sent right after its request
/// head, before the 101 (usually none).
struct Joined {
    stream: TcpStream,
    early: Vec<u8>,
}

enum ShardMsg {
    Tick(Tick),
    Join(Joined),
    /// A blocked client's send buffer has room again.
    Writable(Key),
    /// The client sent a Close frame.
    ClientClose(Key),
    /// The client's connection ended (EOF or error) without a Close.
    ClientGone(Key),
    /// Send every client a 1001 Close and stop.
    Shutdown,
}

struct Client {
    stream: Arc<TcpStream>,
    gen: u64,
    reader: AbortHandle,
    /// Set while waiting for writability.
    waiter: Option<AbortHandle>,
    /// Frames not yet fully written; the first one from `offset`.
    backlog: VecDeque<Arc<[u8]>>,
    offset: usize,
    /// The client sent Close: no more ticks; removed once the reply is out.
    closing: bool,
}

#[derive(Clone, Copy)]
enum Removal {
    ClosedByClient,
    Gone,
    Slow,
    WriteError,
    Shutdown,
}

enum Wrote {
    All,
    Part(usize),
    Blocked,
    Failed,
}

/// One non-blocking write attempt; never waits.
fn write_some(stream: &TcpStream, bytes: &[u8]) -> Wrote {
    match stream.try_write(bytes) {
        Ok(n) if n == bytes.len() => Wrote::All,
        Ok(0) => Wrote::Failed,
        Ok(n) => Wrote::Part(n),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => Wrote::Blocked,
        Err(_) => Wrote::Failed,
    }
}

/// A group of clients written by one task.
struct Shard {
    clients: Vec<Option<Client>>,
    free: Vec<usize>,
    next_gen: u64,
    /// `seq` of the last tick written (the snapshot `seq` for new clients).
    seq: u64,
    /// The snapshot frame of `seq`, built on the first join after a tick.
    snapshot: Option<(u64, Arc<[u8]>)>,
    close_normal: Arc<[u8]>,
    close_away: Arc<[u8]>,
    /// Its own sender, for its clients' reader and waiter tasks.
    tx: UnboundedSender<ShardMsg>,
    counters: Arc<Counters>,
    max_backlog: usize,
}

impl Shard {
    fn new(tx: UnboundedSender<ShardMsg>, seq: u64, counters: Arc<Counters>, max_backlog: usize) -> Self {
        Shard {
            clients: Vec::new(),
            free: Vec::new(),
            next_gen: 0,
            seq,
            snapshot: None,
            close_normal: Arc::from(wire::close_frame(1000, "")),
            close_away: Arc::from(wire::close_frame(1001, "floor shutting down")),
            tx,
            counters,
            max_backlog: max_backlog.max(1),
        }
    }

    async fn run(mut self, mut rx: mpsc::UnboundedReceiver<ShardMsg>) {
        while let Some(msg) = rx.recv().await {
            match msg {
                ShardMsg::Tick(tick) => self.tick(tick),
                ShardMsg::Join(joined) => self.join(joined),
                ShardMsg::Writable(key) => self.flush(key),
                ShardMsg::ClientClose(key) => self.client_closed(key),
                ShardMsg::ClientGone(key) => self.remove(key, Removal::Gone),
                ShardMsg::Shutdown => break,
            }
        }
        self.shutdown();
    }

    fn client(&mut self, key: Key) -> Option<&mut Client> {
        self.clients
            .get_mut(key.slot)
            .and_then(Option::as_mut)
            .filter(|c| c.gen == key.gen)
    }

    fn tick(&mut self, tick: Tick) {
        self.seq = tick.seq;
        if self.clients.len() == self.free.len() {
            return;
        }
        let started = Instant::now();
        for slot in 0..self.clients.len() {
            if let Some(gen) = self.clients[slot].as_ref().map(|c| c.gen) {
                self.send(Key { slot, gen }, &tick.frame);
            }
        }
        let us = started.elapsed().as_micros() as u64;
        bump(&self.counters.write_passes);
        self.counters.write_total_us.fetch_add(us, Ordering::Relaxed);
        self.counters.write_max_us.fetch_max(us, Ordering::Relaxed);
    }

    fn snapshot_frame(&mut self) -> Arc<[u8]> {
        match &self.snapshot {
            Some((seq, frame)) if *seq == self.seq => frame.clone(),
            _ => {
                let frame = text_frame(&snapshot_payload(self.seq));
                self.snapshot = Some((self.seq, frame.clone()));
                frame
            }
        }
    }

    fn join(&mut self, joined: Joined) {
        let mut scanner = FrameScanner::default();
        let closed_early = scanner.feed(&joined.early);
        let stream = Arc::new(joined.stream);
        let slot = self.free.pop().unwrap_or_else(|| {
            self.clients.push(None);
            self.clients.len() - 1
        });
        self.next_gen += 1;
        let key = Key {
            slot,
            gen: self.next_gen,
        };
        let reader = tokio::spawn(read_client(stream.clone(), key, scanner, self.tx.clone()));
        self.clients[slot] = Some(Client {
            stream,
            gen: key.gen,
            reader: reader.abort_handle(),
            waiter: None,
            backlog: VecDeque::new(),
            offset: 0,
            closing: false,
        });
        let now = self.counters.clients.fetch_add(1, Ordering::Relaxed) + 1;
        self.counters.peak.fetch_max(now, Ordering::Relaxed);
        if closed_early {
            self.client_closed(key);
            return;
        }
        let snapshot = self.snapshot_frame();
        self.send(key, &snapshot);
    }

    /// Writes `frame` to one client, or queues it behind what is pending.
    fn send(&mut self, key: Key, frame: &Arc<[u8]>) {
        let max_backlog = self.max_backlog;
        let Some(c) = self.client(key) else {
            return;
        };
        if c.closing {
            return;
        }
        if !c.backlog.is_empty() {
            if c.backlog.len() >= max_backlog {
                self.remove(key, Removal::Slow);
            } else {
                c.backlog.push_back(frame.clone());
            }
            return;
        }
        match write_some(&c.stream, frame) {
            Wrote::All => {}
            Wrote::Part(n) => {
                c.backlog.push_back(frame.clone());
                c.offset = n;
                self.wait_writable(key);
            }
            Wrote::Blocked => {
                c.backlog.push_back(frame.clone());
                c.offset = 0;
                self.wait_writable(key);
            }
            Wrote::Failed => self.remove(key, Removal::WriteError),
        }
    }

    /// Starts the client's waiter: the only per-client wake-up, and only
    /// while its send buffer is full.
    fn wait_writable(&mut self, key: Key) {
        bump(&self.counters.blocked);
        let tx = self.tx.clone();
        let Some(c) = self.client(key) else {
            return;
        };
        if c.waiter.is_some() {
            return;
        }
        let stream = c.stream.clone();
        let waiter = tokio::spawn(async move {
            let msg = match stream.writable().await {
                Ok(()) => ShardMsg::Writable(key),
                Err(_) => ShardMsg::ClientGone(key),
            };
            let _ = tx.send(msg);
        });
        c.waiter = Some(waiter.abort_handle());
    }

    /// Writes a blocked client's backlog as far as the kernel takes it.
    fn flush(&mut self, key: Key) {
        let Some(c) = self.client(key) else {
            return;
        };
        c.waiter = None;
        while let Some(front) = c.backlog.front() {
            match write_some(&c.stream, &front[c.offset..]) {
                Wrote::All => {
                    c.backlog.pop_front();
                    c.offset = 0;
                }
                Wrote::Part(n) => {
                    c.offset += n;
                    return self.wait_writable(key);
                }
                Wrote::Blocked => return self.wait_writable(key),
                Wrote::Failed => return self.remove(key, Removal::WriteError),
            }
        }
        if c.closing {
            self.remove(key, Removal::ClosedByClient);
        }
    }

    /// Answers a client's Close (after anything still pending) and drops it.
    fn client_closed(&mut self, key: Key) {
        let reply = self.close_normal.clone();
        let Some(c) = self.client(key) else {
            return;
        };
        c.closing = true;
        if c.backlog.is_empty() {
            // Best effort: a few bytes into a send buffer that has room.
            let _ = c.stream.try_write(&reply);
            self.remove(key, Removal::ClosedByClient);
        } else {
            c.backlog.push_back(reply);
        }
    }

    fn remove(&mut self, key: Key, why: Removal) {
        if self.client(key).is_none() {
            return;
        }
        let Some(c) = self.clients[key.slot].take() else {
            return;
        };
        c.reader.abort();
        if let Some(waiter) = c.waiter {
            waiter.abort();
        }
        self.free.push(key.slot);
        self.counters.clients.fetch_sub(1, Ordering::Relaxed);
        let counter = match why {
            Removal::ClosedByClient => &self.counters.closed_by_client,
            Removal::Gone => &self.counters.gone,
            Removal::Slow => &self.counters.dropped_slow,
            Removal::WriteError => &self.counters.write_errors,
            Removal::Shutdown => return,
        };
        bump(counter);
        // The socket closes once the aborted tasks drop their handles.
    }

    /// Tells every client the server is going away (1001), like Vigil does
    /// on shutdown, and drops them all.
    fn shutdown(&mut self) {
        for slot in 0..self.clients.len() {
            let Some(c) = self.clients[slot].as_ref() else {
                continue;
            };
            if c.backlog.is_empty() {
                let _ = c.stream.try_write(&self.close_away);
            }
            let key = Key { slot, gen: c.gen };
            self.remove(key, Removal::Shutdown);
        }
    }
}

enum Drained {
    /// Everything buffered was read; nothing ended.
    Pending,
    Close,
    Gone,
}

/// Reads what the client sent so far into a stack buffer (not kept in the
/// task between reads) and scans it.
fn drain(stream: &TcpStream, scanner: &mut FrameScanner) -> Drained {
    let mut buf = [0u8; 1024];
    loop {
        match stream.try_read(&mut buf) {
            Ok(0) => return Drained::Gone,
            Ok(n) => {
                if scanner.feed(&buf[..n]) {
                    return Drained::Close;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Drained::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Drained::Gone,
        }
    }
}

/// A client's reader: asleep until the client sends something.
async fn read_client(stream: Arc<TcpStream>, key: Key, mut scanner: FrameScanner, tx: UnboundedSender<ShardMsg>) {
    let end = loop {
        if stream.readable().await.is_err() {
            break ShardMsg::ClientGone(key);
        }
        match drain(&stream, &mut scanner) {
            Drained::Pending => {}
            Drained::Close => break ShardMsg::ClientClose(key),
            Drained::Gone => break ShardMsg::ClientGone(key),
        }
    };
    let _ = tx.send(end);
}

/// Reads one request head and answers it. An upgraded connection is
/// returned with the bytes that followed its head.
async fn answer(mut stream: TcpStream, counters: &Counters) -> io::Result<Option<Joined>> {
    let mut buf = Vec::with_capacity(1024);
    let (route, head_len) = loop {
        buf.reserve(1024);
        if stream.read_buf(&mut buf).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(parsed) = wire::parse_request(&buf) {
            break parsed;
        }
    };
    stream.write_all(&wire::response(&route)).await?;
    match route {
        Route::Upgrade { .. } => Ok(Some(Joined {
            stream,
            early: buf.split_off(head_len),
        })),
        Route::Health => {
            bump(&counters.health);
            let _ = stream.shutdown().await;
            Ok(None)
        }
        Route::Refuse { .. } => {
            bump(&counters.refused);
            let _ = stream.shutdown().await;
            Ok(None)
        }
    }
}

/// One accepted connection: the handshake within `timeout`, then its shard.
async fn handshake(
    stream: TcpStream,
    shards: Arc<[UnboundedSender<ShardMsg>]>,
    counters: Arc<Counters>,
    timeout: Duration,
) {
    match tokio::time::timeout(timeout, answer(stream, &counters)).await {
        Ok(Ok(Some(joined))) => {
            let n = counters.upgraded.fetch_add(1, Ordering::Relaxed);
            // A shard that has stopped (shutdown) drops the connection.
            let _ = shards[(n % shards.len() as u64) as usize].send(ShardMsg::Join(joined));
        }
        Ok(Ok(None)) => {}
        Ok(Err(_)) | Err(_) => bump(&counters.handshake_failed),
    }
}

/// Stamps, builds and hands out one frame per interval, forever.
async fn ticker(
    interval: Duration,
    frame_bytes: usize,
    first_seq: u64,
    shards: Arc<[UnboundedSender<ShardMsg>]>,
    counters: Arc<Counters>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    // As Vigil's collector: a late tick delays the next ones, none is skipped.
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut seq = first_seq;
    loop {
        ticks.tick().await;
        // `data.ts` is when the tick began, as for Vigil's samples.
        let ts = now_ms();
        seq += 1;
        let tick = Tick {
            seq,
            frame: text_frame(&sample_payload(seq, ts, frame_bytes)),
        };
        for shard in shards.iter() {
            let _ = shard.send(ShardMsg::Tick(tick.clone()));
        }
        counters.last_seq.store(seq, Ordering::Relaxed);
        bump(&counters.ticks);
    }
}

/// Accept errors: a client that gave up is nothing; anything else (out of
/// file descriptors, mostly) gets a pause so the loop does not spin.
async fn accept_failed(err: io::Error, progress: bool) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    if progress {
        eprintln!("[vigil-load floor] accept failed: {err}; pausing 100 ms");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Prints the client count every 10 s while it changes.
async fn report_progress(counters: Arc<Counters>) {
    let mut last = u64::MAX;
    let mut every = tokio::time::interval(Duration::from_secs(10));
    loop {
        every.tick().await;
        let now = counters.clients.load(Ordering::Relaxed);
        if now != last {
            let seq = counters.last_seq.load(Ordering::Relaxed);
            eprintln!("[vigil-load floor] {now} clients, seq {seq}");
            last = now;
        }
    }
}

/// Serves the floor on `listener` until `shutdown` completes, then closes
/// every client with 1001 and reports.
pub async fn serve(listener: TcpListener, cfg: FloorConfig, shutdown: impl Future<Output = ()>) -> Result<FloorReport> {
    let addr: SocketAddr = listener.local_addr().context("reading the listener's address")?;
    ensure!(
        addr.ip().is_loopback(),
        "refusing to serve on {addr}: only loopback addresses are allowed"
    );
    let started = Instant::now();
    // Like Vigil, start counting from the boot time in ms.
    let first_seq = now_ms();
    let counters = Arc::new(Counters::default());
    counters.last_seq.store(first_seq, Ordering::Relaxed);

    let mut senders = Vec::new();
    let mut shard_tasks = Vec::new();
    for _ in 0..cfg.shards.max(1) {
        let (tx, rx) = mpsc::unbounded_channel();
        let shard = Shard::new(tx.clone(), first_seq, counters.clone(), cfg.max_backlog);
        shard_tasks.push(tokio::spawn(shard.run(rx)));
        senders.push(tx);
    }
    let shards: Arc<[UnboundedSender<ShardMsg>]> = senders.into();
    let ticking: JoinHandle<()> = tokio::spawn(ticker(
        cfg.interval,
        cfg.frame_bytes,
        first_seq,
        shards.clone(),
        counters.clone(),
    ));
    let progress = cfg.progress.then(|| tokio::spawn(report_progress(counters.clone())));

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    bump(&counters.accepted);
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(handshake(stream, shards.clone(), counters.clone(), cfg.handshake_timeout));
                }
                Err(e) => accept_failed(e, cfg.progress).await,
            },
        }
    }
    // Refuse new connections at once, as Vigil does, then close the clients.
    drop(listener);
    ticking.abort();
    if let Some(p) = progress {
        p.abort();
    }
    let clients_at_end = counters.clients.load(Ordering::Relaxed);
    for shard in shards.iter() {
        let _ = shard.send(ShardMsg::Shutdown);
    }
    for task in shard_tasks {
        let _ = task.await;
    }

    let c = &counters;
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    let passes = load(&c.write_passes);
    Ok(FloorReport {
        bind: addr.to_string(),
        interval_ms: cfg.interval.as_secs_f64() * 1000.0,
        frame_bytes: cfg.frame_bytes,
        wire_frame_bytes: text_frame(&sample_payload(first_seq, first_seq, cfg.frame_bytes)).len(),
        shards: shards.len(),
        uptime_secs: started.elapsed().as_secs_f64(),
        ticks: load(&c.ticks),
        first_seq,
        last_seq: load(&c.last_seq),
        accepted: load(&c.accepted),
        upgraded: load(&c.upgraded),
        health_checks: load(&c.health),
        refused_requests: load(&c.refused),
        handshake_failures: load(&c.handshake_failed),
        clients_peak: load(&c.peak),
        clients_at_end,
        closed_by_client: load(&c.closed_by_client),
        disconnected: load(&c.gone),
        dropped_slow: load(&c.dropped_slow),
        write_errors: load(&c.write_errors),
        blocked_writes: load(&c.blocked),
        shard_write_mean_ms: (passes > 0).then(|| load(&c.write_total_us) as f64 / passes as f64 / 1000.0),
        shard_write_max_ms: (passes > 0).then(|| load(&c.write_max_us) as f64 / 1000.0),
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.prec$}"))
}

/// Human-readable report.
pub fn render_text(r: &FloorReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "vigil-load floor report ({})", r.bind);
    let _ = writeln!(
        s,
        "  frames             {} B of JSON ({} B on the wire) every {:.0} ms, {} shards",
        r.frame_bytes, r.wire_frame_bytes, r.interval_ms, r.shards
    );
    let _ = writeln!(
        s,
        "  ran                {:.1}s, {} ticks (seq {}..{})",
        r.uptime_secs, r.ticks, r.first_seq, r.last_seq
    );
    let _ = writeln!(
        s,
        "  connections        {} accepted, {} upgraded, {} health checks, {} refused, {} failed handshakes",
        r.accepted, r.upgraded, r.health_checks, r.refused_requests, r.handshake_failures
    );
    let _ = writeln!(
        s,
        "  clients            peak {}, {} at the end",
        r.clients_peak, r.clients_at_end
    );
    let _ = writeln!(
        s,
        "  clients gone       {} closed, {} disconnected, {} dropped as slow, {} write errors",
        r.closed_by_client, r.disconnected, r.dropped_slow, r.write_errors
    );
    let _ = writeln!(
        s,
        "  shard write pass   mean {} ms, max {} ms ({} blocked writes)",
        opt(r.shard_write_mean_ms, 2),
        opt(r.shard_write_max_ms, 2),
        r.blocked_writes
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{parse_frame, FrameKind};

    #[test]
    fn sample_is_padded_to_the_frame_size_and_parses() {
        for size in [0, 50, 200, 1200, 5000] {
            let text = sample_payload(1_796_628_283_645, 1_796_628_309_619, size);
            assert!(
                text.len() == size || (size < 100 && text.len() > size),
                "{size}: {}",
                text.len()
            );
            let f = parse_frame(&text).unwrap();
            assert_eq!(f.kind, FrameKind::Sample);
            assert_eq!(f.seq, Some(1_796_628_283_645));
            assert_eq!(f.sample_ts_ms, Some(1_796_628_309_619.0));
        }
        let wire = text_frame(&sample_payload(1, 2, DEFAULT_FRAME_BYTES));
        assert_eq!(wire.len(), DEFAULT_FRAME_BYTES + 4);
    }

    #[test]
    fn snapshot_parses() {
        let f = parse_frame(&snapshot_payload(42)).unwrap();
        assert_eq!((f.kind, f.seq), (FrameKind::Snapshot, Some(42)));
    }

    #[tokio::test]
    async fn refuses_non_loopback_listeners() {
        let Ok(listener) = TcpListener::bind("0.0.0.0:0").await else {
            return;
        };
        let err = serve(listener, FloorConfig::default(), async {}).await.unwrap_err();
        assert!(err.to_string().contains("only loopback"), "{err}");
    }
}

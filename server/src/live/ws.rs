//! `GET /ws`: the live WebSocket.
//!
//! Each client gets two tasks: a reader that checks what the client sends
//! and keeps it counted as alive, and a writer that owns the socket's send
//! half and forwards hub frames. The writer ends the connection, always with
//! a close frame: on shutdown, on a protocol violation reported by the
//! reader, when pings go unanswered, or when a send stalls.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::error::ApiError;
use app::live::protocol::{ClientFrame, CLOSE_SIGNED_OUT, MAX_CLIENT_FRAME_BYTES};
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::{close_code, CloseFrame, Message, Utf8Bytes, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use serde::Deserialize;
use tokio::sync::{broadcast, oneshot};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::hub::{Hub, Start};
use crate::signals::LiveStats;

/// Tuning of one client connection.
#[derive(Clone, Debug)]
pub struct SocketOptions {
    /// How often the server pings.
    pub ping_every: Duration,
    /// A client silent for this long (no pong, no frame) is dropped.
    pub(crate) idle_timeout: Duration,
    /// A send that takes longer than this means the client stopped reading.
    pub(crate) write_timeout: Duration,
    /// Most frames a client may send in one second (pings, pongs, text);
    /// past it the socket is closed with 1008 (policy violation). Browsers
    /// send only an occasional ping, so this is far above real use.
    pub(crate) max_messages_per_sec: u32,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            ping_every: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(10),
            max_messages_per_sec: 20,
        }
    }
}

/// What `/ws` handlers reach: the hub, how sockets are kept, and the
/// server's shutdown.
#[derive(Clone)]
pub(crate) struct LiveState {
    pub(crate) hub: Arc<Hub>,
    pub(crate) socket: SocketOptions,
    /// Cancelled on SIGINT/SIGTERM.
    pub(crate) shutdown: CancellationToken,
    /// Client tasks that shutdown waits for.
    pub(crate) tasks: TaskTracker,
}

/// When the session that opens a socket ends: the gate puts it on every
/// request it admits to `/ws`, as the account side knows it.
#[derive(Clone, Debug, Default)]
pub(crate) struct SessionEnd {
    /// Cancelled when the session ends (signed out, revoked), or, for an
    /// open Vigil's socket, when the first account is created.
    pub(crate) ended: CancellationToken,
    /// When the session expires.
    pub(crate) expires: Option<tokio::time::Instant>,
}

/// `/ws?since=SEQ`: nothing else is taken (the handler's query).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Since {
    since: Option<u64>,
}

/// The upgrade handler: checks `since`, then hands the socket to
/// [`serve_client`]. (The gate has checked the session and the Origin.)
pub(crate) async fn handler(
    State(state): State<LiveState>,
    session: Option<axum::Extension<SessionEnd>>,
    since: Result<Query<Since>, QueryRejection>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let since = match since {
        Ok(Query(Since { since })) => since,
        Err(rejection) => {
            let message = format!(
                "bad query (only since=SEQ, an unsigned integer, is taken): {}",
                rejection.body_text()
            );
            return ApiError::with_status(StatusCode::BAD_REQUEST, message).into_response();
        }
    };
    let stops = Stops {
        shutdown: state.shutdown.clone(),
        session: session.map(|axum::Extension(end)| end).unwrap_or_default(),
    };
    let LiveState { hub, socket, tasks, .. } = state;
    upgrade
        // Clients send only tiny control frames: anything larger is refused
        // while it is read (closed with 1009), before it is buffered whole.
        .max_message_size(MAX_CLIENT_FRAME_BYTES)
        .max_frame_size(MAX_CLIENT_FRAME_BYTES)
        // A small read buffer keeps 10,000 sockets cheap (the default is
        // 128 KiB per connection): clients send pings of a few dozen bytes,
        // and the buffer grows for a larger frame up to the limits above.
        .read_buffer_size(READ_BUFFER_BYTES)
        .on_upgrade(move |socket_io| {
            let (sink, stream) = socket_io.split();
            // Tracked, so shutdown waits for every close frame to go out.
            tasks.track_future(serve_client(sink, stream, hub, since, socket, stops))
        })
}

/// What a socket reads into at first; see [`handler`].
const READ_BUFFER_BYTES: usize = 256;

/// What the reader reports about the client: whether it is alive, through
/// a clock both tasks share (a channel would cost every client a
/// kilobyte-and-a-half block of slots), and how reading ended.
struct Heard {
    /// When the reader started.
    since: Instant,
    /// Milliseconds after `since` of the client's last frame.
    last_ms: AtomicU64,
}

impl Heard {
    fn new() -> Self {
        Heard {
            since: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn now(&self) {
        self.last_ms
            .store(self.since.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    fn silent_for(&self) -> Duration {
        let last = self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        last.elapsed()
    }
}

/// How reading ended.
enum ReadEnd {
    /// The client broke the protocol: close with this frame.
    Violation(CloseFrame),
    /// The client closed or the connection failed.
    Gone,
}

/// What the reader makes of one frame.
enum FromReader {
    /// The client is alive (any frame, including pongs).
    Alive,
    /// Reading ends.
    End(ReadEnd),
}

/// Serves one client until it leaves, breaks the protocol, or one of
/// `stops` comes (the server shuts down, the session that opened the
/// socket ends or expires). Generic over the socket halves so tests can
/// drive it with channels.
pub(crate) async fn serve_client<W, R>(
    mut sink: W,
    stream: R,
    hub: Arc<Hub>,
    since: Option<u64>,
    options: SocketOptions,
    stops: Stops,
) where
    W: Sink<Message> + Unpin + Send + 'static,
    R: Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
{
    hub.stats.clients.fetch_add(1, Ordering::Relaxed);
    let heard = Arc::new(Heard::new());
    let (end_tx, read_end) = oneshot::channel();
    let reader = tokio::spawn(read_client(stream, heard.clone(), end_tx, options.max_messages_per_sec));
    let close = write_client(&mut sink, &hub, since, &options, &stops, &heard, read_end).await;
    if let Some(frame) = close {
        send_within(&mut sink, Message::Close(Some(frame)), options.write_timeout).await;
    }
    let _ = tokio::time::timeout(options.write_timeout, sink.close()).await;
    reader.abort();
    hub.stats.clients.fetch_sub(1, Ordering::Relaxed);
}

/// What ends a socket from the server's side.
pub(crate) struct Stops {
    /// The server is shutting down.
    pub(crate) shutdown: CancellationToken,
    /// The session that opened the socket ends or expires.
    pub(crate) session: SessionEnd,
}

impl Stops {
    /// Only a shutdown ends the socket.
    #[cfg(test)]
    pub(crate) fn shutdown(shutdown: CancellationToken) -> Stops {
        Stops {
            shutdown,
            session: SessionEnd::default(),
        }
    }
}

/// Forwards hub frames; returns the close frame to send, if any.
async fn write_client<W>(
    sink: &mut W,
    hub: &Hub,
    since: Option<u64>,
    options: &SocketOptions,
    stops: &Stops,
    heard: &Heard,
    read_end: oneshot::Receiver<ReadEnd>,
) -> Option<CloseFrame>
where
    W: Sink<Message> + Unpin,
{
    let stalled = || close(close_code::POLICY, "client is not reading; reconnect to resume");
    let wt = options.write_timeout;
    let mut sub = hub.subscribe(since);
    let mut last_seq = sub.seq;
    let first = match std::mem::replace(&mut sub.start, Start::Replay(Vec::new())) {
        Start::Snapshot(text) | Start::Resync(text) => vec![text],
        Start::Replay(frames) => frames.iter().map(|f| f.text.clone()).collect(),
    };
    for text in first {
        if !send_frame(sink, text, wt, &hub.stats).await {
            return Some(stalled());
        }
    }

    let mut ping = tokio::time::interval(options.ping_every);
    ping.tick().await;
    // Registered once: re-creating it per frame would take the token's lock
    // for every client on every tick.
    let cancelled = stops.shutdown.cancelled();
    let ended = stops.session.ended.cancelled();
    let expired = async {
        match stops.session.expires {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(cancelled, ended, expired, read_end);
    loop {
        tokio::select! {
            _ = &mut cancelled => {
                return Some(close(close_code::AWAY, "server shutting down"));
            }
            _ = &mut ended => {
                return Some(close(CLOSE_SIGNED_OUT.0, CLOSE_SIGNED_OUT.1));
            }
            _ = &mut expired => {
                return Some(close(CLOSE_SIGNED_OUT.0, CLOSE_SIGNED_OUT.1));
            }
            end = &mut read_end => match end {
                Ok(ReadEnd::Violation(frame)) => return Some(frame),
                Ok(ReadEnd::Gone) | Err(_) => return None,
            },
            _ = ping.tick() => {
                if heard.silent_for() > options.idle_timeout {
                    return Some(close(close_code::AWAY, "no answer to pings"));
                }
                if !send_within(sink, Message::Ping(Default::default()), wt).await {
                    return Some(stalled());
                }
            }
            frame = sub.rx.recv() => match frame {
                Ok(frame) if frame.seq <= last_seq => {}
                Ok(frame) => {
                    last_seq = frame.seq;
                    if !send_frame(sink, frame.text.clone(), wt, &hub.stats).await {
                        return Some(stalled());
                    }
                    hub.stats.record_delay(frame.published.elapsed());
                }
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    // Too slow to keep up: rather than buffer, send the
                    // current state and carry on from there.
                    hub.stats.lagged.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(missed, "live client lagged; resyncing it");
                    let (seq, text) = hub.resync();
                    last_seq = seq;
                    if !send_frame(sink, text, wt, &hub.stats).await {
                        return Some(stalled());
                    }
                }
                Err(broadcast::error::RecvError::Closed) => {
                    return Some(close(close_code::AWAY, "server shutting down"));
                }
            },
        }
    }
}

/// Sends one message within `timeout`; false when the send failed or stalled.
async fn send_within<W: Sink<Message> + Unpin>(sink: &mut W, msg: Message, timeout: Duration) -> bool {
    matches!(tokio::time::timeout(timeout, sink.send(msg)).await, Ok(Ok(())))
}

/// Sends one stream frame and counts it for the frames/s figure.
async fn send_frame<W: Sink<Message> + Unpin>(
    sink: &mut W,
    text: Utf8Bytes,
    timeout: Duration,
    stats: &LiveStats,
) -> bool {
    let sent = send_within(sink, Message::Text(text), timeout).await;
    if sent {
        stats.frames_sent.fetch_add(1, Ordering::Relaxed);
    }
    sent
}

/// Reads client frames, notes when each came, and reports how reading
/// ended: the client left, or its first violation.
async fn read_client<R>(mut stream: R, heard: Arc<Heard>, end: oneshot::Sender<ReadEnd>, max_per_sec: u32)
where
    R: Stream<Item = Result<Message, axum::Error>> + Unpin,
{
    let mut rate = RateWindow::new(max_per_sec, Instant::now());
    while let Some(msg) = stream.next().await {
        let flooding = !rate.allow(Instant::now());
        let report = match msg {
            Ok(Message::Close(_)) => FromReader::End(ReadEnd::Gone),
            Ok(_) if flooding => violation(close(
                close_code::POLICY,
                &format!("too many frames: at most {max_per_sec} per second"),
            )),
            Ok(Message::Text(text)) => check_client_text(&text),
            Ok(Message::Binary(_)) => violation(close(close_code::UNSUPPORTED, "binary frames are not accepted")),
            Ok(Message::Ping(_) | Message::Pong(_)) => FromReader::Alive,
            Err(err) => {
                tracing::debug!(%err, "live client read failed");
                violation(close(close_code::SIZE, "frame rejected (too large or malformed)"))
            }
        };
        match report {
            FromReader::Alive => heard.now(),
            FromReader::End(how) => {
                let _ = end.send(how);
                return;
            }
        }
    }
    let _ = end.send(ReadEnd::Gone);
}

fn violation(frame: CloseFrame) -> FromReader {
    FromReader::End(ReadEnd::Violation(frame))
}

/// Counts a client's frames in one-second windows.
struct RateWindow {
    max: u32,
    start: Instant,
    count: u32,
}

impl RateWindow {
    fn new(max: u32, start: Instant) -> Self {
        RateWindow { max, start, count: 0 }
    }

    /// Counts a frame at `now`; false once the window holds more than `max`.
    fn allow(&mut self, now: Instant) -> bool {
        if now.duration_since(self.start) >= Duration::from_secs(1) {
            self.start = now;
            self.count = 0;
        }
        self.count = self.count.saturating_add(1);
        self.count <= self.max
    }
}

fn check_client_text(text: &str) -> FromReader {
    if text.len() > MAX_CLIENT_FRAME_BYTES {
        let reason = format!("frame too large: {} bytes, limit {MAX_CLIENT_FRAME_BYTES}", text.len());
        return violation(close(close_code::SIZE, &reason));
    }
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(ClientFrame::Ping {}) => FromReader::Alive,
        Err(_) => violation(close(
            close_code::INVALID,
            r#"malformed frame: expected {"type":"ping"}"#,
        )),
    }
}

fn close(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::live::protocol::ServerFrame;
    use app::metrics::Sample;
    use tokio::sync::mpsc;
    use tokio_util::sync::PollSender;

    fn small_hub() -> Arc<Hub> {
        crate::live::hub::test_hub(0)
    }

    fn publish(hub: &Hub, n: i64) {
        for ts in 0..n {
            hub.publish_sample(Arc::new(Sample {
                ts,
                ..Default::default()
            }));
        }
    }

    /// A client served over channels: what the server writes arrives on
    /// the receiver (`capacity` frames, so an unread client stalls the
    /// writer), and the client sends `incoming`.
    fn spawn_client<S>(
        hub: &Arc<Hub>,
        incoming: S,
        options: SocketOptions,
        capacity: usize,
    ) -> (mpsc::Receiver<Message>, tokio::task::JoinHandle<()>, CancellationToken)
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
    {
        let (tx, rx) = mpsc::channel(capacity);
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve_client(
            PollSender::new(tx),
            incoming,
            hub.clone(),
            None,
            options,
            Stops::shutdown(shutdown.clone()),
        ));
        (rx, task, shutdown)
    }

    /// A client that sends nothing and reads one frame at a time.
    fn client(
        hub: &Arc<Hub>,
        options: SocketOptions,
    ) -> (mpsc::Receiver<Message>, tokio::task::JoinHandle<()>, CancellationToken) {
        let silent = futures_util::stream::pending::<Result<Message, axum::Error>>();
        spawn_client(hub, silent, options, 1)
    }

    fn frame(msg: Option<Message>) -> ServerFrame {
        match msg {
            Some(Message::Text(t)) => app::live::protocol::parse_frame(t.as_str()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn a_client_that_falls_behind_is_resynced_not_buffered() {
        let hub = small_hub();
        publish(&hub, 1);
        let (mut rx, _task, _shutdown) = client(&hub, SocketOptions::default());
        assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { seq: 1, .. }));
        // The test runtime is single-threaded: all eleven frames go out
        // before the writer runs again, more than the broadcast holds.
        publish(&hub, 11);
        assert!(matches!(frame(rx.recv().await), ServerFrame::Resync { seq: 12, .. }));
        assert_eq!(hub.stats.lagged.load(Ordering::Relaxed), 1);
        publish(&hub, 1);
        assert!(
            matches!(frame(rx.recv().await), ServerFrame::Sample { seq: 13, .. }),
            "live again after the resync"
        );
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_dropped() {
        let hub = small_hub();
        let options = SocketOptions {
            write_timeout: Duration::from_millis(200),
            ..SocketOptions::default()
        };
        let (rx, task, _shutdown) = client(&hub, options);
        // Never read: the snapshot fills the channel, the next frame stalls.
        tokio::time::sleep(Duration::from_millis(50)).await;
        publish(&hub, 3);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("stalled client dropped")
            .unwrap();
        assert_eq!(hub.stats.clients.load(Ordering::Relaxed), 0);
        drop(rx);
    }

    /// Serves one client whose side sends `incoming`, with pings every
    /// 50 ms and a 300 ms idle timeout; returns what the server wrote
    /// within `within`.
    async fn written_to<S>(incoming: S, within: Duration) -> Vec<Message>
    where
        S: Stream<Item = Result<Message, axum::Error>> + Unpin + Send + 'static,
    {
        let options = SocketOptions {
            ping_every: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(300),
            ..SocketOptions::default()
        };
        let (mut rx, _task, shutdown) = spawn_client(&small_hub(), incoming, options, 64);
        let mut written = vec![];
        let _ = tokio::time::timeout(within, async {
            while let Some(msg) = rx.recv().await {
                written.push(msg);
            }
        })
        .await;
        shutdown.cancel();
        written
    }

    fn closes(written: &[Message]) -> Vec<(u16, String)> {
        written
            .iter()
            .filter_map(|m| match m {
                Message::Close(Some(f)) => Some((f.code, f.reason.to_string())),
                _ => None,
            })
            .collect()
    }

    #[tokio::test]
    async fn a_client_that_answers_no_ping_is_closed() {
        let silent = futures_util::stream::pending::<Result<Message, axum::Error>>();
        let written = written_to(silent, Duration::from_secs(2)).await;
        assert_eq!(closes(&written), [(close_code::AWAY, "no answer to pings".to_string())]);
    }

    #[tokio::test]
    async fn a_client_that_answers_pings_is_kept() {
        let pongs = Box::pin(futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok(Message::Pong(Default::default())), ()))
        }));
        let written = written_to(pongs, Duration::from_secs(1)).await;
        assert!(closes(&written).is_empty(), "{written:?}");
        let pings = written.iter().filter(|m| matches!(m, Message::Ping(_))).count();
        assert!(pings >= 10, "pinged all along: {pings}");
    }

    #[tokio::test]
    async fn shutdown_closes_with_going_away() {
        let hub = small_hub();
        let (mut rx, task, shutdown) = client(&hub, SocketOptions::default());
        assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { .. }));
        shutdown.cancel();
        match rx.recv().await {
            Some(Message::Close(Some(f))) => assert_eq!(f.code, close_code::AWAY),
            other => panic!("expected a close frame, got {other:?}"),
        }
        task.await.unwrap();
    }

    #[test]
    fn since_must_be_a_seq() {
        let since = |uri: &str| {
            Query::<Since>::try_from_uri(&uri.parse().unwrap())
                .map(|Query(s)| s.since)
                .map_err(|r| r.body_text())
        };
        assert_eq!(since("/ws"), Ok(None));
        assert_eq!(since("/ws?since=42"), Ok(Some(42)));
        assert!(since("/ws?since=-1").unwrap_err().contains("since"));
        assert!(since("/ws?since=abc").is_err());
        assert!(since("/ws?foo=1").unwrap_err().contains("unknown field `foo`"));
    }

    #[test]
    fn the_frame_rate_is_counted_per_second() {
        let start = Instant::now();
        let mut rate = RateWindow::new(3, start);
        assert!((0..3).all(|_| rate.allow(start)), "three frames pass");
        assert!(
            !rate.allow(start + Duration::from_millis(500)),
            "the fourth in the same second does not"
        );
        assert!(
            rate.allow(start + Duration::from_secs(1)),
            "a new second starts a new count"
        );
    }

    #[tokio::test]
    async fn a_flooding_client_is_closed_with_policy_violation() {
        let pings = (0..50).map(|_| Ok(Message::Text(r#"{"type":"ping"}"#.into())));
        let flood = futures_util::stream::iter(pings).chain(futures_util::stream::pending());
        let options = SocketOptions {
            max_messages_per_sec: 10,
            ..SocketOptions::default()
        };
        let (mut rx, task, _shutdown) = spawn_client(&small_hub(), flood, options, 64);
        loop {
            match rx.recv().await {
                Some(Message::Close(Some(f))) => {
                    assert_eq!(f.code, close_code::POLICY);
                    assert!(f.reason.as_str().contains("too many frames"), "{}", f.reason);
                    break;
                }
                Some(_) => continue,
                None => panic!("closed without a close frame"),
            }
        }
        task.await.unwrap();
    }

    #[test]
    fn client_frames_are_checked() {
        assert!(matches!(check_client_text(r#"{"type":"ping"}"#), FromReader::Alive));
        match check_client_text("{oops") {
            FromReader::End(ReadEnd::Violation(f)) => assert_eq!(f.code, close_code::INVALID),
            _ => panic!("malformed text must be a violation"),
        }
        match check_client_text(&"x".repeat(MAX_CLIENT_FRAME_BYTES + 1)) {
            FromReader::End(ReadEnd::Violation(f)) => {
                assert_eq!(f.code, close_code::SIZE);
                assert!(f.reason.as_str().contains("frame too large"));
            }
            _ => panic!("oversized text must be a violation"),
        }
    }
}

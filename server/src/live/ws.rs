//! `GET /ws`: the live WebSocket.
//!
//! The handler checks the query and upgrades ([`super::upgrade`]); the
//! socket's send half goes to a shard of the [`Fanout`], which writes every
//! hub frame, pings and closes it. Its receive half gets a reader task,
//! here: it checks what the client sends, keeps it counted as alive, has
//! the shard answer its pings, and watches the session that opened the
//! socket. The connection ends with a close frame: on shutdown, on a
//! protocol violation reported by the reader, when the client closes (its
//! close is echoed), when the session ends, when pings go unanswered, or
//! when the client stops reading.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::error::ApiError;
use app::live::protocol::{ClientFrame, CLOSE_SIGNED_OUT, MAX_CLIENT_FRAME_BYTES};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::Either;
use futures_util::{Stream, StreamExt};
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tokio_util::sync::CancellationToken;

use super::fanout::Fanout;
use super::upgrade::WsUpgrade;
use super::wire::{LiveSink, RawSink, ReadSide};
use crate::http::serve::raw_connection;

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

/// What `/ws` handlers reach: the shards that serve the sockets.
#[derive(Clone)]
pub(crate) struct LiveState {
    pub(crate) fanout: Arc<Fanout<LiveSink>>,
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
/// its shard. (The gate has checked the session and the Origin.)
pub(crate) async fn handler(
    State(state): State<LiveState>,
    session: Option<axum::Extension<SessionEnd>>,
    since: Result<Query<Since>, QueryRejection>,
    upgrade: WsUpgrade,
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
    let session = session.map(|axum::Extension(end)| end).unwrap_or_default();
    let fanout = state.fanout;
    upgrade.on_upgrade(move |upgraded| async move {
        let config = WebSocketConfig::default()
            // Clients send only tiny control frames: anything larger is
            // refused while it is read (closed with 1009), before it is
            // buffered whole.
            .max_message_size(Some(MAX_CLIENT_FRAME_BYTES))
            .max_frame_size(Some(MAX_CLIENT_FRAME_BYTES))
            // A small read buffer keeps 10,000 sockets cheap (the default is
            // 128 KiB per connection): clients send pings of a few dozen
            // bytes, and the buffer grows for a larger frame up to the
            // limits above.
            .read_buffer_size(READ_BUFFER_BYTES);
        match raw_connection(upgraded) {
            Ok(raw) => {
                let (read, write) = raw.stream.into_split();
                let read_ahead = raw.read_ahead.to_vec();
                let stream =
                    WebSocketStream::from_partially_read(ReadSide::new(read), read_ahead, Role::Server, Some(config))
                        .await;
                fanout.join(Either::Left(RawSink::new(write, raw.slots)), stream, since, session);
            }
            Err(upgraded) => {
                let socket = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
                let (sink, stream) = socket.split();
                fanout.join(Either::Right(sink), stream, since, session);
            }
        }
    })
}

/// What a socket reads into at first; see [`handler`].
const READ_BUFFER_BYTES: usize = 256;

/// When the client was last heard from, kept by its reader and read by its
/// shard's idle check.
pub(crate) struct Heard {
    /// When the reader started.
    since: Instant,
    /// Milliseconds after `since` of the client's last frame.
    last_ms: AtomicU64,
}

impl Heard {
    pub(crate) fn new() -> Self {
        Heard {
            since: Instant::now(),
            last_ms: AtomicU64::new(0),
        }
    }

    fn now(&self) {
        self.last_ms
            .store(self.since.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    pub(crate) fn silent_for(&self) -> Duration {
        let last = self.since + Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        last.elapsed()
    }
}

/// How reading ended.
#[derive(Debug)]
pub(crate) enum ReadEnd {
    /// Close with this frame: the client broke the protocol or closed (the
    /// echo of its close), or the session that opened the socket ended.
    Close(CloseFrame),
    /// The connection ended or failed.
    Gone,
}

/// What a reader tells its shard.
#[derive(Debug)]
pub(crate) enum FromClient {
    /// The client pinged: answer with a pong carrying this payload.
    Ping(Bytes),
    /// Reading ended.
    End(ReadEnd),
}

/// What the reader makes of one frame.
enum FromReader {
    /// The client is alive (any frame, including pongs).
    Alive,
    /// The client pinged: alive, and owed a pong.
    Ping(Bytes),
    /// Reading ends.
    End(ReadEnd),
}

/// Reads client frames and notes when each came, until the client leaves,
/// breaks the protocol, or the session that opened the socket ends or
/// expires; tells `report` of each ping, then how reading ended.
pub(crate) async fn read_client<R>(
    mut stream: R,
    heard: Arc<Heard>,
    session: SessionEnd,
    max_per_sec: u32,
    mut report: impl FnMut(FromClient),
) where
    R: Stream<Item = Result<Message, WsError>> + Unpin,
{
    let read = async {
        let mut rate = RateWindow::new(max_per_sec, Instant::now());
        while let Some(msg) = stream.next().await {
            let flooding = !rate.allow(Instant::now());
            let seen = match msg {
                Ok(Message::Close(frame)) => FromReader::End(ReadEnd::Close(echo(frame))),
                Ok(_) if flooding => violation(close(
                    CloseCode::Policy,
                    &format!("too many frames: at most {max_per_sec} per second"),
                )),
                Ok(Message::Text(text)) => check_client_text(&text),
                Ok(Message::Binary(_)) => violation(close(CloseCode::Unsupported, "binary frames are not accepted")),
                Ok(Message::Ping(payload)) => FromReader::Ping(payload),
                Ok(Message::Pong(_) | Message::Frame(_)) => FromReader::Alive,
                Err(err) => {
                    tracing::debug!(%err, "live client read failed");
                    violation(close(CloseCode::Size, "frame rejected (too large or malformed)"))
                }
            };
            match seen {
                FromReader::Alive => heard.now(),
                FromReader::Ping(payload) => {
                    heard.now();
                    report(FromClient::Ping(payload));
                }
                FromReader::End(how) => return how,
            }
        }
        ReadEnd::Gone
    };
    let expired = async {
        match session.expires {
            Some(at) => tokio::time::sleep_until(at).await,
            None => std::future::pending().await,
        }
    };
    let signed_out = || ReadEnd::Close(close(CloseCode::from(CLOSE_SIGNED_OUT.0), CLOSE_SIGNED_OUT.1));
    let end = tokio::select! {
        end = read => end,
        _ = session.ended.cancelled() => signed_out(),
        _ = expired => signed_out(),
    };
    report(FromClient::End(end));
}

/// The answer to a client's close: its status code when it gave one that
/// may be sent (RFC 6455, section 5.5.1), else 1000.
fn echo(frame: Option<CloseFrame>) -> CloseFrame {
    let code = frame.map(|f| f.code).filter(|code| code.is_allowed());
    close(code.unwrap_or(CloseCode::Normal), "")
}

fn violation(frame: CloseFrame) -> FromReader {
    FromReader::End(ReadEnd::Close(frame))
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
        return violation(close(CloseCode::Size, &reason));
    }
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(ClientFrame::Ping {}) => FromReader::Alive,
        Err(_) => violation(close(
            CloseCode::Invalid,
            r#"malformed frame: expected {"type":"ping"}"#,
        )),
    }
}

pub(crate) fn close(code: CloseCode, reason: &str) -> CloseFrame {
    CloseFrame {
        code,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn client_frames_are_checked() {
        assert!(matches!(check_client_text(r#"{"type":"ping"}"#), FromReader::Alive));
        match check_client_text("{oops") {
            FromReader::End(ReadEnd::Close(f)) => assert_eq!(f.code, CloseCode::Invalid),
            _ => panic!("malformed text must be a violation"),
        }
        match check_client_text(&"x".repeat(MAX_CLIENT_FRAME_BYTES + 1)) {
            FromReader::End(ReadEnd::Close(f)) => {
                assert_eq!(f.code, CloseCode::Size);
                assert!(f.reason.as_str().contains("frame too large"));
            }
            _ => panic!("oversized text must be a violation"),
        }
    }
}

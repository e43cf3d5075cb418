//! WebSocket checks: the handshake succeeds; optionally a text message is
//! sent (`send`) and the server's first message must contain `expect`
//! (an echo round trip). The socket is closed with a close frame after.
//!
//! Parts: `handshake` (latency), `echo` (when `send` or `expect` is set).

use app::health::Status;
use futures_util::{SinkExt, StreamExt};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{millis, snippet, sub, Outcome, Probe};
use crate::outbound::{describe_io, human};

/// The largest message read from the target.
const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Opens a WebSocket per attempt.
pub(crate) struct WebSocketProbe {
    url: String,
    send: Option<String>,
    expect: Option<String>,
}

impl WebSocketProbe {
    pub(crate) fn new(url: String, send: Option<String>, expect: Option<String>) -> WebSocketProbe {
        WebSocketProbe { url, send, expect }
    }
}

#[async_trait::async_trait]
impl Probe for WebSocketProbe {
    async fn probe(&self) -> Outcome {
        let start = Instant::now();
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_BYTES))
            .max_frame_size(Some(MAX_MESSAGE_BYTES));
        let connected =
            tokio_tungstenite::connect_async_tls_with_config(self.url.as_str(), Some(config), true, None).await;
        let handshake = start.elapsed();
        let mut ws = match connected {
            Ok((ws, _)) => ws,
            Err(err) => return Outcome::down(describe(&err, "handshake")).with_latency(handshake),
        };
        let mut subs = vec![sub(
            "handshake",
            Status::Up,
            format!("handshake in {}", human(handshake)),
            Some(millis(handshake)),
        )];

        if self.send.is_some() || self.expect.is_some() {
            let echo_start = Instant::now();
            let echo = self.echo(&mut ws).await;
            let took = echo_start.elapsed();
            subs.push(match echo {
                Ok(reply) => sub(
                    "echo",
                    Status::Up,
                    format!("answered {} in {}", quote(&reply), human(took)),
                    Some(millis(took)),
                ),
                Err(why) => sub("echo", Status::Down, why, None),
            });
        }
        let latency = start.elapsed();
        // Say goodbye properly, without waiting on a peer that will not answer.
        let _ = tokio::time::timeout(std::time::Duration::from_millis(200), ws.close(None)).await;
        Outcome::from_subs(subs, |subs| {
            subs.iter().map(|s| s.reason.as_str()).collect::<Vec<_>>().join("; ")
        })
        .with_latency(latency)
    }
}

impl WebSocketProbe {
    /// Sends `send` (if any) and reads the first data message.
    async fn echo<S>(&self, ws: &mut tokio_tungstenite::WebSocketStream<S>) -> Result<String, String>
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        if let Some(text) = &self.send {
            ws.send(Message::text(text.as_str()))
                .await
                .map_err(|e| describe(&e, "send"))?;
        }
        let reply = loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => break t.as_str().to_owned(),
                Some(Ok(Message::Binary(b))) => break String::from_utf8_lossy(&b).into_owned(),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None => return Err("closed before answering".into()),
                Some(Err(err)) => return Err(describe(&err, "reading the answer")),
            }
        };
        match &self.expect {
            Some(expect) if !reply.contains(expect.as_str()) => {
                Err(format!("expected {}, got {}", quote(expect), quote(&reply)))
            }
            _ => Ok(reply),
        }
    }
}

fn quote(text: &str) -> String {
    format!("{:?}", snippet(text, 64))
}

/// A WebSocket error in words.
fn describe(err: &WsError, stage: &str) -> String {
    match err {
        WsError::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::ConnectionReset => describe_io(io),
            std::io::ErrorKind::UnexpectedEof => format!("{stage}: connection closed"),
            _ => format!("{stage} failed: {io}"),
        },
        WsError::Http(res) => format!("handshake refused: HTTP {}", res.status().as_u16()),
        WsError::ConnectionClosed | WsError::AlreadyClosed => format!("{stage}: connection closed"),
        other => format!("{stage} failed: {other}"),
    }
}

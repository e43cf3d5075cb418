//! A live socket's two halves, as the shards and the reader tasks use them.
//!
//! Over plain TCP (Vigil's own port, or behind a proxy that ends TLS) the
//! upgraded connection is taken back down to its TCP socket and split
//! without a lock: the shard writes each frame straight to the socket with
//! [`RawSink`] (the frame's header and the shared payload in one `writev`,
//! no copy into a per-client buffer), and the reader task reads client
//! frames through tungstenite over the other half ([`ReadSide`]). Inside
//! TLS the bytes must pass the TLS stream, so the socket stays one
//! tungstenite stream split in two, as before.
//!
//! The reader's tungstenite cannot write: over plain TCP its half of the
//! socket discards what it would send (the automatic pong and close
//! replies), and the shard sends those instead ([`crate::live::ws`]'s
//! reader reports them), so frames never interleave on the wire.

use std::io::IoSlice;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use futures_util::future::Either;
use futures_util::stream::SplitSink;
use futures_util::Sink;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::http::serve::ConnectionSlots;

/// The send half of a live socket, as its shard keeps it: `Left` over
/// plain TCP, frames written straight to the socket; `Right` inside TLS,
/// through tungstenite.
pub(crate) type LiveSink = Either<RawSink, SplitSink<WebSocketStream<TokioIo<Upgraded>>, Message>>;

/// The longest frame header a server writes: 2 bytes, then a 64-bit
/// length (server frames are not masked).
const MAX_HEADER: usize = 10;

/// Writes WebSocket frames straight to a TCP socket: the frame's header
/// (built by tungstenite) and its payload (a handle to the hub's shared
/// bytes) leave in one `writev`, as far as the socket takes them; what it
/// does not take waits here, one frame at most, until the socket is ready.
pub(crate) struct RawSink {
    socket: OwnedWriteHalf,
    header: [u8; MAX_HEADER],
    header_len: u8,
    header_sent: u8,
    payload: Bytes,
    payload_sent: usize,
    /// Holds the connection's slots for as long as the socket is open.
    _slots: ConnectionSlots,
}

impl RawSink {
    pub(crate) fn new(socket: OwnedWriteHalf, slots: ConnectionSlots) -> Self {
        RawSink {
            socket,
            header: [0; MAX_HEADER],
            header_len: 0,
            header_sent: 0,
            payload: Bytes::new(),
            payload_sent: 0,
            _slots: slots,
        }
    }

    fn is_empty(&self) -> bool {
        self.header_sent == self.header_len && self.payload_sent == self.payload.len()
    }

    /// Writes what is left of the current frame.
    fn write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        while !self.is_empty() {
            let header = &self.header[usize::from(self.header_sent)..usize::from(self.header_len)];
            let payload = &self.payload[self.payload_sent..];
            let written = match self
                .socket
                .try_write_vectored(&[IoSlice::new(header), IoSlice::new(payload)])
            {
                Ok(0) => return Poll::Ready(Err(WsError::Io(std::io::ErrorKind::WriteZero.into()))),
                Ok(n) => n,
                Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                    // Registers the wake-up; ready again at once means the
                    // socket drained in between: try once more.
                    ready!(self.socket.as_ref().poll_write_ready(cx)).map_err(WsError::Io)?;
                    continue;
                }
                Err(err) => return Poll::Ready(Err(WsError::Io(err))),
            };
            let from_header = written.min(header.len());
            self.header_sent += from_header as u8;
            self.payload_sent += written - from_header;
        }
        // The frame is out: let go of the shared bytes.
        self.payload = Bytes::new();
        self.payload_sent = 0;
        Poll::Ready(Ok(()))
    }
}

impl Sink<Message> for RawSink {
    type Error = WsError;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.get_mut().write_out(cx)
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), WsError> {
        let this = self.get_mut();
        if !this.is_empty() {
            // The shard calls `poll_ready` first; this is a bug, not a client.
            return Err(WsError::WriteBufferFull(message));
        }
        let frame = match message {
            Message::Text(text) => Frame::message(text, OpCode::Data(Data::Text), true),
            Message::Binary(data) => Frame::message(data, OpCode::Data(Data::Binary), true),
            Message::Ping(data) => Frame::ping(data),
            Message::Pong(data) => Frame::pong(data),
            Message::Close(frame) => Frame::close(frame),
            Message::Frame(frame) => frame,
        };
        let length = frame.payload().len() as u64;
        let mut header = &mut this.header[..];
        frame.header().format(length, &mut header)?;
        this.header_len = (MAX_HEADER - header.len()) as u8;
        this.header_sent = 0;
        this.payload = frame.into_payload();
        this.payload_sent = 0;
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        self.get_mut().write_out(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), WsError>> {
        let this = self.get_mut();
        ready!(this.write_out(cx))?;
        Pin::new(&mut this.socket).poll_shutdown(cx).map_err(WsError::Io)
    }
}

/// The reading half of a plain TCP live socket, for the reader's
/// tungstenite: reads come from the socket, writes are dropped (the shard
/// answers pings and closes; see the module's doc).
pub(crate) struct ReadSide {
    socket: OwnedReadHalf,
}

impl ReadSide {
    pub(crate) fn new(socket: OwnedReadHalf) -> Self {
        ReadSide { socket }
    }
}

impl AsyncRead for ReadSide {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.socket).poll_read(cx, buf)
    }
}

impl AsyncWrite for ReadSide {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt, StreamExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
    use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role};

    /// A connected pair: the server's raw sink and a tungstenite client.
    async fn pair() -> (RawSink, WebSocketStream<TcpStream>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let (client, accepted) = tokio::join!(client, listener.accept());
        let (server, _) = accepted.unwrap();
        // The read half may go: the socket closes with its last half.
        let (_, write) = server.into_split();
        let sink = RawSink::new(write, ConnectionSlots::for_tests());
        let client = WebSocketStream::from_raw_socket(client.unwrap(), Role::Client, None).await;
        (sink, client)
    }

    #[tokio::test]
    async fn frames_of_every_length_and_kind_arrive_whole() {
        let (mut sink, mut client) = pair().await;
        // One-byte, 16-bit and 64-bit lengths.
        let texts = ["", "hello", &"x".repeat(125), &"y".repeat(126), &"z".repeat(70_000)];
        let mut sent = vec![];
        for text in texts {
            sent.push(Message::text(text));
        }
        sent.push(Message::binary(vec![1u8, 2, 3]));
        sent.push(Message::Ping(Bytes::from_static(b"are you there")));
        sent.push(Message::Pong(Bytes::new()));
        sent.push(Message::Close(Some(CloseFrame {
            code: CloseCode::Policy,
            reason: "bye".into(),
        })));
        for message in sent.clone() {
            sink.send(message).await.unwrap();
        }
        let mut got = vec![];
        while let Some(message) = client.next().await {
            match message {
                Ok(message) => got.push(message),
                Err(err) => panic!("the client read a bad frame: {err}"),
            }
            if got.len() == sent.len() {
                break;
            }
        }
        assert_eq!(got, sent);
    }

    #[tokio::test]
    async fn a_full_socket_keeps_the_rest_of_the_frame_until_it_drains() {
        let (mut sink, mut client) = pair().await;
        // Far more than the socket buffers hold while the client reads
        // nothing: the sink must wait for the socket, not fail or drop bytes.
        let big = "a".repeat(1 << 20);
        let writer = tokio::spawn(async move {
            for i in 0..8 {
                sink.send(Message::text(format!("{i}{big}"))).await.unwrap();
            }
            sink.close().await.unwrap();
        });
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        assert!(!writer.is_finished(), "the socket filled and the sink waited");
        for i in 0..8 {
            let Some(Ok(Message::Text(text))) = client.next().await else {
                panic!("frame {i} missing");
            };
            assert!(text.as_str().starts_with(&i.to_string()));
            assert_eq!(text.len(), (1 << 20) + 1);
        }
        writer.await.unwrap();
    }
}

//! The few server-side pieces of HTTP/1.1 and WebSocket (RFC 6455) that the
//! floor server needs, as pure functions over bytes: routing one request,
//! the responses, unmasked server frames, and a scanner that spots a Close
//! in what a client sends without keeping any payload.
//!
//! Kept apart from the sockets so every byte can be unit-tested.

use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// Longest request head the floor reads; a longer one is refused (431).
pub const MAX_HEAD_BYTES: usize = 8 * 1024;
/// Request headers beyond this many are refused (431). Browsers and
/// tungstenite send about ten.
const MAX_HEADERS: usize = 32;

/// Text frame opcode.
pub const OP_TEXT: u8 = 0x1;
/// Close frame opcode.
pub const OP_CLOSE: u8 = 0x8;

/// What to do with one HTTP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /healthz`: answer 200 and close, so scripts can wait for the server.
    Health,
    /// A valid WebSocket upgrade on `/ws` (any query, e.g. `?since=`, is
    /// ignored), with its `Sec-WebSocket-Accept` value.
    Upgrade { accept: String },
    /// Anything else: answer this status with `reason` as the body, then close.
    Refuse { status: u16, reason: &'static str },
}

fn refuse(status: u16, reason: &'static str) -> Route {
    Route::Refuse { status, reason }
}

/// Parses a request head from the start of `buf`.
///
/// `None` while the head is incomplete (read more). Otherwise the route and
/// the head's length: bytes after it were sent by a client that did not wait
/// for the 101 and already belong to the WebSocket stream.
pub fn parse_request(buf: &[u8]) -> Option<(Route, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => Some((route(&req), len)),
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD_BYTES => None,
        Ok(httparse::Status::Partial) | Err(httparse::Error::TooManyHeaders) => {
            Some((refuse(431, "request head too large"), buf.len()))
        }
        Err(_) => Some((refuse(400, "malformed request"), buf.len())),
    }
}

fn route(req: &httparse::Request<'_, '_>) -> Route {
    let path = req.path.unwrap_or_default();
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let get = req.method == Some("GET");
    match path {
        "/healthz" if get => Route::Health,
        "/ws" if get => upgrade(req),
        "/healthz" | "/ws" => refuse(405, "only GET is served"),
        _ => refuse(404, "the floor serves only /ws and /healthz"),
    }
}

/// Checks the RFC 6455 §4.2.1 requirements and derives the accept key.
fn upgrade(req: &httparse::Request<'_, '_>) -> Route {
    if req.version != Some(1) {
        return refuse(400, "WebSocket needs HTTP/1.1");
    }
    if !header(req, "upgrade").is_some_and(|v| has_token(v, "websocket")) {
        return refuse(400, "missing Upgrade: websocket");
    }
    if !header(req, "connection").is_some_and(|v| has_token(v, "upgrade")) {
        return refuse(400, "missing Connection: upgrade");
    }
    if header(req, "sec-websocket-version").map(<[u8]>::trim_ascii) != Some(b"13") {
        return refuse(400, "only Sec-WebSocket-Version 13 is supported");
    }
    match header(req, "sec-websocket-key").map(<[u8]>::trim_ascii) {
        Some(key) if !key.is_empty() => Route::Upgrade {
            accept: derive_accept_key(key),
        },
        _ => refuse(400, "missing Sec-WebSocket-Key"),
    }
}

fn header<'a>(req: &httparse::Request<'_, 'a>, name: &str) -> Option<&'a [u8]> {
    req.headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value)
}

/// True if the comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

/// The HTTP response to send for `route`. Every response but the 101 closes
/// the connection.
pub fn response(route: &Route) -> Vec<u8> {
    let plain = |status: u16, body: &str| {
        format!(
            "HTTP/1.1 {status} {}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            reason_phrase(status),
            body.len()
        )
    };
    match route {
        Route::Health => plain(200, "ok\n"),
        Route::Upgrade { accept } => format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        ),
        Route::Refuse { status, reason } => plain(*status, &format!("{reason}\n")),
    }
    .into_bytes()
}

/// Length of the header of an unmasked frame carrying `payload_len` bytes.
pub fn header_len(payload_len: usize) -> usize {
    match payload_len {
        0..=125 => 2,
        126..=0xFFFF => 4,
        _ => 10,
    }
}

/// An unmasked (server) frame: FIN and `opcode`, the shortest length
/// encoding, then `payload`, in one buffer ready to be written as is.
pub fn encode_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = Vec::with_capacity(header_len(len) + len);
    out.push(0x80 | (opcode & 0x0F));
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
    out
}

/// A Close frame with a status `code` and a short `reason` (at most 123 bytes).
pub fn close_frame(code: u16, reason: &str) -> Vec<u8> {
    let reason = &reason.as_bytes()[..reason.len().min(123)];
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason);
    encode_frame(OP_CLOSE, &payload)
}

/// Follows the frames a client sends, looking only at their headers, to
/// notice a Close. Payloads (masked pongs, pings, text) are skipped, never
/// buffered, so reading a client costs no memory beyond these few bytes.
#[derive(Debug, Default, Clone)]
pub struct FrameScanner {
    head: [u8; 14],
    have: usize,
    skip: u64,
}

impl FrameScanner {
    /// Length of the current frame's header, as far as it is known.
    fn head_len(&self) -> usize {
        if self.have < 2 {
            return 2;
        }
        let ext = match self.head[1] & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if self.head[1] & 0x80 != 0 { 4 } else { 0 };
        2 + ext + mask
    }

    fn payload_len(&self) -> u64 {
        match self.head[1] & 0x7F {
            126 => u64::from(u16::from_be_bytes([self.head[2], self.head[3]])),
            127 => u64::from_be_bytes(self.head[2..10].try_into().expect("8 bytes")),
            n => u64::from(n),
        }
    }

    /// Consumes `bytes`; true once the header of a Close frame has arrived
    /// (whatever follows it no longer matters).
    pub fn feed(&mut self, mut bytes: &[u8]) -> bool {
        loop {
            if self.skip > 0 {
                let n = self.skip.min(bytes.len() as u64) as usize;
                bytes = &bytes[n..];
                self.skip -= n as u64;
            }
            if bytes.is_empty() {
                return false;
            }
            let need = self.head_len();
            let n = (need - self.have).min(bytes.len());
            self.head[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            // The second byte may have revealed a longer header.
            if self.have < self.head_len() {
                continue;
            }
            if self.head[0] & 0x0F == OP_CLOSE {
                return true;
            }
            self.skip = self.payload_len();
            self.have = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UPGRADE: &str = "GET /ws?since=12 HTTP/1.1\r\nHost: 127.0.0.1:3000\r\nUpgrade: websocket\r\n\
        Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn upgrade_uses_the_rfc_example_key() {
        let (route, len) = parse_request(UPGRADE.as_bytes()).unwrap();
        assert_eq!(len, UPGRADE.len());
        // RFC 6455 §1.3.
        assert_eq!(
            route,
            Route::Upgrade {
                accept: "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into()
            }
        );
        let text = String::from_utf8(response(&route)).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{text}");
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn partial_heads_wait_and_early_frames_are_left_over() {
        for cut in [0, 10, UPGRADE.len() - 1] {
            assert_eq!(parse_request(&UPGRADE.as_bytes()[..cut]), None, "cut at {cut}");
        }
        let mut with_frame = UPGRADE.as_bytes().to_vec();
        with_frame.extend_from_slice(&[0x88, 0x80, 1, 2, 3, 4]);
        let (_, len) = parse_request(&with_frame).unwrap();
        assert_eq!(&with_frame[len..], &[0x88, 0x80, 1, 2, 3, 4]);
    }

    #[test]
    fn health_and_refusals() {
        let (route, _) = parse_request(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!(route, Route::Health);
        let text = String::from_utf8(response(&route)).unwrap();
        assert!(
            text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\nok\n"),
            "{text}"
        );

        let status = |req: &str| match parse_request(req.as_bytes()) {
            Some((Route::Refuse { status, .. }, _)) => status,
            other => panic!("{req:?}: {other:?}"),
        };
        assert_eq!(status("GET / HTTP/1.1\r\n\r\n"), 404);
        assert_eq!(status("POST /healthz HTTP/1.1\r\n\r\n"), 405);
        assert_eq!(status("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n"), 400);
        assert_eq!(status(&UPGRADE.replace("Version: 13", "Version: 8")), 400);
        assert_eq!(status(&UPGRADE.replace("Sec-WebSocket-Key", "X-Key")), 400);
        assert_eq!(status(&UPGRADE.replace("HTTP/1.1", "HTTP/1.0")), 400);
        assert_eq!(status("\x01\x02 nonsense\r\n\r\n"), 400);
        let many: String = (0..40).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(status(&format!("GET /ws HTTP/1.1\r\n{many}\r\n")), 431);
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_HEAD_BYTES));
        assert_eq!(status(&long), 431);
        let text = String::from_utf8(response(&refuse(404, "nope"))).unwrap();
        assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n") && text.contains("Content-Length: 5\r\n"));
    }

    #[test]
    fn frames_use_the_shortest_length_encoding() {
        assert_eq!(encode_frame(OP_TEXT, b"hi"), vec![0x81, 2, b'h', b'i']);
        let f = encode_frame(OP_TEXT, &[b'x'; 1200]);
        assert_eq!(&f[..4], &[0x81, 126, 0x04, 0xB0]);
        assert_eq!(f.len(), 1204);
        assert_eq!(header_len(1200), 4);
        let f = encode_frame(OP_TEXT, &vec![0; 70_000]);
        assert_eq!(&f[..2], &[0x81, 127]);
        assert_eq!(u64::from_be_bytes(f[2..10].try_into().unwrap()), 70_000);
        assert_eq!(header_len(125), 2);
        assert_eq!(header_len(65_536), 10);
        assert_eq!(close_frame(1001, "bye"), vec![0x88, 5, 0x03, 0xE9, b'b', b'y', b'e']);
    }

    /// A masked client frame, as a browser or tungstenite sends it.
    fn client_frame(opcode: u8, payload_len: usize) -> Vec<u8> {
        let mut f = encode_frame(opcode, &vec![7; payload_len]);
        let at = header_len(payload_len);
        f[1] |= 0x80;
        f.splice(at..at, [9, 9, 9, 9]);
        f
    }

    #[test]
    fn scanner_finds_close_after_other_frames_split_anywhere() {
        let mut stream = Vec::new();
        stream.extend(client_frame(0xA, 0)); // pong
        stream.extend(client_frame(OP_TEXT, 300)); // 16-bit length
        stream.extend(client_frame(0x2, 70_000)); // 64-bit length
        stream.extend(client_frame(0x9, 5)); // ping
        let close_at = stream.len();
        stream.extend(client_frame(OP_CLOSE, 2));
        for chunk in [1, 2, 3, 7, 64, 1000, stream.len()] {
            let mut s = FrameScanner::default();
            let mut seen_at = None;
            for (i, piece) in stream.chunks(chunk).enumerate() {
                if s.feed(piece) {
                    seen_at = Some(i * chunk + piece.len());
                    break;
                }
            }
            let seen_at = seen_at.unwrap_or_else(|| panic!("no close with chunks of {chunk}"));
            // Seen once its 6-byte header (2 + mask) is in.
            assert!(seen_at >= close_at + 6, "chunk {chunk}");
        }
        let mut s = FrameScanner::default();
        assert!(!s.feed(&stream[..close_at]));
        assert!(!s.feed(&[]));
    }
}

//! The accept loop: serves the router over HTTP/1.1 (optionally inside TLS)
//! with the bounds `axum::serve` lacks.
//!
//! - A **connection cap**: each connection holds a permit of one semaphore
//!   for as long as its socket is open, `/ws` sockets included (the permit
//!   lives in the socket wrapper, which the upgraded WebSocket keeps). At the
//!   cap the loop stops accepting, so new connections wait in the kernel's
//!   listen queue until one closes.
//! - A **per-address cap** below it, so that one client (an IPv6 client:
//!   one /64) cannot take every slot with slow requests: past it, that
//!   address's new connections are closed at once. Loopback and trusted
//!   proxies (every client behind them shares their address) are exempt.
//! - A **header timeout**: from the first byte of a request (or from the
//!   accept, for the first one, TLS handshake included) to the end of its
//!   header. A client that trickles a header is dropped when it runs out.
//! - An **idle timeout**: how long a keep-alive connection may sit between
//!   a finished response and the next request's first byte, and how long a
//!   request in flight may go without a byte moving either way (a client
//!   that stops reading its answer).
//! - **Graceful shutdown**: on the shutdown token the loop stops accepting,
//!   idle connections close, in-flight requests finish; live sockets have
//!   left hyper by then and get their close frames from `live::ws`.
//! - The peer address as [`ConnectInfo<SocketAddr>`] on every request.
//!
//! Why not hyper's own `header_read_timeout`: hyper also starts it while a
//! keep-alive connection waits for its next request, so it cannot tell a
//! slow header (seconds) from an idle connection (a minute). Each
//! connection here keeps a small [`Activity`] record instead: the socket
//! wrapper notes the first byte of a request and every byte that moves,
//! the service notes requests and the end of their response bodies, and a
//! watcher drops the
//! connection when the deadline of its current phase passes. Once a
//! connection is upgraded to a WebSocket, hyper hands the socket over and
//! the watcher ends with it, so live sockets are never cut by these timeouts.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::Router;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::proxy::{rate_key, TrustedProxies};

/// The cap when none is configured and the open-file limit allows it.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// The largest request header (larger: 431) and hyper's read buffer per
/// connection. hyper's default buffer, about 400 KiB, would let 10,000
/// slow clients hold 4 GB between them; 64 KiB is twice what nginx accepts.
pub(crate) const MAX_HEADER_BYTES: usize = 64 * 1024;

/// File descriptors kept back from the cap for the database, the health
/// checks' outgoing connections and the listener itself.
const RESERVED_FILES: u64 = 256;

/// How the accept loop bounds its connections.
#[derive(Clone)]
pub(crate) struct ServeOptions {
    /// From a request's first byte (or the accept) to the end of its header.
    pub(crate) header_timeout: Duration,
    /// Between a finished response and the next request's first byte.
    pub(crate) idle_timeout: Duration,
    /// Serve HTTPS with this acceptor instead of plain HTTP.
    pub(crate) tls: Option<TlsAcceptor>,
    /// Most connections from one client address (0: no limit).
    pub(crate) max_per_address: usize,
    /// Addresses the per-address cap does not count (trusted proxies).
    pub(crate) exempt: TrustedProxies,
}

/// The open connections and what the limits did, for `/metrics`.
#[derive(Debug)]
pub(crate) struct Connections {
    permits: Arc<Semaphore>,
    max: usize,
    capped: AtomicU64,
    timed_out: AtomicU64,
    /// Connections closed at accept because their address had too many.
    refused_per_address: AtomicU64,
    per_address: Arc<PerAddress>,
    /// Whether the loop is waiting at the cap, so that it is logged once
    /// per episode, not once per connection.
    at_cap: AtomicBool,
}

impl Connections {
    /// Allows at most `max` connections at once.
    pub(crate) fn new(max: usize) -> Self {
        Connections {
            permits: Arc::new(Semaphore::new(max)),
            max,
            capped: AtomicU64::new(0),
            timed_out: AtomicU64::new(0),
            refused_per_address: AtomicU64::new(0),
            per_address: Arc::default(),
            at_cap: AtomicBool::new(false),
        }
    }

    /// The cap.
    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Connections open now, live sockets included.
    pub(crate) fn open(&self) -> usize {
        self.max - self.permits.available_permits()
    }

    /// How many times the loop had to wait at the cap before accepting.
    pub(crate) fn capped(&self) -> u64 {
        self.capped.load(Ordering::Relaxed)
    }

    /// Connections dropped by the header or the idle timeout.
    pub(crate) fn timed_out(&self) -> u64 {
        self.timed_out.load(Ordering::Relaxed)
    }

    /// Connections closed at once because their address had too many open.
    pub(crate) fn refused_per_address(&self) -> u64 {
        self.refused_per_address.load(Ordering::Relaxed)
    }

    /// A slot for one more connection from `peer`, or `None` when that
    /// address has `max` open already. Loopback and `exempt` peers always
    /// get one, uncounted.
    fn address_slot(&self, peer: IpAddr, max: usize, exempt: &TrustedProxies) -> Option<AddressSlot> {
        let peer = peer.to_canonical();
        if max == 0 || peer.is_loopback() || exempt.trusts(peer) {
            return Some(AddressSlot(None));
        }
        let key = rate_key(peer);
        let mut counts = self.per_address.lock().unwrap_or_else(|e| e.into_inner());
        let open = counts.entry(key).or_insert(0);
        if *open >= max {
            drop(counts);
            if self
                .refused_per_address
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(1000)
            {
                tracing::warn!(%peer, max, "too many connections from one address; closing new ones");
            }
            return None;
        }
        *open += 1;
        Some(AddressSlot(Some((key, self.per_address.clone()))))
    }
}

/// One connection counted against its address; uncounted on drop.
struct AddressSlot(Option<(IpAddr, Arc<PerAddress>)>);

/// Open connections per client address (only those counted).
type PerAddress = Mutex<HashMap<IpAddr, usize>>;

impl Drop for AddressSlot {
    fn drop(&mut self) {
        if let Some((key, counts)) = self.0.take() {
            let mut counts = counts.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(open) = counts.get_mut(&key) {
                *open -= 1;
                if *open == 0 {
                    counts.remove(&key);
                }
            }
        }
    }
}

/// The cap for `configured`, or the default bounded by the open-file
/// limit (each connection is a file descriptor).
pub(crate) fn max_connections(configured: Option<usize>) -> usize {
    configured.unwrap_or_else(|| {
        let soft = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(u64::MAX, |(soft, _)| soft);
        let usable = soft.saturating_sub(RESERVED_FILES).max(64);
        usize::try_from(usable).map_or(DEFAULT_MAX_CONNECTIONS, |u| u.min(DEFAULT_MAX_CONNECTIONS))
    })
}

/// What every connection task shares.
struct Shared {
    router: Router,
    options: ServeOptions,
    connections: Arc<Connections>,
    shutdown: CancellationToken,
}

/// Serves `router` on `listener` until `shutdown` is cancelled, then waits
/// for the open HTTP connections to finish their requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    options: ServeOptions,
    connections: Arc<Connections>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let shared = Arc::new(Shared {
        router,
        options,
        connections: connections.clone(),
        shutdown: shutdown.clone(),
    });
    let tasks = TaskTracker::new();
    while let Some(permit) = next_permit(&connections, &shutdown).await {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.cancelled() => break,
        };
        match accepted {
            Ok((stream, peer)) => {
                let options = &shared.options;
                // Over its address's share: closed at once, the slot kept.
                let Some(slot) = connections.address_slot(peer.ip(), options.max_per_address, &options.exempt) else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                tasks.spawn(connection(stream, peer, (permit, slot), shared.clone()));
            }
            Err(err) => accept_failed(err).await,
        }
    }
    drop(listener);
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// A connection slot, waiting at the cap; `None` on shutdown.
async fn next_permit(connections: &Connections, shutdown: &CancellationToken) -> Option<OwnedSemaphorePermit> {
    if let Ok(permit) = connections.permits.clone().try_acquire_owned() {
        connections.at_cap.store(false, Ordering::Relaxed);
        return Some(permit);
    }
    connections.capped.fetch_add(1, Ordering::Relaxed);
    if !connections.at_cap.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            max = connections.max,
            "connection cap reached; new connections wait until others close"
        );
    }
    tokio::select! {
        permit = connections.permits.clone().acquire_owned() => permit.ok(),
        _ = shutdown.cancelled() => None,
    }
}

/// Errors of `accept`: a client that gave up before we took it is nothing;
/// anything else (out of file descriptors, mostly) gets a pause so the loop
/// does not spin.
async fn accept_failed(err: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(err.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset) {
        return;
    }
    tracing::error!(%err, "accept failed; pausing for a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One connection: the TLS handshake if any, then HTTP until it ends.
async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    slots: (OwnedSemaphorePermit, AddressSlot),
    shared: Arc<Shared>,
) {
    let activity = Arc::new(Activity::new());
    let io = Tracked {
        inner: stream,
        activity: activity.clone(),
        slots: ConnectionSlots { _slots: slots },
    };
    match &shared.options.tls {
        None => drive(io, peer, activity, &shared).await,
        Some(acceptor) => match tokio::time::timeout(shared.options.header_timeout, acceptor.accept(io)).await {
            Ok(Ok(tls)) => drive(tls, peer, activity, &shared).await,
            Ok(Err(err)) => tracing::debug!(%peer, %err, "TLS handshake failed"),
            Err(_) => {
                shared.connections.timed_out.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%peer, "TLS handshake timed out");
            }
        },
    }
}

/// Runs hyper on `io` and drops the connection when its header or idle
/// deadline passes; on shutdown, asks hyper to finish gracefully.
async fn drive<I>(io: I, peer: SocketAddr, activity: Arc<Activity>, shared: &Shared)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = RouterService {
        router: shared.router.clone(),
        peer,
        activity: activity.clone(),
    };
    let conn = hyper::server::conn::http1::Builder::new()
        .max_header_size(MAX_HEADER_BYTES)
        .max_buf_size(MAX_HEADER_BYTES)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn);
    let cancelled = shared.shutdown.cancelled();
    tokio::pin!(cancelled);
    let mut closing = false;
    loop {
        let deadline = activity.deadline(&shared.options);
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(err) = done {
                    tracing::debug!(%peer, %err, "connection ended with an error");
                }
                return;
            }
            _ = &mut cancelled, if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = activity.changed.notified() => {}
            _ = tokio::time::sleep_until(deadline) => {
                // The deadline may have moved while we slept (bytes moved).
                if activity.deadline(&shared.options) <= Instant::now() {
                    shared.connections.timed_out.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%peer, "closing a connection past its header or idle timeout");
                    return;
                }
            }
        }
    }
}

/// Where a connection is between requests, shared by its socket wrapper,
/// its service and its watcher.
#[derive(Debug)]
struct Activity {
    phase: Mutex<Phase>,
    /// Woken when a deadline may have moved earlier.
    changed: Notify,
    /// When the connection was accepted.
    opened: Instant,
    /// When a byte last moved either way, in ms since `opened` (atomic: it
    /// is touched on every read and write, live sockets included).
    last_io_ms: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Phase {
    /// Requests whose response body is not yet fully sent.
    in_flight: usize,
    /// When the current request's header began (its first byte), if one has.
    head_since: Option<Instant>,
    /// When the connection last became idle.
    idle_since: Instant,
}

impl Activity {
    /// A new connection: its first header is due within the header timeout.
    fn new() -> Self {
        let now = Instant::now();
        Activity {
            phase: Mutex::new(Phase {
                in_flight: 0,
                head_since: Some(now),
                idle_since: now,
            }),
            changed: Notify::new(),
            opened: now,
            last_io_ms: AtomicU64::new(0),
        }
    }

    /// Bytes moved: a request in flight is making progress.
    fn io(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_io_ms.fetch_max(ms, Ordering::Relaxed);
    }

    fn with<T>(&self, f: impl FnOnce(&mut Phase) -> T) -> T {
        // The lock is never held across a panic point that could poison it;
        // if it were, the phase is still plain data and usable.
        let mut phase = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut phase)
    }

    /// Bytes arrived: between requests, that starts a header.
    fn read(&self) {
        self.io();
        let started = self.with(|p| {
            let idle = p.in_flight == 0 && p.head_since.is_none();
            if idle {
                p.head_since = Some(Instant::now());
            }
            idle
        });
        if started {
            self.changed.notify_one();
        }
    }

    /// hyper has parsed a header and called the service.
    fn request(&self) {
        self.with(|p| {
            p.in_flight += 1;
            p.head_since = None;
        });
    }

    /// A response body was sent (or dropped).
    fn response_done(&self) {
        self.with(|p| {
            p.in_flight = p.in_flight.saturating_sub(1);
            if p.in_flight == 0 {
                p.idle_since = Instant::now();
            }
        });
        self.changed.notify_one();
    }

    /// When the connection must be closed if nothing changes: the end of
    /// the header's time, of the idle time, or, while a request is in
    /// flight, the idle time after the last byte that moved.
    fn deadline(&self, options: &ServeOptions) -> Instant {
        let p = self.with(|p| *p);
        match (p.in_flight, p.head_since) {
            (0, Some(head)) => head + options.header_timeout,
            (0, None) => p.idle_since + options.idle_timeout,
            _ => {
                let last_io = self.opened + Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed));
                last_io + options.idle_timeout
            }
        }
    }
}

/// The accepted socket: reports reads to its [`Activity`] and holds the
/// connection's slots (the cap's and its address's) until it is dropped
/// (after a WebSocket upgrade, by the live socket).
struct Tracked {
    inner: TcpStream,
    activity: Arc<Activity>,
    slots: ConnectionSlots,
}

/// A connection hyper has handed over after an upgrade, taken back down to
/// its TCP socket: what the live socket writes below the WebSocket layer.
pub(crate) struct RawConnection {
    pub(crate) stream: TcpStream,
    /// Bytes hyper had read past the upgrade request (the client's first
    /// frames, if it sent any before the 101 arrived).
    pub(crate) read_ahead: bytes::Bytes,
    /// The connection's slots, held for as long as the socket is open.
    pub(crate) slots: ConnectionSlots,
}

/// The connection cap's and its address's slots, freed when dropped.
pub(crate) struct ConnectionSlots {
    _slots: (OwnedSemaphorePermit, AddressSlot),
}

#[cfg(test)]
impl ConnectionSlots {
    /// Slots of a cap of one, for sockets made in tests.
    pub(crate) fn for_tests() -> Self {
        let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().expect("a fresh permit");
        ConnectionSlots {
            _slots: (permit, AddressSlot(None)),
        }
    }
}

/// The plain TCP socket under an upgraded connection; `Err` gives the
/// connection back when it is not one (inside TLS).
pub(crate) fn raw_connection(upgraded: hyper::upgrade::Upgraded) -> Result<RawConnection, hyper::upgrade::Upgraded> {
    let parts = upgraded.downcast::<TokioIo<Tracked>>()?;
    let Tracked { inner, slots, .. } = parts.io.into_inner();
    Ok(RawConnection {
        stream: inner,
        read_ahead: parts.read_buf,
        slots,
    })
}

impl AsyncRead for Tracked {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.io();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.io();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// The router as hyper's service for one connection: adds the peer address
/// and tells the connection's [`Activity`] when each response is done.
#[derive(Clone)]
struct RouterService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

type ServiceFuture = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for RouterService {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = ServiceFuture;

    fn call(&self, mut request: Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.activity.request();
        let done = ResponseDone(self.activity.clone());
        // The router is always ready, so `call` without `poll_ready` is fine.
        let answer = tower_service::Service::call(&mut self.router.clone(), request);
        Box::pin(async move {
            let response = answer.await?;
            // The guard rides in the body: dropped once hyper has sent it all.
            Ok(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _keep = &done;
                    frame
                }))
            }))
        })
    }
}

/// Marks a response done when dropped (with its body, or with the request
/// future if the client left first).
struct ResponseDone(Arc<Activity>);

impl Drop for ResponseDone {
    fn drop(&mut self) {
        self.0.response_done();
    }
}

/// Why TLS could not be set up from the configured files.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificate {}: {source}", path.display())]
    Cert {
        path: std::path::PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("no certificate found in {} (expected PEM \"BEGIN CERTIFICATE\" blocks)", path.display())]
    NoCert { path: std::path::PathBuf },
    #[error("cannot read TLS private key {} (expected a PEM private key): {source}", path.display())]
    Key {
        path: std::path::PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    #[error("TLS certificate and key do not form a usable pair: {0}")]
    Config(#[from] tokio_rustls::rustls::Error),
}

/// A TLS acceptor from PEM files: the certificate chain (leaf first) and
/// its private key. HTTP/1.1 only, as served here.
pub(crate) fn tls_acceptor(cert: &std::path::Path, key: &std::path::Path) -> Result<TlsAcceptor, TlsError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls;

    let cert_error = |source| TlsError::Cert {
        path: cert.into(),
        source,
    };
    let chain = CertificateDer::pem_file_iter(cert)
        .map_err(cert_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(cert_error)?;
    if chain.is_empty() {
        return Err(TlsError::NoCert { path: cert.into() });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Key {
        path: key.into(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ServeOptions {
        ServeOptions {
            header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            tls: None,
            max_per_address: 0,
            exempt: TrustedProxies::none(),
        }
    }

    #[test]
    fn each_address_gets_its_share_and_gives_it_back() {
        let c = Connections::new(100);
        let none = TrustedProxies::none();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let first = c.address_slot(a, 2, &none).unwrap();
        let second = c.address_slot(a, 2, &none).unwrap();
        assert!(c.address_slot(a, 2, &none).is_none(), "a third from the same address");
        assert!(c.address_slot("192.0.2.2".parse().unwrap(), 2, &none).is_some());
        // One /64 is one client.
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        let _x = c.address_slot(v6, 1, &none).unwrap();
        assert!(c.address_slot("2001:db8::2".parse().unwrap(), 1, &none).is_none());
        drop(first);
        let _third = c.address_slot(a, 2, &none).expect("a slot freed by a close");
        drop(second);
        // Loopback and trusted proxies are not counted.
        let proxy = TrustedProxies::parse(&["192.0.2.9"]).unwrap();
        let slots: Vec<_> = (0..10)
            .map(|_| c.address_slot("192.0.2.9".parse().unwrap(), 1, &proxy).unwrap())
            .collect();
        let local: Vec<_> = (0..10)
            .map(|_| c.address_slot("127.0.0.1".parse().unwrap(), 1, &none).unwrap())
            .collect();
        assert_eq!(c.refused_per_address(), 2);
        drop((slots, local));
    }

    #[tokio::test(start_paused = true)]
    async fn deadlines_follow_the_phase() {
        let o = options();
        let a = Activity::new();
        let start = Instant::now();
        assert_eq!(a.deadline(&o), start + o.header_timeout, "first header due");
        a.request();
        assert_eq!(
            a.deadline(&o),
            start + o.idle_timeout,
            "in flight: idle time after the last byte"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        a.io();
        let moved = Instant::now();
        assert_eq!(a.deadline(&o), moved + o.idle_timeout, "bytes moving push it back");
        tokio::time::advance(Duration::from_secs(3)).await;
        a.response_done();
        let idle = Instant::now();
        assert_eq!(a.deadline(&o), idle + o.idle_timeout, "idle between requests");
        tokio::time::advance(Duration::from_secs(30)).await;
        a.read();
        let head = Instant::now();
        assert_eq!(a.deadline(&o), head + o.header_timeout, "next header due");
        tokio::time::advance(Duration::from_secs(3)).await;
        a.read();
        assert_eq!(
            a.deadline(&o),
            head + o.header_timeout,
            "more bytes do not extend the header's deadline"
        );
    }

    #[tokio::test]
    async fn every_request_carries_the_peer_address() {
        use axum::routing::get;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let router = Router::new().route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let served = tokio::spawn(serve(
            listener,
            router,
            options(),
            Arc::new(Connections::new(8)),
            shutdown.clone(),
        ));
        let mut client = TcpStream::connect(addr).await.unwrap();
        let local = client.local_addr().unwrap();
        client
            .write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with(&local.to_string()), "{answer} should end with {local}");
        shutdown.cancel();
        served.await.unwrap().unwrap();
    }

    #[test]
    fn the_cap_follows_the_config_or_the_file_limit() {
        assert_eq!(max_connections(Some(5)), 5);
        let derived = max_connections(None);
        assert!((64..=DEFAULT_MAX_CONNECTIONS).contains(&derived), "{derived}");
    }
}

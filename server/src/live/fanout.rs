//! The write side of `/ws`: a few shard tasks, each owning the send halves
//! of its share of the clients.
//!
//! A frame the hub publishes reaches a shard once, and the shard writes it
//! to each of its clients in one pass from its own task: no task per client
//! is woken, no receiver per client takes the broadcast's lock, and every
//! client's frame is a handle to the same bytes. A client whose socket is
//! full keeps what it has not been sent in a small queue and the pass goes
//! on; the socket's readiness wakes the shard to finish it. The queue is
//! bounded: past [`MAX_QUEUED`] the queue becomes one `resync` frame, and a
//! client blocked for longer than the write timeout is closed.
//!
//! Pings, the idle check and the write timeout run from one timer per
//! shard. Each client also has a reader task (see `ws`): it checks what the
//! client sends, notes that the client is alive, watches the session that
//! opened the socket, has the shard answer its pings, and ends with one
//! [`ReadEnd`] for the shard.

use std::collections::{HashMap, VecDeque};
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::{AbortHandle, Abortable};
use futures_util::{Sink, Stream};
use tokio::sync::{broadcast, mpsc};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::hub::{Frame, Hub, Start};
use super::ws::{close, read_client, FromClient, Heard, ReadEnd, SessionEnd, SocketOptions};

/// Most messages a client whose socket is full may have waiting; the next
/// frame replaces them with one `resync` (the current state). As many as
/// the hub's broadcast holds, so a client resyncs when it falls more than
/// 64 frames behind, as the protocol says. Each is a handle to shared
/// bytes, and a browser that keeps up never has one waiting.
pub(crate) const MAX_QUEUED: usize = 64;

/// The shards and how to reach them.
pub(crate) struct Fanout<W> {
    shards: Vec<ShardHandle<W>>,
    /// The next client's id; its shard is the id modulo the shard count.
    next_id: AtomicU64,
    hub: Arc<Hub>,
    options: SocketOptions,
    tasks: TaskTracker,
}

struct ShardHandle<W> {
    inbox: mpsc::UnboundedSender<Inbox<W>>,
}

/// What reaches a shard from outside, in the order it was sent: a client's
/// join is sent before its reader starts, so the shard knows the client
/// before its first ping or its end.
enum Inbox<W> {
    Join(Joining<W>),
    FromClient(u64, FromClient),
}

/// A client on its way to its shard.
struct Joining<W> {
    id: u64,
    sink: W,
    since: Option<u64>,
    heard: Arc<Heard>,
    reader: AbortHandle,
}

impl<W> Fanout<W>
where
    W: Sink<Message> + Unpin + Send + 'static,
{
    /// Starts `shards` shard tasks (at least one) on `tasks`; they close
    /// their clients with 1001 (going away) when `shutdown` is cancelled.
    pub(crate) fn start(
        hub: Arc<Hub>,
        options: SocketOptions,
        shards: usize,
        shutdown: CancellationToken,
        tasks: TaskTracker,
    ) -> Arc<Self> {
        let shards = (0..shards.max(1))
            .map(|_| {
                let (inbox, inbox_rx) = mpsc::unbounded_channel();
                let shard = Shard {
                    hub: hub.clone(),
                    options: options.clone(),
                    clients: HashMap::new(),
                    waiting: Vec::new(),
                };
                tasks.spawn(shard.run(hub.frames(), inbox_rx, shutdown.clone()));
                ShardHandle { inbox }
            })
            .collect();
        Arc::new(Fanout {
            shards,
            next_id: AtomicU64::new(0),
            hub,
            options,
            tasks,
        })
    }

    /// Serves one client: its reader starts at once, and its shard writes
    /// its first frames (a snapshot, or what it missed after `since`) and
    /// everything after them until the client leaves or is closed.
    pub(crate) fn join<R>(&self, sink: W, stream: R, since: Option<u64>, session: SessionEnd)
    where
        R: Stream<Item = Result<Message, WsError>> + Unpin + Send + 'static,
    {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let shard = &self.shards[id as usize % self.shards.len()];
        let heard = Arc::new(Heard::new());
        let report = shard.inbox.clone();
        let (reader, registration) = AbortHandle::new_pair();
        let read = Abortable::new(
            read_client(
                stream,
                heard.clone(),
                session,
                self.options.max_messages_per_sec,
                move |said| {
                    let _ = report.send(Inbox::FromClient(id, said));
                },
            ),
            registration,
        );
        self.hub.stats.clients.fetch_add(1, Ordering::Relaxed);
        let joining = Joining {
            id,
            sink,
            since,
            heard,
            reader,
        };
        // The join goes first: the reader may report a ping that came with
        // the handshake at once, and the shard must know the client by then.
        match shard.inbox.send(Inbox::Join(joining)) {
            Ok(()) => {
                self.tasks.spawn(read);
            }
            // The shard has shut down: say so, and let the socket go (its
            // reader never starts).
            Err(mpsc::error::SendError(late)) => {
                self.hub.stats.clients.fetch_sub(1, Ordering::Relaxed);
                let Inbox::Join(Joining { mut sink, .. }) = late else {
                    unreachable!("a join was sent")
                };
                let timeout = self.options.write_timeout;
                self.tasks.spawn(async move {
                    let away = Message::Close(Some(close(CloseCode::Away, "server shutting down")));
                    let _ = tokio::time::timeout(timeout, futures_util::SinkExt::send(&mut sink, away)).await;
                });
            }
        }
    }
}

/// One shard: its clients by id, and which of them have something waiting
/// for their socket.
struct Shard<W> {
    hub: Arc<Hub>,
    options: SocketOptions,
    clients: HashMap<u64, Client<W>>,
    /// Clients with a queue, an unflushed write or a close in progress.
    waiting: Vec<u64>,
}

/// What woke a shard.
enum Event<W> {
    Frame(Result<Arc<Frame>, broadcast::error::RecvError>),
    Inbox(Inbox<W>),
    Tick,
    Pumped,
    Shutdown,
}

impl<W> Shard<W>
where
    W: Sink<Message> + Unpin + Send + 'static,
{
    async fn run(
        mut self,
        mut frames: broadcast::Receiver<Arc<Frame>>,
        mut inbox: mpsc::UnboundedReceiver<Inbox<W>>,
        shutdown: CancellationToken,
    ) {
        let mut timer = tokio::time::interval(self.options.ping_every.min(Duration::from_secs(1)));
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let waiting = !self.waiting.is_empty();
            let event = {
                let pump = self.pumping();
                tokio::select! {
                    _ = shutdown.cancelled() => Event::Shutdown,
                    frame = frames.recv() => Event::Frame(frame),
                    Some(sent) = inbox.recv() => Event::Inbox(sent),
                    _ = timer.tick() => Event::Tick,
                    () = pump, if waiting => Event::Pumped,
                }
            };
            match event {
                Event::Frame(Ok(frame)) => with_cx(|cx| self.deliver(&frame, cx)).await,
                Event::Frame(Err(broadcast::error::RecvError::Lagged(missed))) => {
                    tracing::debug!(missed, "live shard lagged; resyncing its clients");
                    with_cx(|cx| self.resync_all(cx)).await;
                }
                Event::Frame(Err(broadcast::error::RecvError::Closed)) | Event::Shutdown => break,
                Event::Inbox(Inbox::Join(joining)) => with_cx(|cx| self.add(joining, cx)).await,
                Event::Inbox(Inbox::FromClient(id, FromClient::Ping(payload))) => {
                    with_cx(|cx| self.pong(id, payload, cx)).await
                }
                Event::Inbox(Inbox::FromClient(id, FromClient::End(end))) => {
                    let frame = match end {
                        ReadEnd::Close(frame) => Some(frame),
                        ReadEnd::Gone => None,
                    };
                    with_cx(|cx| self.close(id, frame, cx)).await;
                }
                Event::Tick => with_cx(|cx| self.housekeep(cx)).await,
                Event::Pumped => {}
            }
        }
        // New clients are refused from here on; the ones already sent are
        // let go, then every client is closed with 1001 within the write
        // timeout.
        inbox.close();
        while let Ok(sent) = inbox.try_recv() {
            if let Inbox::Join(late) = sent {
                late.reader.abort();
                self.hub.stats.clients.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let ids: Vec<u64> = self.clients.keys().copied().collect();
        with_cx(|cx| {
            for id in ids {
                self.close(id, Some(close(CloseCode::Away, "server shutting down")), cx);
            }
        })
        .await;
        let deadline = tokio::time::sleep(self.options.write_timeout);
        tokio::pin!(deadline);
        while !self.waiting.is_empty() {
            tokio::select! {
                () = self.pumping() => {}
                _ = &mut deadline => break,
            }
        }
        for id in self.clients.keys().copied().collect::<Vec<_>>() {
            self.remove(id);
        }
    }

    /// Writes one hub frame to every client that has not had it.
    fn deliver(&mut self, frame: &Frame, cx: &mut Context<'_>) {
        if self.clients.is_empty() {
            return;
        }
        // This shard's own copy of the bytes: each client's handle to them
        // counts references on this thread's cache line, not on one that
        // every shard writes at once.
        let text = Utf8Bytes::from(frame.text.as_str().to_owned());
        let mut sent = 0;
        let mut resync = None;
        let mut gone = Vec::new();
        for (&id, client) in self.clients.iter_mut() {
            if client.closing.is_some() || frame.seq <= client.last_seq {
                continue;
            }
            client.last_seq = frame.seq;
            let message = if client.queue.len() >= MAX_QUEUED {
                // Too far behind to catch up frame by frame: what is
                // waiting becomes the current state.
                let (seq, current) = resync.get_or_insert_with(|| self.hub.resync()).clone();
                client.queue.clear();
                client.last_seq = seq;
                self.hub.stats.lagged.fetch_add(1, Ordering::Relaxed);
                Message::Text(current)
            } else {
                Message::Text(text.clone())
            };
            if offer(&mut self.waiting, id, client, message, cx) {
                sent += 1;
            } else {
                gone.push(id);
            }
        }
        // Counted when handed to the socket, written or waiting.
        self.hub.stats.frames_sent.fetch_add(sent, Ordering::Relaxed);
        self.hub.stats.record_delay(frame.published.elapsed());
        for id in gone {
            self.remove(id);
        }
    }

    /// After the shard itself fell behind the hub: every client goes on
    /// from the current state.
    fn resync_all(&mut self, cx: &mut Context<'_>) {
        let (seq, text) = self.hub.resync();
        let (mut lagged, mut sent) = (0, 0);
        let mut gone = Vec::new();
        for (&id, client) in self.clients.iter_mut() {
            if client.closing.is_some() {
                continue;
            }
            lagged += 1;
            client.last_seq = seq;
            client.queue.clear();
            if offer(&mut self.waiting, id, client, Message::Text(text.clone()), cx) {
                sent += 1;
            } else {
                gone.push(id);
            }
        }
        self.hub.stats.lagged.fetch_add(lagged, Ordering::Relaxed);
        self.hub.stats.frames_sent.fetch_add(sent, Ordering::Relaxed);
        for id in gone {
            self.remove(id);
        }
    }

    /// Takes a new client and writes its first frames.
    fn add(&mut self, joining: Joining<W>, cx: &mut Context<'_>) {
        let Joining {
            id,
            sink,
            since,
            heard,
            reader,
        } = joining;
        let (start, seq) = self.hub.start(since);
        let mut client = Client {
            sink,
            last_seq: seq,
            queue: VecDeque::new(),
            flushing: false,
            blocked_since: None,
            closing: None,
            waiting: false,
            heard,
            next_ping: Instant::now() + self.options.ping_every,
            reader,
        };
        let first = match start {
            Start::Snapshot(text) | Start::Resync(text) => vec![text],
            Start::Replay(frames) => frames.iter().map(|f| f.text.clone()).collect(),
        };
        let mut sent = 0;
        let failed = !first.into_iter().all(|text| {
            let offered = offer(&mut self.waiting, id, &mut client, Message::Text(text), cx);
            sent += u64::from(offered);
            offered
        });
        self.hub.stats.frames_sent.fetch_add(sent, Ordering::Relaxed);
        self.clients.insert(id, client);
        if failed {
            self.remove(id);
        }
    }

    /// Pings, the idle check, the write timeout, and dropping closes that
    /// ran out of time.
    fn housekeep(&mut self, cx: &mut Context<'_>) {
        let now = Instant::now();
        let options = &self.options;
        let mut ends = Vec::new();
        for (&id, client) in self.clients.iter_mut() {
            if let Some(deadline) = client.closing {
                if now >= deadline {
                    ends.push((id, None));
                }
                continue;
            }
            if client.blocked_since.is_some_and(|at| now - at > options.write_timeout) {
                ends.push((
                    id,
                    Some(close(CloseCode::Policy, "client is not reading; reconnect to resume")),
                ));
                continue;
            }
            if now < client.next_ping {
                continue;
            }
            // Each `ping_every`, on the client's own schedule (so whatever
            // the timer's phase): the idle check, then a ping.
            client.next_ping += options.ping_every;
            if client.next_ping < now {
                client.next_ping = now + options.ping_every;
            }
            if client.heard.silent_for() > options.idle_timeout {
                ends.push((id, Some(close(CloseCode::Away, "no answer to pings"))));
            } else if !client.busy() && !offer(&mut self.waiting, id, client, Message::Ping(Default::default()), cx) {
                ends.push((id, None));
            }
        }
        for (id, frame) in ends {
            match frame {
                Some(frame) => self.close(id, Some(frame), cx),
                // Out of time, or the socket failed: let it go.
                None => self.remove(id),
            }
        }
    }

    /// Answers a client's ping, after what is already waiting for it.
    fn pong(&mut self, id: u64, payload: Bytes, cx: &mut Context<'_>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.closing.is_none() && !offer(&mut self.waiting, id, client, Message::Pong(payload), cx) {
            self.remove(id);
        }
    }

    /// Closes a client: drops what waits for it, sends `frame` if any, and
    /// removes it once the close is flushed (or at the write timeout).
    fn close(&mut self, id: u64, frame: Option<CloseFrame>, cx: &mut Context<'_>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.closing.is_some() {
            return;
        }
        client.closing = Some(Instant::now() + self.options.write_timeout);
        client.queue.clear();
        if let Some(frame) = frame {
            client.queue.push_back(Message::Close(Some(frame)));
        }
        match client.pump(cx) {
            Step::Waiting => note_waiting(&mut self.waiting, id, client),
            Step::Done | Step::Failed => self.remove(id),
        }
    }

    /// [`Shard::pump`] as a future, outside the budget as [`with_cx`] says.
    fn pumping(&mut self) -> impl Future<Output = ()> + '_ {
        tokio::task::unconstrained(poll_fn(|cx| self.pump(cx)))
    }

    /// Goes on writing to the clients that were waiting for their socket.
    /// Ready when none is left waiting.
    fn pump(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let mut finished = Vec::new();
        let clients = &mut self.clients;
        self.waiting.retain(|id| {
            let Some(client) = clients.get_mut(id) else {
                return false;
            };
            match client.pump(cx) {
                Step::Waiting => true,
                Step::Done if client.closing.is_none() => {
                    client.waiting = false;
                    false
                }
                Step::Done | Step::Failed => {
                    finished.push(*id);
                    false
                }
            }
        });
        for id in finished {
            self.remove(id);
        }
        if self.waiting.is_empty() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    fn remove(&mut self, id: u64) {
        if let Some(client) = self.clients.remove(&id) {
            client.reader.abort();
            self.hub.stats.clients.fetch_sub(1, Ordering::Relaxed);
        }
        // A removed id left in `waiting` is skipped by the next pump.
    }
}

/// Offers `message` to `client` (see [`Client::offer`]) and, when it must
/// wait for its socket, puts it on its shard's `waiting` list. False when
/// the socket failed.
fn offer<W: Sink<Message> + Unpin>(
    waiting: &mut Vec<u64>,
    id: u64,
    client: &mut Client<W>,
    message: Message,
    cx: &mut Context<'_>,
) -> bool {
    match client.offer(message, cx) {
        Step::Done => true,
        Step::Waiting => {
            note_waiting(waiting, id, client);
            true
        }
        Step::Failed => false,
    }
}

fn note_waiting<W>(waiting: &mut Vec<u64>, id: u64, client: &mut Client<W>) {
    if !client.waiting {
        client.waiting = true;
        waiting.push(id);
    }
}

/// Runs `f` with the current task's context, so that a socket that is not
/// ready wakes this task. Outside tokio's cooperative budget: a task may
/// make 128 I/O calls per poll, after which every socket says "not ready"
/// (and wakes the task, and through tungstenite's waker each socket's
/// reader too); a shard's pass over thousands of clients is one unit of
/// work that ends on its own.
async fn with_cx<T>(f: impl FnOnce(&mut Context<'_>) -> T) -> T {
    let mut f = Some(f);
    tokio::task::unconstrained(poll_fn(|cx| Poll::Ready(f.take().expect("polled once")(cx)))).await
}

/// How a write went.
enum Step {
    /// Written and flushed (or, while closing, the close is done).
    Done,
    /// The socket is full: the rest waits for it.
    Waiting,
    /// The socket failed.
    Failed,
}

/// One client, as its shard keeps it.
struct Client<W> {
    sink: W,
    /// The newest `seq` it has been given.
    last_seq: u64,
    /// Messages waiting for the socket, oldest first.
    queue: VecDeque<Message>,
    /// The sink holds bytes it could not flush yet.
    flushing: bool,
    /// Since when the socket has been full.
    blocked_since: Option<Instant>,
    /// Set once a close is under way: when to give up on it.
    closing: Option<Instant>,
    /// In its shard's `waiting` list.
    waiting: bool,
    heard: Arc<Heard>,
    next_ping: Instant,
    reader: AbortHandle,
}

impl<W: Sink<Message> + Unpin> Client<W> {
    /// Something is waiting for the socket.
    fn busy(&self) -> bool {
        self.flushing || !self.queue.is_empty()
    }

    /// Writes `message` now, or queues it behind what is waiting.
    fn offer(&mut self, message: Message, cx: &mut Context<'_>) -> Step {
        if self.busy() {
            self.queue.push_back(message);
            return Step::Waiting;
        }
        self.send(message, cx)
    }

    /// Writes and flushes one message; nothing may be waiting.
    fn send(&mut self, message: Message, cx: &mut Context<'_>) -> Step {
        match Pin::new(&mut self.sink).poll_ready(cx) {
            Poll::Ready(Ok(())) => {}
            Poll::Ready(Err(_)) => return Step::Failed,
            Poll::Pending => {
                self.queue.push_front(message);
                self.blocked();
                return Step::Waiting;
            }
        }
        if Pin::new(&mut self.sink).start_send(message).is_err() {
            return Step::Failed;
        }
        self.flush(cx)
    }

    fn flush(&mut self, cx: &mut Context<'_>) -> Step {
        match Pin::new(&mut self.sink).poll_flush(cx) {
            Poll::Ready(Ok(())) => {
                self.flushing = false;
                Step::Done
            }
            Poll::Ready(Err(_)) => Step::Failed,
            Poll::Pending => {
                self.flushing = true;
                self.blocked();
                Step::Waiting
            }
        }
    }

    fn blocked(&mut self) {
        self.blocked_since.get_or_insert_with(Instant::now);
    }

    /// Writes what is waiting, as far as the socket takes it; then, when
    /// closing, closes the sink.
    fn pump(&mut self, cx: &mut Context<'_>) -> Step {
        if self.flushing {
            if let step @ (Step::Waiting | Step::Failed) = self.flush(cx) {
                return step;
            }
        }
        while let Some(message) = self.queue.pop_front() {
            if let step @ (Step::Waiting | Step::Failed) = self.send(message, cx) {
                return step;
            }
        }
        self.blocked_since = None;
        // A queue that grew for a slow moment gives its memory back.
        self.queue = VecDeque::new();
        if self.closing.is_none() {
            return Step::Done;
        }
        match Pin::new(&mut self.sink).poll_close(cx) {
            Poll::Pending => Step::Waiting,
            Poll::Ready(_) => Step::Done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::live::protocol::{ServerFrame, CLOSE_SIGNED_OUT};
    use app::metrics::Sample;
    use futures_util::StreamExt;
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

    /// Shards for tests, writing into channels.
    struct Served {
        fanout: Arc<Fanout<PollSender<Message>>>,
        shutdown: CancellationToken,
    }

    fn serve(hub: &Arc<Hub>, options: SocketOptions, shards: usize) -> Served {
        let shutdown = CancellationToken::new();
        let fanout = Fanout::start(hub.clone(), options, shards, shutdown.clone(), TaskTracker::new());
        Served { fanout, shutdown }
    }

    impl Served {
        /// A client whose side sends `incoming`: what the server writes
        /// arrives on the receiver, which holds `capacity` messages (so an
        /// unread client fills its socket).
        fn client<S>(&self, incoming: S, capacity: usize, session: SessionEnd) -> mpsc::Receiver<Message>
        where
            S: Stream<Item = Result<Message, WsError>> + Unpin + Send + 'static,
        {
            let (tx, rx) = mpsc::channel(capacity);
            self.fanout.join(PollSender::new(tx), incoming, None, session);
            rx
        }

        /// A client that sends nothing.
        fn silent(&self, capacity: usize) -> mpsc::Receiver<Message> {
            self.client(silence(), capacity, SessionEnd::default())
        }
    }

    fn silence() -> futures_util::stream::Pending<Result<Message, WsError>> {
        futures_util::stream::pending()
    }

    fn frame(msg: Option<Message>) -> ServerFrame {
        match msg {
            Some(Message::Text(t)) => app::live::protocol::parse_frame(t.as_str()).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// Everything written to `rx` until the server closes it, or `within`.
    async fn written(rx: &mut mpsc::Receiver<Message>, within: Duration) -> Vec<Message> {
        let mut written = vec![];
        let _ = tokio::time::timeout(within, async {
            while let Some(msg) = rx.recv().await {
                written.push(msg);
            }
        })
        .await;
        written
    }

    fn closes(written: &[Message]) -> Vec<(CloseCode, String)> {
        written
            .iter()
            .filter_map(|m| match m {
                Message::Close(Some(f)) => Some((f.code, f.reason.to_string())),
                _ => None,
            })
            .collect()
    }

    /// Waits until the server has let every client go.
    async fn all_gone(hub: &Hub) {
        tokio::time::timeout(Duration::from_secs(5), async {
            while hub.stats.clients.load(Ordering::Relaxed) != 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await
        .expect("every client let go");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn every_client_of_every_shard_gets_each_frame_once_in_order() {
        let hub = small_hub();
        publish(&hub, 1);
        let served = serve(&hub, SocketOptions::default(), 3);
        let mut clients: Vec<_> = (0..7).map(|_| served.silent(16)).collect();
        for rx in &mut clients {
            assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { seq: 1, .. }));
        }
        publish(&hub, 3);
        for rx in &mut clients {
            let seqs: Vec<u64> = [rx.recv().await, rx.recv().await, rx.recv().await]
                .into_iter()
                .map(|m| match frame(m) {
                    ServerFrame::Sample { seq, .. } => seq,
                    other => panic!("expected a sample, got {other:?}"),
                })
                .collect();
            assert_eq!(seqs, [2, 3, 4]);
        }
        assert_eq!(hub.stats.clients.load(Ordering::Relaxed), 7);
        // Counted after each pass, so maybe just after the last read.
        let counted = tokio::time::timeout(Duration::from_secs(5), async {
            while hub.stats.frames_sent.load(Ordering::Relaxed) < 7 * 4 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert!(counted.await.is_ok(), "frames counted");
        assert_eq!(hub.stats.frames_sent.load(Ordering::Relaxed), 7 * 4);
    }

    fn shard(hub: &Arc<Hub>) -> Shard<PollSender<Message>> {
        Shard {
            hub: hub.clone(),
            options: SocketOptions::default(),
            clients: HashMap::new(),
            waiting: Vec::new(),
        }
    }

    #[tokio::test]
    async fn one_pass_writes_every_ready_client_without_yielding() {
        // tokio lets a task make 128 budgeted I/O calls per poll; past
        // that every write says "not ready" and wakes the task to yield.
        // A shard's pass must not be cut into such slices: each would put
        // the rest of its clients on the waiting list.
        let hub = small_hub();
        publish(&hub, 1);
        let mut shard = shard(&hub);
        let mut receivers = Vec::new();
        for id in 0..1000 {
            let (tx, rx) = mpsc::channel(4);
            receivers.push(rx);
            let (reader, _) = AbortHandle::new_pair();
            let joining = Joining {
                id,
                sink: PollSender::new(tx),
                since: Some(1),
                heard: Arc::new(Heard::new()),
                reader,
            };
            with_cx(|cx| shard.add(joining, cx)).await;
        }
        let mut frames = hub.frames();
        publish(&hub, 1);
        let frame = frames.recv().await.unwrap();
        with_cx(|cx| shard.deliver(&frame, cx)).await;
        assert!(shard.waiting.is_empty(), "{} clients left waiting", shard.waiting.len());
        for rx in &mut receivers {
            assert!(matches!(frame_now(rx), ServerFrame::Sample { seq: 2, .. }));
        }
    }

    fn frame_now(rx: &mut mpsc::Receiver<Message>) -> ServerFrame {
        frame(rx.try_recv().ok())
    }

    #[tokio::test]
    async fn a_shard_that_falls_behind_resyncs_its_clients() {
        let hub = small_hub();
        publish(&hub, 1);
        let served = serve(&hub, SocketOptions::default(), 1);
        let mut rx = served.silent(1);
        assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { seq: 1, .. }));
        // The test runtime is single-threaded: all eleven frames go out
        // before the shard runs again, more than the broadcast holds.
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
    async fn a_client_whose_socket_is_full_gets_a_resync_not_a_backlog() {
        let hub = small_hub();
        publish(&hub, 1);
        let served = serve(&hub, SocketOptions::default(), 1);
        // Room for the snapshot only: every frame after it waits.
        let mut rx = served.silent(1);
        tokio::time::sleep(Duration::from_millis(20)).await;
        for _ in 0..MAX_QUEUED + 1 {
            publish(&hub, 1);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { seq: 1, .. }));
        let last = 1 + MAX_QUEUED as u64 + 1;
        match frame(rx.recv().await) {
            ServerFrame::Resync { seq, .. } => assert_eq!(seq, last, "the queue became the current state"),
            other => panic!("expected a resync, got {other:?}"),
        }
        assert_eq!(hub.stats.lagged.load(Ordering::Relaxed), 1);
        publish(&hub, 1);
        assert!(matches!(frame(rx.recv().await), ServerFrame::Sample { seq, .. } if seq == last + 1));
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_is_dropped() {
        let hub = small_hub();
        let options = SocketOptions {
            write_timeout: Duration::from_millis(200),
            ..SocketOptions::default()
        };
        let served = serve(&hub, options, 1);
        let rx = served.silent(1);
        // Never read: the snapshot fills the channel, the next frame stalls.
        tokio::time::sleep(Duration::from_millis(50)).await;
        publish(&hub, 3);
        all_gone(&hub).await;
        drop(rx);
    }

    /// Pings every 50 ms and a 300 ms idle timeout.
    fn quick_pings() -> SocketOptions {
        SocketOptions {
            ping_every: Duration::from_millis(50),
            idle_timeout: Duration::from_millis(300),
            ..SocketOptions::default()
        }
    }

    #[tokio::test]
    async fn a_client_that_answers_no_ping_is_closed() {
        let served = serve(&small_hub(), quick_pings(), 1);
        let mut rx = served.silent(64);
        let written = written(&mut rx, Duration::from_secs(2)).await;
        assert_eq!(closes(&written), [(CloseCode::Away, "no answer to pings".to_string())]);
    }

    #[tokio::test]
    async fn a_client_that_answers_pings_is_kept() {
        let pongs = Box::pin(futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Some((Ok(Message::Pong(Default::default())), ()))
        }));
        let served = serve(&small_hub(), quick_pings(), 1);
        let mut rx = served.client(pongs, 64, SessionEnd::default());
        let written = written(&mut rx, Duration::from_secs(1)).await;
        assert!(closes(&written).is_empty(), "{written:?}");
        let pings = written.iter().filter(|m| matches!(m, Message::Ping(_))).count();
        assert!(pings >= 10, "pinged all along: {pings}");
    }

    #[tokio::test]
    async fn a_clients_ping_is_answered_and_its_close_echoed() {
        let said = Box::pin(futures_util::stream::iter([
            Ok(Message::Ping(Bytes::from_static(b"hi"))),
            Ok(Message::Close(Some(CloseFrame {
                code: CloseCode::Away,
                reason: "leaving".into(),
            }))),
        ]))
        .chain(futures_util::stream::pending());
        let hub = small_hub();
        let served = serve(&hub, SocketOptions::default(), 1);
        let mut rx = served.client(said, 64, SessionEnd::default());
        let written = written(&mut rx, Duration::from_secs(2)).await;
        assert!(
            written.contains(&Message::Pong(Bytes::from_static(b"hi"))),
            "the ping's payload comes back: {written:?}"
        );
        assert_eq!(closes(&written), [(CloseCode::Away, String::new())], "its code, echoed");
        all_gone(&hub).await;
    }

    #[tokio::test]
    async fn a_ping_read_the_moment_a_client_joins_is_answered() {
        // A ping that came with the handshake is read as soon as the
        // reader starts, maybe before its shard next looks at what was
        // sent to it: the shard must know the client by then, or the pong
        // is lost. Here every reader runs before the shard wakes, and the
        // shard picks among what is ready at random: rounds make a lost
        // pong all but certain to show.
        let hub = small_hub();
        publish(&hub, 1);
        for round in 0..30 {
            let served = serve(&hub, SocketOptions::default(), 1);
            tokio::task::yield_now().await;
            let mut clients: Vec<_> = (0..20u32)
                .map(|n| {
                    let ping = Message::Ping(Bytes::from(n.to_be_bytes().to_vec()));
                    let said = Box::pin(futures_util::stream::iter([Ok(ping)]).chain(futures_util::stream::pending()));
                    (n, served.client(said, 64, SessionEnd::default()))
                })
                .collect();
            for (n, rx) in &mut clients {
                let pong = tokio::time::timeout(Duration::from_secs(2), async {
                    loop {
                        match rx.recv().await {
                            Some(Message::Pong(payload)) => return payload,
                            Some(_) => continue,
                            None => panic!("round {round}: client {n} closed before its pong"),
                        }
                    }
                })
                .await;
                assert_eq!(
                    pong.as_deref().ok(),
                    Some(&n.to_be_bytes()[..]),
                    "round {round}: client {n}'s pong"
                );
            }
            served.shutdown.cancel();
        }
    }

    #[tokio::test]
    async fn shutdown_closes_with_going_away() {
        let hub = small_hub();
        let served = serve(&hub, SocketOptions::default(), 1);
        let mut rx = served.silent(1);
        assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { .. }));
        served.shutdown.cancel();
        match rx.recv().await {
            Some(Message::Close(Some(f))) => assert_eq!(f.code, CloseCode::Away),
            other => panic!("expected a close frame, got {other:?}"),
        }
        assert!(rx.recv().await.is_none(), "the socket is let go");
        all_gone(&hub).await;
    }

    #[tokio::test]
    async fn the_end_of_the_session_closes_its_socket() {
        let hub = small_hub();
        let served = serve(&hub, SocketOptions::default(), 1);
        let session = SessionEnd::default();
        let mut rx = served.client(silence(), 4, session.clone());
        assert!(matches!(frame(rx.recv().await), ServerFrame::Snapshot { .. }));
        session.ended.cancel();
        let written = written(&mut rx, Duration::from_secs(2)).await;
        assert_eq!(
            closes(&written),
            [(CloseCode::from(CLOSE_SIGNED_OUT.0), CLOSE_SIGNED_OUT.1.to_string())]
        );
        all_gone(&hub).await;
    }

    #[tokio::test]
    async fn a_flooding_client_is_closed_with_policy_violation() {
        let pings = std::iter::repeat_with(|| Message::Text(r#"{"type":"ping"}"#.into())).take(50);
        let flood = futures_util::stream::iter(pings.map(Ok)).chain(futures_util::stream::pending());
        let options = SocketOptions {
            max_messages_per_sec: 10,
            ..SocketOptions::default()
        };
        let hub = small_hub();
        let served = serve(&hub, options, 1);
        let mut rx = served.client(flood, 64, SessionEnd::default());
        let written = written(&mut rx, Duration::from_secs(2)).await;
        let closes = closes(&written);
        assert_eq!(closes.len(), 1, "{written:?}");
        assert_eq!(closes[0].0, CloseCode::Policy);
        assert!(closes[0].1.contains("too many frames"), "{}", closes[0].1);
        all_gone(&hub).await;
    }
}

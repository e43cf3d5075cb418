//! The browser driver of the live client: owns the WebSocket (gloo-net), the
//! timers and the page-visibility listener, and turns what happens into
//! [`Event`]s for the [`Machine`], whose [`Command`]s it then carries out.
//! Frames go through the [`Cursor`] into the app's [`LiveStore`].

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State, WebSocketError};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{closure::Closure, JsCast};

use super::machine::{Command, ConnState, Event, Machine};
use super::protocol::{parse_frame, Cursor, Step, CLOSE_SIGNED_OUT};
use super::store::LiveStore;

type Events = mpsc::UnboundedSender<Event>;

/// The close code a server sends when it shuts down (RFC 6455 "going away").
const CLOSE_GOING_AWAY: u16 = 1001;

/// Starts the page's live client: connects, keeps the connection state
/// current and applies every frame to `store` until the page goes away.
pub fn start(store: LiveStore) {
    let (tx, rx) = mpsc::unbounded();
    watch_visibility(tx.clone());
    spawn_local(tick(tx.clone()));
    spawn_local(run(store, tx, rx));
}

async fn run(store: LiveStore, tx: Events, mut rx: mpsc::UnboundedReceiver<Event>) {
    let state: RwSignal<ConnState> = store.state;
    let mut machine = Machine::default();
    let mut close_current: Option<oneshot::Sender<()>> = None;
    let mut event = Some(Event::Start);
    while let Some(ev) = event {
        // The page that owned the data is gone: stop for good.
        if store.seq.try_with_untracked(|_| ()).is_none() {
            if let Some(close) = close_current.take() {
                let _ = close.send(());
            }
            return;
        }
        let command = machine.handle(ev, js_sys::Date::now(), js_sys::Math::random());
        if state.try_get_untracked() != Some(machine.state()) {
            state.try_set(machine.state());
        }
        if machine.signed_out() {
            // Stopped for good: the page says so. The socket is closed; the
            // ticks and the visibility listener end with this channel.
            store.signed_out.try_set(true);
            return;
        }
        match command {
            Some(Command::Open { fresh }) => {
                let (close_tx, close_rx) = oneshot::channel();
                close_current = Some(close_tx);
                let since = if fresh { 0 } else { store.seq.get_untracked() };
                spawn_local(connection(socket_url(since), close_rx, store, tx.clone()));
            }
            Some(Command::Close) => {
                if let Some(close) = close_current.take() {
                    let _ = close.send(());
                }
            }
            Some(Command::RetryIn(ms)) => {
                let tx = tx.clone();
                spawn_local(async move {
                    TimeoutFuture::new(ms as u32).await;
                    let _ = tx.unbounded_send(Event::RetryDue);
                });
            }
            None => {}
        }
        event = rx.next().await;
    }
}

/// One socket's life: open, report `Opened`, apply frames until it closes
/// (or the machine asks to close it), then report `Closed`.
async fn connection(url: String, mut close: oneshot::Receiver<()>, store: LiveStore, tx: Events) {
    let _ = run_socket(&url, &mut close, store, &tx).await;
    let _ = tx.unbounded_send(Event::Closed);
}

async fn run_socket(url: &str, close: &mut oneshot::Receiver<()>, store: LiveStore, tx: &Events) -> Option<()> {
    let (mut ws, early_frames) = match adopt_early(url) {
        Some(early) => early,
        None => (WebSocket::open(url).ok()?, Vec::new()),
    };
    // The sink is ready once the handshake is done: gloo-net wakes it on
    // the socket's `open` event (or on `error`, when it is closed instead).
    let cancelled = {
        let mut opened = futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).fuse();
        futures::select! {
            _ = opened => false,
            _ = &mut *close => true,
        }
    };
    if cancelled {
        let _ = ws.close(None, None);
        return None;
    }
    if !matches!(ws.state(), State::Open) {
        return None;
    }
    tx.unbounded_send(Event::Opened).ok()?;
    for text in early_frames {
        on_text(&text, store, tx)?;
    }
    let (mut sink, mut stream) = ws.split();
    loop {
        futures::select! {
            msg = stream.next().fuse() => match msg {
                Some(Ok(Message::Text(text))) => on_text(&text, store, tx)?,
                Some(Ok(Message::Bytes(_))) => {}
                Some(Err(WebSocketError::ConnectionClose(event)))
                    if (event.code, event.reason.as_str()) == CLOSE_SIGNED_OUT =>
                {
                    let _ = tx.unbounded_send(Event::SignedOut);
                    return None;
                }
                Some(Err(WebSocketError::ConnectionClose(event))) if event.code == CLOSE_GOING_AWAY => {
                    // The server is restarting: retry soon, not with a growing delay.
                    let _ = tx.unbounded_send(Event::GoingAway);
                    return None;
                }
                Some(Err(_)) | None => return None,
            },
            _ = &mut *close => {
                let _ = sink.close().await;
                return None;
            }
        }
    }
}

/// Takes over the socket `/pwa.js` opened while the page loaded
/// (`window.__vigilEarlySocket`: the socket, the frames it received so
/// far, and the listener that kept them), so the handshake overlapped
/// downloading and compiling the WASM instead of following hydration.
/// Once only: the first connection, if it asks for the same URL and the
/// socket is still connecting or open. The frames come back in order:
/// the script's listener is removed and gloo-net's attached in this one
/// synchronous turn, so no message falls between them.
fn adopt_early(url: &str) -> Option<(WebSocket, Vec<String>)> {
    use js_sys::{Array, Function, Reflect};

    let window = web_sys::window()?;
    let key = wasm_bindgen::JsValue::from_str("__vigilEarlySocket");
    let early = Reflect::get(&window, &key).ok().filter(|v| v.is_object())?;
    let _ = Reflect::delete_property(&window, &key);
    let field = |name: &str| Reflect::get(&early, &name.into()).ok();
    let ws: web_sys::WebSocket = field("ws")?.dyn_into().ok()?;
    let listener: Option<Function> = field("onMessage").and_then(|f| f.dyn_into().ok());
    if let Some(listener) = &listener {
        let _ = ws.remove_event_listener_with_callback("message", listener);
    }
    let usable = ws.url() == url && ws.ready_state() <= web_sys::WebSocket::OPEN;
    if !usable {
        let _ = ws.close();
        return None;
    }
    let frames = field("frames")
        .and_then(|f| f.dyn_into::<Array>().ok())
        .map(|a| a.iter().filter_map(|f| f.as_string()).collect())
        .unwrap_or_default();
    let ws = WebSocket::try_from(ws).ok()?;
    Some((ws, frames))
}

fn on_text(text: &str, store: LiveStore, tx: &Events) -> Option<()> {
    let _timing = FrameTiming::start();
    let parsed = parse_frame(text);
    if let Err(err) = &parsed {
        leptos::logging::warn!("live: skipping an unusable frame: {err}");
    }
    // The page may be gone: stop the socket instead of writing into nothing.
    let mut cursor = Cursor {
        seq: store.seq.try_get_untracked()?,
    };
    let step = cursor.step(parsed);
    let event = match step {
        Step::Gap => Some(Event::Gap),
        Step::Corrupt => Some(Event::Corrupt),
        _ => None,
    };
    if !matches!(step, Step::Reset(_)) && cursor.seq != store.seq.get_untracked() {
        store.seq.set(cursor.seq);
    }
    store.apply(step);
    tx.unbounded_send(Event::Frame).ok()?;
    if let Some(event) = event {
        tx.unbounded_send(event).ok()?;
    }
    Some(())
}

/// `ws://` or `wss://` on the page's own host, resuming after `since`.
fn socket_url(since: u64) -> String {
    let location = web_sys::window().map(|w| w.location());
    let (protocol, host) = location
        .map(|l| (l.protocol().unwrap_or_default(), l.host().unwrap_or_default()))
        .unwrap_or_default();
    let scheme = if protocol == "https:" { "wss" } else { "ws" };
    if since == 0 {
        format!("{scheme}://{host}/ws")
    } else {
        format!("{scheme}://{host}/ws?since={since}")
    }
}

/// Drives the heartbeat and handshake timeouts.
async fn tick(tx: Events) {
    loop {
        TimeoutFuture::new(1_000).await;
        if tx.unbounded_send(Event::Tick).is_err() {
            return;
        }
    }
}

/// Pauses the stream while the tab is hidden. The listener lives as long as
/// the page, like the client itself.
fn watch_visibility(tx: Events) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let doc = document.clone();
    let on_change = Closure::<dyn FnMut()>::new(move || {
        let hidden = doc.visibility_state() == web_sys::VisibilityState::Hidden;
        let _ = tx.unbounded_send(if hidden { Event::Hidden } else { Event::Visible });
    });
    let _ = document.add_event_listener_with_callback("visibilitychange", on_change.as_ref().unchecked_ref());
    on_change.forget();
}

/// Measures applying one frame (`vigil-apply`: parsing and the signal
/// updates) and the re-render it causes (`vigil-frame`: until the effects
/// have run) as Performance entries, when the page sets `window.__vigilPerf`
/// (the end-to-end perf test does). The measure ends in a zero-delay timer,
/// which runs after the reactive updates have drained.
struct FrameTiming(Option<web_sys::Performance>);

impl FrameTiming {
    fn start() -> Self {
        let window = web_sys::window();
        let on = window
            .as_ref()
            .and_then(|w| js_sys::Reflect::get(w, &"__vigilPerf".into()).ok())
            .is_some_and(|v| v.is_truthy());
        let perf = window.and_then(|w| w.performance()).filter(|_| on);
        if let Some(p) = &perf {
            let _ = p.mark("vigil-frame-start");
        }
        FrameTiming(perf)
    }
}

impl Drop for FrameTiming {
    fn drop(&mut self) {
        if let Some(perf) = self.0.take() {
            // What ran synchronously: parsing and the signal updates.
            let _ = perf.measure_with_start_mark("vigil-apply", "vigil-frame-start");
            spawn_local(async move {
                TimeoutFuture::new(0).await;
                let _ = perf.measure_with_start_mark("vigil-frame", "vigil-frame-start");
            });
        }
    }
}

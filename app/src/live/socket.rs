//! The browser driver of the live client: owns the WebSocket (gloo-net), the
//! timers and the page-visibility listener, and turns what happens into
//! [`Event`]s for the [`Machine`], whose [`Command`]s it then carries out.
//! Frames are applied to the page's [`LiveData`] signal as they arrive.

use futures::channel::{mpsc, oneshot};
use futures::{FutureExt, SinkExt, StreamExt};
use gloo_net::websocket::{futures::WebSocket, Message, State};
use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{closure::Closure, JsCast};

use super::machine::{Command, ConnState, Event, Machine};
use super::protocol::{parse_frame, Applied, LiveData};

type Events = mpsc::UnboundedSender<Event>;

/// Starts the live client for this page: connects, keeps `state` current and
/// applies every frame to `data` until the page goes away.
pub fn start(data: RwSignal<LiveData>, state: RwSignal<ConnState>) {
    let (tx, rx) = mpsc::unbounded();
    watch_visibility(tx.clone());
    spawn_local(tick(tx.clone()));
    spawn_local(run(data, state, tx, rx));
}

async fn run(data: RwSignal<LiveData>, state: RwSignal<ConnState>, tx: Events, mut rx: mpsc::UnboundedReceiver<Event>) {
    let mut machine = Machine::default();
    let mut close_current: Option<oneshot::Sender<()>> = None;
    let mut event = Some(Event::Start);
    while let Some(ev) = event {
        // The page that owned the data is gone: stop for good.
        if data.try_with_untracked(|_| ()).is_none() {
            if let Some(close) = close_current.take() {
                let _ = close.send(());
            }
            return;
        }
        let command = machine.handle(ev, js_sys::Date::now(), js_sys::Math::random());
        if state.try_get_untracked() != Some(machine.state()) {
            state.try_set(machine.state());
        }
        match command {
            Some(Command::Open) => {
                let (close_tx, close_rx) = oneshot::channel();
                close_current = Some(close_tx);
                let since = data.with_untracked(|d| d.seq);
                spawn_local(connection(socket_url(since), close_rx, data, tx.clone()));
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
async fn connection(url: String, mut close: oneshot::Receiver<()>, data: RwSignal<LiveData>, tx: Events) {
    let _ = run_socket(&url, &mut close, data, &tx).await;
    let _ = tx.unbounded_send(Event::Closed);
}

async fn run_socket(url: &str, close: &mut oneshot::Receiver<()>, data: RwSignal<LiveData>, tx: &Events) -> Option<()> {
    let ws = WebSocket::open(url).ok()?;
    // gloo-net has no "open" event: watch the ready state until the
    // handshake is done, or the machine gives up on it.
    loop {
        match ws.state() {
            State::Open => break,
            State::Connecting => {}
            State::Closing | State::Closed => return None,
        }
        futures::select! {
            _ = TimeoutFuture::new(25).fuse() => {}
            _ = &mut *close => {
                let _ = ws.close(None, None);
                return None;
            }
        }
    }
    tx.unbounded_send(Event::Opened).ok()?;
    let (mut sink, mut stream) = ws.split();
    loop {
        futures::select! {
            msg = stream.next().fuse() => match msg {
                Some(Ok(Message::Text(text))) => on_text(&text, data, tx)?,
                Some(Ok(Message::Bytes(_))) => {}
                Some(Err(_)) | None => return None,
            },
            _ = &mut *close => {
                let _ = sink.close().await;
                return None;
            }
        }
    }
}

fn on_text(text: &str, data: RwSignal<LiveData>, tx: &Events) -> Option<()> {
    let frame = match parse_frame(text) {
        Ok(frame) => frame,
        Err(err) => {
            leptos::logging::warn!("live: ignoring a frame that does not parse: {err}");
            return Some(());
        }
    };
    // The page may be gone: stop the socket instead of writing into nothing.
    let applied = data.try_maybe_update(|d| {
        let applied = d.apply(frame);
        (applied == Applied::Updated, applied)
    })?;
    tx.unbounded_send(Event::Frame).ok()?;
    if applied == Applied::Gap {
        tx.unbounded_send(Event::Gap).ok()?;
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

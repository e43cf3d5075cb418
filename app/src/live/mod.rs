//! The live stream: the `/ws` wire protocol, the connection state machine,
//! and (in the browser) the WebSocket driver that feeds a page's signals.
//!
//! Data flow in the browser: socket frame -> [`LiveData::apply`] on a signal
//! -> `Memo`s in the page components -> DOM. Connection state: browser events
//! -> [`machine::Machine`] -> the `connection-state` element.

pub mod machine;
pub mod protocol;
#[cfg(feature = "hydrate")]
mod socket;

use leptos::prelude::*;

pub use machine::ConnState;
pub use protocol::LiveData;

/// The connection state of the page's live client, provided by the app shell
/// so that the header can show it whatever page is open.
#[derive(Clone, Copy)]
pub struct LiveStatus(pub RwSignal<ConnState>);

/// Creates the page's live data from a snapshot and, in the browser, starts
/// the client that keeps it current. The server renders the snapshot as is.
pub fn use_live(snapshot: crate::metrics::Snapshot) -> RwSignal<LiveData> {
    let data = RwSignal::new(LiveData::from_snapshot(snapshot));
    #[cfg(feature = "hydrate")]
    {
        let status = use_context::<LiveStatus>()
            .map(|s| s.0)
            .unwrap_or_else(|| RwSignal::new(ConnState::Connecting));
        // Effects run only in the browser, after hydration.
        Effect::new(move |started: Option<()>| {
            if started.is_none() {
                socket::start(data, status);
            }
        });
    }
    data
}

/// The live connection badge (`data-testid="connection-state"`).
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let status = expect_context::<LiveStatus>().0;
    let word = move || status.get().as_str();
    view! {
        <span
            class="conn"
            data-testid="connection-state"
            data-state=word
            role="status"
            aria-live="polite"
            title="Live connection to the server"
        >
            <span class="conn-dot" aria-hidden="true"></span>
            {word}
        </span>
    }
}

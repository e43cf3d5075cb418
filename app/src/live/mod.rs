//! The live stream: the `/ws` wire protocol, the connection state machine,
//! the page's live data, and (in the browser) the WebSocket driver.
//!
//! One live client per page load, owned by the app shell, so the connection
//! badge is truthful on every route. Data flow in the browser: socket frame
//! -> [`protocol::parse_frame`] -> [`protocol::Cursor::step`] ->
//! [`LiveStore::apply`] (one signal per part) -> the components that read
//! that part. Connection state: browser events -> [`machine::Machine`] ->
//! `LiveStore::state` -> the `connection-state` badge.

pub mod machine;
pub mod protocol;
#[cfg(feature = "hydrate")]
mod socket;
mod store;

use leptos::prelude::*;

pub use machine::ConnState;
pub use store::{use_live, HostFacts, LiveStore};

/// Creates the page's live store, provides it as context and, in the
/// browser, starts the client that keeps it current.
pub fn provide_live() -> LiveStore {
    let store = LiveStore::new();
    provide_context(store);
    #[cfg(feature = "hydrate")]
    {
        // Effects run only in the browser, after hydration.
        // Not on the sign-in pages: `/ws` would refuse the socket there.
        let path = window().location().pathname().unwrap_or_default();
        if !crate::auth_page(&path) {
            Effect::new(move |started: Option<()>| {
                if started.is_none() {
                    socket::start(store);
                }
            });
        }
    }
    store
}

/// The live connection badge (`data-testid="connection-state"`).
#[component]
pub fn ConnectionBadge() -> impl IntoView {
    let status = use_live().state;
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

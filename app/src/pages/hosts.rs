//! `/hosts`: every host this Vigil knows, from the engine named in
//! `[fleet]` (and this host itself, live). Server-rendered from
//! `list_hosts`; once hydrated it reads the list again every few seconds.
//! A lazy route (see [`super`]).

use leptos::prelude::*;
use leptos_meta::Title;

use super::load_error;
use crate::fleet::{list_hosts, HostsTable};

/// How often the hydrated page reads the list again.
#[cfg(feature = "hydrate")]
const REFRESH_MS: u64 = 5_000;

lazy_route!(
    /// `/hosts`.
    Hosts => hosts, in ops
);

fn hosts() -> AnyView {
    // Read with the time it was read at, so the server render and the
    // hydrated page show the same ages.
    let list = Resource::new_blocking(
        || (),
        |_| async { list_hosts().await.map(|hosts| (hosts, crate::format::now_ms())) },
    );

    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(move || list.refetch(), std::time::Duration::from_millis(REFRESH_MS));
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }

    view! {
        <Title text="Hosts · Vigil"/>
        <h1 class="page-title">"Hosts"</h1>
        // Transition: a refresh keeps the table on screen until the new
        // list is in.
        <Transition fallback=|| view! { <p class="muted">"Loading hosts…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    list.await.map(|(hosts, now)| view! { <HostsTable hosts now/> })
                })}
            </ErrorBoundary>
        </Transition>
    }
    .into_any()
}

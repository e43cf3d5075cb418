//! `/`: health at a glance and the live host dashboard. The first paint is
//! server-rendered from the current snapshot (health included); the browser
//! then hydrates it and the app's live client keeps it moving.

use leptos::prelude::*;

use super::load_error;
use crate::health::HealthPanel;
use crate::metrics::{get_snapshot, Dashboard};

#[component]
pub fn Overview() -> impl IntoView {
    // Blocking: the server waits for it before sending the page, so the
    // first paint has real values and no spinner.
    let snapshot = Resource::new_blocking(|| (), |_| get_snapshot());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading metrics…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    snapshot.await.map(|snapshot| view! { <HealthPanel/> <Dashboard snapshot/> })
                })}
            </ErrorBoundary>
        </Suspense>
        <crate::HydrationMark/>
    }
}

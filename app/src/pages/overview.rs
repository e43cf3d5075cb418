//! `/`: health at a glance and the live host dashboard. The first paint is
//! server-rendered from the current snapshot (health included); the browser
//! then hydrates it and the app's live client keeps it moving.

use leptos::prelude::*;

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
    }
}

fn load_error(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            <p>"Could not load this part of the page:"</p>
            <ul>
                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
            </ul>
        </div>
    }
}

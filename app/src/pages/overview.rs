//! `/`: health at a glance and the live host dashboard. The first paint is
//! server-rendered from the current snapshot; the browser then hydrates it
//! and the live client keeps it moving.

use leptos::prelude::*;

use crate::health::{get_health, HealthPanel};
use crate::metrics::{get_snapshot, Dashboard};

/// How often the browser refreshes the health rollup.
#[cfg(feature = "hydrate")]
const HEALTH_REFRESH: std::time::Duration = std::time::Duration::from_secs(10);

#[component]
pub fn Overview() -> impl IntoView {
    // Blocking: the server waits for both before sending the page, so the
    // first paint has real values and no spinner.
    let snapshot = Resource::new_blocking(|| (), |_| get_snapshot());
    let health = Resource::new_blocking(|| (), |_| get_health());

    #[cfg(feature = "hydrate")]
    {
        if let Ok(handle) = set_interval_with_handle(move || health.refetch(), HEALTH_REFRESH) {
            on_cleanup(move || handle.clear());
        }
    }

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading health…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move { health.await.map(|report| view! { <HealthPanel report/> }) })}
            </ErrorBoundary>
        </Transition>
        <Suspense fallback=|| view! { <p class="muted">"Loading metrics…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move { snapshot.await.map(|snapshot| view! { <Dashboard snapshot/> }) })}
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

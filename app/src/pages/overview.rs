//! `/`: health at a glance and the live host dashboard. The first paint is
//! server-rendered from the current snapshot (health included); the browser
//! then hydrates it and the app's live client keeps it moving.
//!
//! The snapshot is read on the server only (`on_server!`): the browser gets
//! it with the page, and after a navigation back to `/` the live store
//! already holds the stream.

use leptos::prelude::*;

use super::load_error;
use crate::health::HealthPanel;
use crate::live::use_live;
use crate::metrics::Dashboard;

#[component]
pub fn Overview() -> impl IntoView {
    // Blocking: the server waits for it before sending the page, so the
    // first paint has real values and no spinner.
    let seed = Resource::new_blocking(|| (), |_| async { on_server!(crate::metrics::get_snapshot()) });
    let live = use_live();
    view! {
        <Suspense fallback=loading>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    seed.await.map(|seed| {
                        if let Some(snapshot) = seed {
                            live.seed(snapshot);
                        }
                        // Empty only after a navigation that beat the live
                        // stream's first frame: it comes within moments.
                        view! {
                            <Show when=move || live.seq.with(|seq| *seq > 0) fallback=loading>
                                <HealthPanel/>
                                <Dashboard/>
                            </Show>
                        }
                    })
                })}
            </ErrorBoundary>
        </Suspense>
        <crate::HydrationMark/>
    }
}

fn loading() -> impl IntoView {
    view! { <p class="muted">"Loading metrics…"</p> }
}

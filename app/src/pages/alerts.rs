//! `/alerts`: what fires and is pending (live), silences, maintenance
//! windows, every rule with its current readings, the channels with their
//! last delivery, and what resolved. Admins add and end silences and
//! windows and send test messages here. A lazy route (see [`super`]).

use leptos::prelude::*;
use leptos_meta::Title;

use super::load_error;
use crate::alerts::{get_alerts_board, AddSilence, AddWindow, AlertsPage, EndSilence, EndWindow};
use crate::auth::sentence;

lazy_route!(
    /// `/alerts`.
    Alerts => alerts, in notices
);

fn alerts() -> AnyView {
    let add_silence = ServerAction::<AddSilence>::new();
    let end_silence = ServerAction::<EndSilence>::new();
    let add_window = ServerAction::<AddWindow>::new();
    let end_window = ServerAction::<EndWindow>::new();
    let board = Resource::new_blocking(
        move || {
            (
                add_silence.version().get(),
                end_silence.version().get(),
                add_window.version().get(),
                end_window.version().get(),
            )
        },
        |_| get_alerts_board(),
    );
    let error = move || {
        [
            add_silence.value().get().and_then(Result::err),
            end_silence.value().get().and_then(Result::err),
            add_window.value().get().and_then(Result::err),
            end_window.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="error" role="alert" data-testid="alerts-error">{sentence(&e.to_string())}</p> })
    };
    view! {
        <Title text="Alerts · Vigil"/>
        <h1 class="page-title">"Alerts"</h1>
        {error}
        <Transition fallback=|| view! { <p class="muted">"Loading alerts…"</p> }>
            <ErrorBoundary fallback=load_error>
                {move || Suspend::new(async move {
                    board.await.map(|board| view! {
                        <AlertsPage board add_silence end_silence add_window end_window/>
                    })
                })}
            </ErrorBoundary>
        </Transition>
    }
    .into_any()
}

//! One module per page.

mod checks;
mod explore;
mod hosts;
mod overview;

pub use checks::{Check, Checks};
pub use explore::Explore;
pub use hosts::Hosts;
pub use overview::Overview;

use leptos::prelude::*;

/// What a page shows where its data could not be loaded.
pub(crate) fn load_error(errors: ArcRwSignal<Errors>) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            <p>"Could not load this part of the page:"</p>
            <ul>
                {move || errors.get().into_iter().map(|(_, e)| view! { <li>{e.to_string()}</li> }).collect_view()}
            </ul>
        </div>
    }
}

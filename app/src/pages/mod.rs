//! One module per page.
//!
//! Every page but the overview is a lazy route ([`lazy_route!`]): built
//! with `cargo leptos build --split`, its view and everything only it uses
//! become a WASM chunk of their own that the browser fetches when the page
//! is opened (hydration waits for it). The main module, which every page
//! downloads and compiles first, keeps the shell, the live client and the
//! overview. Built without `--split`, the routes are compiled into the
//! main module like any other: `app/build.rs` sets `wasm_split` only when
//! the splitter will run.

/// Declares the lazy route `$route` (a unit struct, for
/// `leptos_router::Lazy::<$route>::new()`) whose view is `$view()`,
/// ended by the [`crate::HydrationMark`].
macro_rules! lazy_route {
    ($(#[$attr:meta])* $route:ident => $view:path) => {
        $(#[$attr])*
        pub struct $route;

        #[cfg(any(not(target_arch = "wasm32"), wasm_split))]
        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> leptos::prelude::AnyView {
                leptos::prelude::view! { {$view()} <crate::HydrationMark/> }.into_any()
            }
        }

        #[cfg(all(target_arch = "wasm32", not(wasm_split)))]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> leptos::prelude::AnyView {
                leptos::prelude::view! { {$view()} <crate::HydrationMark/> }.into_any()
            }
        }
    };
}

mod account;
mod alerts;
mod checks;
mod explore;
mod hosts;
mod overview;
mod status;

pub use account::{Account, Login, Setup, Users};
pub use alerts::Alerts;
pub use checks::{Check, Checks};
pub use explore::Explore;
pub use hosts::Hosts;
pub use overview::Overview;
pub use status::{Incidents, Reports};

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

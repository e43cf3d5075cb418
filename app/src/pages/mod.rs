//! One module per page.
//!
//! Every page but the overview is a lazy route ([`lazy_route!`]) in one of
//! four groups: `people` (sign-in, set-up, account, users), `ops` (checks,
//! a check, hosts), `notices` (alerts, incidents, reports) and `explore`.
//! Built with `cargo leptos build --split`, each group's views and
//! everything only they use become a WASM module of their own, and code
//! that several groups share goes into a few chunks; the browser fetches a
//! group's module and chunks when one of its pages is opened (hydration
//! waits for them). The main module, which every page
//! downloads and compiles first, keeps the shell, the live client and the
//! overview. Built without `--split`, the routes are compiled into the
//! main module like any other: `app/build.rs` sets `wasm_split` only when
//! the splitter will run.

/// Declares the lazy route `$route` (a unit struct, for
/// `leptos_router::Lazy::<$route>::new()`) whose view is `$view()`,
/// ended by the [`crate::HydrationMark`], in the WASM module `$group`.
///
/// Routes of one group share one module. The splitter makes a module per
/// group and a chunk for each set of groups that share code, so a first
/// visit to a page fetches 8 files, where one module per page made it 22
/// to 73 small ones, each fetched, compiled and linked on the main thread
/// (BENCHMARKS.md, "Lighthouse").
macro_rules! lazy_route {
    ($(#[$attr:meta])* $route:ident => $view:path, in $group:ident) => {
        $(#[$attr])*
        pub struct $route;

        // What `#[leptos_router::lazy_route]` writes, with the module named
        // by the group rather than by the route.
        #[cfg(any(not(target_arch = "wasm32"), wasm_split))]
        paste::paste! {
            #[allow(non_snake_case)]
            #[leptos::lazy($group)]
            fn [<__ $route:snake _view>](_this: $route) -> leptos::prelude::AnyView {
                leptos::prelude::view! { {$view()} <crate::HydrationMark/> }.into_any()
            }

            impl leptos_router::LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                async fn preload() {
                    #[cfg(target_arch = "wasm32")]
                    [<__preload___ $route:snake _view>]().await;
                }

                async fn view(this: Self) -> leptos::prelude::AnyView {
                    [<__ $route:snake _view>](this).await
                }
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

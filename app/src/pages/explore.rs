//! `/explore`: the metrics explorer. The server renders the picker, the
//! range controls and a summary row per series from the URL's view; the
//! chart (uPlot, loaded only on this page) mounts after hydration.
//!
//! The route is lazy. Built with `cargo leptos build --split`, its view
//! and everything only it uses (the explorer, its data and chart code)
//! become a WASM chunk of their own that the browser fetches when the page
//! is opened (hydration waits for it), so the other pages do not download
//! it. Built without `--split`, the route is compiled into the main module
//! like any other: `app/build.rs` sets `wasm_split` only when the splitter
//! will run.

use leptos::prelude::*;
use leptos_meta::{Script, Stylesheet, Title};
use leptos_router::LazyRoute;

use crate::explorer::Explorer;

/// The `/explore` route: `Lazy::<Explore>::new()` in the app's routes.
pub struct Explore;

impl Explore {
    /// Whether this WASM build loads the route from a chunk of its own. The
    /// page must then hydrate with `hydrate_lazy`, which waits for the
    /// chunk; otherwise the route is ready at once and `hydrate_body` does.
    pub const SPLIT: bool = cfg!(all(target_arch = "wasm32", wasm_split));
}

#[cfg(any(not(target_arch = "wasm32"), wasm_split))]
#[leptos_router::lazy_route]
impl LazyRoute for Explore {
    fn data() -> Self {
        Explore
    }

    fn view(_this: Self) -> AnyView {
        page()
    }
}

#[cfg(all(target_arch = "wasm32", not(wasm_split)))]
impl LazyRoute for Explore {
    fn data() -> Self {
        Explore
    }

    async fn view(_this: Self) -> AnyView {
        page()
    }
}

fn page() -> AnyView {
    // Erased here: the lazy view's future would otherwise carry the whole
    // page's type, deeper than the compiler's default recursion limit.
    let explorer = view! { <Explorer/> }.into_any();
    view! {
        <Title text="Explore · Vigil"/>
        <Stylesheet id="uplot" href="/vendor/uPlot.min.css"/>
        // Deferred: the page renders without waiting for it; the chart
        // waits for `window.uPlot` instead.
        <Script src="/vendor/uPlot.iife.min.js" defer="defer"/>
        <h1 class="page-title">"Explore"</h1>
        {explorer}
    }
    .into_any()
}

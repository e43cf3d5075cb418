//! `/explore`: the metrics explorer. The server renders the picker, the
//! range controls and a summary row per series from the URL's view; the
//! chart (uPlot, loaded only on this page) mounts after hydration.
//!
//! A lazy route (see [`super`]): the explorer, its data and chart code are
//! the `explore` group's module, the only route in it.

use leptos::prelude::*;
use leptos_meta::{Script, Stylesheet, Title};

use crate::explorer::Explorer;

lazy_route!(
    /// The `/explore` route.
    Explore => page, in explore
);

impl Explore {
    /// Whether this WASM build loads the routes from chunks of their own
    /// (see [`super`]). The page must then hydrate with `hydrate_lazy`,
    /// which waits for the page's chunk; otherwise every route is ready at
    /// once and `hydrate_body` does.
    pub const SPLIT: bool = cfg!(all(target_arch = "wasm32", wasm_split));
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

//! `/explore`: the metrics explorer. The server renders the picker, the
//! range controls and a summary row per series from the URL's view; the
//! chart (uPlot, loaded only on this page) mounts after hydration.

use leptos::prelude::*;
use leptos_meta::{Script, Stylesheet, Title};

use crate::explorer::Explorer;

#[component]
pub fn Explore() -> impl IntoView {
    view! {
        <Title text="Explore · Vigil"/>
        <Stylesheet id="uplot" href="/vendor/uPlot.min.css"/>
        // Deferred: the page renders without waiting for it; the chart
        // waits for `window.uPlot` instead.
        <Script src="/vendor/uPlot.iife.min.js" defer="defer"/>
        <h1 class="page-title">"Explore"</h1>
        <Explorer/>
    }
}

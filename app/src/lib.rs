//! Vigil's web app, compiled twice: with `ssr` into the `vigil` server, which
//! renders pages and answers server functions, and with `hydrate` into the
//! WASM that takes the rendered page over in the browser.
//!
//! One folder per feature, each with its wire types, server functions and
//! components:
//! - [`metrics`]: host samples, the snapshot server function, the dashboard.
//! - [`health`]: the health rollup types, its server function and chips.
//! - [`live`]: the `/ws` protocol, the connection state machine and the
//!   browser WebSocket client that keeps a page's signals current.
//! - [`pages`]: one module per route.
//! - [`engine`]: the trait through which server functions reach the server.
//!
//! Data flow: the server renders a page from [`metrics::get_snapshot`]; the
//! browser hydrates it; [`live`] resumes the stream after the snapshot's `seq`
//! and applies each frame to a signal that the components read.

pub mod engine;
pub mod format;
pub mod health;
pub mod live;
pub mod metrics;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

use live::{ConnState, ConnectionBadge, LiveStatus};

/// The HTML document around the app, rendered by the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The app: header with navigation and live state, and the routed page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(LiveStatus(RwSignal::new(ConnState::Connecting)));

    // Marks the document once the WASM has taken over (tests and scripts wait for it).
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });

    view! {
        <Stylesheet id="leptos" href="/pkg/vigil.css"/>
        <Title text="Vigil"/>
        <Meta name="description" content="Live health and metrics of this host"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"Vigil"</a>
                <nav aria-label="Main">
                    <A href="/">"Overview"</A>
                </nav>
                <ConnectionBadge/>
            </header>
            <main id="main">
                <Routes fallback=NotFound>
                    // Async: the server sends the page once its data is in, so the
                    // first paint has real values even without JavaScript.
                    <Route path=path!("/") view=pages::Overview ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>"Page not found"</h1>
        <p><a href="/">"Back to the overview"</a></p>
    }
}

//! Vigil's web app, compiled twice: with `ssr` into the `vigil` server, which
//! renders pages and answers server functions, and with `hydrate` into the
//! WASM that takes the rendered page over in the browser.
//!
//! One folder per feature, each with its wire types, server functions and
//! components:
//! - [`metrics`]: host samples and series, the metrics query trait and its
//!   server functions, the dashboard cards.
//! - [`health`]: the health rollup types, its query trait and server
//!   function, and the status chips.
//! - [`live`]: the `/ws` protocol, the connection state machine, the page's
//!   live store and the browser WebSocket client that keeps it current.
//! - [`pages`]: one module per route.
//! - [`explorer`]: the metrics explorer (`/explore`): view state in the
//!   URL, range queries, the uPlot chart.
//! - [`alerts`]: rule instances, silences, windows and channels: wire
//!   types, the query trait and server functions, the page's parts and
//!   the header's count.
//! - [`checks`]: the health checks of outside services: wire types, the
//!   query trait and server functions, the live board, the table and detail.
//! - [`status`]: status pages' incidents and SLA reports: wire types, the
//!   query trait and server functions, the incidents and reports pages.
//! - [`error`]: the error every server function answers with.
//! - [`varint`]: LEB128 and zigzag integers, for the store and the
//!   explorer's column answers.
//!
//! Server functions reach the engine through one small async trait per
//! feature (`MetricsQuery`, `HealthQuery`, `ChecksQuery`), which the `vigil` crate
//! implements and provides as Leptos context. No globals.
//!
//! Data flow: the server renders a page from [`metrics::get_snapshot`]; the
//! browser hydrates it; the app-wide live client resumes the stream after
//! the snapshot's `seq` and applies each frame to the live store's signals.

/// Awaits a server function's call where the page is rendered on the
/// server, as `Ok(Some(value))`; in the browser it is `Ok(None)` and the
/// call is not compiled. For a resource whose value comes with the page (its
/// hydration data) and is never asked for again: the module every page
/// loads first then holds no server-function client for it.
macro_rules! on_server {
    ($call:expr) => {{
        #[cfg(feature = "ssr")]
        let value = $call.await.map(Some);
        #[cfg(not(feature = "ssr"))]
        let value: Result<Option<_>, $crate::error::ApiError> = Ok(None);
        value
    }};
}

pub mod alerts;
pub mod auth;
pub mod checks;
pub mod error;
pub mod explorer;
pub mod fleet;
pub mod format;
pub mod health;
pub mod live;
pub mod metrics;
pub mod pages;
pub mod sort;
pub mod status;
pub mod varint;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use live::ConnectionBadge;

/// The HTML document around the app, rendered by the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                // Installable app: manifest, icons, and the service worker.
                <link rel="manifest" href="/manifest.webmanifest"/>
                <meta name="theme-color" content="#0f766e" media="(prefers-color-scheme: light)"/>
                <meta name="theme-color" content="#0d1117" media="(prefers-color-scheme: dark)"/>
                <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
                // After the metas the theme updates: every script of the page.
                <StartScripts options=options.clone()/>
                <AutoReload options/>
                // The same on every page: here rather than in the app, whose
                // module every page loads first.
                <link rel="stylesheet" id="leptos" href="/pkg/vigil.css"/>
                <meta name="description" content="Live health and metrics of this host"/>
                <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// Every script of the page, in the order they must run; in place of
/// Leptos's `HydrationScripts`.
///
/// That component's module script only starts fetching the WASM once the
/// document is parsed and the script runs, and then compiles it after
/// `vigil.js` has loaded. Here:
/// 1. a classic inline script starts the download and the browser's
///    streaming compile at once (off the main thread, while the page is
///    parsed and laid out);
/// 2. an inline script applies the stored theme before the first paint
///    (`theme.js`; inline, so no request holds the paint up);
/// 3. `/pwa.js`, deferred: the theme button, the service worker and the
///    early live socket. Deferred scripts and module scripts run in
///    document order once the page is parsed, so it runs before
///    4. the module script, which hands the compiled module to the
///    generated `init` and hydrates (and adopts the socket 3 opened).
///
/// Should the early compile fail, `init` fetches the file itself and
/// reports why.
#[component]
fn StartScripts(options: LeptosOptions) -> impl IntoView {
    // Leptos's component also tells the server which WASM chunks a page's
    // lazy routes need (their preload links): keep that, not its scripts.
    let _ = HydrationScripts(HydrationScriptsProps::builder().options(options.clone()).build());
    let nonce = use_nonce();
    let pkg = format!("/{}/{}", options.site_pkg_dir, options.output_name);
    let (js, wasm) = (format!("{pkg}.js"), format!("{pkg}.wasm"));
    let compile = format!(
        "window.__vigilWasm = WebAssembly.compileStreaming(fetch({wasm:?}));\n\
         window.__vigilWasm.catch(function () {{}});"
    );
    let start = format!(
        "import init, {{ hydrate }} from {js:?};\n\
         const early = window.__vigilWasm;\n\
         init({{ module_or_path: early ? early.catch(() => fetch({wasm:?})) : {wasm:?} }}).then(() => hydrate());"
    );
    view! {
        <link rel="modulepreload" href=js/>
        <script nonce=nonce.clone()>{compile}</script>
        <script nonce=nonce.clone()>{include_str!("theme.js")}</script>
        <script src="/pwa.js" defer></script>
        <script type="module" nonce=nonce>{start}</script>
    }
}

/// The app: header with navigation and live state, and the routed page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // One live client per page load, whatever the route.
    live::provide_live();

    view! {
        <Title text="Vigil"/>
        <Router>
            // The first thing Tab reaches: straight past the header to the page.
            <a class="skip-link" href="#main">"Skip to content"</a>
            <Header/>
            // Shown by /pwa.js when a new version is installed and waiting.
            <div class="update-ready" data-testid="update-ready" role="status" hidden>
                "A new version of Vigil is ready. "
                <button type="button">"Reload"</button>
            </div>
            <SessionEnded/>
            // Focusable so the skip link moves keyboard focus, not only the view.
            <main id="main" tabindex="-1">
                <Routes fallback=NotFound>
                    // Async: the server sends the page once its data is in, so the
                    // first paint has real values even without JavaScript.
                    <Route path=path!("/") view=pages::Overview ssr=SsrMode::Async/>
                    // Lazy: each a WASM chunk of its own (see pages).
                    <Route path=path!("/explore") view={Lazy::<pages::Explore>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/checks") view={Lazy::<pages::Checks>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/hosts") view={Lazy::<pages::Hosts>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/alerts") view={Lazy::<pages::Alerts>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/incidents") view={Lazy::<pages::Incidents>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/reports") view={Lazy::<pages::Reports>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/checks/:name") view={Lazy::<pages::Check>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/login") view={Lazy::<pages::Login>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/setup") view={Lazy::<pages::Setup>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view={Lazy::<pages::Users>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/account") view={Lazy::<pages::Account>::new()} ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// Says so when the server ended this page's session (signed out here or
/// elsewhere, the password changed, the account removed): the live client
/// has stopped, what the page shows stays as it was, and the link signs in
/// again and comes back to this page.
#[component]
fn SessionEnded() -> impl IntoView {
    let ended = live::use_live().signed_out;
    let location = leptos_router::hooks::use_location();
    let sign_in = move || {
        let (path, query) = (location.pathname.get(), location.search.get());
        let here = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        auth::login_href(&here)
    };
    view! {
        <Show when=move || ended.get()>
            <p class="session-ended" data-testid="session-ended" role="alert">
                "Your session has ended; this page no longer updates. "
                <a href=sign_in>"Sign in again"</a>
            </p>
        </Show>
    }
}

/// The top bar. On the sign-in pages it shows only the brand and the theme
/// button: there is nothing to navigate to or stream before signing in.
#[component]
fn Header() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let signing_in = move || location.pathname.with(|p| auth_page(p));
    view! {
        <header class="topbar">
            <a class="brand" href="/">"Vigil"</a>
            <Show when=move || !signing_in()>
                <MainNav/>
                <alerts::AlertsBadge/>
                <ConnectionBadge/>
            </Show>
            <auth::view::AccountMenu/>
            <ThemeToggle/>
        </header>
    }
    // Type-erased: the app's whole view type is otherwise too deep for the
    // compiler's layout queries.
    .into_any()
}

/// The sections, each marked `aria-current="page"` while the page is in
/// it. Plain links (the router takes their clicks), and one memo of the
/// section for them all rather than a router link each.
#[component]
fn MainNav() -> impl IntoView {
    const SECTIONS: [(&str, &str); 7] = [
        ("/", "Overview"),
        ("/explore", "Explore"),
        ("/checks", "Checks"),
        ("/hosts", "Hosts"),
        ("/alerts", "Alerts"),
        ("/incidents", "Incidents"),
        ("/reports", "Reports"),
    ];
    let location = leptos_router::hooks::use_location();
    let current = Memo::new(move |_| location.pathname.with(|path| section_of(path).to_string()));
    let links = SECTIONS
        .into_iter()
        .map(|(href, label)| {
            let here = move || current.with(|section| section == href).then_some("page");
            view! { <a href=href aria-current=here>{label}</a> }
        })
        .collect_view();
    view! { <nav aria-label="Main">{links}</nav> }.into_any()
}

/// The section a path is in: `/` alone, or `/` and its first segment
/// (`/checks/rpc` is in `/checks`).
fn section_of(path: &str) -> &str {
    let rest = path.strip_prefix('/').unwrap_or(path);
    match rest.find('/') {
        Some(end) => &path[..end + 1],
        None if rest.is_empty() => "/",
        None => path,
    }
}

/// Marks the document once the WASM has taken over the page it ends
/// (tests and scripts wait for `data-hydrated`). Each page ends with one:
/// a lazy route's page hydrates only once its chunk is in, after the app
/// around it, and a mark set by the app alone would come before the
/// page's own inputs listen.
#[component]
pub fn HydrationMark() -> impl IntoView {
    #[cfg(feature = "hydrate")]
    Effect::new(|| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}

/// The pages served before signing in, where the live client stays off
/// (`/pwa.js` opens no early socket on them either: keep both lists alike).
pub fn auth_page(path: &str) -> bool {
    matches!(path, "/login" | "/setup")
}

/// Cycles the theme: the system's, light, dark. /pwa.js does the work (it
/// runs before hydration and without the WASM), storing the choice and
/// setting `data-theme` on `<html>`; the stylesheet shows the label of the
/// current choice, so the rendered markup never changes and hydration has
/// nothing to reconcile. Hidden when scripts are off, where it could not work.
#[component]
fn ThemeToggle() -> impl IntoView {
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-action="theme"
            data-testid="theme-toggle"
            title="Switch theme: system, light, dark"
        >
            <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                <circle cx="8" cy="8" r="6.5" fill="none" stroke="currentColor" stroke-width="1.5"></circle>
                <path d="M8 1.5a6.5 6.5 0 0 1 0 13z" fill="currentColor"></path>
            </svg>
            <span class="sr-only">"Theme: "</span>
            <span class="theme-choice" data-choice="system">"System"</span>
            <span class="theme-choice" data-choice="light">"Light"</span>
            <span class="theme-choice" data-choice="dark">"Dark"</span>
        </button>
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
        <HydrationMark/>
    }
}

#[cfg(test)]
mod tests {
    use super::section_of;

    #[test]
    fn a_path_is_in_the_section_of_its_first_segment() {
        assert_eq!(section_of("/"), "/");
        assert_eq!(section_of("/checks"), "/checks");
        assert_eq!(section_of("/checks/"), "/checks");
        assert_eq!(section_of("/checks/rpc"), "/checks");
        assert_eq!(section_of("/explore"), "/explore");
    }
}

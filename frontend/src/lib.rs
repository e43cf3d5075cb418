//! The browser entry point. `cargo leptos` builds this crate to WASM; the
//! generated `/pkg/vigil.js` calls [`hydrate`] once the module has loaded, and
//! everything else lives in the `app` crate.

/// Attaches the WASM app to the server-rendered DOM. When the lazy routes
/// are chunks of their own (`cargo leptos build --split`, see
/// `app::pages`), hydration runs asynchronously, so that a page can first
/// load its chunk; the other branch is compiled out.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    if app::pages::Explore::SPLIT {
        leptos::mount::hydrate_lazy(app::App);
    } else {
        leptos::mount::hydrate_body(app::App);
    }
}

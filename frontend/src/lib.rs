//! The browser entry point. `cargo leptos` builds this crate to WASM; the
//! generated `/pkg/vigil.js` calls [`hydrate`] once the module has loaded, and
//! everything else lives in the `app` crate.

/// Attaches the WASM app to the server-rendered DOM.
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}

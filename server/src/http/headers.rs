//! Security headers on every response, pages, APIs, `/sw.js` and static
//! files alike.
//!
//! The Content-Security-Policy allows only same-origin code. Scripts: files
//! from this origin, compiling the WASM (`'wasm-unsafe-eval'`, which allows
//! WebAssembly and nothing else, not `eval`), and inline scripts that carry
//! this response's nonce: the hydration bootstrap and the serialized
//! resources Leptos writes into the page. The nonce is made here, put into
//! the request's extensions, and provided to the Leptos render as its
//! [`Nonce`] (see `http::router`), so the page and the header always agree.
//!
//! Styles allow `'unsafe-inline'`: the explorer writes `<style>` elements
//! (the series filter, the band edges) and components render `style`
//! attributes, which a nonce cannot cover. Inline styles cannot run code.
//!
//! `connect-src 'self'` covers the live socket: CSP Level 3 matches `ws:`
//! and `wss:` to the page's own `http:` and `https:` origin (Chromium,
//! Firefox and Safari all do).

use axum::extract::Request;
use axum::http::header::{
    HeaderValue, CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;
use leptos::nonce::Nonce;

/// The policy of a response whose inline scripts carry `nonce`.
pub(crate) fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; \
         script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; \
         style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; \
         connect-src 'self'; \
         worker-src 'self'; \
         manifest-src 'self'; \
         frame-ancestors 'none'; \
         base-uri 'none'; \
         form-action 'self'; \
         object-src 'none'"
    )
}

/// Makes the request's nonce and sets the security headers on the answer.
pub(crate) async fn security_headers(mut request: Request, next: Next) -> Response {
    let nonce = Nonce::new();
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // The nonce is URL-safe base64, so the value is always a valid header.
    if let Ok(policy) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        headers.insert(CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: other sites get no Referer, and a
    // form post to Vigil keeps its true `Origin` (under `no-referrer` the
    // browser sends `Origin: null`), which the gate checks.
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// The nonce [`security_headers`] made for this request, for the render.
pub(crate) fn request_nonce(parts: &axum::http::request::Parts) -> Option<Nonce> {
    parts.extensions.get::<Nonce>().cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_the_wasm_and_the_nonce_but_no_inline_script() {
        let csp = content_security_policy("abc123");
        let script = csp
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src"))
            .unwrap();
        assert_eq!(script, "script-src 'self' 'wasm-unsafe-eval' 'nonce-abc123'");
        assert!(!script.contains("'unsafe-inline'") && !script.contains(" 'unsafe-eval'"));
        for directive in ["frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'"] {
            assert!(csp.contains(directive), "{directive} missing from {csp}");
        }
    }
}

//! The WebSocket opening handshake of `/ws` (RFC 6455, section 4.2), done
//! here rather than by axum's extractor so that the live socket gets the
//! upgraded connection itself: over plain TCP the shards write below the
//! WebSocket layer (see [`super::wire`]).
//!
//! A request that is not a WebSocket opening handshake is answered with a
//! JSON error saying what is missing; the accept key comes from
//! tungstenite's `derive_accept_key`.

use std::future::Future;

use app::error::ApiError;
use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION, UPGRADE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Version};
use axum::response::{IntoResponse, Response};
use hyper::upgrade::{OnUpgrade, Upgraded};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// A checked WebSocket opening handshake, ready to be answered with 101.
pub(crate) struct WsUpgrade {
    on_upgrade: OnUpgrade,
    accept: HeaderValue,
}

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        let accept = check(parts.version, &parts.headers).map_err(|(status, message)| {
            let mut response = ApiError::with_status(status, message).into_response();
            if status == StatusCode::UPGRADE_REQUIRED {
                let headers = response.headers_mut();
                headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
                headers.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            }
            response
        })?;
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            // Only a connection hyper can hand over carries one.
            let message = "this connection cannot be upgraded";
            return Err(ApiError::with_status(StatusCode::UPGRADE_REQUIRED, message).into_response());
        };
        Ok(WsUpgrade { on_upgrade, accept })
    }
}

impl WsUpgrade {
    /// Answers 101 and, once hyper hands the connection over, runs `serve`
    /// on it in a task of its own.
    pub(crate) fn on_upgrade<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let on_upgrade = self.on_upgrade;
        tokio::spawn(async move {
            match on_upgrade.await {
                Ok(upgraded) => serve(upgraded).await,
                Err(err) => tracing::debug!(%err, "a /ws upgrade failed"),
            }
        });
        let mut response = Response::new(Body::empty());
        *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
        let headers = response.headers_mut();
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(SEC_WEBSOCKET_ACCEPT, self.accept);
        response
    }
}

/// Checks the handshake's headers; gives the `Sec-WebSocket-Accept` value,
/// or the status and message to refuse it with.
fn check(version: Version, headers: &HeaderMap) -> Result<HeaderValue, (StatusCode, &'static str)> {
    if version < Version::HTTP_11 {
        return Err((StatusCode::UPGRADE_REQUIRED, "a WebSocket handshake needs HTTP/1.1"));
    }
    if !has_token(headers, CONNECTION, "upgrade") || !has_token(headers, UPGRADE, "websocket") {
        return Err((
            StatusCode::UPGRADE_REQUIRED,
            "/ws is a WebSocket: send Connection: Upgrade and Upgrade: websocket",
        ));
    }
    if headers.get(SEC_WEBSOCKET_VERSION).map(HeaderValue::as_bytes) != Some(b"13") {
        return Err((StatusCode::UPGRADE_REQUIRED, "only WebSocket version 13 is spoken"));
    }
    match headers.get(SEC_WEBSOCKET_KEY) {
        // The key is 16 random bytes in base64: 24 characters.
        Some(key) if key.len() == 24 => {
            let accept = derive_accept_key(key.as_bytes());
            Ok(HeaderValue::from_str(&accept).expect("base64 is a valid header value"))
        }
        Some(_) => Err((StatusCode::BAD_REQUEST, "Sec-WebSocket-Key must be 16 bytes in base64")),
        None => Err((StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing")),
    }
}

/// Whether a comma-separated header lists `token` (case-insensitive).
fn has_token(headers: &HeaderMap, name: axum::http::HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|item| item.trim().eq_ignore_ascii_case(token))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    const GOOD: [(&str, &str); 4] = [
        ("connection", "keep-alive, Upgrade"),
        ("upgrade", "WebSocket"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_handshake_gets_the_rfc_accept_key() {
        // The example of RFC 6455, section 1.3.
        let accept = check(Version::HTTP_11, &headers(&GOOD)).unwrap();
        assert_eq!(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn what_is_not_a_handshake_is_refused_with_a_reason() {
        let without = |name: &str| {
            let kept: Vec<_> = GOOD.iter().copied().filter(|(n, _)| *n != name).collect();
            check(Version::HTTP_11, &headers(&kept)).unwrap_err()
        };
        assert_eq!(without("connection").0, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(without("upgrade").0, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(without("sec-websocket-version").0, StatusCode::UPGRADE_REQUIRED);
        assert_eq!(
            without("sec-websocket-key"),
            (StatusCode::BAD_REQUEST, "Sec-WebSocket-Key is missing")
        );
        let mut old = headers(&GOOD);
        old.insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("8"));
        assert_eq!(
            check(Version::HTTP_11, &old).unwrap_err().0,
            StatusCode::UPGRADE_REQUIRED
        );
        let mut short = headers(&GOOD);
        short.insert(SEC_WEBSOCKET_KEY, HeaderValue::from_static("c2hvcnQ="));
        assert_eq!(check(Version::HTTP_11, &short).unwrap_err().0, StatusCode::BAD_REQUEST);
        assert!(check(Version::HTTP_10, &headers(&GOOD)).is_err());
    }
}

//! The session cookie: reading it off a request, making it (and the one
//! that clears it), and the token behind it. The browser holds a random
//! token; the server keeps only its SHA-256 (the session's id).

use app::auth::AuthError;
use axum::http::{HeaderMap, HeaderValue};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use sha2::{Digest, Sha256};

/// The session cookie's name.
pub(crate) const COOKIE: &str = "vigil_session";

/// The session token in a request's cookies, if it is well formed.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(COOKIE)
        .map(|c| c.value().to_string())
        .filter(|token| token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The `Set-Cookie` value for `token` (an empty token with `max_age` 0
/// clears it): HttpOnly, SameSite=Strict, the whole site, `Secure` when
/// the browser came over HTTPS.
pub(crate) fn set_cookie(token: &str, max_age_s: u64, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((COOKIE, token.to_string()))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::seconds(
            i64::try_from(max_age_s).unwrap_or(i64::MAX),
        ))
        .secure(secure)
        .build();
    HeaderValue::from_str(&cookie.to_string()).expect("a token is hex")
}

/// A session's id: the hex SHA-256 of its token.
pub(crate) fn session_id(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// 32 random bytes from the OS, in hex.
pub(crate) fn random_token() -> Result<String, AuthError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Unavailable(format!("no randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

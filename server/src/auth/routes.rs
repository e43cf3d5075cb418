//! Signing in and out, and the first account: `POST /auth/login`,
//! `/auth/logout`, `/auth/setup`. Each takes an HTML form (and answers
//! with a redirect, so the pages work without scripts) or JSON (and
//! answers JSON, for scripts and tests). Sign-in sets the session cookie:
//! HttpOnly, SameSite=Strict, Secure over HTTPS; sign-out clears it and
//! asks the browser to drop what it cached of the pages.

use std::sync::Arc;

use app::auth::{login_href, AuthError, SessionId};
use app::error::PublicError;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::gate::ClientAddr;
use super::{Auth, NewSession, COOKIE};
use crate::http::error::ApiError;
use crate::http::state::AppState;

/// The routes, to merge into the app's router.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/setup", post(setup))
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct SetupForm {
    name: String,
    password: String,
    /// Required in the form; JSON clients may leave it out.
    #[serde(default)]
    confirm: Option<String>,
}

/// How the client asked: a browser form, or JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Style {
    Form,
    Json,
}

impl Style {
    /// JSON when the body says so, else a form.
    fn of(headers: &HeaderMap) -> Style {
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if json {
            Style::Json
        } else {
            Style::Form
        }
    }
}

fn parse<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<(T, Style), ApiError> {
    let parsed = if Style::of(headers) == Style::Json {
        serde_json::from_slice(body)
            .map(|v| (v, Style::Json))
            .map_err(|e| e.to_string())
    } else {
        serde_urlencoded::from_bytes(body)
            .map(|v| (v, Style::Form))
            .map_err(|e| e.to_string())
    };
    parsed.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("bad sign-in request: {e}")))
}

async fn login(
    State(state): State<AppState>,
    Extension(ClientAddr(client)): Extension<ClientAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, style) = match parse::<LoginForm>(&headers, &body) {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    let next = safe_next(form.next.as_deref());
    let name = form.name.trim().to_string();
    match state.auth.sign_in(name.clone(), form.password, client).await {
        Ok(session) => signed_in(&state.auth, &headers, session, style, &next, &name),
        Err(err) => failed(err, style, &login_href(&next)),
    }
}

async fn setup(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let (form, style) = match parse::<SetupForm>(&headers, &body) {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    if style == Style::Form && form.confirm.as_deref() != Some(form.password.as_str()) {
        return failed(AuthError::Mismatch, style, "/setup?");
    }
    let name = form.name.trim().to_string();
    match state.auth.set_up(name.clone(), form.password).await {
        Ok(session) => signed_in(&state.auth, &headers, session, style, "/", &name),
        Err(AuthError::SetupDone) if style == Style::Form => see_other("/login"),
        Err(err) => failed(err, style, "/setup?"),
    }
}

async fn logout(State(state): State<AppState>, session: Option<Extension<SessionId>>, headers: HeaderMap) -> Response {
    if let Some(Extension(SessionId(id))) = session {
        if let Err(err) = state.auth.end_session(id).await {
            return failed(err, Style::Json, "/");
        }
    }
    let mut response = match Style::of(&headers) {
        Style::Form => see_other("/login"),
        Style::Json => Json(serde_json::json!({ "signed_out": true })).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, cookie(&state.auth, &HeaderMap::new(), "", 0));
    // The offline copies of the pages hold host data: drop them.
    headers.insert("clear-site-data", HeaderValue::from_static("\"cache\", \"storage\""));
    response
}

fn signed_in(
    auth: &Arc<Auth>,
    request: &HeaderMap,
    session: NewSession,
    style: Style,
    next: &str,
    name: &str,
) -> Response {
    let set_cookie = cookie(auth, request, &session.token, session.ttl.as_secs());
    let mut response = match style {
        Style::Form => see_other(next),
        Style::Json => Json(serde_json::json!({ "name": name })).into_response(),
    };
    response.headers_mut().insert(header::SET_COOKIE, set_cookie);
    response
}

fn failed(err: AuthError, style: Style, back: &str) -> Response {
    match style {
        Style::Json => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = ApiError::new(status, err.public_message()).into_response();
            if let AuthError::RateLimited(wait) = err {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            }
            response
        }
        Style::Form => {
            let sep = if back.ends_with('?') { "" } else { "&" };
            let mut target = format!("{back}{sep}error={}", err.code());
            if let AuthError::RateLimited(wait) = err {
                target.push_str(&format!("&wait={wait}"));
            }
            see_other(&target)
        }
    }
}

/// A 303 to `location`, never cached.
pub(super) fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, location.to_string()),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
    )
        .into_response()
}

/// The session cookie (an empty value with `max_age` 0 clears it).
fn cookie(auth: &Auth, request: &HeaderMap, token: &str, max_age: u64) -> HeaderValue {
    let secure = if auth.secure(request) { "; Secure" } else { "" };
    let text = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).expect("a token is hex")
}

/// Where to go after signing in: a path on this site, never another site.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") && !n.contains(['\r', '\n']) => {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/checks?q=x")), "/checks?q=x");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "javascript:alert(1)",
            "/a\r\nSet-Cookie: x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

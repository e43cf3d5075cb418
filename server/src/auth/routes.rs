//! Signing in and out, and the first account: `POST /auth/login`,
//! `/auth/logout`, `/auth/setup`. Each takes an HTML form (and answers
//! with a redirect, so the pages work without scripts) or JSON (and
//! answers JSON, for scripts and tests). Sign-in sets the session cookie:
//! HttpOnly, SameSite=Strict, Secure over HTTPS; sign-out clears it and
//! asks the browser to drop what it cached of the pages.

use app::auth::{login_href, AuthError, SessionId};
use app::error::PublicError;
use axum::body::Bytes;
use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, MethodRouter};
use axum::{Extension, Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::cookie::set_cookie;
use super::gate::{see_other, Client};
use super::{Auth, NewSession};
use app::error::ApiError;

/// The routes, to merge into the app's router.
pub(crate) fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Arc<Auth>: FromRef<S>,
{
    routes()
        .into_iter()
        .fold(Router::new(), |router, (path, _, handler)| router.route(path, handler))
}

/// The routes as a table (what [`router`] is built from, and what
/// `http::endpoints` lists).
pub(crate) fn routes<S>() -> Vec<(&'static str, Method, MethodRouter<S>)>
where
    S: Clone + Send + Sync + 'static,
    Arc<Auth>: FromRef<S>,
{
    vec![
        ("/auth/login", Method::POST, post(login)),
        ("/auth/logout", Method::POST, post(logout)),
        ("/auth/setup", Method::POST, post(setup)),
    ]
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
    parsed.map_err(|e| ApiError::with_status(StatusCode::BAD_REQUEST, format!("bad sign-in request: {e}")))
}

async fn login(
    State(auth): State<Arc<Auth>>,
    Extension(client): Extension<Client>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (form, style) = match parse::<LoginForm>(&headers, &body) {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    let next = safe_next(form.next.as_deref());
    let name = form.name.trim().to_string();
    match auth.sign_in(name.clone(), form.password, client.addr).await {
        Ok(session) => signed_in(client, session, style, &next, &name),
        Err(err) => failed(err, style, &login_href(&next)),
    }
}

async fn setup(
    State(auth): State<Arc<Auth>>,
    Extension(client): Extension<Client>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if auth.has_accounts() {
        // Before reading the form: nothing to hash, nothing to parse.
        return match Style::of(&headers) {
            Style::Form => see_other("/login"),
            Style::Json => failed(AuthError::SetupDone, Style::Json, "/setup?"),
        };
    }
    let (form, style) = match parse::<SetupForm>(&headers, &body) {
        Ok(parsed) => parsed,
        Err(err) => return err.into_response(),
    };
    if style == Style::Form && form.confirm.as_deref() != Some(form.password.as_str()) {
        return failed(AuthError::Mismatch, style, "/setup?");
    }
    let name = form.name.trim().to_string();
    match auth.set_up(name.clone(), form.password, client.addr).await {
        Ok(session) => signed_in(client, session, style, "/", &name),
        Err(AuthError::SetupDone) if style == Style::Form => see_other("/login"),
        Err(err) => failed(err, style, "/setup?"),
    }
}

async fn logout(
    State(auth): State<Arc<Auth>>,
    Extension(client): Extension<Client>,
    session: Option<Extension<SessionId>>,
    headers: HeaderMap,
) -> Response {
    if let Some(Extension(SessionId(id))) = session {
        if let Err(err) = auth.end_session(id).await {
            return failed(err, Style::Json, "/");
        }
    }
    let mut response = match Style::of(&headers) {
        Style::Form => see_other("/login"),
        Style::Json => Json(serde_json::json!({ "signed_out": true })).into_response(),
    };
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, set_cookie("", 0, client.https));
    // The offline copies of the pages hold host data: drop them.
    headers.insert("clear-site-data", HeaderValue::from_static("\"cache\", \"storage\""));
    response
}

fn signed_in(client: Client, session: NewSession, style: Style, next: &str, name: &str) -> Response {
    let cookie = set_cookie(&session.token, session.ttl.as_secs(), client.https);
    let mut response = match style {
        Style::Form => see_other(next),
        Style::Json => Json(serde_json::json!({ "name": name })).into_response(),
    };
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

fn failed(err: AuthError, style: Style, back: &str) -> Response {
    match style {
        Style::Json => {
            let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = ApiError::with_status(status, err.public_message()).into_response();
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

/// Where to go after signing in: a path on this site, never another site.
///
/// `next` is read the way the browser will read the `Location` it ends up
/// in (the WHATWG URL rules, which drop tabs and newlines and take `\` for
/// `/`), against a stand-in origin; only a URL still on that origin is
/// kept, and what is sent back is its own serialisation (path, query and
/// fragment), so the browser cannot read it any other way.
fn safe_next(next: Option<&str>) -> String {
    const HERE: &str = "http://vigil.invalid/";
    let Some(next) = next.filter(|n| n.starts_with('/')) else {
        return "/".to_string();
    };
    let (Ok(base), Ok(parsed)) = (url::Url::parse(HERE), url::Url::parse(HERE).and_then(|b| b.join(next))) else {
        return "/".to_string();
    };
    if parsed.origin() != base.origin() || !parsed.username().is_empty() || parsed.password().is_some() {
        return "/".to_string();
    }
    let mut out = parsed.path().to_string();
    if let Some(query) = parsed.query() {
        out.push('?');
        out.push_str(query);
    }
    if let Some(fragment) = parsed.fragment() {
        out.push('#');
        out.push_str(fragment);
    }
    // A path that starts with `//` would name a host in `Location`.
    if out.starts_with("//") {
        return "/".to_string();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/checks?q=x")), "/checks?q=x");
        assert_eq!(safe_next(Some("/explore?series=a.b#top")), "/explore?series=a.b#top");
        assert_eq!(safe_next(Some("/checks/a b")), "/checks/a%20b");
        // Read as the browser reads them, these are other sites.
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "\t//evil.example",
            "/\t\\evil.example",
            "//user:pass@evil.example",
            "///evil.example",
            "/\\\\evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            let next = safe_next(Some(bad));
            let seen = url::Url::parse("http://vigil.invalid/").unwrap().join(&next).unwrap();
            assert_eq!(seen.host_str(), Some("vigil.invalid"), "{bad:?} -> {next:?}");
            assert!(!next.contains(['\r', '\n', '\t']), "{bad:?} -> {next:?}");
        }
        // Encoded forms stay paths on this site (the browser does not decode them in Location).
        for encoded in ["/%2F%2Fevil.example", "/%5Cevil.example", "/%2e%2e/evil"] {
            let next = safe_next(Some(encoded));
            assert!(next.starts_with('/') && !next.starts_with("//"), "{encoded} -> {next}");
        }
        // Header injection cannot survive: newlines are dropped by the URL rules.
        assert_eq!(safe_next(Some("/a\r\nSet-Cookie: x")), "/aSet-Cookie:%20x");
        assert_eq!(safe_next(None), "/");
    }
}

//! The middleware in front of every route: classifies the path into a
//! [`Door`], identifies the request, and lets it through (with the
//! [`Principal`] in its extensions) or refuses it the way that door
//! refuses: 401 JSON for APIs and `/ws` (an upgrade never happens), a
//! redirect to the sign-in or setup page for pages, 403 for a viewer on an
//! admin page.

use std::net::{IpAddr, SocketAddr};

use std::sync::Arc;

use app::auth::{login_href, Principal, SessionId};
use app::error::ApiError;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::{Auth, NotLocal};

/// The kinds of door a path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Door {
    /// Built files: open to anyone, and nobody needs identifying.
    Static,
    /// The sign-in page and forms: open to anyone (the page shows who is signed in).
    Public,
    /// `/setup`: only while no account exists.
    Setup,
    /// `/healthz`: open, with detail only for a principal.
    Health,
    /// `/metrics`: a principal, loopback, or the bearer token.
    Metrics,
    /// `/ws`: a principal (the Origin is checked by the handler).
    Socket,
    /// `/api/…` and server functions: a principal, else 401 JSON.
    Api,
    /// `/admin/…`: an admin.
    Admin,
    /// The status routes' paths (see [`is_status_path`]): public status
    /// pages, their feeds and badges; open to
    /// anyone (an open Vigil's too, whatever the Host), rate-limited per
    /// client; the handlers show only what a page lists.
    Status,
    /// Every other path renders a page: a principal, else the sign-in page.
    Page,
}

/// Files at the site root, served to anyone.
const PUBLIC_FILES: &[&str] = &[
    "/favicon.svg",
    "/manifest.webmanifest",
    "/sw.js",
    "/pwa.js",
    "/robots.txt",
];
/// Folders of built files, served to anyone.
const PUBLIC_DIRS: &[&str] = &["/pkg/", "/icons/", "/vendor/"];

impl Door {
    pub(crate) fn of(path: &str) -> Door {
        match path {
            "/login" => Door::Public,
            p if p.starts_with("/auth/") => Door::Public,
            "/setup" => Door::Setup,
            "/healthz" => Door::Health,
            "/metrics" => Door::Metrics,
            "/ws" => Door::Socket,
            p if PUBLIC_FILES.contains(&p) || PUBLIC_DIRS.iter().any(|d| p.starts_with(d)) => Door::Static,
            p if p == "/api" || p.starts_with("/api/") => Door::Api,
            p if p == "/admin" || p.starts_with("/admin/") => Door::Admin,
            p if is_status_path(p) => Door::Status,
            _ => Door::Page,
        }
    }
}

/// Whether `path` has the shape of a public status door: `/status/FILE`
/// (a page, its `.json` or `.atom`), `/status/assets/page.js`,
/// `/status/badges/CHECK/KIND`. Any other path under `/status/` is a
/// page like the rest: a session or the sign-in page, never an
/// anonymous render of the app.
fn is_status_path(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/status/") else {
        return false;
    };
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        [file] => !file.is_empty(),
        ["assets", "page.js"] => true,
        ["badges", check, kind] => !check.is_empty() && !kind.is_empty(),
        _ => false,
    }
}

/// Admits or refuses each request (see [`Door`]).
///
/// In order: static files pass untouched; a state-changing request must
/// come from this origin's pages (every mode); an open Vigil answers only
/// requests addressed to a loopback name (or `[server] hostnames`) that no
/// proxy forwarded; then the door's own rule.
pub(crate) async fn gate(State(auth): State<Arc<Auth>>, mut request: Request, next: Next) -> Response {
    let door = Door::of(request.uri().path());
    if door == Door::Static {
        // Most requests of a page load: no cookie to hash, no session to look up.
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::from([0, 0, 0, 0]), |ConnectInfo(addr)| addr.ip());
    let client = Client {
        addr: auth.client_addr(request.headers(), peer),
        https: auth.https(request.headers(), peer),
    };
    if !request.method().is_safe() {
        if let Err(foreign) = auth.names().check_origin(request.headers()) {
            tracing::warn!(client = %client.addr, path = request.uri().path(), %foreign, "refused a cross-origin request");
            return ApiError::with_status(
                StatusCode::FORBIDDEN,
                format!("cross-origin request refused: {foreign}"),
            )
            .into_response();
        }
    }
    if door == Door::Status {
        // Public: no session to look up, and no open Vigil's admin to
        // protect (nothing here changes or reveals more than the page lists).
        if let Err(wait) = auth.limit_public(client.addr) {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [(header::RETRY_AFTER, wait.to_string())],
                ApiError::with_status(StatusCode::TOO_MANY_REQUESTS, "too many requests: try again shortly"),
            )
                .into_response();
        }
        request.extensions_mut().insert(client);
        // Signed-in users may read the badges of any check.
        if let Some((who, _)) = auth.identify(request.headers()) {
            request.extensions_mut().insert(who);
        }
        return next.run(request).await;
    }
    if auth.is_open() {
        if let Err(refusal) = auth.local(request.headers()) {
            tracing::warn!(client = %client.addr, %refusal, "an open Vigil refused a request that is not local");
            let status = match refusal {
                NotLocal::Host(_) => StatusCode::MISDIRECTED_REQUEST,
                NotLocal::Proxied => StatusCode::FORBIDDEN,
            };
            return ApiError::with_status(status, refusal.to_string()).into_response();
        }
    }
    request.extensions_mut().insert(client);
    let identified = auth.identify(request.headers());
    let principal = identified.as_ref().map(|(who, _)| who.clone());
    if let Some((who, session)) = identified {
        request.extensions_mut().insert(who);
        if let Some(id) = session {
            request.extensions_mut().insert(SessionId(id));
        }
    }
    let admitted = match door {
        Door::Static | Door::Public | Door::Health | Door::Status => true,
        Door::Setup => {
            if auth.has_accounts() {
                return Redirect::to("/login").into_response();
            }
            true
        }
        Door::Metrics => auth.metrics_allowed(request.headers(), principal.as_ref()),
        Door::Socket | Door::Api | Door::Page => principal.is_some(),
        Door::Admin => principal.as_ref().is_some_and(Principal::is_admin),
    };
    if admitted && door == Door::Socket {
        // A browser's handshake always says where its page came from.
        if let Err(foreign) = auth.names().check_origin(request.headers()) {
            tracing::warn!(client = %client.addr, %foreign, "refused a WebSocket from a foreign origin");
            return ApiError::with_status(StatusCode::FORBIDDEN, foreign.to_string()).into_response();
        }
        let session = request.extensions().get::<SessionId>().map(|SessionId(id)| id.as_str());
        let end = auth.socket_end(session);
        request.extensions_mut().insert(end);
    }
    if admitted {
        return next.run(request).await;
    }
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    refuse(&auth, door, principal.as_ref(), request.uri(), wants_html)
}

/// Who sent a request, as the gate worked it out: the client's address
/// (the peer, or a trusted proxy's word) and whether the browser came over
/// HTTPS (Vigil's own TLS, or a trusted proxy's word).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Client {
    pub(crate) addr: IpAddr,
    pub(crate) https: bool,
}

fn refuse(auth: &Auth, door: Door, principal: Option<&Principal>, uri: &axum::http::Uri, wants_html: bool) -> Response {
    let setup_first = !auth.has_accounts();
    match door {
        Door::Page | Door::Admin if principal.is_none() => {
            if setup_first {
                return Redirect::to("/setup").into_response();
            }
            let next = uri.path_and_query().map_or("/", |pq| pq.as_str());
            see_other(&login_href(next))
        }
        Door::Admin if wants_html => (
            StatusCode::FORBIDDEN,
            [(header::CACHE_CONTROL, "no-store")],
            axum::response::Html(FORBIDDEN_PAGE),
        )
            .into_response(),
        Door::Admin => ApiError::with_status(StatusCode::FORBIDDEN, "only an admin may open this page").into_response(),
        Door::Metrics => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigil\"")],
            ApiError::with_status(StatusCode::UNAUTHORIZED, "a bearer token or a session is required"),
        )
            .into_response(),
        _ if setup_first => ApiError::with_status(
            StatusCode::UNAUTHORIZED,
            "no account exists yet: create the first admin account at /setup",
        )
        .into_response(),
        _ => ApiError::with_status(StatusCode::UNAUTHORIZED, "sign in first (POST /auth/login)").into_response(),
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

/// What a viewer's browser gets for an admin page: a page, not JSON.
const FORBIDDEN_PAGE: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Admins only · Vigil</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/pkg/vigil.css">
</head>
<body>
<main id="main" class="auth-card">
<h1 class="page-title">Admins only</h1>
<p>Only an admin account may open this page.</p>
<p><a href="/">Back to the overview</a></p>
</main>
</body>
</html>
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_doors() {
        for (path, door) in [
            ("/", Door::Page),
            ("/checks/api.example.com", Door::Page),
            ("/explore", Door::Page),
            ("/hosts", Door::Page),
            ("/no/such/page", Door::Page),
            ("/login", Door::Public),
            ("/auth/login", Door::Public),
            ("/setup", Door::Setup),
            ("/pkg/vigil.wasm", Door::Static),
            ("/icons/icon-192.png", Door::Static),
            ("/sw.js", Door::Static),
            ("/healthz", Door::Health),
            ("/metrics", Door::Metrics),
            ("/ws", Door::Socket),
            ("/api/v1/query", Door::Api),
            ("/api/v1/hosts", Door::Api),
            ("/api", Door::Api),
            ("/apiary", Door::Page),
            ("/admin/users", Door::Admin),
            ("/pkgx", Door::Page),
            ("/status/public", Door::Status),
            ("/status/public.json", Door::Status),
            ("/status/assets/page.js", Door::Status),
            ("/status/badges/api/status.svg", Door::Status),
            ("/status", Door::Page),
            ("/status/", Door::Page),
            ("/status/public/", Door::Page),
            ("/status/x/y", Door::Page),
            ("/status/badges/api", Door::Page),
            ("/statusx", Door::Page),
        ] {
            assert_eq!(Door::of(path), door, "{path}");
        }
    }
}

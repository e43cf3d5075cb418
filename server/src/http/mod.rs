//! The HTTP surface: the axum router, its handlers and what they share.
//!
//! - [`router`]: `/ws`, `/healthz`, `/metrics`, the Leptos pages and server
//!   functions (`/api/v1/*`), static files; request latency per route.
//! - [`state`]: the [`AppState`](state::AppState) every handler reaches.
//! - [`prom`]: the Prometheus exposition.
//! - [`site`]: the built front end (embedded, precompressed) and its files.
//! - [`serve`]: the accept loop: connection cap, header and idle timeouts,
//!   TLS, graceful shutdown.
//! - [`headers`]: the Content-Security-Policy (with its per-request nonce)
//!   and the other security headers on every response.
//! - [`limits`]: the request body limits (size and time).
//! - [`path`]: the one normal form every request path must have.
//!
//! [`endpoints`] lists every route the router serves, from the same
//! tables it is built from, so that tests can knock on every door.

pub(crate) mod headers;
pub(crate) mod limits;
pub(crate) mod path;
pub(crate) mod prom;
pub(crate) mod serve;
pub(crate) mod site;
pub(crate) mod state;

use std::sync::{Arc, OnceLock};

use app::auth::{Accounts, Principal};
use app::checks::ChecksQuery;
use app::health::HealthQuery;
use app::metrics::MetricsQuery;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::compression::CompressionLayer;

use self::state::{AppState, Metrics, SiteFiles};
use crate::health::Monitor;
use crate::live::ws;
use crate::local::LocalHost;
use app::error::ApiError;

/// The Leptos pages, listed once per process.
///
/// Listing them renders the whole app with resource loading switched off,
/// and that switch (leptos_server's `SuppressResourceLoad`) is one flag for
/// the whole process, not for the listing thread: a page rendering on any
/// other thread meanwhile gets resources that never load, and its response
/// never comes. So the list is made once, before the first router (and so
/// before any page can render), and every router and [`endpoints`] share it.
/// One process holds several servers in the tests.
fn page_routes() -> &'static [AxumRouteListing] {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App))
}

/// The HTTP surface.
pub(crate) fn router(state: AppState) -> Router {
    let metrics: Arc<dyn MetricsQuery> = state.local.clone();
    let health: Arc<dyn HealthQuery> = state.local.clone();
    let checks: Arc<dyn ChecksQuery> = state.local.clone();
    let accounts: Arc<dyn Accounts> = state.auth.clone();
    let fleet: Arc<dyn app::fleet::FleetQuery> = state.fleet.clone();
    let hosts: Arc<dyn app::metrics::HostMetrics> = state.fleet.clone();
    let alerts: Arc<dyn app::alerts::AlertsQuery> = Arc::new(state.alerts.clone());
    let status: Arc<dyn app::status::StatusQuery> = Arc::new(state.status.clone());
    let context = move || {
        provide_context(alerts.clone());
        provide_context(status.clone());
        provide_context(fleet.clone());
        provide_context(hosts.clone());
        provide_context(metrics.clone());
        provide_context(health.clone());
        provide_context(checks.clone());
        provide_context(accounts.clone());
        // The nonce of this response's CSP, for the shell's inline scripts
        // (replaces the one leptos_axum makes, which no header names).
        if let Some(nonce) = use_context::<axum::http::request::Parts>().and_then(|p| headers::request_nonce(&p)) {
            provide_context(nonce);
        }
    };
    let options = state.leptos_options.clone();
    let pages = own_routes()
        .into_iter()
        .fold(Router::new(), |router, (path, _, handler)| router.route(path, handler))
        .leptos_routes_with_context(&state, page_routes().to_vec(), context.clone(), move || {
            shell(options.clone())
        })
        .fallback(site::files_or_not_found(state.site.site.clone(), {
            let options = state.leptos_options.clone();
            leptos_axum::render_app_to_stream_in_order_with_context(context, move || shell(options.clone()))
        }))
        .method_not_allowed_fallback(|| async {
            ApiError::with_status(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this path")
        })
        .layer(CompressionLayer::new());
    let body_limits = state.body_limits;
    let (live_path, _, live) = live_route();
    let router = Router::new()
        .route(live_path, live)
        .merge(crate::auth::routes::router())
        .merge(pages)
        .layer(middleware::from_fn_with_state(
            state.auth.clone(),
            crate::auth::gate::gate,
        ))
        // Before the gate: it, the router and the pages see one path.
        .layer(middleware::from_fn(path::normal_path))
        .layer(DefaultBodyLimit::max(body_limits.bytes))
        .layer(middleware::from_fn_with_state(body_limits, limits::limit_body))
        .layer(middleware::from_fn_with_state(
            state.metrics.http_latency.clone(),
            record_latency,
        ))
        .layer(middleware::from_fn(headers::security_headers));
    let status = state.status.clone();
    // Before routing (a layer on the router runs after it): a status
    // host's `/` is its page.
    Router::new()
        .fallback_service(router.with_state(state))
        .layer(middleware::from_fn_with_state(
            status,
            crate::status::routes::status_host,
        ))
}

/// The live socket's route (outside the compression layer).
fn live_route() -> (&'static str, Method, MethodRouter<AppState>) {
    ("/ws", Method::GET, get(ws::handler))
}

/// The routes of this module besides the pages, server functions and
/// static files.
fn own_routes() -> Vec<(&'static str, Method, MethodRouter<AppState>)> {
    vec![
        ("/healthz", Method::GET, get(healthz)),
        ("/metrics", Method::GET, get(metrics_text)),
        ("/sw.js", Method::GET, get(service_worker)),
        ("/api/v1/checks/{name}", Method::GET, get(check_detail)),
    ]
    .into_iter()
    .chain(crate::status::routes::routes())
    .collect()
}

/// A route the router serves: its method and path (axum's syntax:
/// `{name}` for a parameter).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub method: Method,
    pub path: String,
}

/// Every route the router serves, besides static files: `/ws`, this
/// module's own, the sign-in forms, every page and every server function,
/// read from the tables [`router`] is built from.
pub fn endpoints() -> Vec<Endpoint> {
    let mut all: Vec<Endpoint> = std::iter::once(live_route())
        .chain(own_routes())
        .chain(crate::auth::routes::routes())
        .map(|(path, method, _)| Endpoint {
            method,
            path: path.to_string(),
        })
        .collect();
    for listing in page_routes() {
        for method in listing.methods() {
            let method = match method {
                leptos_router::Method::Get => Method::GET,
                leptos_router::Method::Post => Method::POST,
                leptos_router::Method::Put => Method::PUT,
                leptos_router::Method::Delete => Method::DELETE,
                leptos_router::Method::Patch => Method::PATCH,
            };
            all.push(Endpoint {
                method,
                path: listing.path().to_string(),
            });
        }
    }
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        all.push(Endpoint {
            method,
            path: path.to_string(),
        });
    }
    all.sort_by(|a, b| (&a.path, a.method.as_str()).cmp(&(&b.path, b.method.as_str())));
    all.dedup();
    all
}

/// Records how long each request took to answer, by matched route.
async fn record_latency(
    State(latency): State<prom::HttpLatency>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "(static)".to_string(), |m| m.as_str().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    latency
        .get_or_create(&prom::RouteLabel { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /healthz`: the rollup; 503 when Vigil is down. Open to anyone,
/// but only a signed-in client (or anyone while Vigil runs open) gets the
/// components and their reasons; others get the status alone.
async fn healthz(State(monitor): State<Arc<Monitor>>, principal: Option<axum::Extension<Principal>>) -> Response {
    let report = monitor.own_report();
    let status = match report.status {
        app::health::Status::Down => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    let body = match principal {
        Some(_) => Json(report).into_response(),
        None => Json(serde_json::json!({ "status": report.status })).into_response(),
    };
    (status, [(header::CACHE_CONTROL, "no-store")], body).into_response()
}

/// `GET /api/v1/checks/NAME`: one check, its history and transitions (the
/// `get_check` server function's answer, at a path that names the check).
async fn check_detail(
    State(local): State<Arc<LocalHost>>,
    principal: Option<axum::Extension<Principal>>,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Result<Json<app::checks::CheckDetail>, ApiError> {
    // The gate let it in; like the server functions, it checks for itself.
    if principal.is_none() {
        return Err(ApiError::with_status(StatusCode::UNAUTHORIZED, "sign in first"));
    }
    Ok(Json(app::checks::check_detail(&*local, &name).await?))
}

/// `GET /sw.js`: the service worker, never cached by the browser's HTTP
/// cache so that a new build is picked up on the next visit.
async fn service_worker(State(site): State<SiteFiles>) -> Response {
    match &site.service_worker {
        Some(script) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            script.to_string(),
        )
            .into_response(),
        None => {
            ApiError::with_status(StatusCode::NOT_FOUND, "no built front end, so no service worker").into_response()
        }
    }
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics_text(State(metrics): State<Metrics>) -> Response {
    match prom::encode(&metrics.registry) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::error!(%err, "encoding /metrics failed");
            ApiError::with_status(StatusCode::INTERNAL_SERVER_ERROR, "could not encode metrics").into_response()
        }
    }
}

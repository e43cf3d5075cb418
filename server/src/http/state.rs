//! What the handlers can reach: one [`AppState`] for the router, made of
//! the narrow states each handler takes instead (axum's `FromRef`): the
//! accounts and door policy, the live stream, this host's queries, the
//! fleet, the health monitor, the metrics registry, the site's files.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;

use super::prom::HttpLatency;
use crate::auth::Auth;
use crate::fleet::Fleet;
use crate::health::Monitor;
use crate::live::ws::LiveState;
use crate::local::LocalHost;

/// The router's state; every handler takes one of its parts.
#[derive(Clone, FromRef)]
pub struct AppState {
    /// Accounts, sessions and the door policy: the gate and the sign-in forms.
    pub auth: Arc<Auth>,
    /// The hub and the socket options: `/ws`.
    pub live: LiveState,
    /// What server functions query (as Leptos context), and `/api/v1/checks/NAME`.
    pub local: Arc<LocalHost>,
    /// This host and the engine's hosts (as Leptos context).
    pub fleet: Arc<Fleet>,
    /// `/healthz`.
    pub monitor: Arc<Monitor>,
    /// `/metrics` and what the latency middleware fills in.
    pub metrics: Metrics,
    /// The built front end's files and `/sw.js`.
    pub site: SiteFiles,
    pub leptos_options: LeptosOptions,
    /// Largest request body and longest time to receive it (`[server]`).
    pub body_limits: super::limits::BodyLimits,
}

/// `/metrics`: the registry, and the request latencies it encodes.
#[derive(Clone, FromRef)]
pub struct Metrics {
    pub registry: Arc<prometheus_client::registry::Registry>,
    /// Filled by the latency middleware, encoded by `registry`.
    pub http_latency: HttpLatency,
}

/// The built front end.
#[derive(Clone)]
pub struct SiteFiles {
    /// The static files.
    pub site: Arc<super::site::Site>,
    /// `/sw.js`, versioned by the build; `None` without a built site.
    pub service_worker: Option<Arc<str>>,
}

impl FromRef<AppState> for HttpLatency {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.http_latency.clone()
    }
}

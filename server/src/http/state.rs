//! What the handlers can reach: one [`AppState`] for the router, made of
//! the narrow states each handler takes instead (axum's `FromRef`): the
//! accounts and door policy, the live stream, this host's queries, the
//! fleet, the health monitor, the metrics registry, the site's files.
//!
//! The router clones its state for every request, and Leptos's server
//! function handler clones it again into each call's context: so it is one
//! `Arc` (a clone is one atomic increment), not the dozen fields and
//! strings it holds, which cost the health endpoint a fifth of its CPU.

use std::ops::Deref;
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
#[derive(Clone)]
pub(crate) struct AppState(Arc<Shared>);

impl AppState {
    pub(crate) fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Each part a handler takes is a field of [`Shared`], cloned out of it.
macro_rules! parts {
    ($($field:ident: $part:ty),* $(,)?) => {
        $(impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> Self {
                state.0.$field.clone()
            }
        })*
    };
}

parts! {
    alerts: crate::alerts::Alerts,
    auth: Arc<Auth>,
    live: LiveState,
    local: Arc<LocalHost>,
    fleet: Arc<Fleet>,
    monitor: Arc<Monitor>,
    metrics: Metrics,
    site: SiteFiles,
    leptos_options: LeptosOptions,
    status: crate::status::StatusPages,
    body_limits: super::limits::BodyLimits,
}

/// What [`AppState`] shares.
pub(crate) struct Shared {
    /// The alerts engine (as Leptos context).
    pub(crate) alerts: crate::alerts::Alerts,
    /// Accounts, sessions and the door policy: the gate and the sign-in forms.
    pub(crate) auth: Arc<Auth>,
    /// The hub and the socket options: `/ws`.
    pub(crate) live: LiveState,
    /// What server functions query (as Leptos context), and `/api/v1/checks/NAME`.
    pub(crate) local: Arc<LocalHost>,
    /// This host and the engine's hosts (as Leptos context).
    pub(crate) fleet: Arc<Fleet>,
    /// `/healthz`.
    pub(crate) monitor: Arc<Monitor>,
    /// `/metrics` and what the latency middleware fills in.
    pub(crate) metrics: Metrics,
    /// The built front end's files and `/sw.js`.
    pub(crate) site: SiteFiles,
    pub(crate) leptos_options: LeptosOptions,
    /// The status pages: `/status/…`, the incidents and reports (as Leptos context).
    pub(crate) status: crate::status::StatusPages,
    /// Largest request body and longest time to receive it (`[server]`).
    pub(crate) body_limits: super::limits::BodyLimits,
}

/// `/metrics`: the registry, and the request latencies it encodes.
#[derive(Clone, FromRef)]
pub(crate) struct Metrics {
    pub(crate) registry: Arc<prometheus_client::registry::Registry>,
    /// Filled by the latency middleware, encoded by `registry`.
    pub(crate) http_latency: HttpLatency,
}

/// The built front end.
#[derive(Clone)]
pub(crate) struct SiteFiles {
    /// The static files.
    pub(crate) site: Arc<super::site::Site>,
    /// `/sw.js`, versioned by the build; `None` without a built site.
    pub(crate) service_worker: Option<Arc<str>>,
}

impl FromRef<AppState> for HttpLatency {
    fn from_ref(state: &AppState) -> Self {
        state.metrics.http_latency.clone()
    }
}

//! What every handler can reach: one [`AppState`], cloned per request.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::Engine;
use crate::health::Monitor;
use crate::live::ws::SocketOptions;
use crate::live::Hub;

/// Shared state of the axum router.
#[derive(Clone)]
pub struct AppState {
    /// Accounts, sessions and the door policy.
    pub auth: Arc<crate::auth::Auth>,
    pub leptos_options: LeptosOptions,
    /// What server functions query (as Leptos context).
    pub engine: Arc<Engine>,
    /// This host and the engine's hosts (as Leptos context).
    pub fleet: Arc<crate::fleet::Fleet>,
    pub hub: Arc<Hub>,
    pub monitor: Arc<Monitor>,
    pub registry: Arc<prometheus_client::registry::Registry>,
    /// Filled by the latency middleware, encoded by `registry`.
    pub http_latency: super::prom::HttpLatency,
    /// `/sw.js`, versioned by the build; `None` without a built site.
    pub service_worker: Option<Arc<str>>,
    /// The built front end's static files.
    pub site: Arc<super::site::Site>,
    pub socket: SocketOptions,
    /// Largest request body and longest time to receive it (`[server]`).
    pub body_limits: super::limits::BodyLimits,
    /// Cancelled on SIGINT/SIGTERM.
    pub shutdown: CancellationToken,
    /// Client tasks that shutdown waits for.
    pub tasks: TaskTracker,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

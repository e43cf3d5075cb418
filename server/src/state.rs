//! What every handler can reach: one [`AppState`], cloned per request.

use std::sync::Arc;

use axum::extract::FromRef;
use leptos::prelude::LeptosOptions;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::engine::VigilEngine;
use crate::hub::Hub;
use crate::ws::SocketOptions;

/// Shared state of the axum router.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub engine: Arc<VigilEngine>,
    pub hub: Arc<Hub>,
    pub registry: Arc<prometheus_client::registry::Registry>,
    /// Filled by the latency middleware, encoded by `registry`.
    pub http_latency: crate::prom::HttpLatency,
    pub allowed_origins: Arc<[String]>,
    pub socket: SocketOptions,
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

//! Starting and stopping Vigil: builds the engine (hub, collectors), the axum
//! router, and serves until the shutdown token is cancelled. Shutdown stops
//! the collectors, sends every live client a close frame, and waits for them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use app::engine::SharedEngine;
use app::{shell, App};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_http::compression::CompressionLayer;

use crate::collector::{self, HostCollector};
use crate::config::Config;
use crate::engine::VigilEngine;
use crate::error::ApiError;
use crate::hub::{Hub, HubOptions};
use crate::state::AppState;
use crate::ws::{self, SocketOptions};
use crate::{prom, site};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub config: Config,
    /// Built front end; found automatically when `None`.
    pub site_root: Option<PathBuf>,
    pub socket: SocketOptions,
}

impl Options {
    pub fn new(bind: SocketAddr, data_dir: PathBuf, config: Config) -> Self {
        Options {
            bind,
            data_dir,
            config,
            site_root: None,
            socket: SocketOptions::default(),
        }
    }
}

/// Why Vigil could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {}: {source}", path.display())]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("first host sample failed: {0}")]
    Collector(std::io::Error),
}

/// A running Vigil.
pub struct Server {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Server {
    /// Binds and starts serving in the background.
    pub async fn start(options: Options) -> Result<Server, StartError> {
        let Options {
            bind,
            data_dir,
            config,
            site_root,
            socket,
        } = options;
        // Bind first: a taken port fails before anything else starts.
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .map_err(|source| StartError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr: bind, source })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "listening beyond loopback: anyone who can reach this address sees host details");
        }
        std::fs::create_dir_all(&data_dir).map_err(|source| StartError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();

        let interval = config.collector.interval;
        // Reading /proc is blocking: keep it off the async workers.
        let top = config.collector.top_processes;
        let (host_collector, host, system) = tokio::task::spawn_blocking(move || {
            let collector = HostCollector::new(top);
            let host = sysinfo::System::host_name().unwrap_or_else(|| "localhost".into());
            let system = collector.system_info();
            (collector, host, system)
        })
        .await
        .map_err(|e| StartError::Collector(std::io::Error::other(e)))?;
        let mut hub_options = HubOptions::new(host, interval, config.live.replay_window);
        hub_options.system = system;
        let hub = Hub::new(hub_options);
        let collector = collector::first_sample(host_collector, &hub)
            .await
            .map_err(StartError::Collector)?;
        tasks.spawn(collector::run(collector, hub.clone(), interval, shutdown.child_token()));
        tasks.spawn(collector::heartbeat(hub.clone(), shutdown.child_token()));

        let site_root = site_root.unwrap_or_else(site::find_root);
        if site_root.is_dir() {
            let root = site_root.clone();
            tokio::task::spawn_blocking(move || match site::precompress(&root) {
                Ok(n) => tracing::debug!(files = n, "precompressed site files"),
                Err(err) => tracing::warn!(%err, root = %root.display(), "could not precompress site files"),
            });
        } else {
            tracing::warn!(root = %site_root.display(), "no built front end found: pages render but will not hydrate");
        }

        let engine = Arc::new(VigilEngine {
            hub: hub.clone(),
            thresholds: config.thresholds.clone(),
            shutdown: shutdown.clone(),
        });
        let leptos_options = LeptosOptions::builder()
            .output_name("vigil")
            .site_root(site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(leptos::config::Env::PROD)
            .build();
        let http_latency = prom::http_latency();
        let state = AppState {
            leptos_options,
            registry: Arc::new(prom::registry(engine.clone(), http_latency.clone())),
            http_latency,
            engine,
            hub,
            allowed_origins: config.live.allowed_origins.clone().into(),
            socket,
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
        };
        let router = router(state);

        let token = shutdown.clone();
        let done = tokio::spawn(async move {
            let served = axum::serve(listener, router)
                .with_graceful_shutdown(token.clone().cancelled_owned())
                .await;
            token.cancel();
            tasks.close();
            if tokio::time::timeout(Duration::from_secs(15), tasks.wait())
                .await
                .is_err()
            {
                tracing::warn!("some live clients did not close within 15 s");
            }
            served
        });
        Ok(Server { addr, shutdown, done })
    }

    /// Begins a graceful shutdown.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped.
    pub async fn wait(self) -> std::io::Result<()> {
        self.done.await.map_err(std::io::Error::other)?
    }
}

/// The HTTP surface.
pub fn router(state: AppState) -> Router {
    let engine: SharedEngine = state.engine.clone();
    let context = move || provide_context(engine.clone());
    let options = state.leptos_options.clone();
    let pages = Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .leptos_routes_with_context(&state, generate_route_list(App), context.clone(), move || {
            shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .layer(CompressionLayer::new());
    Router::new()
        .route("/ws", get(ws::handler))
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), record_latency))
        .with_state(state)
}

/// Records how long each request took to answer, by matched route.
async fn record_latency(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.map_or_else(|| "(static)".to_string(), |m| m.as_str().to_string());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state
        .http_latency
        .get_or_create(&prom::RouteLabel { route })
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `GET /healthz`: the rollup; 503 when Vigil is down.
async fn healthz(State(state): State<AppState>) -> Response {
    let report = state.engine.health_report();
    let status = match report.status {
        app::health::Status::Down => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::OK,
    };
    (status, [(header::CACHE_CONTROL, "no-store")], Json(report)).into_response()
}

/// `GET /metrics`: Prometheus text exposition.
async fn metrics(State(state): State<AppState>) -> Response {
    match prom::encode(&state.registry) {
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
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "could not encode metrics").into_response()
        }
    }
}

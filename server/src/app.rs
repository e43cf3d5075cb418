//! The composition root: starting and stopping Vigil. Builds the sample bus,
//! the collector, the live hub and the health monitor, wires them together,
//! and serves the router until the shutdown token is cancelled. Shutdown
//! stops the collector and the tasks fed by the bus, sends every live client
//! a close frame, and waits for them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use leptos::prelude::*;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::origin::SiteNames;
use crate::auth::proxy::TrustedProxies;
use crate::collect::{self, HostCollector};
use crate::config::Config;
use crate::health::{self, Monitor};
use crate::http::state::{AppState, Metrics, Shared, SiteFiles};
use crate::http::{prom, serve, site};
use crate::live::fanout::Fanout;
use crate::live::hub::HubOptions;
use crate::live::ws::{LiveState, SocketOptions};
use crate::local::LocalHost;
use crate::signals::stats::SelfStats;
use crate::signals::{AlertsBus, HealthBus, SampleBus};
use crate::store::{History, StoreOptions, Tiers};

/// How to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub bind: SocketAddr,
    pub(crate) data_dir: PathBuf,
    pub config: Config,
    /// A built front end to serve from disk; `None` serves the one inside
    /// the binary (or `LEPTOS_SITE_ROOT` when set).
    pub site_root: Option<PathBuf>,
    pub socket: SocketOptions,
    /// Behind a reverse proxy: the proxies whose `X-Forwarded-For` /
    /// `X-Forwarded-Proto` are believed (`--trust-proxy`), besides
    /// `[server] trusted_proxies`. Any makes Vigil count as exposed.
    pub trusted_proxies: TrustedProxies,
}

impl Options {
    pub fn new(bind: SocketAddr, data_dir: PathBuf, config: Config) -> Self {
        Options {
            bind,
            data_dir,
            config,
            site_root: None,
            socket: SocketOptions::default(),
            trusted_proxies: TrustedProxies::none(),
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
    #[error("cannot start the health checks: {0}")]
    Checks(#[from] crate::checks::ChecksError),
    #[error("accounts: {0}")]
    Auth(String),
    #[error("cannot set up HTTPS: {0}")]
    Tls(#[from] serve::TlsError),
    #[error("[fleet]: {0}")]
    Fleet(String),
    #[error("cannot start the remote write: {0}")]
    RemoteWrite(#[from] crate::remote_write::RemoteWriteError),
    #[error("cannot start alerting: {0}")]
    Alerts(#[from] crate::alerts::AlertsStartError),
}

/// A running Vigil.
pub struct Server {
    /// The address actually bound (useful with port 0).
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    done: tokio::task::JoinHandle<std::io::Result<()>>,
    alerts: crate::alerts::Alerts,
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
            trusted_proxies,
        } = options;
        // Bind first: a taken port fails before anything else starts.
        let listener = listen(bind).map_err(|source| StartError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| StartError::Bind { addr: bind, source })?;
        let tls = match (&config.server.tls_cert, &config.server.tls_key) {
            (Some(cert), Some(key)) => Some(serve::tls_acceptor(cert, key)?),
            _ => None,
        };
        crate::private::create_dir(&data_dir).map_err(|source| StartError::DataDir {
            path: data_dir.clone(),
            source,
        })?;
        let auth = crate::auth::Auth::open(auth_options(&config, &data_dir, addr, &trusted_proxies, tls.is_some())?)
            .map_err(|e| StartError::Auth(e.to_string()))?;
        if !auth.options().loopback && !auth.has_accounts() {
            tracing::warn!(
                %addr,
                "exposed (beyond loopback, or behind a trusted proxy) with no account: no data is served until the first admin account is created at /setup"
            );
        }
        let shutdown = CancellationToken::new();
        let tasks = TaskTracker::new();

        let interval = config.collector.interval;
        // Reading /proc is blocking: keep it off the async workers.
        let top = config.collector.top_processes;
        let named = config.host.name.clone();
        let (host_collector, host, system) = tokio::task::spawn_blocking(move || {
            let collector = HostCollector::new(top);
            let host = named
                .or_else(sysinfo::System::host_name)
                .unwrap_or_else(|| "localhost".into());
            let system = collector.system_info();
            (collector, host, system)
        })
        .await
        .map_err(|e| StartError::Collector(std::io::Error::other(e)))?;

        let bus = SampleBus::new();
        let checks = crate::checks::start(&config.checks, shutdown.child_token(), &tasks)?;
        // The sinks that keep everything subscribe before the first sample,
        // so history (and the push) start with it.
        let history = History::start(
            StoreOptions {
                data_dir: data_dir.clone(),
                tiers: Tiers::configured(interval, &config.history),
                interval,
                max_bytes: (config.history.max_size_mib > 0).then(|| config.history.max_size_mib * 1024 * 1024),
            },
            bus.subscribe(),
            checks.subscribe(),
            shutdown.child_token(),
            &tasks,
        );
        let remote_write = match &config.remote_write {
            Some(rw) => Some(crate::remote_write::start(
                rw,
                host.clone(),
                interval,
                bus.subscribe(),
                checks.subscribe(),
                shutdown.child_token(),
                &tasks,
            )?),
            None => None,
        };
        let recent = Arc::new(crate::checks::recent::Recent::default());
        tasks.spawn(crate::checks::recent::keep(
            recent.clone(),
            checks.subscribe(),
            shutdown.child_token(),
        ));
        let stats = SelfStats {
            live: Arc::default(),
            store: history.stats.clone(),
            remote_write,
        };

        let collector = collect::first_sample(host_collector, &bus)
            .await
            .map_err(StartError::Collector)?;
        // The first page must show real values: the health rollup and the
        // live stream start from the first sample, before serving.
        let monitor = Arc::new(Monitor {
            bus: bus.clone(),
            stats: stats.clone(),
            checks: checks.clone(),
            thresholds: config.thresholds.clone(),
            interval,
            shutdown: shutdown.clone(),
        });
        let reports = HealthBus::new();
        health::start(monitor.clone(), reports.clone(), shutdown.child_token(), &tasks);
        let alerts_bus = AlertsBus::new();
        let alerts = crate::alerts::start(
            crate::alerts::Settings::of(&config),
            host.clone(),
            &data_dir,
            crate::alerts::Sources {
                samples: &bus,
                checks: &checks,
                health: &reports,
                alerts: &alerts_bus,
            },
            shutdown.child_token(),
            &tasks,
        )?;
        tasks.spawn(crate::alerts::forecast::run(
            alerts.clone(),
            Arc::new(HistoryPast(history.clone())),
            bus.clone(),
            shutdown.child_token(),
        ));
        let mut hub_options = HubOptions::new(host.clone(), interval, config.live.replay_window);
        hub_options.system = system.clone();
        let hub = crate::live::start(
            hub_options,
            stats.live.clone(),
            (&bus, &reports, &checks, &alerts_bus),
            shutdown.clone(),
            &tasks,
        );
        tasks.spawn(collect::run(
            collector,
            bus.clone(),
            stats,
            interval,
            shutdown.child_token(),
        ));

        let site = site::Site::resolve(site_root);
        if site.is_built() {
            tracing::debug!(site = %site.describe(), "serving the built front end");
        } else {
            tracing::warn!(site = %site.describe(), "no built front end: pages render but will not hydrate");
        }
        // A site directory is read from disk: keep that off the async workers.
        let sw_site = site.clone();
        let service_worker = tokio::task::spawn_blocking(move || sw_site.service_worker())
            .await
            .ok()
            .flatten()
            .map(Arc::from);

        let local = Arc::new(LocalHost {
            hub: hub.clone(),
            bus: bus.clone(),
            monitor: monitor.clone(),
            history,
            checks,
            recent,
            uptimes: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(crate::local::UPTIME_TTL)
                .build(),
        });
        let leptos_options = LeptosOptions::builder()
            .output_name("vigil")
            .site_pkg_dir("pkg")
            .site_addr(addr)
            .env(leptos::config::Env::PROD)
            .build();
        let http_latency = prom::http_latency();
        tasks.spawn(tidy_auth(auth.clone(), shutdown.child_token()));
        let connections = Arc::new(serve::Connections::new(serve::max_connections(
            config.server.max_connections,
        )));
        let fleet = Arc::new(crate::fleet::Fleet {
            local_name: host,
            local: local.clone(),
            thresholds: config.thresholds.clone(),
            engine: config
                .fleet
                .as_ref()
                .map(crate::fleet::hosts::FleetEngine::start)
                .transpose()
                .map_err(|e| StartError::Fleet(e.to_string()))?,
        });
        if fleet.engine.is_some() {
            tasks.spawn(crate::alerts::fleet::run(
                alerts.clone(),
                fleet.clone(),
                config.alerting.fleet_every,
                shutdown.child_token(),
            ));
        }
        let status = crate::status::start(
            config.status_pages.clone(),
            config.checks.iter().map(|c| (c.name.clone(), c.slo)).collect(),
            &data_dir,
            crate::status::Sources {
                checks: local.checks.clone(),
                history: local.history.clone(),
                alerts: alerts.clone(),
            },
            shutdown.child_token(),
            &tasks,
        )
        .await;
        let exempt_proxies = auth.options().proxies.clone();
        let state = AppState::new(Shared {
            status,
            alerts: alerts.clone(),
            fleet,
            auth,
            leptos_options,
            metrics: Metrics {
                registry: Arc::new(prom::registry(
                    bus,
                    monitor.clone(),
                    local.checks.clone(),
                    system,
                    http_latency.clone(),
                    connections.clone(),
                    alerts.clone(),
                )),
                http_latency,
            },
            local,
            live: LiveState {
                // One shard per worker thread: each frame is written by all
                // of them at once.
                fanout: Fanout::start(
                    hub,
                    socket,
                    tokio::runtime::Handle::current().metrics().num_workers(),
                    shutdown.clone(),
                    tasks.clone(),
                ),
            },
            monitor,
            site: SiteFiles {
                site: Arc::new(site),
                service_worker,
            },
            body_limits: crate::http::limits::BodyLimits {
                bytes: config.server.body_limit_kib * 1024,
                time: config.server.body_timeout,
            },
        });
        let router = crate::http::router(state);

        let serve_options = serve::ServeOptions {
            header_timeout: config.server.header_timeout,
            idle_timeout: config.server.idle_timeout,
            tls,
            max_per_address: config.server.max_connections_per_address,
            exempt: exempt_proxies,
        };
        let token = shutdown.clone();
        let done = tokio::spawn(async move {
            let served = serve::serve(listener, router, serve_options, connections, token.clone()).await;
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
        Ok(Server {
            addr,
            shutdown,
            done,
            alerts,
        })
    }

    /// The alerts engine, to reload its config (SIGHUP).
    pub fn alerts(&self) -> &crate::alerts::Alerts {
        &self.alerts
    }

    /// Begins a graceful shutdown.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the server has stopped.
    pub async fn wait(mut self) -> std::io::Result<()> {
        (&mut self.done).await.map_err(std::io::Error::other)?
    }
}

/// A server dropped without [`Server::wait`] shuts down (gracefully, in the
/// background) instead of serving on unowned.
impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Fill forecasts read the history store: each bucket's average over the
/// forecast window, at most one point a minute.
struct HistoryPast(Arc<History>);

impl crate::alerts::forecast::Past for HistoryPast {
    fn points(&self, series: &str, from: i64, to: i64) -> Vec<(i64, f64)> {
        let points = ((to - from) / 60_000).clamp(1, 4_000) as u32;
        match self.0.range(series, app::metrics::Unit::Percent, from, to, points, to) {
            Ok(Some(range)) => range.points.iter().map(|p| (p.t(), p.min_max_avg().2)).collect(),
            Ok(None) => Vec::new(),
            Err(e) => {
                tracing::debug!(%series, error = %e, "no history for a forecast");
                Vec::new()
            }
        }
    }
}

/// The databases a data dir holds: the history store, the accounts and
/// the alerts.
pub const DATA_FILES: [&str; 4] = [
    crate::store::FILE_NAME,
    crate::auth::store::FILE_NAME,
    crate::alerts::store::FILE_NAME,
    crate::status::incidents::FILE_NAME,
];

/// Copies a data dir's databases into the new directory `to` while a
/// server may be running (`vigil backup`); see [`crate::store::backup`].
pub fn backup_data_dir(
    data_dir: &std::path::Path,
    to: &std::path::Path,
) -> Result<Vec<crate::store::backup::CopiedFile>, crate::store::backup::BackupError> {
    crate::store::backup::backup_files(data_dir, to, &DATA_FILES)
}

/// The account policy from the config, with secrets read from their files
/// or the environment.
fn auth_options(
    config: &Config,
    data_dir: &std::path::Path,
    addr: SocketAddr,
    trusted_proxies: &TrustedProxies,
    tls: bool,
) -> Result<crate::auth::AuthOptions, StartError> {
    let proxies = TrustedProxies::parse(&config.server.trusted_proxies)
        .map_err(|e| StartError::Auth(format!("server.trusted_proxies: {e}")))?
        .merged(trusted_proxies);
    let names = SiteNames::new(&config.server.hostnames, &config.live.allowed_origins);
    let config = &config.auth;
    let secret = |file: &Option<PathBuf>, env: &str, what: &str| -> Result<Option<String>, StartError> {
        if let Some(path) = file {
            return crate::private::read_secret(path)
                .map(Some)
                .map_err(|e| StartError::Auth(format!("cannot read the {what} from {}: {e}", path.display())));
        }
        Ok(std::env::var(env).ok().filter(|v| !v.is_empty()))
    };
    let metrics_token = secret(&config.metrics_token_file, "VIGIL_METRICS_TOKEN", "metrics token")?;
    let bootstrap_admin = match &config.admin_user {
        Some(name) => {
            let password =
                secret(&config.admin_password_file, "VIGIL_ADMIN_PASSWORD", "admin password")?.ok_or_else(|| {
                    StartError::Auth(format!(
                        "auth.admin_user = {name:?} needs auth.admin_password_file or $VIGIL_ADMIN_PASSWORD"
                    ))
                })?;
            Some((name.clone(), password))
        }
        None => None,
    };
    Ok(crate::auth::AuthOptions {
        data_dir: data_dir.to_path_buf(),
        // Behind a proxy, loopback is where the proxy connects from, not
        // who the clients are: such a Vigil is exposed, and never runs open.
        loopback: addr.ip().is_loopback() && proxies.is_empty(),
        session_ttl: config.session_ttl,
        attempts_per_minute: config.attempts_per_minute,
        metrics_token,
        bootstrap_admin,
        secure_cookies: tls,
        proxies,
        names,
    })
}

/// Forgets expired sessions and quiet rate-limit entries once a minute.
async fn tidy_auth(auth: Arc<crate::auth::Auth>, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            _ = every.tick() => auth.tidy(),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// Most connections the kernel queues before Vigil accepts them. tokio's
/// `TcpListener::bind` asks for 128: when a restarted server is met by
/// thousands of pages at once, the rest of the burst would be dropped and
/// wait out a one-second SYN retry. (The kernel caps it at `somaxconn`.)
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` as `TcpListener::bind` does (`SO_REUSEADDR`, so a restart
/// does not wait out old connections), with a deeper accept queue.
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

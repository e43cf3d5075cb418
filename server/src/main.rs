//! The `vigil` binary: parses the command line, loads the config, runs the
//! server until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;
use vigil::config::Config;
use vigil::{Options, Server};

/// Self-hosted, real-time health and metrics dashboard.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about)]
struct Cli {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// Where Vigil keeps its data.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// TOML config file; without one Vigil watches this host with defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Behind a reverse proxy: take the client address and scheme from
    /// X-Forwarded-For and X-Forwarded-Proto.
    #[arg(long)]
    trust_proxy: bool,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    let cli = Cli::parse();
    let config = match &cli.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(err) => {
                tracing::error!("invalid config: {err}");
                return ExitCode::from(2);
            }
        },
        None => Config::default(),
    };
    // Every live client holds a socket: allow as many as the hard limit does.
    if let Err(err) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%err, "could not raise the open-file limit");
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            tracing::error!(%err, "cannot start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let mut options = Options::new(cli.bind, cli.data_dir, config);
    options.trust_proxy = cli.trust_proxy;
    let code = runtime.block_on(run(options));
    // Do not wait for leftover blocking work (e.g. precompressing assets).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run(options: Options) -> ExitCode {
    let server = match Server::start(options).await {
        Ok(server) => server,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!("Vigil is serving on http://{}", server.addr);
    shutdown_signal().await;
    tracing::info!("shutting down");
    server.shutdown();
    match server.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(%err, "server stopped with an error");
            ExitCode::FAILURE
        }
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let ctrl_c = tokio::signal::ctrl_c();
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = ctrl_c.await;
        }
    }
}

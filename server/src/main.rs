//! The `vigil` binary: parses the command line and runs one command.
//!
//! - no subcommand: load the config and serve until SIGINT or SIGTERM;
//!   SIGHUP reloads the alerting sections of the config file;
//! - `check-config FILE`: validate a config file and summarise it;
//! - `notify-test NAME --config FILE`: send a test message through a channel;
//! - `backup --data-dir DIR --to FILE`: copy the databases online.
//!
//! Subcommands print their result for people on stdout (errors on stderr);
//! the server logs through `tracing`, as text or as JSON lines.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use tracing_subscriber::EnvFilter;
use vigil::auth::proxy::TrustedProxies;
use vigil::config::Config;
use vigil::{Options, Server};

/// See `mimalloc` in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Self-hosted, real-time health and metrics dashboard.
#[derive(Debug, Parser)]
#[command(name = "vigil", version, about, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    /// Log format: `text` for people, `json` (one object per line) for log collectors.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

/// Flags of the server itself (no subcommand).
#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    bind: SocketAddr,
    /// Where Vigil keeps its data.
    #[arg(long, default_value = "./data")]
    data_dir: PathBuf,
    /// TOML config file; without one Vigil watches this host with defaults.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Behind a reverse proxy: believe X-Forwarded-For and
    /// X-Forwarded-Proto from these proxies (addresses or networks, comma
    /// separated: 127.0.0.1, 10.0.0.0/8, [::1]:8080); from anyone else
    /// they are ignored. Alone, the flag trusts a proxy on this machine
    /// (127.0.0.0/8 and ::1). Any trusted proxy makes Vigil count as
    /// exposed: it never runs open.
    #[arg(
        long,
        value_name = "ADDR",
        num_args = 0..,
        value_delimiter = ',',
        value_parser = vigil::auth::proxy::parse_entry
    )]
    trust_proxy: Option<Vec<ipnet::IpNet>>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Checks a config file: prints a summary and exits 0, or prints the
    /// error (file:line:column: key: message) and exits 2.
    CheckConfig {
        /// The TOML file to check.
        file: PathBuf,
    },
    /// Sends a test message through the `[[notify]]` channel NAME of the
    /// config file, once, and says how it went (exit 0 if delivered).
    NotifyTest {
        /// The channel's name (as on the alerts page).
        name: String,
        /// The TOML config file that declares it.
        #[arg(long)]
        config: PathBuf,
    },
    /// Copies the data dir's databases (history, accounts, alerts) into the new
    /// directory DIR while a server may be running and writing to them
    /// (SQLite's online backup); DIR can serve as a data dir as it is.
    Backup {
        /// The data directory of the server to back up.
        #[arg(long, default_value = "./data")]
        data_dir: PathBuf,
        /// Where to write the copy: a new or empty directory.
        #[arg(long)]
        to: PathBuf,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Exit code of an unusable config file (as for `--config`).
const BAD_CONFIG: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    match cli.command {
        None => serve(cli.serve),
        Some(Command::CheckConfig { file }) => check_config(&file),
        Some(Command::Backup { data_dir, to }) => backup(&data_dir, &to),
        Some(Command::NotifyTest { name, config }) => notify_test(&name, &config),
    }
}

fn notify_test(name: &str, file: &Path) -> ExitCode {
    let config = match Config::load(file) {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            return ExitCode::from(BAD_CONFIG);
        }
    };
    let host = config
        .host
        .name
        .clone()
        .or_else(sysinfo::System::host_name)
        .unwrap_or_else(|| "localhost".into());
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(vigil::alerts::notify_test(&config, name, &host)) {
        Ok(d) if d.ok => {
            println!("delivered to {name}: {}", d.detail);
            ExitCode::SUCCESS
        }
        Ok(d) => {
            eprintln!("not delivered to {name}: {}", d.detail);
            ExitCode::FAILURE
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(BAD_CONFIG)
        }
    }
}

/// Logs to stdout, filtered by `RUST_LOG` (default `info`).
fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .init(),
    }
}

fn check_config(file: &Path) -> ExitCode {
    match Config::load(file) {
        Ok(config) => {
            println!("ok: {}", file.display());
            println!("{}", summary(&config));
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("{err}");
            ExitCode::from(BAD_CONFIG)
        }
    }
}

/// One line on what a valid config sets up.
fn summary(config: &Config) -> String {
    let h = &config.history;
    let mut line = format!(
        "{} checks, {} alert rules, {} notify channels, sampling every {}, history raw {} / minute {} / hour {}",
        config.checks.len(),
        vigil::alerts::config::rule_count(&config.alerts, &config.alerting, config.fleet.is_some()),
        config.notify.len(),
        short(config.collector.interval),
        short(h.raw_retention),
        short(h.minute_retention),
        short(h.hour_retention),
    );
    if let Some(name) = &config.host.name {
        line.push_str(&format!("; host {name:?}"));
    }
    if let Some(rw) = &config.remote_write {
        line.push_str(&format!(
            "; pushing to {} every {}",
            vigil::outbound::redact_url(&rw.url),
            short(rw.interval)
        ));
    }
    if let Some(fleet) = &config.fleet {
        line.push_str(&format!(
            "; fleet from {}",
            vigil::outbound::redact_url(&fleet.prometheus)
        ));
    }
    line
}

/// A duration in its largest whole unit ("90d", "6h", "10s"), as a config
/// file would write it; humantime's form for anything finer.
fn short(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if d.subsec_nanos() != 0 || secs == 0 {
        return humantime::format_duration(d).to_string();
    }
    let (unit, suffix) = [(86_400, "d"), (3600, "h"), (60, "m")]
        .into_iter()
        .find(|(unit, _)| secs.is_multiple_of(*unit))
        .unwrap_or((1, "s"));
    format!("{}{suffix}", secs / unit)
}

fn backup(data_dir: &Path, to: &Path) -> ExitCode {
    match vigil::app::backup_data_dir(data_dir, to) {
        Ok(copied) => {
            for file in copied {
                println!(
                    "backed up {} ({} pages, {} bytes) to {} in {} ms",
                    file.name,
                    file.report.pages,
                    file.report.bytes,
                    to.join(file.name).display(),
                    file.report.took.as_millis()
                );
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("backup failed: {err}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> ExitCode {
    let config = match &args.config {
        Some(path) => match Config::load(path) {
            Ok(config) => config,
            Err(err) => {
                tracing::error!("invalid config: {err}");
                return ExitCode::from(BAD_CONFIG);
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
    let config_path = args.config.clone();
    let mut options = Options::new(args.bind, args.data_dir, config);
    options.trusted_proxies = match args.trust_proxy {
        None => TrustedProxies::none(),
        Some(networks) if networks.is_empty() => TrustedProxies::loopback(),
        Some(networks) => TrustedProxies::new(networks),
    };
    let code = runtime.block_on(run(options, config_path));
    // Do not wait for leftover blocking work (a collector tick, say).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    code
}

async fn run(options: Options, config_path: Option<PathBuf>) -> ExitCode {
    let server = match Server::start(options).await {
        Ok(server) => server,
        Err(err) => {
            tracing::error!("{err}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %server.addr, "Vigil is serving on http://{}", server.addr);
    let reloads = tokio::spawn(reload_on_hangup(server.alerts().clone(), config_path));
    let settled = tokio::spawn(release_start_up_pages());
    shutdown_signal().await;
    reloads.abort();
    settled.abort();
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

/// Once start-up is over (the first samples, check rounds and pages are
/// behind it), hands the binary's pages back to the kernel: the code an
/// idle server keeps running comes back on its next use, the rest (most
/// of 20-odd MB) stays out. See `vigil::footprint`.
async fn release_start_up_pages() {
    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    match tokio::task::spawn_blocking(vigil::footprint::release_code_pages).await {
        Ok(Ok(bytes)) => tracing::debug!(bytes, "released the binary's start-up pages"),
        Ok(Err(err)) => tracing::debug!(%err, "could not release the binary's start-up pages"),
        Err(_) => {}
    }
}

/// SIGHUP: reads the config file again and, when it is valid, replaces
/// the alert rules, channels, routes and windows; a bad file keeps the
/// running config, and the log and the alerts page say why. Other
/// sections take effect at the next start.
async fn reload_on_hangup(alerts: vigil::alerts::Alerts, path: Option<PathBuf>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    while hangups.recv().await.is_some() {
        let Some(path) = &path else {
            tracing::warn!("SIGHUP: no --config file to reload");
            continue;
        };
        let file = path.clone();
        let loaded = tokio::task::spawn_blocking(move || Config::load(&file)).await;
        match loaded {
            Ok(Ok(config)) => match alerts.reload(vigil::alerts::Settings::of(&config)) {
                Ok(()) => tracing::info!(
                    path = %path.display(),
                    "config reloaded: alert rules, channels and maintenance windows replaced (other sections take effect at restart)"
                ),
                Err(err) => {
                    tracing::error!(path = %path.display(), %err, "config not reloaded; the running config stays")
                }
            },
            Ok(Err(err)) => {
                tracing::error!("config not reloaded; the running config stays: {err}");
                alerts.reload_failed(err.to_string());
            }
            Err(err) => tracing::error!(%err, "config reload failed"),
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

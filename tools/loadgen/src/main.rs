//! `vigil-load`: WebSocket load and footprint measurement for the Vigil server.
//!
//! Only loopback targets are accepted. See `vigil-load --help`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use vigil_load::floor::{self, FloorConfig};
use vigil_load::herd::{self, HerdConfig};
use vigil_load::idle::{self, IdleConfig, PidTarget};
use vigil_load::ws::{self, WsConfig};

#[derive(Parser, Debug)]
#[command(
    name = "vigil-load",
    version,
    about = "Load and footprint measurement for the Vigil server (loopback only)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Open many WebSocket clients and measure sample delivery lag.
    Ws(WsArgs),
    /// Sample RSS and CPU of a few idle processes side by side.
    Idle(IdleArgs),
    /// Serve a minimal WebSocket stream: the floor Vigil's fan-out is compared with.
    Floor(FloorArgs),
    /// Connect clients, then measure how they come back after one server restart.
    Herd(HerdArgs),
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 2m, 500ms)"))
}

#[derive(Args, Debug)]
struct WsArgs {
    /// WebSocket URL (must be a loopback host).
    #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
    url: String,
    /// Number of concurrent clients.
    #[arg(long, short = 'n')]
    clients: usize,
    /// Measurement window after all clients have connected.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    duration: Duration,
    /// Maximum number of handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// Per-client connect + handshake timeout.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Per-client timeout for the closing handshake at the end.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    close_timeout: Duration,
    /// PID of the server, to sample its RSS and CPU during the window.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
    /// Worker threads for the client runtime (default: number of cores).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(Args, Debug)]
struct IdleArgs {
    /// Process to sample, as LABEL=PID. Repeat for several processes.
    #[arg(long = "pid", value_name = "LABEL=PID", required = true, value_parser = idle::parse_pid_target)]
    pids: Vec<PidTarget>,
    /// How long to sample, in seconds.
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Time between samples.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct FloorArgs {
    /// Address to listen on (a loopback address only).
    #[arg(long, value_parser = parse_bind)]
    bind: SocketAddr,
    /// Time between two `sample` frames (Vigil's collector interval).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    interval: Duration,
    /// Length of each `sample` frame's JSON text; match it to Vigil's
    /// (`ws` reports it as "mean B").
    #[arg(long, default_value_t = floor::DEFAULT_FRAME_BYTES)]
    frame_bytes: usize,
    /// Client shards, each written by one task (default: one per worker thread).
    #[arg(long)]
    shards: Option<usize>,
    /// Frames a client may fall behind (send buffer full) before it is dropped.
    #[arg(long, default_value_t = 8)]
    max_backlog: usize,
    /// Worker threads (default: number of cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print the report (when stopped) as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct HerdArgs {
    /// WebSocket URL (must be a loopback host).
    #[arg(long, default_value = "ws://127.0.0.1:3000/ws")]
    url: String,
    /// Number of clients.
    #[arg(long, short = 'n')]
    clients: usize,
    /// How long after the server went away the clients have to come back.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    max_wait: Duration,
    /// How long to wait, once connected, for the server to go away.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    restart_timeout: Duration,
    /// Write this file once the clients are connected (restart the server then).
    #[arg(long, value_name = "FILE")]
    ready_file: Option<PathBuf>,
    /// Maximum number of initial handshakes in flight at once.
    #[arg(long, default_value_t = 200)]
    connect_concurrency: usize,
    /// One connection attempt: TCP connect, handshake and first frame.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    connect_timeout: Duration,
    /// Time between two probe connects looking for the restarted server.
    #[arg(long, default_value = "10ms", value_parser = parse_duration)]
    probe_every: Duration,
    /// Print the report as one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Also write the JSON report to this file.
    #[arg(long, value_name = "FILE")]
    json_out: Option<PathBuf>,
    /// Worker threads for the client runtime (default: number of cores).
    #[arg(long)]
    threads: Option<usize>,
}

fn parse_bind(s: &str) -> Result<SocketAddr, String> {
    vigil_load::target::parse_loopback_bind(s).map_err(|e| format!("{e:#}"))
}

/// Raises the soft RLIMIT_NOFILE to the hard limit and returns the new soft limit.
fn raise_nofile_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            eprintln!("[vigil-load] warning: could not raise RLIMIT_NOFILE: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE).ok().map(|(soft, _)| soft)
        }
    }
}

/// Exit status after an interrupted (Ctrl-C) run, as a shell would report SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

fn run_ws(args: WsArgs) -> Result<ExitCode> {
    // Fail fast on a bad target before touching limits or spawning anything.
    vigil_load::target::parse_loopback_ws_url(&args.url)?;
    anyhow::ensure!(args.clients > 0, "--clients must be at least 1");

    let nofile = raise_nofile_limit();
    if let Some(limit) = nofile {
        eprintln!("[vigil-load] RLIMIT_NOFILE soft limit is {limit}");
        // One descriptor per client plus a few for stdio, /proc reads and the runtime.
        let needed = args.clients as u64 + 32;
        if needed > limit {
            eprintln!(
                "[vigil-load] warning: {} clients need about {needed} file descriptors but the limit is {limit}; \
                 expect connect failures (raise the hard limit with `ulimit -Hn` as root)",
                args.clients
            );
        }
    }

    let runtime = runtime(args.threads)?;

    let cfg = WsConfig {
        url: args.url,
        clients: args.clients,
        duration: args.duration,
        connect_concurrency: args.connect_concurrency.max(1),
        connect_timeout: args.connect_timeout,
        close_timeout: args.close_timeout,
        server_pid: args.server_pid,
        nofile_limit: nofile,
        progress: true,
    };
    let report = runtime.block_on(ws::run(cfg))?;
    // Anything still running (there should be nothing) must not keep us alive.
    runtime.shutdown_timeout(Duration::from_secs(2));

    emit(&report, args.json, args.json_out.as_deref(), ws::render_text)?;
    // Report what was measured, but let callers (scripts) know the run was cut short.
    Ok(if report.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Resolves when the process gets SIGINT (Ctrl-C) or SIGTERM (what the
/// bench scripts' `stop_pid` sends).
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

fn run_floor(args: FloorArgs) -> Result<ExitCode> {
    anyhow::ensure!(!args.interval.is_zero(), "--interval must be above zero");
    anyhow::ensure!(args.max_backlog > 0, "--max-backlog must be at least 1");
    if let Some(limit) = raise_nofile_limit() {
        eprintln!("[vigil-load floor] RLIMIT_NOFILE soft limit is {limit}");
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("starting runtime")?;
    let cfg = FloorConfig {
        interval: args.interval,
        frame_bytes: args.frame_bytes,
        shards: args.shards.unwrap_or(threads).max(1),
        max_backlog: args.max_backlog,
        progress: true,
        ..FloorConfig::default()
    };
    let report = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.bind)
            .await
            .with_context(|| format!("listening on {}", args.bind))?;
        eprintln!(
            "[vigil-load floor] listening on {}: {} B sample frames every {}, {} shards on {threads} threads",
            args.bind,
            cfg.frame_bytes,
            humantime::format_duration(cfg.interval),
            cfg.shards
        );
        floor::serve(listener, cfg, stop_signal()).await
    })?;
    runtime.shutdown_timeout(Duration::from_secs(2));
    emit(&report, args.json, args.json_out.as_deref(), floor::render_text)?;
    Ok(ExitCode::SUCCESS)
}

fn run_herd(args: HerdArgs) -> Result<ExitCode> {
    vigil_load::target::parse_loopback_ws_url(&args.url)?;
    anyhow::ensure!(args.clients > 0, "--clients must be at least 1");
    anyhow::ensure!(!args.probe_every.is_zero(), "--probe-every must be above zero");
    let nofile = raise_nofile_limit();
    if let Some(limit) = nofile {
        eprintln!("[vigil-load herd] RLIMIT_NOFILE soft limit is {limit}");
        // Each client briefly holds two sockets while its old one closes.
        let needed = args.clients as u64 + 64;
        if needed > limit {
            eprintln!(
                "[vigil-load herd] warning: {} clients need about {needed} file descriptors but the limit is {limit}",
                args.clients
            );
        }
    }
    if let Some(path) = &args.ready_file {
        // A stale file from an earlier run would say "ready" too early.
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("removing the old ready file {}", path.display())),
        }
    }
    let runtime = runtime(args.threads)?;
    let cfg = HerdConfig {
        max_wait: args.max_wait,
        restart_timeout: args.restart_timeout,
        connect_concurrency: args.connect_concurrency.max(1),
        connect_timeout: args.connect_timeout,
        probe_every: args.probe_every,
        ready_file: args.ready_file,
        nofile_limit: nofile,
        progress: true,
        ..HerdConfig::new(args.url, args.clients)
    };
    let report = runtime.block_on(herd::run(cfg))?;
    runtime.shutdown_timeout(Duration::from_secs(2));
    emit(&report, args.json, args.json_out.as_deref(), herd::render_text)?;
    Ok(if report.interrupted {
        ExitCode::from(EXIT_INTERRUPTED)
    } else {
        ExitCode::SUCCESS
    })
}

fn run_idle(args: IdleArgs) -> Result<ExitCode> {
    let cfg = IdleConfig {
        targets: args.pids,
        duration: Duration::from_secs(args.seconds),
        interval: args.interval,
        progress: true,
    };
    let report = idle::run(&cfg)?;
    emit(&report, args.json, args.json_out.as_deref(), idle::render_text)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints the report (text or JSON) and optionally saves the JSON form.
fn emit<R: serde::Serialize>(report: &R, json: bool, json_out: Option<&Path>, render: fn(&R) -> String) -> Result<()> {
    let encoded = serde_json::to_string(report)?;
    if json {
        println!("{encoded}");
    } else {
        print!("{}", render(report));
    }
    if let Some(path) = json_out {
        std::fs::write(path, format!("{encoded}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ws(a) => run_ws(a),
        Command::Idle(a) => run_idle(a),
        Command::Floor(a) => run_floor(a),
        Command::Herd(a) => run_herd(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigil-load: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A multi-threaded runtime with `threads` workers (tokio's default, one
/// per core, when `None`).
fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(t) = threads {
        builder.worker_threads(t.max(1));
    }
    builder.build().context("starting runtime")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parses_ws_and_idle_arguments() {
        let cli = Cli::try_parse_from([
            "vigil-load",
            "ws",
            "--url",
            "ws://127.0.0.1:3900/ws",
            "--clients",
            "1000",
            "--duration",
            "30s",
            "--server-pid",
            "42",
            "--json",
        ])
        .unwrap();
        let Command::Ws(ws) = cli.command else {
            panic!("expected ws");
        };
        assert_eq!(ws.clients, 1000);
        assert_eq!(ws.duration, Duration::from_secs(30));
        assert_eq!(ws.connect_concurrency, 200);
        assert_eq!(ws.server_pid, Some(42));
        assert!(ws.json);

        let cli = Cli::try_parse_from([
            "vigil-load",
            "idle",
            "--pid",
            "vigil=10",
            "--pid",
            "glances=20",
            "--interval",
            "500ms",
        ])
        .unwrap();
        let Command::Idle(idle) = cli.command else {
            panic!("expected idle");
        };
        assert_eq!(idle.pids.len(), 2);
        assert_eq!(idle.pids[1].label, "glances");
        assert_eq!(idle.seconds, 60);
        assert_eq!(idle.interval, Duration::from_millis(500));

        let cli = Cli::try_parse_from([
            "vigil-load",
            "floor",
            "--bind",
            "127.0.0.1:3901",
            "--frame-bytes",
            "900",
        ])
        .unwrap();
        let Command::Floor(fl) = cli.command else {
            panic!("expected floor");
        };
        assert_eq!(fl.bind, "127.0.0.1:3901".parse().unwrap());
        assert_eq!(fl.frame_bytes, 900);
        assert_eq!(fl.interval, Duration::from_secs(1));
        assert_eq!(fl.max_backlog, 8);
        assert!(Cli::try_parse_from(["vigil-load", "floor", "--bind", "0.0.0.0:3901"]).is_err());
        assert!(Cli::try_parse_from(["vigil-load", "floor"]).is_err());

        let cli = Cli::try_parse_from([
            "vigil-load",
            "herd",
            "--url",
            "ws://127.0.0.1:3940/ws",
            "--clients",
            "200",
            "--ready-file",
            "/tmp/ready",
        ])
        .unwrap();
        let Command::Herd(h) = cli.command else {
            panic!("expected herd");
        };
        assert_eq!(h.clients, 200);
        assert_eq!(h.max_wait, Duration::from_secs(60));
        assert_eq!(h.probe_every, Duration::from_millis(10));
        assert_eq!(h.ready_file.as_deref(), Some(Path::new("/tmp/ready")));
        assert!(Cli::try_parse_from(["vigil-load", "herd", "--url", "ws://127.0.0.1:1/ws"]).is_err());

        assert!(Cli::try_parse_from(["vigil-load", "idle"]).is_err());
        assert!(Cli::try_parse_from(["vigil-load", "idle", "--pid", "nopid"]).is_err());
        assert!(Cli::try_parse_from(["vigil-load", "ws", "--clients", "1", "--duration", "soon"]).is_err());
    }
}

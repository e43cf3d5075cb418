//! `vigil-load`: WebSocket load and footprint measurement for the Vigil server.
//!
//! Only loopback targets are accepted. See `vigil-load --help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

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

    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if let Some(t) = args.threads {
        builder.worker_threads(t.max(1));
    }
    let runtime = builder.build().context("starting runtime")?;

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
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("vigil-load: error: {e:#}");
            ExitCode::FAILURE
        }
    }
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

        assert!(Cli::try_parse_from(["vigil-load", "idle"]).is_err());
        assert!(Cli::try_parse_from(["vigil-load", "idle", "--pid", "nopid"]).is_err());
        assert!(Cli::try_parse_from(["vigil-load", "ws", "--clients", "1", "--duration", "soon"]).is_err());
    }
}

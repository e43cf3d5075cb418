//! `vigil-load idle`: RSS and CPU of a few processes, sampled side by side.

use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use serde::Serialize;

use crate::procfs::{self, CpuTicks};
use crate::stats;

/// One `--pid LABEL=PID` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PidTarget {
    pub label: String,
    pub pid: u32,
}

/// Parses `LABEL=PID`.
pub fn parse_pid_target(s: &str) -> Result<PidTarget, String> {
    let (label, pid) = s
        .split_once('=')
        .ok_or_else(|| format!("expected LABEL=PID, got {s:?}"))?;
    let label = label.trim();
    if label.is_empty() {
        return Err(format!("empty label in {s:?}"));
    }
    let pid: u32 = pid.trim().parse().map_err(|_| format!("invalid pid in {s:?}"))?;
    if pid == 0 {
        return Err(format!("invalid pid in {s:?}"));
    }
    Ok(PidTarget {
        label: label.to_string(),
        pid,
    })
}

/// Settings for one `idle` run.
#[derive(Debug, Clone)]
pub struct IdleConfig {
    pub targets: Vec<PidTarget>,
    pub duration: Duration,
    pub interval: Duration,
    pub progress: bool,
}

/// Usage of one process over the window.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcessUsage {
    pub label: String,
    pub pid: u32,
    pub comm: String,
    pub rss_median_mib: Option<f64>,
    pub rss_peak_mib: Option<f64>,
    pub rss_samples: usize,
    /// Mean CPU over the window, percent of one core.
    pub cpu_percent: Option<f64>,
    pub window_secs: f64,
    pub error: Option<String>,
}

/// first / second, when exactly two processes were sampled.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UsageRatio {
    pub first: String,
    pub second: String,
    pub rss_median: Option<f64>,
    pub cpu: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IdleReport {
    pub seconds: f64,
    pub interval_secs: f64,
    pub processes: Vec<ProcessUsage>,
    pub ratio: Option<UsageRatio>,
}

struct Track {
    target: PidTarget,
    comm: String,
    rss_mib: Vec<f64>,
    cpu_first: CpuTicks,
    t_first: Instant,
    cpu_last: CpuTicks,
    t_last: Instant,
    error: Option<String>,
}

impl Track {
    fn sample(&mut self) {
        if self.error.is_some() {
            return;
        }
        let now = Instant::now();
        match (
            procfs::read_rss_kib(self.target.pid),
            procfs::read_stat(self.target.pid),
        ) {
            (Ok(kib), Ok(stat)) => {
                self.rss_mib.push(procfs::kib_to_mib(kib));
                self.cpu_last = stat.cpu;
                self.t_last = now;
            }
            (Err(e), _) | (_, Err(e)) => {
                self.error = Some(format!(
                    "stopped sampling after {:.1}s: {e:#}",
                    self.t_last.duration_since(self.t_first).as_secs_f64()
                ));
            }
        }
    }

    fn finish(self, ticks_per_sec: u64) -> ProcessUsage {
        let window = self.t_last.duration_since(self.t_first).as_secs_f64();
        summarize(
            &self.target,
            self.comm,
            &self.rss_mib,
            self.cpu_first,
            self.cpu_last,
            window,
            ticks_per_sec,
            self.error,
        )
    }
}

#[allow(clippy::too_many_arguments)]
fn summarize(
    target: &PidTarget,
    comm: String,
    rss_mib: &[f64],
    cpu_first: CpuTicks,
    cpu_last: CpuTicks,
    window_secs: f64,
    ticks_per_sec: u64,
    error: Option<String>,
) -> ProcessUsage {
    let cpu_percent = (window_secs > 0.0).then(|| procfs::cpu_percent(cpu_first, cpu_last, ticks_per_sec, window_secs));
    ProcessUsage {
        label: target.label.clone(),
        pid: target.pid,
        comm,
        rss_median_mib: stats::median(rss_mib),
        rss_peak_mib: stats::peak(rss_mib),
        rss_samples: rss_mib.len(),
        cpu_percent,
        window_secs,
        error,
    }
}

/// Ratio first/second when there are exactly two processes.
pub fn ratio_of(processes: &[ProcessUsage]) -> Option<UsageRatio> {
    let [a, b] = processes else {
        return None;
    };
    let r = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => stats::ratio(x, y),
        _ => None,
    };
    Some(UsageRatio {
        first: a.label.clone(),
        second: b.label.clone(),
        rss_median: r(a.rss_median_mib, b.rss_median_mib),
        cpu: r(a.cpu_percent, b.cpu_percent),
    })
}

/// Samples every target each `interval` for `duration` and summarises.
pub fn run(cfg: &IdleConfig) -> Result<IdleReport> {
    if cfg.targets.is_empty() {
        bail!("at least one --pid LABEL=PID is required");
    }
    if cfg.interval.is_zero() {
        bail!("--interval must be greater than zero");
    }
    let ticks_per_sec = procfs::clock_ticks_per_sec();
    let mut tracks = Vec::with_capacity(cfg.targets.len());
    for t in &cfg.targets {
        let stat = procfs::read_stat(t.pid).map_err(|e| anyhow::anyhow!("{} (pid {}): {e:#}", t.label, t.pid))?;
        let now = Instant::now();
        tracks.push(Track {
            target: t.clone(),
            comm: stat.comm,
            rss_mib: Vec::new(),
            cpu_first: stat.cpu,
            t_first: now,
            cpu_last: stat.cpu,
            t_last: now,
            error: None,
        });
    }
    if cfg.progress {
        let names: Vec<String> = cfg.targets.iter().map(|t| format!("{}={}", t.label, t.pid)).collect();
        eprintln!(
            "[vigil-load] sampling {} every {} for {}",
            names.join(", "),
            humantime::format_duration(cfg.interval),
            humantime::format_duration(cfg.duration)
        );
    }

    let start = Instant::now();
    let steps = (cfg.duration.as_secs_f64() / cfg.interval.as_secs_f64()).ceil() as u32;
    for t in tracks.iter_mut() {
        t.sample();
    }
    for step in 1..=steps {
        let due = start + cfg.interval * step;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        // Same loop iteration for every process, so they see the same moments.
        for t in tracks.iter_mut() {
            t.sample();
        }
        if tracks.iter().all(|t| t.error.is_some()) {
            break;
        }
    }

    let processes: Vec<ProcessUsage> = tracks.into_iter().map(|t| t.finish(ticks_per_sec)).collect();
    Ok(IdleReport {
        seconds: start.elapsed().as_secs_f64(),
        interval_secs: cfg.interval.as_secs_f64(),
        ratio: ratio_of(&processes),
        processes,
    })
}

fn opt(v: Option<f64>, prec: usize) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.prec$}"))
}

fn times(v: Option<f64>) -> String {
    v.map_or_else(|| "n/a".to_string(), |x| format!("{x:.3}x"))
}

/// Human-readable report.
pub fn render_text(r: &IdleReport) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "vigil-load idle report ({:.1}s, every {}s)",
        r.seconds, r.interval_secs
    );
    let _ = writeln!(
        s,
        "  {:<12} {:>8} {:<16} {:>14} {:>12} {:>10}",
        "label", "pid", "comm", "rss median MiB", "rss peak MiB", "cpu %"
    );
    for p in &r.processes {
        let _ = writeln!(
            s,
            "  {:<12} {:>8} {:<16} {:>14} {:>12} {:>10}",
            p.label,
            p.pid,
            p.comm,
            opt(p.rss_median_mib, 1),
            opt(p.rss_peak_mib, 1),
            opt(p.cpu_percent, 2)
        );
        if let Some(e) = &p.error {
            let _ = writeln!(s, "    {}: {e}", p.label);
        }
    }
    if let Some(q) = &r.ratio {
        let _ = writeln!(
            s,
            "  ratio {}/{}: rss median {}, cpu {}",
            q.first,
            q.second,
            times(q.rss_median),
            times(q.cpu)
        );
    }
    let _ = writeln!(s, "  (cpu % is the mean over the window, of one core)");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pid_target_parsing() {
        assert_eq!(
            parse_pid_target("vigil=123").unwrap(),
            PidTarget {
                label: "vigil".into(),
                pid: 123
            }
        );
        assert_eq!(parse_pid_target(" a b = 7 ").unwrap().label, "a b");
        for bad in ["123", "=5", "x=", "x=abc", "x=-1", "x=0"] {
            assert!(parse_pid_target(bad).is_err(), "{bad}");
        }
    }

    fn usage(label: &str, rss: &[f64], cpu_ticks: u64, secs: f64) -> ProcessUsage {
        summarize(
            &PidTarget {
                label: label.into(),
                pid: 1,
            },
            "x".into(),
            rss,
            CpuTicks { utime: 0, stime: 0 },
            CpuTicks {
                utime: cpu_ticks,
                stime: 0,
            },
            secs,
            100,
            None,
        )
    }

    #[test]
    fn summary_and_ratio() {
        let a = usage("vigil", &[4.0, 5.0, 6.0, 5.0, 5.5], 30, 60.0);
        assert_eq!(a.rss_median_mib, Some(5.0));
        assert_eq!(a.rss_peak_mib, Some(6.0));
        assert!((a.cpu_percent.unwrap() - 0.5).abs() < 1e-9);
        let b = usage("glances", &[50.0, 50.0, 52.0], 600, 60.0);
        assert!((b.cpu_percent.unwrap() - 10.0).abs() < 1e-9);

        let r = ratio_of(&[a.clone(), b.clone()]).unwrap();
        assert_eq!(r.first, "vigil");
        assert!((r.rss_median.unwrap() - 0.1).abs() < 1e-9);
        assert!((r.cpu.unwrap() - 0.05).abs() < 1e-9);

        assert_eq!(ratio_of(std::slice::from_ref(&a)), None);
        assert_eq!(ratio_of(&[a.clone(), b.clone(), a.clone()]), None);

        // Idle second process: no CPU ratio rather than infinity.
        let idle = usage("idle", &[1.0], 0, 60.0);
        assert_eq!(ratio_of(&[a, idle]).unwrap().cpu, None);

        // Zero-length window: no CPU figure.
        assert_eq!(usage("z", &[1.0], 10, 0.0).cpu_percent, None);
    }

    #[test]
    fn samples_own_process_briefly() {
        let cfg = IdleConfig {
            targets: vec![PidTarget {
                label: "self".into(),
                pid: std::process::id(),
            }],
            duration: Duration::from_millis(200),
            interval: Duration::from_millis(100),
            progress: false,
        };
        let r = run(&cfg).unwrap();
        assert_eq!(r.processes.len(), 1);
        assert_eq!(r.processes[0].rss_samples, 3);
        assert!(r.processes[0].rss_median_mib.unwrap() > 0.0);
        assert!(r.ratio.is_none());
        assert!(render_text(&r).contains("self"));
    }
}

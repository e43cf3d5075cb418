//! Minimal readers for `/proc/PID/status` and `/proc/PID/stat`.

use std::fs;

use anyhow::{anyhow, Context, Result};

/// CPU times of one process, in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTicks {
    pub utime: u64,
    pub stime: u64,
}

impl CpuTicks {
    pub fn total(&self) -> u64 {
        self.utime + self.stime
    }
}

/// Parsed fields of `/proc/PID/stat` that this tool uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    pub comm: String,
    pub state: char,
    pub cpu: CpuTicks,
}

/// Parses the content of `/proc/PID/stat`.
///
/// The second field (`comm`) is wrapped in parentheses and may itself contain
/// spaces and parentheses, so it is delimited by the first `(` and the *last*
/// `)`; the remaining fields are whitespace separated.
pub fn parse_stat(content: &str) -> Result<ProcStat> {
    let open = content
        .find('(')
        .ok_or_else(|| anyhow!("stat: no '(' in {content:?}"))?;
    let close = content
        .rfind(')')
        .filter(|&c| c > open)
        .ok_or_else(|| anyhow!("stat: no ')' in {content:?}"))?;
    let comm = content[open + 1..close].to_string();
    // Fields after comm start at field 3 (state); utime is field 14, stime 15.
    let rest: Vec<&str> = content[close + 1..].split_whitespace().collect();
    let field = |n: usize| -> Result<&str> {
        rest.get(n - 3)
            .copied()
            .ok_or_else(|| anyhow!("stat: missing field {n}"))
    };
    let state = field(3)?.chars().next().ok_or_else(|| anyhow!("stat: empty state"))?;
    let utime = field(14)?.parse().context("stat: utime")?;
    let stime = field(15)?.parse().context("stat: stime")?;
    Ok(ProcStat {
        comm,
        state,
        cpu: CpuTicks { utime, stime },
    })
}

/// Extracts `VmRSS` in KiB from the content of `/proc/PID/status`.
/// Returns `None` when the line is absent (kernel threads, zombies).
pub fn parse_status_rss_kib(content: &str) -> Option<u64> {
    content.lines().find_map(|line| {
        let rest = line.strip_prefix("VmRSS:")?;
        let mut parts = rest.split_whitespace();
        let value: u64 = parts.next()?.parse().ok()?;
        match parts.next() {
            Some("kB") | None => Some(value),
            Some("mB") | Some("MB") => Some(value * 1024),
            _ => None,
        }
    })
}

/// Current RSS of `pid` in KiB.
pub fn read_rss_kib(pid: u32) -> Result<u64> {
    let path = format!("/proc/{pid}/status");
    let content = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_status_rss_kib(&content).ok_or_else(|| anyhow!("no VmRSS in {path} (process exited?)"))
}

/// Current CPU times of `pid`.
pub fn read_stat(pid: u32) -> Result<ProcStat> {
    let path = format!("/proc/{pid}/stat");
    let content = fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    parse_stat(&content).with_context(|| format!("parsing {path}"))
}

/// CPU times of this process.
pub fn read_self_cpu() -> Result<CpuTicks> {
    let content = fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    Ok(parse_stat(&content)?.cpu)
}

/// Clock ticks per second used by `/proc/PID/stat`.
pub fn clock_ticks_per_sec() -> u64 {
    // SAFETY: sysconf has no preconditions; it only reads a configuration value.
    let v = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if v > 0 {
        v as u64
    } else {
        100
    }
}

/// Percent of one core used between two readings `elapsed_secs` apart.
pub fn cpu_percent(before: CpuTicks, after: CpuTicks, ticks_per_sec: u64, elapsed_secs: f64) -> f64 {
    if elapsed_secs <= 0.0 || ticks_per_sec == 0 {
        return 0.0;
    }
    let ticks = after.total().saturating_sub(before.total()) as f64;
    ticks / ticks_per_sec as f64 / elapsed_secs * 100.0
}

/// KiB to MiB.
pub fn kib_to_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAIN: &str = "1234 (vigil) S 1 1234 1234 0 -1 4194560 1500 0 0 0 250 75 0 0 20 0 5 0 \
        123456 12345678 2048 18446744073709551615 1 1 0 0 0 0 0 4096 17663 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn parses_plain_stat() {
        let s = parse_stat(PLAIN).unwrap();
        assert_eq!(s.comm, "vigil");
        assert_eq!(s.state, 'S');
        assert_eq!(s.cpu, CpuTicks { utime: 250, stime: 75 });
        assert_eq!(s.cpu.total(), 325);
    }

    #[test]
    fn parses_stat_with_spaces_and_parens_in_name() {
        let content = "4321 (my (weird) proc) 1) R 1 4321 4321 0 -1 4194304 10 0 0 0 \
            9001 42 3 4 20 0 1 0 99 1000 10 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";
        let s = parse_stat(content).unwrap();
        assert_eq!(s.comm, "my (weird) proc) 1");
        assert_eq!(s.state, 'R');
        assert_eq!(s.cpu, CpuTicks { utime: 9001, stime: 42 });
    }

    #[test]
    fn rejects_broken_stat() {
        assert!(parse_stat("").is_err());
        assert!(parse_stat("12 noparens S 1 2 3").is_err());
        assert!(parse_stat("12 (short) S 1 2 3").is_err());
        assert!(parse_stat("12 )x( S").is_err());
        assert!(parse_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 abc 1 0").is_err());
    }

    #[test]
    fn reads_own_stat() {
        let s = read_stat(std::process::id()).unwrap();
        assert!(!s.comm.is_empty());
        assert!(read_rss_kib(std::process::id()).unwrap() > 0);
        assert!(read_self_cpu().is_ok());
        assert!(clock_ticks_per_sec() > 0);
    }

    #[test]
    fn parses_vmrss() {
        let status = "Name:\tvigil\nState:\tS (sleeping)\nVmPeak:\t  20000 kB\nVmRSS:\t    5120 kB\nThreads:\t4\n";
        assert_eq!(parse_status_rss_kib(status), Some(5120));
        assert_eq!(parse_status_rss_kib("Name:\tkworker\nState:\tI (idle)\n"), None);
        assert_eq!(parse_status_rss_kib("VmRSS:\tgarbage kB\n"), None);
    }

    #[test]
    fn cpu_percent_math() {
        let a = CpuTicks { utime: 100, stime: 0 };
        let b = CpuTicks { utime: 150, stime: 50 };
        // 100 ticks at 100 Hz over 2 s = 0.5 s CPU per 2 s = 50 %.
        assert!((cpu_percent(a, b, 100, 2.0) - 50.0).abs() < 1e-9);
        assert_eq!(cpu_percent(b, a, 100, 2.0), 0.0);
        assert_eq!(cpu_percent(a, b, 100, 0.0), 0.0);
    }
}

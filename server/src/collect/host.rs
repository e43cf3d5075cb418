//! Host metrics through sysinfo: CPU, load, memory and the top processes,
//! filesystems, network interfaces, and Vigil's own process.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use app::metrics::{Cpu, Disk, Load, Memory, NetIface, ProcessMem, Sample, SelfStats, SystemInfo};
use sysinfo::{Disks, Networks, Pid, ProcessRefreshKind, ProcessesToUpdate, RefreshKind, System};

use super::io::DiskIo;
use super::LiveFigures;

/// Filesystem types that hold no data of their own (kernel, memory, images).
const VIRTUAL_FS: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "securityfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// How often the full process list is re-read for the memory top list; the
/// rest of a sample is cheap, walking every process is not.
const PROCESS_SCAN_EVERY: Duration = Duration::from_secs(5);

/// Owns the sysinfo state between samples (rates need the previous reading).
pub(crate) struct HostCollector {
    system: System,
    disks: Disks,
    networks: Networks,
    disk_io: DiskIo,
    own_pid: Pid,
    top_n: usize,
    top: Vec<ProcessMem>,
    last_process_scan: Option<Instant>,
    last_net: Instant,
}

impl HostCollector {
    pub(crate) fn new(top_n: usize) -> Self {
        let system = System::new_with_specifics(
            RefreshKind::nothing().with_cpu(sysinfo::CpuRefreshKind::nothing().with_cpu_usage()),
        );
        let mut disk_io = DiskIo::default();
        disk_io.refresh();
        HostCollector {
            system,
            disks: Disks::new_with_refreshed_list(),
            networks: Networks::new_with_refreshed_list(),
            disk_io,
            own_pid: Pid::from_u32(std::process::id()),
            top_n,
            top: Vec::new(),
            last_process_scan: None,
            last_net: Instant::now(),
        }
    }

    /// What the host is (read from the OS; does not change while running).
    pub(crate) fn system_info(&self) -> SystemInfo {
        // "Debian GNU/Linux 12", "Ubuntu 24.04", else whatever the OS says.
        let os = match (System::name(), System::os_version()) {
            (Some(name), Some(version)) => format!("{name} {version}"),
            (name, _) => name
                .or_else(System::long_os_version)
                .unwrap_or_else(|| std::env::consts::OS.to_string()),
        };
        SystemInfo {
            os,
            kernel: System::kernel_version().unwrap_or_default(),
            arch: System::cpu_arch(),
            cpu_model: self
                .system
                .cpus()
                .first()
                .map(|c| c.brand().trim().to_string())
                .unwrap_or_default(),
            logical_cores: self.system.cpus().len(),
            boot_time: System::boot_time(),
        }
    }

    /// Takes one sample. Blocking: call it from a blocking thread.
    pub(crate) fn sample(&mut self, live: LiveFigures) -> Sample {
        let started = Instant::now();
        self.system.refresh_cpu_usage();
        self.system.refresh_memory();
        let memory = self.memory();
        let disks = self.disks();
        let net = self.net();
        let load = System::load_average();
        let mut sample = Sample {
            ts: crate::signals::clock::now_ms(),
            cpu: Cpu {
                total: self.system.global_cpu_usage(),
                cores: self.system.cpus().iter().map(|c| c.cpu_usage()).collect(),
            },
            load: Load {
                one: load.one,
                five: load.five,
                fifteen: load.fifteen,
            },
            memory,
            disks,
            net,
            vigil: self.own(live, started),
        };
        sample.sanitize();
        sample
    }

    fn memory(&mut self) -> Memory {
        let due = self
            .last_process_scan
            .is_none_or(|at| at.elapsed() >= PROCESS_SCAN_EVERY);
        if due && self.top_n > 0 {
            self.system.refresh_processes_specifics(
                ProcessesToUpdate::All,
                true,
                ProcessRefreshKind::nothing().with_memory(),
            );
            let mut top: Vec<ProcessMem> = self
                .system
                .processes()
                .values()
                // Threads share their process's memory: count processes only.
                .filter(|p| p.thread_kind().is_none())
                .map(|p| ProcessMem {
                    pid: p.pid().as_u32(),
                    name: p.name().to_string_lossy().into_owned(),
                    bytes: p.memory(),
                })
                .collect();
            top.sort_unstable_by(|a, b| b.bytes.cmp(&a.bytes).then(a.pid.cmp(&b.pid)));
            top.truncate(self.top_n);
            self.top = top;
            self.last_process_scan = Some(Instant::now());
        }
        Memory {
            total: self.system.total_memory(),
            used: self.system.used_memory(),
            available: self.system.available_memory(),
            swap_total: self.system.total_swap(),
            swap_used: self.system.used_swap(),
            top: self.top.clone(),
        }
    }

    fn disks(&mut self) -> Vec<Disk> {
        self.disks.refresh(true);
        let io = self.disk_io.refresh();
        let mut by_device: HashMap<String, Disk> = HashMap::new();
        for d in self.disks.list() {
            let fs = d.file_system().to_string_lossy().into_owned();
            let source = d.name().to_string_lossy().into_owned();
            if VIRTUAL_FS.contains(&fs.as_str()) || d.total_space() == 0 {
                continue;
            }
            let device = device_name(&source);
            let mount = d.mount_point().to_string_lossy().into_owned();
            // The same device mounted several times (bind mounts): keep the
            // shortest mount point, which is the one people know.
            if by_device
                .get(&device)
                .is_some_and(|seen| seen.mount.len() <= mount.len())
            {
                continue;
            }
            let rate = io.get(&device).copied().unwrap_or_default();
            // statvfs for the free-block count; sysinfo's figures if it fails.
            let space = super::fs::space(d.mount_point()).unwrap_or_else(|err| {
                tracing::debug!(%err, mount, "statvfs failed; using sysinfo's figures");
                let total = d.total_space();
                super::fs::Space {
                    total,
                    used: total.saturating_sub(d.available_space()),
                    available: d.available_space(),
                    reserved: 0,
                }
            });
            by_device.insert(
                device.clone(),
                Disk {
                    device,
                    mount,
                    fs,
                    total: space.total,
                    used: space.used,
                    available: space.available,
                    reserved: space.reserved,
                    read_bps: rate.read_bps,
                    write_bps: rate.write_bps,
                    read_iops: rate.read_iops,
                    write_iops: rate.write_iops,
                },
            );
        }
        let mut disks: Vec<Disk> = by_device.into_values().collect();
        disks.sort_by(|a, b| a.mount.cmp(&b.mount));
        disks
    }

    fn net(&mut self) -> Vec<NetIface> {
        self.networks.refresh(true);
        let secs = self.last_net.elapsed().as_secs_f64().max(1e-3);
        self.last_net = Instant::now();
        let mut net: Vec<NetIface> = self
            .networks
            .iter()
            .map(|(name, data)| NetIface {
                name: name.clone(),
                rx_bps: data.received() as f64 / secs,
                tx_bps: data.transmitted() as f64 / secs,
            })
            .collect();
        net.sort_by(|a, b| a.name.cmp(&b.name));
        net
    }

    fn own(&mut self, live: LiveFigures, started: Instant) -> SelfStats {
        self.system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[self.own_pid]),
            false,
            ProcessRefreshKind::nothing().with_memory().with_cpu(),
        );
        let (rss, cpu) = self
            .system
            .process(self.own_pid)
            .map(|p| (p.memory(), p.cpu_usage()))
            .unwrap_or_default();
        SelfStats {
            ws_clients: live.clients,
            frames_per_s: live.frames_per_s,
            lagged_total: live.lagged_total,
            frames_sent_total: live.frames_sent_total,
            store_write_ms: live.store_write_ms,
            store_bytes: live.store_bytes,
            remote_write: live.remote_write,
            broadcast_lag_ms: live.broadcast_lag_ms,
            // Everything but this last step: close enough, and known now.
            collector_ms: started.elapsed().as_secs_f64() * 1000.0,
            rss,
            cpu,
        }
    }
}

/// The `/proc/diskstats` name of a mount source: `/dev/vda1` -> `vda1`,
/// `/dev/mapper/root` -> `dm-0` (following the link).
fn device_name(source: &str) -> String {
    let path = Path::new(source);
    let resolved = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    resolved
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| source.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_match_diskstats() {
        assert_eq!(device_name("/dev/vda1"), "vda1");
        assert_eq!(device_name("tank/data"), "data");
    }

    /// `df`'s Used, Avail and Use% for a mount point, in bytes.
    fn df(mount: &str) -> Option<(u64, u64, f64)> {
        let out = std::process::Command::new("df")
            .args(["-P", "-B1", mount])
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?;
        let line = text.lines().nth(1)?;
        let cols: Vec<&str> = line.split_whitespace().collect();
        // Filesystem 1-blocks Used Available Capacity Mounted-on
        let n = cols.len();
        let used = cols.get(n - 4)?.parse().ok()?;
        let avail = cols.get(n - 3)?.parse().ok()?;
        let pct = cols.get(n - 2)?.trim_end_matches('%').parse().ok()?;
        Some((used, avail, pct))
    }

    #[test]
    fn filesystem_figures_agree_with_df() {
        let mut c = HostCollector::new(0);
        let s = c.sample(LiveFigures::default());
        assert!(!s.disks.is_empty(), "this host has a real filesystem");
        let mut compared = 0;
        for d in &s.disks {
            let Some((used, avail, pct)) = df(&d.mount) else {
                continue;
            };
            compared += 1;
            // The two readings are moments apart: allow 1 % of the size of drift.
            let slack = d.total / 100 + 64 * 1024 * 1024;
            assert!(
                d.used.abs_diff(used) <= slack,
                "{}: used {} vs df {used}",
                d.mount,
                d.used
            );
            assert!(
                d.available.abs_diff(avail) <= slack,
                "{}: available {} vs df {avail}",
                d.mount,
                d.available
            );
            // df rounds its percentage up.
            assert!(
                (d.used_pct().ceil() - pct).abs() <= 1.0,
                "{}: {:.2}% vs df {pct}%",
                d.mount,
                d.used_pct()
            );
            assert_eq!(d.total, d.used + d.available + d.reserved, "{}", d.mount);
        }
        assert!(compared > 0, "df answered for none of {:?}", s.disks);
    }

    #[test]
    fn samples_this_host() {
        let mut c = HostCollector::new(3);
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let s = c.sample(LiveFigures {
            clients: 2,
            ..Default::default()
        });
        assert!(s.ts > 1_600_000_000_000);
        assert!(s.memory.total > 0 && s.memory.used > 0 && s.memory.used <= s.memory.total);
        assert!(!s.cpu.cores.is_empty());
        assert!((0.0..=100.0).contains(&s.cpu.total));
        assert!(s.net.iter().any(|n| n.name == "lo"), "loopback is listed: {:?}", s.net);
        assert!(s.memory.top.len() <= 3 && !s.memory.top.is_empty());
        assert!(
            s.memory.top.windows(2).all(|w| w[0].bytes >= w[1].bytes),
            "largest first"
        );
        assert!(s
            .disks
            .iter()
            .all(|d| !VIRTUAL_FS.contains(&d.fs.as_str()) && d.total > 0));
        assert_eq!(s.vigil.ws_clients, 2);
        assert!(s.vigil.rss > 0, "own process found");
        let info = c.system_info();
        assert_eq!(info.logical_cores, s.cpu.cores.len());
        assert!(!info.os.is_empty() && !info.kernel.is_empty() && !info.arch.is_empty());
        assert!(info.boot_time > 1_000_000_000 && info.boot_time * 1000 < s.ts as u64);
    }
}

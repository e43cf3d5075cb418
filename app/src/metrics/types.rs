//! The host sample: what one collector tick measured. These types are the
//! wire format of `/ws` frames and of the snapshot server function, so they
//! compile for both the server and the browser.

use serde::{Deserialize, Serialize};

/// One collector tick: every figure Vigil measured at `ts`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix time in milliseconds when the sample was taken.
    pub ts: i64,
    pub cpu: Cpu,
    pub load: Load,
    pub memory: Memory,
    /// Every real mounted filesystem.
    pub disks: Vec<Disk>,
    /// Every network interface.
    pub net: Vec<NetIface>,
    /// Vigil's own figures (the performance monitor).
    pub vigil: SelfStats,
}

/// CPU usage in percent of one core's capacity (0..=100).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// All cores together.
    pub total: f32,
    /// One entry per logical core.
    pub cores: Vec<f32>,
}

/// Run-queue load averages.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Load {
    pub one: f64,
    pub five: f64,
    pub fifteen: f64,
}

/// RAM and swap, in bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Memory {
    pub total: u64,
    pub used: u64,
    pub available: u64,
    pub swap_total: u64,
    pub swap_used: u64,
    /// The processes holding the most resident memory, largest first.
    pub top: Vec<ProcessMem>,
}

impl Memory {
    /// Used RAM in percent of total; 0 when the total is unknown.
    pub fn used_pct(&self) -> f64 {
        pct(self.used, self.total)
    }
}

/// One process in the memory top list.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessMem {
    pub pid: u32,
    pub name: String,
    /// Resident set size in bytes.
    pub bytes: u64,
}

/// One mounted filesystem with the throughput of the device behind it.
///
/// Space is counted as `df` counts it: `used` is size minus *free* blocks,
/// `available` is what unprivileged users can still write, and `reserved`
/// is the difference (blocks kept for root, often 5 % on ext4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Disk {
    /// Block device, e.g. `vda` or `nvme0n1p2`.
    pub device: String,
    /// Mount point, e.g. `/`.
    pub mount: String,
    /// Filesystem type, e.g. `ext4`.
    pub fs: String,
    /// Filesystem size in bytes.
    pub total: u64,
    /// Bytes in use: size minus free blocks.
    pub used: u64,
    /// Bytes an unprivileged user can still write.
    pub available: u64,
    /// Free bytes only root may write: free minus available.
    #[serde(default)]
    pub reserved: u64,
    pub read_bps: f64,
    pub write_bps: f64,
    pub read_iops: f64,
    pub write_iops: f64,
}

impl Disk {
    /// Used space in percent, as `df` shows it: used / (used + available),
    /// so space reserved for root does not count as used.
    pub fn used_pct(&self) -> f64 {
        pct(self.used, self.used.saturating_add(self.available))
    }
}

/// Throughput of one network interface, in bytes per second.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NetIface {
    pub name: String,
    pub rx_bps: f64,
    pub tx_bps: f64,
}

/// Vigil watching itself.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SelfStats {
    /// Browsers (and other clients) connected to `/ws` right now.
    pub ws_clients: u64,
    /// Frames written to all clients per second over the last tick.
    pub frames_per_s: f64,
    /// Times since start that a client fell behind the broadcast and was told to resync.
    pub lagged_total: u64,
    /// Frames written to clients since start.
    #[serde(default)]
    pub frames_sent_total: u64,
    /// Longest time a frame waited between publication and being written to a
    /// client socket during the last tick, in milliseconds.
    pub broadcast_lag_ms: f64,
    /// How long the last collection took, in milliseconds.
    pub collector_ms: f64,
    /// Vigil's resident memory in bytes.
    pub rss: u64,
    /// Vigil's CPU usage in percent of one core.
    pub cpu: f32,
    /// How long the history store's last batch write took, in milliseconds.
    #[serde(default)]
    pub store_write_ms: f64,
    /// Size of the history database on disk.
    #[serde(default)]
    pub store_bytes: u64,
    /// The push to a Prometheus-compatible receiver, when `[remote_write]` is set.
    #[serde(default)]
    pub remote_write: Option<RemoteWriteFigures>,
}

/// How the push to the remote-write receiver is going.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteWriteFigures {
    /// Samples waiting to be sent.
    pub queued: u64,
    /// Most samples the queue holds; past it the oldest are dropped.
    pub capacity: u64,
    /// Samples the receiver accepted since start.
    pub sent_total: u64,
    /// Requests that failed (each is retried while its samples are queued).
    pub failed_sends_total: u64,
    /// Samples dropped: the queue was full, or the receiver refused them for good.
    pub dropped_total: u64,
    /// How long the last request took, in milliseconds.
    pub last_send_ms: f64,
    /// Unix ms of the last accepted request; 0 before the first.
    pub last_success: i64,
}

/// The few numbers of a sample that the sparklines draw; a compact history
/// entry so a snapshot with minutes of history stays small.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Unix time in milliseconds.
    pub t: i64,
    /// CPU total in percent.
    pub cpu: f32,
    /// RAM used in percent.
    pub mem: f32,
    /// Network bytes/s received, all interfaces but loopback.
    pub rx: f64,
    /// Network bytes/s sent, all interfaces but loopback.
    pub tx: f64,
    /// Disk bytes/s read, all disks.
    pub rd: f64,
    /// Disk bytes/s written, all disks.
    pub wr: f64,
}

impl From<&Sample> for Point {
    fn from(s: &Sample) -> Self {
        let external = || s.net.iter().filter(|n| n.name != "lo");
        Point {
            t: s.ts,
            cpu: s.cpu.total,
            mem: s.memory.used_pct() as f32,
            rx: external().map(|n| n.rx_bps).sum(),
            tx: external().map(|n| n.tx_bps).sum(),
            rd: s.disks.iter().map(|d| d.read_bps).sum(),
            wr: s.disks.iter().map(|d| d.write_bps).sum(),
        }
    }
}

/// What the machine is; read once when Vigil starts.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// Operating system, e.g. `Linux (Debian GNU/Linux 12)`.
    pub os: String,
    pub kernel: String,
    /// CPU architecture, e.g. `x86_64`.
    pub arch: String,
    /// CPU model name.
    pub cpu_model: String,
    pub logical_cores: usize,
    /// Unix time in seconds when the host booted.
    pub boot_time: u64,
}

impl SystemInfo {
    /// How long the host had been up at `ts_ms`, as `3 d 4 h`, `4 h 12 m` or `12 m`.
    pub fn uptime_at(&self, ts_ms: i64) -> String {
        let secs = (ts_ms / 1000 - self.boot_time as i64).max(0);
        let (d, h, m) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60);
        match (d, h) {
            (0, 0) => format!("{m} m"),
            (0, _) => format!("{h} h {m} m"),
            _ => format!("{d} d {h} h"),
        }
    }
}

/// Everything a page needs to draw the current state: the latest sample, the
/// recent history for sparklines, and the `seq` to resume the live stream from.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Host name of the machine Vigil watches.
    pub host: String,
    #[serde(default)]
    pub system: SystemInfo,
    /// Collector interval in milliseconds.
    pub interval_ms: u64,
    /// `seq` of the newest frame this snapshot includes.
    pub seq: u64,
    pub current: Sample,
    /// Oldest first.
    pub history: Vec<Point>,
    /// The health rollup as last announced on the live stream.
    #[serde(default)]
    pub health: Option<crate::health::HealthReport>,
    /// The pending and firing alerts as last announced.
    #[serde(default)]
    pub alerts: Option<crate::alerts::AlertsLive>,
}

impl Sample {
    /// Replaces every non-finite number (NaN, infinities) with 0. JSON has
    /// no NaN: serde_json writes it as `null`, which a float field does not
    /// read back, so one NaN from the OS would make the whole frame
    /// unreadable. Collectors call this before publishing.
    pub fn sanitize(&mut self) {
        fn f32s<'a>(values: impl IntoIterator<Item = &'a mut f32>) {
            for v in values {
                if !v.is_finite() {
                    *v = 0.0;
                }
            }
        }
        fn f64s<'a>(values: impl IntoIterator<Item = &'a mut f64>) {
            for v in values {
                if !v.is_finite() {
                    *v = 0.0;
                }
            }
        }
        f32s([&mut self.cpu.total, &mut self.vigil.cpu]);
        f32s(self.cpu.cores.iter_mut());
        f64s([&mut self.load.one, &mut self.load.five, &mut self.load.fifteen]);
        for d in &mut self.disks {
            f64s([&mut d.read_bps, &mut d.write_bps, &mut d.read_iops, &mut d.write_iops]);
        }
        for n in &mut self.net {
            f64s([&mut n.rx_bps, &mut n.tx_bps]);
        }
        let v = &mut self.vigil;
        f64s([
            &mut v.frames_per_s,
            &mut v.broadcast_lag_ms,
            &mut v.collector_ms,
            &mut v.store_write_ms,
        ]);
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn point_sums_external_interfaces_and_all_disks() {
        let s = Sample {
            ts: 7,
            net: vec![
                NetIface {
                    name: "lo".into(),
                    rx_bps: 1000.0,
                    tx_bps: 1000.0,
                },
                NetIface {
                    name: "eth0".into(),
                    rx_bps: 10.0,
                    tx_bps: 20.0,
                },
                NetIface {
                    name: "wlan0".into(),
                    rx_bps: 1.0,
                    tx_bps: 2.0,
                },
            ],
            disks: vec![
                Disk {
                    read_bps: 5.0,
                    write_bps: 6.0,
                    ..Default::default()
                },
                Disk {
                    read_bps: 1.0,
                    write_bps: 1.0,
                    ..Default::default()
                },
            ],
            memory: Memory {
                total: 200,
                used: 50,
                ..Default::default()
            },
            ..Default::default()
        };
        let p = Point::from(&s);
        assert_eq!((p.t, p.rx, p.tx, p.rd, p.wr), (7, 11.0, 22.0, 6.0, 7.0));
        assert_eq!(p.mem, 25.0);
    }

    #[test]
    fn uptime_reads_like_a_person_would_say_it() {
        let info = SystemInfo {
            boot_time: 1_000,
            ..Default::default()
        };
        assert_eq!(info.uptime_at(1_000_000 + 12 * 60_000), "12 m");
        assert_eq!(info.uptime_at(1_000_000 + (4 * 3600 + 12 * 60) * 1000), "4 h 12 m");
        assert_eq!(
            info.uptime_at(1_000_000 + (3 * 86_400 + 4 * 3600 + 59) * 1000),
            "3 d 4 h"
        );
        assert_eq!(info.uptime_at(0), "0 m", "a clock before boot is not negative");
    }

    #[test]
    fn a_sanitized_sample_survives_json() {
        let mut s = Sample {
            cpu: Cpu {
                total: f32::NAN,
                cores: vec![1.0, f32::INFINITY],
            },
            net: vec![NetIface {
                name: "eth0".into(),
                rx_bps: f64::NAN,
                tx_bps: 2.0,
            }],
            ..Default::default()
        };
        let raw = serde_json::to_string(&s).unwrap();
        assert!(
            serde_json::from_str::<Sample>(&raw).is_err(),
            "NaN is written as null and does not read back: {raw}"
        );
        s.sanitize();
        let back: Sample = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!((back.cpu.total, back.cpu.cores.clone()), (0.0, vec![1.0, 0.0]));
        assert_eq!((back.net[0].rx_bps, back.net[0].tx_bps), (0.0, 2.0));
    }

    #[test]
    fn disk_percent_is_the_one_df_shows() {
        // 100 GB filesystem, 20 GB used, 75 GB available, 5 GB reserved for root.
        let d = Disk {
            total: 100,
            used: 20,
            available: 75,
            reserved: 5,
            ..Default::default()
        };
        assert!((d.used_pct() - 21.05).abs() < 0.01, "{}", d.used_pct());
    }

    #[test]
    fn percentages_of_an_unknown_total_are_zero() {
        assert_eq!(Memory::default().used_pct(), 0.0);
        assert_eq!(Disk::default().used_pct(), 0.0);
    }
}

//! The simulated host of the benches: a typical small machine (2 cores,
//! 1 filesystem, 4 network interfaces: the catalog yields ~40 series)
//! whose values move like real ones (random walks, bursts, steady totals).
//! Used as `#[path = "support/host.rs"] mod host;`.
#![allow(dead_code)]

use app::metrics::{Cpu, Disk, Load, Memory, NetIface, Sample, SelfStats};

/// xorshift: deterministic noise without a dependency.
pub struct Noise(pub u64);

impl Noise {
    pub fn next(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % 1_000_000) as f64 / 1_000_000.0
    }
}

pub struct Host {
    pub noise: Noise,
    cpu: f64,
    mem: f64,
    used: f64,
    pub frames: u64,
}

impl Host {
    /// A host using `mem` bytes of RAM and `used` bytes of its filesystem.
    pub fn new(mem: f64, used: f64) -> Host {
        Host {
            noise: Noise(0x9e37_79b9_7f4a_7c15),
            cpu: 20.0,
            mem,
            used,
            frames: 0,
        }
    }

    /// The next sample, at `ts` (Unix ms).
    pub fn sample(&mut self, ts: i64) -> Sample {
        let n = &mut self.noise;
        self.cpu = (self.cpu + (n.next() - 0.5) * 8.0).clamp(0.0, 100.0);
        self.mem = (self.mem + (n.next() - 0.5) * 4e6).clamp(1e9, 20e9);
        self.used += n.next() * 2e4;
        self.frames += 1;
        let burst = |n: &mut Noise, scale: f64| if n.next() < 0.2 { n.next() * scale } else { 0.0 };
        let cores = vec![
            (self.cpu + n.next() * 5.0) as f32,
            (self.cpu - n.next() * 5.0).max(0.0) as f32,
        ];
        let net = ["eth0", "ifb0", "ifb1", "lo"]
            .iter()
            .map(|name| NetIface {
                name: name.to_string(),
                rx_bps: burst(n, 2e5),
                tx_bps: burst(n, 1e5),
            })
            .collect();
        let mem = self.mem as u64 / 1024 * 1024;
        let used = self.used as u64 / 4096 * 4096;
        Sample {
            ts,
            cpu: Cpu {
                total: self.cpu as f32,
                cores,
            },
            load: Load {
                one: self.cpu / 50.0,
                five: self.cpu / 60.0,
                fifteen: 0.7,
            },
            memory: Memory {
                total: 25_000_000_000,
                used: mem,
                available: 25_000_000_000 - mem,
                swap_total: 0,
                swap_used: 0,
                top: vec![],
            },
            disks: vec![Disk {
                device: "vda".into(),
                mount: "/".into(),
                fs: "ext4".into(),
                total: 270_553_174_016,
                used,
                available: 80_000_000_000 - used,
                reserved: 170_000_000_000,
                read_bps: burst(n, 1e6),
                write_bps: burst(n, 4e6),
                read_iops: burst(n, 50.0).round(),
                write_iops: burst(n, 200.0).round(),
            }],
            net,
            vigil: SelfStats {
                ws_clients: 1,
                frames_per_s: 1.0,
                frames_sent_total: self.frames,
                collector_ms: 0.5 + n.next(),
                rss: 11_000_000 + (n.next() * 100_000.0) as u64 / 4096 * 4096,
                cpu: (n.next() * 0.5) as f32,
                store_write_ms: 0.3 + n.next(),
                ..Default::default()
            },
        }
    }
}

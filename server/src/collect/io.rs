//! Per-device I/O rates from `/proc/diskstats` (procfs), which sysinfo does
//! not give per device with operation counts.

use std::collections::HashMap;
use std::time::Instant;

/// Bytes per sector in `/proc/diskstats`, whatever the device's real sector size.
const SECTOR: f64 = 512.0;

/// Read/write throughput of one block device.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct IoRate {
    pub(crate) read_bps: f64,
    pub(crate) write_bps: f64,
    pub(crate) read_iops: f64,
    pub(crate) write_iops: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Counters {
    reads: u64,
    sectors_read: u64,
    writes: u64,
    sectors_written: u64,
}

/// Turns successive counter readings into rates.
#[derive(Default)]
pub(crate) struct DiskIo {
    last: HashMap<String, Counters>,
    at: Option<Instant>,
}

impl DiskIo {
    /// Reads the counters now and returns rates since the previous reading
    /// (none on the first call, or when `/proc/diskstats` is unreadable).
    pub(crate) fn refresh(&mut self) -> HashMap<String, IoRate> {
        let Ok(stats) = procfs::diskstats() else {
            return HashMap::new();
        };
        let now = Instant::now();
        let counters = stats
            .into_iter()
            .map(|s| {
                let c = Counters {
                    reads: s.reads,
                    sectors_read: s.sectors_read,
                    writes: s.writes,
                    sectors_written: s.sectors_written,
                };
                (s.name, c)
            })
            .collect();
        let elapsed = self.at.map(|at| now - at).unwrap_or_default().as_secs_f64();
        self.at = Some(now);
        let rates = rates(&self.last, &counters, elapsed);
        self.last = counters;
        rates
    }
}

fn rates(prev: &HashMap<String, Counters>, now: &HashMap<String, Counters>, secs: f64) -> HashMap<String, IoRate> {
    if secs <= 0.0 {
        return HashMap::new();
    }
    // Counters wrap or reset (device re-attached): treat a decrease as zero.
    let per_s = |a: u64, b: u64| b.saturating_sub(a) as f64 / secs;
    now.iter()
        .filter_map(|(name, c)| {
            let p = prev.get(name)?;
            Some((
                name.clone(),
                IoRate {
                    read_bps: per_s(p.sectors_read, c.sectors_read) * SECTOR,
                    write_bps: per_s(p.sectors_written, c.sectors_written) * SECTOR,
                    read_iops: per_s(p.reads, c.reads),
                    write_iops: per_s(p.writes, c.writes),
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(reads: u64, sectors_read: u64, writes: u64, sectors_written: u64) -> Counters {
        Counters {
            reads,
            sectors_read,
            writes,
            sectors_written,
        }
    }

    #[test]
    fn rates_are_deltas_over_time() {
        let prev = HashMap::from([("vda".to_string(), c(10, 100, 20, 200))]);
        let now = HashMap::from([
            ("vda".to_string(), c(30, 500, 20, 1000)),
            ("new".to_string(), c(1, 1, 1, 1)),
        ]);
        let r = rates(&prev, &now, 2.0);
        assert_eq!(
            r["vda"],
            IoRate {
                read_bps: 200.0 * 512.0,
                write_bps: 400.0 * 512.0,
                read_iops: 10.0,
                write_iops: 0.0
            }
        );
        assert!(!r.contains_key("new"), "no rate without a previous reading");
    }

    #[test]
    fn counter_resets_do_not_go_negative() {
        let prev = HashMap::from([("vda".to_string(), c(100, 100, 100, 100))]);
        let now = HashMap::from([("vda".to_string(), c(1, 1, 1, 1))]);
        assert_eq!(rates(&prev, &now, 1.0)["vda"], IoRate::default());
        assert!(rates(&prev, &now, 0.0).is_empty());
    }

    #[test]
    fn reads_this_machine() {
        let mut io = DiskIo::default();
        assert!(io.refresh().is_empty(), "first reading has no rates");
        // Second reading yields one entry per device listed in /proc/diskstats.
        let listed = procfs::diskstats().map(|d| d.len()).unwrap_or(0);
        assert_eq!(io.refresh().len(), listed);
    }
}

//! History of a filling root filesystem, written in the store's own
//! format, for the fill forecast's tests and its benchmark (which
//! includes this file by path).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use app::metrics::{Disk, Sample};
use vigil::signals::StoreStats;
use vigil::store::{self, writer::Writer, Tiers};

/// Writes into `root/data` (a data dir Vigil then starts on) a point a
/// minute for the `minutes` before `now`: the root filesystem at
/// `percent(i)` used for the i-th minute, oldest first.
pub fn write_root_fill(root: &Path, minutes: i64, now: i64, mut percent: impl FnMut(i64) -> f64) {
    let dir = root.join("data");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(store::FILE_NAME);
    let mut writer = Writer::new(
        store::open(&path).unwrap(),
        path.clone(),
        Tiers::standard(Duration::from_secs(1)),
        Arc::new(StoreStats::default()),
    );
    let samples: Vec<Arc<Sample>> = (0..minutes)
        .map(|i| {
            let used = (percent(i).clamp(0.0, 100.0) * 10_000.0) as u64;
            Arc::new(Sample {
                ts: now - (minutes - i) * 60_000,
                disks: vec![Disk {
                    mount: "/".into(),
                    total: 1_000_000,
                    used,
                    available: 1_000_000 - used,
                    ..Default::default()
                }],
                ..Default::default()
            })
        })
        .collect();
    writer.write(&samples).unwrap();
}

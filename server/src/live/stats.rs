//! The live stream's own counters: one small shared handle that the hub and
//! the socket tasks update and the collector reads for Vigil's self figures
//! (so the collector needs nothing else from the live side).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Counters about the live stream.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub clients: AtomicU64,
    pub frames_sent: AtomicU64,
    pub lagged: AtomicU64,
    /// Longest publish-to-write delay since it was last taken, in µs.
    pub max_delay_us: AtomicU64,
}

impl LiveStats {
    pub fn record_delay(&self, delay: Duration) {
        self.max_delay_us.fetch_max(delay.as_micros() as u64, Ordering::Relaxed);
    }

    /// The longest delay since the last call, in milliseconds; resets it.
    pub fn take_max_delay_ms(&self) -> f64 {
        self.max_delay_us.swap(0, Ordering::Relaxed) as f64 / 1000.0
    }
}

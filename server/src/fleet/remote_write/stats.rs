//! The push's own figures, shared between the sender task, `/metrics`,
//! the Vigil card and the history (through the sample's self stats).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use app::metrics::RemoteWriteFigures;

/// Updated by the sender, read by anyone.
#[derive(Debug, Default)]
pub struct WriteStats {
    pub queued: AtomicU64,
    pub capacity: AtomicU64,
    pub sent_total: AtomicU64,
    pub failed_sends_total: AtomicU64,
    pub dropped_total: AtomicU64,
    /// f64 bits of the last request's duration in milliseconds.
    pub last_send_ms_bits: AtomicU64,
    pub last_success: AtomicI64,
}

impl WriteStats {
    pub fn set_last_send_ms(&self, ms: f64) {
        self.last_send_ms_bits.store(ms.to_bits(), Ordering::Relaxed);
    }

    /// A consistent-enough copy for one sample.
    pub fn figures(&self) -> RemoteWriteFigures {
        RemoteWriteFigures {
            queued: self.queued.load(Ordering::Relaxed),
            capacity: self.capacity.load(Ordering::Relaxed),
            sent_total: self.sent_total.load(Ordering::Relaxed),
            failed_sends_total: self.failed_sends_total.load(Ordering::Relaxed),
            dropped_total: self.dropped_total.load(Ordering::Relaxed),
            last_send_ms: f64::from_bits(self.last_send_ms_bits.load(Ordering::Relaxed)),
            last_success: self.last_success.load(Ordering::Relaxed),
        }
    }
}

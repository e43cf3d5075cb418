//! Vigil's own counters, one small shared handle per sink: the live
//! stream's (kept by the hub and the socket tasks), the store's (kept by
//! the writer) and the remote write's (kept by its sender). The collector
//! reads them for Vigil's self figures, the health rollup and `/metrics`
//! judge and expose them: none of those reaches into the sink itself.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use app::metrics::RemoteWriteFigures;

/// Counters about the live stream.
#[derive(Debug, Default)]
pub struct LiveStats {
    pub(crate) clients: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) lagged: AtomicU64,
    /// Longest publish-to-write delay since it was last taken, in µs.
    pub(crate) max_delay_us: AtomicU64,
}

impl LiveStats {
    pub(crate) fn record_delay(&self, delay: Duration) {
        self.max_delay_us.fetch_max(delay.as_micros() as u64, Ordering::Relaxed);
    }

    /// The longest delay since the last call, in milliseconds; resets it.
    pub(crate) fn take_max_delay_ms(&self) -> f64 {
        self.max_delay_us.swap(0, Ordering::Relaxed) as f64 / 1000.0
    }
}

/// Figures about the history store: kept by its writer, read by the
/// collector (for Vigil's own figures) and the health rollup.
#[derive(Debug, Default)]
pub struct StoreStats {
    /// Duration of the last batch write, in µs.
    pub(crate) last_write_us: AtomicU64,
    /// Size of the database file plus its WAL, in bytes.
    pub(crate) bytes: AtomicU64,
    /// Samples written (series values) since start.
    pub values_written: AtomicU64,
    /// Batches that failed to write since start.
    pub(crate) write_errors: AtomicU64,
    /// Batches that failed in a row, up to the last one (0 when it succeeded).
    pub(crate) failing_batches: AtomicU64,
    /// Samples dropped because the writer could not keep up.
    pub(crate) dropped: AtomicU64,
    /// 1 once the store is open.
    pub(crate) open: AtomicU64,
    /// Why the last batch failed, while batches fail.
    pub(crate) last_error: Mutex<Option<String>>,
    /// Why the store could not be opened, when it could not.
    pub(crate) open_error: Mutex<Option<String>>,
}

impl StoreStats {
    pub(crate) fn last_write_ms(&self) -> f64 {
        self.last_write_us.load(Ordering::Relaxed) as f64 / 1000.0
    }

    /// Why the last batch failed, if the last one did.
    pub(crate) fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn set_error(&self, error: Option<String>) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    /// Why the store could not be opened, if it could not.
    pub(crate) fn open_error(&self) -> Option<String> {
        self.open_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The remote write's figures: kept by its sender, read by `/metrics`,
/// the Vigil card and the history (through the sample's self figures).
#[derive(Debug, Default)]
pub struct WriteStats {
    pub(crate) queued: AtomicU64,
    pub(crate) capacity: AtomicU64,
    pub sent_total: AtomicU64,
    pub(crate) failed_sends_total: AtomicU64,
    pub(crate) dropped_total: AtomicU64,
    /// f64 bits of the last request's duration in milliseconds.
    pub(crate) last_send_ms_bits: AtomicU64,
    pub(crate) last_success: AtomicI64,
}

impl WriteStats {
    pub(crate) fn set_last_send_ms(&self, ms: f64) {
        self.last_send_ms_bits.store(ms.to_bits(), Ordering::Relaxed);
    }

    /// A consistent-enough copy for one sample.
    pub(crate) fn figures(&self) -> RemoteWriteFigures {
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

/// Every sink's counters, as the collector and the rollup read them.
#[derive(Clone, Debug, Default)]
pub(crate) struct SelfStats {
    pub(crate) live: std::sync::Arc<LiveStats>,
    pub(crate) store: std::sync::Arc<StoreStats>,
    /// The remote-write queue, when `[remote_write]` is set.
    pub(crate) remote_write: Option<std::sync::Arc<WriteStats>>,
}

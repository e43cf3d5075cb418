//! The bottom layer: what the features publish to and subscribe from,
//! owned by none of them.
//!
//! - [`clock`]: the one clock (Unix ms).
//! - [`samples`]: the sample bus: every collector tick, to every sink, and
//!   the latest sample.
//! - [`checks`]: the check event bus: every round and announced transition
//!   of the outside checks, and the latest state of each.
//! - [`health`]: the health bus: every rollup worth announcing, and the
//!   latest.
//! - [`alerts`]: the alerts bus: the pending and firing alerts whenever
//!   they change.
//! - [`stats`]: the counters Vigil's own figures come from (live stream,
//!   store, remote write): each kept by its sink, read by the collector,
//!   the health rollup and `/metrics`.
//!
//! Sources (`collect`, `checks`) publish here; sinks (`live`, `store`,
//! `health`, `remote_write`) subscribe here; none reaches into another.
//! (The health monitor is a sink of samples and checks and the source of
//! the health bus, which the live hub reads.)

pub(crate) mod alerts;
pub(crate) mod checks;
pub mod clock;
pub(crate) mod health;
pub(crate) mod samples;
pub(crate) mod stats;

pub use alerts::AlertsBus;
pub use checks::{CheckBus, CheckEvent};
pub use health::HealthBus;
pub(crate) use samples::SampleBus;
pub use stats::{LiveStats, StoreStats, WriteStats};

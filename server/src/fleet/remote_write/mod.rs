//! Prometheus remote write: every catalog series, pushed on an interval
//! through a bounded queue that rides out a receiver outage.

mod stats;

pub use stats::WriteStats;

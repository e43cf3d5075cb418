//! The live stream behind `GET /ws`.
//!
//! - [`hub`]: subscribes to the sample bus, gives each frame its `seq`,
//!   serializes it once, keeps a replay ring and broadcasts the shared bytes.
//! - [`checks`]: gathers check rounds and transitions into `checks` frames.
//! - [`ws`]: one reader and one writer task per client, fed by the hub.
//! - [`stats`]: the counters both keep, read by the collector.

pub mod checks;
pub mod hub;
pub mod stats;
pub mod ws;

pub use hub::Hub;
pub use stats::LiveStats;

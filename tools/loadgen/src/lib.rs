//! Load and footprint measurement for the Vigil server.
//!
//! The binary (`vigil-load`) has these modes:
//!
//! * `ws`: opens many WebSocket clients against `/ws` and measures how late
//!   `sample` frames arrive relative to the time they were collected, plus
//!   sequence gaps, resyncs, disconnects and the server's RSS / CPU.
//! * `idle`: samples the RSS and CPU time of a few processes side by side,
//!   for comparing an idle Vigil with another monitoring tool.
//! * `floor`: a minimal server that writes one pre-framed `sample` per
//!   client per tick, the floor `ws` results for Vigil are compared with.
//! * `herd`: connects clients, lets the server restart once, and measures
//!   how they come back on the browser's reconnect schedule.
//!
//! Everything here only ever talks to loopback addresses.

pub mod floor;
pub mod frame;
pub mod herd;
pub mod idle;
pub mod procfs;
pub mod reconnect;
pub mod stats;
pub mod target;
pub mod wire;
pub mod ws;

//! Load and footprint measurement for the Vigil server.
//!
//! The binary (`vigil-load`) has two modes:
//!
//! * `ws`: opens many WebSocket clients against `/ws` and measures how late
//!   `sample` frames arrive relative to the time they were collected, plus
//!   sequence gaps, resyncs, disconnects and the server's RSS / CPU.
//! * `idle`: samples the RSS and CPU time of a few processes side by side,
//!   for comparing an idle Vigil with another monitoring tool.
//!
//! Everything here only ever talks to loopback addresses.

pub mod frame;
pub mod idle;
pub mod procfs;
pub mod stats;
pub mod target;
pub mod ws;

//! Many hosts: this Vigil's series pushed to a Prometheus-compatible
//! engine (remote write), that engine read back as a history backend for
//! any host it knows, and the fleet view over all of them.

pub mod config;
pub mod hosts;
pub mod promql;
pub mod remote;
pub mod remote_write;

pub use hosts::Fleet;

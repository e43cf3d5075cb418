//! Many hosts, the read side: a Prometheus-compatible engine read back as
//! a history backend for any host it knows, and the fleet view over all of
//! them. (This Vigil's own series reach the engine through
//! `remote_write`, a sink beside the store.)

pub(crate) mod config;
pub(crate) mod hosts;
pub(crate) mod promql;
pub(crate) mod remote;

pub(crate) use hosts::Fleet;

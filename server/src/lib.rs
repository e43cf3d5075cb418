//! The Vigil server: collects host metrics, streams them live, and serves
//! the Leptos app.
//!
//! Parts, and how data moves between them:
//! - [`collector`]: samples the host on a timer (sysinfo, procfs) on the
//!   blocking pool and publishes each [`app::metrics::Sample`] to the hub.
//! - [`hub`]: gives each frame its `seq`, serializes it once, keeps a replay
//!   ring, and broadcasts the shared bytes.
//! - [`ws`]: `GET /ws`, one reader and one writer task per client, fed by
//!   the hub; resume with `?since=SEQ`, resync when a client falls behind.
//! - [`health`]: the rollup behind `/healthz` and the health server function.
//! - [`prom`]: `GET /metrics` in the Prometheus text format.
//! - [`engine`]: implements the app's `Engine` trait over the hub and health,
//!   provided to server functions as Leptos context.
//! - [`server`]: wiring, the axum router, and graceful shutdown;
//!   [`config`] is the TOML file; [`site`] finds and precompresses the front end.

pub mod collector;
pub mod config;
pub mod engine;
pub mod error;
pub mod health;
pub mod hub;
pub mod prom;
pub mod server;
pub mod site;
pub mod state;
pub mod ws;

pub use server::{Options, Server, StartError};

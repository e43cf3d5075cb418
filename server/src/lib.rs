//! The Vigil server: collects host metrics, streams them live, judges
//! health, and serves the Leptos app.
//!
//! Parts, one folder or file each, and how data moves between them:
//!
//! ```text
//! collect (timer, blocking pool) --Arc<Sample>--> bus --+--> live::hub --frames--> live::ws --> browsers
//!                                                       +--> health::announce --health frames--> live::hub
//!                                                       +--> store (writer thread, SQLite) <-- engine range queries
//!                                                       +--> (latest) --> http::prom, health::Monitor, engine
//!                                                       +--> fleet::remote_write --snappy protobuf--> Prometheus-compatible receiver
//! browsers --server fns--> app (MetricsQuery, HealthQuery) --> engine --> hub / bus / monitor
//! ```
//!
//! - [`app`]: the composition root: builds and wires everything, shutdown.
//! - [`auth`]: accounts, sessions, the sign-in rate limit, and the gate
//!   every request passes.
//! - [`bus`]: the typed sample broadcast every collector tick goes through.
//! - [`collect`]: host metrics (sysinfo, statvfs, procfs) on a timer.
//! - [`catalog`]: every series Vigil keeps, declared once.
//! - [`live`]: the hub (seq, replay ring, serialize once) and `/ws`.
//! - [`health`]: the rollup and its announcements on the live stream.
//! - [`checks`]: outside services (HTTP, TCP, WebSocket, Ethereum JSON-RPC)
//!   probed on their interval with retries, breakers and webhooks; each is
//!   a component of the rollup.
//! - [`store`]: history in SQLite: batched writes, compressed blocks, tiers.
//! - [`engine`]: the app's query traits, implemented over the parts above.
//! - [`http`]: the router, `/healthz`, `/metrics`, static files, errors;
//!   the accept loop (connection cap, header and idle timeouts, TLS) and
//!   the security headers and body limit every request goes through.
//! - [`fleet`]: many hosts: every series pushed to a Prometheus-compatible
//!   engine (remote write, with check rounds too) through a bounded queue.
//! - [`config`]: the TOML file.
//! - [`private`]: the data dir and databases, readable by Vigil's user only.

pub mod app;
pub mod auth;
pub mod catalog;
pub mod checks;
pub(crate) mod collect;
pub mod config;
pub(crate) mod fleet;
pub(crate) mod health;
pub mod http;
pub(crate) mod live;
pub(crate) mod local;
pub mod outbound;
pub mod private;
pub mod remote_write;
pub mod signals;
pub mod store;

pub use app::{Options, Server, StartError};

//! The Vigil server: collects host metrics, checks outside services,
//! streams both live, keeps history, judges health, and serves the Leptos
//! app.
//!
//! Parts, in layers: an arrow only points down (no two modules import each
//! other), and each part publishes to or subscribes from `signals`,
//! never reaching into another part beside it.
//!
//! ```text
//! top        app (wiring)   http (router, accept loop)   auth (gate, accounts)   config (the file)
//! read side  local (this host's queries)   fleet (an engine's hosts, PromQL)   status (public pages, incidents, reports)
//! sinks      live (hub, /ws)   store (SQLite)   remote_write (push)   health (rollup)   alerts (rules, channels)
//! sources    collect (host metrics)   checks (outside services)
//! signals    samples · checks · health · stats · clock
//! shared     catalog (the series)   outbound (outgoing HTTP)   private (files, secrets)   coding (Accept-Encoding)   footprint
//! ```
//!
//! How data moves:
//!
//! ```text
//! collect --Sample--> signals::samples --+--> live::hub --frames--> live::ws --> browsers
//! checks --CheckEvent--> signals::checks +--> store (writer thread, SQLite)
//!                                        +--> remote_write --snappy protobuf--> Prometheus-compatible receiver
//!                                        +--> health::Monitor --rollups--> signals::health --> live::hub, alerts
//!                                        +--> alerts (rules, mutes, routes) --messages--> channels
//!                                                    --pending, firing--> signals::alerts --> live::hub
//! sinks --counters--> signals::stats --> collect (Vigil's own figures), health, /metrics
//! browsers --server fns--> app crate traits --> local (store, hub, monitor) | fleet (engine)
//! ```
//!
//! - [`app`]: the composition root: builds and wires everything, shutdown.
//! - [`signals`]: the bottom layer: the sample, check and health buses,
//!   the sinks' counters, the clock.
//! - [`collect`]: host metrics (sysinfo, statvfs, procfs) on a timer.
//! - [`checks`]: outside services (HTTP, TCP, WebSocket, Ethereum JSON-RPC)
//!   probed on their interval with retries, breakers and webhooks; each is
//!   a component of the rollup.
//! - [`live`]: the hub (seq, replay ring, serialize once) and `/ws`.
//! - [`alerts`]: rules over every series, check and component; silences,
//!   maintenance windows, dependencies; routes, groups and repeats; the
//!   channels (webhook, email, chat and push services, Alertmanager).
//! - [`store`]: history in SQLite: batched writes, compressed blocks, tiers.
//! - [`remote_write`]: every series pushed to a Prometheus-compatible
//!   receiver through a bounded queue.
//! - [`health`]: the rollup, its thresholds, and its announcements.
//! - [`local`]: the app's query traits, implemented over this host's parts.
//! - [`fleet`]: many hosts: an engine's hosts and their history, by PromQL.
//! - [`status`]: public status pages (rendered once per change, served
//!   from memory), incidents in `status.db`, badges, SLA reports.
//! - [`http`]: the router and its narrow states, `/healthz`, `/metrics`,
//!   static files; the one normal path; the accept loop (connection caps,
//!   header, idle and body timeouts, TLS) and the security headers.
//! - [`auth`]: accounts, sessions, the door policy and the gate every
//!   request passes.
//! - [`config`]: the TOML file, its sections from their owners.
//! - [`entries`]: what the config's arrays of tables share.
//! - [`catalog`]: every series Vigil keeps, declared once.
//! - [`outbound`]: what every outgoing request shares.
//! - [`footprint`]: giving back the binary's pages that only start-up used.
//! - [`coding`]: which content codings a request accepts.
//! - [`private`]: the data dir and databases, readable by Vigil's user
//!   only, and secrets read from files.

pub mod alerts;
pub mod app;
pub mod auth;
pub mod catalog;
pub mod checks;
pub(crate) mod coding;
pub(crate) mod collect;
pub mod config;
pub(crate) mod entries;
pub(crate) mod fleet;
pub mod footprint;
pub(crate) mod health;
pub mod http;
pub(crate) mod live;
pub(crate) mod local;
pub mod outbound;
pub mod private;
pub mod remote_write;
pub mod signals;
pub mod status;
pub mod store;

pub use app::{Options, Server, StartError};

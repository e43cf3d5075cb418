//! Many hosts: the fleet list (`/hosts`, `GET /api/v1/hosts`) and the
//! choice of whose metrics a query reads.
//!
//! The server answers through [`FleetQuery`] (server only): this host from
//! its own collector and store, every other host from a Prometheus-compatible
//! engine (`[fleet]` in the config) with PromQL.

mod list;
mod view;

pub use list::{HostsView, SortKey};
pub use view::HostsTable;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::health::Status;

/// The fullest filesystem of a host.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DiskFill {
    pub mount: String,
    /// Used space in percent, as df shows it.
    pub percent: f64,
}

/// One host of the fleet, as `GET /api/v1/hosts` lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HostSummary {
    /// The host's `[host] name`: the `instance` label of its series.
    pub name: String,
    /// Unix ms of its newest sample; `None` when the engine holds none recent.
    pub last_seen: Option<i64>,
    /// CPU usage of all cores, percent.
    pub cpu_percent: Option<f64>,
    /// Used RAM, percent of total.
    pub memory_percent: Option<f64>,
    pub disk: Option<DiskFill>,
    /// Up, degraded (past a warning threshold, or a check down), down (past
    /// a down threshold), unknown (not heard from lately).
    pub status: Status,
    /// Why, in words.
    pub reason: String,
    /// This Vigil's own host (its figures are live, not from the engine).
    pub local: bool,
}

/// Why the fleet list could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    /// The engine could not be asked or answered with an error; the
    /// detail is logged.
    #[error("the metrics engine is unavailable: {0}")]
    Unavailable(String),
}

impl crate::error::PublicError for FleetError {
    fn status(&self) -> u16 {
        503
    }

    fn public_message(&self) -> String {
        "the metrics engine is unavailable right now".into()
    }
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use super::*;
    use crate::metrics::MetricsError;

    /// The fleet queries the server answers for the app.
    #[async_trait::async_trait]
    pub trait FleetQuery: Send + Sync + 'static {
        /// Every host: this one, and those the engine knows. By name.
        async fn hosts(&self) -> Result<Vec<HostSummary>, FleetError>;
    }

    /// The fleet provided for this request.
    pub fn use_fleet() -> Result<Arc<dyn FleetQuery>, MetricsError> {
        crate::auth::require_principal().map_err(|_| MetricsError::SignedOut)?;
        use_context::<Arc<dyn FleetQuery>>()
            .ok_or_else(|| MetricsError::Unavailable("no FleetQuery in the server function's context".into()))
    }
}

/// Every host, by name: `GET /api/v1/hosts`.
#[server(prefix = "/api/v1", endpoint = "hosts", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_hosts() -> Result<Vec<HostSummary>, ApiError> {
    let fleet = use_fleet()?;
    Ok(fleet.hosts().await?)
}

//! Health rollup: one status per component (the live hub, the collectors,
//! memory, each filesystem; later each outside check) and the worst of them
//! as Vigil's own status. The server computes it (`vigil::health`) and
//! announces changes on the live stream as `health` frames; this module
//! holds the wire types, the query trait and server function, and the panel.

mod view;

use serde::{Deserialize, Serialize};

pub use view::HealthPanel;

/// The status of one component, ordered from best to worst so that the
/// rollup is the maximum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Up,
    /// Works, but past a warning threshold.
    Degraded,
    /// Nothing is known yet (e.g. no sample collected so far).
    Unknown,
    Down,
}

impl Status {
    /// The lowercase word used on the wire and in CSS classes.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Up => "up",
            Status::Degraded => "degraded",
            Status::Unknown => "unknown",
            Status::Down => "down",
        }
    }
}

/// One component of the rollup.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ComponentHealth {
    pub name: String,
    pub status: Status,
    /// Why the component has this status, in words a person can act on.
    pub reason: String,
}

/// The rollup: the worst component status, and every component.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    pub status: Status,
    /// Unix time in milliseconds when the rollup was computed.
    pub ts: i64,
    pub components: Vec<ComponentHealth>,
}

impl HealthReport {
    /// Builds a report whose overall status is the worst of its components
    /// (`unknown` when there are none).
    pub fn from_components(ts: i64, components: Vec<ComponentHealth>) -> Self {
        let status = components.iter().map(|c| c.status).max().unwrap_or(Status::Unknown);
        HealthReport { status, ts, components }
    }
}

/// Why a health query failed.
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The engine could not answer; the detail is logged.
    #[error("health unavailable: {0}")]
    Unavailable(String),
    /// No principal came with the request: the engine is handed only to
    /// one, whatever the gate decided (defence in depth).
    #[error("sign in first")]
    SignedOut,
}

impl crate::error::PublicError for HealthError {
    fn status(&self) -> u16 {
        match self {
            HealthError::Unavailable(_) => 503,
            HealthError::SignedOut => 401,
        }
    }

    fn public_message(&self) -> String {
        match self {
            HealthError::Unavailable(_) => "health is unavailable right now".into(),
            other => other.to_string(),
        }
    }
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use leptos::prelude::use_context;

    use super::*;

    /// The health queries the server answers for the app.
    #[async_trait::async_trait]
    pub trait HealthQuery: Send + Sync + 'static {
        /// The rollup as of now.
        async fn health(&self) -> Result<HealthReport, HealthError>;
    }

    /// The health engine provided for this request.
    pub fn use_health() -> Result<Arc<dyn HealthQuery>, HealthError> {
        crate::auth::require_principal().map_err(|_| HealthError::SignedOut)?;
        use_context::<Arc<dyn HealthQuery>>()
            .ok_or_else(|| HealthError::Unavailable("no HealthQuery in the server function's context".into()))
    }
}

/// The health rollup, also served as `GET /api/v1/health`.
#[leptos::server(prefix = "/api/v1", endpoint = "health", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_health() -> Result<HealthReport, crate::error::ApiError> {
    let health = use_health()?;
    Ok(health.health().await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(status: Status) -> ComponentHealth {
        ComponentHealth {
            name: "x".into(),
            status,
            reason: String::new(),
        }
    }

    #[test]
    fn rollup_is_the_worst_component() {
        let r = HealthReport::from_components(0, vec![c(Status::Up), c(Status::Degraded)]);
        assert_eq!(r.status, Status::Degraded);
        let r = HealthReport::from_components(0, vec![c(Status::Down), c(Status::Unknown)]);
        assert_eq!(r.status, Status::Down);
        assert_eq!(HealthReport::from_components(0, vec![]).status, Status::Unknown);
    }

    #[test]
    fn status_is_lowercase_on_the_wire() {
        assert_eq!(serde_json::to_string(&Status::Degraded).unwrap(), "\"degraded\"");
        assert_eq!(serde_json::from_str::<Status>("\"down\"").unwrap(), Status::Down);
    }
}

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

    /// Takes in what changed since the report this one was: the overall
    /// status and time, and each changed component by name (a name this
    /// report lacks is added at the end).
    pub fn apply(&mut self, changes: HealthChanges) {
        self.status = changes.status;
        self.ts = changes.ts;
        for component in changes.changed {
            match self.components.iter_mut().find(|c| c.name == component.name) {
                Some(known) => *known = component,
                None => self.components.push(component),
            }
        }
    }
}

/// The live stream's `health_changes` frame: what changed in the rollup
/// since the previous one. With a thousand checks a whole rollup is tens
/// of kilobytes, and Vigil's own reasons move every few seconds; this
/// carries only the components whose status or reason moved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthChanges {
    pub status: Status,
    pub ts: i64,
    pub changed: Vec<ComponentHealth>,
}

impl HealthChanges {
    /// What turns `last` into `next`, or `None` when the two do not name
    /// the same components in the same order (a component came or went):
    /// then only the whole report says it.
    pub fn between(last: &HealthReport, next: &HealthReport) -> Option<HealthChanges> {
        let same_names = last.components.len() == next.components.len()
            && last
                .components
                .iter()
                .zip(&next.components)
                .all(|(a, b)| a.name == b.name);
        if !same_names {
            return None;
        }
        let changed = last
            .components
            .iter()
            .zip(&next.components)
            .filter(|(a, b)| a != b)
            .map(|(_, b)| b.clone())
            .collect();
        Some(HealthChanges {
            status: next.status,
            ts: next.ts,
            changed,
        })
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

    fn named(name: &str, status: Status, reason: &str) -> ComponentHealth {
        ComponentHealth {
            name: name.into(),
            status,
            reason: reason.into(),
        }
    }

    #[test]
    fn changes_carry_what_moved_and_apply_back() {
        let last = HealthReport::from_components(
            1,
            vec![
                named("a", Status::Up, "ok"),
                named("b", Status::Up, "ok"),
                named("c", Status::Up, "ok"),
            ],
        );
        let next = HealthReport::from_components(
            2,
            vec![
                named("a", Status::Up, "ok"),
                named("b", Status::Up, "slow"),
                named("c", Status::Down, "gone"),
            ],
        );
        let changes = HealthChanges::between(&last, &next).unwrap();
        assert_eq!(changes.changed, next.components[1..].to_vec());
        assert_eq!((changes.status, changes.ts), (Status::Down, 2));
        let mut applied = last.clone();
        applied.apply(changes);
        assert_eq!(applied, next);
        let unchanged = HealthChanges::between(&next, &next).unwrap();
        assert!(unchanged.changed.is_empty());
    }

    #[test]
    fn a_component_that_comes_or_goes_needs_the_whole_report() {
        let two = HealthReport::from_components(1, vec![named("a", Status::Up, ""), named("b", Status::Up, "")]);
        let one = HealthReport::from_components(1, vec![named("a", Status::Up, "")]);
        let renamed = HealthReport::from_components(1, vec![named("a", Status::Up, ""), named("z", Status::Up, "")]);
        assert_eq!(HealthChanges::between(&two, &one), None);
        assert_eq!(HealthChanges::between(&one, &two), None);
        assert_eq!(HealthChanges::between(&two, &renamed), None);
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

//! The status queries: a trait the server implements, and the server
//! functions the dashboard and the API call. Reading incidents and reports
//! needs a session; opening, updating, publishing and discarding
//! incidents needs an admin.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Impact, Incident, IncidentStatus, IncidentsBoard, Report};
use crate::error::{check_length, ApiError};

/// Why a status query failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("no status page is named {0:?}")]
    UnknownPage(String),
    #[error("no incident #{0}")]
    UnknownIncident(i64),
    /// The engine could not answer; the detail is logged.
    #[error("status unavailable: {0}")]
    Unavailable(String),
    #[error("sign in first")]
    SignedOut,
    #[error("only an admin may do this")]
    Forbidden,
}

impl crate::error::PublicError for StatusError {
    fn status(&self) -> u16 {
        match self {
            StatusError::InvalidArgument(_) => 400,
            StatusError::UnknownPage(_) | StatusError::UnknownIncident(_) => 404,
            StatusError::Unavailable(_) => 503,
            StatusError::SignedOut => 401,
            StatusError::Forbidden => 403,
        }
    }

    fn public_message(&self) -> String {
        match self {
            StatusError::Unavailable(_) => "status pages are unavailable right now".into(),
            other => other.to_string(),
        }
    }
}

const MAX_TITLE: usize = 200;
const MAX_BODY: usize = 5_000;

/// A new incident, as the dashboard's form and `POST /api/v1/incidents/open` send it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewIncident {
    /// The status page's slug.
    pub page: String,
    pub title: String,
    pub impact: Impact,
    pub status: IncidentStatus,
    /// The first update's text.
    pub body: String,
}

impl NewIncident {
    /// Trims the fields and refuses what no incident could be.
    pub fn validated(self) -> Result<NewIncident, StatusError> {
        let bad = StatusError::InvalidArgument;
        let n = NewIncident {
            page: self.page.trim().to_string(),
            title: self.title.trim().to_string(),
            body: self.body.trim().to_string(),
            ..self
        };
        check_length("page", &n.page, 64).map_err(bad)?;
        check_length("title", &n.title, MAX_TITLE).map_err(bad)?;
        if n.title.is_empty() {
            return Err(bad("an incident needs a title".into()));
        }
        validate_body(&n.body)?;
        Ok(n)
    }
}

/// An update's text: what readers are told, 1 to 5,000 bytes.
pub fn validate_body(body: &str) -> Result<(), StatusError> {
    check_length("update", body, MAX_BODY).map_err(StatusError::InvalidArgument)?;
    if body.trim().is_empty() {
        return Err(StatusError::InvalidArgument(
            "say what is happening in the update".into(),
        ));
    }
    Ok(())
}

/// An impact word from a form, or a clear error.
pub fn parse_impact(text: &str) -> Result<Impact, StatusError> {
    Impact::parse(text.trim())
        .ok_or_else(|| StatusError::InvalidArgument(format!("impact {text:?}: one of none, minor, major, critical")))
}

/// An incident status word from a form, or a clear error.
pub fn parse_status(text: &str) -> Result<IncidentStatus, StatusError> {
    IncidentStatus::parse(text.trim()).ok_or_else(|| {
        StatusError::InvalidArgument(format!(
            "status {text:?}: one of investigating, identified, monitoring, resolved"
        ))
    })
}

/// The longest range a report covers: the hour rollups' two years, and a bit.
pub const MAX_REPORT_MS: i64 = 800 * 86_400_000;

/// Checks a report's range: `from` before `to`, at most [`MAX_REPORT_MS`].
pub fn validate_range(from: i64, to: i64) -> Result<(), StatusError> {
    if from >= to {
        return Err(StatusError::InvalidArgument(format!(
            "from ({from}) must be before to ({to})"
        )));
    }
    if to - from > MAX_REPORT_MS {
        return Err(StatusError::InvalidArgument(
            "a report covers at most 800 days (the hour rollups keep two years)".into(),
        ));
    }
    if from < 0 {
        return Err(StatusError::InvalidArgument("from is before 1970".into()));
    }
    Ok(())
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use super::*;

    /// Status pages, incidents and reports, as the server functions reach them.
    #[async_trait::async_trait]
    pub trait StatusQuery: Send + Sync + 'static {
        /// The pages and their incidents.
        async fn board(&self) -> IncidentsBoard;
        async fn open_incident(&self, incident: NewIncident, by: &str) -> Result<Incident, StatusError>;
        /// Adds an update; a `resolved` one resolves the incident.
        async fn update_incident(
            &self,
            id: i64,
            status: IncidentStatus,
            body: String,
            by: &str,
        ) -> Result<Incident, StatusError>;
        /// Makes a draft public.
        async fn publish_incident(&self, id: i64, by: &str) -> Result<Incident, StatusError>;
        /// Deletes a draft (a published incident is resolved, never deleted).
        async fn discard_draft(&self, id: i64, by: &str) -> Result<(), StatusError>;
        /// Every check's service level over `[from, to)`.
        async fn report(&self, from: i64, to: i64) -> Result<Report, StatusError>;
    }

    /// The status engine provided for this request, for any signed-in client.
    pub fn use_status() -> Result<Arc<dyn StatusQuery>, StatusError> {
        crate::auth::require_principal().map_err(|_| StatusError::SignedOut)?;
        use_context::<Arc<dyn StatusQuery>>()
            .ok_or_else(|| StatusError::Unavailable("no StatusQuery in the server function's context".into()))
    }

    /// The engine and the admin's name, for what changes something.
    pub fn use_status_as_admin() -> Result<(Arc<dyn StatusQuery>, String), StatusError> {
        let who = crate::auth::require_admin().map_err(|e| match e {
            crate::auth::AuthError::Forbidden => StatusError::Forbidden,
            _ => StatusError::SignedOut,
        })?;
        Ok((use_status()?, who.name.unwrap_or_else(|| "admin".into())))
    }
}

/// The status pages and their incidents: `GET /api/v1/incidents`.
#[server(prefix = "/api/v1", endpoint = "incidents", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_incidents() -> Result<IncidentsBoard, ApiError> {
    let status = use_status()?;
    let mut board = status.board().await;
    board.can_edit = crate::auth::principal().is_some_and(|p| p.is_admin());
    Ok(board)
}

/// Opens an incident on a status page: `POST /api/v1/incidents/open` (admins).
#[server(prefix = "/api/v1", endpoint = "incidents/open")]
pub async fn open_incident(
    page: String,
    title: String,
    impact: String,
    status: String,
    body: String,
) -> Result<Incident, ApiError> {
    let incident = NewIncident {
        page,
        title,
        impact: parse_impact(&impact)?,
        status: parse_status(&status)?,
        body,
    }
    .validated()?;
    let (engine, by) = use_status_as_admin()?;
    Ok(engine.open_incident(incident, &by).await?)
}

/// Adds a timestamped update (a `resolved` one resolves it):
/// `POST /api/v1/incidents/update` (admins).
#[server(prefix = "/api/v1", endpoint = "incidents/update")]
pub async fn update_incident(id: i64, status: String, body: String) -> Result<Incident, ApiError> {
    let status = parse_status(&status)?;
    let body = body.trim().to_string();
    validate_body(&body)?;
    let (engine, by) = use_status_as_admin()?;
    Ok(engine.update_incident(id, status, body, &by).await?)
}

/// Makes a draft public: `POST /api/v1/incidents/publish` (admins).
#[server(prefix = "/api/v1", endpoint = "incidents/publish")]
pub async fn publish_incident(id: i64) -> Result<Incident, ApiError> {
    let (engine, by) = use_status_as_admin()?;
    Ok(engine.publish_incident(id, &by).await?)
}

/// Deletes a draft: `POST /api/v1/incidents/discard` (admins).
#[server(prefix = "/api/v1", endpoint = "incidents/discard")]
pub async fn discard_draft(id: i64) -> Result<(), ApiError> {
    let (engine, by) = use_status_as_admin()?;
    Ok(engine.discard_draft(id, &by).await?)
}

/// Every check's service level over `[from, to)` (Unix ms):
/// `GET /api/v1/reports?from=&to=`.
#[server(prefix = "/api/v1", endpoint = "reports", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_report(from: i64, to: i64) -> Result<Report, ApiError> {
    validate_range(from, to)?;
    Ok(use_status()?.report(from, to).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_incident_needs_a_title_and_words() {
        let ok = NewIncident {
            page: " public ".into(),
            title: " API slow ".into(),
            body: " looking ".into(),
            ..Default::default()
        }
        .validated()
        .unwrap();
        assert_eq!(
            (ok.page.as_str(), ok.title.as_str(), ok.body.as_str()),
            ("public", "API slow", "looking")
        );
        let untitled = NewIncident {
            body: "x".into(),
            ..Default::default()
        };
        assert!(untitled.validated().unwrap_err().to_string().contains("title"));
        let silent = NewIncident {
            title: "x".into(),
            body: "  ".into(),
            ..Default::default()
        };
        assert!(silent.validated().is_err());
        let huge = NewIncident {
            title: "x".into(),
            body: "y".repeat(MAX_BODY + 1),
            ..Default::default()
        };
        assert!(huge.validated().unwrap_err().to_string().contains("too long"));
        assert!(parse_impact("catastrophic").is_err());
        assert_eq!(parse_status(" resolved ").unwrap(), IncidentStatus::Resolved);
    }

    #[test]
    fn a_report_range_is_forward_and_bounded() {
        assert!(validate_range(10, 10).is_err());
        assert!(validate_range(20, 10).is_err());
        assert!(validate_range(0, MAX_REPORT_MS).is_ok());
        assert!(validate_range(0, MAX_REPORT_MS + 1).is_err());
        assert!(validate_range(-5, 10).is_err());
    }
}

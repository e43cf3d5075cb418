//! The checks queries: a trait the server implements, and the server
//! functions the pages call. `GET /api/v1/checks` is the list server
//! function itself; `GET /api/v1/checks/NAME` is a plain route over the same
//! trait (a server function's URL cannot carry the name in its path).

use leptos::prelude::*;

use super::{CheckDetail, CheckSummary};
use crate::error::ApiError;

/// Why a checks query failed.
#[derive(Debug, thiserror::Error)]
pub enum ChecksError {
    #[error("unknown check {0:?}; GET /api/v1/checks lists them")]
    UnknownCheck(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// The engine could not answer; the detail is logged.
    #[error("checks unavailable: {0}")]
    Unavailable(String),
    /// No principal came with the request: the engine is handed only to
    /// one, whatever the gate decided (defence in depth).
    #[error("sign in first")]
    SignedOut,
}

impl crate::error::PublicError for ChecksError {
    fn status(&self) -> u16 {
        match self {
            ChecksError::UnknownCheck(_) => 404,
            ChecksError::InvalidArgument(_) => 400,
            ChecksError::Unavailable(_) => 503,
            ChecksError::SignedOut => 401,
        }
    }

    fn public_message(&self) -> String {
        match self {
            ChecksError::Unavailable(_) => "checks are unavailable right now".into(),
            other => other.to_string(),
        }
    }
}

/// Longest check name the config accepts, so the longest a query may ask for.
pub const MAX_CHECK_NAME_BYTES: usize = 64;

/// Refuses a check name that no configured check could have.
pub fn validate_check_name(name: &str) -> Result<(), ChecksError> {
    crate::error::check_length("check name", name, MAX_CHECK_NAME_BYTES).map_err(ChecksError::InvalidArgument)
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use super::*;

    /// The checks queries the server answers for the app.
    #[async_trait::async_trait]
    pub trait ChecksQuery: Send + Sync + 'static {
        /// Every check with its uptime and last rounds, in config order.
        async fn list(&self) -> Result<Vec<CheckSummary>, ChecksError>;
        /// One check with its rounds, transitions, uptime bars and latency.
        async fn detail(&self, name: &str) -> Result<CheckDetail, ChecksError>;
    }

    /// One check's detail: what [`get_check`] answers, for the server's
    /// route that names the check in its path too.
    pub async fn check_detail(checks: &dyn ChecksQuery, name: &str) -> Result<CheckDetail, ChecksError> {
        validate_check_name(name)?;
        checks.detail(name).await
    }

    /// The checks engine provided for this request.
    pub fn use_checks() -> Result<Arc<dyn ChecksQuery>, ChecksError> {
        crate::auth::require_principal().map_err(|_| ChecksError::SignedOut)?;
        use_context::<Arc<dyn ChecksQuery>>()
            .ok_or_else(|| ChecksError::Unavailable("no ChecksQuery in the server function's context".into()))
    }
}

/// Every check: `GET /api/v1/checks`.
#[server(prefix = "/api/v1", endpoint = "checks", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_checks() -> Result<Vec<CheckSummary>, ApiError> {
    let checks = use_checks()?;
    Ok(checks.list().await?)
}

/// One check: `GET /api/v1/check?name=NAME` (also `GET /api/v1/checks/NAME`).
#[server(prefix = "/api/v1", endpoint = "check", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_check(name: String) -> Result<CheckDetail, ApiError> {
    Ok(check_detail(&*use_checks()?, &name).await?)
}

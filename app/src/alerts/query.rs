//! The alerts queries: a trait the server implements, and the server
//! functions the page and the API call. Reading needs a session; silences,
//! maintenance windows and test messages need an admin.

// A server function takes one argument per form field (so the page's
// forms work without scripts): the maintenance form has eight, and the
// lint reaches the client function the macro generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Alert, AlertsBoard, Delivery, Silence};
use crate::error::{check_length, ApiError};

/// Why an alerts query failed.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    #[error("{0}")]
    InvalidArgument(String),
    #[error("no channel is named {0:?}; the alerts page lists them")]
    UnknownChannel(String),
    #[error("no silence or window #{0}")]
    UnknownId(i64),
    /// The engine could not answer; the detail is logged.
    #[error("alerts unavailable: {0}")]
    Unavailable(String),
    #[error("sign in first")]
    SignedOut,
    #[error("only an admin may do this")]
    Forbidden,
}

impl crate::error::PublicError for AlertsError {
    fn status(&self) -> u16 {
        match self {
            AlertsError::InvalidArgument(_) => 400,
            AlertsError::UnknownChannel(_) | AlertsError::UnknownId(_) => 404,
            AlertsError::Unavailable(_) => 503,
            AlertsError::SignedOut => 401,
            AlertsError::Forbidden => 403,
        }
    }

    fn public_message(&self) -> String {
        match self {
            AlertsError::Unavailable(_) => "alerts are unavailable right now".into(),
            other => other.to_string(),
        }
    }
}

/// What a new silence matches and for how long, as the page's form and
/// `POST /api/v1/silences/add` send it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewSilence {
    pub rule: Option<String>,
    pub instance: Option<String>,
    pub check: Option<String>,
    /// How long, as `30m`, `2h`, `1d`.
    pub duration: String,
    pub comment: String,
}

/// A maintenance window made on the page: one-off (`start`, empty for
/// now) or weekly (`days` such as `sat,sun`, and `at`), local to `timezone`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NewWindow {
    pub name: String,
    pub start: Option<String>,
    pub days: Option<String>,
    pub at: Option<String>,
    pub duration: String,
    pub timezone: Option<String>,
    /// Comma-separated rule names; empty: every rule.
    pub rules: Option<String>,
    /// Comma-separated check names; empty: as `rules` says.
    pub checks: Option<String>,
}

const MAX_FIELD: usize = 200;
const MAX_COMMENT: usize = 500;

/// Empty text is no value.
fn given(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

impl NewSilence {
    /// Trims the fields and refuses what no silence could be.
    pub fn validated(self) -> Result<NewSilence, AlertsError> {
        let bad = AlertsError::InvalidArgument;
        let s = NewSilence {
            rule: given(self.rule),
            instance: given(self.instance),
            check: given(self.check),
            duration: self.duration.trim().to_string(),
            comment: self.comment.trim().to_string(),
        };
        for (what, value) in [("rule", &s.rule), ("instance", &s.instance), ("check", &s.check)] {
            if let Some(v) = value {
                check_length(what, v, MAX_FIELD).map_err(bad)?;
            }
        }
        if s.rule.is_none() && s.instance.is_none() && s.check.is_none() {
            return Err(bad(
                "a silence matches a rule, an instance or a check: set at least one".into(),
            ));
        }
        check_length("duration", &s.duration, 32).map_err(bad)?;
        check_length("comment", &s.comment, MAX_COMMENT).map_err(bad)?;
        if s.comment.is_empty() {
            return Err(bad("say why in the comment (the next person will ask)".into()));
        }
        Ok(s)
    }
}

impl NewWindow {
    /// Trims the fields and refuses oversized ones; the server checks
    /// the rest as it checks the config file's windows.
    pub fn validated(self) -> Result<NewWindow, AlertsError> {
        let bad = AlertsError::InvalidArgument;
        let w = NewWindow {
            name: self.name.trim().to_string(),
            start: given(self.start),
            days: given(self.days),
            at: given(self.at),
            duration: self.duration.trim().to_string(),
            timezone: given(self.timezone),
            rules: given(self.rules),
            checks: given(self.checks),
        };
        for (what, value) in [
            ("name", Some(&w.name)),
            ("start", w.start.as_ref()),
            ("days", w.days.as_ref()),
            ("at", w.at.as_ref()),
            ("duration", Some(&w.duration)),
            ("timezone", w.timezone.as_ref()),
            ("rules", w.rules.as_ref()),
            ("checks", w.checks.as_ref()),
        ] {
            if let Some(v) = value {
                check_length(what, v, MAX_FIELD).map_err(bad)?;
            }
        }
        if w.name.is_empty() {
            return Err(bad("a window needs a name".into()));
        }
        Ok(w)
    }
}

/// A channel name as the config allows them.
pub fn validate_channel_name(name: &str) -> Result<(), AlertsError> {
    check_length("channel name", name, 64).map_err(AlertsError::InvalidArgument)
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use super::*;

    /// The alerts engine, as the server functions reach it.
    #[async_trait::async_trait]
    pub trait AlertsQuery: Send + Sync + 'static {
        /// Pending and firing alerts, then the recent resolved ones.
        async fn alerts(&self) -> Vec<Alert>;
        /// Everything the alerts page shows.
        async fn board(&self) -> AlertsBoard;
        /// Active and upcoming silences.
        async fn silences(&self) -> Vec<Silence>;
        async fn add_silence(&self, silence: NewSilence, by: &str) -> Result<Silence, AlertsError>;
        async fn end_silence(&self, id: i64, by: &str) -> Result<(), AlertsError>;
        async fn add_window(&self, window: NewWindow, by: &str) -> Result<(), AlertsError>;
        async fn end_window(&self, id: i64, by: &str) -> Result<(), AlertsError>;
        /// Sends a test message through a channel now, once, and says how it went.
        async fn test_channel(&self, name: &str) -> Result<Delivery, AlertsError>;
    }

    /// The alerts engine provided for this request, for any signed-in client.
    pub fn use_alerts() -> Result<Arc<dyn AlertsQuery>, AlertsError> {
        crate::auth::require_principal().map_err(|_| AlertsError::SignedOut)?;
        use_context::<Arc<dyn AlertsQuery>>()
            .ok_or_else(|| AlertsError::Unavailable("no AlertsQuery in the server function's context".into()))
    }

    /// The engine and the admin's name, for what changes something.
    pub fn use_alerts_as_admin() -> Result<(Arc<dyn AlertsQuery>, String), AlertsError> {
        let who = crate::auth::require_admin().map_err(|e| match e {
            crate::auth::AuthError::Forbidden => AlertsError::Forbidden,
            _ => AlertsError::SignedOut,
        })?;
        Ok((use_alerts()?, who.name.unwrap_or_else(|| "admin".into())))
    }
}

/// Pending and firing alerts, then the recent resolved ones: `GET /api/v1/alerts`.
#[server(prefix = "/api/v1", endpoint = "alerts", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_alerts() -> Result<Vec<Alert>, ApiError> {
    Ok(use_alerts()?.alerts().await)
}

/// What the alerts page shows: `GET /api/v1/alerts/board`.
#[server(prefix = "/api/v1", endpoint = "alerts/board", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_alerts_board() -> Result<AlertsBoard, ApiError> {
    let alerts = use_alerts()?;
    let admin = crate::auth::principal().is_some_and(|p| p.is_admin());
    let mut board = alerts.board().await;
    board.can_edit = admin;
    if !admin {
        board.config_error = None;
    }
    Ok(board)
}

/// Active and upcoming silences: `GET /api/v1/silences`.
#[server(prefix = "/api/v1", endpoint = "silences", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_silences() -> Result<Vec<Silence>, ApiError> {
    Ok(use_alerts()?.silences().await)
}

/// Mutes what it matches (a rule, an instance, a check: at least one)
/// for `duration` (`30m`, `2h`): `POST /api/v1/silences/add` (admins).
#[server(prefix = "/api/v1", endpoint = "silences/add")]
pub async fn add_silence(
    #[server(default)] rule: Option<String>,
    #[server(default)] instance: Option<String>,
    #[server(default)] check: Option<String>,
    duration: String,
    comment: String,
) -> Result<Silence, ApiError> {
    let (alerts, by) = use_alerts_as_admin()?;
    let silence = NewSilence {
        rule,
        instance,
        check,
        duration,
        comment,
    };
    Ok(alerts.add_silence(silence.validated()?, &by).await?)
}

/// Ends a silence now: `POST /api/v1/silences/end` (admins).
#[server(prefix = "/api/v1", endpoint = "silences/end")]
pub async fn end_silence(id: i64) -> Result<(), ApiError> {
    let (alerts, by) = use_alerts_as_admin()?;
    Ok(alerts.end_silence(id, &by).await?)
}

/// Adds a maintenance window: `POST /api/v1/maintenance/add` (admins).
/// One-off: `start` (local, `2026-12-24T22:00`; empty for now); weekly:
/// `days` (`sat,sun`) and `at` (`02:00`); both last `duration`.
#[server(prefix = "/api/v1", endpoint = "maintenance/add")]
pub async fn add_window(
    name: String,
    #[server(default)] start: Option<String>,
    #[server(default)] days: Option<String>,
    #[server(default)] at: Option<String>,
    duration: String,
    #[server(default)] timezone: Option<String>,
    #[server(default)] rules: Option<String>,
    #[server(default)] checks: Option<String>,
) -> Result<(), ApiError> {
    let (alerts, by) = use_alerts_as_admin()?;
    let window = NewWindow {
        name,
        start,
        days,
        at,
        duration,
        timezone,
        rules,
        checks,
    };
    Ok(alerts.add_window(window.validated()?, &by).await?)
}

/// Ends a maintenance window made on the page: `POST /api/v1/maintenance/end` (admins).
#[server(prefix = "/api/v1", endpoint = "maintenance/end")]
pub async fn end_window(id: i64) -> Result<(), ApiError> {
    let (alerts, by) = use_alerts_as_admin()?;
    Ok(alerts.end_window(id, &by).await?)
}

/// Sends a test message through a channel: `POST /api/v1/notify/test` (admins).
#[server(prefix = "/api/v1", endpoint = "notify/test")]
pub async fn test_channel(name: String) -> Result<Delivery, ApiError> {
    validate_channel_name(&name)?;
    let (alerts, _) = use_alerts_as_admin()?;
    Ok(alerts.test_channel(&name).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_must_match_something_and_say_why() {
        let ok = NewSilence {
            rule: Some(" disk-full ".into()),
            instance: Some("".into()),
            duration: "2h".into(),
            comment: " moving data ".into(),
            ..Default::default()
        }
        .validated()
        .unwrap();
        assert_eq!(
            (ok.rule.as_deref(), ok.instance, ok.comment.as_str()),
            (Some("disk-full"), None, "moving data")
        );
        let nothing = NewSilence {
            duration: "2h".into(),
            comment: "x".into(),
            ..Default::default()
        };
        assert!(nothing.validated().is_err());
        let silent = NewSilence {
            check: Some("api".into()),
            duration: "2h".into(),
            ..Default::default()
        };
        assert!(silent.validated().unwrap_err().to_string().contains("comment"));
        let huge = NewSilence {
            check: Some("a".repeat(1000)),
            duration: "2h".into(),
            comment: "x".into(),
            ..Default::default()
        };
        assert!(huge.validated().unwrap_err().to_string().contains("too long"));
    }
}

//! How a server function fails. Each feature has its own error enum
//! (`MetricsError`, `HealthError`) that knows its HTTP status and a message
//! safe to show; at the server-function boundary it becomes an [`ApiError`],
//! which is what goes over the wire: `{"error": "..."}` with that status,
//! as the JSON API promises. The detail stays in the server log.

use serde::{Deserialize, Serialize};

/// The error of every server function and API endpoint: `{"error": "..."}`
/// on the wire, answered with `status` (which the response's own status
/// line carries, so it is not in the body).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}")]
pub struct ApiError {
    pub error: String,
    #[serde(skip, default = "internal")]
    pub status: u16,
}

fn internal() -> u16 {
    500
}

impl ApiError {
    /// An error with no more fitting status than 500.
    pub fn new(message: impl Into<String>) -> Self {
        ApiError {
            error: message.into(),
            status: internal(),
        }
    }

    /// An error answered with `status`.
    pub fn with_status(status: http::StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            error: message.into(),
            status: status.as_u16(),
        }
    }
}

/// Refuses an argument longer than any real one (`what`: "series name",
/// "host name", ...), before any lookup, so it is never echoed back.
pub fn check_length(what: &str, value: &str, max_bytes: usize) -> Result<(), String> {
    if value.len() > max_bytes {
        return Err(format!("{what} too long: {} bytes, at most {max_bytes}", value.len()));
    }
    Ok(())
}

/// A feature's error: its HTTP status and what the client may read.
pub trait PublicError: std::error::Error {
    /// The HTTP status the API answers with.
    fn status(&self) -> u16;
    /// A message for the client, without internal detail.
    fn public_message(&self) -> String {
        self.to_string()
    }
}

impl leptos::server_fn::error::FromServerFnError for ApiError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    /// The framework's own failures. Arguments that do not parse are the
    /// client's fault: 400, not the framework's default 500.
    fn from_server_fn_error(err: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        let (status, message) = match err {
            E::Args(m) | E::MissingArg(m) | E::Deserialization(m) => (400, format!("bad arguments: {m}")),
            E::UnsupportedRequestMethod(m) => (405, m),
            other => (500, other.to_string()),
        };
        set_status(status);
        ApiError { error: message, status }
    }
}

/// A feature error at the server-function boundary, so that `?` converts
/// it: logged when it is the server's fault, the response's status set,
/// and only the public message kept.
impl<E: PublicError> From<E> for ApiError {
    fn from(err: E) -> Self {
        let status = err.status();
        if status >= 500 {
            leptos::logging::error!("server function failed: {err}");
        }
        set_status(status);
        ApiError {
            error: err.public_message(),
            status,
        }
    }
}

/// An error answered as JSON by the server's own routes.
#[cfg(feature = "ssr")]
impl axum::response::IntoResponse for ApiError {
    fn into_response(self) -> axum::response::Response {
        let status = http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(serde_json::json!({ "error": self.error }))).into_response()
    }
}

#[cfg(feature = "ssr")]
fn set_status(status: u16) {
    use leptos::prelude::use_context;
    if let (Some(response), Ok(code)) = (
        use_context::<leptos_axum::ResponseOptions>(),
        http::StatusCode::from_u16(status),
    ) {
        response.set_status(code);
    }
}

#[cfg(not(feature = "ssr"))]
fn set_status(_status: u16) {}

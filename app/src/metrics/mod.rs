//! Host metrics: the sample types, the series the catalog lists, the
//! server functions that answer metrics queries, and the overview cards.
//!
//! The server reaches its data through [`MetricsQuery`] (server only),
//! which the `vigil` crate implements and provides as Leptos context.

mod range;
mod series;
mod types;
mod view;

pub use range::*;
pub use series::*;
pub use types::*;
pub use view::{polyline_points, spark_points, Dashboard, Sparkline};

use leptos::prelude::*;

use crate::error::ApiError;

/// Longest series name a query accepts (the catalog's, labels included,
/// are far shorter); a longer one is refused before any lookup, so an
/// absurd argument is never echoed back in an error.
pub const MAX_SERIES_NAME_BYTES: usize = 256;

/// Refuses a series argument that no series could have.
pub fn validate_series_name(series: &str) -> Result<(), MetricsError> {
    crate::error::check_length("series name", series, MAX_SERIES_NAME_BYTES).map_err(MetricsError::InvalidArgument)
}

/// Why a metrics query failed.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("unknown series {0:?}; GET /api/v1/series lists them")]
    UnknownSeries(String),
    #[error("unknown host {0:?}; GET /api/v1/hosts lists them")]
    UnknownHost(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// The engine could not answer (a wiring bug or a failing store); the
    /// detail is logged, the client reads only that it is unavailable.
    #[error("metrics unavailable: {0}")]
    Unavailable(String),
    /// No principal came with the request: the engine is handed only to
    /// one, whatever the gate decided (defence in depth).
    #[error("sign in first")]
    SignedOut,
}

impl crate::error::PublicError for MetricsError {
    fn status(&self) -> u16 {
        match self {
            MetricsError::UnknownSeries(_) | MetricsError::UnknownHost(_) => 404,
            MetricsError::InvalidArgument(_) => 400,
            MetricsError::Unavailable(_) => 503,
            MetricsError::SignedOut => 401,
        }
    }

    fn public_message(&self) -> String {
        match self {
            MetricsError::Unavailable(_) => "metrics are unavailable right now".into(),
            other => other.to_string(),
        }
    }
}

/// Longest host name a query accepts (a DNS name's limit).
pub const MAX_HOST_NAME_BYTES: usize = 253;

/// Refuses a host argument that no host could have.
pub fn validate_host(host: &str) -> Result<(), MetricsError> {
    crate::error::check_length("host name", host, MAX_HOST_NAME_BYTES).map_err(MetricsError::InvalidArgument)
}

#[cfg(feature = "ssr")]
pub use ssr::*;

#[cfg(feature = "ssr")]
mod ssr {
    use std::sync::Arc;

    use super::*;

    /// The metrics queries the server answers for the app.
    #[async_trait::async_trait]
    pub trait MetricsQuery: Send + Sync + 'static {
        /// The current sample, recent history, health and the live stream position.
        async fn snapshot(&self) -> Result<Snapshot, MetricsError>;
        /// Every series Vigil keeps right now.
        async fn series(&self) -> Result<Vec<SeriesInfo>, MetricsError>;
        /// The latest value of one series.
        async fn latest(&self, series: &str) -> Result<Latest, MetricsError>;
        /// One series between `from` and `to` (Unix ms), at most `points`
        /// points, from the coarsest stored tier that still gives them.
        async fn range(&self, series: &str, from: i64, to: i64, points: u32) -> Result<Range, MetricsError>;
    }

    /// The metrics engine provided for this request.
    pub fn use_metrics() -> Result<Arc<dyn MetricsQuery>, MetricsError> {
        crate::auth::require_principal().map_err(|_| MetricsError::SignedOut)?;
        use_context::<Arc<dyn MetricsQuery>>()
            .ok_or_else(|| MetricsError::Unavailable("no MetricsQuery in the server function's context".into()))
    }

    /// Whose metrics a query with `host=` reads: this host's own, or
    /// another host's (from the engine the fleet reads). The server's
    /// fleet implements it.
    pub trait HostMetrics: Send + Sync + 'static {
        fn metrics_of(&self, host: &str) -> Result<Arc<dyn MetricsQuery>, MetricsError>;
    }

    /// The metrics of `host`; this host's when `None` or empty: the one
    /// place a `host=` argument is resolved.
    pub fn use_metrics_of(host: Option<&str>) -> Result<Arc<dyn MetricsQuery>, MetricsError> {
        let Some(host) = host.filter(|h| !h.is_empty()) else {
            return use_metrics();
        };
        validate_host(host)?;
        crate::auth::require_principal().map_err(|_| MetricsError::SignedOut)?;
        let hosts = use_context::<Arc<dyn HostMetrics>>()
            .ok_or_else(|| MetricsError::Unavailable("no HostMetrics in the server function's context".into()))?;
        hosts.metrics_of(host)
    }
}

/// The current sample, recent history and the live stream position. Used
/// for the server render, and served as `GET /api/v1/snapshot`.
#[server(prefix = "/api/v1", endpoint = "snapshot", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_snapshot() -> Result<Snapshot, ApiError> {
    let metrics = use_metrics()?;
    Ok(metrics.snapshot().await?)
}

/// The latest value of one series: `GET /api/v1/latest?series=NAME`
/// (`&host=NAME` for another host of the fleet).
#[server(prefix = "/api/v1", endpoint = "latest", input = leptos::server_fn::codec::GetUrl)]
pub async fn get_latest(series: String, host: Option<String>) -> Result<Latest, ApiError> {
    validate_series_name(&series)?;
    let metrics = use_metrics_of(host.as_deref())?;
    Ok(metrics.latest(&series).await?)
}

/// One series between two times, downsampled to at most `points` points:
/// `GET /api/v1/query?series=NAME&from=MS&to=MS&points=N` (`&host=NAME`
/// for another host of the fleet, read from its engine).
#[server(prefix = "/api/v1", endpoint = "query", input = leptos::server_fn::codec::GetUrl)]
pub async fn query_range(
    series: String,
    from: i64,
    to: i64,
    points: u32,
    host: Option<String>,
) -> Result<Range, ApiError> {
    validate_series_name(&series)?;
    validate_range(from, to, points).map_err(MetricsError::InvalidArgument)?;
    let metrics = use_metrics_of(host.as_deref())?;
    Ok(metrics.range(&series, from, to, points).await?)
}

/// The same query as [`query_range`], answered in columns as postcard:
/// `GET /api/v1/columns?series=NAME&from=MS&to=MS&points=N[&host=NAME]`.
/// What the explorer asks: reading a binary column answer costs the
/// browser a copy per column, where JSON cost a parse per number. Errors
/// are the same JSON `{"error"}` bodies and statuses.
#[server(
    prefix = "/api/v1",
    endpoint = "columns",
    input = leptos::server_fn::codec::GetUrl,
    output = leptos::server_fn::codec::Postcard
)]
pub async fn query_columns(
    series: String,
    from: i64,
    to: i64,
    points: u32,
    host: Option<String>,
) -> Result<RangeColumns, ApiError> {
    query_range(series, from, to, points, host)
        .await
        .map(RangeColumns::from)
}

/// Every series Vigil keeps, with its unit, kind and labels; served as
/// `GET /api/v1/series` (`?host=NAME` for another host of the fleet).
#[server(prefix = "/api/v1", endpoint = "series", input = leptos::server_fn::codec::GetUrl)]
pub async fn list_series(host: Option<String>) -> Result<Vec<SeriesInfo>, ApiError> {
    let metrics = use_metrics_of(host.as_deref())?;
    Ok(metrics.series().await?)
}

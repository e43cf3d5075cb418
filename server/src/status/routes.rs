//! The public doors: `GET /status/SLUG` (the page), `/status/SLUG.json`
//! (its data), `/status/SLUG.atom` (its incidents), `/status/assets/page.js`
//! (the small script that keeps it current), `/status/badges/CHECK/KIND.svg`;
//! and, for signed-in users, `/api/v1/reports.csv`.
//!
//! Pages answer from memory with an ETag (`If-None-Match` gets a 304) and a
//! short `max-age`. The gate lets anyone through `/status/…` (rate-limited
//! per client); these handlers show only what a page lists, and a badge
//! only for a check on a page (or to a signed-in user).

use std::time::Duration;

use app::auth::Principal;
use app::error::ApiError;
use app::status::StatusQuery;
use axum::body::Bytes;
use axum::extract::{FromRef, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Extension;

use super::{badge, StatusPages};

/// How long browsers and proxies may reuse a page without asking.
const MAX_AGE: &str = "public, max-age=10";
const SCRIPT: &str = include_str!("page.js");

/// The routes, for the router and its door list.
pub(crate) fn routes<S>() -> Vec<(&'static str, Method, MethodRouter<S>)>
where
    S: Clone + Send + Sync + 'static,
    StatusPages: FromRef<S>,
{
    vec![
        ("/status/{file}", Method::GET, get(page)),
        ("/status/assets/page.js", Method::GET, get(script)),
        ("/status/badges/{check}/{kind}", Method::GET, get(badge_svg)),
        ("/api/v1/reports.csv", Method::GET, get(report_csv)),
    ]
}

/// A 404 that says no more than that.
fn not_found() -> Response {
    ApiError::with_status(StatusCode::NOT_FOUND, "no such status page").into_response()
}

/// `GET /status/SLUG`, `.json`, `.atom`.
async fn page(State(pages): State<StatusPages>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let (slug, kind) = match file.rsplit_once('.') {
        Some((slug, "json")) => (slug, "json"),
        Some((slug, "atom")) => (slug, "atom"),
        Some(_) => return not_found(),
        None => (file.as_str(), "html"),
    };
    let Some(rendered) = pages.rendered(slug) else {
        return not_found();
    };
    let (body, content_type, suffix) = match kind {
        "json" => (&rendered.json, "application/json", ""),
        "atom" => (&rendered.atom, "application/atom+xml; charset=utf-8", "-a"),
        _ => (&rendered.html, "text/html; charset=utf-8", "-h"),
    };
    let etag = format!("\"{}{suffix}\"", rendered.version);
    let (bytes, encoding) = if crate::coding::accepts(&headers, "br") {
        (body.br.clone(), Some("br"))
    } else if crate::coding::accepts(&headers, "gzip") {
        (body.gzip.clone(), Some("gzip"))
    } else {
        (body.identity.clone(), None)
    };
    let mut response = cached(&headers, &etag, content_type, bytes);
    // Compressed once per render; the router's compression leaves an
    // encoded body alone.
    if let (Some(coding), StatusCode::OK) = (encoding, response.status()) {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(coding));
    }
    response
}

/// The body, or a 304 when the client holds this version.
fn cached(headers: &HeaderMap, etag: &str, content_type: &'static str, body: Bytes) -> Response {
    let Ok(tag) = HeaderValue::from_str(etag) else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let held = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim().trim_start_matches("W/") == etag || t.trim() == "*")
        });
    let common = [
        (header::ETAG, tag),
        (header::CACHE_CONTROL, HeaderValue::from_static(MAX_AGE)),
        (header::VARY, HeaderValue::from_static("Accept-Encoding")),
    ];
    if held {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (
        common,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body,
    )
        .into_response()
}

/// `GET /status/assets/page.js`.
async fn script(headers: HeaderMap) -> Response {
    let etag = format!("\"{}\"", env!("CARGO_PKG_VERSION"));
    cached(
        &headers,
        &etag,
        "text/javascript; charset=utf-8",
        Bytes::from_static(SCRIPT.as_bytes()),
    )
}

/// `GET /status/badges/CHECK/KIND.svg`: `status`, `uptime-24h`,
/// `uptime-7d`, `uptime-30d`. Without a session, only for a check on a page.
async fn badge_svg(
    State(pages): State<StatusPages>,
    Path((check, kind)): Path<(String, String)>,
    principal: Option<Extension<Principal>>,
    headers: HeaderMap,
) -> Response {
    if !(pages.is_public(&check) || principal.is_some()) {
        return not_found();
    }
    let Some(status) = pages.check_state(&check) else {
        return not_found();
    };
    let Some(kind) = kind.strip_suffix(".svg") else {
        return not_found();
    };
    let svg = match kind {
        "status" => {
            use app::health::Status;
            let (word, tone) = match status {
                Status::Up => ("up", badge::Tone::Good),
                Status::Degraded => ("degraded", badge::Tone::Warn),
                Status::Down => ("down", badge::Tone::Bad),
                Status::Unknown => ("no data", badge::Tone::Unknown),
            };
            badge::svg(&check, word, tone)
        }
        _ => {
            let days = match kind {
                "uptime-24h" => 1,
                "uptime-7d" => 7,
                "uptime-30d" => 30,
                _ => return not_found(),
            };
            let pct = pages.uptime(&check, days).await;
            badge::svg(
                &format!("uptime {}", &kind[7..]),
                &badge::percent(pct),
                badge::tone_for_uptime(pct),
            )
        }
    };
    let etag = format!("\"{:x}\"", fnv(svg.as_bytes()));
    let mut response = cached(&headers, &etag, "image/svg+xml", Bytes::from(svg));
    // Badges are embedded elsewhere (a README): short-lived everywhere.
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=60"));
    response
}

/// A cheap hash for a badge's ETag.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The range of a CSV export.
#[derive(serde::Deserialize)]
struct Range {
    from: i64,
    to: i64,
}

/// `GET /api/v1/reports.csv?from=&to=`: the report as CSV, for a signed-in user.
async fn report_csv(
    State(pages): State<StatusPages>,
    principal: Option<Extension<Principal>>,
    range: Result<Query<Range>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if principal.is_none() {
        return ApiError::with_status(StatusCode::UNAUTHORIZED, "sign in first").into_response();
    }
    let Ok(Query(range)) = range else {
        return ApiError::with_status(StatusCode::BAD_REQUEST, "give from and to as Unix milliseconds").into_response();
    };
    if let Err(e) = app::status::validate_range(range.from, range.to) {
        return ApiError::with_status(StatusCode::BAD_REQUEST, e.to_string()).into_response();
    }
    match pages.report(range.from, range.to).await {
        Ok(report) => {
            let name = format!(
                "attachment; filename=\"vigil-report-{}-{}.csv\"",
                app::format::date(range.from),
                app::format::date(range.to - 1)
            );
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, name),
                    (header::CACHE_CONTROL, "no-store".to_string()),
                ],
                super::report::csv(&report),
            )
                .into_response()
        }
        Err(e) => ApiError::with_status(StatusCode::SERVICE_UNAVAILABLE, e.to_string()).into_response(),
    }
}

/// Before the gate: a request to a status page's own host name gets that
/// page at `/`; every other path there but `/status/…` and the icon is
/// not found (the dashboard is not served under a status host).
pub(crate) async fn status_host(State(pages): State<StatusPages>, mut request: Request, next: Next) -> Response {
    if !pages.has_hosts() {
        return next.run(request).await;
    }
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| {
            h.rsplit_once(':')
                .filter(|(_, port)| port.parse::<u16>().is_ok())
                .map_or(h, |(name, _)| name)
        })
        .map(str::to_ascii_lowercase);
    let Some(slug) = host.as_deref().and_then(|h| pages.slug_for_host(h)) else {
        return next.run(request).await;
    };
    let path = request.uri().path();
    if path == "/" {
        let Ok(uri) = format!("/status/{slug}").parse() else {
            return not_found();
        };
        *request.uri_mut() = uri;
    } else if !(path.starts_with("/status/") || path == "/favicon.svg") {
        return not_found();
    }
    next.run(request).await
}

/// How long a badge's uptime is reused.
pub(crate) const BADGE_TTL: Duration = Duration::from_secs(60);

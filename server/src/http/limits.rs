//! Request body limit. Vigil's server functions and APIs take a few bytes of
//! arguments, so anything past the configured limit (`server.body_limit_kib`,
//! 64 KiB by default) is refused: with a JSON 413 when the length is
//! announced, and by failing the body read (which axum's extractors also
//! answer with 413) when it is streamed.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

/// Refuses or caps request bodies larger than `limit` bytes.
pub async fn limit_body(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limit as u64) {
        return too_large(limit).into_response();
    }
    let request = request.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    next.run(request).await
}

/// The answer to a body over the limit.
pub fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body too large: the limit is {} KiB", limit / 1024),
    )
}

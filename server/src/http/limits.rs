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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Bytes;
    use axum::routing::post;
    use axum::Router;

    /// A route that reads the whole body, behind a 1 KiB limit.
    async fn answer(body: Body, length: Option<usize>) -> (StatusCode, String) {
        let router = Router::new()
            .route("/", post(|body: Bytes| async move { body.len().to_string() }))
            .layer(axum::middleware::from_fn_with_state(1024, limit_body));
        let mut request = Request::post("/");
        if let Some(n) = length {
            request = request.header(header::CONTENT_LENGTH, n);
        }
        let response = tower_service::Service::call(&mut router.clone(), request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn streamed(total: usize) -> Body {
        let chunks = (0..total / 256).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'a'; 256])));
        Body::from_stream(futures_util::stream::iter(chunks))
    }

    #[tokio::test]
    async fn bodies_within_the_limit_pass() {
        assert_eq!(answer(streamed(512), None).await, (StatusCode::OK, "512".into()));
        assert_eq!(
            answer(Body::from(vec![0u8; 1024]), Some(1024)).await,
            (StatusCode::OK, "1024".into())
        );
    }

    #[tokio::test]
    async fn an_announced_length_over_the_limit_is_a_json_413() {
        let (status, body) = answer(Body::from(vec![0u8; 2048]), Some(2048)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(body, r#"{"error":"request body too large: the limit is 1 KiB"}"#);
    }

    #[tokio::test]
    async fn a_streamed_body_over_the_limit_is_refused_while_read() {
        let (status, _) = answer(streamed(4096), None).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    }
}

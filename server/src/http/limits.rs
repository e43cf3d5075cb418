//! Request body limits. Vigil's server functions and APIs take a few bytes
//! of arguments, so anything past the configured size (`server.body_limit_kib`,
//! 64 KiB by default) is refused: with a JSON 413 when the length is
//! announced, and by failing the body read (which axum's extractors also
//! answer with 413) when it is streamed. A body must also arrive whole
//! within `server.body_timeout` (10 s by default) of its request's start:
//! a client that sends one byte per idle period would otherwise hold its
//! connection, and the sign-in forms are open to anyone.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};

use app::error::ApiError;

/// How large a request body may be, and how long it may take.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BodyLimits {
    pub(crate) bytes: usize,
    pub(crate) time: Duration,
}

/// Refuses or caps request bodies larger than the limit, and cuts off
/// those that take longer than its time.
pub(crate) async fn limit_body(State(limits): State<BodyLimits>, request: Request, next: Next) -> Response {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > limits.bytes as u64) {
        return too_large(limits.bytes).into_response();
    }
    let request = request.map(|body| {
        Body::new(Deadline {
            inner: http_body_util::Limited::new(body, limits.bytes),
            timer: Box::pin(tokio::time::sleep(limits.time)),
            time: limits.time,
        })
    });
    next.run(request).await
}

/// A body that fails once its time is up (the handler's read of it ends
/// in an error, the request is answered, and hyper closes the connection).
struct Deadline<B> {
    inner: B,
    timer: Pin<Box<tokio::time::Sleep>>,
    time: Duration,
}

/// A request body that did not arrive in time.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {0:?}")]
pub(crate) struct BodyTimedOut(Duration);

impl<B> http_body::Body for Deadline<B>
where
    B: http_body::Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if self.timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Some(Err(Box::new(BodyTimedOut(self.time)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The answer to a body over the limit.
pub(crate) fn too_large(limit: usize) -> ApiError {
    ApiError::with_status(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body too large: the limit is {} KiB", limit / 1024),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use axum::Router;
    use futures_util::StreamExt;

    const LIMITS: BodyLimits = BodyLimits {
        bytes: 1024,
        time: Duration::from_secs(2),
    };

    /// A route that reads the whole body, behind a 1 KiB, 2 s limit.
    async fn answer(body: Body, length: Option<usize>) -> (StatusCode, String) {
        let router = Router::new()
            .route("/", post(|body: Bytes| async move { body.len().to_string() }))
            .layer(axum::middleware::from_fn_with_state(LIMITS, limit_body));
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

    #[tokio::test(start_paused = true)]
    async fn a_trickled_body_is_cut_off_at_its_time() {
        // One byte a second, forever: always moving, never done.
        let trickle = futures_util::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Some((Ok::<_, std::io::Error>(Bytes::from_static(b"a")), ()))
        });
        let started = tokio::time::Instant::now();
        let (status, _) = answer(Body::from_stream(trickle), None).await;
        assert!(status.is_client_error(), "{status}");
        assert_eq!(started.elapsed(), LIMITS.time, "cut off at the body's time, not later");
        // A body that keeps within it is read whole.
        let slow = futures_util::stream::iter(0..3).then(|_| async {
            tokio::time::sleep(Duration::from_millis(500)).await;
            Ok::<_, std::io::Error>(Bytes::from_static(b"ab"))
        });
        assert_eq!(
            answer(Body::from_stream(slow), None).await,
            (StatusCode::OK, "6".into())
        );
    }
}

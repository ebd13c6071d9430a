//! The layer inside each request's span: the request's deadline, and its count by route,
//! method and status, its latency and its OAuth error code in the metrics. A service of its
//! own rather than `from_fn` middleware, which clones the inner service and boxes a future
//! for every request.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use tokio::time::Sleep;

use crate::error::{ErrorCode, OAuthError};
use crate::failure::Failure;
use crate::metrics::{Metrics, Route};

/// No request runs longer than this; one that would answers 503 in the RFC 6749 shape (the
/// store's own bounds are far shorter, so this only catches the unforeseen).
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// Wraps each route in [`Measured`].
#[derive(Clone)]
pub struct MeasureLayer {
    metrics: Arc<Metrics>,
}

impl MeasureLayer {
    pub fn new(metrics: Arc<Metrics>) -> Self {
        MeasureLayer { metrics }
    }
}

impl<S> tower::Layer<S> for MeasureLayer {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Measured<S> {
        Measured {
            inner,
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub struct Measured<S> {
    inner: S,
    metrics: Arc<Metrics>,
}

impl<S> tower::Service<Request> for Measured<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Unpin,
{
    type Response = Response;
    type Error = Infallible;
    type Future = MeasuredFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let started = Instant::now();
        let method = method_label(request.method());
        let route = Route::of(request.extensions().get::<MatchedPath>());
        MeasuredFuture {
            inner: self.inner.call(request),
            // Boxed, so that the future stays `Unpin`: a sleep is not.
            deadline: Box::pin(tokio::time::sleep(REQUEST_DEADLINE)),
            metrics: self.metrics.clone(),
            started,
            method,
            route: Some(route),
        }
    }
}

/// Any token is a method to HTTP: unknown ones share one label, so no client can grow the set
/// of series.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    }
}

pub struct MeasuredFuture<F> {
    inner: F,
    deadline: Pin<Box<Sleep>>,
    metrics: Arc<Metrics>,
    started: Instant,
    method: &'static str,
    /// Taken when the response is counted.
    route: Option<Route>,
}

impl<F> Future for MeasuredFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Poll::Ready(Ok(response)) = Pin::new(&mut this.inner).poll(cx) {
            if let Some(route) = this.route.take() {
                let metrics = &this.metrics;
                let status = response.status().as_u16();
                metrics.request(this.method, route, status, this.started.elapsed());
                if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
                    metrics.oauth_error(code);
                }
            }
            return Poll::Ready(Ok(response));
        }
        match this.deadline.as_mut().poll(cx) {
            // Answered, but not counted: the request never finished.
            Poll::Ready(()) => Poll::Ready(Ok(OAuthError::from(Failure::unavailable(
                "request deadline passed",
            ))
            .into_response())),
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt};

    use super::*;

    fn request() -> Request {
        axum::http::Request::post("/token")
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_past_the_deadline_answers_503_in_the_rfc_6749_shape_uncounted() {
        let metrics = Arc::new(Metrics::default());
        let never = tower::service_fn(|_: Request| std::future::pending());
        let started = tokio::time::Instant::now();
        let response = MeasureLayer::new(metrics.clone())
            .layer(never)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(started.elapsed(), REQUEST_DEADLINE);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["error"], "temporarily_unavailable");
        assert!(
            !metrics
                .render()
                .unwrap()
                .contains("token_service_http_requests_total{")
        );
    }

    #[tokio::test]
    async fn a_response_is_counted_by_method_route_status_and_oauth_error() {
        let metrics = Arc::new(Metrics::default());
        let refused = tower::service_fn(|_: Request| {
            std::future::ready(Ok::<_, Infallible>(
                OAuthError::InvalidClient.into_response(),
            ))
        });
        let response = MeasureLayer::new(metrics.clone())
            .layer(refused)
            .oneshot(request())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let text = metrics.render().unwrap();
        assert!(
            text.contains(
                r#"token_service_http_requests_total{method="POST",route="other",status="401"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"token_service_oauth_errors_total{error="invalid_client"} 1"#),
            "{text}"
        );
    }
}

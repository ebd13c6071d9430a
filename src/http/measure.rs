//! The layer around each route: the request's log fields (its span, or `RequestFields`) and
//! its log line, its deadline, and its count by route, method and status, its latency and its
//! OAuth error code in the metrics.
//! One service of its own rather than tower-http's `TraceLayer`, a `from_fn` middleware and a
//! `MapFuture`, each of which the router boxed around every route and cloned for every
//! request, and which wrapped and boxed every response body again.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};

use crate::error::{ErrorCode, OAuthError};
use crate::failure::Failure;
use crate::logging::RequestScope;
use crate::metrics::{Metrics, Route, RouteSeries};
use crate::timer::Deadline;

/// No request runs longer than this, give or take `timer::TICK`; one that would answers 503
/// in the RFC 6749 shape (the store's own bounds are far shorter, so this only catches the
/// unforeseen).
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

/// Where a request's log fields are kept, and what is logged of its response (inside the
/// request, its status and latency recorded).
#[derive(Clone, Copy)]
pub struct RequestLog {
    pub scope: fn(&Request) -> RequestScope,
    pub on_response: fn(&Response),
}

/// Wraps each route in [`Measured`].
#[derive(Clone)]
pub struct MeasureLayer {
    metrics: Arc<Metrics>,
    log: RequestLog,
    deadline: Duration,
}

impl MeasureLayer {
    pub fn new(metrics: Arc<Metrics>, log: RequestLog) -> Self {
        MeasureLayer {
            metrics,
            log,
            deadline: REQUEST_DEADLINE,
        }
    }
}

impl<S> tower::Layer<S> for MeasureLayer {
    type Service = Measured<S>;

    fn layer(&self, inner: S) -> Measured<S> {
        Measured {
            inner,
            metrics: self.metrics.clone(),
            series: Arc::default(),
            log: self.log,
            deadline: self.deadline,
        }
    }
}

#[derive(Clone)]
pub struct Measured<S> {
    inner: S,
    metrics: Arc<Metrics>,
    /// The series of this route's requests, shared by every clone of it.
    series: Arc<RouteSeries>,
    log: RequestLog,
    deadline: Duration,
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
        let mut scope = (self.log.scope)(&request);
        let method = method_label(request.method());
        let route = Route::of(request.extensions().get::<MatchedPath>());
        let inner = scope.in_scope(|| self.inner.call(request));
        MeasuredFuture {
            inner,
            deadline: Deadline::at(started + self.deadline),
            metrics: self.metrics.clone(),
            series: self.series.clone(),
            on_response: self.log.on_response,
            scope,
            started,
            method,
            route,
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
    deadline: Deadline,
    metrics: Arc<Metrics>,
    series: Arc<RouteSeries>,
    on_response: fn(&Response),
    scope: RequestScope,
    started: Instant,
    method: &'static str,
    route: Route,
}

impl<F> Future for MeasuredFuture<F>
where
    F: Future<Output = Result<Response, Infallible>> + Unpin,
{
    type Output = Result<Response, Infallible>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let polled = this.scope.in_scope(|| Pin::new(&mut this.inner).poll(cx));
        let response = match polled {
            Poll::Ready(Ok(response)) => {
                let status = response.status().as_u16();
                let route = std::mem::replace(&mut this.route, Route::of(None));
                let metrics = &this.metrics;
                let latency = this.started.elapsed();
                metrics.request_in(&this.series, this.method, route, status, latency);
                if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
                    metrics.oauth_error(code);
                }
                response
            }
            // Answered, but not counted: the request never finished.
            Poll::Pending if Pin::new(&mut this.deadline).poll(cx).is_ready() => {
                OAuthError::from(Failure::unavailable("request deadline passed")).into_response()
            }
            Poll::Pending => return Poll::Pending,
        };
        let latency = this.started.elapsed();
        this.scope
            .record_response(response.status().as_u16(), latency);
        let on_response = this.on_response;
        this.scope.in_scope(|| {
            on_response(&response);
            if response.status().is_server_error() {
                server_error(&response, latency);
            }
        });
        if tracing::enabled!(target: EOS_TARGET, tracing::Level::DEBUG) {
            let scope = this.scope.clone();
            return Poll::Ready(Ok(
                response.map(|body| Body::new(EndOfStream::new(body, scope)))
            ));
        }
        Poll::Ready(Ok(response))
    }
}

/// The target of the line tower-http's `TraceLayer` logged at the end of every response body.
const EOS_TARGET: &str = "tower_http::trace::on_eos";

/// A response body that logs its end as tower-http's `TraceLayer` (its `DefaultOnEos`) did,
/// inside the request; used only when that `debug` line is enabled.
struct EndOfStream {
    inner: Body,
    scope: RequestScope,
    started: Instant,
}

impl EndOfStream {
    fn new(inner: Body, scope: RequestScope) -> Self {
        EndOfStream {
            inner,
            scope,
            started: Instant::now(),
        }
    }
}

impl HttpBody for EndOfStream {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let started = this.started;
        this.scope.in_scope(|| {
            let frame = std::task::ready!(Pin::new(&mut this.inner).poll_frame(cx));
            if frame.is_none() {
                tracing::debug!(
                    target: EOS_TARGET,
                    stream_duration = %format_args!("{} ms", started.elapsed().as_millis()),
                    "end of stream"
                );
            }
            Poll::Ready(frame)
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The line tower-http's `TraceLayer` (its `DefaultOnFailure`) logged for every 5xx beside the
/// service's own, kept as it was: target, level, fields and their text.
fn server_error(response: &Response, latency: Duration) {
    tracing::error!(
        target: "tower_http::trace::on_failure",
        classification = %format_args!("Status code: {}", response.status()),
        latency = %format_args!("{} ms", latency.as_millis()),
        "response failed"
    );
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::StatusCode;
    use http_body_util::BodyExt;
    use tower::{Layer, ServiceExt};
    use tracing::Span;

    use super::*;

    const LOG: RequestLog = RequestLog {
        scope: |_| RequestScope::Span(Span::none()),
        on_response: |_| {},
    };

    fn request() -> Request {
        axum::http::Request::post("/token")
            .body(Body::empty())
            .unwrap()
    }

    #[tokio::test]
    async fn a_request_past_the_deadline_answers_503_in_the_rfc_6749_shape_uncounted() {
        let metrics = Arc::new(Metrics::default());
        let never = tower::service_fn(|_: Request| std::future::pending());
        let deadline = Duration::from_millis(200);
        let layer = MeasureLayer {
            deadline,
            ..MeasureLayer::new(metrics.clone(), LOG)
        };
        let started = Instant::now();
        let response = layer.layer(never).oneshot(request()).await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= deadline, "{waited:?}");
        assert!(waited < deadline + 3 * crate::timer::TICK, "{waited:?}");
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
    async fn each_response_is_counted_by_method_route_status_and_oauth_error() {
        let metrics = Arc::new(Metrics::default());
        let refused = tower::service_fn(|_: Request| {
            std::future::ready(Ok::<_, Infallible>(
                OAuthError::InvalidClient.into_response(),
            ))
        });
        let service = MeasureLayer::new(metrics.clone(), LOG).layer(refused);
        let response = service.clone().oneshot(request()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        service.oneshot(request()).await.unwrap();
        let text = metrics.render().unwrap();
        assert!(
            text.contains(
                r#"token_service_http_requests_total{method="POST",route="other",status="401"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"token_service_oauth_errors_total{error="invalid_client"} 2"#),
            "{text}"
        );
    }

    #[test]
    fn a_server_error_is_logged_as_tower_http_s_trace_layer_logged_it() {
        use tower_http::classify::ServerErrorsFailureClass;
        use tower_http::trace::{DefaultOnFailure, OnFailure};
        let latency = Duration::from_micros(12_345);
        let ours = crate::logging::captured(|| {
            let response = OAuthError::from(Failure::unavailable("down")).into_response();
            server_error(&response, latency);
        });
        let theirs = crate::logging::captured(|| {
            let class = ServerErrorsFailureClass::StatusCode(StatusCode::SERVICE_UNAVAILABLE);
            DefaultOnFailure::default().on_failure(class, latency, &Span::none());
        });
        assert_eq!(ours, theirs);
        assert!(ours[0].contains(r#""latency":"12 ms""#), "{ours:?}");
    }

    #[tokio::test]
    async fn with_debug_enabled_the_end_of_a_body_is_logged_as_tower_http_logged_it() {
        use tower_http::trace::{DefaultOnEos, OnEos};
        let ours = crate::logging::captured(|| {
            let body = EndOfStream::new(Body::from("{}"), RequestScope::Span(Span::none()));
            let mut body = std::pin::pin!(body);
            let waker = std::task::Waker::noop();
            let mut cx = Context::from_waker(waker);
            while let Poll::Ready(Some(_)) = body.as_mut().poll_frame(&mut cx) {}
        });
        let theirs = crate::logging::captured(|| {
            DefaultOnEos::default().on_eos(None, Duration::ZERO, &Span::none());
        });
        assert_eq!(ours, theirs);
        assert_eq!(ours.len(), 1);
    }
}

//! The route table in one place, and the layers around it.

mod cors;
mod credentials;
mod discovery;
mod dpop;
mod extract;
mod health;
mod introspect;
mod metrics;
mod openapi;
mod par;
mod revoke;
mod token;
mod userinfo;

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use axum::routing::future::RouteFuture;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;
use tracing::Span;

use axum::response::IntoResponse;

use crate::error::OAuthError;
use crate::failure::Failure;
use crate::state::AppState;

/// Request bodies over this answer 413 (README, "Endpoints").
pub const BODY_LIMIT: usize = 64 * 1024;

/// The service's router. `/metrics` is on it unless `TS_METRICS_LISTEN` moves it to
/// [`metrics_router`].
pub fn router(state: AppState) -> Router {
    let cors_origins = std::sync::Arc::new(state.config.cors_origins.clone());
    let credentialed = Router::new()
        .route(
            "/token",
            post(token::token).options(cors::unanswered_preflight),
        )
        .route(
            "/revoke",
            post(revoke::revoke).options(cors::unanswered_preflight),
        )
        .route("/par", post(par::par).options(cors::unanswered_preflight))
        .layer(middleware::from_fn_with_state(
            cors_origins,
            cors::registered_origins,
        ));
    let public = Router::new()
        .route("/.well-known/jwks.json", get(discovery::jwks))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/openapi.json", get(openapi::openapi))
        .route(
            "/userinfo",
            get(userinfo::get)
                .post(userinfo::post)
                .options(cors::any_origin_preflight),
        )
        .layer(middleware::from_fn(cors::any_origin));
    let own_metrics = state.config.settings.metrics_listen.is_none();
    let router = Router::new()
        .merge(credentialed)
        .merge(public)
        .route("/introspect", post(introspect::introspect))
        .merge(crate::authorize::router(&state))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let router = if own_metrics {
        router.route("/metrics", get(metrics::metrics))
    } else {
        router
    };
    let traced = state.config.settings.otlp_endpoint.is_some();
    let router = router
        .fallback(|| async { OAuthError::NotFound })
        .method_not_allowed_fallback(|| async { OAuthError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(tower::util::MapFutureLayer::new(deadline));
    // Only with traces exported does a request read its caller's trace context: without, its
    // cost stays out of every request.
    let make_span: fn(&Request) -> Span = if traced {
        traced_request_span
    } else {
        request_span
    };
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response),
        )
        .with_state(state)
}

/// The router of `TS_METRICS_LISTEN`: `/metrics` alone, every other path 404 in the RFC 6749
/// shape. Its requests are not counted, so scrapes do not show up in what they scrape.
pub fn metrics_router(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics::metrics))
        .fallback(|| async { OAuthError::NotFound })
        .method_not_allowed_fallback(|| async { OAuthError::MethodNotAllowed })
        .with_state(state)
}

/// No request runs longer than this; one that would answers 503 in the RFC 6749 shape (the
/// store's own bounds are far shorter, so this only catches the unforeseen).
const REQUEST_DEADLINE: Duration = Duration::from_secs(30);

///
/// A future around the router's own rather than a `from_fn` middleware, which would clone the
/// inner service and box a future for every request.
async fn deadline(route: RouteFuture<Infallible>) -> Result<axum::response::Response, Infallible> {
    match tokio::time::timeout(REQUEST_DEADLINE, route).await {
        Ok(response) => response,
        Err(_) => {
            Ok(OAuthError::from(Failure::unavailable("request deadline passed")).into_response())
        }
    }
}

/// One span per request: method, route (never the query, which can carry codes), status,
/// latency, and the client once it is known.
fn request_span(request: &Request) -> Span {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %path,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
        client_id = tracing::field::Empty,
    )
}

/// `request_span`, continuing the trace the request carries (`traceparent`, W3C Trace Context).
fn traced_request_span(request: &Request) -> Span {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let span = request_span(request);
    let _ = span.set_parent(crate::traces::incoming(request.headers()));
    span
}

/// Logs the response, and the one place a failure's detail is logged: the error types put it
/// in the response's extensions when they render it (internal detail is never sent).
fn on_response(response: &axum::response::Response, latency: Duration, span: &Span) {
    span.record("status", response.status().as_u16());
    span.record("latency_ms", latency.as_secs_f64() * 1000.0);
    match response.extensions().get::<Failure>() {
        Some(Failure::Unavailable(detail)) => tracing::warn!(%detail, "response: unavailable"),
        Some(Failure::Internal(detail)) => tracing::error!(%detail, "response: internal error"),
        None => tracing::info!("response"),
    }
}

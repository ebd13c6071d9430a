//! The route table in one place, and the layers around it.

mod cors;
mod credentials;
mod discovery;
mod dpop;
mod extract;
mod health;
mod introspect;
mod json;
mod measure;
mod metrics;
mod openapi;
mod par;
mod revoke;
mod token;
mod userinfo;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware;
use axum::routing::{MethodRouter, get, post};
use tracing::Span;

use crate::config::LogFormat;
use crate::error::OAuthError;
use crate::failure::Failure;
use crate::logging::{RequestFields, RequestScope, RoutePath};
use crate::state::AppState;

/// Request bodies over this answer 413 (README, "Endpoints").
pub const BODY_LIMIT: usize = 64 * 1024;

/// The service's router. `/metrics` is on it unless `TS_METRICS_LISTEN` moves it to
/// [`metrics_router`].
pub fn router(state: AppState) -> Router {
    // The routes a browser may call from a registered origin only (README, "Endpoints"): the
    // CORS layer answers for exactly these paths.
    let credentialed: [(&'static str, MethodRouter<AppState>); 3] = [
        (
            "/token",
            post(token::token).options(cors::unanswered_preflight),
        ),
        (
            "/revoke",
            post(revoke::revoke).options(cors::unanswered_preflight),
        ),
        ("/par", post(par::par).options(cors::unanswered_preflight)),
    ];
    let registered_origins = cors::RegisteredOrigins::new(
        state.config.cors_origins.clone(),
        credentialed.iter().map(|(path, _)| *path).collect(),
    );
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
                .options(cors::any_origin_preflight)
                .layer(DefaultBodyLimit::max(BODY_LIMIT)),
        )
        .layer(middleware::from_fn(cors::any_origin));
    let own_metrics = state.config.settings.metrics_listen.is_none();
    let router = credentialed
        .into_iter()
        .fold(Router::new(), |router, (path, route)| {
            router.route(path, route)
        })
        .merge(public)
        .route("/introspect", post(introspect::introspect))
        .merge(crate::authorize::router(&state).layer(DefaultBodyLimit::max(BODY_LIMIT)))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    let router = if own_metrics {
        router.route("/metrics", get(metrics::metrics))
    } else {
        router
    };
    let traced = state.config.settings.otlp_endpoint.is_some();
    let pretty = crate::logging::format(state.config.settings.log_format) == LogFormat::Pretty;
    // Only with traces exported does a request read its caller's trace context, and only
    // they and the pretty format need its span (docs/design.md, "Log lines"): without, their
    // cost stays out of every request.
    let scope: fn(&Request) -> RequestScope = if traced {
        |request| RequestScope::Span(traced_request_span(request))
    } else if pretty {
        |request| RequestScope::Span(request_span(request))
    } else {
        request_fields
    };
    // One layer of layers: each layer the router is given boxes every route again, and clones
    // it for every request. The body limit is not among them: it is the limit of axum's body
    // extractors, which only the routes above that read a body through them are given; the
    // others read theirs with `BODY_LIMIT` themselves (`extract.rs`), so their requests skip
    // the limit's layer and the extension it inserts.
    let log = measure::RequestLog { scope, on_response };
    let layers = tower::ServiceBuilder::new()
        .layer(measure::MeasureLayer::new(state.metrics.clone(), log))
        .layer(registered_origins);
    router
        .fallback(|| async { OAuthError::NotFound })
        .method_not_allowed_fallback(|| async { OAuthError::MethodNotAllowed })
        .layer(layers)
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

/// The route of a request, as its log lines name it: never the query, which can carry codes.
fn route_path(request: &Request) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str)
}

/// A request's log fields without a span (`logging::RequestFields`).
fn request_fields(request: &Request) -> RequestScope {
    let path = match request.extensions().get::<MatchedPath>() {
        Some(matched) => RoutePath::Matched(matched.clone()),
        None => RoutePath::from(request.uri().path()),
    };
    RequestScope::Fields(RequestFields::new(request.method().clone(), path))
}

/// One span per request (`logging::request_span`).
fn request_span(request: &Request) -> Span {
    crate::logging::request_span(request.method().as_str(), route_path(request))
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
fn on_response(response: &axum::response::Response) {
    match response.extensions().get::<Failure>() {
        Some(Failure::Unavailable(detail)) => tracing::warn!(%detail, "response: unavailable"),
        Some(Failure::Internal(detail)) => tracing::error!(%detail, "response: internal error"),
        // A `str` field, not a format string: written as it is, not through `fmt`; the
        // line is the same.
        None => tracing::info!(message = "response"),
    }
}

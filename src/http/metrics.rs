//! `GET /metrics` and the layer that counts every request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::{ErrorCode, OAuthError};
use crate::failure::Failure;
use crate::metrics::Route;
use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus / OpenMetrics text", body = String,
        content_type = "application/openmetrics-text")),
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, OAuthError> {
    let text = state
        .metrics
        .render()
        .map_err(|e| Failure::internal(format!("metrics encoding: {e}")))?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Counts the request by route template (unmatched paths as `other`), status and latency,
/// and the OAuth error code of an error response.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Any token is a method to HTTP: unknown ones share one label, so no client can grow
    // the set of series.
    let method = match *request.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::OPTIONS => "OPTIONS",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        _ => "other",
    };
    let route = Route::of(request.extensions().get::<MatchedPath>());
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics.request(method, route, response.status().as_u16(), started.elapsed());
    if let Some(ErrorCode(code)) = response.extensions().get::<ErrorCode>() {
        metrics.oauth_error(code);
    }
    response
}

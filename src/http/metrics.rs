//! `GET /metrics` (each request is counted by `measure`).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::OAuthError;
use crate::failure::Failure;
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

//! `/healthz` (the process is alive) and `/readyz` (config and keys loaded; the store's state
//! reported but never failing readiness, so the JWKS stays up with Redis down, docs/design.md,
//! "Load, faults and bad input").

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};

use crate::state::AppState;

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "The process is alive", body = Object)),
)]
pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses((status = 200, description = "Config and keys loaded; `store` is `memory`, \
        `up` or `down` (never a failure: the JWKS must stay up with Redis down)", body = Object)),
)]
pub async fn readyz(State(state): State<AppState>) -> Json<Value> {
    let report = state.store.health().await;
    let mut body = json!({"status": "ready", "store": report.health});
    if let Some(policy) = &report.maxmemory_policy {
        body["maxmemory_policy"] = json!(policy);
    }
    let mut warnings = Vec::new();
    if report.evicts() {
        warnings.push(
            "Redis may evict keys (maxmemory-policy is not noeviction): refresh tokens, codes \
             and login throttles can vanish"
                .to_owned(),
        );
    }
    warnings.extend(report.replication_warning());
    if !warnings.is_empty() {
        body["warnings"] = json!(warnings);
    }
    Json(body)
}

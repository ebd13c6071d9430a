//! The JWKS (RFC 7517) and the authorization server metadata (RFC 8414), which is also the
//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3).

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::dpop;
use crate::jwk::JwsAlg;
use crate::oidc;
use crate::records::{AuthMethod, GrantType};
use crate::scope::OIDC_SCOPES;
use crate::state::AppState;

/// `GET /.well-known/jwks.json`: cacheable for five minutes, with a strong ETag.
#[utoipa::path(
    get,
    path = "/.well-known/jwks.json",
    tag = "metadata",
    responses(
        (status = 200, description = "Every published key (RFC 7517)", body = Object,
            content_type = "application/jwk-set+json",
            headers(("cache-control" = String), ("etag" = String))),
        (status = 304, description = "The cached copy named by `If-None-Match` is current"),
    ),
)]
pub async fn jwks(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let etag = state.keys.etag();
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(header::CONTENT_TYPE, "application/jwk-set+json")],
            state.keys.jwks().to_owned(),
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    if let Ok(etag) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, etag);
    }
    response
}

/// `GET /.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`:
/// one document, since RFC 8414 §2 takes the OpenID Provider metadata as its own.
#[utoipa::path(
    get,
    path = "/.well-known/oauth-authorization-server",
    tag = "metadata",
    responses((status = 200, description = "Authorization server metadata (RFC 8414)",
        body = Object, headers(("cache-control" = String)))),
)]
pub async fn metadata(State(state): State<AppState>) -> Response {
    let issuer = state.config.settings.issuer_base();
    let grant_types: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
    let auth_methods: Vec<&str> = AuthMethod::ALL.iter().map(|m| m.as_str()).collect();
    // Introspection is for confidential clients (RFC 7662 §2.1): not `none`.
    let confidential_methods: Vec<&str> = AuthMethod::ALL
        .iter()
        .filter(|m| **m != AuthMethod::None)
        .map(|m| m.as_str())
        .collect();
    let assertion_algs: Vec<&str> = JwsAlg::ALL.iter().map(|a| a.as_str()).collect();
    let body = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "response_types_supported": ["code", "token", "id_token token", "id_token"],
        "response_modes_supported": ["query", "fragment"],
        "grant_types_supported": grant_types,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "introspection_endpoint_auth_methods_supported": confidential_methods,
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algs,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": scopes(&state),
        "prompt_values_supported": ["none", "login"],
        "authorization_response_iss_parameter_supported": true,
        "access_token_signing_alg_values_supported": state.keys.algorithms(),
        "id_token_signing_alg_values_supported": state.keys.algorithms(),
        "subject_types_supported": ["public"],
        "claims_supported": oidc::claims_supported(),
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": pushed_only(&state),
        "dpop_signing_alg_values_supported": dpop::algorithms(),
    });
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        axum::Json(body),
    )
        .into_response()
}

/// Whether /authorize takes only pushed requests (RFC 9126 §5): every client that may send
/// the browser there requires them (and there is one).
fn pushed_only(state: &AppState) -> bool {
    let mut authorizing = state
        .config
        .clients
        .values()
        .filter(|c| c.grant_types.iter().any(|g| g.uses_redirect()))
        .peekable();
    authorizing.peek().is_some() && authorizing.all(|c| c.require_pushed_authorization_requests)
}

fn scopes(state: &AppState) -> Vec<String> {
    let mut all: Vec<String> = state
        .config
        .clients
        .values()
        .flat_map(|c| {
            c.scopes
                .to_string()
                .split(' ')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .filter(|s| !s.is_empty())
        .chain(OIDC_SCOPES.iter().map(|s| (*s).to_owned()))
        .collect();
    all.sort();
    all.dedup();
    all
}

/// `GET /.well-known/openid-configuration`: the same document.
#[utoipa::path(
    get,
    path = "/.well-known/openid-configuration",
    tag = "metadata",
    responses((status = 200, description = "OpenID Provider metadata (OpenID Connect \
        Discovery 1.0 §3)", body = Object, headers(("cache-control" = String)))),
)]
pub async fn openid_configuration(state: State<AppState>) -> Response {
    metadata(state).await
}

//! `POST /introspect` (RFC 7662) for confidential clients (resource servers are registered
//! as such). Access tokens are checked by signature and time alone, so they introspect with
//! the store down; refresh tokens by the store.

use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::Serialize;
use serde_json::{Value, json};

use super::credentials;
use super::extract::Form;
use super::extract::TokenParams;
use crate::error::{OAuthError, OAuthErrors};
use crate::refresh_token::RefreshToken;
use crate::state::AppState;
use crate::token::{AccessClaims, Audience, Confirmation};

/// Describes a token (RFC 7662); for confidential clients (resource servers).
#[utoipa::path(
    post,
    path = "/introspect",
    tag = "oauth",
    request_body(
        description = "`token`, form-encoded or JSON, with the client's credentials in HTTP \
                       Basic or in the body",
        content(
            (TokenParams = "application/x-www-form-urlencoded"),
            (TokenParams = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "The token's description, or `{\"active\":false}`",
            body = Active),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = [])),
)]
pub async fn introspect(
    State(state): State<AppState>,
    Form { headers, params }: Form,
) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let client = credentials::authenticate(&state, &headers, &params, "/introspect", now).await?;
    if client.is_public() {
        return Err(OAuthError::InvalidClient);
    }
    let TokenParams { token, .. } = params.parse()?;
    let body = match state.keys.verify::<AccessClaims>(&token) {
        Some(claims) => access_token(&state, claims, now),
        None => refresh_token(&state, &token, now).await?,
    };
    Ok(super::token::no_store(Json(body)))
}

/// An active token's description (RFC 7662 §2.2); an inactive one is `{"active":false}`, so
/// every member but `active` is optional in the description.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Active<'a> {
    active: bool,
    /// RFC 7662 §2.2 means a type of RFC 6749 §7.1: `Bearer`, or `DPoP` for a token bound
    /// to a key (RFC 9449 §6.2); a refresh token has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    token_type: Option<&'static str>,
    #[schema(required = false)]
    scope: String,
    #[schema(required = false)]
    client_id: String,
    #[schema(required = false)]
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    aud: Option<Audience>,
    #[schema(required = false)]
    iss: &'a str,
    #[schema(required = false)]
    exp: u64,
    #[schema(required = false)]
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    nbf: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    auth_time: Option<u64>,
    /// The key a DPoP-bound access token is bound to (RFC 9449 §6.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    cnf: Option<Confirmation>,
}

fn inactive() -> Value {
    json!({"active": false})
}

fn access_token(state: &AppState, claims: AccessClaims, now: u64) -> Value {
    let iss = state.config.settings.issuer_base();
    if claims.exp <= now || claims.nbf > now || claims.iss != iss {
        return inactive();
    }
    json!(Active {
        active: true,
        token_type: Some(if claims.cnf.is_some() {
            "DPoP"
        } else {
            "Bearer"
        }),
        scope: claims.scope,
        client_id: claims.client_id,
        sub: claims.sub,
        username: None,
        aud: Some(claims.aud),
        iss,
        exp: claims.exp,
        iat: claims.iat,
        nbf: Some(claims.nbf),
        jti: Some(claims.jti),
        auth_time: claims.auth_time,
        cnf: claims.cnf,
    })
}

async fn refresh_token(state: &AppState, token: &str, now: u64) -> Result<Value, OAuthError> {
    let Some(verified) = RefreshToken::verify(token, &state.keys) else {
        return Ok(inactive());
    };
    let stored = verified.token.stored();
    let Some(info) = state.store.refresh_info(stored.as_ref(), now).await? else {
        return Ok(inactive());
    };
    let grant = info.grant;
    let (sub, username) = match &grant.username {
        Some(username) => match state.config.user(username) {
            Some(user) => (user.subject.clone(), Some(user.username.clone())),
            None => return Ok(inactive()),
        },
        None => (grant.client_id.clone(), None),
    };
    Ok(json!(Active {
        active: true,
        token_type: None,
        scope: grant.scope.to_string(),
        client_id: grant.client_id,
        sub,
        username,
        aud: None,
        iss: state.config.settings.issuer_base(),
        exp: info.expires_at,
        iat: info.issued_at,
        nbf: None,
        jti: None,
        auth_time: grant.auth_time,
        cnf: None,
    }))
}

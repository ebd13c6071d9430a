//! `GET` and `POST /userinfo` (OpenID Connect Core §5.3): the signed-in user's claims for a
//! Bearer access token whose scope has `openid`, verified as any resource server verifies
//! our tokens (signature by the published key, `iss`, `exp`, `nbf`). Errors per RFC 6750 §3.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::clock::UnixTime;
use crate::oidc;
use crate::params::Params;
use crate::records::User;
use crate::scope::Scope;
use crate::state::AppState;
use crate::token::AccessClaims;

/// What `/userinfo` answers (OpenID Connect Core §5.3, RFC 6750 §3): a description only.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
enum UserinfoResponses {
    /// `sub` and the claims of the token's scopes.
    #[response(status = 200)]
    Claims(#[to_schema] serde_json::Map<String, Value>),
    /// `invalid_request`.
    #[response(status = 400, headers(("www-authenticate" = String)))]
    InvalidRequest,
    /// `invalid_token`, or no token.
    #[response(status = 401, headers(("www-authenticate" = String)))]
    InvalidToken,
    /// `insufficient_scope`: no `openid` in the token's scope.
    #[response(status = 403, headers(("www-authenticate" = String)))]
    InsufficientScope,
}

/// `GET /userinfo`: the token in the `Authorization` header.
#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "openid",
    responses(UserinfoResponses),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, BearerError> {
    answer(&state, bearer(&headers)?)
}

/// The form of `POST /userinfo`.
// A description only: the handler reads the one field itself.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct UserinfoForm {
    /// The access token, when the `Authorization` header does not carry it (RFC 6750 §2.2).
    access_token: Option<String>,
}

/// `POST /userinfo`: the token in the `Authorization` header or, form-encoded, in the body's
/// `access_token` (RFC 6750 §2.2); never both (RFC 6750 §2).
#[utoipa::path(
    post,
    path = "/userinfo",
    tag = "openid",
    request_body(description = "Optionally `access_token`, form-encoded",
        content((ref("#/components/schemas/UserinfoForm") = "application/x-www-form-urlencoded"))),
    responses(UserinfoResponses),
    security((), ("bearer" = [])),
)]
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, BearerError> {
    let body = body.map_err(|_| BearerError::InvalidRequest)?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let params = if is_form {
        Params::from_form(&body).map_err(|_| BearerError::InvalidRequest)?
    } else {
        Params::default()
    };
    let in_body = params
        .one("access_token")
        .map_err(|_| BearerError::InvalidRequest)?;
    match (bearer(&headers), in_body) {
        (Ok(_), Some(_)) => Err(BearerError::InvalidRequest),
        (Err(BearerError::Missing), Some(token)) => answer(&state, token),
        (header, _) => answer(&state, header?),
    }
}

fn answer(state: &AppState, token: &str) -> Result<Response, BearerError> {
    let now = state.clock.now();
    let claims = state
        .keys
        .verify::<AccessClaims>(token)
        .ok_or(BearerError::InvalidToken)?;
    if !is_current(&claims, state.config.settings.issuer_base(), now) {
        return Err(BearerError::InvalidToken);
    }
    let scope = Scope::parse(&claims.scope).ok_or(BearerError::InvalidToken)?;
    if !scope.has_openid() {
        return Err(BearerError::InsufficientScope);
    }
    // Only a token issued to a user says when they authenticated; `sub` names them.
    let user = claims
        .auth_time
        .and_then(|_| by_subject(state.config.users.values(), &claims.sub))
        .ok_or(BearerError::InvalidToken)?;
    let mut body = Map::new();
    body.insert("sub".into(), Value::String(user.subject.clone()));
    body.extend(oidc::claims_for(user, &scope));
    Ok(super::token::no_store(Json(body)))
}

/// The token of `Authorization: Bearer …` (RFC 6750 §2.1; the scheme is case-insensitive).
/// Two `Authorization` headers are a malformed request (RFC 9110 §5.3), whatever the body
/// carries.
fn bearer(headers: &HeaderMap) -> Result<&str, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(BearerError::Missing),
        (Some(_), Some(_)) => return Err(BearerError::InvalidRequest),
        (Some(value), None) => value,
    };
    let value = value.to_str().map_err(|_| BearerError::InvalidRequest)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty() => {
            Ok(token.trim())
        }
        _ => Err(BearerError::Missing),
    }
}

fn is_current(claims: &AccessClaims, issuer: &str, now: UnixTime) -> bool {
    claims.iss == issuer && claims.exp > now && claims.nbf <= now
}

fn by_subject<'a>(
    users: impl IntoIterator<Item = &'a std::sync::Arc<User>>,
    sub: &str,
) -> Option<&'a User> {
    users
        .into_iter()
        .find(|user| user.subject == sub)
        .map(|user| user.as_ref())
}

/// RFC 6750 §3.1's errors, in the `WWW-Authenticate` challenge and a JSON body.
#[derive(Debug)]
pub enum BearerError {
    /// No Bearer token at all: a bare challenge, no error code (RFC 6750 §3.1).
    Missing,
    /// A malformed `Authorization` header or body, or a token sent two ways.
    InvalidRequest,
    /// Not ours, forged, expired, or for no user.
    InvalidToken,
    /// A valid token without `openid`.
    InsufficientScope,
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, error, description) = match self {
            BearerError::Missing => {
                let mut response = StatusCode::UNAUTHORIZED.into_response();
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return response;
            }
            BearerError::InvalidRequest => (
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the request is malformed or sends the token more than one way",
            ),
            BearerError::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is invalid or expired",
            ),
            BearerError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "the access token lacks the openid scope",
            ),
        };
        let challenge = match self {
            BearerError::InsufficientScope => {
                format!(
                    r#"Bearer error="{error}", error_description="{description}", scope="openid""#
                )
            }
            _ => format!(r#"Bearer error="{error}", error_description="{description}""#),
        };
        let body = serde_json::json!({"error": error, "error_description": description});
        let mut response = (status, Json(body)).into_response();
        if let Ok(challenge) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

//! `GET` and `POST /userinfo` (OpenID Connect Core §5.3): the signed-in user's claims for a
//! Bearer access token whose scope has `openid`, verified as any resource server verifies
//! our tokens (signature by the published key, `iss`, `exp`, `nbf`). Errors per RFC 6750 §3.
//! A DPoP-bound token comes as `Authorization: DPoP` with a proof of its key (RFC 9449 §7),
//! never as Bearer.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use std::borrow::Cow;

use super::dpop;
use crate::clock::UnixTime;
use crate::dpop::{self as dpop_core, Expected};
use crate::error::OAuthError;
use crate::failure::Failure;
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
    /// `sub` and the claims of the token's scopes; after a DPoP request with `TS_DPOP_NONCE`,
    /// the nonce for the next proof in `DPoP-Nonce`.
    #[response(status = 200, headers(("dpop-nonce" = String)))]
    Claims(#[to_schema] serde_json::Map<String, Value>),
    /// `invalid_request`.
    #[response(status = 400, headers(("www-authenticate" = String)))]
    InvalidRequest,
    /// `invalid_token`, or no token; for a DPoP request also `invalid_dpop_proof` and
    /// `use_dpop_nonce`, with the nonce to use in `DPoP-Nonce` (RFC 9449 §7.1, §9).
    #[response(status = 401, headers(("www-authenticate" = String), ("dpop-nonce" = String)))]
    InvalidToken,
    /// `temporarily_unavailable`: the store, which remembers DPoP proofs, cannot be reached.
    #[response(status = 503, headers(("retry-after" = String)))]
    Unavailable,
    /// `insufficient_scope`: no `openid` in the token's scope.
    #[response(status = 403, headers(("www-authenticate" = String)))]
    InsufficientScope,
}

/// The proof that goes with `Authorization: DPoP <token>` (RFC 9449 §7.1).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Header)]
#[allow(dead_code)]
struct Dpop {
    /// A DPoP proof of the key the token is bound to: `htm` the method, `htu` the issuer's
    /// `/userinfo`, `ath` the token's hash; with `Authorization: DPoP <token>` only.
    #[param(rename = "DPoP")]
    dpop: Option<String>,
}

/// `GET /userinfo`: the token in the `Authorization` header.
#[utoipa::path(
    get,
    path = "/userinfo",
    tag = "openid",
    params(Dpop),
    responses(UserinfoResponses),
    security(("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, BearerError> {
    let token = authorization(&headers)?;
    answer(&state, &headers, "GET", token).await
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
    params(Dpop),
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
    let token = match (authorization(&headers), in_body) {
        (Ok(_), Some(_)) => return Err(BearerError::InvalidRequest),
        (Err(BearerError::Missing), Some(token)) => Presented::Bearer(token),
        (header, _) => header?,
    };
    answer(&state, &headers, "POST", token).await
}

/// The access token as the request presents it.
#[derive(Clone, Copy)]
enum Presented<'a> {
    /// `Authorization: Bearer`, or the body's `access_token` (RFC 6750 §2).
    Bearer(&'a str),
    /// `Authorization: DPoP`, with a proof in the `DPoP` header (RFC 9449 §7.1).
    Dpop(&'a str),
}

async fn answer(
    state: &AppState,
    headers: &HeaderMap,
    method: &str,
    presented: Presented<'_>,
) -> Result<Response, BearerError> {
    let now = state.clock.now();
    let (token, invalid) = match presented {
        Presented::Bearer(token) => (token, BearerError::InvalidToken),
        Presented::Dpop(token) => (token, BearerError::Dpop(DpopError::InvalidToken)),
    };
    let Some(claims) = state.keys.verify::<AccessClaims>(token) else {
        return Err(invalid);
    };
    if !is_current(&claims, state.config.settings.issuer_base(), now) {
        return Err(invalid);
    }
    // RFC 9449 §7.1: a bound token only with a proof of its key; a DPoP request only with a
    // bound token. Checked before the proof, so a Bearer request spends nothing.
    let nonce = match (presented, claims.cnf.as_ref()) {
        (Presented::Bearer(_), None) => None,
        (Presented::Bearer(_), Some(_)) | (Presented::Dpop(_), None) => return Err(invalid),
        (Presented::Dpop(token), Some(cnf)) => {
            let proof = dpop::proof(headers)
                .map_err(|d| BearerError::Dpop(DpopError::InvalidProof(d.into())))?
                .ok_or(BearerError::Dpop(DpopError::InvalidProof(
                    "a DPoP proof is required with the DPoP scheme".into(),
                )))?;
            let expected = Expected {
                method,
                url: &state.endpoint_url("/userinfo"),
                access_token: Some(token),
            };
            let dpop = state.dpop();
            let proof = dpop
                .accept(proof, &expected, now)
                .await
                .map_err(BearerError::from)?;
            if proof.jkt != cnf.jkt {
                return Err(BearerError::Dpop(DpopError::InvalidProof(
                    "the DPoP proof is not by the key the token is bound to".into(),
                )));
            }
            dpop.next_nonce(now)
        }
    };
    let body = claims_of(state, &claims).map_err(|e| match (e, presented) {
        (BearerError::InvalidToken, Presented::Dpop(_)) => {
            BearerError::Dpop(DpopError::InvalidToken)
        }
        (BearerError::InsufficientScope, Presented::Dpop(_)) => {
            BearerError::Dpop(DpopError::InsufficientScope)
        }
        (e, _) => e,
    })?;
    Ok(dpop::with_nonce(super::token::no_store(Json(body)), nonce))
}

/// `sub` and the claims of a current token's scopes.
fn claims_of(state: &AppState, claims: &AccessClaims) -> Result<Map<String, Value>, BearerError> {
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
    Ok(body)
}

/// The token of `Authorization: Bearer …` (RFC 6750 §2.1) or `Authorization: DPoP …` (RFC
/// 9449 §7.1); schemes are case-insensitive. Two `Authorization` headers are a malformed
/// request (RFC 9110 §5.3), whatever the body carries.
fn authorization(headers: &HeaderMap) -> Result<Presented<'_>, BearerError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let value = match (values.next(), values.next()) {
        (None, _) => return Err(BearerError::Missing),
        (Some(_), Some(_)) => return Err(BearerError::InvalidRequest),
        (Some(value), None) => value,
    };
    let value = value.to_str().map_err(|_| BearerError::InvalidRequest)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty() => {
            Ok(Presented::Bearer(token.trim()))
        }
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("DPoP") && !token.is_empty() => {
            Ok(Presented::Dpop(token.trim()))
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
    /// What went wrong with a request of the DPoP scheme, answered with a DPoP challenge.
    Dpop(DpopError),
    /// The store cannot be reached (503), or a bug (500); answered as the token endpoint does.
    Failed(Failure),
}

/// RFC 9449 §7.1's errors of a DPoP request, in a `WWW-Authenticate: DPoP` challenge.
#[derive(Debug)]
pub enum DpopError {
    /// Not ours, forged, expired, for no user, or not bound to a key.
    InvalidToken,
    /// A valid token without `openid`.
    InsufficientScope,
    /// The proof is missing, invalid, replayed or by another key than the token's.
    InvalidProof(Cow<'static, str>),
    /// Nonces are on and the proof has no fresh one: the one to use (RFC 9449 §9).
    UseNonce(String),
}

/// The proof errors of the shared DPoP check, in the resource server's words.
impl From<OAuthError> for BearerError {
    fn from(error: OAuthError) -> Self {
        match error {
            OAuthError::UseDpopNonce { nonce } => BearerError::Dpop(DpopError::UseNonce(nonce)),
            OAuthError::InvalidDpopProof(description) => {
                BearerError::Dpop(DpopError::InvalidProof(description))
            }
            OAuthError::Failed(failure) => BearerError::Failed(failure),
            other => BearerError::Failed(Failure::internal(format!(
                "unexpected DPoP error {}",
                other.code()
            ))),
        }
    }
}

impl DpopError {
    fn into_response(self) -> Response {
        let unauthorized = StatusCode::UNAUTHORIZED;
        let (status, error, description, nonce) = match self {
            DpopError::InvalidToken => (
                unauthorized,
                "invalid_token",
                Cow::Borrowed("the access token is invalid, expired or not DPoP-bound"),
                None,
            ),
            DpopError::InsufficientScope => (
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                Cow::Borrowed("the access token lacks the openid scope"),
                None,
            ),
            DpopError::InvalidProof(description) => {
                (unauthorized, "invalid_dpop_proof", description, None)
            }
            DpopError::UseNonce(nonce) => (
                unauthorized,
                "use_dpop_nonce",
                Cow::Borrowed("the DPoP proof must carry the nonce in the DPoP-Nonce header"),
                Some(nonce),
            ),
        };
        let algs = dpop_core::algorithms().join(" ");
        let challenge =
            format!(r#"DPoP error="{error}", error_description="{description}", algs="{algs}""#);
        let body = serde_json::json!({"error": error, "error_description": description});
        let response = (status, Json(body)).into_response();
        let mut response = dpop::with_nonce(response, nonce);
        if let Ok(challenge) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

impl IntoResponse for BearerError {
    fn into_response(self) -> Response {
        let (status, error, description) = match self {
            BearerError::Missing => {
                // Either scheme will do (RFC 9449 §7.1: a challenge for each).
                let mut response = StatusCode::UNAUTHORIZED.into_response();
                let headers = response.headers_mut();
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                let dpop = format!(r#"DPoP algs="{}""#, dpop_core::algorithms().join(" "));
                if let Ok(dpop) = HeaderValue::from_str(&dpop) {
                    headers.append(header::WWW_AUTHENTICATE, dpop);
                }
                return response;
            }
            BearerError::Dpop(error) => return error.into_response(),
            BearerError::Failed(failure) => return OAuthError::Failed(failure).into_response(),
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

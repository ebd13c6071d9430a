//! `POST /token` (RFC 6749 §3.2): parameters, client authentication, the grant, the response.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::extract::Form;
use super::json::JsonBytes;
use super::{credentials, dpop};
use crate::error::{OAuthError, OAuthErrors};
use crate::grants::{self, Deps, TokenRequest};
use crate::params::Params;
use crate::records::GrantType;
use crate::state::AppState;
use crate::token::TokenResponse;

/// Issues tokens for one of the grants (RFC 6749 §3.2, §4, §6; OpenID Connect Core §3.1.3).
#[utoipa::path(
    post,
    path = "/token",
    tag = "oauth",
    request_body(
        description = "The grant's parameters, form-encoded (RFC 6749) or as a JSON object (as \
                       the original API description sends them), with the client's credentials \
                       in HTTP Basic or in the body",
        content(
            (TokenRequest = "application/x-www-form-urlencoded"),
            (TokenRequest = "application/json"),
        ),
    ),
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449 §4): `htm` \
            `POST`, `htu` the issuer's `/token`; the access token is then bound to its key \
            and of type `DPoP`. Required for clients registered with \
            `dpop_bound_access_tokens`"),
    ),
    responses(
        (status = 200, description = "Tokens (RFC 6749 §5.1), never cached; `token_type` \
            `DPoP` when bound to a proof's key", body = TokenResponse,
            headers(("cache-control" = String), ("pragma" = String),
                ("dpop-nonce" = String, description = "With a DPoP proof and \
                    `TS_DPOP_NONCE`: the nonce for the next proof (RFC 9449 §8)"))),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = [])),
)]
// Not `async fn`, whose future would keep its arguments twice (as given, and moved into its
// body): an `async` block keeps what it captures once (docs/design.md, "Small futures").
#[expect(clippy::manual_async_fn, reason = "the future keeps the form once")]
pub fn token(
    State(state): State<AppState>,
    form: Form,
) -> impl Future<Output = Result<Response, OAuthError>> + Send {
    async move { respond(&state, &form.headers, &form.params).await }
}

/// [`token`]'s body.
async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let grant_type = params.required("grant_type")?;
    let grant_type =
        GrantType::at_token_endpoint(grant_type).ok_or(OAuthError::UnsupportedGrantType)?;
    let client = credentials::authenticate(state, headers, params, "/token", now).await?;
    if !client.allows(grant_type) {
        return Err(OAuthError::UnauthorizedClient);
    }
    let request = TokenRequest::of(grant_type, params)?;
    // RFC 9449 §5: a proof binds the access token; a client registered for DPoP must send one.
    let proof = dpop::accept_post(state, headers, "/token", now).await?;
    if proof.is_none() && client.dpop_bound_access_tokens {
        return Err(OAuthError::invalid_dpop_proof(
            "this client must send a DPoP proof",
        ));
    }
    let jkt = proof.as_ref().map(|p| p.jkt.as_str());
    let deps = Deps {
        store: &state.store,
        minter: state.minter(),
        id_tokens: state.id_tokens(),
        users: &state.config.users,
        login: state.login(),
        refresh: state.refresh_policy(),
        metrics: &state.metrics,
    };
    let body = grants::issue(&deps, &client, request, jkt, now).await?;
    state.metrics.token_issued(grant_type);
    let response = no_store(JsonBytes(body.to_json()));
    match proof {
        Some(_) => Ok(dpop::with_nonce(response, state.dpop().next_nonce(now))),
        None => Ok(response),
    }
}

/// Token responses are never cached (RFC 6749 §5.1).
pub fn no_store(body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

//! `POST /revoke` (RFC 7009): revoking a refresh token revokes its whole family.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::credentials;
use super::extract::Form;
use super::extract::TokenParams;
use crate::error::{OAuthError, OAuthErrors};
use crate::refresh_token::RefreshToken;
use crate::state::AppState;
use crate::token::AccessClaims;

/// Revokes a refresh token and its whole family (RFC 7009); unknown tokens answer 200 too.
#[utoipa::path(
    post,
    path = "/revoke",
    tag = "oauth",
    request_body(
        description = "`token` (and `token_type_hint`), form-encoded or JSON, with the client's \
                       credentials",
        content(
            (TokenParams = "application/x-www-form-urlencoded"),
            (TokenParams = "application/json"),
        ),
    ),
    responses(
        (status = 200, description = "Revoked, or nothing to revoke (RFC 7009 §2.2)"),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    Form { headers, params }: Form,
) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let client = credentials::authenticate(&state, &headers, &params, "/revoke", now).await?;
    let TokenParams { token, .. } = params.parse()?;
    // Access tokens are stateless: say so rather than pretend (RFC 7009 §2.2.1).
    if state.keys.verify::<AccessClaims>(&token).is_some() {
        return Err(OAuthError::UnsupportedTokenType);
    }
    if let Some(verified) = RefreshToken::verify(&token, &state.keys) {
        let stored = verified.token.stored();
        state
            .store
            .revoke_refresh(stored.as_ref(), &client.id)
            .await?;
    }
    // Unknown and other clients' tokens answer 200 too: nothing to learn here (§2.2).
    Ok(super::token::no_store(StatusCode::OK).into_response())
}

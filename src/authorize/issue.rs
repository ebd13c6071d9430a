//! The successful authorization response for a signed-in user: a one-time code bound to the
//! request (RFC 6749 §4.1.2, SPEC §7), or an access token in the fragment (§4.2.2, never a
//! refresh token).

use axum::response::Response;

use super::error::AuthorizeError;
use super::request::{AuthRequest, ResponseType};
use super::session::SignedIn;
use crate::clock::UnixTime;
use crate::state::AppState;
use crate::store::{CodeRecord, Grant, Hashed};
use crate::token::Subject;

pub async fn respond(
    state: &AppState,
    request: &AuthRequest,
    signed_in: &SignedIn,
    now: UnixTime,
) -> Result<Response, AuthorizeError> {
    let client = &request.client;
    match request.response_type {
        ResponseType::Code => {
            let ttl = state.config.settings.auth_code_ttl;
            let code = crate::token::opaque(state.keys.rng())?;
            let record = CodeRecord {
                grant: Grant {
                    client_id: client.id.clone(),
                    username: Some(signed_in.user.username.clone()),
                    scope: request.scope.to_string(),
                    auth_time: Some(signed_in.auth_time),
                },
                redirect_uri: request
                    .redirect_uri_sent
                    .then(|| request.target.redirect_uri.clone()),
                code_challenge: request.code_challenge.clone(),
                expires_at: now + ttl,
            };
            state
                .store
                .put_code(&Hashed::of(&code), &record, ttl)
                .await?;
            Ok(request.target.send(&[("code", &code)]))
        }
        ResponseType::Token => {
            let subject = Subject::User {
                user: &signed_in.user,
                auth_time: signed_in.auth_time,
            };
            let minted = crate::grants::access_token(state, client, subject, &request.scope, now)?;
            let expires_in = minted.expires_in.to_string();
            let scope = request.scope.to_string();
            Ok(request.target.send(&[
                ("access_token", &minted.token),
                ("token_type", "Bearer"),
                ("expires_in", &expires_in),
                ("scope", &scope),
            ]))
        }
    }
}

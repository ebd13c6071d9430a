//! The successful authorization response for a signed-in user: a one-time code bound to the
//! request (RFC 6749 §4.1.2, SPEC §7), or an access token in the fragment (§4.2.2, never a
//! refresh token).

use axum::response::Response;

use super::error::AuthorizeError;
use super::request::{AuthRequest, ResponseType};
use super::session::SignedIn;
use crate::clock::UnixTime;
use crate::store::{CodeRecord, Grant, Hashed, Store};
use crate::token::{self, Minter, Subject};

/// What answering an authorization request needs.
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    pub store: &'a Store,
    pub minter: Minter<'a>,
    /// `TS_AUTH_CODE_TTL`.
    pub code_ttl: u64,
}

impl Issuer<'_> {
    pub async fn respond(
        &self,
        request: &AuthRequest,
        signed_in: &SignedIn,
        now: UnixTime,
    ) -> Result<Response, AuthorizeError> {
        let client = &request.client;
        match request.response_type {
            ResponseType::Code => {
                let code = token::opaque(self.minter.keys.rng())?;
                let record = CodeRecord {
                    grant: Grant {
                        client_id: client.id.clone(),
                        username: Some(signed_in.user.username.clone()),
                        scope: request.scope.clone(),
                        auth_time: Some(signed_in.auth_time),
                    },
                    redirect_uri: request
                        .redirect_uri_sent
                        .then(|| request.target.redirect_uri.clone()),
                    code_challenge: request.code_challenge.clone(),
                    expires_at: now + self.code_ttl,
                };
                self.store
                    .put_code(&Hashed::of(&code), &record, self.code_ttl)
                    .await?;
                Ok(request.target.send(&[("code", &code)]))
            }
            ResponseType::Token => {
                let subject = Subject::User {
                    user: &signed_in.user,
                    auth_time: signed_in.auth_time,
                };
                let minted = self.minter.mint(client, subject, &request.scope, now)?;
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
}

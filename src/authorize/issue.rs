//! The successful authorization response for a signed-in user: a one-time code bound to the request
//! (RFC 6749 §4.1.2; README, "What is stored"), or tokens in the fragment (§4.2.2, never a refresh
//! token): an access token, and with `openid` an ID token (OpenID Connect Core §3.2.2.5).

use axum::response::Response;

use super::error::AuthorizeError;
use super::request::{AuthRequest, ResponseType};
use super::session::SignedIn;
use crate::clock::UnixTime;
use crate::id_token::{Authentication, IdTokens};
use crate::store::{CodeRecord, Grant, Hashed, Store};
use crate::token::{self, Minter, Subject};

/// What answering an authorization request needs.
#[derive(Clone, Copy)]
pub struct Issuer<'a> {
    pub store: &'a Store,
    pub minter: Minter<'a>,
    pub id_tokens: IdTokens<'a>,
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
        if request.response_type == ResponseType::Code {
            let code = self.code(request, signed_in, now).await?;
            return Ok(request.target.send(&[("code", &code)]));
        }
        let client = &request.client;
        let mut params: Vec<(&str, String)> = Vec::new();
        let access_token = if request.response_type == ResponseType::IdToken {
            None
        } else {
            let subject = Subject::User {
                user: &signed_in.user,
                auth_time: signed_in.auth_time,
            };
            let minted = self
                .minter
                .mint(client, subject, &request.scope, None, now)?;
            params.push(("access_token", minted.token.clone()));
            params.push(("token_type", "Bearer".to_owned()));
            params.push(("expires_in", minted.expires_in.to_string()));
            params.push(("scope", request.scope.to_string()));
            Some(minted.token)
        };
        if request.response_type.has_id_token() {
            let auth = Authentication {
                client_id: &client.id,
                user: &signed_in.user,
                scope: &request.scope,
                auth_time: signed_in.auth_time,
                nonce: request.nonce.as_deref(),
                access_token: access_token.as_deref(),
                sid: signed_in.sid.as_deref(),
            };
            params.push(("id_token", self.id_tokens.mint(&auth, now)?));
        }
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Ok(request.target.send(&params))
    }

    /// Stores a one-time code bound to the request and the session (README, "What is stored").
    async fn code(
        &self,
        request: &AuthRequest,
        signed_in: &SignedIn,
        now: UnixTime,
    ) -> Result<String, AuthorizeError> {
        let code = token::opaque(self.minter.keys.rng())?;
        let openid = request.scope.has_openid();
        let record = CodeRecord {
            grant: Grant {
                client_id: request.client.id.clone(),
                username: Some(signed_in.user.username.clone()),
                scope: request.scope.clone(),
                auth_time: Some(signed_in.auth_time),
                jkt: None,
            },
            redirect_uri: request
                .redirect_uri_sent
                .then(|| request.target.redirect_uri.clone()),
            code_challenge: request.code_challenge.clone(),
            nonce: request.nonce.clone().filter(|_| openid),
            sid: signed_in.sid.clone().filter(|_| openid),
            dpop_jkt: request.dpop_jkt.clone(),
            expires_at: now + self.code_ttl,
        };
        self.store
            .put_code(&Hashed::of(&code), &record, self.code_ttl)
            .await?;
        Ok(code)
    }
}

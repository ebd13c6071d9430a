//! `authorization_code` (RFC 6749 §4.1.3) with PKCE (RFC 7636): redeem the one-time code
//! bound at /authorize, then mint.

use super::{Deps, family_key, response, start_family};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::id_token::Authentication;
use crate::pkce::{self, PkceError};
use crate::records::Client;
use crate::refresh_token::RefreshToken;
use crate::store::{CodeRedemption, Grant, Hashed};
use crate::token::{Subject, TokenResponse};

pub struct Request<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    /// The thumbprint of the request's DPoP key, if it sent a proof.
    pub jkt: Option<&'a str>,
}

pub async fn grant(
    deps: &Deps<'_>,
    client: &Client,
    request: Request<'_>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() && request.code_verifier.is_none() {
        return Err(OAuthError::invalid_request(
            "code_verifier is required (PKCE)",
        ));
    }
    let invalid = || OAuthError::invalid_grant("the authorization code is invalid");
    // The family is chosen before the code is spent, so a replay can always revoke it.
    let first = RefreshToken::first(deps.minter.keys.rng())?;
    let family = first.family();
    let redemption = deps
        .store
        .redeem_code(
            &Hashed::of(request.code),
            &client.id,
            &family,
            now,
            deps.refresh,
        )
        .await?;
    let record = match redemption {
        CodeRedemption::Redeemed(record) => record,
        CodeRedemption::Replayed => {
            deps.metrics.refresh_reuse();
            tracing::warn!(client_id = %client.id, "authorization code replayed: family revoked");
            return Err(invalid());
        }
        CodeRedemption::Unknown => return Err(invalid()),
    };
    if record.expires_at <= now {
        return Err(invalid());
    }
    // RFC 6749 §4.1.3: required and identical if it was sent to /authorize.
    if record
        .redirect_uri
        .as_deref()
        .is_some_and(|bound| request.redirect_uri != Some(bound))
    {
        return Err(OAuthError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    pkce::verify(record.code_challenge.as_deref(), request.code_verifier).map_err(|e| match e {
        PkceError::MalformedVerifier => OAuthError::invalid_request("malformed code_verifier"),
        PkceError::Mismatch => OAuthError::invalid_grant("PKCE verification failed"),
        PkceError::UnexpectedVerifier => {
            OAuthError::invalid_grant("code_verifier sent but no code_challenge was used")
        }
        PkceError::MissingVerifier => OAuthError::invalid_grant("code_verifier is required"),
    })?;
    // RFC 9449 §10: a code bound to a key at /authorize is redeemed with a proof by that key.
    if record
        .dpop_jkt
        .as_deref()
        .is_some_and(|bound| request.jkt != Some(bound))
    {
        return Err(OAuthError::invalid_grant(
            "the authorization code is bound to another DPoP key",
        ));
    }
    let username = record.grant.username.as_deref().ok_or_else(invalid)?;
    let user = deps.users.get(username).ok_or_else(invalid)?;
    let auth_time = record.grant.auth_time.unwrap_or(now);
    let subject = Subject::User { user, auth_time };
    let scope = &record.grant.scope;
    let access = deps.minter.mint(client, subject, scope, request.jkt, now)?;
    let grant = Grant {
        jkt: family_key(client, request.jkt),
        ..record.grant.clone()
    };
    let refresh = match start_family(deps, client, &grant, Some(first), now).await {
        Err(OAuthError::Failed(failure)) => {
            // No tokens are answered: the client's retry must find the code unspent, or it
            // would count as a replay and revoke what it never received.
            let code = Hashed::of(request.code);
            deps.store.release_code(&code, &family).await;
            return Err(OAuthError::Failed(failure));
        }
        other => other?,
    };
    // OpenID Connect Core §3.1.3.3: the ID token carries the nonce bound to the code.
    let id_token = scope
        .has_openid()
        .then(|| {
            let auth = Authentication {
                client_id: &client.id,
                user,
                scope,
                auth_time,
                nonce: record.nonce.as_deref(),
                access_token: None,
                sid: record.sid.as_deref(),
            };
            deps.id_tokens.mint(&auth, now)
        })
        .transpose()?;
    Ok(response(access, refresh, id_token, request.jkt))
}

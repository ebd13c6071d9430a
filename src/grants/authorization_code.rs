//! `authorization_code` (RFC 6749 §4.1.3) with PKCE (RFC 7636): redeem the one-time code
//! bound at /authorize, then mint.

use subtle::ConstantTimeEq;

use super::{access_token, response, start_family};
use crate::clock::UnixTime;
use crate::config::Client;
use crate::error::OAuthError;
use crate::scope::Scope;
use crate::state::AppState;
use crate::store::{CodeRedemption, Hashed};
use crate::token::{self, Subject, TokenResponse};

pub struct Request<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

pub async fn grant(
    state: &AppState,
    client: &Client,
    request: Request<'_>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    if client.is_public() && request.code_verifier.is_none() {
        return Err(OAuthError::invalid_request(
            "code_verifier is required (PKCE)",
        ));
    }
    // The family is chosen before the code is spent, so a replay can always revoke it.
    let family = token::random_b64::<16>(state.keys.rng())?;
    let redemption = state
        .store
        .redeem_code(
            &Hashed::of(request.code),
            &family,
            now,
            state.refresh_policy(),
        )
        .await?;
    let record = match redemption {
        CodeRedemption::Redeemed(record) => record,
        CodeRedemption::Replayed => {
            state.metrics.refresh_reuse();
            tracing::warn!(client_id = %client.id, "authorization code replayed: family revoked");
            return Err(OAuthError::invalid_grant(
                "the authorization code is invalid",
            ));
        }
        CodeRedemption::Unknown => {
            return Err(OAuthError::invalid_grant(
                "the authorization code is invalid",
            ));
        }
    };
    let invalid = || OAuthError::invalid_grant("the authorization code is invalid");
    if record.grant.client_id != client.id || record.expires_at <= now {
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
    verify_pkce(record.code_challenge.as_deref(), request.code_verifier)?;
    let username = record.grant.username.as_deref().ok_or_else(invalid)?;
    let user = state.config.user(username).ok_or_else(invalid)?;
    let scope = Scope::parse(&record.grant.scope).unwrap_or_default();
    let subject = Subject::User {
        user,
        auth_time: record.grant.auth_time.unwrap_or(now),
    };
    let access = access_token(state, client, subject, &scope, now)?;
    let refresh = start_family(state, client, &record.grant, Some(family), now).await?;
    Ok(response(access, refresh, &scope))
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(code_verifier)) == code_challenge`. A verifier without a
/// challenge, or a challenge without a verifier, fails.
fn verify_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) => {
            if !is_valid_verifier(verifier) {
                return Err(OAuthError::invalid_request("malformed code_verifier"));
            }
            let computed = token::sha256_b64(verifier.as_bytes());
            if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                Ok(())
            } else {
                Err(OAuthError::invalid_grant("PKCE verification failed"))
            }
        }
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "code_verifier sent but no code_challenge was used",
        )),
        (Some(_), None) => Err(OAuthError::invalid_grant("code_verifier is required")),
    }
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

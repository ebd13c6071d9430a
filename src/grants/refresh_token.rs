//! `refresh_token` (RFC 6749 §6): rotation with reuse detection (RFC 9700 §4.14).

use super::{Deps, response};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::id_token::Authentication;
use crate::records::Client;
use crate::refresh_token::RefreshToken;
use crate::scope::Scope;
use crate::store::{Rotate, Rotation};
use crate::token::{Subject, TokenResponse};

pub struct Request<'a> {
    pub refresh_token: &'a str,
    pub scope: Option<&'a str>,
    /// The thumbprint of the request's DPoP key, if it sent a proof: a family bound to a key
    /// needs it, and the new access token is bound to it (RFC 9449 §5).
    pub jkt: Option<&'a str>,
}

pub async fn grant(
    deps: &Deps<'_>,
    client: &Client,
    request: Request<'_>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let Request {
        refresh_token,
        scope,
        jkt,
    } = request;
    let invalid = || OAuthError::invalid_grant("the refresh token is invalid");
    let requested = match scope {
        Some(s) => Some(Scope::parse(s).ok_or(OAuthError::InvalidScope)?),
        None => None,
    }
    .filter(|s| !s.is_empty());
    // Asking for a scope the client's config no longer allows is refused before the token is
    // spent, so the client can retry it without the retry looking like reuse.
    if let Some(requested) = &requested
        && requested.allowed_now(&client.scopes, true) != *requested
    {
        return Err(OAuthError::InvalidScope);
    }
    // A token whose MAC is not ours is no token of ours: nothing to look up (RFC 9700 §4.14
    // asks for refresh tokens that cannot be forged; docs/design.md, "Refresh tokens").
    let keys = deps.minter.keys;
    let presented = RefreshToken::verify(refresh_token, keys).ok_or_else(invalid)?;
    let successor = presented.successor().ok_or_else(invalid)?;
    let stored = presented.token.stored();
    let successor_digest = successor.digest();
    let rotate = Rotate {
        presented: stored.as_ref(),
        successor: &successor_digest,
        client_id: &client.id,
        jkt,
        scope: requested.as_ref(),
        now,
    };
    let grant = match deps.store.rotate_refresh(&rotate, deps.refresh).await? {
        Rotation::Rotated(grant) => grant,
        Rotation::ScopeExceeded => return Err(OAuthError::InvalidScope),
        Rotation::Reused => {
            deps.metrics.refresh_reuse();
            tracing::warn!(client_id = %client.id, "refresh token reused: family revoked");
            return Err(invalid());
        }
        Rotation::Invalid => return Err(invalid()),
    };
    // What the client's config allows now bounds every token of the family: a scope removed
    // from the client since the grant is gone, and a family with nothing left is dead.
    let allowed = grant
        .scope
        .allowed_now(&client.scopes, grant.username.is_some());
    if allowed.is_empty() {
        return Err(invalid());
    }
    let openid = allowed.has_openid();
    // A narrower scope narrows this access token only; the family keeps its scope.
    let scope = requested.unwrap_or(allowed);
    let auth_time = grant.auth_time.unwrap_or(now);
    // A user removed from the config file since cannot refresh.
    let user = match &grant.username {
        Some(username) => Some(deps.users.get(username).ok_or_else(invalid)?),
        None => None,
    };
    let subject = match user {
        Some(user) => Subject::User { user, auth_time },
        None => Subject::Client,
    };
    let access = deps.minter.mint(client, subject, &scope, jkt, now)?;
    // OpenID Connect Core §12.2: a fresh ID token for the same user and client, `auth_time`
    // still the original sign-in's; the claims follow this access token's scope.
    let id_token = user
        .filter(|_| openid)
        .map(|user| {
            let auth = Authentication {
                client_id: &client.id,
                user,
                scope: &scope,
                auth_time,
                nonce: None,
                access_token: None,
                sid: None,
            };
            deps.id_tokens.mint(&auth, now)
        })
        .transpose()?;
    Ok(response(access, Some(successor.wire(keys)), id_token, jkt))
}

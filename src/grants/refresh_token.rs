//! `refresh_token` (RFC 6749 §6): rotation with reuse detection (RFC 9700 §4.14).

use super::{access_token, response};
use crate::clock::UnixTime;
use crate::config::Client;
use crate::error::OAuthError;
use crate::scope::Scope;
use crate::state::AppState;
use crate::store::{Hashed, Rotate, Rotation};
use crate::token::{self, Subject, TokenResponse};

pub async fn grant(
    state: &AppState,
    client: &Client,
    refresh_token: &str,
    scope: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let requested = match scope {
        Some(s) => Some(Scope::parse(s).ok_or(OAuthError::InvalidScope)?),
        None => None,
    }
    .filter(|s| !s.is_empty());
    let successor = token::opaque(state.keys.rng())?;
    let rotate = Rotate {
        old: &Hashed::of(refresh_token),
        new: &Hashed::of(&successor),
        client_id: &client.id,
        scope: requested.as_ref(),
        now,
    };
    let grant = match state
        .store
        .rotate_refresh(&rotate, state.refresh_policy())
        .await?
    {
        Rotation::Rotated(grant) => grant,
        Rotation::ScopeExceeded => return Err(OAuthError::InvalidScope),
        Rotation::Reused => {
            state.metrics.refresh_reuse();
            tracing::warn!(client_id = %client.id, "refresh token reused: family revoked");
            return Err(OAuthError::invalid_grant("the refresh token is invalid"));
        }
        Rotation::Invalid => return Err(OAuthError::invalid_grant("the refresh token is invalid")),
    };
    // A narrower scope narrows this access token only; the family keeps its scope.
    let scope = match requested {
        Some(scope) => scope,
        None => Scope::parse(&grant.scope).unwrap_or_default(),
    };
    let access = match &grant.username {
        Some(username) => {
            // A user removed from the config file since cannot refresh.
            let user = state
                .config
                .user(username)
                .ok_or_else(|| OAuthError::invalid_grant("the refresh token is invalid"))?;
            let subject = Subject::User {
                user,
                auth_time: grant.auth_time.unwrap_or(now),
            };
            access_token(state, client, subject, &scope, now)?
        }
        None => access_token(state, client, Subject::Client, &scope, now)?,
    };
    Ok(response(access, Some(successor), &scope))
}

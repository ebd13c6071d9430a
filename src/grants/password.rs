//! `password` (RFC 6749 §4.3): the resource owner's credentials, throttled per username.

use super::{Deps, granted_scope, response, start_family};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::records::Client;
use crate::store::Grant;
use crate::token::{Subject, TokenResponse};
use crate::users::LoginFailure;

pub async fn grant(
    deps: Deps<'_>,
    client: &Client,
    username: &str,
    password: &str,
    scope: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let scope = granted_scope(client, scope)?;
    let user = deps
        .login
        .check(username, password)
        .await
        .map_err(|failure| match failure {
            LoginFailure::BadCredentials => {
                OAuthError::invalid_grant("invalid username or password")
            }
            LoginFailure::Throttled(retry_after) => {
                deps.metrics.login_throttled();
                OAuthError::TooManyAttempts { retry_after }
            }
            LoginFailure::Failed(failure) => OAuthError::Failed(failure),
        })?;
    let subject = Subject::User {
        user: &user,
        auth_time: now,
    };
    let access = deps.minter.mint(client, subject, &scope, now)?;
    let grant = Grant {
        client_id: client.id.clone(),
        username: Some(user.username.clone()),
        scope: scope.clone(),
        auth_time: Some(now),
    };
    let refresh = start_family(deps, client, &grant, None, now).await?;
    Ok(response(access, refresh, &scope))
}

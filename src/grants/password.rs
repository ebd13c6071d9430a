//! `password` (RFC 6749 §4.3): the resource owner's credentials, throttled per username.

use super::{access_token, granted_scope, response, start_family};
use crate::clock::UnixTime;
use crate::config::Client;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::store::Grant;
use crate::token::{Subject, TokenResponse};
use crate::users::{LoginFailure, login};

pub async fn grant(
    state: &AppState,
    client: &Client,
    username: &str,
    password: &str,
    scope: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let scope = granted_scope(client, scope)?;
    let user = login(state, username, password, now)
        .await
        .map_err(|failure| match failure {
            LoginFailure::BadCredentials => {
                OAuthError::invalid_grant("invalid username or password")
            }
            LoginFailure::Throttled(retry_after) => {
                state.metrics.login_throttled();
                OAuthError::TooManyAttempts { retry_after }
            }
            LoginFailure::Unavailable(error) => error,
        })?;
    let subject = Subject::User {
        user: &user,
        auth_time: now,
    };
    let access = access_token(state, client, subject, &scope, now)?;
    let grant = Grant {
        client_id: client.id.clone(),
        username: Some(user.username.clone()),
        scope: scope.to_string(),
        auth_time: Some(now),
    };
    let refresh = start_family(state, client, &grant, None, now).await?;
    Ok(response(access, refresh, &scope))
}

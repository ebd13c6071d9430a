//! `password` (RFC 6749 §4.3): the resource owner's credentials, throttled per username.

use super::{Deps, family_key, granted_user_scope, response, start_family};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::id_token::Authentication;
use crate::records::Client;
use crate::store::Grant;
use crate::token::{Subject, TokenResponse};
use crate::users::LoginFailure;

pub async fn grant(
    deps: &Deps<'_>,
    client: &Client,
    username: &str,
    password: &str,
    scope: Option<&str>,
    jkt: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let scope = granted_user_scope(client, scope)?;
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
    let access = deps.minter.mint(client, subject, &scope, jkt, now)?;
    let grant = Grant {
        client_id: client.id.clone(),
        username: Some(user.username.clone()),
        scope: scope.clone(),
        auth_time: Some(now),
        jkt: family_key(client, jkt),
    };
    let refresh = start_family(deps, client, &grant, None, now).await?;
    // No browser, so no session: no `sid`, no `nonce` (OpenID Connect Core §2).
    let id_token = scope
        .has_openid()
        .then(|| {
            let auth = Authentication {
                client_id: &client.id,
                user: &user,
                scope: &scope,
                auth_time: now,
                nonce: None,
                access_token: None,
                sid: None,
            };
            deps.id_tokens.mint(&auth, now)
        })
        .transpose()?;
    Ok(response(access, refresh, id_token, jkt))
}

//! `client_credentials` (RFC 6749 §4.4): the client acting for itself.

use super::{access_token, granted_scope, response, start_family};
use crate::clock::UnixTime;
use crate::config::Client;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::store::Grant;
use crate::token::{Subject, TokenResponse};

pub async fn grant(
    state: &AppState,
    client: &Client,
    scope: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let scope = granted_scope(client, scope)?;
    let access = access_token(state, client, Subject::Client, &scope, now)?;
    let grant = Grant {
        client_id: client.id.clone(),
        username: None,
        scope: scope.to_string(),
        auth_time: None,
    };
    // The access token needs no store; with the store down the client still gets one, only
    // without a refresh token (SPEC §8).
    let refresh = match start_family(state, client, &grant, None, now).await {
        Ok(refresh) => refresh,
        Err(OAuthError::TemporarilyUnavailable) => None,
        Err(other) => return Err(other),
    };
    Ok(response(access, refresh, &scope))
}

//! `client_credentials` (RFC 6749 §4.4): the client acting for itself.

use super::{Deps, family_key, granted_scope, response, start_family};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::failure::Failure;
use crate::records::{Client, GrantType};
use crate::store::Grant;
use crate::token::{Minted, Subject, TokenResponse};

pub async fn grant(
    deps: &Deps<'_>,
    client: &Client,
    scope: Option<&str>,
    jkt: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    let scope = granted_scope(client, scope)?;
    let access = deps
        .minter
        .mint(client, Subject::Client, &scope, jkt, now)?;
    // Most clients of this grant may not refresh (RFC 6749 §4.4.3): only for one that may is
    // the grant written down for a family.
    if !client.allows(GrantType::RefreshToken) {
        return Ok(response(access, None, None, jkt));
    }
    let grant = Grant {
        client_id: client.id.clone(),
        username: None,
        scope: scope.into_owned(),
        auth_time: None,
        jkt: family_key(client, jkt),
    };
    // Boxed: most clients of this grant never wait for the store, and their requests' futures
    // do not carry the room its wait takes (docs/design.md, "Small futures").
    Box::pin(with_refresh_token(deps, client, grant, access, jkt, now)).await
}

/// The response of a client that may refresh: with the first refresh token of a new family.
async fn with_refresh_token(
    deps: &Deps<'_>,
    client: &Client,
    grant: Grant,
    access: Minted,
    jkt: Option<&str>,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    // The access token needs no store; with the store down the client still gets one, only
    // without a refresh token (docs/design.md, "Load, faults and bad input").
    let refresh = match start_family(deps, client, &grant, None, now).await {
        Ok(refresh) => refresh,
        Err(OAuthError::Failed(Failure::Unavailable(detail))) => {
            tracing::warn!(%detail, "store unavailable: access token without refresh token");
            None
        }
        Err(other) => return Err(other),
    };
    Ok(response(access, refresh, None, jkt))
}

//! `POST /token`'s grants: the request enum, the one `match`, and what every grant shares
//! (minting the access token, starting a refresh-token family).

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;

use serde::Deserialize;

use crate::clock::UnixTime;
use crate::config::Client;
use crate::error::OAuthError;
use crate::scope::Scope;
use crate::state::AppState;
use crate::store::{Grant, Hashed};
use crate::token::{self, Subject, TokenResponse};

/// The grant types of RFC 6749, as clients are allowed them in the config file.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    Implicit,
    Password,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::Implicit,
        GrantType::Password,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Implicit => "implicit",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    /// A public client cannot keep a secret, so it may only use the redirect-based grants
    /// (with PKCE for the code) and refresh (SPEC §3).
    pub fn allowed_for_public_clients(self) -> bool {
        matches!(
            self,
            GrantType::AuthorizationCode | GrantType::Implicit | GrantType::RefreshToken
        )
    }

    pub fn uses_redirect(self) -> bool {
        matches!(self, GrantType::AuthorizationCode | GrantType::Implicit)
    }

    /// The grant type named by `grant_type` at the token endpoint; `implicit` is not one
    /// (RFC 6749 §4.2 issues its token from /authorize).
    pub fn at_token_endpoint(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == name && *g != GrantType::Implicit)
    }
}

/// A token request, by `grant_type` (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6).
#[derive(Debug, Deserialize)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
}

/// Runs the grant for an authenticated client allowed to use it.
pub async fn issue(
    state: &AppState,
    client: &Client,
    request: TokenRequest,
    now: UnixTime,
) -> Result<TokenResponse, OAuthError> {
    match request {
        TokenRequest::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let request = authorization_code::Request {
                code: &code,
                redirect_uri: redirect_uri.as_deref(),
                code_verifier: code_verifier.as_deref(),
            };
            authorization_code::grant(state, client, request, now).await
        }
        TokenRequest::Password {
            username,
            password,
            scope,
        } => password::grant(state, client, &username, &password, scope.as_deref(), now).await,
        TokenRequest::ClientCredentials { scope } => {
            client_credentials::grant(state, client, scope.as_deref(), now).await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => refresh_token::grant(state, client, &refresh_token, scope.as_deref(), now).await,
    }
}

/// The scope to grant `client`: what it asked for, within what it is allowed.
pub fn granted_scope(client: &Client, requested: Option<&str>) -> Result<Scope, OAuthError> {
    Scope::narrow(&client.scopes, requested).ok_or(OAuthError::InvalidScope)
}

/// Mints the access token of a grant.
pub fn access_token(
    state: &AppState,
    client: &Client,
    subject: Subject<'_>,
    scope: &Scope,
    now: UnixTime,
) -> Result<token::Minted, OAuthError> {
    let settings = &state.config.settings;
    token::mint(
        &state.keys,
        settings.issuer_base(),
        settings.access_token_ttl,
        client,
        subject,
        scope,
        now,
    )
}

/// Starts a refresh-token family for `grant` if the client may refresh (SPEC §6: a client
/// without the `refresh_token` grant never gets one). `family` is given when it was bound
/// beforehand (to an authorization code).
pub async fn start_family(
    state: &AppState,
    client: &Client,
    grant: &Grant,
    family: Option<String>,
    now: UnixTime,
) -> Result<Option<String>, OAuthError> {
    if !client.allows(GrantType::RefreshToken) {
        return Ok(None);
    }
    let family = match family {
        Some(family) => family,
        None => token::random_b64::<16>(state.keys.rng())?,
    };
    let refresh = token::opaque(state.keys.rng())?;
    let policy = state.refresh_policy();
    if !state
        .store
        .create_family(&family, grant, &Hashed::of(&refresh), now, policy)
        .await?
    {
        return Err(OAuthError::invalid_grant(
            "the authorization code was replayed",
        ));
    }
    Ok(Some(refresh))
}

/// The success response (RFC 6749 §5.1).
pub fn response(
    access: token::Minted,
    refresh_token: Option<String>,
    scope: &Scope,
) -> TokenResponse {
    TokenResponse {
        access_token: access.token,
        token_type: "Bearer",
        expires_in: access.expires_in,
        refresh_token,
        scope: scope.to_string(),
    }
}

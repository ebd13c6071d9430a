//! `POST /token`'s grants: the request enum, the one `match`, and what every grant shares
//! (the scope to grant, starting a refresh-token family, the response).

mod authorization_code;
mod client_credentials;
mod password;
mod refresh_token;

use std::borrow::Cow;

use serde::Deserialize;

use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::id_token::IdTokens;
use crate::metrics::Metrics;
use crate::params::{Params, ParamsError};
use crate::records::{Client, GrantType, Users};
use crate::refresh_token::RefreshToken;
use crate::scope::Scope;
use crate::store::{Grant, RefreshPolicy, Store};
use crate::token::{Minted, Minter, TokenResponse};
use crate::users::Login;

/// What the grants use, picked from the state by the token endpoint.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a Store,
    pub minter: Minter<'a>,
    pub id_tokens: IdTokens<'a>,
    pub users: &'a Users,
    pub login: Login<'a>,
    pub refresh: RefreshPolicy,
    pub metrics: &'a Metrics,
}

/// A token request, by `grant_type` (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6). The client
/// authenticates with HTTP Basic or with `client_id` and `client_secret` in the body, never
/// both (public clients: `client_id` alone). An empty value reads as absent (RFC 6749 §3.1),
/// hence the minimum lengths; in JSON, so does `null`.
// The OpenAPI description names each variant by its `title` and tells them apart by
// `grant_type`, a discriminator added in `http::openapi`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(tag = "grant_type", rename_all = "snake_case")]
pub enum TokenRequest {
    #[schema(title = "AuthorizationCodeRequest")]
    AuthorizationCode {
        #[schema(min_length = 1)]
        code: String,
        redirect_uri: Option<String>,
        /// RFC 7636 §4.1: 43 to 128 unreserved characters.
        #[schema(pattern = r"^[A-Za-z0-9._~-]{43,128}$")]
        code_verifier: Option<String>,
    },
    #[schema(title = "PasswordRequest")]
    Password {
        #[schema(min_length = 1)]
        username: String,
        #[schema(min_length = 1)]
        password: String,
        scope: Option<String>,
    },
    #[schema(title = "ClientCredentialsRequest")]
    ClientCredentials { scope: Option<String> },
    #[schema(title = "RefreshTokenRequest")]
    RefreshToken {
        #[schema(min_length = 1)]
        refresh_token: String,
        scope: Option<String>,
    },
}

impl TokenRequest {
    /// The request of `grant_type` in `params`. `client_credentials` reads its one parameter
    /// directly: serde reads an internally tagged enum by buffering every parameter first, to
    /// find the tag among them.
    pub fn of(grant_type: GrantType, params: &Params) -> Result<Self, ParamsError> {
        match grant_type {
            GrantType::ClientCredentials => Ok(TokenRequest::ClientCredentials {
                scope: params.get("scope").map(str::to_owned),
            }),
            _ => params.parse(),
        }
    }
}

/// Runs the grant for an authenticated client allowed to use it. The grants that wait for the
/// store or argon2 run boxed, so that a `client_credentials` request's future does not carry
/// the room their waits take (docs/design.md, "Small futures"). `jkt` is the thumbprint of
/// the key of the request's accepted DPoP proof, if it sent one: the access token is bound to
/// it (RFC 9449 §5).
pub async fn issue(
    deps: &Deps<'_>,
    client: &Client,
    request: TokenRequest,
    jkt: Option<&str>,
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
                jkt,
            };
            Box::pin(authorization_code::grant(deps, client, request, now)).await
        }
        TokenRequest::Password {
            username,
            password,
            scope,
        } => {
            Box::pin(password::grant(
                deps,
                client,
                &username,
                &password,
                scope.as_deref(),
                jkt,
                now,
            ))
            .await
        }
        TokenRequest::ClientCredentials { scope } => {
            client_credentials::grant(deps, client, scope.as_deref(), jkt, now).await
        }
        TokenRequest::RefreshToken {
            refresh_token,
            scope,
        } => {
            let request = refresh_token::Request {
                refresh_token: &refresh_token,
                scope: scope.as_deref(),
                jkt,
            };
            Box::pin(refresh_token::grant(deps, client, request, now)).await
        }
    }
}

/// The scope to grant `client`: what it asked for, within what it is allowed.
fn granted_scope<'c>(
    client: &'c Client,
    requested: Option<&str>,
) -> Result<Cow<'c, Scope>, OAuthError> {
    Scope::narrow(&client.scopes, requested).ok_or(OAuthError::InvalidScope)
}

/// [`granted_scope`] for a grant on behalf of a user, who may also ask for the OpenID
/// Connect scopes (README, "OpenID Connect").
fn granted_user_scope(client: &Client, requested: Option<&str>) -> Result<Scope, OAuthError> {
    Scope::narrow_for_user(&client.scopes, requested).ok_or(OAuthError::InvalidScope)
}

/// The DPoP key a new family is bound to: a public client's refresh tokens are bound to the
/// key of the proof they were issued with; a confidential client's are not, since the client
/// authenticates to use them (RFC 9449 §5).
fn family_key(client: &Client, jkt: Option<&str>) -> Option<String> {
    jkt.filter(|_| client.is_public()).map(str::to_owned)
}

/// Starts a refresh-token family for `grant` if the client may refresh (a client without
/// the `refresh_token` grant never gets one, RFC 6749 §4.4.3). `first` is given when its
/// family was bound beforehand (to an authorization code).
async fn start_family(
    deps: &Deps<'_>,
    client: &Client,
    grant: &Grant,
    first: Option<RefreshToken>,
    now: UnixTime,
) -> Result<Option<String>, OAuthError> {
    if !client.allows(GrantType::RefreshToken) {
        return Ok(None);
    }
    let keys = deps.minter.keys;
    let first = match first {
        Some(first) => first,
        None => RefreshToken::first(keys.rng())?,
    };
    let stored = first.stored();
    if !deps
        .store
        .create_family(stored.as_ref(), grant, now, deps.refresh)
        .await?
    {
        return Err(OAuthError::invalid_grant(
            "the authorization code was replayed",
        ));
    }
    Ok(Some(first.wire(keys)))
}

/// The success response (RFC 6749 §5.1), with the ID token of an OpenID request; a token
/// bound to a DPoP key is of type `DPoP` (RFC 9449 §5).
fn response(
    access: Minted,
    refresh_token: Option<String>,
    id_token: Option<String>,
    jkt: Option<&str>,
) -> TokenResponse {
    TokenResponse {
        access_token: access.token,
        token_type: if jkt.is_some() { "DPoP" } else { "Bearer" },
        expires_in: access.expires_in,
        refresh_token,
        scope: access.scope,
        id_token,
    }
}

//! Pushed authorization requests (RFC 9126; README, "Pushed authorization requests"): /par
//! validates a client's request as /authorize would and keeps it under a fresh `request_uri`;
//! /authorize takes it once, for that client, and uses its parameters.

use std::sync::Arc;

use ring::rand::SystemRandom;
use serde::Serialize;

use super::error::AuthorizeError;
use super::request::{self, AuthRequest, Origin};
use super::seal;
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::keys::KeySet;
use crate::params::Params;
use crate::records::{Client, Clients, GrantType};
use crate::store::{Hashed, PushedRequest, Store};
use crate::token;

/// What every `request_uri` of /par starts with (RFC 9126 §2.2); any other is refused as
/// before (`request_uri_not_supported`).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// Seconds a pushed request waits for /authorize: long enough to send the browser there
/// (RFC 9126 §2.2).
pub const LIFETIME: u64 = 60;

/// The answer of /par (RFC 9126 §2.2).
#[derive(Serialize, utoipa::ToSchema)]
pub struct PushedResponse {
    /// `urn:ietf:params:oauth:request_uri:` and 256 random bits; single use.
    #[schema(pattern = r"^urn:ietf:params:oauth:request_uri:[A-Za-z0-9_-]{43}$")]
    pub request_uri: String,
    /// Seconds the request_uri stays valid.
    pub expires_in: u64,
}

/// Validates the request `client` pushes as /authorize would, answering its errors as /par
/// does (RFC 9126 §2.3); the parameters to keep, `client_id` among them. The client's
/// credentials are not among them.
pub fn check(
    client: &Arc<Client>,
    issuer: &str,
    params: &Params,
) -> Result<Vec<(String, String)>, OAuthError> {
    if !(client.allows(GrantType::AuthorizationCode) || client.allows(GrantType::Implicit)) {
        return Err(OAuthError::UnauthorizedClient);
    }
    if params.get("request_uri").is_some() {
        return Err(OAuthError::invalid_request(
            "request_uri may not be pushed (RFC 9126)",
        ));
    }
    let request = request::validate_for(client.clone(), issuer, params, Origin::Pushing)?;
    let params: Vec<(String, String)> = request
        .hidden
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    // The login form carries what was pushed, sealed in one field.
    if !seal::fits(&params) {
        return Err(OAuthError::invalid_request(
            "the authorization request is longer than the login form can carry (6 KiB)",
        ));
    }
    Ok(params)
}

/// Keeps `params` for `client_id` under a new `request_uri`, for [`LIFETIME`].
pub async fn store(
    store: &Store,
    rng: &SystemRandom,
    client_id: &str,
    params: Vec<(String, String)>,
    now: UnixTime,
) -> Result<PushedResponse, OAuthError> {
    let request_uri = format!("{REQUEST_URI_PREFIX}{}", token::opaque(rng)?);
    let pushed = PushedRequest {
        client_id: client_id.to_owned(),
        params,
        expires_at: now + LIFETIME,
    };
    store
        .put_pushed(&Hashed::of(&request_uri), &pushed, LIFETIME)
        .await?;
    Ok(PushedResponse {
        request_uri,
        expires_in: LIFETIME,
    })
}

/// The `request_uri` of an /authorize query, if it is one /par hands out.
pub fn request_uri(query: &Params) -> Option<&str> {
    query
        .get("request_uri")
        .filter(|uri| uri.starts_with(REQUEST_URI_PREFIX))
}

/// The pushed request `request_uri` names, validated, for the client the query names
/// (RFC 9126 §4); the query's other parameters are not read. It is spent whatever follows:
/// unknown, used, expired and other clients' request_uris show the error page.
pub async fn take(
    store: &Store,
    clients: &Clients,
    issuer: &str,
    query: &Params,
    request_uri: &str,
    now: UnixTime,
) -> Result<AuthRequest, AuthorizeError> {
    let client = request::named_client(clients, query)?;
    let pushed = store
        .take_pushed(&Hashed::of(request_uri), now)
        .await?
        .filter(|pushed| pushed.client_id == client.id)
        .ok_or(AuthorizeError::UnknownRequestUri)?;
    let params = Params::from_pairs(pushed.params).map_err(|_| AuthorizeError::Malformed)?;
    let origin = Origin::Pushed {
        form_until: now + seal::FORM_LIFETIME,
    };
    request::validate_for(client, issuer, &params, origin)
}

/// The pushed request a login form carries sealed, validated; a seal that does not open (made
/// for another browser, expired, altered) is the 403 of a failed CSRF check.
pub fn from_form(
    keys: &KeySet,
    clients: &Clients,
    issuer: &str,
    sealed: &str,
    csrf: Option<&str>,
    now: UnixTime,
) -> Result<AuthRequest, AuthorizeError> {
    let (params, form_until) = csrf
        .and_then(|csrf| seal::open(keys, sealed, csrf, now))
        .ok_or(AuthorizeError::Forbidden)?;
    request::validate(clients, issuer, &params, Origin::Pushed { form_until })
}

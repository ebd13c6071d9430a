//! Client authentication (RFC 6749 §2.3): `client_secret_basic` or `client_secret_post`,
//! public clients by `client_id` alone, and the cache that makes argon2 a once-per-secret
//! cost instead of a per-request one (SPEC §8).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use subtle::ConstantTimeEq;

use crate::config::Client;
use crate::error::OAuthError;
use crate::http::params::Params;
use crate::state::AppState;

/// The client credentials of one request, from the `Authorization` header and the body.
#[derive(Default)]
pub struct Credentials {
    pub client_id: Option<String>,
    secret: Option<String>,
}

impl Credentials {
    /// Reads HTTP Basic (form-decoded, RFC 6749 §2.3.1) and `client_id`/`client_secret` in
    /// the body. A secret in both places, or two different client ids, is `invalid_request`.
    pub fn from_request(headers: &HeaderMap, params: &Params) -> Result<Self, OAuthError> {
        let body_id = params.get("client_id").map(str::to_owned);
        let body_secret = params.get("client_secret").map(str::to_owned);
        let Some(basic) = basic_credentials(headers)? else {
            return Ok(Credentials {
                client_id: body_id,
                secret: body_secret,
            });
        };
        if body_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "client credentials in both the Authorization header and the body",
            ));
        }
        if body_id.as_ref().is_some_and(|id| *id != basic.0) {
            return Err(OAuthError::invalid_request(
                "client_id in the body differs from the Authorization header",
            ));
        }
        Ok(Credentials {
            client_id: Some(basic.0),
            secret: Some(basic.1),
        })
    }
}

/// `Authorization: Basic` credentials, each half form-urlencoded (RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || OAuthError::InvalidClient;
    let value = value.to_str().map_err(|_| malformed())?;
    let Some((scheme, encoded)) = value.split_once(' ') else {
        return Err(malformed());
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(malformed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
    let id = crate::http::params::form_decode(id).ok_or_else(malformed)?;
    let secret = crate::http::params::form_decode(secret).ok_or_else(malformed)?;
    Ok(Some((id, secret)))
}

/// SHA-256 of each client's secret once argon2 has verified it.
pub struct SecretCache {
    verified: RwLock<HashMap<String, [u8; 32]>>,
    /// One argon2 verification at a time per client, so that concurrent first requests with
    /// the right secret wait for the first and then find it cached (SPEC §8: argon2 at most
    /// once per (client, secret)), and a flood of wrong secrets for one client holds one
    /// place in the argon2 pool, not all of them: other clients' first secrets get through.
    turns: HashMap<String, tokio::sync::Mutex<()>>,
}

/// How long a request waits for its client's turn before it is shed (503).
const TURN_TIMEOUT: Duration = Duration::from_secs(2);

impl SecretCache {
    pub fn new<'a>(client_ids: impl Iterator<Item = &'a String>) -> Self {
        SecretCache {
            verified: RwLock::default(),
            turns: client_ids
                .map(|id| (id.clone(), tokio::sync::Mutex::new(())))
                .collect(),
        }
    }

    async fn turn(&self, client_id: &str) -> Result<tokio::sync::MutexGuard<'_, ()>, OAuthError> {
        let turn = self
            .turns
            .get(client_id)
            .ok_or_else(|| OAuthError::Internal(format!("no turn for client {client_id}")))?;
        tokio::time::timeout(TURN_TIMEOUT, turn.lock())
            .await
            .map_err(|_| OAuthError::TemporarilyUnavailable)
    }

    /// Whether `digest` is the verified secret of `client_id`; `None` until one has been
    /// verified. A client has exactly one secret, so once it is known any other is wrong.
    fn check(&self, client_id: &str, digest: &[u8; 32]) -> Option<bool> {
        let verified = self.verified.read().ok()?;
        let known = verified.get(client_id)?;
        Some(bool::from(known.ct_eq(digest)))
    }

    fn remember(&self, client_id: &str, digest: [u8; 32]) {
        if let Ok(mut m) = self.verified.write() {
            m.insert(client_id.to_owned(), digest);
        }
    }
}

fn sha256(secret: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, secret.as_bytes()).as_ref());
    out
}

/// Reads and authenticates the client of a request, and names it in the request's span.
pub async fn authenticate_request(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Arc<Client>, OAuthError> {
    let credentials = Credentials::from_request(headers, params)?;
    if let Some(id) = &credentials.client_id {
        tracing::Span::current().record("client_id", id.as_str());
    }
    authenticate(state, &credentials).await
}

/// Authenticates the client of a request. Unknown client, wrong secret, missing secret of a
/// confidential client and a secret sent by a public client all answer `invalid_client`.
pub async fn authenticate(
    state: &AppState,
    credentials: &Credentials,
) -> Result<Arc<Client>, OAuthError> {
    let id = credentials
        .client_id
        .as_deref()
        .ok_or(OAuthError::InvalidClient)?;
    let client = state.config.client(id).ok_or(OAuthError::InvalidClient)?;
    match (&client.secret_hash, &credentials.secret) {
        (None, None) => Ok(client.clone()),
        (Some(hash), Some(secret)) => {
            let digest = sha256(secret);
            // Once the client's secret is known, any other is refused without argon2 and
            // without waiting for the client's turn: a flood of wrong secrets costs nothing.
            if let Some(matches) = state.secrets.check(id, &digest) {
                return accept(matches, client);
            }
            let _turn = state.secrets.turn(id).await?;
            if let Some(matches) = state.secrets.check(id, &digest) {
                return accept(matches, client);
            }
            if state.argon2.verify_secret(hash, secret).await? {
                state.secrets.remember(id, digest);
                return Ok(client.clone());
            }
            Err(OAuthError::InvalidClient)
        }
        _ => Err(OAuthError::InvalidClient),
    }
}

fn accept(matches: bool, client: &Arc<Client>) -> Result<Arc<Client>, OAuthError> {
    if matches {
        Ok(client.clone())
    } else {
        Err(OAuthError::InvalidClient)
    }
}

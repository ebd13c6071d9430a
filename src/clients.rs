//! Client authentication (RFC 6749 §2.3): `client_secret_basic` or `client_secret_post`,
//! public clients by `client_id` alone, and the cache that makes argon2 a once-per-secret
//! cost instead of a per-request one (SPEC §8).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::error::OAuthError;
use crate::password::Argon2Pool;
use crate::records::{Client, Clients};

/// The client credentials of one request, as the HTTP layer read them (Basic or body).
#[derive(Default)]
pub struct Credentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
}

/// SHA-256 of each client's secret once argon2 has verified it.
pub struct SecretCache {
    verified: RwLock<HashMap<String, [u8; 32]>>,
    /// One argon2 verification at a time per client, so that concurrent first requests with
    /// the right secret wait for the first and then find it cached (SPEC §8: argon2 at most
    /// once per (client, secret)).
    turns: HashMap<String, tokio::sync::Mutex<()>>,
}

/// How long a request waits for its client's turn before verifying anyway.
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

    async fn turn(&self, client_id: &str) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let turn = self.turns.get(client_id)?;
        tokio::time::timeout(TURN_TIMEOUT, turn.lock()).await.ok()
    }

    fn matches(&self, client_id: &str, digest: &[u8; 32]) -> bool {
        self.verified
            .read()
            .ok()
            .and_then(|m| {
                m.get(client_id)
                    .map(|known| bool::from(known.ct_eq(digest)))
            })
            .unwrap_or(false)
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

/// Authenticates the client of a request. Unknown client, wrong secret, missing secret of a
/// confidential client and a secret sent by a public client all answer `invalid_client`.
pub async fn authenticate(
    clients: &Clients,
    argon2: &Argon2Pool,
    secrets: &SecretCache,
    credentials: &Credentials,
) -> Result<Arc<Client>, OAuthError> {
    let id = credentials
        .client_id
        .as_deref()
        .ok_or(OAuthError::InvalidClient)?;
    let client = clients.get(id).ok_or(OAuthError::InvalidClient)?;
    match (&client.secret_hash, &credentials.secret) {
        (None, None) => Ok(client.clone()),
        (Some(hash), Some(secret)) => {
            let digest = sha256(secret);
            if secrets.matches(id, &digest) {
                return Ok(client.clone());
            }
            let _turn = secrets.turn(id).await;
            if secrets.matches(id, &digest) {
                return Ok(client.clone());
            }
            if argon2.verify(Some(hash), secret).await? {
                secrets.remember(id, digest);
                return Ok(client.clone());
            }
            Err(OAuthError::InvalidClient)
        }
        _ => Err(OAuthError::InvalidClient),
    }
}

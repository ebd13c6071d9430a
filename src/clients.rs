//! Client authentication (RFC 6749 §2.3): `client_secret_basic` or `client_secret_post`,
//! public clients by `client_id` alone; argon2 once per (client, secret), through the
//! verified-secret cache beside the pool (docs/design.md, "Load, faults and bad input").

use std::sync::Arc;

use crate::error::OAuthError;
use crate::password::{Argon2Pool, SecretCache, sha256};
use crate::records::{Client, Clients};

/// The client credentials of one request, as the HTTP layer read them (Basic or body).
#[derive(Default)]
pub struct Credentials {
    pub client_id: Option<String>,
    pub secret: Option<String>,
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
            // Once the client's secret is known, any other is refused without argon2 and
            // without waiting for the client's turn: a flood of wrong secrets costs nothing.
            if let Some(matches) = secrets.check(id, &digest) {
                return accept(matches, client);
            }
            let _turn = secrets.turn(id).await?;
            if let Some(matches) = secrets.check(id, &digest) {
                return accept(matches, client);
            }
            if argon2.verify_secret(hash, secret).await? {
                secrets.remember(id, digest);
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

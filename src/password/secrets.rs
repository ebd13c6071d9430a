//! The verified-secret cache: SHA-256 of each client's secret once argon2 has verified it,
//! compared in constant time, so argon2 runs at most once per (client, secret) per process.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use subtle::ConstantTimeEq;

use crate::failure::Failure;

/// SHA-256 of each client's secret once argon2 has verified it, in a slot per client made
/// with the cache: clients come from the config, so the map is never written, and a slot is
/// read without a lock.
pub struct SecretCache {
    clients: HashMap<String, Slot>,
}

struct Slot {
    /// The verified secret's SHA-256: set once, as a client has exactly one secret.
    verified: OnceLock<[u8; 32]>,
    /// One argon2 verification at a time per client, so that concurrent first requests with
    /// the right secret wait for the first and then find it cached (docs/design.md, "Load,
    /// faults and bad input": argon2 at most once per (client, secret)), and a flood of wrong
    /// secrets for one client holds one place in the argon2 pool, not all of them: other
    /// clients' first secrets get through.
    turn: tokio::sync::Mutex<()>,
}

/// How long a request waits for its client's turn before it is shed (503).
const TURN_TIMEOUT: Duration = Duration::from_secs(2);

impl SecretCache {
    pub fn new<'a>(client_ids: impl Iterator<Item = &'a String>) -> Self {
        SecretCache {
            clients: client_ids
                .map(|id| {
                    let slot = Slot {
                        verified: OnceLock::new(),
                        turn: tokio::sync::Mutex::new(()),
                    };
                    (id.clone(), slot)
                })
                .collect(),
        }
    }

    /// This client's turn to run argon2, or `Unavailable` after `TURN_TIMEOUT`.
    pub async fn turn(&self, client_id: &str) -> Result<tokio::sync::MutexGuard<'_, ()>, Failure> {
        let slot = self
            .clients
            .get(client_id)
            .ok_or_else(|| Failure::internal(format!("no turn for client {client_id}")))?;
        tokio::time::timeout(TURN_TIMEOUT, slot.turn.lock())
            .await
            .map_err(|_| Failure::unavailable("waited too long for the client's argon2 turn"))
    }

    /// Whether `digest` is the verified secret of `client_id`; `None` until one has been
    /// verified. A client has exactly one secret, so once it is known any other is wrong.
    pub fn check(&self, client_id: &str, digest: &[u8; 32]) -> Option<bool> {
        let known = self.clients.get(client_id)?.verified.get()?;
        Some(bool::from(known.ct_eq(digest)))
    }

    /// Keeps `digest` as the verified secret of `client_id`, a client of the config.
    pub fn remember(&self, client_id: &str, digest: [u8; 32]) {
        if let Some(slot) = self.clients.get(client_id) {
            let _ = slot.verified.set(digest);
        }
    }
}

/// SHA-256 of a secret, the form the cache keeps.
pub fn sha256(secret: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, secret.as_bytes()).as_ref());
    out
}

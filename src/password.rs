//! argon2id hashing and verification on a bounded blocking pool, so that a flood of bad
//! passwords queues here instead of stalling the async runtime (SPEC §8).

use std::sync::Arc;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Argon2, Params};
use prometheus_client::metrics::counter::Counter;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

use crate::failure::Failure;

/// How long a verification may wait for a place in the pool before the request is shed.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Argon2Pool {
    permits: Arc<Semaphore>,
    verifications: Counter,
    /// A hash of a random password with the users' parameters: unknown usernames are
    /// verified against it so they cost the same time as known ones (SPEC §8).
    dummy_hash: String,
}

impl Argon2Pool {
    /// `like` is a PHC string whose parameters the dummy hash copies.
    pub fn new(like: Option<&str>, verifications: Counter) -> Result<Self, String> {
        let params = like
            .and_then(|h| PasswordHash::new(h).ok())
            .and_then(|h| Params::try_from(&h).ok())
            .unwrap_or_default();
        let rng = SystemRandom::new();
        let mut password = [0u8; 32];
        rng.fill(&mut password)
            .map_err(|_| "random generator failed")?;
        let dummy_hash = hash_with(&password, params)?;
        // Half the cores, at least one: the rest keep serving tokens while argon2 runs.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Ok(Argon2Pool {
            permits: Arc::new(Semaphore::new((cores / 2).max(1))),
            verifications,
            dummy_hash,
        })
    }

    /// Verifies `password` against `hash`, or against the dummy hash when `hash` is `None`
    /// (the answer is then always `false`, after the same work).
    pub async fn verify(&self, hash: Option<&str>, password: &str) -> Result<bool, Failure> {
        let known = hash.is_some();
        let hash = hash.unwrap_or(&self.dummy_hash).to_owned();
        let password = password.to_owned();
        let permit = tokio::time::timeout(QUEUE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Failure::unavailable("argon2 queue full"))?
            .map_err(|_| Failure::internal("argon2 pool closed"))?;
        self.verifications.inc();
        let matches = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            PasswordHash::new(&hash)
                .map(|parsed| {
                    Argon2::default()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false)
        })
        .await
        .map_err(|e| Failure::internal(format!("argon2 task failed: {e}")))?;
        Ok(known && matches)
    }
}

/// Hashes a secret as an argon2id PHC string with the default (OWASP) parameters, for the
/// `hash-secret` subcommand and the config file.
pub fn hash_secret(secret: &[u8]) -> Result<String, String> {
    hash_with(secret, Params::default())
}

fn hash_with(secret: &[u8], params: Params) -> Result<String, String> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| "random generator failed")?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| e.to_string())?;
    Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(secret, &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

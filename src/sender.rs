//! Sender-constrained tokens (RFC 9449): a DPoP proof accepted at an endpoint, once. The
//! proof's own checks are `dpop`'s; here the server nonce and the single use of its `jti`
//! at every replica (the store), answered in the token endpoint's error words.

use crate::clock::UnixTime;
use crate::dpop::{self, Expected, Proof};
use crate::error::OAuthError;
use crate::keys::KeySet;
use crate::store::{Hashed, OnceKind, Store};

/// What accepting a proof uses, picked from the state by the endpoints that take proofs.
#[derive(Clone, Copy)]
pub struct Dpop<'a> {
    pub store: &'a Store,
    pub keys: &'a KeySet,
    /// `TS_DPOP_NONCE`: proofs must carry a nonce of ours (RFC 9449 §8).
    pub nonces: bool,
}

impl Dpop<'_> {
    /// Accepts `proof` for the request `expected` describes: a valid proof (`dpop::check`),
    /// with a fresh nonce of ours when nonces are on, whose `jti` no replica has seen with
    /// this key while the proof's `iat` is acceptable (RFC 9449 §11.1).
    pub async fn accept(
        &self,
        proof: &str,
        expected: &Expected<'_>,
        now: UnixTime,
    ) -> Result<Proof, OAuthError> {
        let proof = dpop::check(proof, expected, now)
            .map_err(|refused| OAuthError::invalid_dpop_proof(refused.0))?;
        if self.nonces {
            let keys = self.keys.all().iter().map(|k| k.dpop_nonce_key());
            let fresh = proof
                .nonce
                .as_deref()
                .is_some_and(|nonce| dpop::nonce_is_fresh(keys, nonce, now));
            if !fresh {
                return Err(OAuthError::UseDpopNonce {
                    nonce: self.fresh_nonce(now),
                });
            }
        }
        let id = Hashed::of(&proof.replay_id());
        let until = proof.remembered_until();
        if !self
            .store
            .spend_once(OnceKind::DpopProof, &id, until, now)
            .await?
        {
            return Err(OAuthError::invalid_dpop_proof(
                "the DPoP proof was used before",
            ));
        }
        Ok(proof)
    }

    /// The nonce a success answers with, for the client's next proof: `None` when nonces are
    /// off (RFC 9449 §8.2).
    pub fn next_nonce(&self, now: UnixTime) -> Option<String> {
        self.nonces.then(|| self.fresh_nonce(now))
    }

    fn fresh_nonce(&self, now: UnixTime) -> String {
        dpop::nonce(self.keys.signer().dpop_nonce_key(), now)
    }
}

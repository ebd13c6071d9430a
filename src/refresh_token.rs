//! Refresh tokens that authenticate themselves (docs/design.md, "Refresh tokens"): base64url
//! of a version byte, the 128-bit family id, the generation (32 bits), a 128-bit random part,
//! the id of the key that authenticates it and a 128-bit HMAC-SHA256 by that key. 57 bytes,
//! 76 characters.
//!
//! The keys are derived from the signing keys (`keys::RefreshSecrets`): the signer's
//! authenticates new tokens, and any key still in `TS_KEYS_DIR` verifies, so a key rotation
//! signs no one out. A token's successor is derived from the token itself, by the key that
//! authenticated it, so each generation of a family has one token whichever replica rotates
//! it (`rotation`). The store keeps only a digest of the live token, from which no token can
//! be computed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::hmac;
use ring::rand::SecureRandom;
use subtle::ConstantTimeEq;

use crate::failure::Failure;
use crate::keys::{KeySet, RefreshSecrets};
use crate::store::TokenRef;

const VERSION: u8 = 1;
const FAMILY: usize = 16;
const RANDOM: usize = 16;
const KEY_ID: usize = 4;
const MAC: usize = 16;
/// Version, family, generation, random part: what the key id and the MAC follow.
const BODY: usize = 1 + FAMILY + 4 + RANDOM;
const WIRE: usize = BODY + KEY_ID + MAC;
/// base64url of `WIRE` bytes, which divide into whole groups of three.
const WIRE_CHARS: usize = WIRE / 3 * 4;
const _: () = assert!(WIRE.is_multiple_of(3) && WIRE_CHARS <= 128);

/// What identifies a token within the service: its family, generation and random part. The
/// key id and MAC only vouch for it, so two replicas whose signers differ issue the same token
/// under two MACs, and the store sees one digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    family: [u8; FAMILY],
    pub generation: u32,
    random: [u8; RANDOM],
}

/// What the store is told of a token: its family, generation and digest.
pub struct Stored {
    family: String,
    generation: u32,
    digest: String,
}

impl Stored {
    pub fn as_ref(&self) -> TokenRef<'_> {
        TokenRef {
            family: &self.family,
            generation: self.generation,
            digest: &self.digest,
        }
    }

    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// A token this service issued, as read off the wire, and the key that vouched for it.
pub struct Verified<'k> {
    pub token: RefreshToken,
    key: &'k RefreshSecrets,
}

impl RefreshToken {
    /// The first token of a new family.
    pub fn first(rng: &dyn SecureRandom) -> Result<Self, Failure> {
        let mut family = [0u8; FAMILY];
        let mut random = [0u8; RANDOM];
        rng.fill(&mut family)
            .and_then(|()| rng.fill(&mut random))
            .map_err(|_| Failure::internal("random generator failed"))?;
        Ok(RefreshToken {
            family,
            generation: 0,
            random,
        })
    }

    /// The family id as the store names it (base64url, 22 characters).
    pub fn family(&self) -> String {
        B64.encode(self.family)
    }

    /// What the store is told of this token.
    pub fn stored(&self) -> Stored {
        Stored {
            family: self.family(),
            generation: self.generation,
            digest: self.digest(),
        }
    }

    /// base64url SHA-256 of the token's identity: all the store keeps of it.
    pub fn digest(&self) -> String {
        crate::token::sha256_b64(&self.body())
    }

    fn body(&self) -> [u8; BODY] {
        let mut body = [0u8; BODY];
        body[0] = VERSION;
        body[1..1 + FAMILY].copy_from_slice(&self.family);
        body[1 + FAMILY..5 + FAMILY].copy_from_slice(&self.generation.to_be_bytes());
        body[5 + FAMILY..].copy_from_slice(&self.random);
        body
    }

    /// The wire form, authenticated by the signer's refresh key.
    pub fn wire(&self, keys: &KeySet) -> String {
        let key = keys.signer().refresh_secrets();
        let mut wire = [0u8; WIRE];
        wire[..BODY].copy_from_slice(&self.body());
        wire[BODY..BODY + KEY_ID].copy_from_slice(&key.id);
        let tag = hmac::sign(&key.mac, &wire[..BODY + KEY_ID]);
        wire[BODY + KEY_ID..].copy_from_slice(&tag.as_ref()[..MAC]);
        B64.encode(wire)
    }

    /// Reads a token off the wire: `None` unless one of `keys` authenticated it. Anything of
    /// the wrong length or version (an earlier format included) is no token of ours.
    pub fn verify<'k>(wire: &str, keys: &'k KeySet) -> Option<Verified<'k>> {
        if wire.len() != WIRE_CHARS {
            return None;
        }
        let bytes = B64.decode(wire).ok()?;
        let bytes: &[u8; WIRE] = bytes.as_slice().try_into().ok()?;
        if bytes[0] != VERSION {
            return None;
        }
        let (signed, tag) = bytes.split_at(BODY + KEY_ID);
        let id = &signed[BODY..];
        // `hmac::verify` takes whole tags only: the truncated one is compared in constant time
        // here.
        let key = keys.all().iter().map(|k| k.refresh_secrets()).find(|k| {
            k.id == id && bool::from(hmac::sign(&k.mac, signed).as_ref()[..MAC].ct_eq(tag))
        })?;
        let mut family = [0u8; FAMILY];
        family.copy_from_slice(&bytes[1..1 + FAMILY]);
        let mut generation = [0u8; 4];
        generation.copy_from_slice(&bytes[1 + FAMILY..5 + FAMILY]);
        let mut random = [0u8; RANDOM];
        random.copy_from_slice(&bytes[5 + FAMILY..BODY]);
        let token = RefreshToken {
            family,
            generation: u32::from_be_bytes(generation),
            random,
        };
        Some(Verified { token, key })
    }
}

impl Verified<'_> {
    /// The one token a rotation of this one yields: the next generation, its random part
    /// derived from this token by the key that authenticated it. `None` past the last
    /// generation.
    pub fn successor(&self) -> Option<RefreshToken> {
        let generation = self.token.generation.checked_add(1)?;
        let tag = hmac::sign(&self.key.successor, &self.token.body());
        let mut random = [0u8; RANDOM];
        random.copy_from_slice(&tag.as_ref()[..RANDOM]);
        Some(RefreshToken {
            family: self.token.family,
            generation,
            random,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(dir: &str) -> KeySet {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        KeySet::load(&dir, None).unwrap()
    }

    #[test]
    fn a_token_is_76_characters_and_verifies_as_itself() {
        let keys = keys("tests/fixtures/keys");
        let token = RefreshToken::first(keys.rng()).unwrap();
        let wire = token.wire(&keys);
        assert_eq!(wire.len(), 76);
        let verified = RefreshToken::verify(&wire, &keys).unwrap();
        assert_eq!(verified.token, token);
        assert_eq!(verified.token.family().len(), 22);
    }

    #[test]
    fn any_changed_byte_fails_verification() {
        let keys = keys("tests/fixtures/keys");
        let wire = RefreshToken::first(keys.rng()).unwrap().wire(&keys);
        let bytes = B64.decode(&wire).unwrap();
        for i in 0..bytes.len() {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            assert!(
                RefreshToken::verify(&B64.encode(&changed), &keys).is_none(),
                "byte {i}"
            );
        }
        assert!(RefreshToken::verify(&wire[..75], &keys).is_none());
        assert!(
            RefreshToken::verify(&"A".repeat(64), &keys).is_none(),
            "the earlier format"
        );
    }

    #[test]
    fn another_key_set_does_not_verify_it() {
        let wire = RefreshToken::first(keys("keys").rng())
            .unwrap()
            .wire(&keys("keys"));
        assert!(RefreshToken::verify(&wire, &keys("tests/fixtures/keys")).is_none());
    }

    #[test]
    fn the_successor_is_one_token_per_generation_whoever_derives_it() {
        let keys = keys("tests/fixtures/keys-two");
        let wire = RefreshToken::first(keys.rng()).unwrap().wire(&keys);
        let verified = RefreshToken::verify(&wire, &keys).unwrap();
        let next = verified.successor().unwrap();
        assert_eq!(next.generation, 1);
        assert_eq!(next.family, verified.token.family);
        assert_eq!(Some(next.clone()), verified.successor());
        assert_ne!(next.digest(), verified.token.digest());
    }

    #[test]
    fn a_token_of_a_key_that_no_longer_signs_still_verifies() {
        let old = KeySet::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys-two"),
            Some("2025-01-01-es256"),
        )
        .unwrap();
        let wire = RefreshToken::first(old.rng()).unwrap().wire(&old);
        let now_signing_the_newer = keys("tests/fixtures/keys-two");
        assert!(RefreshToken::verify(&wire, &now_signing_the_newer).is_some());
    }
}

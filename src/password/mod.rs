//! argon2id: hashing for the config file, and verification into a caller's memory block so that the
//! pool's workers reuse one block each instead of allocating 19 MiB per run (docs/design.md, "Load,
//! faults and bad input").

mod pool;
mod secrets;

pub use pool::{Argon2Pool, Lane};

pub use secrets::{SecretCache, sha256};

use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};
use subtle::ConstantTimeEq;

/// Why argon2 could not hash, or its pool could not start.
#[derive(Debug)]
pub enum HashError {
    /// ring's random generator failed (for a salt, or the pool's dummy password).
    Random,
    /// argon2 refused the salt or the parameters.
    Argon2(argon2::password_hash::Error),
    /// A worker thread could not be started.
    Worker(std::io::Error),
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HashError::Random => f.write_str("random generator failed"),
            HashError::Argon2(error) => write!(f, "argon2: {error}"),
            HashError::Worker(error) => write!(f, "cannot start an argon2 worker: {error}"),
        }
    }
}

impl std::error::Error for HashError {}

/// Hashes a secret as an argon2id PHC string with the default (OWASP) parameters, for the
/// `hash-secret` subcommand and the config file.
pub fn hash_secret(secret: &[u8]) -> Result<String, HashError> {
    hash_with(secret, Params::default())
}

fn hash_with(secret: &[u8], params: Params) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| HashError::Random)?;
    let salt = SaltString::encode_b64(&salt).map_err(HashError::Argon2)?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(secret, &salt)
        .map(|h| h.to_string())
        .map_err(HashError::Argon2)
}

/// Whether `secret` matches the PHC string `phc`, computed in `memory`, which grows to the
/// largest `m_cost` it has been asked for and is never shrunk. A PHC string that does not
/// parse, or whose parameters argon2 refuses, matches nothing.
pub(crate) fn verify_in(phc: &str, secret: &[u8], memory: &mut Vec<Block>) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(version), Ok(params)) = (
        Algorithm::try_from(hash.algorithm),
        hash.version
            .map_or(Ok(Version::default()), Version::try_from),
        Params::try_from(&hash),
    ) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = params.block_count();
    if memory.len() < blocks {
        // An absurd m_cost in the config fails this verification, not the process.
        if memory.try_reserve_exact(blocks - memory.len()).is_err() {
            return false;
        }
        memory.resize(blocks, Block::default());
    }
    let mut out = [0u8; Output::MAX_LENGTH];
    let Some(out) = out.get_mut(..expected.len()) else {
        return false;
    };
    let Some(memory) = memory.get_mut(..blocks) else {
        return false;
    };
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(secret, salt, out, memory)
        .is_ok()
        && bool::from(out.ct_eq(expected.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// jsmith's hash in config/dev.toml: "password123", m=19456 t=2 p=1.
    const JSMITH: &str = "$argon2id$v=19$m=19456,t=2,p=1$MJRVyJDi57WCaFh+sZnoOQ$GkwXhXTTX9QUugY/d/W6I+51v5SBQl0S289mGC5GFNM";

    fn small(m_cost: u32, p_cost: u32) -> Params {
        Params::new(m_cost, 1, p_cost, Some(24)).unwrap()
    }

    #[test]
    fn the_right_password_matches() {
        assert!(verify_in(JSMITH, b"password123", &mut Vec::new()));
    }

    #[test]
    fn a_wrong_password_does_not_match() {
        assert!(!verify_in(JSMITH, b"password124", &mut Vec::new()));
        assert!(!verify_in(JSMITH, b"", &mut Vec::new()));
    }

    #[test]
    fn the_memory_block_is_sized_for_the_largest_m_cost_and_kept() {
        let mut memory = Vec::new();
        assert!(verify_in(JSMITH, b"password123", &mut memory));
        assert_eq!(memory.len(), 19456);
        let smaller = hash_with(b"s3cret", small(64, 2)).unwrap();
        assert!(verify_in(&smaller, b"s3cret", &mut memory));
        assert_eq!(memory.len(), 19456, "never shrunk");
        assert!(verify_in(JSMITH, b"password123", &mut memory));
    }

    #[test]
    fn a_phc_string_with_other_parameters_and_output_length_verifies() {
        let phc = hash_with(b"s3cret", small(256, 2)).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=2$"), "{phc}");
        let mut memory = Vec::new();
        assert!(verify_in(&phc, b"s3cret", &mut memory));
        assert!(!verify_in(&phc, b"s3creT", &mut memory));
        assert_eq!(memory.len(), 256);
    }

    #[test]
    fn argon2i_and_argon2d_strings_verify_by_their_own_algorithm() {
        let salt = SaltString::encode_b64(b"sixteen byte salt").unwrap();
        for algorithm in [Algorithm::Argon2i, Algorithm::Argon2d] {
            let phc = Argon2::new(algorithm, Version::V0x13, small(64, 1))
                .hash_password(b"s3cret", &salt)
                .unwrap()
                .to_string();
            assert!(verify_in(&phc, b"s3cret", &mut Vec::new()), "{phc}");
            let as_id = phc.replacen(algorithm.as_str(), "argon2id", 1);
            assert!(!verify_in(&as_id, b"s3cret", &mut Vec::new()), "{as_id}");
        }
    }

    #[test]
    fn a_malformed_phc_string_matches_nothing() {
        let no_hash = JSMITH.rsplit_once('$').unwrap().0;
        let truncated = &JSMITH[..JSMITH.len() - 10];
        for phc in [
            "",
            "password123",
            "$argon2id$v=19$m=19456,t=2,p=1",
            no_hash,
            truncated,
            "$argon2id$v=18$m=19456,t=2,p=1$MJRVyJDi57WCaFh+sZnoOQ$GkwXhXTTX9QUugY/d/W6I+51v5SBQl0S289mGC5GFNM",
            "$argon2id$v=19$m=1,t=2,p=1$MJRVyJDi57WCaFh+sZnoOQ$GkwXhXTTX9QUugY/d/W6I+51v5SBQl0S289mGC5GFNM",
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        ] {
            assert!(!verify_in(phc, b"password123", &mut Vec::new()), "{phc}");
        }
    }
}

//! PKCE (RFC 7636) with S256 only: the shape of a challenge and a verifier, and the check that
//! binds them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use subtle::ConstantTimeEq;

/// Why a code's PKCE binding does not hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PkceError {
    /// The verifier is not 43 to 128 characters of `[A-Za-z0-9-._~]` (RFC 7636 §4.1).
    MalformedVerifier,
    /// `BASE64URL(SHA256(verifier))` is not the challenge.
    Mismatch,
    /// A verifier was sent for a code issued without a challenge.
    UnexpectedVerifier,
    /// The code was issued with a challenge and no verifier was sent.
    MissingVerifier,
}

/// RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is 43 base64url characters without padding.
pub fn is_s256_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn is_valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(code_verifier)) == code_challenge`, compared in constant
/// time. No challenge and no verifier is fine; one without the other is not.
pub fn verify(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), PkceError> {
    match (challenge, verifier) {
        (None, None) => Ok(()),
        (Some(challenge), Some(verifier)) => {
            if !is_valid_verifier(verifier) {
                return Err(PkceError::MalformedVerifier);
            }
            let digest = ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes());
            let computed = B64.encode(digest);
            if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
                Ok(())
            } else {
                Err(PkceError::Mismatch)
            }
        }
        (None, Some(_)) => Err(PkceError::UnexpectedVerifier),
        (Some(_), None) => Err(PkceError::MissingVerifier),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn the_rfc_7636_example_verifies() {
        assert_eq!(verify(Some(CHALLENGE), Some(VERIFIER)), Ok(()));
    }

    #[test]
    fn another_verifier_does_not_match() {
        let other = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX";
        assert_eq!(
            verify(Some(CHALLENGE), Some(other)),
            Err(PkceError::Mismatch)
        );
    }

    #[test]
    fn a_verifier_outside_rfc_7636_is_malformed() {
        for verifier in ["short", &"a".repeat(129), &format!("{}!", &VERIFIER[..43])] {
            assert_eq!(
                verify(Some(CHALLENGE), Some(verifier)),
                Err(PkceError::MalformedVerifier),
                "{verifier}"
            );
        }
    }

    #[test]
    fn one_side_without_the_other_fails() {
        assert_eq!(verify(None, None), Ok(()));
        assert_eq!(
            verify(None, Some(VERIFIER)),
            Err(PkceError::UnexpectedVerifier)
        );
        assert_eq!(
            verify(Some(CHALLENGE), None),
            Err(PkceError::MissingVerifier)
        );
    }

    #[test]
    fn an_s256_challenge_is_43_base64url_characters() {
        assert!(is_s256_challenge(CHALLENGE));
        assert!(!is_s256_challenge(&CHALLENGE[..42]));
        assert!(!is_s256_challenge(&format!("{}=", &CHALLENGE[..42])));
    }
}

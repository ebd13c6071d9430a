//! OpenID Connect ID tokens (OpenID Connect Core §2, §3.1.3.6, §3.2.2.10): who signed in,
//! for which client, when, signed by the current signing key with `typ` `JWT`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::failure::Failure;
use crate::keys::{Algorithm, KeySet};
use crate::oidc;
use crate::records::User;
use crate::scope::Scope;

/// The claims of an ID token; the scope's standard claims are flattened in.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdClaims {
    pub iss: String,
    pub sub: String,
    /// The client id (OpenID Connect Core §2): one audience, so a plain string.
    pub aud: String,
    pub exp: UnixTime,
    pub iat: UnixTime,
    pub auth_time: UnixTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(flatten)]
    pub claims: serde_json::Map<String, serde_json::Value>,
}

/// What one ID token says.
pub struct Authentication<'a> {
    pub client_id: &'a str,
    pub user: &'a User,
    pub scope: &'a Scope,
    pub auth_time: UnixTime,
    /// The `nonce` sent to /authorize, returned unchanged (OpenID Connect Core §3.1.2.1).
    pub nonce: Option<&'a str>,
    /// The access token issued beside it from /authorize, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The SSO session's id (OpenID Connect Front-Channel Logout §3 names it `sid`).
    pub sid: Option<&'a str>,
}

/// What minting an ID token needs: the keys, the issuer and `TS_ID_TOKEN_TTL`.
#[derive(Clone, Copy)]
pub struct IdTokens<'a> {
    pub keys: &'a KeySet,
    /// `iss`, without a trailing slash.
    pub issuer: &'a str,
    pub ttl: u64,
}

impl IdTokens<'_> {
    pub fn mint(&self, auth: &Authentication<'_>, now: UnixTime) -> Result<String, Failure> {
        let alg = self.keys.signer().alg;
        let claims = IdClaims {
            iss: self.issuer.to_owned(),
            sub: auth.user.subject.clone(),
            aud: auth.client_id.to_owned(),
            exp: now + self.ttl,
            iat: now,
            auth_time: auth.auth_time,
            nonce: auth.nonce.map(str::to_owned),
            at_hash: auth.access_token.map(|token| token_hash(alg, token)),
            sid: auth.sid.map(str::to_owned),
            claims: oidc::claims_for(auth.user, auth.scope),
        };
        self.keys
            .sign_id_token(&claims)
            .map_err(|e| Failure::Internal(e.to_string()))
    }
}

/// `at_hash` (OpenID Connect Core §3.1.3.6): base64url of the left half of the hash of the
/// token's ASCII octets, with the hash of the ID token's `alg`: SHA-256 for ES256 and RS256.
/// EdDSA names no hash; Ed25519 hashes with SHA-512 (RFC 8032 §5.1), and SHA-512 is what
/// providers and relying parties use for its `at_hash` (node-oidc-provider's
/// `oidc-token-hash`, Keycloak, and the Rust `openidconnect` crate, which
/// tests/it/oidc_relying_party.rs checks us against).
pub fn token_hash(alg: Algorithm, token: &str) -> String {
    let digest = match alg {
        Algorithm::ES256 | Algorithm::RS256 => {
            ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
        }
        Algorithm::EdDSA => ring::digest::digest(&ring::digest::SHA512, token.as_bytes()),
    };
    let bytes = digest.as_ref();
    B64.encode(&bytes[..bytes.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::token_hash;
    use crate::keys::Algorithm;

    /// OpenID Connect Core Appendix A.3's example: the access token
    /// `jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y` has the RS256 `at_hash`
    /// `77QmUPtjPfzWtF2AnpK9RQ`.
    #[test]
    fn at_hash_matches_the_oidc_core_example() {
        assert_eq!(
            token_hash(
                Algorithm::RS256,
                "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"
            ),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }

    #[test]
    fn eddsa_at_hash_is_the_left_half_of_sha512() {
        let hash = token_hash(Algorithm::EdDSA, "token");
        // 32 bytes, base64url without padding.
        assert_eq!(hash.len(), 43);
        assert_ne!(hash, token_hash(Algorithm::ES256, "token"));
    }
}

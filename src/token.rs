//! Access tokens (RFC 9068 JWTs) and the opaque random values behind refresh tokens, codes
//! and session ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::failure::Failure;
use crate::keys::KeySet;
use crate::records::{Client, User};
use crate::scope::Scope;

/// The claims of an access token (RFC 9068 §2.2), plus the user's extra claims.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Audience,
    pub client_id: String,
    pub scope: String,
    pub iat: UnixTime,
    pub nbf: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<UnixTime>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `aud`: one string, or an array for several audiences (RFC 7519 §4.1.3).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn of(audiences: &[String]) -> Self {
        match audiences {
            [one] => Audience::One(one.clone()),
            many => Audience::Many(many.to_vec()),
        }
    }
}

/// Who the token is for: a user (with the time they authenticated) or the client itself.
pub enum Subject<'a> {
    User { user: &'a User, auth_time: UnixTime },
    Client,
}

/// A signed access token and its lifetime.
pub struct Minted {
    pub token: String,
    pub expires_in: u64,
}

/// What minting an access token needs: the keys, the issuer and the default lifetime.
#[derive(Clone, Copy)]
pub struct Minter<'a> {
    pub keys: &'a KeySet,
    /// `iss`, without a trailing slash.
    pub issuer: &'a str,
    /// `TS_ACCESS_TOKEN_TTL`, unless the client overrides it.
    pub default_ttl: u64,
}

impl Minter<'_> {
    /// Mints an access token for `client` (RFC 9068).
    pub fn mint(
        &self,
        client: &Client,
        subject: Subject<'_>,
        scope: &Scope,
        now: UnixTime,
    ) -> Result<Minted, Failure> {
        let ttl = client.access_token_ttl.unwrap_or(self.default_ttl);
        let (sub, auth_time, extra) = match subject {
            Subject::User { user, auth_time } => {
                (user.subject.clone(), Some(auth_time), user.claims.clone())
            }
            Subject::Client => (client.id.clone(), None, serde_json::Map::new()),
        };
        let claims = AccessClaims {
            iss: self.issuer.to_owned(),
            sub,
            aud: Audience::of(&client.audience),
            client_id: client.id.clone(),
            scope: scope.to_string(),
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: random_b64::<16>(self.keys.rng())?,
            auth_time,
            extra,
        };
        let token = self
            .keys
            .sign(&claims)
            .map_err(|e| Failure::Internal(e.to_string()))?;
        Ok(Minted {
            token,
            expires_in: ttl,
        })
    }
}

/// `N` random bytes from `ring`, base64url without padding.
pub fn random_b64<const N: usize>(rng: &dyn SecureRandom) -> Result<String, Failure> {
    let mut bytes = [0u8; N];
    rng.fill(&mut bytes)
        .map_err(|_| Failure::internal("random generator failed"))?;
    Ok(B64.encode(bytes))
}

/// A new 256-bit opaque token: refresh token, authorization code, session id (README, "What is
/// stored").
pub fn opaque(rng: &dyn SecureRandom) -> Result<String, Failure> {
    random_b64::<32>(rng)
}

/// Whether `value` looks like one of our 256-bit opaque values (43 base64url characters);
/// anything else is refused without asking the store.
pub fn is_opaque(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// base64url SHA-256, the at-rest form of every opaque token.
pub fn sha256_b64(bytes: &[u8]) -> String {
    B64.encode(ring::digest::digest(&ring::digest::SHA256, bytes))
}

/// The body of a successful token response (RFC 6749 §5.1).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// With `openid` in the scope (OpenID Connect Core §3.1.3.3, §12.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

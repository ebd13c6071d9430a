//! Access tokens (RFC 9068 JWTs) and the opaque random values behind refresh tokens, codes
//! and session ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::failure::Failure;
use crate::json;
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
    /// The key the token is bound to (RFC 9449 §6.1, RFC 7800 §3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `cnf` of a DPoP-bound token: the RFC 7638 thumbprint of the proof's key (RFC 9449 §6.1).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Confirmation {
    pub jkt: String,
}

/// `aud`: one string, or an array for several audiences (RFC 7519 §4.1.3).
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// Who the token is for: a user (with the time they authenticated) or the client itself.
pub enum Subject<'a> {
    User { user: &'a User, auth_time: UnixTime },
    Client,
}

/// A signed access token, its lifetime and its `scope` claim (the granted scope, joined).
pub struct Minted {
    pub token: String,
    pub expires_in: u64,
    pub scope: String,
}

/// The claims of an access token as it is signed: [`AccessClaims`]' members in its order,
/// borrowed from the client, the subject and the minter rather than copied into it.
#[cfg_attr(test, derive(Serialize))]
struct NewClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: AudienceOf<'a>,
    client_id: &'a str,
    scope: &'a str,
    iat: UnixTime,
    nbf: UnixTime,
    exp: UnixTime,
    jti: &'a str,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    auth_time: Option<UnixTime>,
    #[cfg_attr(test, serde(skip_serializing_if = "Option::is_none"))]
    cnf: Option<ConfirmationOf<'a>>,
    #[cfg_attr(test, serde(flatten))]
    extra: &'a serde_json::Map<String, serde_json::Value>,
}

impl NewClaims<'_> {
    /// The claims as JSON, the very text `serde_json` writes of them (a test holds the two
    /// together), written member by member: through `Serialize`, the flattened extra claims
    /// make the whole object a map, each name written and checked for escapes again.
    fn write(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        let mut digits = [0; 20];
        out.extend_from_slice(b"{\"iss\":");
        json::push_str(out, self.iss);
        out.extend_from_slice(b",\"sub\":");
        json::push_str(out, self.sub);
        out.extend_from_slice(b",\"aud\":");
        match self.aud {
            AudienceOf::One(audience) => json::push_str(out, audience),
            AudienceOf::Many(audiences) => {
                out.push(b'[');
                for (i, audience) in audiences.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json::push_str(out, audience);
                }
                out.push(b']');
            }
        }
        out.extend_from_slice(b",\"client_id\":");
        json::push_str(out, self.client_id);
        out.extend_from_slice(b",\"scope\":");
        json::push_str(out, self.scope);
        out.extend_from_slice(b",\"iat\":");
        out.extend_from_slice(json::decimal(self.iat, &mut digits));
        out.extend_from_slice(b",\"nbf\":");
        out.extend_from_slice(json::decimal(self.nbf, &mut digits));
        out.extend_from_slice(b",\"exp\":");
        out.extend_from_slice(json::decimal(self.exp, &mut digits));
        out.extend_from_slice(b",\"jti\":");
        json::push_str(out, self.jti);
        if let Some(auth_time) = self.auth_time {
            out.extend_from_slice(b",\"auth_time\":");
            out.extend_from_slice(json::decimal(auth_time, &mut digits));
        }
        if let Some(cnf) = &self.cnf {
            out.extend_from_slice(b",\"cnf\":{\"jkt\":");
            json::push_str(out, cnf.jkt);
            out.push(b'}');
        }
        for (name, value) in self.extra {
            out.push(b',');
            json::push_str(out, name);
            out.push(b':');
            json::write(out, value)?;
        }
        out.push(b'}');
        Ok(())
    }
}

/// [`Audience`], borrowed.
#[cfg_attr(test, derive(Serialize), serde(untagged))]
enum AudienceOf<'a> {
    One(&'a str),
    Many(&'a [String]),
}

impl<'a> AudienceOf<'a> {
    fn of(audiences: &'a [String]) -> Self {
        match audiences {
            [one] => AudienceOf::One(one),
            many => AudienceOf::Many(many),
        }
    }
}

/// [`Confirmation`], borrowed.
#[cfg_attr(test, derive(Serialize))]
struct ConfirmationOf<'a> {
    jkt: &'a str,
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
    /// Mints an access token for `client` (RFC 9068), bound to the DPoP key whose thumbprint
    /// is `jkt`, if given (RFC 9449 §6).
    pub fn mint(
        &self,
        client: &Client,
        subject: Subject<'_>,
        scope: &Scope,
        jkt: Option<&str>,
        now: UnixTime,
    ) -> Result<Minted, Failure> {
        let ttl = client.access_token_ttl.unwrap_or(self.default_ttl);
        let no_claims = serde_json::Map::new();
        let (sub, auth_time, extra) = match subject {
            Subject::User { user, auth_time } => {
                (user.subject.as_str(), Some(auth_time), &user.claims)
            }
            Subject::Client => (client.id.as_str(), None, &no_claims),
        };
        let scope = scope.joined();
        let mut jti = [0; JTI_LEN];
        let claims = NewClaims {
            iss: self.issuer,
            sub,
            aud: AudienceOf::of(&client.audience),
            client_id: &client.id,
            scope: &scope,
            iat: now,
            nbf: now,
            exp: now + ttl,
            jti: random_b64_into(self.keys.rng(), &mut jti)?,
            auth_time,
            cnf: jkt.map(|jkt| ConfirmationOf { jkt }),
            extra,
        };
        let token = self
            .keys
            .sign_written(|out| claims.write(out))
            .map_err(|e| Failure::Internal(e.to_string()))?;
        Ok(Minted {
            token,
            expires_in: ttl,
            scope,
        })
    }
}

/// A `jti`: 128 random bits, base64url without padding.
const JTI_LEN: usize = 22;

/// 16 random bytes from `ring`, base64url without padding, written into `out`.
fn random_b64_into<'a>(
    rng: &dyn SecureRandom,
    out: &'a mut [u8; JTI_LEN],
) -> Result<&'a str, Failure> {
    let written = B64
        .encode_slice(random_bytes::<16>(rng)?, out)
        .map_err(|_| Failure::internal("jti longer than its buffer"))?;
    std::str::from_utf8(out.get(..written).unwrap_or_default())
        .map_err(|_| Failure::internal("jti is not text"))
}

/// `N` random bytes from `ring`, base64url without padding.
pub fn random_b64<const N: usize>(rng: &dyn SecureRandom) -> Result<String, Failure> {
    Ok(B64.encode(random_bytes::<N>(rng)?))
}

/// `N` random bytes from `ring`.
fn random_bytes<const N: usize>(rng: &dyn SecureRandom) -> Result<[u8; N], Failure> {
    let mut bytes = [0u8; N];
    rng.fill(&mut bytes)
        .map_err(|_| Failure::internal("random generator failed"))?;
    Ok(bytes)
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
    /// `Bearer`, or `DPoP` for a token bound to the request's DPoP proof (RFC 9449 §5).
    #[schema(examples("Bearer", "DPoP"))]
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    pub scope: String,
    /// With `openid` in the scope (OpenID Connect Core §3.1.3.3, §12.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl TokenResponse {
    /// The response as JSON, the very text `serde_json` writes of it (a test holds the two
    /// together), written member by member into a buffer sized for it.
    pub fn to_json(&self) -> Vec<u8> {
        // The members' names, quotes and commas, `token_type` and 20 digits of `expires_in`
        // take under 96 bytes; an optional token's name and quotes under 20. Text to escape
        // may grow the buffer, which is all it costs.
        let optional = |token: &Option<String>| token.as_ref().map_or(0, |t| t.len() + 20);
        let mut out = Vec::with_capacity(
            96 + self.access_token.len()
                + self.scope.len()
                + optional(&self.refresh_token)
                + optional(&self.id_token),
        );
        out.extend_from_slice(b"{\"access_token\":");
        json::push_str(&mut out, &self.access_token);
        out.extend_from_slice(b",\"token_type\":");
        json::push_str(&mut out, self.token_type);
        out.extend_from_slice(b",\"expires_in\":");
        out.extend_from_slice(json::decimal(self.expires_in, &mut [0; 20]));
        if let Some(refresh_token) = &self.refresh_token {
            out.extend_from_slice(b",\"refresh_token\":");
            json::push_str(&mut out, refresh_token);
        }
        out.extend_from_slice(b",\"scope\":");
        json::push_str(&mut out, &self.scope);
        if let Some(id_token) = &self.id_token {
            out.extend_from_slice(b",\"id_token\":");
            json::push_str(&mut out, id_token);
        }
        out.push(b'}');
        out
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn keys() -> KeySet {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
        KeySet::load(&dir, None).unwrap()
    }

    fn client(audience: &[&str], ttl: Option<u64>) -> Client {
        Client {
            id: "app".into(),
            name: "App".into(),
            secret_hash: None,
            auth_method: None,
            jwks: None,
            redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            scopes: Scope::parse("read").unwrap(),
            audience: audience.iter().map(|a| a.to_string()).collect(),
            access_token_ttl: ttl,
            post_logout_redirect_uris: Vec::new(),
            require_pushed_authorization_requests: false,
            dpop_bound_access_tokens: false,
            profile: None,
        }
    }

    fn minted(keys: &KeySet, client: &Client, subject: Subject<'_>) -> (Minted, AccessClaims) {
        let minter = Minter {
            keys,
            issuer: "https://auth.example",
            default_ttl: 900,
        };
        let scope = Scope::parse("read").unwrap();
        let minted = minter.mint(client, subject, &scope, None, 1_000).unwrap();
        let claims = keys.verify::<AccessClaims>(&minted.token).unwrap();
        (minted, claims)
    }

    #[test]
    fn a_user_token_names_the_user_when_they_signed_in_and_their_claims() {
        let keys = keys();
        let mut extra = serde_json::Map::new();
        extra.insert("roles".into(), serde_json::json!(["admin"]));
        let user = User {
            username: "jsmith".into(),
            password_hash: String::new(),
            subject: "subject-1".into(),
            claims: extra,
        };
        let subject = Subject::User {
            user: &user,
            auth_time: 990,
        };
        let (minted, claims) = minted(&keys, &client(&["https://api"], None), subject);
        assert_eq!(minted.expires_in, 900);
        assert_eq!(
            (claims.sub.as_str(), claims.auth_time),
            ("subject-1", Some(990))
        );
        assert_eq!((claims.iat, claims.nbf, claims.exp), (1_000, 1_000, 1_900));
        assert_eq!(claims.extra["roles"], serde_json::json!(["admin"]));
        assert_eq!(claims.aud, Audience::One("https://api".into()));
        assert_eq!(claims.client_id, "app");
    }

    #[test]
    fn a_client_token_names_the_client_and_uses_its_own_lifetime() {
        let keys = keys();
        let (minted, claims) = minted(&keys, &client(&["a", "b"], Some(60)), Subject::Client);
        assert_eq!(minted.expires_in, 60);
        assert_eq!((claims.sub.as_str(), claims.auth_time), ("app", None));
        assert_eq!(claims.exp, 1_060);
        assert_eq!(claims.aud, Audience::Many(vec!["a".into(), "b".into()]));
        assert!(claims.extra.is_empty());
    }

    #[test]
    fn a_token_bound_to_a_dpop_key_names_its_thumbprint_in_cnf() {
        let keys = keys();
        let minter = Minter {
            keys: &keys,
            issuer: "https://auth.example",
            default_ttl: 900,
        };
        let scope = Scope::parse("read").unwrap();
        let app = client(&["a"], None);
        let bound = minter
            .mint(&app, Subject::Client, &scope, Some("thumb"), 1_000)
            .unwrap();
        let claims = keys.verify::<AccessClaims>(&bound.token).unwrap();
        assert_eq!(
            claims.cnf,
            Some(Confirmation {
                jkt: "thumb".into()
            })
        );
        let (_, unbound) = minted(&keys, &app, Subject::Client);
        assert_eq!(unbound.cnf, None);
    }

    #[test]
    fn every_token_has_a_fresh_128_bit_jti() {
        let keys = keys();
        let app = client(&["a"], None);
        let (_, first) = minted(&keys, &app, Subject::Client);
        let (_, second) = minted(&keys, &app, Subject::Client);
        assert_eq!(first.jti.len(), 22);
        assert_ne!(first.jti, second.jti);
    }

    /// Claims of every shape: one audience and several, with and without `auth_time` and
    /// `cnf`, extra claims of each JSON kind, and text with characters to escape.
    fn claim_shapes<'a>(
        extra: &'a serde_json::Map<String, serde_json::Value>,
        audiences: &'a [String],
    ) -> Vec<NewClaims<'a>> {
        let base = || NewClaims {
            iss: "https://auth.example",
            sub: "client",
            aud: AudienceOf::One("https://api.example"),
            client_id: "client",
            scope: "read write",
            iat: 1_700_000_000,
            nbf: 1_700_000_000,
            exp: 1_700_000_900,
            jti: "AAAAAAAAAAAAAAAAAAAAAA",
            auth_time: None,
            cnf: None,
            extra,
        };
        vec![
            base(),
            NewClaims {
                aud: AudienceOf::Many(audiences),
                auth_time: Some(0),
                sub: "tab\there \\ and \"quotes\" and é",
                ..base()
            },
            NewClaims {
                aud: AudienceOf::Many(&audiences[..0]),
                cnf: Some(ConfirmationOf { jkt: "thumb\n" }),
                exp: u64::MAX,
                ..base()
            },
        ]
    }

    #[test]
    fn claims_are_written_as_serde_json_writes_them() {
        let none = serde_json::Map::new();
        let serde_json::Value::Object(extra) = serde_json::json!({
            "roles": ["admin", "a\"b"],
            "age": -3,
            "ratio": 0.5,
            "nested": {"x": null, "y": true},
            "qu\"ote": "new\nline",
        }) else {
            unreachable!()
        };
        let audiences = ["https://a.example".to_string(), "b \"q\"\u{1}".to_string()];
        for extra in [&none, &extra] {
            for claims in claim_shapes(extra, &audiences) {
                let mut written = Vec::new();
                claims.write(&mut written).unwrap();
                assert_eq!(
                    String::from_utf8(written).unwrap(),
                    serde_json::to_string(&claims).unwrap()
                );
            }
        }
    }

    #[test]
    fn a_token_response_is_written_as_serde_json_writes_it() {
        let response = |refresh: Option<&str>, id: Option<&str>| TokenResponse {
            access_token: "header.payload.signature".into(),
            token_type: "Bearer",
            expires_in: 900,
            refresh_token: refresh.map(String::from),
            scope: "openid \"odd\"\u{7f}\u{1f}".into(),
            id_token: id.map(String::from),
        };
        for (refresh, id) in [
            (None, None),
            (Some("refresh"), None),
            (None, Some("id.token.here")),
            (Some("r\\"), Some("i")),
        ] {
            let response = response(refresh, id);
            assert_eq!(
                String::from_utf8(response.to_json()).unwrap(),
                serde_json::to_string(&response).unwrap()
            );
        }
    }

    #[test]
    fn opaque_tokens_are_43_base64url_characters() {
        let rng = ring::rand::SystemRandom::new();
        let value = opaque(&rng).unwrap();
        assert!(is_opaque(&value), "{value}");
        assert!(!is_opaque(&value[..42]));
        assert!(!is_opaque(&format!("{}+", &value[..42])));
        assert_ne!(value, opaque(&rng).unwrap());
    }
}

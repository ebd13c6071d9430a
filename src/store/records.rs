//! What the store keeps and answers, in OAuth's words: hashed secrets, grants, codes,
//! sessions, and the outcomes of spending them.

use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::scope::Scope;

/// base64url SHA-256 of a token, code or session id: the only form a backend sees.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hashed(String);

impl Hashed {
    pub fn of(secret: &str) -> Self {
        Hashed(crate::token::sha256_b64(secret.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A refresh token as the store sees it (`refresh_token` makes and verifies them): its family, its
/// generation, and the digest of the token, never the token (docs/design.md, "Refresh tokens").
#[derive(Clone, Copy, Debug)]
pub struct TokenRef<'a> {
    /// base64url of the family id, 22 characters.
    pub family: &'a str,
    pub generation: u32,
    pub digest: &'a str,
}

/// What a refresh-token family or an authorization code grants: who, to which client, what.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    /// The user's username, or `None` for a client acting for itself (client_credentials).
    pub username: Option<String>,
    pub scope: Scope,
    pub auth_time: Option<UnixTime>,
    /// The DPoP key a public client's family is bound to (RFC 9449 §5): its refresh tokens
    /// work only with a proof by that key. Records written before DPoP have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jkt: Option<String>,
}

/// A one-time authorization code's binding (README, "What is stored").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeRecord {
    pub grant: Grant,
    /// The redirect_uri sent to /authorize, if one was (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// PKCE S256 challenge (RFC 7636).
    pub code_challenge: Option<String>,
    /// The OpenID Connect `nonce` sent to /authorize, for the ID token /token returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The SSO session the code was issued in (the ID token's `sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// `dpop_jkt` sent to /authorize: the code is redeemed only with a proof by that key
    /// (RFC 9449 §10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
    pub expires_at: UnixTime,
}

/// What a single-use identifier is spent on. Each has its own namespace in the store, so an
/// assertion's `jti` never collides with a proof's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OnceKind {
    /// A `private_key_jwt` client assertion's `jti` (RFC 7523 §3, point 7).
    ClientAssertion,
    /// A DPoP proof's `jti` (RFC 9449 §11.1).
    DpopProof,
}

impl OnceKind {
    /// The key segment of the kind in the store.
    pub fn tag(self) -> &'static str {
        match self {
            OnceKind::ClientAssertion => "ca",
            OnceKind::DpopProof => "dp",
        }
    }
}

/// A pushed authorization request (RFC 9126 §2): the client that pushed it and the
/// parameters /authorize will use in its place, until `expires_at`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushedRequest {
    pub client_id: String,
    pub params: Vec<(String, String)>,
    pub expires_at: UnixTime,
}

/// An SSO login session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
    /// A stable, non-secret id of the session (the ID token's `sid`); not the cookie's value.
    #[serde(default)]
    pub sid: String,
}

/// A request to rotate a refresh token (`rotation::decide`).
#[derive(Debug)]
pub struct Rotate<'a> {
    pub presented: TokenRef<'a>,
    /// The digest of the presented token's successor, the one token its rotation yields.
    pub successor: &'a str,
    pub client_id: &'a str,
    /// The thumbprint of the request's DPoP key, if it sent a proof: a family bound to a key
    /// rotates only with a proof by that key (RFC 9449 §5).
    pub jkt: Option<&'a str>,
    /// A narrower scope for this access token, checked against the family's (RFC 6749 §6).
    pub scope: Option<&'a Scope>,
    pub now: UnixTime,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live, or ahead of a record that lost writes, or consumed within the grace
    /// window: its successor is the live token now.
    Rotated(Grant),
    /// The token was used before: the whole family is now revoked (RFC 9700 §4.14).
    Reused,
    /// Unknown, expired, revoked, another client's, or bound to another DPoP key.
    Invalid,
    /// The requested scope is not within the family's scope; nothing was consumed.
    ScopeExceeded,
}

/// The outcome of redeeming an authorization code. Made once per redemption and matched at
/// once, so the size of its record is no cost worth a box.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now spent and bound to the refresh family `family`.
    Redeemed(CodeRecord),
    /// The code was redeemed before; the family issued from it has been revoked.
    Replayed,
    /// No such code (never issued, or expired).
    Unknown,
}

/// A live refresh token as introspection reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct RefreshInfo {
    pub grant: Grant,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A live refresh token's grant and times, for introspection: the record's live token, or one
/// ahead of it (issued, and accepted at its next use: `rotation::decide`).
pub fn refresh_info(
    record: &crate::rotation::Record,
    grant: &Grant,
    token: TokenRef<'_>,
    now: UnixTime,
) -> Option<RefreshInfo> {
    let live = token.generation > record.generation
        || (token.generation == record.generation && token.digest == record.live);
    (live && !record.revoked && now < record.expires_at).then(|| RefreshInfo {
        grant: grant.clone(),
        issued_at: record.rotated_at,
        expires_at: record.expires_at,
    })
}

/// Lifetimes of the records a grant writes.
#[derive(Clone, Copy, Debug)]
pub struct RefreshPolicy {
    pub ttl: u64,
    /// `TS_REFRESH_REUSE_GRACE`: how long a consumed token may be used again.
    pub reuse_grace: u64,
}

//! The records the service is configured with: clients, users, the grant types clients may
//! use and how they authenticate. Immutable while the process runs; only scopes and public
//! keys are imported here.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use crate::jwk::PublicKeys;
use crate::scope::Scope;

/// Registered clients by id.
pub type Clients = HashMap<String, Arc<Client>>;
/// Users by username.
pub type Users = HashMap<String, Arc<User>>;

/// The grant types of RFC 6749, as clients are allowed them in the config file.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    Implicit,
    Password,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 5] = [
        GrantType::AuthorizationCode,
        GrantType::Implicit,
        GrantType::Password,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::Implicit => "implicit",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    /// A public client cannot keep a secret, so it may only use the redirect-based grants
    /// (with PKCE for the code) and refresh (docs/design.md, "Configuration").
    pub fn allowed_for_public_clients(self) -> bool {
        matches!(
            self,
            GrantType::AuthorizationCode | GrantType::Implicit | GrantType::RefreshToken
        )
    }

    pub fn uses_redirect(self) -> bool {
        matches!(self, GrantType::AuthorizationCode | GrantType::Implicit)
    }

    /// The grant type named by `grant_type` at the token endpoint; `implicit` is not one
    /// (RFC 6749 §4.2 issues its token from /authorize).
    pub fn at_token_endpoint(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == name && *g != GrantType::Implicit)
    }
}

/// How a client authenticates at the token endpoint and the others that take client
/// credentials (RFC 7591 §2 `token_endpoint_auth_method`; OpenID Connect Core §9).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// The secret in HTTP Basic (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523 §2.2, OpenID Connect Core §9).
    PrivateKeyJwt,
    /// `client_id` alone: a public client (RFC 6749 §2.1).
    None,
}

impl AuthMethod {
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }
}

/// A security profile a client opts into as a whole (README, "FAPI 2.0").
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
pub enum Profile {
    /// The FAPI 2.0 Security Profile's rules for the authorization server: `private_key_jwt`
    /// addressed to the issuer only, DPoP-bound tokens, pushed requests, the code with PKCE
    /// S256 and refresh, nothing else.
    #[serde(rename = "fapi2")]
    Fapi2,
}

/// A registered client (docs/design.md, "Configuration"). Immutable while the process runs.
pub struct Client {
    pub id: String,
    pub name: String,
    /// argon2id PHC string; `None` for a public client or one with keys only.
    pub secret_hash: Option<String>,
    /// The one method that authenticates the client, if the config file names one.
    pub auth_method: Option<AuthMethod>,
    /// The client's public keys, for `private_key_jwt`.
    pub jwks: Option<PublicKeys>,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub scopes: Scope,
    pub audience: Vec<String>,
    pub access_token_ttl: Option<u64>,
    /// Where RP-initiated logout may send the user back to, matched exactly (README, "OpenID
    /// Connect").
    pub post_logout_redirect_uris: Vec<String>,
    /// /authorize takes only a `request_uri` from /par (RFC 9126 §5).
    pub require_pushed_authorization_requests: bool,
    /// Every token request carries a DPoP proof, and every access token is bound to its key
    /// (RFC 9449 §5.2 `dpop_bound_access_tokens`).
    pub dpop_bound_access_tokens: bool,
    pub profile: Option<Profile>,
}

impl Client {
    /// A client with neither a secret nor keys cannot authenticate: it is public (RFC 6749
    /// §2.1).
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none() && self.jwks.is_none()
    }

    pub fn is_fapi2(&self) -> bool {
        self.profile == Some(Profile::Fapi2)
    }

    /// Public clients prove the code with PKCE (RFC 9700 §2.1.1), and so do FAPI 2.0 clients
    /// (FAPI 2.0 Security Profile §5.3.2.2).
    pub fn requires_pkce(&self) -> bool {
        self.is_public() || self.is_fapi2()
    }

    /// Whether `method` authenticates this client: the configured one only, else a secret's
    /// methods for a client with a secret, `private_key_jwt` for one with keys, `none` for a
    /// public one (README, "Client authentication").
    pub fn accepts(&self, method: AuthMethod) -> bool {
        match self.auth_method {
            Some(configured) => configured == method,
            None => match method {
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                    self.secret_hash.is_some()
                }
                AuthMethod::PrivateKeyJwt => self.jwks.is_some(),
                AuthMethod::None => self.is_public(),
            },
        }
    }

    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("public", &self.is_public())
            .field("auth_method", &self.auth_method)
            .field("jwks", &self.jwks)
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("profile", &self.profile)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
            .field("dpop_bound_access_tokens", &self.dpop_bound_access_tokens)
            .finish_non_exhaustive()
    }
}

/// A user who can log in (docs/design.md, "Configuration").
pub struct User {
    pub username: String,
    pub password_hash: String,
    pub subject: String,
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("username", &self.username)
            .field("subject", &self.subject)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::GrantType;

    #[test]
    fn implicit_is_not_a_grant_type_of_the_token_endpoint() {
        assert_eq!(GrantType::at_token_endpoint("implicit"), None);
        assert_eq!(
            GrantType::at_token_endpoint("password"),
            Some(GrantType::Password)
        );
        assert_eq!(GrantType::at_token_endpoint("PASSWORD"), None);
    }

    #[test]
    fn public_clients_may_use_only_redirect_grants_and_refresh() {
        let allowed: Vec<_> = GrantType::ALL
            .into_iter()
            .filter(|g| g.allowed_for_public_clients())
            .collect();
        assert_eq!(
            allowed,
            [
                GrantType::AuthorizationCode,
                GrantType::Implicit,
                GrantType::RefreshToken
            ]
        );
    }
}

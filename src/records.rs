//! The records the service is configured with: clients, users and the grant types clients
//! may use. Immutable while the process runs; nothing else of the service is imported here.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

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

/// A registered client (docs/design.md, "Configuration"). Immutable while the process runs.
pub struct Client {
    pub id: String,
    pub name: String,
    /// argon2id PHC string; `None` for a public client.
    pub secret_hash: Option<String>,
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
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
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
            .field("redirect_uris", &self.redirect_uris)
            .field("grant_types", &self.grant_types)
            .field("scopes", &self.scopes)
            .field("audience", &self.audience)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("post_logout_redirect_uris", &self.post_logout_redirect_uris)
            .field(
                "require_pushed_authorization_requests",
                &self.require_pushed_authorization_requests,
            )
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

//! The config file (TOML): the clients and users, validated once at start-up with errors that
//! name the file and line (docs/design.md, "Configuration").

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use super::Settings;
use super::settings::MAX_LIFETIME;
use crate::jwk::PublicKeys;
use crate::records::{AuthMethod, Client, Clients, GrantType, Profile, User, Users};
use crate::scope::{Scope, is_scope_token};
use crate::startup_error::StartupError;

/// What is wrong with one entry of the file; the caller names the file and line.
struct Invalid(String);

impl From<String> for Invalid {
    fn from(message: String) -> Self {
        Invalid(message)
    }
}

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Claims the service sets itself; a user's extra `claims` may not name them.
const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "client_id",
    "scope",
    "auth_time",
    "cnf",
];

/// Everything loaded at start-up: settings, clients and users.
#[derive(Debug)]
pub struct Config {
    pub settings: Settings,
    pub clients: Clients,
    pub users: Users,
    /// Serve `/demo/callback`, a page that shows the code it receives (development only).
    pub demo: bool,
    /// Origins of every registered redirect URI: the browser apps allowed CORS on `/token`.
    pub cors_origins: HashSet<String>,
    /// The first user's password hash in file order: unknown usernames are checked against a
    /// dummy hash with its parameters (docs/design.md, "Load, faults and bad input").
    pub password_hash_like: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    demo: bool,
    #[serde(default)]
    clients: Vec<ClientEntry>,
    #[serde(default)]
    users: Vec<UserEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    id: Spanned<String>,
    name: Option<String>,
    secret_hash: Option<String>,
    token_endpoint_auth_method: Option<AuthMethod>,
    jwks: Option<JwksEntry>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    grant_types: Vec<GrantType>,
    #[serde(default)]
    scopes: Vec<String>,
    #[serde(default)]
    audience: Vec<String>,
    access_token_ttl: Option<u64>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    require_pushed_authorization_requests: Option<bool>,
    dpop_bound_access_tokens: Option<bool>,
    profile: Option<Profile>,
}

/// A client's public keys, a JWK Set written inline (RFC 7517 §5).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JwksEntry {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserEntry {
    username: Spanned<String>,
    password_hash: String,
    subject: Option<String>,
    #[serde(default)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl Config {
    /// Loads the config file named by the settings.
    pub fn load(settings: Settings) -> Result<Self, StartupError> {
        let path = settings.config_file.clone();
        let text = std::fs::read_to_string(&path).map_err(|e| {
            StartupError(format!(
                "{}: cannot read config file (TS_CONFIG_FILE): {e}",
                path.display()
            ))
        })?;
        Self::parse(settings, &path, &text)
    }

    /// Parses and validates config text; errors name `path` and the line.
    pub fn parse(settings: Settings, path: &Path, text: &str) -> Result<Self, StartupError> {
        let at = |span: Option<Range<usize>>, message: &str| {
            let line = span.map(|s| line_of(text, s.start));
            match line {
                Some(line) => StartupError(format!("{}:{line}: {message}", path.display())),
                None => StartupError(format!("{}: {message}", path.display())),
            }
        };
        let file: ConfigFile = toml::from_str(text).map_err(|e| at(e.span(), e.message()))?;

        let mut clients = HashMap::new();
        let mut client_spans = Vec::new();
        let mut cors_origins = HashSet::new();
        for entry in file.clients {
            let span = entry.id.span();
            let client =
                validate_client(entry, &settings).map_err(|m| at(Some(span.clone()), &m.0))?;
            for uri in &client.redirect_uris {
                // Only web origins: a native app's `com.example:/cb` has an opaque origin,
                // which browsers send as `null` from any sandboxed frame.
                if let Ok(url) = url::Url::parse(uri)
                    && matches!(url.scheme(), "http" | "https")
                {
                    cors_origins.insert(url.origin().ascii_serialization());
                }
            }
            if clients.contains_key(&client.id) {
                return Err(at(
                    Some(span),
                    &format!("duplicate client id {:?}", client.id),
                ));
            }
            client_spans.push((client.id.clone(), span));
            clients.insert(client.id.clone(), Arc::new(client));
        }

        let mut users = HashMap::new();
        let password_hash_like = file.users.first().map(|u| u.password_hash.clone());
        for entry in file.users {
            let span = entry.username.span();
            let user = validate_user(entry).map_err(|m| at(Some(span.clone()), &m.0))?;
            if users.contains_key(&user.username) {
                return Err(at(
                    Some(span),
                    &format!("duplicate username {:?}", user.username),
                ));
            }
            // A `sub` names one principal (OpenID Connect Core §2, RFC 9068 §5): an app keyed
            // on `iss` + `sub` would merge two users, or a user and a client, sharing one.
            if let Some(other) = users
                .values()
                .find(|u: &&Arc<User>| u.subject == user.subject)
            {
                return Err(at(
                    Some(span),
                    &format!(
                        "users {:?} and {:?} have the same subject {:?}",
                        other.username, user.username, user.subject
                    ),
                ));
            }
            users.insert(user.username.clone(), Arc::new(user));
        }
        for (id, span) in client_spans {
            if let Some(user) = users.values().find(|u| u.subject == id) {
                return Err(at(
                    Some(span),
                    &format!(
                        "client id {id:?} is the subject of user {:?}: client_credentials \
                         tokens would name the same `sub`",
                        user.username
                    ),
                ));
            }
        }

        Ok(Config {
            settings,
            clients,
            users,
            demo: file.demo,
            cors_origins,
            password_hash_like,
        })
    }

    pub fn client(&self, id: &str) -> Option<&Arc<Client>> {
        self.clients.get(id)
    }

    pub fn user(&self, username: &str) -> Option<&Arc<User>> {
        self.users.get(username)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

fn validate_client(entry: ClientEntry, settings: &Settings) -> Result<Client, Invalid> {
    let id = entry.id.into_inner();
    if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control()) {
        return Err(Invalid(
            "client id must be 1 to 256 printable characters".into(),
        ));
    }
    if let Some(hash) = &entry.secret_hash {
        check_phc(hash).map_err(|e| format!("client {id:?}: secret_hash: {e}"))?;
    }
    let fapi2 = entry.profile == Some(Profile::Fapi2);
    if fapi2 {
        check_fapi2(
            &id,
            entry.token_endpoint_auth_method,
            entry.require_pushed_authorization_requests,
            entry.dpop_bound_access_tokens,
            &entry.grant_types,
        )?;
    }
    let auth_method = match fapi2 {
        true => Some(AuthMethod::PrivateKeyJwt),
        false => entry.token_endpoint_auth_method,
    };
    let require_par = fapi2 || entry.require_pushed_authorization_requests == Some(true);
    let dpop_bound = fapi2 || entry.dpop_bound_access_tokens == Some(true);
    let jwks = match &entry.jwks {
        Some(set) => {
            Some(PublicKeys::parse(&set.keys).map_err(|e| format!("client {id:?}: jwks {e}"))?)
        }
        None => None,
    };
    check_auth_method(&id, auth_method, &entry.secret_hash, &jwks)?;
    let public = entry.secret_hash.is_none() && jwks.is_none();
    for grant in &entry.grant_types {
        if public && !grant.allowed_for_public_clients() {
            return Err(Invalid(format!(
                "client {id:?} is public (no secret_hash or jwks) and may not use the {} grant",
                grant.as_str()
            )));
        }
    }
    if entry.grant_types.is_empty() {
        return Err(Invalid(format!("client {id:?}: grant_types is empty")));
    }
    for uri in entry
        .redirect_uris
        .iter()
        .chain(&entry.post_logout_redirect_uris)
    {
        let url = url::Url::parse(uri)
            .map_err(|e| format!("client {id:?}: redirect URI {uri:?} is not absolute: {e}"))?;
        if url.fragment().is_some() {
            return Err(Invalid(format!(
                "client {id:?}: redirect URI {uri:?} has a fragment (RFC 6749 §3.1.2)"
            )));
        }
    }
    let redirects = entry.grant_types.iter().any(|g| g.uses_redirect());
    if redirects && entry.redirect_uris.is_empty() {
        return Err(Invalid(format!(
            "client {id:?}: authorization_code and implicit need at least one redirect_uri"
        )));
    }
    if require_par && !redirects {
        return Err(Invalid(format!(
            "client {id:?}: require_pushed_authorization_requests is for /authorize, which \
             needs the authorization_code or implicit grant"
        )));
    }
    for scope in &entry.scopes {
        if !is_scope_token(scope) {
            return Err(Invalid(format!(
                "client {id:?}: {scope:?} is not a valid scope token"
            )));
        }
    }
    if let Some(ttl) = entry.access_token_ttl
        && !(1..=MAX_LIFETIME).contains(&ttl)
    {
        return Err(Invalid(format!(
            "client {id:?}: access_token_ttl must be 1 to {MAX_LIFETIME} seconds"
        )));
    }
    // RFC 9449 binds tokens the token endpoint issues; the implicit grant's come from
    // /authorize, where no proof goes with them.
    if dpop_bound && entry.grant_types.contains(&GrantType::Implicit) {
        return Err(Invalid(format!(
            "client {id:?}: dpop_bound_access_tokens cannot be kept by the implicit grant, \
             whose tokens come from /authorize without a DPoP proof"
        )));
    }
    let audience = if entry.audience.is_empty() {
        vec![settings.issuer_base().to_owned()]
    } else {
        entry.audience
    };
    Ok(Client {
        name: entry.name.unwrap_or_else(|| id.clone()),
        id,
        secret_hash: entry.secret_hash,
        auth_method,
        jwks,
        redirect_uris: entry.redirect_uris,
        grant_types: entry.grant_types,
        scopes: Scope::from_tokens(entry.scopes),
        audience,
        access_token_ttl: entry.access_token_ttl,
        post_logout_redirect_uris: entry.post_logout_redirect_uris,
        require_pushed_authorization_requests: require_par,
        dpop_bound_access_tokens: dpop_bound,
        profile: entry.profile,
    })
}

/// `profile = "fapi2"` sets the client's methods itself (README, "FAPI 2.0"): a setting that
/// says otherwise, or a grant beyond the code and refresh, is a contradiction to fix, not to
/// guess at.
fn check_fapi2(
    id: &str,
    method: Option<AuthMethod>,
    require_par: Option<bool>,
    dpop_bound: Option<bool>,
    grant_types: &[GrantType],
) -> Result<(), Invalid> {
    let contradiction = |what: &str| {
        Err(Invalid(format!(
            "client {id:?}: profile fapi2 {what}; remove the setting or the profile"
        )))
    };
    if let Some(method) = method
        && method != AuthMethod::PrivateKeyJwt
    {
        return contradiction(&format!(
            "authenticates with private_key_jwt only, not token_endpoint_auth_method {}",
            method.as_str()
        ));
    }
    if require_par == Some(false) {
        return contradiction("requires pushed authorization requests");
    }
    if dpop_bound == Some(false) {
        return contradiction("requires DPoP-bound access tokens");
    }
    if let Some(grant) = grant_types
        .iter()
        .find(|g| !matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken))
    {
        return contradiction(&format!(
            "allows only the authorization_code and refresh_token grants, not {}",
            grant.as_str()
        ));
    }
    if !grant_types.contains(&GrantType::AuthorizationCode) {
        return contradiction("is for the authorization_code grant, which grant_types lacks");
    }
    Ok(())
}

/// A configured `token_endpoint_auth_method` needs what it authenticates with, and `none`
/// is for public clients only (RFC 7591 §2). A secret beside `private_key_jwt` is unused.
fn check_auth_method(
    id: &str,
    method: Option<AuthMethod>,
    secret_hash: &Option<String>,
    jwks: &Option<PublicKeys>,
) -> Result<(), Invalid> {
    let Some(method) = method else {
        return Ok(());
    };
    let name = method.as_str();
    let missing = match method {
        AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
            secret_hash.is_none().then_some("needs a secret_hash")
        }
        AuthMethod::PrivateKeyJwt => jwks
            .is_none()
            .then_some("needs jwks, the client's public keys"),
        AuthMethod::None => (secret_hash.is_some() || jwks.is_some())
            .then_some("is for public clients: remove secret_hash and jwks"),
    };
    match missing {
        Some(why) => Err(Invalid(format!(
            "client {id:?}: token_endpoint_auth_method {name} {why}"
        ))),
        None => Ok(()),
    }
}

fn validate_user(entry: UserEntry) -> Result<User, Invalid> {
    let username = entry.username.into_inner();
    if username.is_empty() || username.len() > 256 {
        return Err(Invalid("username must be 1 to 256 characters".into()));
    }
    check_phc(&entry.password_hash)
        .map_err(|e| format!("user {username:?}: password_hash: {e}"))?;
    if let Some(reserved) = entry
        .claims
        .keys()
        .find(|k| RESERVED_CLAIMS.contains(&k.as_str()))
    {
        return Err(Invalid(format!(
            "user {username:?}: claim {reserved:?} is set by the service and may not be overridden"
        )));
    }
    Ok(User {
        subject: entry.subject.unwrap_or_else(|| username.clone()),
        username,
        password_hash: entry.password_hash,
        claims: entry.claims,
    })
}

/// Checks that `hash` is an argon2id PHC string (docs/design.md, "Configuration": secrets are
/// stored only as such).
fn check_phc(hash: &str) -> Result<(), Invalid> {
    let parsed = argon2::PasswordHash::new(hash).map_err(|e| format!("not a PHC string: {e}"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(Invalid(format!(
            "expected argon2id, found {}",
            parsed.algorithm
        )));
    }
    argon2::Params::try_from(&parsed).map_err(|e| format!("bad argon2 parameters: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_logout_redirect_uri_must_be_absolute() {
        let text = "[[clients]]\nid = \"app\"\ngrant_types = [\"implicit\"]\n\
                    redirect_uris = [\"https://app.example/cb\"]\n\
                    post_logout_redirect_uris = [\"/signed-out\"]\n";
        let settings = Settings::from_vars(Vec::new()).unwrap();
        let error = Config::parse(settings, Path::new("c.toml"), text).unwrap_err();
        assert!(error.0.contains("/signed-out"), "{error}");
    }

    /// The test suite's hash of `password123`.
    const HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$WSR1DqFEbLgs8S5iuUUREA$GyH9KAkaoErCl+SJnX/+H7HHpkdB+3nmuBYR7+UNOy4";
    const JWKS: &str = r#"jwks = { keys = [{ kty = "OKP", crv = "Ed25519", x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }] }"#;

    /// A client_credentials client named `m2m` on line 2 with `extra` lines.
    fn client_with(extra: &str) -> Result<Config, StartupError> {
        let text =
            format!("[[clients]]\nid = \"m2m\"\ngrant_types = [\"client_credentials\"]\n{extra}\n");
        let settings = Settings::from_vars(Vec::new()).unwrap();
        Config::parse(settings, Path::new("c.toml"), &text)
    }

    fn refused(extra: &str) -> String {
        client_with(extra).unwrap_err().0
    }

    /// A client with `profile = "fapi2"` and its keys, named `bank` on line 2, with `extra` lines.
    fn fapi2_client(extra: &str) -> Result<Config, StartupError> {
        let text = format!(
            "[[clients]]\nid = \"bank\"\nprofile = \"fapi2\"\n{JWKS}\n\
             redirect_uris = [\"https://bank.example/cb\"]\n{extra}\n"
        );
        let settings = Settings::from_vars(Vec::new()).unwrap();
        Config::parse(settings, Path::new("c.toml"), &text)
    }

    const FAPI2_GRANTS: &str = "grant_types = [\"authorization_code\", \"refresh_token\"]";

    #[test]
    fn fapi2_sets_private_key_jwt_and_pushed_requests_and_requires_pkce() {
        let config = fapi2_client(FAPI2_GRANTS).unwrap();
        let client = &config.clients["bank"];
        assert!(client.is_fapi2());
        let accepted: Vec<_> = AuthMethod::ALL
            .into_iter()
            .filter(|m| client.accepts(*m))
            .collect();
        assert_eq!(accepted, [AuthMethod::PrivateKeyJwt]);
        assert!(client.require_pushed_authorization_requests);
        assert!(client.requires_pkce());
    }

    #[test]
    fn fapi2_accepts_the_settings_it_implies_spelled_out() {
        let extra = format!(
            "{FAPI2_GRANTS}\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
             require_pushed_authorization_requests = true"
        );
        assert!(fapi2_client(&extra).is_ok());
    }

    #[test]
    fn fapi2_with_another_auth_method_names_the_client_and_line() {
        let extra = format!(
            "{FAPI2_GRANTS}\nsecret_hash = \"{HASH}\"\ntoken_endpoint_auth_method = \"client_secret_basic\""
        );
        let error = fapi2_client(&extra).unwrap_err().0;
        assert!(error.starts_with("c.toml:2:"), "{error}");
        assert!(error.contains("\"bank\""), "{error}");
        assert!(error.contains("private_key_jwt only"), "{error}");
    }

    #[test]
    fn fapi2_without_pushed_requests_is_a_contradiction() {
        let extra = format!("{FAPI2_GRANTS}\nrequire_pushed_authorization_requests = false");
        let error = fapi2_client(&extra).unwrap_err().0;
        assert!(
            error.contains("requires pushed authorization requests"),
            "{error}"
        );
    }

    #[test]
    fn fapi2_binds_every_access_token_to_a_dpop_key() {
        let config = fapi2_client(FAPI2_GRANTS).unwrap();
        assert!(config.clients["bank"].dpop_bound_access_tokens);
        let extra = format!("{FAPI2_GRANTS}\ndpop_bound_access_tokens = true");
        assert!(fapi2_client(&extra).is_ok());
        let extra = format!("{FAPI2_GRANTS}\ndpop_bound_access_tokens = false");
        let error = fapi2_client(&extra).unwrap_err().0;
        assert!(
            error.contains("client \"bank\": profile fapi2 requires DPoP-bound access tokens"),
            "{error}"
        );
    }

    #[test]
    fn fapi2_allows_no_grant_beyond_the_code_and_refresh() {
        for grant in ["implicit", "password", "client_credentials"] {
            let extra = format!("grant_types = [\"authorization_code\", \"{grant}\"]");
            let error = fapi2_client(&extra).unwrap_err().0;
            assert!(error.contains(&format!("not {grant}")), "{grant}: {error}");
        }
        let error = fapi2_client("grant_types = [\"refresh_token\"]")
            .unwrap_err()
            .0;
        assert!(error.contains("which grant_types lacks"), "{error}");
    }

    #[test]
    fn fapi2_needs_the_clients_keys() {
        let text = "[[clients]]\nid = \"bank\"\nprofile = \"fapi2\"\n\
                    grant_types = [\"authorization_code\"]\n\
                    redirect_uris = [\"https://bank.example/cb\"]\n";
        let settings = Settings::from_vars(Vec::new()).unwrap();
        let error = Config::parse(settings, Path::new("c.toml"), text)
            .unwrap_err()
            .0;
        assert!(error.contains("needs jwks"), "{error}");
    }

    #[test]
    fn an_unknown_profile_is_refused_with_its_line() {
        let error = refused("profile = \"fapi1\"");
        assert!(error.contains("fapi1"), "{error}");
    }

    #[test]
    fn a_client_with_keys_and_no_secret_is_confidential() {
        let config = client_with(JWKS).unwrap();
        let client = &config.clients["m2m"];
        assert!(!client.is_public());
        assert!(client.accepts(AuthMethod::PrivateKeyJwt));
        assert!(!client.accepts(AuthMethod::None));
        assert!(!client.accepts(AuthMethod::ClientSecretBasic));
    }

    #[test]
    fn private_key_jwt_without_jwks_names_the_client_and_line() {
        let error = refused(&format!(
            "secret_hash = \"{HASH}\"\ntoken_endpoint_auth_method = \"private_key_jwt\""
        ));
        assert!(error.starts_with("c.toml:2: client \"m2m\""), "{error}");
        assert!(error.contains("private_key_jwt needs jwks"), "{error}");
    }

    #[test]
    fn a_secret_method_without_a_secret_is_refused() {
        for method in ["client_secret_basic", "client_secret_post"] {
            let error = refused(&format!(
                "{JWKS}\ntoken_endpoint_auth_method = \"{method}\""
            ));
            assert!(
                error.contains(&format!("{method} needs a secret_hash")),
                "{error}"
            );
        }
    }

    #[test]
    fn none_with_a_secret_or_keys_is_refused() {
        for credential in [format!("secret_hash = \"{HASH}\""), JWKS.to_owned()] {
            let error = refused(&format!(
                "{credential}\ntoken_endpoint_auth_method = \"none\""
            ));
            assert!(error.contains("none is for public clients"), "{error}");
        }
    }

    #[test]
    fn a_private_jwk_member_names_the_client_and_the_key() {
        let error = refused(&JWKS.replace("x = ", "d = \"AAAA\", x = "));
        assert!(
            error.starts_with("c.toml:2: client \"m2m\": jwks key 1"),
            "{error}"
        );
        assert!(error.contains("private member \"d\""), "{error}");
    }

    #[test]
    fn an_unknown_auth_method_is_refused_with_its_line() {
        let error = refused("token_endpoint_auth_method = \"client_secret_jwt\"");
        assert!(error.starts_with("c.toml:4:"), "{error}");
    }

    #[test]
    fn without_a_method_a_secret_authenticates_with_basic_or_post_and_keys_too_if_any() {
        let config = client_with(&format!("secret_hash = \"{HASH}\"")).unwrap();
        let client = &config.clients["m2m"];
        assert!(client.accepts(AuthMethod::ClientSecretBasic));
        assert!(client.accepts(AuthMethod::ClientSecretPost));
        assert!(!client.accepts(AuthMethod::PrivateKeyJwt));
        let config = client_with(&format!("secret_hash = \"{HASH}\"\n{JWKS}")).unwrap();
        assert!(config.clients["m2m"].accepts(AuthMethod::PrivateKeyJwt));
    }

    #[test]
    fn a_configured_method_is_the_only_one() {
        let text = format!(
            "secret_hash = \"{HASH}\"\n{JWKS}\ntoken_endpoint_auth_method = \"private_key_jwt\""
        );
        let config = client_with(&text).unwrap();
        let client = &config.clients["m2m"];
        let accepted: Vec<_> = AuthMethod::ALL
            .into_iter()
            .filter(|m| client.accepts(*m))
            .collect();
        assert_eq!(accepted, [AuthMethod::PrivateKeyJwt]);
    }

    #[test]
    fn a_dpop_bound_client_may_not_use_the_implicit_grant() {
        let text = "[[clients]]\nid = \"app\"\ngrant_types = [\"implicit\"]\n\
                    redirect_uris = [\"https://app.example/cb\"]\n\
                    dpop_bound_access_tokens = true\n";
        let settings = Settings::from_vars(Vec::new()).unwrap();
        let error = Config::parse(settings, Path::new("c.toml"), text).unwrap_err();
        assert!(
            error
                .0
                .starts_with("c.toml:2: client \"app\": dpop_bound_access_tokens"),
            "{error}"
        );
    }

    #[test]
    fn post_logout_redirect_uris_are_kept_as_registered() {
        let text = "[[clients]]\nid = \"app\"\ngrant_types = [\"implicit\"]\n\
                    redirect_uris = [\"https://app.example/cb\"]\n\
                    post_logout_redirect_uris = [\"https://app.example/bye\"]\n";
        let settings = Settings::from_vars(Vec::new()).unwrap();
        let config = Config::parse(settings, Path::new("c.toml"), text).unwrap();
        let client = &config.clients["app"];
        assert_eq!(
            client.post_logout_redirect_uris,
            ["https://app.example/bye"]
        );
    }
}

//! Settings from the environment (`TS_` prefix, read with envy) and the clients and users of
//! the config file (TOML), validated once at start-up; Debug output redacts every secret.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use toml::Spanned;

use crate::records::{Client, Clients, GrantType, User, Users};
use crate::scope::{Scope, is_scope_token};

/// A start-up failure: one line naming the variable, or the file and line, that is wrong.
/// The binary prints it and exits with code 2.
#[derive(Debug)]
pub struct StartupError(pub String);

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

impl StartupError {
    pub fn new(message: impl Into<String>) -> Self {
        StartupError(message.into())
    }
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Declares `Settings` once: each field with its default, and whether `Debug` redacts it.
/// The struct, its `Default`, its `Debug` and the list of known `TS_` variables all come from
/// this one list, so none of them can miss a field.
macro_rules! settings {
    ($( $(#[doc = $doc:literal])+ $name:ident: $ty:ty = $default:expr $(, $redacted:ident)?; )+) => {
        /// The environment (README, "Configuration"). Every variable is optional.
        #[derive(Clone, Deserialize)]
        #[serde(default)]
        pub struct Settings {
            $( $(#[doc = $doc])+ pub $name: $ty, )+
        }

        impl Default for Settings {
            fn default() -> Self {
                Settings { $( $name: $default, )+ }
            }
        }

        impl fmt::Debug for Settings {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                let mut debug = f.debug_struct("Settings");
                $( settings!(@field debug, self, $name $(, $redacted)?); )+
                debug.finish()
            }
        }

        /// The variables `Settings` reads, lower case, without the prefix.
        const KNOWN_VARIABLES: &[&str] = &[$( stringify!($name) ),+];
    };
    (@field $debug:ident, $self:ident, $name:ident) => {
        $debug.field(stringify!($name), &$self.$name);
    };
    (@field $debug:ident, $self:ident, $name:ident, redacted) => {
        $debug.field(stringify!($name), &$self.$name.as_ref().map(|_| "<redacted>"));
    };
}

settings! {
    /// `TS_LISTEN`: the address to serve on.
    listen: SocketAddr = SocketAddr::from(([0, 0, 0, 0], 8080));
    /// `TS_METRICS_LISTEN`: a separate address for `/metrics`, which then answers 404 on
    /// `TS_LISTEN`: counts of tokens, throttling and reuse are for the operator, not for
    /// whoever reaches the public port (README, "Configuration").
    metrics_listen: Option<SocketAddr> = None;
    /// `TS_ISSUER`: the `iss` claim and the base of every published URL.
    issuer: String = "http://localhost:8080".into();
    /// `TS_CONFIG_FILE`: clients and users.
    config_file: PathBuf = "config/dev.toml".into();
    /// `TS_KEYS_DIR`: the PKCS#8 PEM signing keys.
    keys_dir: PathBuf = "keys".into();
    /// `TS_SIGNING_KEY`: the kid or file stem of the key that signs (default: the last file).
    signing_key: Option<String> = None;
    /// `TS_REDIS_URL`: unset for the in-memory store. May carry a password.
    redis_url: Option<String> = None, redacted;
    /// `TS_REDIS_CLUSTER`: `TS_REDIS_URL` lists the nodes of a Redis Cluster.
    redis_cluster: bool = false;
    /// `TS_REDIS_SENTINEL`: the master name; `TS_REDIS_URL` then lists Sentinels (README, "Redis").
    redis_sentinel: Option<String> = None;
    /// `TS_REDIS_WAIT_REPLICAS`: replicas that must acknowledge the writes that cannot be rolled
    /// forward; rotations wait for none (README, "Redis").
    redis_wait_replicas: u32 = 0;
    /// `TS_REDIS_PREFIX`: the prefix of every key the service writes.
    redis_prefix: String = "ts:".into();
    /// `TS_ACCESS_TOKEN_TTL`: seconds.
    access_token_ttl: u64 = 900;
    /// `TS_REFRESH_TOKEN_TTL`: seconds a refresh token stays valid if unused.
    refresh_token_ttl: u64 = 2_592_000;
    /// `TS_AUTH_CODE_TTL`: seconds, at most 600.
    auth_code_ttl: u64 = 60;
    /// `TS_SESSION_TTL`: seconds an SSO session lasts.
    session_ttl: u64 = 28_800;
    /// `TS_ID_TOKEN_TTL`: seconds an OpenID Connect ID token is valid (README, "OpenID Connect").
    id_token_ttl: u64 = 300;
    /// `TS_REFRESH_REUSE_GRACE`: seconds a consumed refresh token may be used again
    /// (docs/design.md, "Rotation").
    refresh_reuse_grace: u64 = 0;
    /// `TS_LOGIN_MAX_FAILURES`: failed logins per username before throttling (docs/design.md,
    /// "Load, faults and bad input").
    login_max_failures: u32 = 5;
    /// `TS_LOG_FORMAT`: `pretty` or `json` (default: pretty on a terminal).
    log_format: Option<LogFormat> = None;
}

/// The longest lifetime any setting may give: far beyond sensible, well short of overflowing
/// `now + ttl` or Redis's expiry range.
pub const MAX_LIFETIME: u64 = 366 * 86_400;

impl Settings {
    /// Reads `TS_*` from the process environment.
    pub fn from_env() -> Result<Self, StartupError> {
        Self::from_vars(std::env::vars())
    }

    /// Reads settings from the given variables (tests pass their own), then validates them.
    pub fn from_vars<I>(vars: I) -> Result<Self, StartupError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let settings: Settings = envy::prefixed("TS_")
            .from_iter(vars.clone())
            .map_err(|e| StartupError(envy_message(&vars, &e.to_string())))?;
        settings.validate()?;
        Ok(settings)
    }

    /// `TS_` variables the service does not know, for a start-up warning.
    pub fn unknown_variables() -> Vec<String> {
        std::env::vars()
            .filter_map(|(name, _)| {
                let rest = name.strip_prefix("TS_")?.to_ascii_lowercase();
                (!KNOWN_VARIABLES.contains(&rest.as_str())).then_some(name)
            })
            .collect()
    }

    fn validate(&self) -> Result<(), StartupError> {
        let positive = [
            ("TS_ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("TS_REFRESH_TOKEN_TTL", self.refresh_token_ttl),
            ("TS_AUTH_CODE_TTL", self.auth_code_ttl),
            ("TS_SESSION_TTL", self.session_ttl),
            ("TS_ID_TOKEN_TTL", self.id_token_ttl),
            ("TS_LOGIN_MAX_FAILURES", u64::from(self.login_max_failures)),
        ];
        for (name, value) in positive {
            if value == 0 {
                return Err(StartupError(format!("{name}: must be greater than 0")));
            }
        }
        let lifetimes = [
            ("TS_ACCESS_TOKEN_TTL", self.access_token_ttl),
            ("TS_REFRESH_TOKEN_TTL", self.refresh_token_ttl),
            ("TS_SESSION_TTL", self.session_ttl),
            ("TS_ID_TOKEN_TTL", self.id_token_ttl),
            ("TS_REFRESH_REUSE_GRACE", self.refresh_reuse_grace),
        ];
        for (name, value) in lifetimes {
            if value > MAX_LIFETIME {
                return Err(StartupError(format!(
                    "{name}: at most {MAX_LIFETIME} seconds (one year)"
                )));
            }
        }
        if self.auth_code_ttl > 600 {
            return Err(StartupError(
                "TS_AUTH_CODE_TTL: at most 600 seconds (RFC 6749 §4.1.2)".into(),
            ));
        }
        let issuer = url::Url::parse(&self.issuer)
            .map_err(|e| StartupError(format!("TS_ISSUER: not a URL: {e}")))?;
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
        {
            return Err(StartupError(
                "TS_ISSUER: must be an http(s) URL without query or fragment (RFC 8414 §2)".into(),
            ));
        }
        if self.redis_prefix.contains(['{', '}']) {
            return Err(StartupError(
                "TS_REDIS_PREFIX: must not contain '{' or '}' (they are Redis Cluster hash tags)"
                    .into(),
            ));
        }
        if let Some(url) = &self.redis_url {
            for node in url.split(',') {
                let scheme = node.trim().split("://").next().unwrap_or_default();
                if !matches!(scheme, "redis" | "rediss" | "redis+unix" | "unix") {
                    return Err(StartupError(
                        "TS_REDIS_URL: expected redis:// or rediss:// URLs".into(),
                    ));
                }
            }
            if url.contains(',') && !self.redis_cluster && self.redis_sentinel.is_none() {
                return Err(StartupError(
                    "TS_REDIS_URL: a list of URLs needs TS_REDIS_CLUSTER=true or TS_REDIS_SENTINEL"
                        .into(),
                ));
            }
        }
        if self.redis_sentinel.is_some() && self.redis_cluster {
            return Err(StartupError(
                "TS_REDIS_SENTINEL: Sentinel and TS_REDIS_CLUSTER=true exclude each other".into(),
            ));
        }
        if self.redis_sentinel.is_some() && self.redis_url.is_none() {
            return Err(StartupError(
                "TS_REDIS_SENTINEL: needs TS_REDIS_URL listing the Sentinels".into(),
            ));
        }
        if self.redis_wait_replicas > 0 && (self.redis_cluster || self.redis_url.is_none()) {
            return Err(StartupError(
                "TS_REDIS_WAIT_REPLICAS: needs one Redis or Sentinel (WAIT has no key to route \
                 by on a Cluster)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// The issuer without a trailing slash, the base of every published URL.
    pub fn issuer_base(&self) -> &str {
        self.issuer.trim_end_matches('/')
    }

    /// Whether cookies must be `Secure` (the issuer is served over https).
    pub fn issuer_is_https(&self) -> bool {
        self.issuer.starts_with("https://")
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
                validate_client(entry, &settings).map_err(|m| at(Some(span.clone()), &m))?;
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
            let user = validate_user(entry).map_err(|m| at(Some(span.clone()), &m))?;
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

/// Leads an envy error with the variable the operator set. envy names it for some errors
/// ("... provided by ACCESS_TOKEN_TTL"), not for others (an address or an enum that does not
/// parse): then each `TS_` variable is read alone until the one that fails is found.
fn envy_message(vars: &[(String, String)], message: &str) -> String {
    if let Some((problem, name)) = message.rsplit_once(" provided by ") {
        return format!("TS_{name}: {problem}");
    }
    let culprit = vars.iter().find(|(name, value)| {
        name.starts_with("TS_")
            && envy::prefixed("TS_")
                .from_iter::<_, Settings>([(name.clone(), value.clone())])
                .is_err()
    });
    match culprit {
        Some((name, _)) => format!("{name}: {message}"),
        None => format!("environment: {message}"),
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
}

fn validate_client(entry: ClientEntry, settings: &Settings) -> Result<Client, String> {
    let id = entry.id.into_inner();
    if id.is_empty() || id.len() > 256 || id.chars().any(|c| c.is_control()) {
        return Err("client id must be 1 to 256 printable characters".into());
    }
    if let Some(hash) = &entry.secret_hash {
        check_phc(hash).map_err(|e| format!("client {id:?}: secret_hash: {e}"))?;
    }
    let public = entry.secret_hash.is_none();
    for grant in &entry.grant_types {
        if public && !grant.allowed_for_public_clients() {
            return Err(format!(
                "client {id:?} is public (no secret_hash) and may not use the {} grant",
                grant.as_str()
            ));
        }
    }
    if entry.grant_types.is_empty() {
        return Err(format!("client {id:?}: grant_types is empty"));
    }
    for uri in entry
        .redirect_uris
        .iter()
        .chain(&entry.post_logout_redirect_uris)
    {
        let url = url::Url::parse(uri)
            .map_err(|e| format!("client {id:?}: redirect URI {uri:?} is not absolute: {e}"))?;
        if url.fragment().is_some() {
            return Err(format!(
                "client {id:?}: redirect URI {uri:?} has a fragment (RFC 6749 §3.1.2)"
            ));
        }
    }
    let redirects = entry.grant_types.iter().any(|g| g.uses_redirect());
    if redirects && entry.redirect_uris.is_empty() {
        return Err(format!(
            "client {id:?}: authorization_code and implicit need at least one redirect_uri"
        ));
    }
    for scope in &entry.scopes {
        if !is_scope_token(scope) {
            return Err(format!(
                "client {id:?}: {scope:?} is not a valid scope token"
            ));
        }
    }
    if let Some(ttl) = entry.access_token_ttl
        && !(1..=MAX_LIFETIME).contains(&ttl)
    {
        return Err(format!(
            "client {id:?}: access_token_ttl must be 1 to {MAX_LIFETIME} seconds"
        ));
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
        redirect_uris: entry.redirect_uris,
        grant_types: entry.grant_types,
        scopes: Scope::from_tokens(entry.scopes),
        audience,
        access_token_ttl: entry.access_token_ttl,
        post_logout_redirect_uris: entry.post_logout_redirect_uris,
    })
}

fn validate_user(entry: UserEntry) -> Result<User, String> {
    let username = entry.username.into_inner();
    if username.is_empty() || username.len() > 256 {
        return Err("username must be 1 to 256 characters".into());
    }
    check_phc(&entry.password_hash)
        .map_err(|e| format!("user {username:?}: password_hash: {e}"))?;
    if let Some(reserved) = entry
        .claims
        .keys()
        .find(|k| RESERVED_CLAIMS.contains(&k.as_str()))
    {
        return Err(format!(
            "user {username:?}: claim {reserved:?} is set by the service and may not be overridden"
        ));
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
fn check_phc(hash: &str) -> Result<(), String> {
    let parsed = argon2::PasswordHash::new(hash).map_err(|e| format!("not a PHC string: {e}"))?;
    if parsed.algorithm.as_str() != "argon2id" {
        return Err(format!("expected argon2id, found {}", parsed.algorithm));
    }
    argon2::Params::try_from(&parsed).map_err(|e| format!("bad argon2 parameters: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn an_unparsable_number_names_its_variable() {
        let error = Settings::from_vars(vars(&[("TS_ACCESS_TOKEN_TTL", "soon")])).unwrap_err();
        assert!(error.0.starts_with("TS_ACCESS_TOKEN_TTL: "), "{error}");
    }

    #[test]
    fn an_unparsable_address_names_its_variable() {
        let error = Settings::from_vars(vars(&[
            ("TS_ISSUER", "http://localhost:8080"),
            ("TS_LISTEN", "not-an-address"),
        ]))
        .unwrap_err();
        assert!(error.0.starts_with("TS_LISTEN: "), "{error}");
    }

    #[test]
    fn an_unknown_log_format_names_its_variable() {
        let error = Settings::from_vars(vars(&[("TS_LOG_FORMAT", "xml")])).unwrap_err();
        assert!(error.0.starts_with("TS_LOG_FORMAT: "), "{error}");
    }

    #[test]
    fn a_list_of_redis_urls_needs_cluster_or_sentinel() {
        let list = "redis://a:1,redis://b:2";
        let error = Settings::from_vars(vars(&[("TS_REDIS_URL", list)])).unwrap_err();
        assert!(error.0.starts_with("TS_REDIS_URL: "), "{error}");
        let sentinel = vars(&[("TS_REDIS_URL", list), ("TS_REDIS_SENTINEL", "mymaster")]);
        assert!(Settings::from_vars(sentinel).is_ok());
    }

    #[test]
    fn sentinel_and_cluster_exclude_each_other() {
        let error = Settings::from_vars(vars(&[
            ("TS_REDIS_URL", "redis://a:1,redis://b:2"),
            ("TS_REDIS_SENTINEL", "mymaster"),
            ("TS_REDIS_CLUSTER", "true"),
        ]))
        .unwrap_err();
        assert!(error.0.starts_with("TS_REDIS_SENTINEL: "), "{error}");
    }

    #[test]
    fn sentinel_needs_the_sentinels_urls() {
        let error = Settings::from_vars(vars(&[("TS_REDIS_SENTINEL", "mymaster")])).unwrap_err();
        assert!(error.0.starts_with("TS_REDIS_SENTINEL: "), "{error}");
    }

    #[test]
    fn waiting_for_replicas_needs_one_redis_or_sentinel() {
        for extra in [
            vec![("TS_REDIS_WAIT_REPLICAS", "1")],
            vec![
                ("TS_REDIS_WAIT_REPLICAS", "1"),
                ("TS_REDIS_URL", "redis://a:1,redis://b:2"),
                ("TS_REDIS_CLUSTER", "true"),
            ],
        ] {
            let error = Settings::from_vars(vars(&extra)).unwrap_err();
            assert!(error.0.starts_with("TS_REDIS_WAIT_REPLICAS: "), "{error}");
        }
        let single = vars(&[
            ("TS_REDIS_WAIT_REPLICAS", "1"),
            ("TS_REDIS_URL", "redis://a:1"),
        ]);
        assert!(Settings::from_vars(single).is_ok());
    }

    #[test]
    fn debug_redacts_the_redis_url() {
        let settings =
            Settings::from_vars(vars(&[("TS_REDIS_URL", "redis://:hunter2@redis:6379")])).unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("<redacted>"), "{debug}");
    }

    #[test]
    fn the_id_token_lifetime_defaults_to_five_minutes_and_must_be_positive() {
        let settings = Settings::from_vars(vars(&[])).unwrap();
        assert_eq!(settings.id_token_ttl, 300);
        let error = Settings::from_vars(vars(&[("TS_ID_TOKEN_TTL", "0")])).unwrap_err();
        assert!(error.0.starts_with("TS_ID_TOKEN_TTL: "), "{error}");
    }

    #[test]
    fn a_post_logout_redirect_uri_must_be_absolute() {
        let text = "[[clients]]\nid = \"app\"\ngrant_types = [\"implicit\"]\n\
                    redirect_uris = [\"https://app.example/cb\"]\n\
                    post_logout_redirect_uris = [\"/signed-out\"]\n";
        let settings = Settings::from_vars(vars(&[])).unwrap();
        let error = Config::parse(settings, Path::new("c.toml"), text).unwrap_err();
        assert!(error.0.contains("/signed-out"), "{error}");
    }

    #[test]
    fn post_logout_redirect_uris_are_kept_as_registered() {
        let text = "[[clients]]\nid = \"app\"\ngrant_types = [\"implicit\"]\n\
                    redirect_uris = [\"https://app.example/cb\"]\n\
                    post_logout_redirect_uris = [\"https://app.example/bye\"]\n";
        let settings = Settings::from_vars(vars(&[])).unwrap();
        let config = Config::parse(settings, Path::new("c.toml"), text).unwrap();
        let client = &config.clients["app"];
        assert_eq!(
            client.post_logout_redirect_uris,
            ["https://app.example/bye"]
        );
    }
}

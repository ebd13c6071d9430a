//! The `TS_*` settings, read from the environment with envy and validated once; `Debug`
//! redacts every secret (README, "Configuration").

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;

use crate::startup_error::StartupError;

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
    /// `TS_OTLP_ENDPOINT`: the base URL of an OTLP/HTTP collector (`http://collector:4318`):
    /// traces are exported to its `/v1/traces` when set, and not made at all when unset.
    otlp_endpoint: Option<String> = None;
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
    /// `TS_DPOP_NONCE`: DPoP proofs must carry a nonce this service issued (RFC 9449 §8;
    /// README, "DPoP").
    dpop_nonce: bool = false;
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
        if let Some(endpoint) = &self.otlp_endpoint {
            let url = url::Url::parse(endpoint)
                .map_err(|e| StartupError(format!("TS_OTLP_ENDPOINT: {e}")))?;
            if !matches!(url.scheme(), "http" | "https") {
                return Err(StartupError(
                    "TS_OTLP_ENDPOINT: an http:// or https:// URL".into(),
                ));
            }
        }
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

/// Leads an envy error with the variable the operator set: envy does not name it for every
/// error (an address or an enum that does not parse), so each `TS_` variable is read alone
/// until the one that fails is found.
fn envy_message(vars: &[(String, String)], message: &str) -> String {
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
}

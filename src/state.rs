//! The application state every handler gets: config, keys, store, clock, argon2 pool and
//! the client-secret cache, cheap to clone. Handlers pick from it what the domain functions
//! they call take; nothing below the handlers sees the whole state.

use std::ops::Deref;
use std::sync::Arc;

use crate::clients::ClientAuth;
use crate::clock::Clock;
use crate::config::Config;
use crate::id_token::IdTokens;
use crate::keys::KeySet;
use crate::metrics::Metrics;
use crate::password::{Argon2Pool, SecretCache};
use crate::sender::Dpop;
use crate::startup_error::StartupError;
use crate::store::{RefreshPolicy, Store};
use crate::token::Minter;
use crate::users::Login;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub keys: KeySet,
    pub store: Store,
    pub clock: Clock,
    pub argon2: Argon2Pool,
    pub secrets: SecretCache,
    /// Shared with the layer that counts each request.
    pub metrics: Arc<Metrics>,
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl AppState {
    pub fn new(
        config: Config,
        keys: KeySet,
        store: Store,
        clock: Clock,
    ) -> Result<Self, StartupError> {
        let metrics = Metrics::default();
        let signer = keys.signer();
        if let Some(created) = signer.created_at() {
            metrics.signing_key_created(&signer.kid, created);
        }
        let argon2 = Argon2Pool::new(
            config.password_hash_like.as_deref(),
            metrics.argon2_counter(),
        )
        .map_err(|e| StartupError(e.to_string()))?;
        let secrets = SecretCache::new(config.clients.keys());
        Ok(AppState(Arc::new(Shared {
            config,
            keys,
            store,
            clock,
            argon2,
            secrets,
            metrics: Arc::new(metrics),
        })))
    }
}

impl Shared {
    /// Access-token minting with the configured issuer and lifetime.
    pub fn minter(&self) -> Minter<'_> {
        let settings = &self.config.settings;
        Minter {
            keys: &self.keys,
            issuer: settings.issuer_base(),
            default_ttl: settings.access_token_ttl,
        }
    }

    /// OpenID Connect ID-token minting with the configured issuer and lifetime.
    pub fn id_tokens(&self) -> IdTokens<'_> {
        let settings = &self.config.settings;
        IdTokens {
            keys: &self.keys,
            issuer: settings.issuer_base(),
            ttl: settings.id_token_ttl,
        }
    }

    /// Client authentication against the configured clients (README, "Client
    /// authentication").
    pub fn client_auth(&self) -> ClientAuth<'_> {
        ClientAuth {
            clients: &self.config.clients,
            argon2: &self.argon2,
            secrets: &self.secrets,
            store: &self.store,
            issuer: self.config.settings.issuer_base(),
        }
    }

    /// Password login against the configured users, throttled in the store.
    pub fn login(&self) -> Login<'_> {
        Login {
            users: &self.config.users,
            store: &self.store,
            argon2: &self.argon2,
            max_failures: self.config.settings.login_max_failures,
            clock: &self.clock,
        }
    }

    /// DPoP proofs against the store and the keys' nonces.
    pub fn dpop(&self) -> Dpop<'_> {
        Dpop {
            store: &self.store,
            keys: &self.keys,
            nonces: self.config.settings.dpop_nonce,
        }
    }

    /// The URL of the endpoint at `path` from `TS_ISSUER`, as DPoP proofs name it (`htu`).
    pub fn endpoint_url(&self, path: &str) -> String {
        format!("{}{path}", self.config.settings.issuer_base())
    }

    pub fn refresh_policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            ttl: self.config.settings.refresh_token_ttl,
            reuse_grace: self.config.settings.refresh_reuse_grace,
        }
    }
}

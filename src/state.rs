//! The application state every handler gets: config, keys, store, clock, argon2 pool and
//! the client-secret cache; cheap to clone.

use std::ops::Deref;
use std::sync::Arc;

use crate::clients::SecretCache;
use crate::clock::Clock;
use crate::config::{Config, StartupError};
use crate::keys::KeySet;
use crate::metrics::Metrics;
use crate::password::Argon2Pool;
use crate::store::{RefreshPolicy, Store};

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub config: Config,
    pub keys: KeySet,
    pub store: Store,
    pub clock: Clock,
    pub argon2: Argon2Pool,
    pub secrets: SecretCache,
    pub metrics: Metrics,
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
        let like = config
            .users
            .values()
            .next()
            .map(|u| u.password_hash.as_str());
        let metrics = Metrics::default();
        let argon2 = Argon2Pool::new(like, metrics.argon2_counter()).map_err(StartupError::new)?;
        let secrets = SecretCache::new(config.clients.keys());
        Ok(AppState(Arc::new(Shared {
            config,
            keys,
            store,
            clock,
            argon2,
            secrets,
            metrics,
        })))
    }

    pub fn refresh_policy(&self) -> RefreshPolicy {
        RefreshPolicy {
            ttl: self.config.settings.refresh_token_ttl,
            reuse_grace: self.config.settings.refresh_reuse_grace,
        }
    }
}

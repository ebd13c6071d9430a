//! User login with a password: throttled per username in the store, argon2 on the pool,
//! the same failure for an unknown user and a wrong password. Used by the password grant
//! and the login form alike.

use std::sync::Arc;

use crate::clock::Clock;
use crate::failure::Failure;
use crate::password::Argon2Pool;
use crate::records::{User, Users};
use crate::store::{Attempt, Store};

/// Why a login failed; the two front doors (JSON grant, HTML form) each render it.
#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown username or wrong password: never says which.
    BadCredentials,
    /// Too many failures for this username (SPEC §8): whole seconds to wait, rounded up.
    Throttled(u64),
    /// The store or the argon2 pool could not serve the attempt.
    Failed(Failure),
}

impl<E: Into<Failure>> From<E> for LoginFailure {
    fn from(error: E) -> Self {
        LoginFailure::Failed(error.into())
    }
}

/// What a password login needs.
#[derive(Clone, Copy)]
pub struct Login<'a> {
    pub users: &'a Users,
    pub store: &'a Store,
    pub argon2: &'a Argon2Pool,
    /// `TS_LOGIN_MAX_FAILURES`.
    pub max_failures: u32,
    /// Read when an attempt starts and again when its failure is recorded, so a wait lasts
    /// its full length from that failure (SPEC §8).
    pub clock: &'a Clock,
}

impl Login<'_> {
    /// Checks `username` and `password`: the attempt is reserved first, atomically with the
    /// throttle check (no argon2 while throttled, no more guesses at once than failures may
    /// still happen), then the hash, then the outcome is recorded.
    pub async fn check(&self, username: &str, password: &str) -> Result<Arc<User>, LoginFailure> {
        let max = self.max_failures;
        if let Attempt::Throttled(wait) = self
            .store
            .reserve_login(username, self.clock.now_millis(), max)
            .await?
        {
            return Err(LoginFailure::Throttled(wait.div_ceil(1000).max(1)));
        }
        let user = self.users.get(username);
        let hash = user.map(|u| u.password_hash.as_str());
        let matches = match self.argon2.verify_password(hash, password).await {
            Ok(matches) => matches,
            Err(failure) => {
                self.store.login_released(username).await?;
                return Err(LoginFailure::Failed(failure));
            }
        };
        if matches && let Some(user) = user {
            self.store.login_succeeded(username).await?;
            return Ok(user.clone());
        }
        self.store
            .login_failed(username, self.clock.now_millis(), max)
            .await?;
        Err(LoginFailure::BadCredentials)
    }
}

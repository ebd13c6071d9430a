//! User login with a password: throttled per username in the store, argon2 on the pool,
//! the same failure for an unknown user and a wrong password. Used by the password grant
//! and the login form alike.

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::failure::Failure;
use crate::password::Argon2Pool;
use crate::records::{User, Users};
use crate::store::{RetryAfter, Store};

/// Why a login failed; the two front doors (JSON grant, HTML form) each render it.
#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown username or wrong password: never says which.
    BadCredentials,
    /// Too many failures for this username (SPEC §8).
    Throttled(RetryAfter),
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
}

impl Login<'_> {
    /// Checks `username` and `password`: throttle first (no argon2 while throttled), then the
    /// hash, then the failure count.
    pub async fn check(
        &self,
        username: &str,
        password: &str,
        now: UnixTime,
    ) -> Result<Arc<User>, LoginFailure> {
        if let Some(wait) = self.store.login_throttled(username, now).await? {
            return Err(LoginFailure::Throttled(wait));
        }
        let user = self.users.get(username);
        let hash = user.map(|u| u.password_hash.as_str());
        if self.argon2.verify(hash, password).await?
            && let Some(user) = user
        {
            self.store.login_succeeded(username).await?;
            return Ok(user.clone());
        }
        self.store
            .login_failed(username, now, self.max_failures)
            .await?;
        Err(LoginFailure::BadCredentials)
    }
}

//! User login with a password: throttled per username in the store, argon2 on the pool,
//! the same failure for an unknown user and a wrong password. Used by the password grant
//! and the login form alike.

use std::sync::Arc;

use crate::clock::UnixTime;
use crate::config::User;
use crate::error::OAuthError;
use crate::state::AppState;
use crate::store::RetryAfter;

/// Why a login failed; the two front doors (JSON grant, HTML form) each render it.
#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown username or wrong password: never says which.
    BadCredentials,
    /// Too many failures for this username (SPEC §8).
    Throttled(RetryAfter),
    /// The store or the argon2 pool could not serve the attempt.
    Unavailable(OAuthError),
}

impl From<OAuthError> for LoginFailure {
    fn from(error: OAuthError) -> Self {
        LoginFailure::Unavailable(error)
    }
}

/// Checks `username` and `password`: throttle first (no argon2 while throttled), then the
/// hash, then the failure count.
pub async fn login(
    state: &AppState,
    username: &str,
    password: &str,
    now: UnixTime,
) -> Result<Arc<User>, LoginFailure> {
    let store = &state.store;
    if let Some(wait) = store
        .login_throttled(username, now)
        .await
        .map_err(OAuthError::from)?
    {
        return Err(LoginFailure::Throttled(wait));
    }
    let user = state.config.user(username);
    let hash = user.map(|u| u.password_hash.as_str());
    if state.argon2.verify_password(hash, password).await?
        && let Some(user) = user
    {
        store
            .login_succeeded(username)
            .await
            .map_err(OAuthError::from)?;
        return Ok(user.clone());
    }
    let max = state.config.settings.login_max_failures;
    store
        .login_failed(username, now, max)
        .await
        .map_err(OAuthError::from)?;
    Err(LoginFailure::BadCredentials)
}

//! User login with a password: throttled per username in the store, argon2 on the pool,
//! the same failure for an unknown user and a wrong password. Used by the password grant
//! and the login form alike.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::Clock;
use crate::failure::Failure;
use crate::password::Argon2Pool;
use crate::records::{User, Users};
use crate::store::{Attempt, IN_FLIGHT_WAIT_MILLIS, Store};

/// How long an attempt waits for those in flight before it is throttled; far longer than an
/// argon2 verification, shorter than a reservation lapses (`RESERVATION_MILLIS`).
const IN_FLIGHT_MAX_WAIT: Duration = Duration::from_secs(3);
/// Polls of the store while waiting start this often and slow down to the last.
const IN_FLIGHT_FIRST_POLL: Duration = Duration::from_millis(5);
const IN_FLIGHT_LAST_POLL: Duration = Duration::from_millis(50);

/// Why a login failed; the two front doors (JSON grant, HTML form) each render it.
#[derive(Debug)]
pub enum LoginFailure {
    /// Unknown username or wrong password: never says which.
    BadCredentials,
    /// Too many failures for this username (docs/design.md, "Load, faults and bad input"): whole
    /// seconds to wait, rounded up.
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
    /// its full length from that failure (docs/design.md, "Load, faults and bad input").
    pub clock: &'a Clock,
}

impl Login<'_> {
    /// Checks `username` and `password`: the attempt is reserved first, atomically with the
    /// throttle check (no argon2 while throttled, no more guesses at once than failures may
    /// still happen), then the hash, then the outcome is recorded.
    pub async fn check(&self, username: &str, password: &str) -> Result<Arc<User>, LoginFailure> {
        let max = self.max_failures;
        self.reserve(username).await?;
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

    /// Reserves an attempt. One that finds as many attempts in flight as failures are left
    /// waits for them to settle, up to `IN_FLIGHT_MAX_WAIT`, and then runs or is throttled by
    /// what they came to: a burst of correct logins all succeed, and concurrent wrong guesses
    /// never outnumber the failures left (SECURITY.md, "Password grant throttling").
    async fn reserve(&self, username: &str) -> Result<(), LoginFailure> {
        let deadline = Instant::now() + IN_FLIGHT_MAX_WAIT;
        let mut pause = IN_FLIGHT_FIRST_POLL;
        loop {
            let now = self.clock.now_millis();
            match self
                .store
                .reserve_login(username, now, self.max_failures)
                .await?
            {
                Attempt::Reserved => return Ok(()),
                Attempt::Throttled(wait) => {
                    return Err(LoginFailure::Throttled(wait.div_ceil(1000).max(1)));
                }
                Attempt::Busy if Instant::now() + pause > deadline => {
                    return Err(LoginFailure::Throttled(
                        IN_FLIGHT_WAIT_MILLIS.div_ceil(1000),
                    ));
                }
                Attempt::Busy => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(IN_FLIGHT_LAST_POLL);
                }
            }
        }
    }
}

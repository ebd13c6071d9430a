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

#[cfg(test)]
mod tests {
    use prometheus_client::metrics::counter::Counter;

    use super::*;
    use crate::store::memory::MemoryStore;

    /// A PHC string with argon2's smallest parameters: the pool's dummy hash is cheap.
    const CHEAP: &str = "$argon2id$v=19$m=8,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    const MAX: u32 = 2;

    struct Parts {
        users: Users,
        store: Store,
        argon2: Argon2Pool,
        clock: Clock,
    }

    impl Parts {
        fn new() -> Self {
            Parts {
                users: Users::default(),
                store: Store::Memory(MemoryStore::new()),
                argon2: Argon2Pool::new(Some(CHEAP), Counter::default()).unwrap(),
                clock: Clock::manual(1_000_000),
            }
        }

        fn login(&self) -> Login<'_> {
            Login {
                users: &self.users,
                store: &self.store,
                argon2: &self.argon2,
                max_failures: MAX,
                clock: &self.clock,
            }
        }

        async fn hold_every_slot(&self) {
            for _ in 0..MAX {
                let now = self.clock.now_millis();
                let held = self.store.reserve_login("jsmith", now, MAX).await.unwrap();
                assert_eq!(held, Attempt::Reserved);
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_beyond_the_failures_left_waits_for_one_in_flight_to_settle() {
        let parts = Parts::new();
        parts.hold_every_slot().await;
        let login = parts.login();
        let waiting = login.reserve("jsmith");
        let settle = async {
            tokio::time::sleep(Duration::from_millis(200)).await;
            parts.store.login_released("jsmith").await.unwrap();
        };
        let (reserved, ()) = tokio::join!(waiting, settle);
        assert!(reserved.is_ok());
    }

    #[tokio::test(start_paused = true)]
    async fn an_attempt_still_crowded_out_after_the_bounded_wait_is_throttled_for_a_second() {
        let parts = Parts::new();
        parts.hold_every_slot().await;
        let started = Instant::now();
        let refused = parts.login().reserve("jsmith").await;
        assert!(
            matches!(refused, Err(LoginFailure::Throttled(1))),
            "{refused:?}"
        );
        assert!(
            started.elapsed() <= IN_FLIGHT_MAX_WAIT,
            "{:?}",
            started.elapsed()
        );
        assert!(started.elapsed() >= IN_FLIGHT_MAX_WAIT - IN_FLIGHT_LAST_POLL);
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_username_is_told_its_wait_at_once() {
        let parts = Parts::new();
        for _ in 0..MAX {
            let now = parts.clock.now_millis();
            parts.store.reserve_login("jsmith", now, MAX).await.unwrap();
            parts.store.login_failed("jsmith", now, MAX).await.unwrap();
        }
        let started = Instant::now();
        let refused = parts.login().reserve("jsmith").await;
        assert!(
            matches!(refused, Err(LoginFailure::Throttled(1))),
            "{refused:?}"
        );
        assert_eq!(started.elapsed(), Duration::ZERO);
    }
}

//! The store of refresh tokens, authorization codes, SSO sessions and failed-login counts,
//! speaking OAuth: every single-use step is atomic in the backend, every record expires.
//!
//! Only SHA-256 hashes of tokens, codes and session ids reach a backend (README, "What is stored").

mod health;
pub mod memory;
mod records;
pub mod redis;
mod throttle;

use std::fmt;

pub use self::health::{StoreHealth, StoreReport};
pub use self::records::{
    CodeRecord, CodeRedemption, Grant, Hashed, OnceKind, PushedRequest, RefreshInfo, RefreshPolicy,
    Rotate, Rotation, Session, TokenRef, refresh_info,
};
pub use self::throttle::{
    Attempt, IN_FLIGHT_WAIT_MILLIS, RESERVATION_MILLIS, THROTTLE_MAX_WAIT, THROTTLE_WINDOW,
    WaitMillis, attempts_allowed, throttle_wait,
};
use crate::clock::{UnixMillis, UnixTime};
use crate::failure::Failure;

/// Why the store could not answer.
#[derive(Debug)]
pub enum StoreError {
    /// Unreachable, or no answer in time: the request may be retried (docs/design.md, "Load, faults
    /// and bad input").
    Unavailable(String),
    /// A record that does not decode: a bug or tampering, never read as something else.
    Corrupt(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Unavailable(detail) => write!(f, "store unavailable: {detail}"),
            StoreError::Corrupt(detail) => write!(f, "store record corrupt: {detail}"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => Failure::Unavailable(error.to_string()),
            StoreError::Corrupt(_) => Failure::Internal(error.to_string()),
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The backends: one closed set, one `match` per operation. Built once and shared, so the
/// size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Store {
    Memory(memory::MemoryStore),
    Redis(redis::RedisStore),
}

macro_rules! dispatch {
    ($self:ident, $store:ident => $call:expr) => {
        match $self {
            Store::Memory($store) => $call,
            Store::Redis($store) => $call.await,
        }
    };
}

impl Store {
    /// Starts the family `token` names, with `token` (generation 0) as its first. `false` if
    /// the family was already revoked (its authorization code was replayed before the family
    /// was written).
    #[tracing::instrument(level = "debug", name = "store.create_family", skip_all)]
    pub async fn create_family(
        &self,
        token: TokenRef<'_>,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.create_family(token, grant, now, policy))
    }

    /// Decides on a presented token and writes what `rotation::decide` says, atomically, in one
    /// operation on the family's one record: no timeout, clock or undo enters the decision.
    #[tracing::instrument(level = "debug", name = "store.rotate_refresh", skip_all)]
    pub async fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        dispatch!(self, s => s.rotate_refresh(rotate, policy))
    }

    /// A live refresh token's grant, for introspection.
    #[tracing::instrument(level = "debug", name = "store.refresh_info", skip_all)]
    pub async fn refresh_info(
        &self,
        token: TokenRef<'_>,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        dispatch!(self, s => s.refresh_info(token, now))
    }

    /// Revokes the family of a refresh token issued to `client_id` (RFC 7009 §2.1); unknown
    /// tokens and other clients' tokens are left alone.
    #[tracing::instrument(level = "debug", name = "store.revoke_refresh", skip_all)]
    pub async fn revoke_refresh(&self, token: TokenRef<'_>, client_id: &str) -> StoreResult<()> {
        dispatch!(self, s => s.revoke_refresh(token, client_id))
    }

    /// A family's record in its stored form (`rotation::Record::encode`), for fault drills:
    /// with [`Store::restore_family`] a test or an operator's rehearsal puts back an earlier
    /// record, as a failover that lost writes does.
    pub async fn family_snapshot(&self, family: &str) -> StoreResult<Option<String>> {
        dispatch!(self, s => s.family_snapshot(family))
    }

    /// Puts back a record [`Store::family_snapshot`] returned; `None` removes the family.
    pub async fn restore_family(&self, family: &str, snapshot: Option<&str>) -> StoreResult<()> {
        dispatch!(self, s => s.restore_family(family, snapshot))
    }

    /// Stores an authorization code for `ttl` seconds.
    #[tracing::instrument(level = "debug", name = "store.put_code", skip_all)]
    pub async fn put_code(&self, code: &Hashed, record: &CodeRecord, ttl: u64) -> StoreResult<()> {
        dispatch!(self, s => s.put_code(code, record, ttl))
    }

    /// Spends a code issued to `client_id` and binds it to the refresh family that will be issued
    /// from it; a second redemption revokes that family (README, "What is stored"). Another
    /// client's code is `Unknown` and left as it was, so no client can burn another's code.
    #[tracing::instrument(level = "debug", name = "store.redeem_code", skip_all)]
    pub async fn redeem_code(
        &self,
        code: &Hashed,
        client_id: &str,
        family: &str,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<CodeRedemption> {
        dispatch!(self, s => s.redeem_code(code, client_id, family, now, policy))
    }

    /// Makes a code spent for `family` spendable again: its tokens could not be answered
    /// (their family was not stored), so the client's retry must not count as a replay.
    /// Best effort: a failure is logged.
    pub async fn release_code(&self, code: &Hashed, family: &str) {
        dispatch!(self, s => s.release_code(code, family))
    }

    /// Spends a single-use identifier (a client assertion's or a DPoP proof's `jti`, hashed with
    /// what it is unique to) until `until`: `true` the first time, `false` for a replay while it
    /// is remembered, at every replica. No replica acknowledgement is awaited: a failover that
    /// loses the write reopens the identifier for at most its short life (docs/design.md,
    /// "Single-use identifiers").
    #[tracing::instrument(level = "debug", name = "store.spend_once", skip_all)]
    pub async fn spend_once(
        &self,
        kind: OnceKind,
        id: &Hashed,
        until: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.spend_once(kind, id, until, now))
    }

    /// Keeps a pushed authorization request under its `request_uri`'s hash for `ttl` seconds.
    #[tracing::instrument(level = "debug", name = "store.put_pushed", skip_all)]
    pub async fn put_pushed(
        &self,
        id: &Hashed,
        request: &PushedRequest,
        ttl: u64,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.put_pushed(id, request, ttl))
    }

    /// Takes a pushed authorization request: it is gone after the first call, whatever the
    /// caller then finds wrong with it (RFC 9126 §4: single use). Expired: `None`.
    #[tracing::instrument(level = "debug", name = "store.take_pushed", skip_all)]
    pub async fn take_pushed(
        &self,
        id: &Hashed,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>> {
        dispatch!(self, s => s.take_pushed(id, now))
    }

    #[tracing::instrument(level = "debug", name = "store.put_session", skip_all)]
    pub async fn put_session(&self, id: &Hashed, session: &Session, ttl: u64) -> StoreResult<()> {
        dispatch!(self, s => s.put_session(id, session, ttl))
    }

    #[tracing::instrument(level = "debug", name = "store.session", skip_all)]
    pub async fn session(&self, id: &Hashed, now: UnixTime) -> StoreResult<Option<Session>> {
        dispatch!(self, s => s.session(id, now))
    }

    #[tracing::instrument(level = "debug", name = "store.delete_session", skip_all)]
    pub async fn delete_session(&self, id: &Hashed) -> StoreResult<()> {
        dispatch!(self, s => s.delete_session(id))
    }

    /// Reserves a login attempt for `username`, atomically with the throttle check (docs/design.md,
    /// "Load, faults and bad input"): no more attempts run at once than failures may still happen
    /// before the wait.
    #[tracing::instrument(level = "debug", name = "store.reserve_login", skip_all)]
    pub async fn reserve_login(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<Attempt> {
        dispatch!(self, s => s.reserve_login(username, now, max_failures))
    }

    /// Counts a failed login for `username` at `now` (the moment it is known, so the wait it
    /// sets lasts its full length) and settles its reservation.
    #[tracing::instrument(level = "debug", name = "store.login_failed", skip_all)]
    pub async fn login_failed(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.login_failed(username, now, max_failures))
    }

    /// A successful login resets the count (and every reservation).
    #[tracing::instrument(level = "debug", name = "store.login_succeeded", skip_all)]
    pub async fn login_succeeded(&self, username: &str) -> StoreResult<()> {
        dispatch!(self, s => s.login_succeeded(username))
    }

    /// Settles a reservation whose attempt could not be checked (argon2 pool full).
    #[tracing::instrument(level = "debug", name = "store.login_released", skip_all)]
    pub async fn login_released(&self, username: &str) -> StoreResult<()> {
        dispatch!(self, s => s.login_released(username))
    }

    pub async fn health(&self) -> StoreReport {
        match self {
            Store::Memory(_) => StoreReport::of(StoreHealth::Memory),
            Store::Redis(s) => s.health().await,
        }
    }
}

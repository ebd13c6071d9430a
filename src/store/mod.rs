//! The store of refresh tokens, authorization codes, SSO sessions and failed-login counts,
//! speaking OAuth: every single-use step is atomic in the backend, every record expires.
//!
//! Only SHA-256 hashes of tokens, codes and session ids reach a backend (README, "What is stored").

pub mod memory;
pub mod redis;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::clock::{UnixMillis, UnixTime};
use crate::failure::Failure;
use crate::scope::Scope;

/// base64url SHA-256 of a token, code or session id: the only form a backend sees.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Hashed(String);

impl Hashed {
    pub fn of(secret: &str) -> Self {
        Hashed(crate::token::sha256_b64(secret.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A refresh token as the store sees it (`refresh_token` makes and verifies them): its family, its
/// generation, and the digest of the token, never the token (docs/design.md, "Refresh tokens").
#[derive(Clone, Copy, Debug)]
pub struct TokenRef<'a> {
    /// base64url of the family id, 22 characters.
    pub family: &'a str,
    pub generation: u32,
    pub digest: &'a str,
}

/// What a refresh-token family or an authorization code grants: who, to which client, what.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Grant {
    pub client_id: String,
    /// The user's username, or `None` for a client acting for itself (client_credentials).
    pub username: Option<String>,
    pub scope: Scope,
    pub auth_time: Option<UnixTime>,
}

/// A one-time authorization code's binding (README, "What is stored").
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CodeRecord {
    pub grant: Grant,
    /// The redirect_uri sent to /authorize, if one was (RFC 6749 §4.1.3).
    pub redirect_uri: Option<String>,
    /// PKCE S256 challenge (RFC 7636).
    pub code_challenge: Option<String>,
    /// The OpenID Connect `nonce` sent to /authorize, for the ID token /token returns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    /// The SSO session the code was issued in (the ID token's `sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub expires_at: UnixTime,
}

/// An SSO login session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub username: String,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
    /// A stable, non-secret id of the session (the ID token's `sid`); not the cookie's value.
    #[serde(default)]
    pub sid: String,
}

/// A request to rotate a refresh token (`rotation::decide`).
#[derive(Debug)]
pub struct Rotate<'a> {
    pub presented: TokenRef<'a>,
    /// The digest of the presented token's successor, the one token its rotation yields.
    pub successor: &'a str,
    pub client_id: &'a str,
    /// A narrower scope for this access token, checked against the family's (RFC 6749 §6).
    pub scope: Option<&'a Scope>,
    pub now: UnixTime,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live, or ahead of a record that lost writes, or consumed within the grace
    /// window: its successor is the live token now.
    Rotated(Grant),
    /// The token was used before: the whole family is now revoked (RFC 9700 §4.14).
    Reused,
    /// Unknown, expired, revoked, or another client's.
    Invalid,
    /// The requested scope is not within the family's scope; nothing was consumed.
    ScopeExceeded,
}

/// The outcome of redeeming an authorization code.
#[derive(Debug, PartialEq, Eq)]
pub enum CodeRedemption {
    /// First use: the code is now spent and bound to the refresh family `family`.
    Redeemed(CodeRecord),
    /// The code was redeemed before; the family issued from it has been revoked.
    Replayed,
    /// No such code (never issued, or expired).
    Unknown,
}

/// A live refresh token as introspection reports it.
#[derive(Debug, PartialEq, Eq)]
pub struct RefreshInfo {
    pub grant: Grant,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// A live refresh token's grant and times, for introspection: the record's live token, or one
/// ahead of it (issued, and accepted at its next use: `rotation::decide`).
pub fn refresh_info(
    record: &crate::rotation::Record,
    grant: &Grant,
    token: TokenRef<'_>,
    now: UnixTime,
) -> Option<RefreshInfo> {
    let live = token.generation > record.generation
        || (token.generation == record.generation && token.digest == record.live);
    (live && !record.revoked && now < record.expires_at).then(|| RefreshInfo {
        grant: grant.clone(),
        issued_at: record.rotated_at,
        expires_at: record.expires_at,
    })
}

/// How long a username must wait before its next login attempt, in milliseconds.
pub type WaitMillis = u64;

/// The answer to "may this username try a password now?" (docs/design.md, "Load, faults and bad
/// input").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// Reserved: one attempt is in flight until `login_failed`, `login_succeeded` or
    /// `login_released` settles it (or `RESERVATION_MILLIS` pass).
    Reserved,
    /// Throttled by failures: no attempt before the wait is over.
    Throttled(WaitMillis),
    /// As many attempts in flight as failures may still happen: one may start once one of
    /// them settles.
    Busy,
}

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

/// Failed-login throttling (docs/design.md, "Load, faults and bad input"): waits double from 1 s up
/// to 5 minutes.
pub const THROTTLE_MAX_WAIT: u64 = 300;
/// A failure count is forgotten after this long without failures (seconds).
pub const THROTTLE_WINDOW: u64 = 900;
/// A reservation left unsettled (a process that died mid-attempt) lapses after this long:
/// longer than an attempt's queueing and argon2 time.
pub const RESERVATION_MILLIS: u64 = 10_000;
/// What an attempt that found others in flight for longer than it may wait for them is told
/// to wait.
pub const IN_FLIGHT_WAIT_MILLIS: u64 = 1_000;

/// How many attempts may run at once: the failures left before the limit, or one at a time
/// once it was reached (each further failure doubles the wait).
pub fn attempts_allowed(failures: u64, max_failures: u64) -> u64 {
    max_failures.saturating_sub(failures).max(1)
}

/// The wait after the `failures`-th consecutive failure, or 0 while under the limit.
pub fn throttle_wait(failures: u64, max_failures: u64) -> u64 {
    if failures < max_failures {
        return 0;
    }
    let doublings = (failures - max_failures).min(16);
    (1u64 << doublings).min(THROTTLE_MAX_WAIT)
}

#[cfg(test)]
mod tests {
    use super::{StoreHealth, StoreReport, THROTTLE_MAX_WAIT, attempts_allowed, throttle_wait};

    fn replicated(replicas: u32, wait_replicas: u32) -> StoreReport {
        StoreReport {
            replicas: Some(replicas),
            wait_replicas,
            ..StoreReport::of(StoreHealth::Up)
        }
    }

    #[test]
    fn waiting_for_every_replica_or_for_none_is_no_warning() {
        assert_eq!(replicated(2, 2).replication_warning(), None);
        assert_eq!(replicated(2, 0).replication_warning(), None);
        assert_eq!(
            StoreReport::of(StoreHealth::Down).replication_warning(),
            None
        );
    }

    #[test]
    fn more_replicas_than_a_write_waits_for_is_a_warning_naming_the_setting() {
        let warning = replicated(2, 1).replication_warning().unwrap();
        assert!(
            warning.contains("set TS_REDIS_WAIT_REPLICAS to 2"),
            "{warning}"
        );
    }

    #[test]
    fn fewer_replicas_than_a_write_waits_for_is_a_warning_that_writes_fail() {
        let warning = replicated(1, 2).replication_warning().unwrap();
        assert!(
            warning.contains("answers 503 until enough replicas are back; refresh goes on"),
            "{warning}"
        );
    }

    #[test]
    fn there_is_no_wait_below_the_limit() {
        assert_eq!(throttle_wait(0, 5), 0);
        assert_eq!(throttle_wait(4, 5), 0);
    }

    #[test]
    fn the_wait_doubles_from_one_second_at_the_limit() {
        let waits: Vec<u64> = (5..10).map(|n| throttle_wait(n, 5)).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
    }

    #[test]
    fn attempts_in_flight_are_bounded_by_the_failures_left() {
        assert_eq!(attempts_allowed(0, 5), 5);
        assert_eq!(attempts_allowed(3, 5), 2);
        assert_eq!(attempts_allowed(5, 5), 1);
        assert_eq!(attempts_allowed(9, 5), 1);
    }

    #[test]
    fn the_wait_stops_at_five_minutes_however_many_failures() {
        assert_eq!(throttle_wait(14, 5), 300);
        assert_eq!(throttle_wait(u64::MAX, 5), THROTTLE_MAX_WAIT);
    }
}

/// Lifetimes of the records a grant writes.
#[derive(Clone, Copy, Debug)]
pub struct RefreshPolicy {
    pub ttl: u64,
    /// `TS_REFRESH_REUSE_GRACE`: how long a consumed token may be used again.
    pub reuse_grace: u64,
}

/// The backends: one closed set, one `match` per operation. Built once and shared, so the
/// size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Store {
    Memory(memory::MemoryStore),
    Redis(redis::RedisStore),
}

/// What `/readyz` reports.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum StoreHealth {
    Memory,
    Up,
    Down,
}

impl StoreHealth {
    pub fn as_str(self) -> &'static str {
        match self {
            StoreHealth::Memory => "memory",
            StoreHealth::Up => "up",
            StoreHealth::Down => "down",
        }
    }
}

/// What `/readyz` and start-up report of the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreReport {
    pub health: StoreHealth,
    /// Redis's `maxmemory-policy`, when Redis answered.
    pub maxmemory_policy: Option<String>,
    /// The replicas of the Redis primary (`connected_slaves`), when Redis answered.
    pub replicas: Option<u32>,
    /// `TS_REDIS_WAIT_REPLICAS`.
    pub wait_replicas: u32,
}

impl StoreReport {
    pub fn of(health: StoreHealth) -> Self {
        StoreReport {
            health,
            maxmemory_policy: None,
            replicas: None,
            wait_replicas: 0,
        }
    }

    /// What is wrong when the primary's replicas are not the number every write that waits
    /// waits for: fewer, and those writes answer 503; more, and a failover to a replica that
    /// did not acknowledge one loses it. Rotations wait for none and lose nothing that
    /// matters (`rotation`).
    pub fn replication_warning(&self) -> Option<String> {
        let (replicas, wait) = (self.replicas?, self.wait_replicas);
        if wait == 0 || replicas == wait {
            return None;
        }
        Some(if replicas < wait {
            format!(
                "the Redis primary has {replicas} replicas and TS_REDIS_WAIT_REPLICAS is {wait}: \
                 every write that waits for them (logins, codes, sessions, revocations, new refresh families) answers 503 until enough replicas are back; refresh goes on"
            )
        } else {
            format!(
                "the Redis primary has {replicas} replicas and TS_REDIS_WAIT_REPLICAS is {wait}: \
                 a failover to a replica that did not acknowledge a code redemption, session or \
                 revocation loses it; set TS_REDIS_WAIT_REPLICAS to {replicas}"
            )
        })
    }

    /// Whether Redis may evict the service's keys: any policy but `noeviction` (every key
    /// has a TTL, so the `volatile-*` policies evict them too).
    pub fn evicts(&self) -> bool {
        self.maxmemory_policy
            .as_deref()
            .is_some_and(|policy| policy != "noeviction")
    }
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
    pub async fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        dispatch!(self, s => s.rotate_refresh(rotate, policy))
    }

    /// A live refresh token's grant, for introspection.
    pub async fn refresh_info(
        &self,
        token: TokenRef<'_>,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        dispatch!(self, s => s.refresh_info(token, now))
    }

    /// Revokes the family of a refresh token issued to `client_id` (RFC 7009 §2.1); unknown
    /// tokens and other clients' tokens are left alone.
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
    pub async fn put_code(&self, code: &Hashed, record: &CodeRecord, ttl: u64) -> StoreResult<()> {
        dispatch!(self, s => s.put_code(code, record, ttl))
    }

    /// Spends a code issued to `client_id` and binds it to the refresh family that will be issued
    /// from it; a second redemption revokes that family (README, "What is stored"). Another
    /// client's code is `Unknown` and left as it was, so no client can burn another's code.
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

    pub async fn put_session(&self, id: &Hashed, session: &Session, ttl: u64) -> StoreResult<()> {
        dispatch!(self, s => s.put_session(id, session, ttl))
    }

    pub async fn session(&self, id: &Hashed, now: UnixTime) -> StoreResult<Option<Session>> {
        dispatch!(self, s => s.session(id, now))
    }

    pub async fn delete_session(&self, id: &Hashed) -> StoreResult<()> {
        dispatch!(self, s => s.delete_session(id))
    }

    /// Reserves a login attempt for `username`, atomically with the throttle check (docs/design.md,
    /// "Load, faults and bad input"): no more attempts run at once than failures may still happen
    /// before the wait.
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
    pub async fn login_failed(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<()> {
        dispatch!(self, s => s.login_failed(username, now, max_failures))
    }

    /// A successful login resets the count (and every reservation).
    pub async fn login_succeeded(&self, username: &str) -> StoreResult<()> {
        dispatch!(self, s => s.login_succeeded(username))
    }

    /// Settles a reservation whose attempt could not be checked (argon2 pool full).
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

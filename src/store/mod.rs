//! The store of refresh tokens, authorization codes, SSO sessions and failed-login counts,
//! speaking OAuth: every single-use step is atomic in the backend, every record expires.
//!
//! Only SHA-256 hashes of tokens, codes and session ids reach a backend (SPEC §7).

pub mod memory;
pub mod redis;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SecureRandom;
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

/// A refresh token as the store knows it: the family it names and the hash of its secret
/// (SPEC §7). On the wire a token is base64url of the 128-bit family id followed by the
/// 256-bit secret, so no lookup key per token is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// base64url of the family id, 22 characters.
    pub family: String,
    pub secret: Hashed,
}

const FAMILY_BYTES: usize = 16;
const SECRET_BYTES: usize = 32;

impl RefreshToken {
    /// Reads a token off the wire; `None` if it cannot be one of ours.
    pub fn parse(token: &str) -> Option<Self> {
        let bytes = B64.decode(token).ok()?;
        if bytes.len() != FAMILY_BYTES + SECRET_BYTES {
            return None;
        }
        let (family, secret) = bytes.split_at(FAMILY_BYTES);
        Some(RefreshToken {
            family: B64.encode(family),
            secret: Hashed(crate::token::sha256_b64(secret)),
        })
    }

    /// A new family id.
    pub fn new_family(rng: &dyn SecureRandom) -> Result<String, Failure> {
        crate::token::random_b64::<FAMILY_BYTES>(rng)
    }

    /// A new token of `family`: the wire form for the client, and what the store keeps.
    pub fn issue(rng: &dyn SecureRandom, family: &str) -> Result<(String, Self), Failure> {
        let family_bytes = B64
            .decode(family)
            .ok()
            .filter(|b| b.len() == FAMILY_BYTES)
            .ok_or_else(|| Failure::internal("malformed refresh-token family id"))?;
        let mut secret = [0u8; SECRET_BYTES];
        rng.fill(&mut secret)
            .map_err(|_| Failure::internal("random generator failed"))?;
        let mut wire = family_bytes;
        wire.extend_from_slice(&secret);
        let token = RefreshToken {
            family: family.to_owned(),
            secret: Hashed(crate::token::sha256_b64(&secret)),
        };
        Ok((B64.encode(wire), token))
    }
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

/// A one-time authorization code's binding (SPEC §7).
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

/// A request to rotate a refresh token.
#[derive(Debug)]
pub struct Rotate<'a> {
    pub old: &'a RefreshToken,
    /// The successor's secret, in the same family.
    pub new: &'a Hashed,
    pub client_id: &'a str,
    /// A narrower scope for this access token, checked against the family's (RFC 6749 §6).
    pub scope: Option<&'a Scope>,
    pub now: UnixTime,
}

/// The outcome of presenting a refresh token for rotation.
#[derive(Debug, PartialEq, Eq)]
pub enum Rotation {
    /// The token was live (or used within the grace window); the new token is now live.
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

/// How long a username must wait before its next login attempt, in milliseconds.
pub type WaitMillis = u64;

/// The answer to "may this username try a password now?" (SPEC §8).
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
    /// Unreachable, or no answer in time: the request may be retried (SPEC §8).
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

/// Failed-login throttling (SPEC §8): waits double from 1 s up to 5 minutes.
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
    use super::{
        RefreshToken, StoreHealth, StoreReport, THROTTLE_MAX_WAIT, attempts_allowed, throttle_wait,
    };

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
        assert!(warning.contains("every write answers 503"), "{warning}");
    }

    #[test]
    fn a_refresh_token_names_its_family_and_hides_its_secret() {
        let rng = ring::rand::SystemRandom::new();
        let family = RefreshToken::new_family(&rng).unwrap();
        let (wire, token) = RefreshToken::issue(&rng, &family).unwrap();
        assert_eq!(wire.len(), 64);
        assert_eq!(RefreshToken::parse(&wire), Some(token.clone()));
        assert_eq!(token.family, family);
        assert!(!wire.contains(token.secret.as_str()));
        let (other, _) = RefreshToken::issue(&rng, &family).unwrap();
        assert_eq!(&other[..21], &wire[..21], "same family id");
        assert_ne!(other, wire);
    }

    #[test]
    fn anything_but_48_base64url_bytes_is_not_a_refresh_token() {
        assert_eq!(RefreshToken::parse(""), None);
        assert_eq!(RefreshToken::parse(&"A".repeat(63)), None);
        assert_eq!(RefreshToken::parse(&"A".repeat(65)), None);
        assert_eq!(RefreshToken::parse(&"!".repeat(64)), None);
        assert!(RefreshToken::parse(&"A".repeat(64)).is_some());
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

    /// What is wrong when the primary's replicas are not the number every write waits for
    /// (SPEC §10): fewer, and every write answers 503; more, and a failover to a replica that
    /// did not acknowledge an answered write loses it.
    pub fn replication_warning(&self) -> Option<String> {
        let (replicas, wait) = (self.replicas?, self.wait_replicas);
        if wait == 0 || replicas == wait {
            return None;
        }
        Some(if replicas < wait {
            format!(
                "the Redis primary has {replicas} replicas and TS_REDIS_WAIT_REPLICAS is {wait}: \
                 every write answers 503 until enough replicas are back"
            )
        } else {
            format!(
                "the Redis primary has {replicas} replicas and TS_REDIS_WAIT_REPLICAS is {wait}: \
                 a failover to a replica that did not acknowledge an answered rotation loses \
                 it, and its client's next refresh is taken for reuse; set \
                 TS_REDIS_WAIT_REPLICAS to {replicas}"
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
    /// Starts the family `token` names, with `token` as its first. `false` if the family was
    /// already revoked (its authorization code was replayed before the family was written).
    pub async fn create_family(
        &self,
        token: &RefreshToken,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        dispatch!(self, s => s.create_family(token, grant, now, policy))
    }

    /// Consumes `old` and makes `new` live in the same family, atomically (SPEC §7), if the
    /// token is `client_id`'s and `scope` (when asked for) is within the family's scope.
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
        token: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        dispatch!(self, s => s.refresh_info(token, now))
    }

    /// Revokes the family of a refresh token issued to `client_id` (RFC 7009 §2.1); unknown
    /// tokens and other clients' tokens are left alone.
    pub async fn revoke_refresh(&self, token: &RefreshToken, client_id: &str) -> StoreResult<()> {
        dispatch!(self, s => s.revoke_refresh(token, client_id))
    }

    /// Stores an authorization code for `ttl` seconds.
    pub async fn put_code(&self, code: &Hashed, record: &CodeRecord, ttl: u64) -> StoreResult<()> {
        dispatch!(self, s => s.put_code(code, record, ttl))
    }

    /// Spends a code issued to `client_id` and binds it to the refresh family that will be
    /// issued from it; a second redemption revokes that family (SPEC §7). Another client's
    /// code is `Unknown` and left as it was, so no client can burn another's code.
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

    /// Reserves a login attempt for `username`, atomically with the throttle check (SPEC
    /// §8): no more attempts run at once than failures may still happen before the wait.
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

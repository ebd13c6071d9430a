//! The embedded store: one process, for development and demos. A mutex makes every
//! operation atomic; records expire by the time passed in, and are swept as writes go by.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{
    Attempt, CodeRecord, CodeRedemption, Grant, Hashed, OnceKind, PushedRequest,
    RESERVATION_MILLIS, RefreshInfo, RefreshPolicy, Rotate, Rotation, Session, StoreError,
    StoreResult, THROTTLE_WINDOW, TokenRef, attempts_allowed, refresh_info, throttle_wait,
};
use crate::clock::{UnixMillis, UnixTime};
use crate::rotation::{self, Decision, Presented, Record};

/// Sweep expired records once per this many writes.
const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    families: HashMap<String, Family>,
    codes: HashMap<Hashed, Code>,
    sessions: HashMap<Hashed, Session>,
    logins: HashMap<String, LoginFailures>,
    /// Spent single-use identifiers, until when they are remembered.
    spent: HashMap<(OnceKind, Hashed), UnixTime>,
    pushed: HashMap<Hashed, PushedRequest>,
    writes: u64,
}

/// One record per refresh-token family, as on Redis: its size does not grow with rotations.
#[derive(Clone)]
struct Family {
    record: Record,
    /// `None` for a tombstone: revoked before it was created (a replayed code).
    grant: Option<Grant>,
}

impl Family {
    fn tombstone(expires_at: UnixTime) -> Self {
        Family {
            record: Record::tombstone(expires_at),
            grant: None,
        }
    }
}

struct Code {
    record: CodeRecord,
    redeemed_by: Option<String>,
    /// Until the code's expiry; once redeemed, as long as the family it started may live,
    /// so that a replay at any time revokes it (README, "What is stored").
    retain_until: UnixTime,
}

/// Failed logins of one username; times in milliseconds.
#[derive(Default)]
struct LoginFailures {
    failures: u64,
    locked_until: UnixMillis,
    last_failure: UnixMillis,
    in_flight: u64,
    in_flight_until: UnixMillis,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> StoreResult<MutexGuard<'_, Inner>> {
        self.inner
            .lock()
            .map_err(|_| StoreError::Corrupt("memory store lock poisoned".into()))
    }

    pub fn create_family(
        &self,
        token: TokenRef<'_>,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        if inner.families.contains_key(token.family) {
            return Ok(false);
        }
        let family = Family {
            record: Record::first(token.generation, token.digest, now, policy.ttl),
            grant: Some(grant.clone()),
        };
        inner.families.insert(token.family.to_owned(), family);
        Ok(true)
    }

    /// `rotation::decide` on the family's record, and its outcome written, under one lock.
    pub fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        let now = rotate.now;
        let mut inner = self.lock()?;
        inner.wrote(now);
        let Some(Family {
            record,
            grant: Some(grant),
        }) = inner.families.get_mut(rotate.presented.family)
        else {
            return Ok(Rotation::Invalid);
        };
        let presented = Presented {
            generation: rotate.presented.generation,
            digest: rotate.presented.digest,
            successor: rotate.successor,
            client_matches: grant.client_id == rotate.client_id
                && grant
                    .jkt
                    .as_deref()
                    .is_none_or(|bound| Some(bound) == rotate.jkt),
            scope_within: rotation::scope_within(rotate.scope, &grant.scope),
        };
        Ok(
            match rotation::decide(record, &presented, now, policy.reuse_grace) {
                Decision::Rotate => {
                    *record = Record::rotated(&presented, now, policy.ttl);
                    Rotation::Rotated(grant.clone())
                }
                Decision::Repeat => Rotation::Rotated(grant.clone()),
                Decision::Reuse => {
                    record.revoked = true;
                    Rotation::Reused
                }
                Decision::Invalid => Rotation::Invalid,
                Decision::ScopeExceeded => Rotation::ScopeExceeded,
            },
        )
    }

    pub fn refresh_info(
        &self,
        token: TokenRef<'_>,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        let inner = self.lock()?;
        Ok(inner
            .families
            .get(token.family)
            .and_then(|family| refresh_info(&family.record, family.grant.as_ref()?, token, now)))
    }

    pub fn revoke_refresh(&self, token: TokenRef<'_>, client_id: &str) -> StoreResult<()> {
        let mut inner = self.lock()?;
        if let Some(family) = inner.families.get_mut(token.family)
            && family
                .grant
                .as_ref()
                .is_some_and(|g| g.client_id == client_id)
        {
            family.record.revoked = true;
        }
        Ok(())
    }

    /// The family's record in its stored form, as a Redis `GET` of its key would return it:
    /// for fault drills, which put back an earlier one as a failover that lost writes does.
    pub fn family_snapshot(&self, family: &str) -> StoreResult<Option<String>> {
        let inner = self.lock()?;
        Ok(inner.families.get(family).and_then(|f| {
            let grant = serde_json::to_string(f.grant.as_ref()?).ok()?;
            Some(f.record.encode(&grant))
        }))
    }

    /// Puts back a record [`Self::family_snapshot`] returned (`None`: the family is gone).
    pub fn restore_family(&self, family: &str, snapshot: Option<&str>) -> StoreResult<()> {
        let mut inner = self.lock()?;
        let Some(snapshot) = snapshot else {
            inner.families.remove(family);
            return Ok(());
        };
        let (record, grant) =
            Record::parse(snapshot).ok_or_else(|| StoreError::Corrupt("family snapshot".into()))?;
        let grant = serde_json::from_str(grant)
            .map_err(|e| StoreError::Corrupt(format!("family snapshot grant: {e}")))?;
        let restored = Family {
            record,
            grant: Some(grant),
        };
        inner.families.insert(family.to_owned(), restored);
        Ok(())
    }

    pub fn put_code(&self, code: &Hashed, record: &CodeRecord, _ttl: u64) -> StoreResult<()> {
        let mut inner = self.lock()?;
        inner.codes.insert(
            code.clone(),
            Code {
                record: record.clone(),
                redeemed_by: None,
                retain_until: record.expires_at,
            },
        );
        Ok(())
    }

    pub fn redeem_code(
        &self,
        code: &Hashed,
        client_id: &str,
        family: &str,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<CodeRedemption> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        let Some(entry) = inner
            .codes
            .get_mut(code)
            .filter(|c| c.retain_until > now && c.record.grant.client_id == client_id)
        else {
            return Ok(CodeRedemption::Unknown);
        };
        match entry.redeemed_by.clone() {
            None if entry.record.expires_at <= now => Ok(CodeRedemption::Unknown),
            None => {
                entry.redeemed_by = Some(family.to_owned());
                entry.retain_until = now + policy.ttl;
                Ok(CodeRedemption::Redeemed(entry.record.clone()))
            }
            Some(issued) => {
                inner
                    .families
                    .entry(issued)
                    .and_modify(|f| f.record.revoked = true)
                    .or_insert_with(|| Family::tombstone(now + policy.ttl));
                Ok(CodeRedemption::Replayed)
            }
        }
    }

    pub fn release_code(&self, code: &Hashed, family: &str) {
        let Ok(mut inner) = self.lock() else {
            return;
        };
        if let Some(entry) = inner.codes.get_mut(code)
            && entry.redeemed_by.as_deref() == Some(family)
        {
            entry.redeemed_by = None;
            entry.retain_until = entry.record.expires_at;
        }
    }

    pub fn spend_once(
        &self,
        kind: OnceKind,
        id: &Hashed,
        until: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        let key = (kind, id.clone());
        if inner.spent.get(&key).is_some_and(|&kept| kept > now) {
            return Ok(false);
        }
        inner.spent.insert(key, until);
        Ok(true)
    }

    pub fn put_pushed(&self, id: &Hashed, request: &PushedRequest, _ttl: u64) -> StoreResult<()> {
        let mut inner = self.lock()?;
        inner.pushed.insert(id.clone(), request.clone());
        Ok(())
    }

    pub fn take_pushed(&self, id: &Hashed, now: UnixTime) -> StoreResult<Option<PushedRequest>> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        Ok(inner.pushed.remove(id).filter(|r| r.expires_at > now))
    }

    pub fn put_session(&self, id: &Hashed, session: &Session, _ttl: u64) -> StoreResult<()> {
        let mut inner = self.lock()?;
        inner.wrote(session.auth_time);
        inner.sessions.insert(id.clone(), session.clone());
        Ok(())
    }

    pub fn session(&self, id: &Hashed, now: UnixTime) -> StoreResult<Option<Session>> {
        let inner = self.lock()?;
        Ok(inner
            .sessions
            .get(id)
            .filter(|s| s.expires_at > now)
            .cloned())
    }

    pub fn delete_session(&self, id: &Hashed) -> StoreResult<()> {
        self.lock()?.sessions.remove(id);
        Ok(())
    }

    pub fn reserve_login(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<Attempt> {
        let mut inner = self.lock()?;
        inner.wrote(now / 1000);
        let entry = inner.logins.entry(username.to_owned()).or_default();
        entry.settle_by(now);
        if entry.locked_until > now {
            return Ok(Attempt::Throttled(entry.locked_until - now));
        }
        if entry.in_flight >= attempts_allowed(entry.failures, u64::from(max_failures)) {
            return Ok(Attempt::Busy);
        }
        entry.in_flight += 1;
        entry.in_flight_until = now + RESERVATION_MILLIS;
        Ok(Attempt::Reserved)
    }

    pub fn login_failed(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<()> {
        let mut inner = self.lock()?;
        inner.wrote(now / 1000);
        let entry = inner.logins.entry(username.to_owned()).or_default();
        entry.settle_by(now);
        entry.in_flight = entry.in_flight.saturating_sub(1);
        entry.failures += 1;
        let wait = throttle_wait(entry.failures, u64::from(max_failures));
        if wait > 0 {
            entry.locked_until = now + wait * 1000;
        }
        entry.last_failure = now;
        Ok(())
    }

    pub fn login_succeeded(&self, username: &str) -> StoreResult<()> {
        self.lock()?.logins.remove(username);
        Ok(())
    }

    pub fn login_released(&self, username: &str) -> StoreResult<()> {
        if let Some(entry) = self.lock()?.logins.get_mut(username) {
            entry.in_flight = entry.in_flight.saturating_sub(1);
        }
        Ok(())
    }
}

impl LoginFailures {
    /// Forgets failures older than the window and reservations that lapsed.
    fn settle_by(&mut self, now: UnixMillis) {
        if self.last_failure + THROTTLE_WINDOW * 1000 <= now {
            self.failures = 0;
        }
        if self.in_flight_until <= now {
            self.in_flight = 0;
        }
    }

    fn expires_at(&self) -> UnixMillis {
        (self.last_failure + THROTTLE_WINDOW * 1000).max(self.in_flight_until)
    }
}

impl Inner {
    /// Counts a write and now and then drops what has expired, as Redis TTLs would.
    fn wrote(&mut self, now: UnixTime) {
        self.writes += 1;
        if !self.writes.is_multiple_of(SWEEP_EVERY) {
            return;
        }
        self.families.retain(|_, f| f.record.expires_at > now);
        self.codes.retain(|_, c| c.retain_until > now);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.logins.retain(|_, l| l.expires_at() > now * 1000);
        self.spent.retain(|_, until| *until > now);
        self.pushed.retain(|_, r| r.expires_at > now);
    }
}

//! The embedded store: one process, for development and demos. A mutex makes every
//! operation atomic; records expire by the time passed in, and are swept as writes go by.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{
    Attempt, CodeRecord, CodeRedemption, Grant, Hashed, RESERVATION_MILLIS, RefreshInfo,
    RefreshPolicy, RefreshToken, Rotate, Rotation, Session, StoreError, StoreResult,
    THROTTLE_WINDOW, attempts_allowed, throttle_wait,
};
use crate::clock::{UnixMillis, UnixTime};

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
    writes: u64,
}

/// A secret of a family: live until used, then kept only within the grace window.
struct Secret {
    issued_at: UnixTime,
    expires_at: UnixTime,
    used_at: Option<UnixTime>,
}

/// One record per refresh-token family, as on Redis: its size does not grow with rotations.
#[derive(Default)]
struct Family {
    /// `None` for a tombstone: revoked before it was created (a replayed code).
    grant: Option<Grant>,
    revoked: bool,
    expires_at: UnixTime,
    secrets: HashMap<Hashed, Secret>,
}

struct Code {
    record: CodeRecord,
    redeemed_by: Option<String>,
    /// Until the code's expiry; once redeemed, as long as the family it started may live,
    /// so that a replay at any time revokes it (SPEC §7).
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
        token: &RefreshToken,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        if inner.families.contains_key(&token.family) {
            return Ok(false);
        }
        let expires_at = now + policy.ttl;
        let family = Family {
            grant: Some(grant.clone()),
            expires_at,
            secrets: HashMap::from([(token.secret.clone(), Secret::new(now, expires_at))]),
            ..Family::default()
        };
        inner.families.insert(token.family.clone(), family);
        Ok(true)
    }

    pub fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        let Rotate { old, new, now, .. } = *rotate;
        let mut inner = self.lock()?;
        inner.wrote(now);
        let Some(family) = inner
            .families
            .get_mut(&old.family)
            .filter(|f| f.expires_at > now)
        else {
            return Ok(Rotation::Invalid);
        };
        let grant = match (&family.grant, family.revoked) {
            (Some(grant), false) if grant.client_id == rotate.client_id => grant.clone(),
            _ => return Ok(Rotation::Invalid),
        };
        // With no grace, any second use is reuse, whatever the clocks of two replicas say.
        let in_grace =
            |used_at: UnixTime| policy.reuse_grace > 0 && now < used_at + policy.reuse_grace;
        // A secret the family does not hold (used long ago, or never ours) is reuse.
        let Some(secret) = family.secrets.get_mut(&old.secret) else {
            family.revoked = true;
            return Ok(Rotation::Reused);
        };
        if secret.expires_at <= now {
            return Ok(Rotation::Invalid);
        }
        if let Some(used_at) = secret.used_at
            && !in_grace(used_at)
        {
            family.revoked = true;
            return Ok(Rotation::Reused);
        }
        if rotate
            .scope
            .is_some_and(|asked| !asked.is_subset(&grant.scope))
        {
            return Ok(Rotation::ScopeExceeded);
        }
        secret.used_at.get_or_insert(now);
        family
            .secrets
            .retain(|_, s| s.used_at.is_none_or(&in_grace));
        let expires_at = now + policy.ttl;
        family.expires_at = family.expires_at.max(expires_at);
        family
            .secrets
            .insert(new.clone(), Secret::new(now, expires_at));
        Ok(Rotation::Rotated(grant))
    }

    pub fn refresh_info(
        &self,
        token: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        let inner = self.lock()?;
        let Some(family) = inner
            .families
            .get(&token.family)
            .filter(|f| !f.revoked && f.expires_at > now)
        else {
            return Ok(None);
        };
        let live = family
            .secrets
            .get(&token.secret)
            .filter(|s| s.expires_at > now && s.used_at.is_none());
        Ok(match (live, &family.grant) {
            (Some(secret), Some(grant)) => Some(RefreshInfo {
                grant: grant.clone(),
                issued_at: secret.issued_at,
                expires_at: secret.expires_at,
            }),
            _ => None,
        })
    }

    pub fn revoke_refresh(&self, token: &RefreshToken, client_id: &str) -> StoreResult<()> {
        let mut inner = self.lock()?;
        if let Some(family) = inner.families.get_mut(&token.family)
            && family
                .grant
                .as_ref()
                .is_some_and(|g| g.client_id == client_id)
        {
            family.revoked = true;
        }
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
                let tombstone = Family {
                    revoked: true,
                    expires_at: now + policy.ttl,
                    ..Family::default()
                };
                inner
                    .families
                    .entry(issued)
                    .and_modify(|f| f.revoked = true)
                    .or_insert(tombstone);
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

impl Secret {
    fn new(now: UnixTime, expires_at: UnixTime) -> Self {
        Secret {
            issued_at: now,
            expires_at,
            used_at: None,
        }
    }
}

impl Inner {
    /// Counts a write and now and then drops what has expired, as Redis TTLs would.
    fn wrote(&mut self, now: UnixTime) {
        self.writes += 1;
        if !self.writes.is_multiple_of(SWEEP_EVERY) {
            return;
        }
        self.families.retain(|_, f| f.expires_at > now);
        self.codes.retain(|_, c| c.retain_until > now);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.logins.retain(|_, l| l.expires_at() > now * 1000);
    }
}

//! The embedded store: one process, for development and demos. A mutex makes every
//! operation atomic; records expire by the time passed in, and are swept as writes go by.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::{
    CodeRecord, CodeRedemption, Grant, Hashed, RefreshInfo, RefreshPolicy, RetryAfter, Rotate,
    Rotation, Session, StoreError, StoreResult, THROTTLE_WINDOW, throttle_wait,
};
use crate::clock::UnixTime;

/// Sweep expired records once per this many writes.
const SWEEP_EVERY: u64 = 1024;

#[derive(Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<Hashed, Token>,
    families: HashMap<String, Family>,
    codes: HashMap<Hashed, Code>,
    sessions: HashMap<Hashed, Session>,
    logins: HashMap<String, LoginFailures>,
    writes: u64,
}

struct Token {
    family: String,
    issued_at: UnixTime,
    expires_at: UnixTime,
    used_at: Option<UnixTime>,
}

struct Family {
    /// `None` for a tombstone: revoked before it was created (a replayed code).
    grant: Option<Grant>,
    revoked: bool,
    expires_at: UnixTime,
}

struct Code {
    record: CodeRecord,
    redeemed_by: Option<String>,
    /// Until the code's expiry; once redeemed, as long as the family it started may live,
    /// so that a replay at any time revokes it (SPEC §7).
    retain_until: UnixTime,
}

struct LoginFailures {
    failures: u64,
    locked_until: UnixTime,
    expires_at: UnixTime,
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
        family: &str,
        grant: &Grant,
        token: &Hashed,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        if inner.families.contains_key(family) {
            return Ok(false);
        }
        let expires_at = now + policy.ttl;
        inner.families.insert(
            family.to_owned(),
            Family {
                grant: Some(grant.clone()),
                revoked: false,
                expires_at,
            },
        );
        inner
            .tokens
            .insert(token.clone(), Token::new(family, now, expires_at));
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
        let Inner {
            tokens, families, ..
        } = &mut *inner;
        let Some(token) = tokens.get_mut(old).filter(|t| t.expires_at > now) else {
            return Ok(Rotation::Invalid);
        };
        let Some(family) = families
            .get_mut(&token.family)
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
        if token.used_at.is_none_or(in_grace)
            && rotate
                .scope
                .is_some_and(|asked| !asked.is_subset(&grant.scope))
        {
            return Ok(Rotation::ScopeExceeded);
        }
        match token.used_at {
            None => token.used_at = Some(now),
            Some(used_at) if in_grace(used_at) => {}
            Some(_) => {
                family.revoked = true;
                return Ok(Rotation::Reused);
            }
        }
        let expires_at = now + policy.ttl;
        family.expires_at = family.expires_at.max(expires_at);
        let family_id = token.family.clone();
        tokens.insert(new.clone(), Token::new(&family_id, now, expires_at));
        Ok(Rotation::Rotated(grant))
    }

    pub fn refresh_info(&self, token: &Hashed, now: UnixTime) -> StoreResult<Option<RefreshInfo>> {
        let inner = self.lock()?;
        let Some(token) = inner
            .tokens
            .get(token)
            .filter(|t| t.expires_at > now && t.used_at.is_none())
        else {
            return Ok(None);
        };
        Ok(inner
            .families
            .get(&token.family)
            .filter(|f| !f.revoked && f.expires_at > now)
            .and_then(|f| f.grant.clone())
            .map(|grant| RefreshInfo {
                grant,
                issued_at: token.issued_at,
                expires_at: token.expires_at,
            }))
    }

    pub fn revoke_refresh(&self, token: &Hashed, client_id: &str) -> StoreResult<()> {
        let mut inner = self.lock()?;
        let Inner {
            tokens, families, ..
        } = &mut *inner;
        let family = tokens.get(token).and_then(|t| families.get_mut(&t.family));
        if let Some(family) = family
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
                    grant: None,
                    revoked: true,
                    expires_at: now + policy.ttl,
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

    pub fn login_throttled(
        &self,
        username: &str,
        now: UnixTime,
    ) -> StoreResult<Option<RetryAfter>> {
        let inner = self.lock()?;
        Ok(inner
            .logins
            .get(username)
            .filter(|l| l.expires_at > now && l.locked_until > now)
            .map(|l| l.locked_until - now))
    }

    pub fn login_failed(
        &self,
        username: &str,
        now: UnixTime,
        max_failures: u32,
    ) -> StoreResult<()> {
        let mut inner = self.lock()?;
        inner.wrote(now);
        let entry = inner
            .logins
            .entry(username.to_owned())
            .or_insert(LoginFailures {
                failures: 0,
                locked_until: 0,
                expires_at: 0,
            });
        if entry.expires_at <= now {
            entry.failures = 0;
        }
        entry.failures += 1;
        let wait = throttle_wait(entry.failures, u64::from(max_failures));
        if wait > 0 {
            entry.locked_until = now + wait;
        }
        entry.expires_at = now + THROTTLE_WINDOW;
        Ok(())
    }

    pub fn login_succeeded(&self, username: &str) -> StoreResult<()> {
        self.lock()?.logins.remove(username);
        Ok(())
    }
}

impl Token {
    fn new(family: &str, now: UnixTime, expires_at: UnixTime) -> Self {
        Token {
            family: family.to_owned(),
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
        self.tokens.retain(|_, t| t.expires_at > now);
        self.families.retain(|_, f| f.expires_at > now);
        self.codes.retain(|_, c| c.retain_until > now);
        self.sessions.retain(|_, s| s.expires_at > now);
        self.logins.retain(|_, l| l.expires_at > now);
    }
}

//! SSO sessions: after a login, a random session id in the `ts_session` cookie
//! (`__Host-ts_session` under an https issuer; HttpOnly,
//! SameSite=Lax so it comes along when another site sends the user to /authorize); the store
//! keeps only its hash, for `TS_SESSION_TTL`.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};
use ring::rand::SecureRandom;

use super::cookie;
use super::error::AuthorizeError;
use crate::clock::UnixTime;
use crate::records::{User, Users};
use crate::store::{Hashed, Session, Store};
use crate::token;

/// Who is signed in, and since when.
pub struct SignedIn {
    pub user: Arc<User>,
    pub auth_time: UnixTime,
    /// The session's stable, non-secret id (the ID token's `sid`); `None` for a session
    /// stored before sessions had one.
    pub sid: Option<String>,
}

/// What SSO sessions need.
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    pub store: &'a Store,
    pub users: &'a Users,
    pub rng: &'a (dyn SecureRandom + Sync),
    /// `TS_SESSION_TTL`.
    pub ttl: u64,
    /// Cookies are `Secure` when the issuer is https.
    pub secure: bool,
}

impl Sessions<'_> {
    fn cookie(&self) -> &'static str {
        cookie::name(cookie::SESSION, self.secure)
    }

    /// The live session of this browser, if any. A session whose user is no longer in the
    /// config counts as none.
    pub async fn current(
        &self,
        headers: &HeaderMap,
        now: UnixTime,
    ) -> Result<Option<SignedIn>, AuthorizeError> {
        let Some(id) = cookie::get(headers, self.cookie()).filter(|v| token::is_opaque(v)) else {
            return Ok(None);
        };
        // The store answers only live sessions (by `now`).
        let Some(session) = self.store.session(&Hashed::of(id), now).await? else {
            return Ok(None);
        };
        Ok(self.users.get(&session.username).map(|user| SignedIn {
            user: user.clone(),
            auth_time: session.auth_time,
            sid: Some(session.sid).filter(|sid| !sid.is_empty()),
        }))
    }

    /// Starts a session for `username`; returns the cookie that carries it and the
    /// session's `sid`.
    pub async fn start(
        &self,
        username: &str,
        now: UnixTime,
    ) -> Result<(HeaderValue, String), AuthorizeError> {
        let id = token::opaque(self.rng)?;
        // Random and unrelated to the cookie's value, so publishing it in ID tokens reveals
        // nothing that would let anyone take over the session.
        let sid = token::random_b64::<16>(self.rng)?;
        let session = Session {
            username: username.to_owned(),
            auth_time: now,
            expires_at: now + self.ttl,
            sid: sid.clone(),
        };
        self.store
            .put_session(&Hashed::of(&id), &session, self.ttl)
            .await?;
        let cookie = cookie::set(self.cookie(), &id, Some(self.ttl), self.secure);
        Ok((cookie, sid))
    }

    /// Ends this browser's session, if it has one; returns the cookie that expires it.
    pub async fn end(&self, headers: &HeaderMap) -> Result<HeaderValue, AuthorizeError> {
        if let Some(id) = cookie::get(headers, self.cookie()).filter(|v| token::is_opaque(v)) {
            self.store.delete_session(&Hashed::of(id)).await?;
        }
        Ok(cookie::set(self.cookie(), "", Some(0), self.secure))
    }
}

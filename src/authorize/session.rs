//! SSO sessions: after a login, a random session id in the `ts_session` cookie (HttpOnly,
//! SameSite=Lax so it comes along when another site sends the user to /authorize); the store
//! keeps only its hash, for `TS_SESSION_TTL`.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue};

use super::cookie;
use super::error::AuthorizeError;
use crate::clock::UnixTime;
use crate::config::User;
use crate::state::AppState;
use crate::store::{Hashed, Session};

pub const COOKIE: &str = "ts_session";

/// Who is signed in, and since when.
pub struct SignedIn {
    pub user: Arc<User>,
    pub auth_time: UnixTime,
}

/// The live session of this browser, if any. A session whose user is no longer in the config
/// counts as none.
pub async fn current(
    state: &AppState,
    headers: &HeaderMap,
    now: UnixTime,
) -> Result<Option<SignedIn>, AuthorizeError> {
    let Some(id) = cookie::get(headers, COOKIE).filter(|v| cookie::is_b64_256(v)) else {
        return Ok(None);
    };
    // The store answers only live sessions (by `now`).
    let Some(session) = state.store.session(&Hashed::of(id), now).await? else {
        return Ok(None);
    };
    Ok(state.config.user(&session.username).map(|user| SignedIn {
        user: user.clone(),
        auth_time: session.auth_time,
    }))
}

/// Starts a session for `username`; returns the cookie that carries it.
pub async fn start(
    state: &AppState,
    username: &str,
    now: UnixTime,
) -> Result<HeaderValue, AuthorizeError> {
    let ttl = state.config.settings.session_ttl;
    let id = crate::token::opaque(state.keys.rng())?;
    let session = Session {
        username: username.to_owned(),
        auth_time: now,
        expires_at: now + ttl,
    };
    state
        .store
        .put_session(&Hashed::of(&id), &session, ttl)
        .await?;
    Ok(set_cookie(state, &id, ttl))
}

/// Ends this browser's session, if it has one; returns the cookie that expires it.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<HeaderValue, AuthorizeError> {
    if let Some(id) = cookie::get(headers, COOKIE).filter(|v| cookie::is_b64_256(v)) {
        state.store.delete_session(&Hashed::of(id)).await?;
    }
    Ok(set_cookie(state, "", 0))
}

fn set_cookie(state: &AppState, value: &str, max_age: u64) -> HeaderValue {
    let secure = state.config.settings.issuer_is_https();
    cookie::set(COOKIE, value, Some(max_age), secure)
}

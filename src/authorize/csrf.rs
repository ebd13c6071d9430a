//! CSRF protection of the login and logout forms: a double-submit cookie. The GET that shows
//! a form sets `ts_csrf` (`__Host-ts_csrf` under an https issuer; random, HttpOnly,
//! SameSite=Lax) and puts the same value in a
//! hidden field; the POST must carry both, equal. It needs no shared key, so any replica can
//! check a form another one served. Lax, not Strict: the cookie comes along when a client
//! site sends the user here, so a second tab reuses it instead of replacing the first tab's;
//! another site's POST never carries it.

use axum::http::{HeaderMap, HeaderValue};
use ring::rand::SecureRandom;
use subtle::ConstantTimeEq;

use super::cookie;
use super::error::AuthorizeError;
use crate::token;

/// The hidden form field that repeats the cookie.
pub const FIELD: &str = "csrf_token";

/// The token a form embeds, and the cookie to set when the browser had none.
pub struct CsrfToken {
    pub value: String,
    pub set_cookie: Option<HeaderValue>,
}

/// Reuses the browser's token if it has a well-formed one, else makes a new one.
/// `secure` when the issuer is https.
pub fn token(
    rng: &dyn SecureRandom,
    secure: bool,
    headers: &HeaderMap,
) -> Result<CsrfToken, AuthorizeError> {
    let name = cookie::name(cookie::CSRF, secure);
    if let Some(value) = cookie::get(headers, name).filter(|v| token::is_opaque(v)) {
        return Ok(CsrfToken {
            value: value.to_owned(),
            set_cookie: None,
        });
    }
    let value = token::opaque(rng)?;
    let set_cookie = cookie::set(name, &value, None, secure);
    Ok(CsrfToken {
        value,
        set_cookie: Some(set_cookie),
    })
}

/// The POST's field must equal its cookie (compared in constant time); otherwise 403.
pub fn verify(
    headers: &HeaderMap,
    secure: bool,
    field: Option<&str>,
) -> Result<(), AuthorizeError> {
    let name = cookie::name(cookie::CSRF, secure);
    let cookie = cookie::get(headers, name).filter(|v| token::is_opaque(v));
    match (cookie, field) {
        (Some(cookie), Some(field)) if bool::from(cookie.as_bytes().ct_eq(field.as_bytes())) => {
            Ok(())
        }
        _ => Err(AuthorizeError::Forbidden),
    }
}

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

#[cfg(test)]
mod tests {
    use axum::http::header;
    use ring::rand::SystemRandom;

    use super::*;

    fn with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn a_browser_without_a_token_gets_a_new_one_and_its_cookie() {
        let csrf = token(&SystemRandom::new(), false, &HeaderMap::new()).unwrap();
        assert!(token::is_opaque(&csrf.value));
        let cookie = csrf.set_cookie.unwrap();
        let cookie = cookie.to_str().unwrap();
        assert!(
            cookie.starts_with(&format!("ts_csrf={}", csrf.value)),
            "{cookie}"
        );
    }

    #[test]
    fn a_browser_with_a_well_formed_token_keeps_it_and_a_malformed_one_is_replaced() {
        let kept = "a".repeat(43);
        let csrf = token(
            &SystemRandom::new(),
            false,
            &with_cookie(&format!("ts_csrf={kept}")),
        );
        let csrf = csrf.unwrap();
        assert_eq!(
            (csrf.value.as_str(), csrf.set_cookie.is_none()),
            (kept.as_str(), true)
        );
        let replaced = token(&SystemRandom::new(), false, &with_cookie("ts_csrf=short")).unwrap();
        assert_ne!(replaced.value, "short");
        assert!(replaced.set_cookie.is_some());
    }

    #[test]
    fn a_post_passes_only_with_its_field_equal_to_its_cookie() {
        let value = "b".repeat(43);
        let headers = with_cookie(&format!("ts_csrf={value}"));
        assert!(verify(&headers, false, Some(&value)).is_ok());
        assert!(verify(&headers, false, Some(&"c".repeat(43))).is_err());
        assert!(verify(&headers, false, None).is_err());
        assert!(verify(&HeaderMap::new(), false, Some(&value)).is_err());
    }

    #[test]
    fn under_https_only_the_host_prefixed_cookie_counts() {
        let value = "d".repeat(43);
        let plain = with_cookie(&format!("ts_csrf={value}"));
        assert!(verify(&plain, true, Some(&value)).is_err());
        let prefixed = with_cookie(&format!("__Host-ts_csrf={value}"));
        assert!(verify(&prefixed, true, Some(&value)).is_ok());
    }
}

//! Reading and writing the login page's cookies (RFC 6265), without a cookie jar.

use axum::http::{HeaderMap, HeaderValue, header};

/// The value of cookie `name`, from any `Cookie` header of the request.
pub fn get<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: always HttpOnly and `SameSite=Lax` on `/` (sent when another site
/// sends the user here, never with another site's POST, RFC 6265bis §5.4.7); `max_age` 0
/// expires it; `secure` when the issuer is https. `value` is one of our base64url tokens, so
/// it needs no quoting.
pub fn set(name: &str, value: &str, max_age: Option<u64>, secure: bool) -> HeaderValue {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
    if let Some(max_age) = max_age {
        cookie.push_str(&format!("; Max-Age={max_age}"));
    }
    if secure {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The cookie's name: `name` over http; under an https issuer `__Host-name`, which browsers
/// accept only from a secure origin, on `/`, without `Domain`, so no sibling subdomain or
/// network attacker can toss in a value of its choosing (RFC 6265bis §4.1.3.2).
pub fn name(name: &'static str, secure: bool) -> &'static str {
    match (name, secure) {
        (CSRF, true) => "__Host-ts_csrf",
        (SESSION, true) => "__Host-ts_session",
        (other, _) => other,
    }
}

/// The CSRF double-submit cookie.
pub const CSRF: &str = "ts_csrf";
/// The SSO session cookie.
pub const SESSION: &str = "ts_session";

//! The token endpoint's one error type: RFC 6749 §5.2 codes, mapped to JSON exactly once.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::failure::Failure;
use crate::params::ParamsError;

type Description = Cow<'static, str>;

/// The header that carries a server's DPoP nonce (RFC 9449 §8.1).
pub const DPOP_NONCE: header::HeaderName = header::HeaderName::from_static("dpop-nonce");

/// Every way a request to `/token`, `/revoke`, `/introspect` or `/par` can fail, named after
/// the error codes of RFC 6749 §5.2 (plus `temporarily_unavailable` of §4.1.2.1, and the codes
/// of §4.1.2.1 and OpenID Connect Core §6 that /par answers, RFC 9126 §2.3).
#[derive(Debug)]
pub enum OAuthError {
    /// Missing, repeated or malformed parameter (RFC 6749 §5.2).
    InvalidRequest(Description),
    /// Client authentication failed; answered 401 with `WWW-Authenticate` (RFC 6749 §5.2).
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired, revoked or not this
    /// client's (RFC 6749 §5.2).
    InvalidGrant(Description),
    /// The client may not use this grant type (RFC 6749 §5.2).
    UnauthorizedClient,
    /// The grant type is not one this server supports (RFC 6749 §5.2).
    UnsupportedGrantType,
    /// The requested scope exceeds what the client may have (RFC 6749 §5.2).
    InvalidScope,
    /// A pushed `response_type` this server does not issue (RFC 6749 §4.1.2.1, RFC 9126 §2.3).
    UnsupportedResponseType,
    /// A pushed request object, which this server does not take (OpenID Connect Core §6).
    RequestNotSupported,
    /// Revocation of this kind of token is not supported (RFC 7009 §2.2.1): access tokens
    /// are stateless and expire on their own.
    UnsupportedTokenType,
    /// The body is over the size limit (README, "Endpoints": 413 with `invalid_request`).
    PayloadTooLarge,
    /// Too many failed logins for a username (docs/design.md, "Load, faults and bad input": 429
    /// with `Retry-After`).
    TooManyAttempts { retry_after: u64 },
    /// The DPoP proof is missing where the client must send one, malformed, invalid or
    /// replayed (RFC 9449 §5, §7.1).
    InvalidDpopProof(Description),
    /// The server demands a nonce in DPoP proofs and this proof has none or a stale one: the
    /// answer carries a fresh one in `DPoP-Nonce` (RFC 9449 §8).
    UseDpopNonce { nonce: String },
    /// The store or the argon2 pool cannot serve now (docs/design.md, "Load, faults and bad input":
    /// 503 with `Retry-After`), or a bug (500); the detail is logged by the HTTP layer, never sent.
    Failed(Failure),
    /// No such endpoint.
    NotFound,
    /// The endpoint exists but not for this method.
    MethodNotAllowed,
}

/// The error code of an error response, for the metrics layer to count.
#[derive(Clone, Copy, Debug)]
pub struct ErrorCode(pub &'static str);

/// The body of every error response (RFC 6749 §5.2).
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody<'a> {
    /// The RFC 6749 error code, or `temporarily_unavailable` / `server_error`.
    error: &'a str,
    /// Human-readable, never echoing request text (RFC 6749 §5.2 characters only).
    error_description: &'a str,
}

/// The error answers every OAuth endpoint may give, besides its own success (RFC 6749 §5.2).
/// A description only: the answers themselves come from `OAuthError`.
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum OAuthErrors {
    /// `invalid_request`, `invalid_grant`, `unauthorized_client`, `unsupported_grant_type`,
    /// `invalid_scope`, `unsupported_token_type`, `invalid_dpop_proof` or `use_dpop_nonce`
    /// (RFC 9449 §8: with the nonce to use in `DPoP-Nonce`); at /par also
    /// `unsupported_response_type` and `request_not_supported`.
    #[response(status = 400, headers(("dpop-nonce" = String)))]
    BadRequest(ErrorBody<'static>),
    /// `invalid_client`: client authentication failed.
    #[response(status = 401, headers(("www-authenticate" = String)))]
    Unauthorized(ErrorBody<'static>),
    /// `invalid_request`: the body is over 64 KiB.
    #[response(status = 413)]
    TooLarge(ErrorBody<'static>),
    /// `invalid_request`: too many failed logins for the username (`TS_LOGIN_MAX_FAILURES`).
    #[response(status = 429, headers(("retry-after" = String)))]
    Throttled(ErrorBody<'static>),
    /// `server_error`.
    #[response(status = 500)]
    Internal(ErrorBody<'static>),
    /// `temporarily_unavailable`: the store cannot be reached (README, "When Redis is down").
    #[response(status = 503, headers(("retry-after" = String)))]
    Unavailable(ErrorBody<'static>),
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<Description>) -> Self {
        Self::InvalidRequest(description.into())
    }

    pub fn invalid_grant(description: impl Into<Description>) -> Self {
        Self::InvalidGrant(description.into())
    }

    pub fn invalid_dpop_proof(description: impl Into<Description>) -> Self {
        Self::InvalidDpopProof(description.into())
    }

    /// The RFC 6749 error code.
    pub fn code(&self) -> &'static str {
        self.parts().1
    }

    fn parts(&self) -> (StatusCode, &'static str, &str) {
        use OAuthError::*;
        match self {
            InvalidRequest(d) => (StatusCode::BAD_REQUEST, "invalid_request", d),
            InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "client authentication failed",
            ),
            InvalidGrant(d) => (StatusCode::BAD_REQUEST, "invalid_grant", d),
            UnauthorizedClient => (
                StatusCode::BAD_REQUEST,
                "unauthorized_client",
                "the client is not allowed to use this grant type",
            ),
            UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "the grant type is not supported",
            ),
            InvalidScope => (
                StatusCode::BAD_REQUEST,
                "invalid_scope",
                "the requested scope is invalid or exceeds the scope granted",
            ),
            UnsupportedResponseType => (
                StatusCode::BAD_REQUEST,
                "unsupported_response_type",
                "response_type must be code, token, id_token token or id_token",
            ),
            RequestNotSupported => (
                StatusCode::BAD_REQUEST,
                "request_not_supported",
                "request objects are not supported; send the parameters as such",
            ),
            UnsupportedTokenType => (
                StatusCode::BAD_REQUEST,
                "unsupported_token_type",
                "access tokens cannot be revoked; they expire on their own",
            ),
            InvalidDpopProof(d) => (StatusCode::BAD_REQUEST, "invalid_dpop_proof", d),
            UseDpopNonce { .. } => (
                StatusCode::BAD_REQUEST,
                "use_dpop_nonce",
                "the DPoP proof must carry the nonce in the DPoP-Nonce header",
            ),
            PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                "the request body is larger than 64 KiB",
            ),
            TooManyAttempts { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "invalid_request",
                "too many failed attempts",
            ),
            Failed(Failure::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable, retry later",
            ),
            Failed(Failure::Internal(_)) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "an unexpected error occurred",
            ),
            NotFound => (StatusCode::NOT_FOUND, "invalid_request", "no such endpoint"),
            MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "invalid_request",
                "method not allowed on this endpoint",
            ),
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (status, error, error_description) = self.parts();
        let error_description = sanitize(error_description);
        let mut response = (
            status,
            axum::Json(ErrorBody {
                error,
                error_description: &error_description,
            }),
        )
            .into_response();
        response.extensions_mut().insert(ErrorCode(error));
        if let OAuthError::Failed(failure) = &self {
            response.extensions_mut().insert(failure.clone());
        }
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
        match self {
            OAuthError::InvalidClient => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="token-service", charset="UTF-8""#),
                );
            }
            OAuthError::TooManyAttempts { retry_after } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            OAuthError::Failed(Failure::Unavailable(_)) => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            OAuthError::UseDpopNonce { nonce } => {
                if let Ok(nonce) = HeaderValue::from_str(&nonce) {
                    headers.insert(DPOP_NONCE, nonce);
                }
            }
            _ => {}
        }
        response
    }
}

/// Everything that converts into the domain's `Failure` (the store's error among them)
/// converts into a 503 or a 500 here, so handlers and grants use `?` on it.
impl<E: Into<Failure>> From<E> for OAuthError {
    fn from(error: E) -> Self {
        OAuthError::Failed(error.into())
    }
}

impl From<ParamsError> for OAuthError {
    fn from(error: ParamsError) -> Self {
        OAuthError::InvalidRequest(error.to_string().into())
    }
}

/// RFC 6749 §5.2 allows only `%x20-21 / %x23-5B / %x5D-7E` in `error_description`; anything
/// else becomes `?`. Descriptions never carry request text, so this only guards the rule.
fn sanitize(description: &str) -> Cow<'_, str> {
    let allowed = |c: char| matches!(c, '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e');
    if description.chars().all(allowed) {
        return Cow::Borrowed(description);
    }
    Cow::Owned(
        description
            .chars()
            .map(|c| if allowed(c) { c } else { '?' })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::sanitize;

    #[test]
    fn a_description_keeps_only_what_rfc_6749_allows() {
        assert_eq!(sanitize("missing parameter code"), "missing parameter code");
        assert_eq!(sanitize("a\"b\\c é\n"), "a?b?c ??");
    }
}

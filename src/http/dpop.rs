//! The `DPoP` request header (RFC 9449 §4.1) and the `DPoP-Nonce` response header (§8).

use axum::http::{HeaderMap, HeaderName, HeaderValue};
use axum::response::Response;

use crate::clock::UnixTime;
use crate::dpop::{Expected, Proof};
use crate::error::{DPOP_NONCE, OAuthError};
use crate::state::AppState;

const DPOP: HeaderName = HeaderName::from_static("dpop");

/// The request's DPoP proof: `Ok(None)` without one; an empty header reads as none, as an
/// empty parameter does (RFC 6749 §3.1). More than one `DPoP` header, or one that is not
/// visible ASCII, is refused with what to say (RFC 9449 §4.3 point 1).
pub fn proof(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(DPOP).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) if value.is_empty() => Ok(None),
        (Some(_), Some(_)) => Err("more than one DPoP header"),
        (Some(value), None) => value
            .to_str()
            .map(Some)
            .map_err(|_| "the DPoP header is not a compact JWS"),
    }
}

/// Accepts the request's proof, if it has one, for a POST to `path` under the issuer (RFC 9449
/// §4.3): checked, with our nonce when nonces are on, its `jti` spent at every replica.
pub async fn accept_post(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    now: UnixTime,
) -> Result<Option<Proof>, OAuthError> {
    let Some(proof) = proof(headers).map_err(OAuthError::invalid_dpop_proof)? else {
        return Ok(None);
    };
    let expected = Expected {
        method: "POST",
        url: &state.endpoint_url(path),
        access_token: None,
    };
    // Boxed, as only requests with a proof wait for it (docs/design.md, "Small futures").
    let accepted = Box::pin(state.dpop().accept(proof, &expected, now)).await?;
    Ok(Some(accepted))
}

/// Adds `DPoP-Nonce` to a response, for the client's next proof (RFC 9449 §8.2).
pub fn with_nonce(mut response: Response, nonce: Option<String>) -> Response {
    if let Some(value) = nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
        response.headers_mut().insert(DPOP_NONCE, value);
    }
    response
}

//! The body extractor of `/token`, `/revoke` and `/introspect`: a JSON object (as the
//! original API description sends it) or a form body (RFC 6749), every malformed body an
//! `invalid_request` rather than a framework rejection, and a repeated parameter refused by
//! name (RFC 6749 §3.2).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};

use crate::error::OAuthError;
use crate::params::Params;

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = OAuthError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let body = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OAuthError::PayloadTooLarge
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
        let params = match content_type.as_deref() {
            Some("application/x-www-form-urlencoded") => Params::from_form(&body)?,
            Some("application/json") => Params::from_json(&body)?,
            _ => {
                return Err(OAuthError::invalid_request(
                    "Content-Type must be application/x-www-form-urlencoded or application/json",
                ));
            }
        };
        if let Some(repeated) = params.repeated() {
            return Err(OAuthError::invalid_request(repeated.to_string()));
        }
        Ok(params)
    }
}

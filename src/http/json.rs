//! JSON response bodies written into one buffer with room for a token response, where axum's
//! `Json` starts at 128 bytes and grows, copying a token response's body four times.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::OAuthError;
use crate::failure::Failure;

/// Room for an access token, a refresh token and an ID token without growing.
const CAPACITY: usize = 2048;

/// A value answered as `application/json`; one that cannot be written is a 500 in the RFC 6749
/// shape, with the reason logged.
pub struct SizedJson<T>(pub T);

impl<T: Serialize> IntoResponse for SizedJson<T> {
    fn into_response(self) -> Response {
        let mut body = Vec::with_capacity(CAPACITY);
        match crate::json::write(&mut body, &self.0) {
            Ok(()) => (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response(),
            Err(e) => {
                OAuthError::from(Failure::internal(format!("JSON response: {e}"))).into_response()
            }
        }
    }
}

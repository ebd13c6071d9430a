//! JSON response bodies written beforehand into one buffer sized for them (a token response:
//! `TokenResponse::to_json`), where axum's `Json` starts at 128 bytes and grows, copying a
//! token response's body four times.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// A body already written as JSON, answered as `application/json`.
pub struct JsonBytes(pub Vec<u8>);

impl IntoResponse for JsonBytes {
    fn into_response(self) -> Response {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0,
        )
            .into_response()
    }
}

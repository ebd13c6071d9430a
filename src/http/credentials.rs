//! Reading client credentials off a request (RFC 6749 §2.3.1, RFC 7521 §4.2): HTTP Basic,
//! each half form-decoded, `client_id`/`client_secret` in the body, or a client assertion in
//! the body; never two of them.

use axum::http::{HeaderMap, header};
use base64::engine::general_purpose::STANDARD;
use base64::{DecodeSliceError, Engine};

use std::borrow::Cow;
use std::sync::Arc;

use crate::clients::{self, Credentials, Proof};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::params::{Params, form_decode};
use crate::records::{AuthMethod, Client};
use crate::state::AppState;

/// Reads and authenticates the client of a request to `endpoint` (its path, as `/token`), and
/// names it in the request's span. The one way in for every endpoint that authenticates
/// clients.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
    endpoint: &str,
    now: UnixTime,
) -> Result<Arc<Client>, OAuthError> {
    let mut buffer = BasicBuffer::default();
    let credentials = from_request(headers, params, &mut buffer)?;
    if let Some(id) = &credentials.client_id {
        crate::logging::record_client_id(id.as_ref());
    }
    let client = clients::authenticate(state.client_auth(), &credentials, endpoint, now).await?;
    if credentials.client_id.is_none() {
        // An assertion names its client in `iss`; known now that it is verified.
        crate::logging::record_client_id(client.id.as_str());
    }
    Ok(client)
}

/// Reads HTTP Basic, the body's `client_id`/`client_secret` and a client assertion. A secret
/// in both places, an assertion beside a secret or Basic, or two different client ids, is
/// `invalid_request`; Basic plus the same `client_id` in the body (as many libraries send) is
/// fine. Two `Authorization` headers are `invalid_request` too: a proxy reading one and the
/// service the other would disagree on who calls (RFC 6749 §2.3, RFC 9110 §5.3).
pub fn from_request<'a>(
    headers: &HeaderMap,
    params: &'a Params,
    buffer: &'a mut BasicBuffer,
) -> Result<Credentials<'a>, OAuthError> {
    let body_id = params.get("client_id").map(Cow::Borrowed);
    let body_secret = params.get("client_secret").map(Cow::Borrowed);
    let assertion = params.get("client_assertion");
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let basic = match (values.next(), values.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request(
                "more than one Authorization header",
            ));
        }
        (Some(value), None) => Some(
            value
                .to_str()
                .ok()
                .and_then(|value| basic(value, buffer))
                .ok_or(OAuthError::InvalidClient)?,
        ),
    };
    let Some((id, secret)) = basic else {
        let proof = match (body_secret, assertion) {
            (Some(_), Some(_)) => {
                return Err(OAuthError::invalid_request(
                    "a client assertion and a client secret in one request",
                ));
            }
            (Some(secret), None) => Proof::Secret {
                secret,
                method: AuthMethod::ClientSecretPost,
            },
            (None, Some(assertion)) => Proof::Assertion {
                assertion_type: params.get("client_assertion_type"),
                assertion,
            },
            (None, None) => Proof::Nothing,
        };
        return Ok(Credentials {
            client_id: body_id,
            proof,
        });
    };
    if body_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "client credentials in both the Authorization header and the body",
        ));
    }
    if assertion.is_some() {
        return Err(OAuthError::invalid_request(
            "a client assertion and the Authorization header in one request",
        ));
    }
    if body_id.as_ref().is_some_and(|body| *body != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the body differs from the Authorization header",
        ));
    }
    Ok(Credentials {
        client_id: Some(id),
        proof: Proof::Secret {
            secret,
            method: AuthMethod::ClientSecretBasic,
        },
    })
}

/// Where an `Authorization: Basic` value is decoded: on the stack when it fits, as it does
/// for any id and secret of a sensible length.
pub struct BasicBuffer {
    stack: [u8; 256],
    heap: Vec<u8>,
}

impl Default for BasicBuffer {
    fn default() -> Self {
        BasicBuffer {
            stack: [0; 256],
            heap: Vec::new(),
        }
    }
}

/// The id and secret of an `Authorization: Basic` value, each half form-decoded (borrowed
/// from `buffer` when there is nothing to decode); `None` if it is anything else.
fn basic<'b>(value: &str, buffer: &'b mut BasicBuffer) -> Option<(Cow<'b, str>, Cow<'b, str>)> {
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let encoded = encoded.trim();
    let decoded = match STANDARD.decode_slice(encoded, &mut buffer.stack) {
        Ok(len) => buffer.stack.get(..len)?,
        Err(DecodeSliceError::OutputSliceTooSmall) => {
            STANDARD.decode_vec(encoded, &mut buffer.heap).ok()?;
            buffer.heap.as_slice()
        }
        Err(DecodeSliceError::DecodeError(_)) => return None,
    };
    let decoded = std::str::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

#[cfg(test)]
mod tests {
    use super::{BasicBuffer, basic};

    fn encode(raw: &str) -> String {
        format!("Basic {}", base64::Engine::encode(&super::STANDARD, raw))
    }

    #[test]
    fn basic_credentials_are_split_at_the_first_colon() {
        assert_eq!(
            basic(&encode("client:sec:ret"), &mut BasicBuffer::default()),
            Some(("client".into(), "sec:ret".into()))
        );
    }

    #[test]
    fn each_half_is_form_decoded() {
        assert_eq!(
            basic(&encode("a%3Ab:x+y%2B%C3%A9"), &mut BasicBuffer::default()),
            Some(("a:b".into(), "x y+é".into()))
        );
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        let lower = encode("id:secret").replacen("Basic", "basic", 1);
        assert_eq!(
            basic(&lower, &mut BasicBuffer::default()),
            Some(("id".into(), "secret".into()))
        );
    }

    #[test]
    fn anything_but_basic_with_a_colon_is_refused() {
        let none = |value: &str| basic(value, &mut BasicBuffer::default()).is_none();
        assert!(none("Bearer abc"));
        assert!(none(&encode("no-colon")));
        assert!(none("Basic !!!"));
        assert!(none(&encode("id:%FF")));
    }

    #[test]
    fn a_value_longer_than_the_stack_buffer_is_decoded_on_the_heap() {
        let secret = "s".repeat(400);
        let mut buffer = BasicBuffer::default();
        let (id, decoded) = basic(&encode(&format!("id:{secret}")), &mut buffer).unwrap();
        assert_eq!((id.as_ref(), decoded.as_ref()), ("id", secret.as_str()));
    }
}

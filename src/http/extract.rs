//! The body extractor of `/token`, `/revoke` and `/introspect`: a JSON object (as the
//! original API description sends it) or a form body (RFC 6749), every malformed body an
//! `invalid_request` rather than a framework rejection, and a repeated parameter refused by
//! name (RFC 6749 §3.2).

use axum::body::Body;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, HeaderValue, header};
use serde::Deserialize;

use crate::error::OAuthError;
use crate::params::Params;

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = OAuthError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let kind = BodyKind::of(req.headers().get(header::CONTENT_TYPE));
        read(req.into_body(), kind).await
    }
}

/// A request's headers and its body's parameters, as the endpoints that authenticate clients
/// read them: the headers are moved out of the request, where axum's `HeaderMap` extractor
/// copies every one of them.
pub struct Form {
    pub headers: HeaderMap,
    pub params: Params,
}

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = OAuthError;

    // Not `async fn`: the request is taken apart before the future is made, which then holds
    // the headers and the body rather than the whole request (docs/design.md, "Small futures").
    fn from_request(
        req: Request,
        _: &S,
    ) -> impl Future<Output = Result<Self, Self::Rejection>> + Send {
        let (parts, body) = req.into_parts();
        let headers = parts.headers;
        let kind = BodyKind::of(headers.get(header::CONTENT_TYPE));
        async move {
            let params = read(body, kind).await?;
            Ok(Form { headers, params })
        }
    }
}

/// The parameters of a body of `kind`, of at most `BODY_LIMIT` bytes. Read straight from the
/// request's body, where axum's `Bytes` extractor boxes it again into a limited body of its
/// own; the body alone, not the request, so its future does not hold the request's parts.
async fn read(body: Body, kind: BodyKind) -> Result<Params, OAuthError> {
    let body = axum::body::to_bytes(body, super::BODY_LIMIT)
        .await
        .map_err(|error| {
            if error.into_inner().is::<http_body_util::LengthLimitError>() {
                OAuthError::PayloadTooLarge
            } else {
                OAuthError::invalid_request("the request body could not be read")
            }
        })?;
    let params = match kind {
        BodyKind::Form => Params::from_form(&body)?,
        BodyKind::Json => Params::from_json(&body)?,
        BodyKind::Other => {
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

/// What a body is, by its media type (parameters after `;` aside, case-insensitive).
enum BodyKind {
    Form,
    Json,
    Other,
}

impl BodyKind {
    fn of(content_type: Option<&HeaderValue>) -> Self {
        let media_type = content_type
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().trim());
        match media_type {
            Some(t) if t.eq_ignore_ascii_case("application/x-www-form-urlencoded") => {
                BodyKind::Form
            }
            Some(t) if t.eq_ignore_ascii_case("application/json") => BodyKind::Json,
            _ => BodyKind::Other,
        }
    }
}

/// The parameters of `/revoke` (RFC 7009 §2.1) and `/introspect` (RFC 7662 §2.1), besides the
/// client's credentials.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct TokenParams {
    /// The token to revoke or describe; an empty value reads as absent (RFC 6749 §3.1).
    #[schema(min_length = 1)]
    pub token: String,
    /// `access_token` or `refresh_token`. Only a hint: every token is told apart by its own
    /// form, so the service reads it only to accept it (RFC 7009 §2.1, RFC 7662 §2.1).
    // A `String`, empty when absent: the parameters' deserializer gives an `Option` nothing
    // but a missing value.
    #[allow(dead_code)]
    #[serde(default)]
    #[schema(nullable)]
    token_type_hint: String,
}

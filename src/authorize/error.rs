//! The one error type of /authorize, /logout and the demo page, rendered once: an HTML page
//! when there is no trustworthy place to send the user, else a redirect carrying the RFC 6749
//! §4.1.2.1 error.

use std::borrow::Cow;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::page;
use super::redirect::Target;
use crate::error::OAuthError;
use crate::failure::Failure;

type Description = Cow<'static, str>;

#[derive(Debug)]
pub enum AuthorizeError {
    /// `client_id` missing, repeated or unknown: nobody to send the user back to.
    UnknownClient,
    /// `redirect_uri` repeated, not exactly a registered one, or missing while the client
    /// registered several (RFC 6749 §3.1.2.4: never redirect to an unverified URI).
    InvalidRedirectUri,
    /// A `request_uri` of /par that is unknown, used, expired or another client's (RFC 9126
    /// §4): the request it stood for is not there to trust.
    UnknownRequestUri,
    /// Query string over 8 KiB (README, "Endpoints").
    QueryTooLong,
    /// Parameters that are not UTF-8 or hold an absurdly long value: nobody to trust.
    Malformed,
    /// Form body over its limit, or unreadable.
    BodyTooLarge,
    /// An `id_token_hint` we did not sign, or naming another client than `client_id`
    /// (RP-Initiated Logout §2): an error page, never a redirect.
    InvalidLogoutRequest,
    /// The CSRF cookie and field are missing or differ: nothing happens.
    Forbidden,
    /// The store or the argon2 pool cannot serve the request now (docs/design.md, "Load, faults and
    /// bad input"), or a bug; the detail is logged by the HTTP layer, never shown.
    Failed(Failure),
    /// Anything wrong after client and redirect_uri were validated: back to the client.
    Redirect(Box<Target>, RedirectError),
}

/// The error codes of RFC 6749 §4.1.2.1 and §4.2.2.1 (and OpenID Connect's `login_required`)
/// that this server sends back to a client.
#[derive(Debug)]
pub enum RedirectError {
    /// Missing, repeated or malformed parameter, or a public client without PKCE.
    InvalidRequest(Description),
    /// The client may not use this response type.
    UnauthorizedClient,
    /// `response_type` is none of `code`, `token`, `id_token token`, `id_token`.
    UnsupportedResponseType,
    /// The scope asked for is not within the client's.
    InvalidScope,
    /// `prompt=none` and no live session (OpenID Connect Core §3.1.2.6).
    LoginRequired,
    /// A `request` object, which this server does not take (OpenID Connect Core §6).
    RequestNotSupported,
    /// A `request_uri`, which this server does not take (OpenID Connect Core §6).
    RequestUriNotSupported,
    /// The store cannot serve now (`temporarily_unavailable`), or a bug (`server_error`):
    /// the client can tell its user (RFC 6749 §4.1.2.1).
    Failed(Failure),
}

impl RedirectError {
    fn parts(&self) -> (&'static str, &str) {
        match self {
            RedirectError::InvalidRequest(d) => ("invalid_request", d),
            RedirectError::UnauthorizedClient => (
                "unauthorized_client",
                "the client is not allowed to use this response type",
            ),
            RedirectError::UnsupportedResponseType => (
                "unsupported_response_type",
                "response_type must be code, token, id_token token or id_token",
            ),
            RedirectError::InvalidScope => (
                "invalid_scope",
                "the requested scope is invalid or exceeds the client's",
            ),
            RedirectError::LoginRequired => ("login_required", "the user is not signed in"),
            RedirectError::RequestNotSupported => (
                "request_not_supported",
                "request objects are not supported; send the parameters as such",
            ),
            RedirectError::RequestUriNotSupported => (
                "request_uri_not_supported",
                "request_uri is not supported; send the parameters as such",
            ),
            RedirectError::Failed(Failure::Unavailable(_)) => (
                "temporarily_unavailable",
                "the service is temporarily unavailable, retry later",
            ),
            RedirectError::Failed(Failure::Internal(_)) => {
                ("server_error", "an unexpected error occurred")
            }
        }
    }
}

impl AuthorizeError {
    pub fn redirect(target: &Target, error: RedirectError) -> Self {
        AuthorizeError::Redirect(Box::new(target.clone()), error)
    }

    pub fn invalid_request(target: &Target, description: impl Into<Description>) -> Self {
        Self::redirect(target, RedirectError::InvalidRequest(description.into()))
    }

    /// Once the request names a valid client and redirect URI, a failure goes back to the
    /// client as an error response instead of ending on our page.
    pub fn back_to(self, target: &Target) -> Self {
        match self {
            AuthorizeError::Failed(failure) => {
                Self::redirect(target, RedirectError::Failed(failure))
            }
            other => other,
        }
    }
}

impl IntoResponse for AuthorizeError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            AuthorizeError::Redirect(target, error) => {
                let (code, description) = error.parts();
                let mut response =
                    target.send(&[("error", code), ("error_description", description)]);
                if let RedirectError::Failed(failure) = error {
                    response.extensions_mut().insert(failure);
                }
                return response;
            }
            AuthorizeError::UnknownClient => (
                StatusCode::BAD_REQUEST,
                "Unknown application",
                "The application that sent you here is not registered with this sign-in service.",
            ),
            AuthorizeError::InvalidRedirectUri => (
                StatusCode::BAD_REQUEST,
                "Invalid redirect",
                "The address the application asked to return to is not registered for it, so you \
                 were not sent there.",
            ),
            AuthorizeError::UnknownRequestUri => (
                StatusCode::BAD_REQUEST,
                "Sign-in request expired",
                "The application's sign-in request is unknown, was already used or has expired. \
                 Go back to the application and start again.",
            ),
            AuthorizeError::QueryTooLong => (
                StatusCode::URI_TOO_LONG,
                "Request too large",
                "The sign-in request is too large.",
            ),
            AuthorizeError::Malformed => (
                StatusCode::BAD_REQUEST,
                "Invalid request",
                "The sign-in request could not be read.",
            ),
            AuthorizeError::BodyTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request too large",
                "The form is too large.",
            ),
            AuthorizeError::InvalidLogoutRequest => (
                StatusCode::BAD_REQUEST,
                "Invalid sign-out request",
                "The application's sign-out request could not be verified, so you were not \
                 signed out or sent anywhere.",
            ),
            AuthorizeError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form could not be verified (it may have expired or come from another \
                 site). Go back to the application and start again.",
            ),
            AuthorizeError::Failed(failure) => {
                let mut response = match failure {
                    Failure::Unavailable(_) => {
                        let mut response = page::message(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "Temporarily unavailable",
                            "The sign-in service is temporarily unavailable. Try again in a \
                             moment.",
                        );
                        response
                            .headers_mut()
                            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                        response
                    }
                    Failure::Internal(_) => page::message(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "Something went wrong",
                        "The sign-in service could not complete the request.",
                    ),
                };
                response.extensions_mut().insert(failure);
                return response;
            }
        };
        page::message(status, title, text)
    }
}

/// A request refused at /par is answered as the token endpoint answers (RFC 9126 §2.3): JSON,
/// never a page or a redirect. With no verified redirect URI there is no §4.1.2.1 code, and
/// `invalid_request` stands in.
impl From<AuthorizeError> for OAuthError {
    fn from(error: AuthorizeError) -> Self {
        match error {
            AuthorizeError::Redirect(_, error) => match error {
                RedirectError::InvalidRequest(description) => {
                    OAuthError::InvalidRequest(description)
                }
                RedirectError::UnauthorizedClient => OAuthError::UnauthorizedClient,
                RedirectError::UnsupportedResponseType => OAuthError::UnsupportedResponseType,
                RedirectError::InvalidScope => OAuthError::InvalidScope,
                RedirectError::RequestNotSupported => OAuthError::RequestNotSupported,
                RedirectError::RequestUriNotSupported => {
                    OAuthError::invalid_request("request_uri may not be pushed (RFC 9126)")
                }
                RedirectError::LoginRequired => OAuthError::invalid_request("login required"),
                RedirectError::Failed(failure) => OAuthError::Failed(failure),
            },
            AuthorizeError::UnknownClient => OAuthError::InvalidClient,
            AuthorizeError::InvalidRedirectUri => OAuthError::invalid_request(
                "redirect_uri is missing or not one the client registered",
            ),
            AuthorizeError::Failed(failure) => OAuthError::Failed(failure),
            AuthorizeError::UnknownRequestUri
            | AuthorizeError::QueryTooLong
            | AuthorizeError::Malformed
            | AuthorizeError::BodyTooLarge
            | AuthorizeError::InvalidLogoutRequest
            | AuthorizeError::Forbidden => {
                OAuthError::invalid_request("the authorization request is malformed")
            }
        }
    }
}

/// Everything that converts into the domain's `Failure` (the store's error among them).
impl<E: Into<Failure>> From<E> for AuthorizeError {
    fn from(error: E) -> Self {
        AuthorizeError::Failed(error.into())
    }
}

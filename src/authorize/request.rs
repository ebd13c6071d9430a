//! The authorization request (RFC 6749 §4.1.1, §4.2.1; RFC 7636 §4.3): its parameters, and
//! their validation in the one order that decides whether an error may redirect.

use std::sync::Arc;

use super::error::{AuthorizeError, RedirectError};
use super::redirect::{ResponseMode, Target};
pub use super::response_type::ResponseType;
use crate::clock::UnixTime;
use crate::dpop;
use crate::params::Params;
use crate::pkce;
use crate::records::{Client, Clients, GrantType};
use crate::scope::Scope;

/// The authorization request parameters carried through the login form (`ui_locales` is
/// ignored, README, "OpenID Connect").
const REQUEST_PARAMETERS: [&str; 12] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "nonce",
    "max_age",
    "login_hint",
    "dpop_jkt",
];

/// Where an authorization request's parameters come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// The query string, or the login form's fields: refused for a client that requires
    /// pushed requests (RFC 9126 §5).
    Sent,
    /// The body of a POST to /par, being pushed (RFC 9126 §2.1).
    Pushing,
    /// A pushed request: taken by its `request_uri`, or opened from the login form's seal,
    /// which carries it until `form_until` (README, "Pushed authorization requests").
    Pushed { form_until: UnixTime },
}

/// `prompt` (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// Show the form even with a live session.
    Login,
    /// Never show the form: a session, or `login_required`.
    None,
}

/// A validated authorization request.
#[derive(Debug)]
pub struct AuthRequest {
    pub client: Arc<Client>,
    pub target: Target,
    /// Whether `redirect_uri` was sent: then /token must get the same (RFC 6749 §4.1.3).
    pub redirect_uri_sent: bool,
    pub response_type: ResponseType,
    pub scope: Scope,
    pub code_challenge: Option<String>,
    pub prompt: Option<Prompt>,
    /// OpenID Connect `nonce`, returned in the ID token.
    pub nonce: Option<String>,
    /// OpenID Connect `max_age`: seconds since the user last authenticated, at most.
    pub max_age: Option<u64>,
    /// OpenID Connect `login_hint`: pre-fills the username.
    pub login_hint: Option<String>,
    /// RFC 9449 §10 `dpop_jkt`: the thumbprint of the key the code is redeemed with.
    pub dpop_jkt: Option<String>,
    /// The request's parameters as sent (`client_id` always), for the login form's hidden
    /// fields, or for the store when pushed.
    pub hidden: Vec<(&'static str, String)>,
    pub origin: Origin,
}

/// Validates in the order that decides whether an error may redirect (RFC 6749 §4.1.2.1): client,
/// redirect_uri (errors so far show a page), then response_type, scope, PKCE, prompt (errors from
/// here on redirect).
pub fn validate(
    clients: &Clients,
    issuer: &str,
    params: &Params,
    origin: Origin,
) -> Result<AuthRequest, AuthorizeError> {
    let client = named_client(clients, params)?;
    validate_for(client, issuer, params, origin)
}

/// The client `client_id` names: missing, repeated or unknown, nobody to send the user back to.
pub fn named_client(clients: &Clients, params: &Params) -> Result<Arc<Client>, AuthorizeError> {
    let client_id = params
        .one("client_id")
        .map_err(|_| AuthorizeError::UnknownClient)?
        .ok_or(AuthorizeError::UnknownClient)?;
    let client = clients
        .get(client_id)
        .ok_or(AuthorizeError::UnknownClient)?
        .clone();
    crate::logging::record_client_id(client.id.as_str());
    Ok(client)
}

/// [`validate`] for a client already known: the one a pushed request was stored for, or the
/// one /par authenticated (whose body need not repeat `client_id`).
pub fn validate_for(
    client: Arc<Client>,
    issuer: &str,
    params: &Params,
    origin: Origin,
) -> Result<AuthRequest, AuthorizeError> {
    let sent = params
        .one("redirect_uri")
        .map_err(|_| AuthorizeError::InvalidRedirectUri)?;
    let redirect_uri = match (sent, client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => uri.to_owned(),
        (None, [only]) => only.clone(),
        _ => return Err(AuthorizeError::InvalidRedirectUri),
    };

    let mode = match params.one("response_type") {
        Ok(Some(value)) => ResponseType::parse(value).map_or(ResponseMode::Query, |t| t.mode()),
        _ => ResponseMode::Query,
    };
    let target = Target {
        redirect_uri,
        mode,
        state: params.one("state").ok().flatten().map(str::to_owned),
        issuer: issuer.to_owned(),
    };
    let fail = |error| AuthorizeError::redirect(&target, error);
    if let Some(repeated) = params.repeated() {
        return Err(AuthorizeError::invalid_request(
            &target,
            repeated.to_string(),
        ));
    }
    let one = |name| params.one(name).ok().flatten();
    // Discovery says `request_parameter_supported` and `request_uri_parameter_supported` are
    // false: a request carried that way is refused, not answered from the bare parameters.
    if params.get("request").is_some() {
        return Err(fail(RedirectError::RequestNotSupported));
    }
    if params.get("request_uri").is_some() {
        return Err(fail(RedirectError::RequestUriNotSupported));
    }
    if origin == Origin::Sent && client.require_pushed_authorization_requests {
        return Err(AuthorizeError::invalid_request(
            &target,
            "this client must push its authorization requests to /par first (RFC 9126)",
        ));
    }

    let response_type = match one("response_type") {
        None => {
            return Err(AuthorizeError::invalid_request(
                &target,
                "response_type is required",
            ));
        }
        Some(value) => ResponseType::parse(value)
            .ok_or_else(|| fail(RedirectError::UnsupportedResponseType))?,
    };
    let grant = match response_type {
        ResponseType::Code => GrantType::AuthorizationCode,
        _ => GrantType::Implicit,
    };
    if !client.allows(grant) {
        return Err(fail(RedirectError::UnauthorizedClient));
    }

    let scope = Scope::narrow_for_user(&client.scopes, one("scope"))
        .ok_or_else(|| fail(RedirectError::InvalidScope))?;
    let nonce = one("nonce").map(str::to_owned);
    if response_type.has_id_token() {
        // OpenID Connect Core §3.2.2.1: an ID token from /authorize answers an OpenID
        // request, and the nonce is what binds it to the client's session.
        if !scope.has_openid() {
            return Err(AuthorizeError::invalid_request(
                &target,
                "response_type id_token needs the openid scope",
            ));
        }
        if nonce.is_none() {
            return Err(AuthorizeError::invalid_request(
                &target,
                "nonce is required with response_type id_token",
            ));
        }
    }
    let max_age = match one("max_age") {
        None => None,
        Some(value) => Some(value.parse::<u64>().map_err(|_| {
            AuthorizeError::invalid_request(&target, "max_age must be a number of seconds")
        })?),
    };

    let code_challenge = match (one("code_challenge"), one("code_challenge_method")) {
        (None, None) => None,
        (Some(challenge), Some("S256")) if pkce::is_s256_challenge(challenge) => {
            Some(challenge.to_owned())
        }
        (Some(_), Some("S256")) => {
            return Err(AuthorizeError::invalid_request(
                &target,
                "code_challenge must be 43 base64url characters (RFC 7636 §4.2)",
            ));
        }
        (Some(_), None) | (_, Some(_)) => {
            return Err(AuthorizeError::invalid_request(
                &target,
                "code_challenge_method must be S256, with a code_challenge",
            ));
        }
    };
    if response_type == ResponseType::Code && client.requires_pkce() && code_challenge.is_none() {
        return Err(AuthorizeError::invalid_request(
            &target,
            "this client must use PKCE (code_challenge with S256)",
        ));
    }

    // RFC 9449 §10: binds the code; a token from /authorize itself cannot be bound.
    let dpop_jkt = match one("dpop_jkt") {
        Some(jkt) if !dpop::is_thumbprint(jkt) => {
            return Err(AuthorizeError::invalid_request(
                &target,
                "dpop_jkt must be a JWK SHA-256 thumbprint, 43 base64url characters",
            ));
        }
        jkt => jkt
            .filter(|_| response_type == ResponseType::Code)
            .map(str::to_owned),
    };

    let prompt = match one("prompt") {
        None => None,
        Some("login") => Some(Prompt::Login),
        Some("none") => Some(Prompt::None),
        Some(_) => {
            return Err(AuthorizeError::invalid_request(
                &target,
                "prompt must be login or none",
            ));
        }
    };

    let hidden = std::iter::once(("client_id", client.id.clone()))
        .chain(
            REQUEST_PARAMETERS
                .into_iter()
                .filter(|name| *name != "client_id")
                .filter_map(|name| one(name).map(|value| (name, value.to_owned()))),
        )
        .collect();
    Ok(AuthRequest {
        client,
        target,
        redirect_uri_sent: sent.is_some(),
        response_type,
        scope,
        code_challenge,
        prompt,
        nonce,
        max_age,
        login_hint: one("login_hint").map(str::to_owned),
        dpop_jkt,
        hidden,
        origin,
    })
}

//! `GET /logout` asks; its CSRF-protected `POST` ends the SSO session, so no other site can
//! sign users out with a link or an image. OpenID Connect RP-Initiated Logout 1.0: the client
//! (named by `client_id` or by the audience of an `id_token_hint` we signed) may ask to get
//! the user back at one of its registered `post_logout_redirect_uris`, with its `state`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::csrf;
use super::error::AuthorizeError;
use super::page::{self, LogoutPage};
use crate::id_token::IdClaims;
use crate::params::Params;
use crate::records::Clients;
use crate::state::AppState;

/// A validated way back to the client after signing out.
#[derive(Debug, PartialEq, Eq)]
struct Return {
    client_id: String,
    client_name: String,
    uri: String,
    state: Option<String>,
}

/// `GET /logout`: the confirmation form (RP-Initiated Logout 1.0 parameters are carried on).
#[utoipa::path(
    get,
    path = "/logout",
    tag = "login",
    params(
        ("id_token_hint" = Option<String>, Query),
        ("client_id" = Option<String>, Query),
        ("post_logout_redirect_uri" = Option<String>, Query),
        ("state" = Option<String>, Query),
    ),
    responses(
        (status = 200, description = "The confirmation form", content_type = "text/html"),
        (status = 400, description = "An unregistered post-logout redirect URI or a bad hint: \
            an error page, never a redirect", content_type = "text/html"),
        (status = 414, description = "Query over 8 KiB", content_type = "text/html"),
    ),
)]
pub async fn confirm(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AuthorizeError> {
    let query = query.unwrap_or_default();
    if query.len() > super::MAX_QUERY {
        return Err(AuthorizeError::QueryTooLong);
    }
    let params = Params::from_form(query.as_bytes()).map_err(|_| AuthorizeError::Malformed)?;
    let hint = params
        .one("id_token_hint")
        .map_err(|_| AuthorizeError::Malformed)?;
    // RP-Initiated Logout §2: the hint may have expired; only our signature matters.
    let hinted = match hint {
        Some(hint) => Some(
            state
                .keys
                .verify_id_token::<IdClaims>(hint)
                .filter(|claims| claims.iss == state.config.settings.issuer_base())
                .ok_or(AuthorizeError::InvalidLogoutRequest)?
                .aud,
        ),
        None => None,
    };
    let back = way_back(&state.config.clients, &params, hinted.as_deref())?;
    let csrf = csrf::token(
        state.keys.rng(),
        state.config.settings.issuer_is_https(),
        &headers,
    )?;
    let hidden: Vec<(&'static str, String)> = back.as_ref().map_or_else(Vec::new, |back| {
        let mut hidden = vec![
            ("client_id", back.client_id.clone()),
            ("post_logout_redirect_uri", back.uri.clone()),
        ];
        hidden.extend(back.state.clone().map(|state| ("state", state)));
        hidden
    });
    let mut response = page::html(
        StatusCode::OK,
        &LogoutPage {
            csrf_token: &csrf.value,
            client_name: back.as_ref().map(|b| b.client_name.as_str()),
            hidden: &hidden,
        },
    );
    if let Some(cookie) = csrf.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

/// The confirmation form of `POST /logout`.
// A description only: the handler reads the fields one by one.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
struct LogoutForm {
    /// Equal to the `ts_csrf` cookie.
    #[schema(pattern = r"^[A-Za-z0-9_-]{43}$")]
    csrf_token: String,
    /// With `post_logout_redirect_uri`: the client to go back to.
    client_id: Option<String>,
    /// Exactly one of the client's registered `post_logout_redirect_uris`.
    post_logout_redirect_uri: Option<String>,
    /// Sent back with the redirect.
    state: Option<String>,
}

/// `POST /logout`: ends the SSO session (CSRF-protected).
#[utoipa::path(
    post,
    path = "/logout",
    tag = "login",
    params(
        ("ts_csrf" = String, Cookie, description = "The CSRF cookie the confirmation form set, \
            equal to the form's `csrf_token` (`__Host-ts_csrf` under an https issuer)"),
    ),
    request_body(description = "`csrf_token` and the confirmation form's hidden fields",
        content((LogoutForm = "application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "Signed out", content_type = "text/html"),
        (status = 303, description = "Back to the client's post-logout redirect URI with `state`",
            headers(("location" = String))),
        (status = 400, description = "An unknown client or an unregistered post-logout \
            redirect URI: an error page, never a redirect", content_type = "text/html"),
        (status = 403, description = "The CSRF cookie and field differ", content_type = "text/html"),
        (status = 413, description = "Form over 64 KiB", content_type = "text/html"),
        (status = 503, description = "The store is down: the session could not be ended",
            content_type = "text/html", headers(("retry-after" = String))),
    ),
)]
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AuthorizeError> {
    let body = body.map_err(|_| AuthorizeError::BodyTooLarge)?;
    let params = Params::from_form(&body).map_err(|_| AuthorizeError::Forbidden)?;
    let field = params
        .one(csrf::FIELD)
        .map_err(|_| AuthorizeError::Forbidden)?;
    csrf::verify(&headers, state.config.settings.issuer_is_https(), field)?;
    // Checked again: the form's fields are as untrusted as the query was.
    let back = way_back(&state.config.clients, &params, None)?;
    let expired = super::sessions(&state).end(&headers).await?;
    let mut response = match back {
        Some(back) => redirect(&back)?,
        None => page::message(
            StatusCode::OK,
            "Signed out",
            "You are signed out. Applications you used may keep you signed in to them until their own sessions end.",
        ),
    };
    response.headers_mut().append(header::SET_COOKIE, expired);
    Ok(response)
}

/// The way back the request asks for, if any: `post_logout_redirect_uri` exactly one of the
/// client's registered ones, the client named by `client_id` and by the hint's audience
/// alike. Anything else is an error page, never a redirect.
fn way_back(
    clients: &Clients,
    params: &Params,
    hinted: Option<&str>,
) -> Result<Option<Return>, AuthorizeError> {
    let one = |name| params.one(name).map_err(|_| AuthorizeError::Malformed);
    let client_id = match (one("client_id")?, hinted) {
        (Some(id), Some(hinted)) if id != hinted => {
            return Err(AuthorizeError::InvalidLogoutRequest);
        }
        (Some(id), _) | (None, Some(id)) => Some(id),
        (None, None) => None,
    };
    let Some(uri) = one("post_logout_redirect_uri")? else {
        return Ok(None);
    };
    let client = client_id
        .and_then(|id| clients.get(id))
        .ok_or(AuthorizeError::UnknownClient)?;
    if !client.post_logout_redirect_uris.iter().any(|r| r == uri) {
        return Err(AuthorizeError::InvalidRedirectUri);
    }
    Ok(Some(Return {
        client_id: client.id.clone(),
        client_name: client.name.clone(),
        uri: uri.to_owned(),
        state: one("state")?.map(str::to_owned),
    }))
}

/// 303 to the registered URI, with `state` added to its query (RP-Initiated Logout §3).
fn redirect(back: &Return) -> Result<Response, AuthorizeError> {
    let mut url = Url::parse(&back.uri).map_err(|_| AuthorizeError::InvalidRedirectUri)?;
    if let Some(state) = &back.state {
        url.query_pairs_mut().append_pair("state", state);
    }
    let location =
        HeaderValue::from_str(url.as_str()).map_err(|_| AuthorizeError::InvalidRedirectUri)?;
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

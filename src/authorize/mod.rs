//! `GET /authorize` and the login form's `POST` (RFC 6749 §4.1, §4.2; README, "The login page"):
//! validate the request (sent, or pushed to /par and named by its `request_uri`, RFC 9126),
//! use the SSO session or show the login page, then answer with a code or a token at the
//! client's redirect_uri. Also `/logout` and, in development, `/demo/callback`.

mod cookie;
mod csrf;
pub mod demo;
mod error;
mod issue;
pub mod logout;
mod page;
pub mod pushed;
mod redirect;
mod request;
mod response_type;
mod seal;
mod session;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;

use self::error::AuthorizeError;
use self::issue::Issuer;
use self::page::LoginPage;
use self::request::{AuthRequest, Origin, Prompt};
use self::session::{Sessions, SignedIn};
use crate::clock::UnixTime;
use crate::params::Params;
use crate::state::AppState;
use crate::users::LoginFailure;

/// Longest query string /authorize reads (README, "Endpoints").
const MAX_QUERY: usize = 8 * 1024;
/// Longest login form body: the request's parameters plus the credentials.
const MAX_FORM: usize = 16 * 1024;
/// One message for an unknown user and a wrong password (README, "Endpoints").
const BAD_CREDENTIALS: &str = "Invalid username or password.";

/// The routes of the login page; `/demo/callback` only when the config file enables it.
pub fn router(state: &AppState) -> Router<AppState> {
    let router = Router::new()
        .route("/authorize", get(authorize).post(login))
        .route("/logout", get(logout::confirm).post(logout::sign_out));
    if state.config.demo {
        router.route("/demo/callback", get(demo::callback))
    } else {
        router
    }
}

/// `GET /authorize`: with a live session (and no `prompt=login`) straight back to the client,
/// else the login page (or `login_required` for `prompt=none`).
#[utoipa::path(
    get,
    path = "/authorize",
    tag = "login",
    params(
        ("response_type" = Option<String>, Query, description = "`code`, `token`, `id_token \
            token` or `id_token` (the names of a pair in either order); required unless \
            `request_uri` names a pushed request",
            pattern = r"^(code|token|id_token|id_token token|token id_token)$"),
        ("client_id" = String, Query, min_length = 1),
        ("redirect_uri" = Option<String>, Query, description = "Exactly a registered one; may be \
            omitted when the client registered only one"),
        ("scope" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("code_challenge" = Option<String>, Query, description = "RFC 7636 §4.2, S256: 43 \
            base64url characters", pattern = r"^([A-Za-z0-9_-]{43})?$"),
        ("code_challenge_method" = Option<String>, Query, description = "`S256`, with a \
            `code_challenge`", pattern = r"^(S256)?$"),
        ("prompt" = Option<String>, Query, description = "`none` or `login`",
            pattern = r"^(none|login)?$"),
        ("nonce" = Option<String>, Query),
        ("max_age" = Option<u64>, Query, description = "Seconds", format = "uint64",
            exclusive_maximum = 18446744073709551616.0),
        ("login_hint" = Option<String>, Query),
        ("dpop_jkt" = Option<String>, Query, description = "RFC 9449 §10: the JWK SHA-256 \
            thumbprint of the DPoP key the code is then redeemed with (with a proof by another \
            key, or none, it is `invalid_grant`)", pattern = r"^([A-Za-z0-9_-]{43})?$"),
        ("request_uri" = Option<String>, Query, description = "A request_uri from /par (RFC \
            9126 §4), single use, for the client that pushed it: its parameters are used and \
            the query's others, but `client_id`, are not read. Any other value is refused \
            (`request_uri_not_supported`)"),
    ),
    responses(
        (status = 200, description = "The login page", content_type = "text/html"),
        (status = 303, description = "Back to the client's redirect URI with a code, a token or \
            an error (RFC 6749 §4.1.2, §4.2.2), always with `state` and `iss` (RFC 9207)",
            headers(("location" = String))),
        (status = 400, description = "Unknown client or unregistered redirect URI, or a \
            request_uri of /par that is unknown, used, expired or another client's: an error \
            page, never a redirect", content_type = "text/html"),
        (status = 414, description = "Query over 8 KiB", content_type = "text/html"),
        (status = 503, description = "The store is down and there is nowhere safe to send the \
            user", content_type = "text/html", headers(("retry-after" = String))),
    ),
)]
pub async fn authorize(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Result<Response, AuthorizeError> {
    let now = state.clock.now();
    let query = query.unwrap_or_default();
    if query.len() > MAX_QUERY {
        return Err(AuthorizeError::QueryTooLong);
    }
    let params = Params::from_form(query.as_bytes()).map_err(|_| AuthorizeError::Malformed)?;
    let request = match pushed::request_uri(&params) {
        Some(request_uri) => {
            let (clients, issuer) = (&state.config.clients, state.config.settings.issuer_base());
            pushed::take(&state.store, clients, issuer, &params, request_uri, now).await?
        }
        None => validate(&state, &params, Origin::Sent)?,
    };
    session_or_form(&state, &headers, &request, now)
        .await
        .map_err(|e| e.back_to(&request.target))
}

async fn session_or_form(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    now: UnixTime,
) -> Result<Response, AuthorizeError> {
    if request.prompt != Some(Prompt::Login)
        && let Some(signed_in) = sessions(state).current(headers, now).await?
        && fresh_enough(request, &signed_in, now)
    {
        return issuer(state).respond(request, &signed_in, now).await;
    }
    if request.prompt == Some(Prompt::None) {
        return Err(AuthorizeError::redirect(
            &request.target,
            error::RedirectError::LoginRequired,
        ));
    }
    let hint = request.login_hint.as_deref().unwrap_or_default();
    login_page(state, headers, request, hint, None, StatusCode::OK)
}

/// `max_age` (OpenID Connect Core §3.1.2.1): a session whose sign-in is older needs a new
/// one, as if there were none; `0` asks for one every time, like `prompt=login`.
fn fresh_enough(request: &AuthRequest, signed_in: &SignedIn, now: UnixTime) -> bool {
    request
        .max_age
        .is_none_or(|max_age| max_age > 0 && now <= signed_in.auth_time.saturating_add(max_age))
}

/// `POST /authorize`: the login form. Re-validates the request, checks the CSRF token, logs
/// in, starts the SSO session and answers 303 to the client.
#[utoipa::path(
    post,
    path = "/authorize",
    tag = "login",
    params(
        ("ts_csrf" = String, Cookie, description = "The CSRF cookie the login page set, equal \
            to the form's `csrf_token` (`__Host-ts_csrf` under an https issuer)"),
    ),
    request_body(description = "The authorization request's parameters (or, for a pushed \
        request, `pushed_request`), `csrf_token`, `username` and `password`",
        content(("application/x-www-form-urlencoded"))),
    responses(
        (status = 200, description = "The login page again, after wrong credentials", content_type = "text/html"),
        (status = 303, description = "Back to the client's redirect URI with a code, a token or \
            an error (RFC 6749 §4.1.2, §4.2.2), always with `state` and `iss` (RFC 9207)",
            headers(("location" = String))),
        (status = 400, description = "Unknown client or unregistered redirect URI: an error \
            page, never a redirect", content_type = "text/html"),
        (status = 403, description = "The CSRF cookie and field differ, or `pushed_request` \
            does not open for this browser or has expired", content_type = "text/html"),
        (status = 413, description = "Form over 16 KiB", content_type = "text/html"),
        (status = 429, description = "Too many failed logins for the username",
            content_type = "text/html", headers(("retry-after" = String))),
    ),
)]
pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AuthorizeError> {
    let now = state.clock.now();
    let body = body.map_err(|_| AuthorizeError::BodyTooLarge)?;
    if body.len() > MAX_FORM {
        return Err(AuthorizeError::BodyTooLarge);
    }
    let params = Params::from_form(&body).map_err(|_| AuthorizeError::Malformed)?;
    // A pushed request comes back sealed (`seal`); the form's own fields are the request
    // otherwise, and refused for a client that requires pushed requests.
    let request = match params.get(seal::FIELD) {
        Some(sealed) => {
            let (clients, issuer) = (&state.config.clients, state.config.settings.issuer_base());
            let csrf = params.get(csrf::FIELD);
            pushed::from_form(&state.keys, clients, issuer, sealed, csrf, now)?
        }
        None => validate(&state, &params, Origin::Sent)?,
    };
    if let Some(repeated) = params.repeated() {
        return Err(AuthorizeError::invalid_request(
            &request.target,
            repeated.to_string(),
        ));
    }
    csrf::verify(
        &headers,
        state.config.settings.issuer_is_https(),
        params.get(csrf::FIELD),
    )?;
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password").unwrap_or_default();
    sign_in(&state, &headers, &request, username, password, now)
        .await
        .map_err(|e| e.back_to(&request.target))
}

/// Checks the credentials; on success starts the SSO session and answers the client.
async fn sign_in(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    username: &str,
    password: &str,
    now: UnixTime,
) -> Result<Response, AuthorizeError> {
    // An empty field is answered like wrong credentials, without counting a failure.
    let outcome = if username.is_empty() || password.is_empty() {
        Err(LoginFailure::BadCredentials)
    } else {
        state.login().check(username, password).await
    };
    let user = match outcome {
        Ok(user) => user,
        Err(LoginFailure::BadCredentials) => {
            return login_page(
                state,
                headers,
                request,
                username,
                Some(BAD_CREDENTIALS),
                StatusCode::OK,
            );
        }
        Err(LoginFailure::Throttled(wait)) => {
            let wait = wait.max(1);
            let message = format!("Too many failed sign-in attempts. Try again in {wait} seconds.");
            let mut response = login_page(
                state,
                headers,
                request,
                username,
                Some(&message),
                StatusCode::TOO_MANY_REQUESTS,
            )?;
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait));
            return Ok(response);
        }
        Err(LoginFailure::Failed(failure)) => return Err(failure.into()),
    };
    let (cookie, sid) = sessions(state).start(&user.username, now).await?;
    let signed_in = SignedIn {
        user,
        auth_time: now,
        sid: Some(sid),
    };
    let mut response = issuer(state).respond(request, &signed_in, now).await?;
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthRequest,
    username: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Result<Response, AuthorizeError> {
    let csrf = csrf::token(
        state.keys.rng(),
        state.config.settings.issuer_is_https(),
        headers,
    )?;
    let sealed;
    let hidden = match request.origin {
        Origin::Pushed { form_until } => {
            let seal = seal::seal(&state.keys, &request.hidden, &csrf.value, form_until);
            sealed = [(seal::FIELD, seal)];
            &sealed[..]
        }
        Origin::Sent | Origin::Pushing => &request.hidden[..],
    };
    let page = LoginPage {
        client_name: &request.client.name,
        hidden,
        csrf_token: &csrf.value,
        username,
        message,
    };
    let mut response = page::html(status, &page);
    if let Some(cookie) = csrf.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

fn validate(
    state: &AppState,
    params: &Params,
    origin: Origin,
) -> Result<AuthRequest, AuthorizeError> {
    let issuer = state.config.settings.issuer_base();
    request::validate(&state.config.clients, issuer, params, origin)
}

fn sessions(state: &AppState) -> Sessions<'_> {
    let settings = &state.config.settings;
    Sessions {
        store: &state.store,
        users: &state.config.users,
        rng: state.keys.rng(),
        ttl: settings.session_ttl,
        secure: settings.issuer_is_https(),
    }
}

fn issuer(state: &AppState) -> Issuer<'_> {
    Issuer {
        store: &state.store,
        minter: state.minter(),
        id_tokens: state.id_tokens(),
        code_ttl: state.config.settings.auth_code_ttl,
    }
}

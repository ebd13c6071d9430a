//! `GET /logout` asks; its CSRF-protected `POST` ends the SSO session, so no other site can
//! sign users out with a link or an image.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::csrf;
use super::error::AuthorizeError;
use super::page::{self, LogoutPage};
use crate::params::Params;
use crate::state::AppState;

pub async fn confirm(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AuthorizeError> {
    let csrf = csrf::token(
        state.keys.rng(),
        state.config.settings.issuer_is_https(),
        &headers,
    )?;
    let mut response = page::html(
        StatusCode::OK,
        &LogoutPage {
            csrf_token: &csrf.value,
        },
    );
    if let Some(cookie) = csrf.set_cookie {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    Ok(response)
}

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
    let expired = super::sessions(&state).end(&headers).await?;
    let mut response = page::message(
        StatusCode::OK,
        "Signed out",
        "You are signed out. Applications you used may keep you signed in to them until their own sessions end.",
    );
    response.headers_mut().append(header::SET_COOKIE, expired);
    Ok(response)
}

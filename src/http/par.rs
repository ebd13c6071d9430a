//! `POST /par` (RFC 9126 §2): a client pushes its authorization request, authenticated as at
//! /token, and gets a single-use `request_uri` to send the browser to /authorize with.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::extract::Form;
use super::token::no_store;
use super::{credentials, dpop};
use crate::authorize::pushed::{self, PushedResponse};
use crate::error::{OAuthError, OAuthErrors};
use crate::state::AppState;

/// Validates and keeps an authorization request (RFC 9126 §2.1, §2.2).
#[utoipa::path(
    post,
    path = "/par",
    tag = "oauth",
    request_body(
        description = "The authorization request's parameters, as `GET /authorize` takes them, \
                       form-encoded (RFC 9126 §2.1) or as a JSON object, with the client's \
                       credentials in HTTP Basic or in the body; never a `request_uri`",
    ),
    params(
        ("DPoP" = Option<String>, Header, description = "A DPoP proof (RFC 9449 §10.1): `htm` \
            `POST`, `htu` the issuer's `/par`; the code is then bound to its key, as by \
            `dpop_jkt`, which if sent must be its thumbprint"),
    ),
    responses(
        (status = 201, description = "The request_uri for /authorize (RFC 9126 §2.2), never \
            cached", body = PushedResponse, headers(("cache-control" = String), ("pragma" = String),
                ("dpop-nonce" = String, description = "With a DPoP proof and \
                    `TS_DPOP_NONCE`: the nonce for the next proof (RFC 9449 §8)"))),
        OAuthErrors,
    ),
    security((), ("client_secret_basic" = [])),
)]
pub async fn par(
    State(state): State<AppState>,
    Form { headers, params }: Form,
) -> Result<Response, OAuthError> {
    let now = state.clock.now();
    let client = credentials::authenticate(&state, &headers, &params, "/par", now).await?;
    let issuer = state.config.settings.issuer_base();
    let mut pushed = pushed::check(&client, issuer, &params)?;
    // A DPoP proof here binds the code to its key (RFC 9449 §10.1): its thumbprint joins
    // `pushed` as `dpop_jkt`, which /authorize then reads like any pushed parameter. A
    // `dpop_jkt` sent beside it must name the same key.
    let proof = dpop::accept_post(&state, &headers, "/par", now).await?;
    if let Some(proof) = &proof {
        match pushed.iter().find(|(name, _)| name == "dpop_jkt") {
            Some((_, jkt)) if *jkt != proof.jkt => {
                return Err(OAuthError::invalid_dpop_proof(
                    "dpop_jkt names another key than the DPoP proof's",
                ));
            }
            Some(_) => {}
            None => pushed.push(("dpop_jkt".to_owned(), proof.jkt.clone())),
        }
    }
    let body = pushed::store(&state.store, state.keys.rng(), &client.id, pushed, now).await?;
    let response = no_store((StatusCode::CREATED, Json(body)));
    match proof {
        Some(_) => Ok(dpop::with_nonce(response, state.dpop().next_nonce(now))),
        None => Ok(response),
    }
}

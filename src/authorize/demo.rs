//! `GET /demo/callback` (only when the config file says `demo = true`): a redirect URI on the
//! service itself, so the whole login flow can be tried with a browser and curl alone. It
//! shows the code it received and the command that redeems it.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::page::{self, DemoPage};
use crate::params::Params;
use crate::state::AppState;

/// The example client of the original API description, as config/dev.toml registers it
/// (the demo is a development aid; these are the documented development credentials).
const EXAMPLE_CLIENT_ID: &str = "BA779C49-4D93-4785-9596-25805A24C5DC";
const EXAMPLE_CLIENT_SECRET: &str = "4AD3CE00-8ED5-4F0A-A979-ACE64A15207C";

/// A redirect URI on the service itself, for trying the login flow with a browser and curl.
#[utoipa::path(
    get,
    path = "/demo/callback",
    tag = "login",
    description = "Served only when the config file sets `demo = true` (development).",
    params(
        ("code" = Option<String>, Query),
        ("state" = Option<String>, Query),
        ("iss" = Option<String>, Query),
        ("error" = Option<String>, Query),
        ("error_description" = Option<String>, Query),
    ),
    responses((status = 200, description = "What the authorization response carried, and the \
        command that redeems a code", content_type = "text/html")),
)]
pub async fn callback(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let params = Params::from_form(query.unwrap_or_default().as_bytes()).unwrap_or_default();
    let one = |name| params.get(name);
    let code = one("code");
    let base = base_url(&state, &headers);
    // A code is shown in a shell command only if it is one of ours: a crafted link must not
    // put shell syntax into something a developer copies and pastes.
    let curl = code
        .filter(|c| crate::token::is_opaque(c))
        .map(|code| curl_command(&base, code));
    page::html(
        StatusCode::OK,
        &DemoPage {
            code,
            curl,
            code_ttl: state.config.settings.auth_code_ttl,
            state: one("state"),
            iss: one("iss"),
            error: one("error"),
            error_description: one("error_description"),
            signed_out: code.is_none()
                && one("error").is_none()
                && one("iss").is_none()
                && one("state").is_some(),
        },
    )
}

/// `scheme://host` as the browser reached this page, so the command's redirect_uri matches
/// the one registered (localhost or 127.0.0.1); the issuer when the Host header is odd.
fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    let settings = &state.config.settings;
    let scheme = if settings.issuer_is_https() {
        "https"
    } else {
        "http"
    };
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes().all(|b| {
                    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                })
        })
        .map_or_else(
            || settings.issuer_base().to_owned(),
            |host| format!("{scheme}://{host}"),
        )
}

fn curl_command(base: &str, code: &str) -> String {
    format!(
        "curl -s {base}/token -H 'Content-Type: application/json' -d '{{
    \"grant_type\": \"authorization_code\",
    \"client_id\": \"{EXAMPLE_CLIENT_ID}\",
    \"client_secret\": \"{EXAMPLE_CLIENT_SECRET}\",
    \"code\": \"{code}\",
    \"redirect_uri\": \"{base}/demo/callback\"
}}'"
    )
}

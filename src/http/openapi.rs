//! `GET /openapi.json`: the OpenAPI 3.1 description of the HTTP API (README, "Endpoints"),
//! generated from the handlers' own `#[utoipa::path]` attributes and the types they send and
//! receive, so it cannot drift from them.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::Value;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "token-service",
        description = "An OAuth 2.0 and OpenID Connect token service: JWT access tokens \
                       (RFC 9068) verified offline against the JWKS, rotating refresh tokens, \
                       an SSO login page.",
        license(name = "MIT"),
    ),
    paths(
        super::token::token,
        super::revoke::revoke,
        super::introspect::introspect,
        super::userinfo::get,
        super::userinfo::post,
        super::discovery::jwks,
        super::discovery::metadata,
        super::discovery::openid_configuration,
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        openapi,
        crate::authorize::authorize,
        crate::authorize::login,
        crate::authorize::logout::confirm,
        crate::authorize::logout::sign_out,
        crate::authorize::demo::callback,
    ),
    components(schemas(ErrorBody<'static>)),
    modifiers(&ClientAuthentication),
)]
struct ApiDoc;

/// The security schemes the operations name.
struct ClientAuthentication;

impl Modify for ClientAuthentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "client_secret_basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The description as JSON.
pub fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap_or(Value::Null)
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "metadata",
    responses((status = 200, description = "This description", body = Object)),
)]
pub async fn openapi() -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(document()),
    )
}

//! `GET /openapi.json`: the OpenAPI 3.1 description of the HTTP API (README, "Endpoints"),
//! generated from the handlers' own `#[utoipa::path]` attributes and the types they send and
//! receive, so it cannot drift from them.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, Discriminator, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr, Required};
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
        super::par::par,
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
    components(schemas(ErrorBody<'static>, super::userinfo::UserinfoForm)),
    modifiers(&ClientAuthentication, &RequestBodies, &AuthorizationRequests, &Links),
)]
struct ApiDoc;

/// The security schemes the operations name. OpenAPI has no scheme for credentials in the
/// body, so the client-authenticated operations list "none" (`{}`) beside HTTP Basic, and the
/// scheme's description and the request bodies say what the body carries instead.
struct ClientAuthentication;

impl Modify for ClientAuthentication {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some(
            "`client_secret_basic`: the client id and secret, each form-encoded (RFC 6749 \
             §2.3.1). Operations that also accept no scheme (`{}`) take the client's \
             credentials in the body instead: `client_id` and `client_secret` \
             (`client_secret_post`), `client_assertion_type` and `client_assertion` \
             (`private_key_jwt`, RFC 7523 §2.2: a JWT signed with one of the client's \
             registered keys, by ES256, EdDSA, PS256 or RS256), or `client_id` alone for a \
             public client. Never two of these in one request."
                .to_owned(),
        );
        components.add_security_scheme("client_secret_basic", SecurityScheme::Http(basic));
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The request bodies of `/token`, `/revoke` and `/introspect`. Each variant of
/// `TokenRequest` becomes a schema of its own, named by its title, and `grant_type` tells
/// them apart (an OpenAPI discriminator), so a reader or a generator of requests sees which
/// members go with which grant (RFC 6749 §4.1.3, §4.3.2, §4.4.2, §6). Every one of these
/// bodies may carry the client's credentials instead of HTTP Basic (RFC 6749 §2.3.1).
struct RequestBodies;

impl Modify for RequestBodies {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(components) = openapi.components.as_mut() else {
            return;
        };
        if let Some(RefOr::T(Schema::Object(params))) = components.schemas.get_mut("TokenParams") {
            with_body_credentials(params);
            text_parameters(params);
        }
        let Some(RefOr::T(Schema::OneOf(one_of))) = components.schemas.get_mut("TokenRequest")
        else {
            return;
        };
        let mut discriminator = Discriminator::new("grant_type");
        let mut named = Vec::new();
        for item in &mut one_of.items {
            let RefOr::T(Schema::Object(object)) = item else {
                continue;
            };
            let (Some(title), Some(grant_type)) = (object.title.clone(), grant_type(object)) else {
                continue;
            };
            with_body_credentials(object);
            text_parameters(object);
            let reference = format!("#/components/schemas/{title}");
            discriminator.mapping.insert(grant_type, reference.clone());
            named.push((title, std::mem::replace(item, Ref::new(reference).into())));
        }
        one_of.discriminator = Some(discriminator);
        components.schemas.extend(named);
    }
}

/// The one value a variant's `grant_type` may take.
fn grant_type(object: &Object) -> Option<String> {
    let Some(RefOr::T(Schema::Object(property))) = object.properties.get("grant_type") else {
        return None;
    };
    match property.enum_values.as_deref() {
        Some([Value::String(value)]) => Some(value.clone()),
        _ => None,
    }
}

/// Adds the body's alternatives to HTTP Basic: `client_id` and `client_secret`, or a client
/// assertion (RFC 7523 §2.2); a public client sends `client_id` alone.
fn with_body_credentials(object: &mut Object) {
    for (name, description) in [
        (
            "client_id",
            "The client; beside HTTP Basic, only the same one; beside an assertion, its `iss`",
        ),
        (
            "client_secret",
            "Its secret (`client_secret_post`), unless it authenticates with HTTP Basic or an \
             assertion (never two of them)",
        ),
        (
            "client_assertion_type",
            "With `client_assertion` (`private_key_jwt`, RFC 7523 §2.2): \
             `urn:ietf:params:oauth:client-assertion-type:jwt-bearer`",
        ),
        (
            "client_assertion",
            "`private_key_jwt`: a JWS by one of the client's registered keys (ES256, EdDSA, \
             PS256 or RS256) with `iss` and `sub` the client id, `aud` the issuer or this \
             endpoint's URL, `exp` at most an hour ahead, and a `jti` used once (RFC 7523 §3); never beside a secret \
             or HTTP Basic",
        ),
    ] {
        let property = ObjectBuilder::new()
            .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
            .description(Some(description))
            .build();
        object.properties.insert(name.to_owned(), property.into());
    }
}

/// Every parameter is text (RFC 6749 §3.1, a form): in a JSON body the service reads a number
/// as its text and `null` as absent, so every member but `grant_type` may be one (the
/// optional ones already say `null`). Members it does not know are no different: a value
/// that is none of these, or a parameter sent twice, is `invalid_request` whatever its name.
fn text_parameters(object: &mut Object) {
    for (name, property) in object.properties.iter_mut() {
        let RefOr::T(Schema::Object(property)) = property else {
            continue;
        };
        let mut types = match &property.schema_type {
            SchemaType::Type(one) => vec![one.clone()],
            SchemaType::Array(several) => several.clone(),
            SchemaType::AnyValue => continue,
        };
        if name == "grant_type" || !types.contains(&Type::String) || types.contains(&Type::Number) {
            continue;
        }
        types.insert(1, Type::Number);
        property.schema_type = SchemaType::Array(types);
    }
    let other = ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([
            Type::String,
            Type::Number,
            Type::Null,
        ]))
        .build();
    object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(other.into())));
}

/// The bodies that carry an authorization request: the login form `POST /authorize` reads
/// (the request's parameters as `GET /authorize` takes them, which the page carries in hidden
/// fields, or the seal of a pushed one, plus `csrf_token`, `username` and `password`), and the
/// request a client pushes to `/par` (the same parameters, form-encoded or JSON, with the
/// client's credentials, RFC 9126 §2.1). Both are built from the query parameters of
/// `GET /authorize`, with their constraints, so they cannot drift from it.
struct AuthorizationRequests;

impl Modify for AuthorizationRequests {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let Some(parameters) = openapi
            .paths
            .paths
            .get("/authorize")
            .and_then(|item| item.get.as_ref())
            .and_then(|get| get.parameters.clone())
        else {
            return;
        };
        let text = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .description(Some(description))
        };
        let form = authorization_parameters(&parameters)
            .property(
                "pushed_request",
                text("The login page's seal of a pushed request, in place of its parameters"),
            )
            .property(
                "csrf_token",
                text("Equal to the `ts_csrf` cookie").pattern(Some(r"^[A-Za-z0-9_-]{43}$")),
            )
            .required("csrf_token")
            .property(
                "username",
                text("Empty answers the form again, as wrong credentials do"),
            )
            .property(
                "password",
                text("Empty answers the form again, as wrong credentials do"),
            )
            .build();
        let mut pushed = authorization_parameters(&parameters)
            .required("response_type")
            .build();
        pushed.required.retain(|name| name != "client_id");
        with_body_credentials(&mut pushed);
        text_parameters(&mut pushed);
        let paths = &mut openapi.paths.paths;
        let bodies = [
            (
                "/authorize",
                vec![("application/x-www-form-urlencoded", form)],
            ),
            (
                "/par",
                vec![
                    ("application/x-www-form-urlencoded", pushed.clone()),
                    ("application/json", pushed),
                ],
            ),
        ];
        for (path, contents) in bodies {
            let Some(RefOr::T(body)) = paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
                .and_then(|post| post.request_body.as_mut())
            else {
                continue;
            };
            // A body described without content has one of no media type (""), which no
            // request can carry: the media types are these.
            body.content.retain(|media_type, _| !media_type.is_empty());
            for (content_type, schema) in contents {
                body.content
                    .insert(content_type.to_owned(), Content::new(Some(schema)).into());
            }
            body.required = Some(Required::True);
        }
    }
}

/// An object of the query parameters of `GET /authorize` but `request_uri` (a pushed request
/// is never pushed again, and the form carries its seal instead), each with its description.
fn authorization_parameters(
    parameters: &[RefOr<utoipa::openapi::path::Parameter>],
) -> ObjectBuilder {
    let mut object = ObjectBuilder::new().schema_type(Type::Object);
    for parameter in parameters {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        let Some(schema) = parameter.schema.clone() else {
            continue;
        };
        if parameter.name == "request_uri" {
            continue;
        }
        let schema = match (schema, &parameter.description) {
            (RefOr::T(Schema::Object(mut object)), Some(description)) => {
                object.description = Some(description.clone());
                RefOr::T(Schema::Object(object))
            }
            (schema, _) => schema,
        };
        object = object.property(&parameter.name, schema);
        if parameter.required == Required::True {
            object = object.required(&parameter.name);
        }
    }
    object
}

/// OpenAPI links (Link Objects) from the operations that answer with a token to those that
/// take one: a token from `/token` introspects and revokes, a token just revoked or
/// introspected goes on to the other, a request_uri from `/par` goes to `/authorize`. A
/// client, or a stateful fuzzer, can follow them.
struct Links;

impl Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let links = [
            (
                "/token",
                "IntrospectAccessToken",
                "introspect",
                json!({"token": "$response.body#/access_token"}),
                "Describe the access token just issued",
            ),
            (
                "/token",
                "IntrospectRefreshToken",
                "introspect",
                json!({"token": "$response.body#/refresh_token"}),
                "Describe the refresh token just issued",
            ),
            (
                "/token",
                "RevokeRefreshToken",
                "revoke",
                json!({"token": "$response.body#/refresh_token", "token_type_hint": "refresh_token"}),
                "Revoke the refresh token just issued, and its family",
            ),
            (
                "/token",
                "RefreshTokenGrant",
                "token",
                json!({"grant_type": "refresh_token", "refresh_token": "$response.body#/refresh_token"}),
                "Redeem the refresh token just issued (RFC 6749 §6)",
            ),
            (
                "/introspect",
                "RevokeIntrospected",
                "revoke",
                json!({"token": "$request.body#/token"}),
                "Revoke the token just described",
            ),
            (
                "/revoke",
                "IntrospectRevoked",
                "introspect",
                json!({"token": "$request.body#/token"}),
                "Describe the token just revoked: inactive",
            ),
        ];
        for (path, name, target, body, description) in links {
            let Some(operation) = openapi
                .paths
                .paths
                .get_mut(path)
                .and_then(|item| item.post.as_mut())
            else {
                continue;
            };
            let Some(RefOr::T(ok)) = operation.responses.responses.get_mut("200") else {
                continue;
            };
            let link = LinkBuilder::new()
                .operation_id(target)
                .request_body(Some(body))
                .description(description)
                .build();
            ok.links.insert(name.to_owned(), link.into());
        }
        // The request_uri /par answers opens the login page for the pushed request (RFC 9126
        // §4), with the client that pushed it.
        if let Some(RefOr::T(created)) = openapi
            .paths
            .paths
            .get_mut("/par")
            .and_then(|item| item.post.as_mut())
            .and_then(|operation| operation.responses.responses.get_mut("201"))
        {
            let link = LinkBuilder::new()
                .operation_id("authorize")
                .parameter("client_id", "$request.body#/client_id")
                .parameter("request_uri", "$response.body#/request_uri")
                .description("Open the login page for the request just pushed")
                .build();
            created
                .links
                .insert("AuthorizePushedRequest".to_owned(), link.into());
        }
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

//! `GET /openapi.json`: an OpenAPI 3.1 description generated from the handlers, naming every
//! endpoint, both encodings of `/token` with one schema per grant, the error body, and the
//! links between the token endpoints; every operation it describes is routed. (The CI fuzzes
//! a live instance against it with schemathesis, tests/api/fuzz.sh.)

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

const ENDPOINTS: &[(&str, &str)] = &[
    ("post", "/token"),
    ("post", "/par"),
    ("post", "/revoke"),
    ("post", "/introspect"),
    ("get", "/userinfo"),
    ("post", "/userinfo"),
    ("get", "/authorize"),
    ("post", "/authorize"),
    ("get", "/logout"),
    ("post", "/logout"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/.well-known/oauth-authorization-server"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/demo/callback"),
];

async fn document(app: &TestApp) -> Value {
    let response = app.get("/openapi.json").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    response.json()
}

#[tokio::test]
async fn the_description_is_openapi_3_1_and_names_every_endpoint() {
    let doc = document(&TestApp::new()).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    for (method, path) in ENDPOINTS {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is not described"
        );
    }
    let described: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|operations| operations.as_object().unwrap().len())
        .sum();
    assert_eq!(
        described,
        ENDPOINTS.len(),
        "an operation nobody listed here"
    );
}

#[tokio::test]
async fn the_token_endpoint_takes_both_encodings_and_names_its_errors() {
    let doc = document(&TestApp::new()).await;
    let token = &doc["paths"]["/token"]["post"];
    let content = token["requestBody"]["content"].as_object().unwrap();
    assert!(content.contains_key("application/json"));
    assert!(content.contains_key("application/x-www-form-urlencoded"));
    for status in ["200", "400", "401", "413", "429", "500", "503"] {
        assert!(token["responses"][status].is_object(), "no {status}");
    }
    assert!(token["responses"]["401"]["headers"]["www-authenticate"].is_object());
    assert!(token["responses"]["503"]["headers"]["retry-after"].is_object());
    let error = &doc["components"]["schemas"]["ErrorBody"];
    assert_eq!(
        error["required"],
        serde_json::json!(["error", "error_description"])
    );
}

#[tokio::test]
async fn every_described_operation_is_routed() {
    let app = TestApp::new();
    let doc = document(&app).await;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let request = request(&method.to_uppercase(), path)
                .body(axum::body::Body::empty())
                .unwrap();
            let status = app.request(request).await.status;
            assert!(
                status != StatusCode::NOT_FOUND && status != StatusCode::METHOD_NOT_ALLOWED,
                "{method} {path} answered {status}"
            );
        }
    }
}

#[tokio::test]
async fn each_grant_has_a_request_schema_of_its_own_told_apart_by_grant_type() {
    let doc = document(&TestApp::new()).await;
    let schemas = &doc["components"]["schemas"];
    let request = &schemas["TokenRequest"];
    assert_eq!(request["discriminator"]["propertyName"], "grant_type");
    let mapping = request["discriminator"]["mapping"].as_object().unwrap();
    for grant in [
        "authorization_code",
        "password",
        "client_credentials",
        "refresh_token",
    ] {
        let reference = mapping[grant].as_str().unwrap();
        let name = reference.strip_prefix("#/components/schemas/").unwrap();
        let schema = &schemas[name];
        assert_eq!(schema["properties"]["grant_type"]["enum"], json!([grant]));
        assert!(
            schema["required"]
                .as_array()
                .unwrap()
                .contains(&json!("grant_type"))
        );
        assert!(schema["properties"]["client_secret"].is_object(), "{name}");
        assert!(
            request["oneOf"]
                .as_array()
                .unwrap()
                .contains(&json!({"$ref": reference})),
            "{grant} is not one of the request's schemas"
        );
    }
    let password = &schemas["PasswordRequest"];
    assert_eq!(password["properties"]["username"]["minLength"], 1);
    let body = &doc["paths"]["/token"]["post"]["requestBody"]["content"];
    for media_type in ["application/json", "application/x-www-form-urlencoded"] {
        assert_eq!(
            body[media_type]["schema"]["$ref"],
            "#/components/schemas/TokenRequest"
        );
    }
}

#[tokio::test]
async fn introspect_and_revoke_take_an_object_with_a_token_and_credentials_anywhere() {
    let doc = document(&TestApp::new()).await;
    let params = &doc["components"]["schemas"]["TokenParams"];
    assert_eq!(params["type"], "object", "{params}");
    assert_eq!(params["required"], json!(["token"]));
    for path in ["/introspect", "/revoke"] {
        let operation = &doc["paths"][path]["post"];
        assert_eq!(operation["requestBody"]["required"], true, "{path}");
        for media_type in ["application/json", "application/x-www-form-urlencoded"] {
            assert_eq!(
                operation["requestBody"]["content"][media_type]["schema"]["$ref"],
                "#/components/schemas/TokenParams",
                "{path} {media_type}"
            );
        }
        // Body credentials do as well as HTTP Basic (RFC 6749 §2.3.1).
        assert_eq!(
            operation["security"],
            json!([{}, {"client_secret_basic": []}]),
            "{path}"
        );
    }
}

#[tokio::test]
async fn links_lead_from_a_token_to_its_introspection_and_revocation_and_back() {
    let doc = document(&TestApp::new()).await;
    let links = |path: &str| doc["paths"][path]["post"]["responses"]["200"]["links"].clone();
    let issued = links("/token");
    assert_eq!(issued["IntrospectAccessToken"]["operationId"], "introspect");
    assert_eq!(
        issued["IntrospectAccessToken"]["requestBody"]["token"],
        "$response.body#/access_token"
    );
    assert_eq!(issued["RevokeRefreshToken"]["operationId"], "revoke");
    assert_eq!(
        issued["RevokeRefreshToken"]["requestBody"]["token"],
        "$response.body#/refresh_token"
    );
    let revoked = links("/revoke");
    assert_eq!(revoked["IntrospectRevoked"]["operationId"], "introspect");
    assert_eq!(
        revoked["IntrospectRevoked"]["requestBody"]["token"],
        "$request.body#/token"
    );
    let introspected = links("/introspect");
    assert_eq!(introspected["RevokeIntrospected"]["operationId"], "revoke");
}

#[tokio::test]
async fn every_client_authenticated_body_describes_the_client_assertion_and_basic_names_it() {
    let doc = document(&TestApp::new()).await;
    let schemas = &doc["components"]["schemas"];
    for name in [
        "TokenParams",
        "AuthorizationCodeRequest",
        "PasswordRequest",
        "ClientCredentialsRequest",
        "RefreshTokenRequest",
    ] {
        for member in ["client_assertion_type", "client_assertion"] {
            let property = &schemas[name]["properties"][member];
            assert!(
                property["description"]
                    .as_str()
                    .is_some_and(|d| d.contains("private_key_jwt")),
                "{name}.{member}: {property}"
            );
        }
    }
    let pushed = &doc["paths"]["/par"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"]["properties"];
    for member in ["client_assertion_type", "client_assertion"] {
        assert!(pushed[member].is_object(), "/par {member}: {pushed}");
    }
    let basic = &doc["components"]["securitySchemes"]["client_secret_basic"];
    assert_eq!(basic["scheme"], "basic");
    let description = basic["description"].as_str().unwrap();
    for named in ["client_secret_post", "private_key_jwt", "client_assertion"] {
        assert!(description.contains(named), "{description}");
    }
}

#[tokio::test]
async fn the_dpop_header_and_nonce_are_described_at_token_and_userinfo() {
    let doc = document(&TestApp::new()).await;
    for (method, path) in [
        ("post", "/token"),
        ("get", "/userinfo"),
        ("post", "/userinfo"),
    ] {
        let operation = &doc["paths"][path][method];
        let parameters = operation["parameters"].as_array().unwrap();
        assert!(
            parameters
                .iter()
                .any(|p| p["name"] == "DPoP" && p["in"] == "header"),
            "{method} {path}: {parameters:?}"
        );
        assert!(
            operation["responses"]["200"]["headers"]["dpop-nonce"].is_object(),
            "{method} {path}"
        );
    }
    let token_type = &doc["components"]["schemas"]["TokenResponse"]["properties"]["token_type"];
    assert_eq!(token_type["examples"], json!(["Bearer", "DPoP"]));
}

#[tokio::test]
async fn every_request_body_names_its_media_types() {
    let doc = document(&TestApp::new()).await;
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            let Some(content) = operation["requestBody"]["content"].as_object() else {
                continue;
            };
            assert!(
                content.keys().all(|media_type| media_type.contains('/')),
                "{method} {path}: {:?}",
                content.keys().collect::<Vec<_>>()
            );
        }
    }
}

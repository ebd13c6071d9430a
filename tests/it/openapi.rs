//! `GET /openapi.json` (README, "Endpoints"): an OpenAPI 3.1 description generated from the handlers,
//! naming every endpoint, both encodings of `/token`, and the error body; every operation it
//! describes is routed. (The CI fuzzes a live instance against it with schemathesis.)

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::*;

const ENDPOINTS: &[(&str, &str)] = &[
    ("post", "/token"),
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

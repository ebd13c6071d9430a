//! `POST /token` for password, client_credentials and refresh_token (README, "Endpoints"; README, "What is stored"), with the
//! original API description's JSON bodies, form bodies and HTTP Basic; every token verified
//! through the JWKS over HTTP.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::*;

fn password_body() -> Value {
    json!({
        "grant_type": "password",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "username": USERNAME,
        "password": PASSWORD,
    })
}

fn assert_token_response(response: &TestResponse, scope: &str, with_refresh: bool) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("pragma"), Some("no-cache"));
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 900);
    assert_eq!(body["scope"], scope);
    assert!(
        body["access_token"]
            .as_str()
            .is_some_and(|t| t.split('.').count() == 3)
    );
    assert_eq!(body["refresh_token"].is_string(), with_refresh, "{body}");
    body
}

#[tokio::test]
async fn password_grant_with_the_original_json_body_issues_tokens_that_verify_through_the_jwks() {
    let app = TestApp::dev();
    let server = TestServer::spawn(app.state.clone()).await;
    let before = real_now();
    let response = app.post_json("/token", &password_body()).await;
    let body = assert_token_response(&response, "read write", true);

    let (typ, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["iss"], "http://localhost:8080");
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["aud"], "https://api.example.com");
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["name"], "John Smith");
    assert_eq!(claims["roles"], json!(["admin"]));
    let iat = claims["iat"].as_u64().unwrap();
    // The manual clock was set when the app was built, possibly a second before `before`.
    assert_eq!(iat, app.clock.now());
    assert!(iat <= before && before <= real_now());
    assert_eq!(claims["nbf"], iat);
    assert_eq!(claims["exp"], iat + 900);
    assert_eq!(claims["auth_time"], iat);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 22, "128-bit jti");
}

#[tokio::test]
async fn password_grant_accepts_a_form_body_with_http_basic() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "password"),
                ("username", USERNAME),
                ("password", PASSWORD),
            ],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_token_response(&response, "read write", true);
}

#[tokio::test]
async fn password_grant_with_a_wrong_password_is_invalid_grant_without_naming_the_cause() {
    let app = TestApp::new();
    let mut body = password_body();
    body["password"] = json!("wrong");
    let wrong_password = app.post_json("/token", &body).await;
    wrong_password.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    body["username"] = json!("nobody");
    let unknown_user = app.post_json("/token", &body).await;
    unknown_user.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(wrong_password.json(), unknown_user.json());
}

#[tokio::test]
async fn client_credentials_with_the_original_json_body_issues_a_client_token() {
    let app = TestApp::dev();
    let server = TestServer::spawn(app.state.clone()).await;
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            }),
        )
        .await;
    let body = assert_token_response(&response, "read write", true);
    let (_, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], CLIENT_ID);
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert!(claims.get("auth_time").is_none());
    assert!(claims.get("name").is_none());
}

#[tokio::test]
async fn client_credentials_only_client_gets_no_refresh_token() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CC_CLIENT, CC_SECRET)),
        )
        .await;
    let body = assert_token_response(&response, "reports:read", false);
    let server = TestServer::spawn(app.state.clone()).await;
    let (_, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        "https://reports.example.com",
    )
    .await;
    assert_eq!(claims["sub"], CC_CLIENT);
}

#[tokio::test]
async fn refresh_token_grant_with_the_original_json_body_rotates_the_refresh_token() {
    let app = TestApp::dev();
    let first = app.password_tokens().await;
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": first["refresh_token"],
            }),
        )
        .await;
    let body = assert_token_response(&response, "read write", true);
    assert_ne!(body["refresh_token"], first["refresh_token"]);
    let server = TestServer::spawn(app.state.clone()).await;
    let (_, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["name"], "John Smith");
}

#[tokio::test]
async fn requested_scope_narrows_the_grant() {
    let app = TestApp::new();
    let mut body = password_body();
    body["scope"] = json!("read");
    let response = app.post_json("/token", &body).await;
    assert_token_response(&response, "read", true);
}

#[tokio::test]
async fn scope_beyond_the_clients_scopes_is_invalid_scope() {
    let app = TestApp::new();
    let mut body = password_body();
    body["scope"] = json!("read admin");
    app.post_json("/token", &body)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

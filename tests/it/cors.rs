//! CORS on `/token` (README, "Endpoints"): the origins of registered redirect URIs only, preflights for
//! `POST` with `Authorization` and `Content-Type`, nothing at all for any other origin.

use axum::body::Body;
use axum::http::{HeaderMap, StatusCode, header};

use crate::common::*;

/// The origin of demo-spa's `http://localhost:3000/callback`.
const REGISTERED: &str = "http://localhost:3000";
const EVIL: &str = "https://evil.example";

async fn post_token_from(app: &TestApp, origin: &str) -> TestResponse {
    app.request(
        request("POST", "/token")
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form(&[
                ("grant_type", "refresh_token"),
                ("client_id", PUBLIC_CLIENT),
                ("refresh_token", "unknown"),
            ])))
            .unwrap(),
    )
    .await
}

async fn preflight_from(app: &TestApp, origin: &str) -> TestResponse {
    app.request(
        request("OPTIONS", "/token")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization, content-type",
            )
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

fn list(headers: &HeaderMap, name: header::HeaderName) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| v.to_str().unwrap().split(','))
        .map(|v| v.trim().to_ascii_lowercase())
        .collect()
}

fn assert_no_cors_headers(response: &TestResponse) {
    let cors: Vec<_> = response
        .headers
        .keys()
        .filter(|k| k.as_str().starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{cors:?}");
}

#[tokio::test]
async fn token_from_a_registered_origin_allows_that_origin_and_varies_on_origin() {
    let app = TestApp::new();
    let response = post_token_from(&app, REGISTERED).await;
    // The request itself fails (unknown token): the browser app must still read the error.
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(REGISTERED)
    );
    assert!(list(&response.headers, header::VARY).contains(&"origin".to_owned()));
}

#[tokio::test]
async fn a_successful_token_response_to_a_registered_origin_carries_cors_headers() {
    let app = TestApp::new();
    let response = app
        .request(
            request("POST", "/token")
                .header(header::ORIGIN, "http://localhost:8080")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::AUTHORIZATION, basic_auth(CLIENT_ID, CLIENT_SECRET))
                .body(Body::from("grant_type=client_credentials"))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );
}

#[tokio::test]
async fn preflight_from_a_registered_origin_allows_post_with_authorization_and_content_type() {
    let app = TestApp::new();
    let response = preflight_from(&app, REGISTERED).await;
    assert!(response.status.is_success(), "{}", response.status);
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(REGISTERED)
    );
    assert!(list(&response.headers, header::ACCESS_CONTROL_ALLOW_METHODS).contains(&"post".into()));
    let allowed = list(&response.headers, header::ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(allowed.contains(&"authorization".into()), "{allowed:?}");
    assert!(allowed.contains(&"content-type".into()), "{allowed:?}");
    assert!(list(&response.headers, header::VARY).contains(&"origin".to_owned()));
}

#[tokio::test]
async fn a_browser_app_may_send_a_dpop_proof_and_read_the_dpop_nonce() {
    let app = TestApp::new();
    let response = preflight_from(&app, REGISTERED).await;
    let allowed = list(&response.headers, header::ACCESS_CONTROL_ALLOW_HEADERS);
    assert!(allowed.contains(&"dpop".into()), "{allowed:?}");
    let response = post_token_from(&app, REGISTERED).await;
    let exposed = list(&response.headers, header::ACCESS_CONTROL_EXPOSE_HEADERS);
    assert!(exposed.contains(&"dpop-nonce".into()), "{exposed:?}");
    let response = app
        .request(
            request("GET", "/userinfo")
                .header(header::ORIGIN, "https://any.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let exposed = list(&response.headers, header::ACCESS_CONTROL_EXPOSE_HEADERS);
    assert_eq!(exposed, ["dpop-nonce", "www-authenticate"]);
}

#[tokio::test]
async fn token_from_an_unregistered_origin_gets_no_cors_headers() {
    let app = TestApp::new();
    let response = post_token_from(&app, EVIL).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    assert_no_cors_headers(&response);
}

#[tokio::test]
async fn preflight_from_an_unregistered_origin_gets_no_cors_headers() {
    let app = TestApp::new();
    let response = preflight_from(&app, EVIL).await;
    assert!(!response.status.is_success(), "{}", response.status);
    assert_no_cors_headers(&response);
}

#[tokio::test]
async fn an_origin_that_only_shares_a_prefix_with_a_registered_one_gets_no_cors_headers() {
    let app = TestApp::new();
    for origin in [
        "http://localhost:30000",
        "http://localhost:3000.evil.example",
        "https://localhost:3000",
    ] {
        let response = preflight_from(&app, origin).await;
        assert_no_cors_headers(&response);
    }
}

#[tokio::test]
async fn a_native_apps_redirect_uri_does_not_open_cors_to_the_null_origin() {
    let app = TestApp::with_vars(&[("TS_CONFIG_FILE", &fixture("config.toml"))]);
    let response = post_token_from(&app, "null").await;
    assert_no_cors_headers(&response);
    assert_no_cors_headers(&preflight_from(&app, "null").await);
}

async fn post_from(app: &TestApp, path: &str, origin: &str) -> TestResponse {
    app.request(
        request("POST", path)
            .header(header::ORIGIN, origin)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, basic_auth(CLIENT_ID, CLIENT_SECRET))
            .body(Body::from(form(&[("token", "unknown")])))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn revoke_allows_a_registered_origin() {
    let app = TestApp::new();
    let response = post_from(&app, "/revoke", REGISTERED).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.header("access-control-allow-origin"),
        Some(REGISTERED)
    );
}

#[tokio::test]
async fn introspect_and_authorize_send_no_cors_headers_even_to_a_registered_origin() {
    let app = TestApp::new();
    let introspect = post_from(&app, "/introspect", REGISTERED).await;
    assert_eq!(introspect.status, StatusCode::OK, "{}", introspect.text());
    assert_no_cors_headers(&introspect);
    let authorize = app
        .request(
            request("GET", "/authorize?response_type=code&client_id=demo-spa")
                .header(header::ORIGIN, REGISTERED)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_no_cors_headers(&authorize);
}

#[tokio::test]
async fn every_refused_preflight_is_a_405_with_allow_and_the_json_error() {
    let app = TestApp::new();
    for path in [
        "/token",
        "/revoke",
        "/introspect",
        "/authorize",
        "/.well-known/jwks.json",
    ] {
        let response = app
            .request(
                request("OPTIONS", path)
                    .header(header::ORIGIN, EVIL)
                    .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        response.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
        let allow = response
            .header("allow")
            .unwrap_or_else(|| panic!("{path}: 405 without Allow"));
        assert!(!allow.is_empty(), "{path}");
        assert_no_cors_headers(&response);
    }
}

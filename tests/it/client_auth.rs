//! Client authentication at `/token` (RFC 6749 §2.3, SPEC §6).

use axum::http::StatusCode;

use crate::common::*;

#[tokio::test]
async fn wrong_client_secret_is_invalid_client_with_www_authenticate() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, "not-the-secret")),
        )
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|h| h.starts_with("Basic"))
    );
}

#[tokio::test]
async fn secret_in_both_basic_and_body_is_invalid_request() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "client_credentials"),
            ("client_secret", CLIENT_SECRET),
        ],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn basic_with_the_same_client_id_in_the_body_is_accepted() {
    let app = TestApp::new();
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
            ],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

#[tokio::test]
async fn a_client_not_allowed_the_grant_is_unauthorized_client() {
    let app = TestApp::new();
    app.post_form(
        "/token",
        &[
            ("grant_type", "password"),
            ("username", USERNAME),
            ("password", PASSWORD),
        ],
        Some((CC_CLIENT, CC_SECRET)),
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

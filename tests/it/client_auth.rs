//! Client authentication at `/token` (RFC 6749 §2.3, README, "Endpoints").

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

async fn client_credentials(app: &TestApp, secret: &str) -> StatusCode {
    app.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Some((CC_CLIENT, secret)),
    )
    .await
    .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_first_requests_with_the_right_secret_run_argon2_once() {
    let app = std::sync::Arc::new(TestApp::new());
    let requests: Vec<_> = (0..10)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { client_credentials(&app, CC_SECRET).await })
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(argon2_runs(&app).await, 1);
    for _ in 0..5 {
        assert_eq!(client_credentials(&app, CC_SECRET).await, StatusCode::OK);
    }
    assert_eq!(
        argon2_runs(&app).await,
        1,
        "later requests use the cached digest"
    );
}

#[tokio::test]
async fn wrong_secrets_are_never_cached() {
    let app = TestApp::new();
    for run in 1..=3 {
        assert_eq!(
            client_credentials(&app, "wrong").await,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            argon2_runs(&app).await,
            run,
            "each wrong secret costs argon2"
        );
    }
    assert_eq!(client_credentials(&app, CC_SECRET).await, StatusCode::OK);
}

#[tokio::test]
async fn once_the_secret_is_verified_another_is_invalid_client_without_argon2() {
    let app = TestApp::new();
    assert_eq!(client_credentials(&app, CC_SECRET).await, StatusCode::OK);
    assert_eq!(argon2_runs(&app).await, 1);
    for secret in ["wrong", "", &format!("{CC_SECRET} ")] {
        app.post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CC_CLIENT, secret)),
        )
        .await
        .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    assert_eq!(argon2_runs(&app).await, 1, "a client has one secret");
    assert_eq!(client_credentials(&app, CC_SECRET).await, StatusCode::OK);
}

#[tokio::test]
async fn basic_credentials_are_form_decoded_before_comparison() {
    let app = TestApp::with_vars(&[("TS_CONFIG_FILE", &fixture("config.toml"))]);
    let (id, secret) = ("odd:client id", "a+b:c%3A d/é");
    // basic_auth form-encodes each half: `odd%3Aclient+id:a%2Bb%3Ac%253A+d%2F%C3%A9`.
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((id, secret)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let raw = format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{id}:{secret}")
        )
    );
    let unencoded = app
        .request(
            request("POST", "/token")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", raw)
                .body(axum::body::Body::from("grant_type=client_credentials"))
                .unwrap(),
        )
        .await;
    unencoded.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn an_unknown_username_costs_an_argon2_run_like_a_known_one() {
    let app = TestApp::new();
    let login = |username: &str| {
        serde_json::json!({
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "username": username,
            "password": "wrong",
        })
    };
    // Warm the client secret, so only password verifications are counted below.
    app.post_json("/token", &login(USERNAME)).await;
    let before = argon2_runs(&app).await;
    let known = app.post_json("/token", &login("alice")).await;
    let after_known = argon2_runs(&app).await;
    let unknown = app.post_json("/token", &login("nobody-at-all")).await;
    let after_unknown = argon2_runs(&app).await;
    assert_eq!((after_known - before, after_unknown - after_known), (1, 1));
    // And the answers cannot be told apart.
    assert_eq!(known.status, unknown.status);
    assert_eq!(known.json(), unknown.json());
}

/// A form POST to `uri` with two valid Basic credentials, each in its own header.
async fn post_with_two_authorization_headers(
    app: &TestApp,
    uri: &str,
    pairs: &[(&str, &str)],
) -> TestResponse {
    app.request(
        request("POST", uri)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", basic_auth(CLIENT_ID, CLIENT_SECRET))
            .header("authorization", basic_auth(CC_CLIENT, CC_SECRET))
            .body(axum::body::Body::from(form(pairs)))
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request_at_every_client_authenticated_endpoint() {
    let app = TestApp::new();
    for (uri, pairs) in [
        ("/token", &[("grant_type", "client_credentials")][..]),
        ("/introspect", &[("token", "anything")][..]),
        ("/revoke", &[("token", "anything")][..]),
    ] {
        let response = post_with_two_authorization_headers(&app, uri, pairs).await;
        response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
        assert_eq!(
            response.json()["error_description"],
            "more than one Authorization header",
            "{uri}"
        );
    }
}

//! `GET` and `POST /userinfo` (README, "OpenID Connect", OpenID Connect Core §5.3): the claims of a Bearer
//! access token's scopes; RFC 6750 errors; any origin.

use axum::body::Body;
use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use crate::common::oidc::*;
use crate::common::*;

async fn userinfo(app: &TestApp, method: &str, authorization: Option<&str>) -> TestResponse {
    let mut builder = request(method, "/userinfo");
    if let Some(value) = authorization {
        builder = builder.header(header::AUTHORIZATION, value);
    }
    app.request(builder.body(Body::empty()).unwrap()).await
}

async fn password_tokens_with(app: &TestApp, scope: &str) -> Value {
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "password",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "username": USERNAME,
                "password": PASSWORD,
                "scope": scope,
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

fn bearer(tokens: &Value) -> String {
    format!("Bearer {}", tokens["access_token"].as_str().unwrap())
}

fn assert_invalid_token(response: &TestResponse) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.text()
    );
    let challenge = response.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(response.json()["error"], "invalid_token");
}

#[tokio::test]
async fn userinfo_answers_sub_and_the_claims_of_the_tokens_scopes() {
    let app = TestApp::new();
    let tokens = oidc_code_tokens(&app).await;
    let response = userinfo(&app, "GET", Some(&bearer(&tokens))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(
        response.json(),
        json!({
            "sub": SUBJECT,
            "name": "John Smith",
            "given_name": "John",
            "family_name": "Smith",
            "preferred_username": USERNAME,
            "email": "jsmith@example.com",
            "email_verified": true,
        })
    );
}

#[tokio::test]
async fn userinfo_answers_post_like_get() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid email").await;
    let response = userinfo(&app, "POST", Some(&bearer(&tokens))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(
        response.json(),
        json!({"sub": SUBJECT, "email": "jsmith@example.com", "email_verified": true})
    );
}

#[tokio::test]
async fn userinfo_with_a_token_lacking_openid_is_403_insufficient_scope() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let response = userinfo(&app, "GET", Some(&bearer(&tokens))).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    let challenge = response.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(r#"Bearer error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="openid""#), "{challenge}");
    assert_eq!(response.json()["error"], "insufficient_scope");
}

#[tokio::test]
async fn userinfo_with_an_expired_token_is_401_invalid_token() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    app.clock.advance(tokens["expires_in"].as_u64().unwrap());
    assert_invalid_token(&userinfo(&app, "GET", Some(&bearer(&tokens))).await);
}

#[tokio::test]
async fn userinfo_with_a_token_signed_by_another_key_is_401_invalid_token() {
    let app = TestApp::new();
    let elsewhere = TestApp::with_vars(&[("TS_KEYS_DIR", &fixture("keys-eddsa"))]);
    let tokens = password_tokens_with(&elsewhere, "openid").await;
    assert_invalid_token(&userinfo(&app, "GET", Some(&bearer(&tokens))).await);
}

#[tokio::test]
async fn userinfo_with_a_tampered_token_is_401_invalid_token() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let mut claims = claims_of(token);
    claims["sub"] = json!("someone-else");
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        serde_json::to_vec(&claims).unwrap(),
    );
    let forged = format!("Bearer {}", parts.join("."));
    assert_invalid_token(&userinfo(&app, "GET", Some(&forged)).await);
}

#[tokio::test]
async fn userinfo_with_a_token_of_another_issuer_is_401_invalid_token() {
    let app = TestApp::new();
    let elsewhere = TestApp::with_vars(&[("TS_ISSUER", "https://other.example.com")]);
    let tokens = password_tokens_with(&elsewhere, "openid").await;
    assert_invalid_token(&userinfo(&app, "GET", Some(&bearer(&tokens))).await);
}

#[tokio::test]
async fn userinfo_without_a_token_is_401_with_a_bare_bearer_challenge() {
    let app = TestApp::new();
    let response = userinfo(&app, "GET", None).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn userinfo_allows_any_origin_and_answers_its_preflight() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    let response = app
        .request(
            request("GET", "/userinfo")
                .header(header::ORIGIN, "https://anyone.example")
                .header(header::AUTHORIZATION, bearer(&tokens))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    let preflight = app
        .request(
            request("OPTIONS", "/userinfo")
                .header(header::ORIGIN, "https://anyone.example")
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "authorization")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(preflight.status, StatusCode::NO_CONTENT);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    assert!(
        preflight
            .header("access-control-allow-headers")
            .unwrap()
            .contains("authorization")
    );
}

#[tokio::test]
async fn an_id_token_is_no_access_token_at_userinfo() {
    let app = TestApp::new();
    let tokens = oidc_code_tokens(&app).await;
    let id_token = format!("Bearer {}", tokens["id_token"].as_str().unwrap());
    assert_invalid_token(&userinfo(&app, "GET", Some(&id_token)).await);
}

#[tokio::test]
async fn userinfo_takes_the_token_from_a_posted_form_body() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let response = app
        .post_raw(
            "/userinfo",
            Some("application/x-www-form-urlencoded"),
            None,
            form(&[("access_token", token)]),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json(), json!({"sub": SUBJECT}));
}

#[tokio::test]
async fn userinfo_refuses_a_posted_body_over_64_kib_even_with_a_good_token_in_it() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    // Nine parameters of 8,000 bytes each: every one under the longest a parameter may be,
    // all of them over 64 KiB.
    let pad = "a".repeat(8000);
    let names: Vec<String> = (0..9).map(|i| format!("pad{i}")).collect();
    let mut pairs = vec![("access_token", token)];
    pairs.extend(names.iter().map(|name| (name.as_str(), pad.as_str())));
    let response = app
        .post_raw(
            "/userinfo",
            Some("application/x-www-form-urlencoded"),
            None,
            form(&pairs),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"], "invalid_request");
}

#[tokio::test]
async fn userinfo_refuses_a_token_sent_both_in_the_header_and_the_body() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {token}");
    let response = app
        .post_raw(
            "/userinfo",
            Some("application/x-www-form-urlencoded"),
            Some(bearer.as_bytes()),
            form(&[("access_token", token)]),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"], "invalid_request");
}

#[tokio::test]
async fn userinfo_refuses_two_authorization_headers_even_with_a_token_in_the_body() {
    let app = TestApp::new();
    let tokens = password_tokens_with(&app, "openid").await;
    let token = tokens["access_token"].as_str().unwrap();
    let bearer = format!("Bearer {token}");
    let response = app
        .request(
            request("POST", "/userinfo")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("authorization", &bearer)
                .header("authorization", &bearer)
                .body(axum::body::Body::from(form(&[("access_token", token)])))
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"], "invalid_request");
    assert!(
        response
            .header("www-authenticate")
            .is_some_and(|h| h.contains("invalid_request"))
    );
}

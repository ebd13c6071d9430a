//! `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662), README, "Endpoints".

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use crate::common::*;

fn client(mut body: Value) -> Value {
    body["client_id"] = json!(CLIENT_ID);
    body["client_secret"] = json!(CLIENT_SECRET);
    body
}

async fn refresh(app: &TestApp, token: &Value) -> TestResponse {
    app.post_json(
        "/token",
        &client(json!({"grant_type": "refresh_token", "refresh_token": token})),
    )
    .await
}

async fn introspect(app: &TestApp, token: &str) -> TestResponse {
    let response = app
        .post_form(
            "/introspect",
            &[("token", token)],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    response
}

fn assert_revoked(response: &TestResponse) {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
}

#[tokio::test]
async fn revoking_a_refresh_token_with_a_form_and_basic_revokes_it_and_its_successors() {
    let app = TestApp::new();
    let first = app.password_tokens().await;
    let second = refresh(&app, &first["refresh_token"]).await.json();
    let response = app
        .post_form(
            "/revoke",
            &[
                ("token", second["refresh_token"].as_str().unwrap()),
                ("token_type_hint", "refresh_token"),
            ],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_revoked(&response);
    refresh(&app, &second["refresh_token"])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_earlier_token_of_the_family_with_json_revokes_the_live_successor() {
    let app = TestApp::with_vars(&[("TS_REFRESH_REUSE_GRACE", "30")]);
    let first = app.password_tokens().await;
    let second = refresh(&app, &first["refresh_token"]).await.json();
    let response = app
        .post_json("/revoke", &client(json!({"token": first["refresh_token"]})))
        .await;
    assert_revoked(&response);
    refresh(&app, &second["refresh_token"])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn revoking_an_unknown_token_answers_200() {
    let app = TestApp::new();
    let response = app
        .post_json("/revoke", &client(json!({"token": "no-such-token"})))
        .await;
    assert_revoked(&response);
}

#[tokio::test]
async fn revoking_another_clients_token_answers_200_and_leaves_it_working() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let response = app
        .post_form(
            "/revoke",
            &[("token", tokens["refresh_token"].as_str().unwrap())],
            Some((CC_CLIENT, CC_SECRET)),
        )
        .await;
    assert_revoked(&response);
    assert_eq!(
        refresh(&app, &tokens["refresh_token"]).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revoking_an_access_token_is_unsupported_token_type() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    app.post_json("/revoke", &client(json!({"token": tokens["access_token"]})))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_token_type");
}

#[tokio::test]
async fn an_access_token_introspects_as_active_with_its_claims() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let body = introspect(&app, tokens["access_token"].as_str().unwrap())
        .await
        .json();
    let now = app.clock.now();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["sub"], SUBJECT);
    assert_eq!(body["aud"], "https://api.example.com");
    assert_eq!(body["iss"], "http://localhost:8080");
    assert_eq!(body["iat"], now);
    assert_eq!(body["exp"], now + 900);
}

#[tokio::test]
async fn an_expired_access_token_is_inactive() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    app.clock.advance(900);
    let body = introspect(&app, tokens["access_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_tampered_access_token_is_inactive() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let token = tokens["access_token"].as_str().unwrap();
    let (rest, signature) = token.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { "B" } else { "A" };
    let tampered = format!("{rest}.{flipped}{}", &signature[1..]);
    let body = introspect(&app, &tampered).await.json();
    assert_eq!(body, json!({"active": false}));
}

/// An access token the service minted, with its header replaced by the service's own header
/// (`alg`, `kid`, `typ` `at+jwt`) updated with `members` (`null` removes one), signed again
/// with the service's key file: only the header differs, and the signature holds.
async fn with_header(app: &TestApp, members: Value) -> String {
    let tokens = app.password_tokens().await;
    let payload = tokens["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let mut header = json!({"alg": "ES256", "kid": app.state.keys.signer().kid, "typ": "at+jwt"});
    for (name, value) in members.as_object().unwrap() {
        match value {
            Value::Null => header.as_object_mut().unwrap().remove(name),
            _ => header
                .as_object_mut()
                .unwrap()
                .insert(name.clone(), value.clone()),
        };
    }
    let pem = std::fs::read(&app.state.keys.signer().path).unwrap();
    let key = jsonwebtoken::EncodingKey::from_ec_pem(&pem).unwrap();
    let message = format!("{}.{payload}", URL_SAFE_NO_PAD.encode(header.to_string()));
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::ES256)
            .unwrap();
    format!("{message}.{signature}")
}

#[tokio::test]
async fn an_access_token_with_a_crit_header_is_inactive() {
    let app = TestApp::new();
    // The same forgery without `crit` is a valid access token.
    let plain = with_header(&app, json!({})).await;
    assert_eq!(introspect(&app, &plain).await.json()["active"], true);
    // RFC 7515 §4.1.11: extensions in `crit` must be understood, and none is.
    let token = with_header(&app, json!({"crit": ["exp"], "exp": app.clock.now() + 900})).await;
    let body = introspect(&app, &token).await.json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn an_access_token_typed_application_at_jwt_is_active() {
    let app = TestApp::new();
    // RFC 9068 §4: the `application/` prefix of the media type may be present.
    let token = with_header(&app, json!({"typ": "application/at+jwt"})).await;
    let body = introspect(&app, &token).await.json();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["sub"], SUBJECT);
}

#[tokio::test]
async fn an_access_token_type_is_compared_case_insensitively() {
    let app = TestApp::new();
    // RFC 7515 §4.1.9: `typ` is a media type, and those compare case-insensitively.
    let token = with_header(&app, json!({"typ": "Application/AT+JWT"})).await;
    let body = introspect(&app, &token).await.json();
    assert_eq!(body["active"], true, "{body}");
}

#[tokio::test]
async fn a_token_typed_jwt_is_inactive() {
    let app = TestApp::new();
    // What ID tokens carry (README, "OpenID Connect"): signed by the same key, but not an access token.
    let token = with_header(&app, json!({"typ": "JWT"})).await;
    let body = introspect(&app, &token).await.json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_token_without_typ_is_inactive() {
    let app = TestApp::new();
    let token = with_header(&app, json!({"typ": null})).await;
    let body = introspect(&app, &token).await.json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_live_refresh_token_introspects_as_active() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let body = introspect(&app, tokens["refresh_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], CLIENT_ID);
    assert_eq!(body["scope"], "read write");
    assert_eq!(body["sub"], SUBJECT);
    assert_eq!(body["username"], USERNAME);
    assert!(
        body.get("token_type").is_none(),
        "not a Bearer token: {body}"
    );
}

#[tokio::test]
async fn a_used_refresh_token_is_inactive() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    assert_eq!(
        refresh(&app, &tokens["refresh_token"]).await.status,
        StatusCode::OK
    );
    let body = introspect(&app, tokens["refresh_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_revoked_refresh_token_is_inactive() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let revoke = client(json!({"token": tokens["refresh_token"]}));
    assert_eq!(
        app.post_json("/revoke", &revoke).await.status,
        StatusCode::OK
    );
    let body = introspect(&app, tokens["refresh_token"].as_str().unwrap())
        .await
        .json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_token_type_hint_of_any_kind_is_accepted_and_changes_nothing() {
    // RFC 7662 §2.1, RFC 7009 §2.1: the hint may be wrong or unknown; the token decides.
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let access = tokens["access_token"].as_str().unwrap();
    for hint in ["access_token", "refresh_token", "no_such_type"] {
        let response = app
            .post_form(
                "/introspect",
                &[("token", access), ("token_type_hint", hint)],
                Some((CLIENT_ID, CLIENT_SECRET)),
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        assert_eq!(response.json()["active"], true);
    }
    let revoke = client(json!({"token": "unknown", "token_type_hint": null}));
    assert_revoked(&app.post_json("/revoke", &revoke).await);
}

#[tokio::test]
async fn garbage_is_inactive() {
    let app = TestApp::new();
    let body = introspect(&app, "not-a-token-at-all").await.json();
    assert_eq!(body, json!({"active": false}));
}

#[tokio::test]
async fn a_public_client_may_not_introspect() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let response = app
        .post_form(
            "/introspect",
            &[
                ("token", tokens["access_token"].as_str().unwrap()),
                ("client_id", PUBLIC_CLIENT),
            ],
            None,
        )
        .await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(response.header("www-authenticate").is_some());
}

#[tokio::test]
async fn introspection_without_client_authentication_is_refused() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    app.post_form(
        "/introspect",
        &[("token", tokens["access_token"].as_str().unwrap())],
        None,
    )
    .await
    .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

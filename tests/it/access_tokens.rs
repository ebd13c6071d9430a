//! Access tokens (RFC 9068, RFC 9068) checked as a resource server would: the JWKS fetched
//! over HTTP from a real server, the key chosen by `kid`, verified with jsonwebtoken. Also
//! the lifetimes, audiences, and each key algorithm and the signer choice (README, "Keys and secrets").

use std::collections::BTreeSet;

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::common::*;

const ISSUER: &str = "http://localhost:8080";
/// Kids printed by `token-service keygen` for the keys in tests/fixtures/ (checked
/// independently against RFC 7638 in discovery.rs).
const TEST_KID: &str = "urvd7BLSaynMB5R-yV_bGCPHn-kH3e9bzoLIqdeCCTM";
const EDDSA_KID: &str = "EC2vNKSRjhuoPcai7HDoRqrBHHNc_6DlEa0oqJjNOEk";
const RS256_KID: &str = "vcKhXHwFZMqvfyHhwDvBCjIAAezph0ngbqeRJEAVbug";
const OLDER_KID: &str = "MvNNurVvG9NhVa7QlrODOpK3C2fAspyF3f8dWCGWZZE";
const NEWER_KID: &str = "yuGBfz9ldvY_lCfJ6iIa310_le-xfFOHa7AhfyVz_rs";

fn fixture_config() -> TestApp {
    TestApp::with_vars(&[("TS_CONFIG_FILE", &fixture("config.toml"))])
}

async fn client_credentials(app: &TestApp, client: &str, secret: &str) -> Value {
    let response = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((client, secret)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

fn access_token(body: &Value) -> &str {
    body["access_token"].as_str().unwrap()
}

/// The JWT header as JSON, exactly as sent.
fn raw_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    serde_json::from_slice(&B64.decode(header).unwrap()).unwrap()
}

#[tokio::test]
async fn per_client_access_token_ttl_overrides_the_default() {
    let app = fixture_config();
    let server = TestServer::spawn(app.state.clone()).await;
    let body = app
        .post_form(
            "/token",
            &[
                ("grant_type", "password"),
                ("username", USERNAME),
                ("password", PASSWORD),
            ],
            Some(("short-lived", CLIENT_SECRET)),
        )
        .await
        .json();
    assert_eq!(body["expires_in"], 120, "{body}");
    let (_, claims) = resource_server::verify(&server.base, access_token(&body), ISSUER).await;
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        120
    );
}

#[tokio::test]
async fn ts_access_token_ttl_sets_the_default_lifetime() {
    let app = TestApp::with_vars(&[("TS_ACCESS_TOKEN_TTL", "600")]);
    let server = TestServer::spawn(app.state.clone()).await;
    let body = client_credentials(&app, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(body["expires_in"], 600);
    let (_, claims) =
        resource_server::verify(&server.base, access_token(&body), "https://api.example.com").await;
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        600
    );
}

#[tokio::test]
async fn client_override_wins_over_ts_access_token_ttl() {
    let app = TestApp::with_vars(&[
        ("TS_CONFIG_FILE", &fixture("config.toml")),
        ("TS_ACCESS_TOKEN_TTL", "600"),
    ]);
    let short = client_credentials(&app, "short-lived", CLIENT_SECRET).await;
    assert_eq!(short["expires_in"], 120);
    let default = client_credentials(&app, "multi-audience", CLIENT_SECRET).await;
    assert_eq!(default["expires_in"], 600);
}

#[tokio::test]
async fn audience_defaults_to_the_issuer_when_the_client_has_none() {
    let app = fixture_config();
    let server = TestServer::spawn(app.state.clone()).await;
    let body = client_credentials(&app, "short-lived", CLIENT_SECRET).await;
    let (_, claims) = resource_server::verify(&server.base, access_token(&body), ISSUER).await;
    assert_eq!(claims["aud"], ISSUER);
}

#[tokio::test]
async fn several_audiences_are_an_array() {
    let app = fixture_config();
    let server = TestServer::spawn(app.state.clone()).await;
    let body = client_credentials(&app, "multi-audience", CLIENT_SECRET).await;
    let (_, claims) =
        resource_server::verify(&server.base, access_token(&body), "https://b.example.com").await;
    assert_eq!(
        claims["aud"],
        json!(["https://a.example.com", "https://b.example.com"])
    );
}

#[tokio::test]
async fn header_is_typ_at_jwt_with_alg_and_kid_and_nothing_else() {
    let app = TestApp::new();
    let body = client_credentials(&app, CLIENT_ID, CLIENT_SECRET).await;
    assert_eq!(
        raw_header(access_token(&body)),
        json!({"typ": "at+jwt", "alg": "ES256", "kid": TEST_KID})
    );
}

#[tokio::test]
async fn every_token_has_a_distinct_128_bit_jti() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let mut jtis = BTreeSet::new();
    for _ in 0..2 {
        let body = client_credentials(&app, CLIENT_ID, CLIENT_SECRET).await;
        let (_, claims) =
            resource_server::verify(&server.base, access_token(&body), "https://api.example.com")
                .await;
        let jti = claims["jti"].as_str().unwrap().to_owned();
        assert_eq!(B64.decode(&jti).unwrap().len(), 16, "{jti}");
        jtis.insert(jti);
    }
    assert_eq!(jtis.len(), 2);
}

#[tokio::test]
async fn times_come_from_the_service_clock() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    app.clock.advance(30);
    let now = app.clock.now();
    let body = client_credentials(&app, CLIENT_ID, CLIENT_SECRET).await;
    // nbf 30 s ahead is within jsonwebtoken's default 60 s leeway.
    let (_, claims) =
        resource_server::verify(&server.base, access_token(&body), "https://api.example.com").await;
    assert_eq!(claims["iat"], now);
    assert_eq!(claims["nbf"], now);
    assert_eq!(claims["exp"], now + 900);
}

async fn token_signed_with(keys_dir: &str, signing_key: Option<&str>) -> (TestApp, String) {
    let dir = fixture(keys_dir);
    let mut vars = vec![("TS_KEYS_DIR", dir.as_str())];
    if let Some(key) = signing_key {
        vars.push(("TS_SIGNING_KEY", key));
    }
    let app = TestApp::with_vars(&vars);
    let body = client_credentials(&app, CLIENT_ID, CLIENT_SECRET).await;
    let token = access_token(&body).to_owned();
    (app, token)
}

#[tokio::test]
async fn an_eddsa_key_signs_tokens_that_verify_through_the_jwks() {
    let (app, token) = token_signed_with("keys-eddsa", None).await;
    let server = TestServer::spawn(app.state.clone()).await;
    assert_eq!(
        raw_header(&token),
        json!({"typ": "at+jwt", "alg": "EdDSA", "kid": EDDSA_KID})
    );
    let (typ, claims) =
        resource_server::verify(&server.base, &token, "https://api.example.com").await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["sub"], CLIENT_ID);
}

#[tokio::test]
async fn an_rs256_key_signs_tokens_that_verify_through_the_jwks() {
    let (app, token) = token_signed_with("keys-rs256", None).await;
    let server = TestServer::spawn(app.state.clone()).await;
    assert_eq!(
        raw_header(&token),
        json!({"typ": "at+jwt", "alg": "RS256", "kid": RS256_KID})
    );
    let (typ, claims) =
        resource_server::verify(&server.base, &token, "https://api.example.com").await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["sub"], CLIENT_ID);
}

#[tokio::test]
async fn the_last_key_by_file_name_signs_by_default() {
    let (app, token) = token_signed_with("keys-two", None).await;
    let server = TestServer::spawn(app.state.clone()).await;
    assert_eq!(raw_header(&token)["kid"], NEWER_KID);
    resource_server::verify(&server.base, &token, "https://api.example.com").await;
}

#[tokio::test]
async fn ts_signing_key_picks_the_older_key_by_kid() {
    let (app, token) = token_signed_with("keys-two", Some(OLDER_KID)).await;
    let server = TestServer::spawn(app.state.clone()).await;
    assert_eq!(raw_header(&token)["kid"], OLDER_KID);
    resource_server::verify(&server.base, &token, "https://api.example.com").await;
}

#[tokio::test]
async fn ts_signing_key_picks_the_older_key_by_file_stem() {
    let (app, token) = token_signed_with("keys-two", Some("2025-01-01-es256")).await;
    let server = TestServer::spawn(app.state.clone()).await;
    assert_eq!(raw_header(&token)["kid"], OLDER_KID);
    resource_server::verify(&server.base, &token, "https://api.example.com").await;
}

#[tokio::test]
async fn the_jwks_publishes_every_key_of_the_directory_not_only_the_signer() {
    let (app, _) = token_signed_with("keys-two", Some(OLDER_KID)).await;
    let server = TestServer::spawn(app.state.clone()).await;
    let jwks: Value = http()
        .get(server.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kids: BTreeSet<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(kids, BTreeSet::from([OLDER_KID, NEWER_KID]));
}

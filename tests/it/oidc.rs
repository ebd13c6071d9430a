//! OpenID Connect on the login page (README, "OpenID Connect"): ID tokens from the code flow, the implicit
//! flow, the password grant and refresh, verified through the JWKS over HTTP; nonce, sid,
//! at_hash, claims by scope.

use axum::http::StatusCode;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::common::login::*;
use crate::common::oidc::*;
use crate::common::*;

#[tokio::test]
async fn the_code_flow_with_openid_returns_an_id_token_for_the_client_with_the_nonce() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let tokens = oidc_code_tokens(&app).await;
    let (_, claims) = verify_id_token(
        &server.base,
        tokens["id_token"].as_str().unwrap(),
        CLIENT_ID,
    )
    .await;
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["aud"], CLIENT_ID);
    assert_eq!(claims["nonce"], NONCE);
    assert!(claims["auth_time"].as_u64().unwrap() <= claims["iat"].as_u64().unwrap());
    assert!(claims["sid"].as_str().is_some_and(|sid| !sid.is_empty()));
    // at_hash is for access tokens issued from /authorize only.
    assert!(claims.get("at_hash").is_none(), "{claims}");
    assert!(tokens["access_token"].is_string());
    assert!(tokens["scope"].as_str().unwrap().contains("openid"));
}

#[tokio::test]
async fn the_code_flow_without_openid_returns_no_id_token() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let url = authorize(&app, &mut jar, &with(&code_request(), "nonce", NONCE)).await;
    let tokens = redeem(&app, &query(&url)["code"]).await;
    assert!(tokens.get("id_token").is_none(), "{tokens}");
    assert_eq!(tokens["scope"], "read write");
}

#[tokio::test]
async fn an_id_token_lives_ts_id_token_ttl() {
    let app = TestApp::with_vars(&[("TS_ID_TOKEN_TTL", "120")]);
    let tokens = oidc_code_tokens(&app).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        claims["exp"].as_u64().unwrap(),
        claims["iat"].as_u64().unwrap() + 120
    );
}

#[tokio::test]
async fn profile_and_email_release_the_users_standard_claims_only() {
    let app = TestApp::new();
    let tokens = oidc_code_tokens(&app).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    assert_eq!(claims["name"], "John Smith");
    assert_eq!(claims["given_name"], "John");
    assert_eq!(claims["family_name"], "Smith");
    assert_eq!(claims["preferred_username"], USERNAME);
    assert_eq!(claims["email"], "jsmith@example.com");
    assert_eq!(claims["email_verified"], true);
    assert!(claims.get("roles").is_none(), "{claims}");
}

#[tokio::test]
async fn openid_alone_releases_no_profile_or_email_claims() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let request = with(&oidc_code_request(), "scope", "openid");
    let url = authorize(&app, &mut jar, &request).await;
    let tokens = redeem(&app, &query(&url)["code"]).await;
    let claims = claims_of(tokens["id_token"].as_str().unwrap());
    for name in ["name", "email", "preferred_username"] {
        assert!(claims.get(name).is_none(), "{claims}");
    }
}

#[tokio::test]
async fn the_sid_is_the_same_for_every_code_of_one_session_and_differs_between_sessions() {
    let app = TestApp::new();
    let sid =
        |tokens: &serde_json::Value| claims_of(tokens["id_token"].as_str().unwrap())["sid"].clone();
    let mut jar = Jar::default();
    let first = authorize(&app, &mut jar, &oidc_code_request()).await;
    let first = redeem(&app, &query(&first)["code"]).await;
    let second = authorize(&app, &mut jar, &oidc_code_request()).await;
    let second = redeem(&app, &query(&second)["code"]).await;
    assert_eq!(sid(&first), sid(&second));
    let other_session = oidc_code_tokens(&app).await;
    assert_ne!(sid(&first), sid(&other_session));
}

#[tokio::test]
async fn implicit_id_token_token_carries_the_at_hash_of_its_access_token_for_every_key_type() {
    for (keys, expected) in [
        ("keys", Algorithm::ES256),
        ("keys-eddsa", Algorithm::EdDSA),
        ("keys-rs256", Algorithm::RS256),
    ] {
        let app = TestApp::with_vars(&[("TS_KEYS_DIR", &fixture(keys))]);
        let server = TestServer::spawn(app.state.clone()).await;
        let mut jar = Jar::default();
        let url = authorize(&app, &mut jar, &oidc_implicit_request("id_token token")).await;
        assert_eq!(base(&url), CALLBACK);
        assert!(url.query().is_none(), "{url}");
        let params = fragment(&url);
        assert_eq!(params["state"], "xyz");
        assert_eq!(params["token_type"], "Bearer");
        let (alg, claims) = verify_id_token(&server.base, &params["id_token"], CLIENT_ID).await;
        assert_eq!(alg, expected);
        assert_eq!(claims["nonce"], NONCE);
        assert_eq!(
            claims["at_hash"],
            at_hash(alg, &params["access_token"]),
            "{keys}"
        );
        assert_eq!(claims["preferred_username"], USERNAME);
    }
}

#[tokio::test]
async fn implicit_id_token_alone_answers_no_access_token() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let url = authorize(&app, &mut jar, &oidc_implicit_request("id_token")).await;
    let params = fragment(&url);
    assert!(!params.contains_key("access_token"), "{url}");
    let claims = claims_of(&params["id_token"]);
    assert_eq!(claims["nonce"], NONCE);
    assert!(claims.get("at_hash").is_none(), "{claims}");
}

#[tokio::test]
async fn implicit_id_token_flows_without_a_nonce_redirect_invalid_request_in_the_fragment() {
    let app = TestApp::new();
    for response_type in ["id_token token", "id_token"] {
        let request = without(&oidc_implicit_request(response_type), "nonce");
        let response = app.get(&authorize_uri(&request)).await;
        let url = location(&response);
        assert_eq!(base(&url), CALLBACK);
        let params = fragment(&url);
        assert_eq!(params["error"], "invalid_request", "{url}");
        assert!(params["error_description"].contains("nonce"));
        assert_eq!(params["state"], "xyz");
    }
}

#[tokio::test]
async fn implicit_id_token_without_openid_redirects_invalid_request() {
    let app = TestApp::new();
    let request = with(&oidc_implicit_request("id_token token"), "scope", "read");
    let response = app.get(&authorize_uri(&request)).await;
    let params = fragment(&location(&response));
    assert_eq!(params["error"], "invalid_request");
}

#[tokio::test]
async fn the_password_grant_with_openid_returns_an_id_token() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "password",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "username": USERNAME,
                "password": PASSWORD,
                "scope": "openid email",
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    let (_, claims) =
        verify_id_token(&server.base, body["id_token"].as_str().unwrap(), CLIENT_ID).await;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["email"], "jsmith@example.com");
    assert!(claims.get("nonce").is_none());
}

#[tokio::test]
async fn the_password_grant_without_openid_returns_no_id_token() {
    let app = TestApp::new();
    let body = app.password_tokens().await;
    assert!(body.get("id_token").is_none(), "{body}");
}

#[tokio::test]
async fn a_refresh_of_an_openid_family_returns_a_fresh_id_token_with_the_original_auth_time() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let tokens = oidc_code_tokens(&app).await;
    let first = claims_of(tokens["id_token"].as_str().unwrap());
    app.clock.advance(30);
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": tokens["refresh_token"],
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    let (_, claims) =
        verify_id_token(&server.base, body["id_token"].as_str().unwrap(), CLIENT_ID).await;
    assert_eq!(claims["sub"], first["sub"]);
    assert_eq!(claims["auth_time"], first["auth_time"]);
    assert_eq!(
        claims["iat"].as_u64().unwrap(),
        first["iat"].as_u64().unwrap() + 30
    );
}

#[tokio::test]
async fn a_refresh_of_a_family_without_openid_returns_no_id_token() {
    let app = TestApp::new();
    let tokens = app.password_tokens().await;
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": tokens["refresh_token"],
            }),
        )
        .await;
    assert!(response.json().get("id_token").is_none());
}

#[tokio::test]
async fn client_credentials_cannot_ask_for_openid() {
    let app = TestApp::new();
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": "openid",
            }),
        )
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
}

#[tokio::test]
async fn on_redis_the_nonce_and_sid_travel_with_the_code_and_the_session() {
    let redis = redis::RedisServer::shared();
    let prefix = redis::unique_prefix("oidc");
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &redis.url()), ("TS_REDIS_PREFIX", &prefix)]);
    let mut jar = Jar::default();
    let first = authorize(&app, &mut jar, &oidc_code_request()).await;
    let first = claims_of(
        redeem(&app, &query(&first)["code"]).await["id_token"]
            .as_str()
            .unwrap(),
    );
    // The second code comes from the stored session (SSO), not from the sign-in.
    let second = authorize(&app, &mut jar, &oidc_code_request()).await;
    let second = claims_of(
        redeem(&app, &query(&second)["code"]).await["id_token"]
            .as_str()
            .unwrap(),
    );
    assert_eq!(first["nonce"], NONCE);
    assert_eq!(second["nonce"], NONCE);
    assert!(first["sid"].is_string());
    assert_eq!(first["sid"], second["sid"]);
}

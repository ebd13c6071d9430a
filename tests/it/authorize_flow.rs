//! The whole flow over HTTP (README, "Endpoints"; README, "What is stored"): SSO sessions and prompt, redeeming codes at /token
//! (JSON and form, confidential and PKCE), single use and replay, expiry on the manual clock,
//! the implicit grant, logout, the demo callback, and the same on a real Redis.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::login::*;
use crate::common::*;

/// A code for `request`: by the live session if the jar has one, else by signing in.
async fn code_for(app: &TestApp, jar: &mut Jar, request: &[(&str, &str)]) -> String {
    let mut response = jar.get_page(app, &authorize_uri(request)).await;
    if response.status == StatusCode::OK {
        response = jar.sign_in(app, request, USERNAME, PASSWORD).await;
    }
    query(&location(&response))["code"].clone()
}

fn redeem_body(code: &str) -> Value {
    json!({
        "grant_type": "authorization_code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "code": code,
        "redirect_uri": CALLBACK,
    })
}

fn spa_redeem_body(code: &str, verifier: &str) -> Value {
    json!({
        "grant_type": "authorization_code",
        "client_id": PUBLIC_CLIENT,
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    })
}

#[tokio::test]
async fn the_original_descriptions_code_body_redeems_a_code_asked_for_without_redirect_uri() {
    let app = TestApp::dev();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &without(&code_request(), "redirect_uri")).await;
    // Option 1 of the original API description, verbatim but for the code.
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "authorization_code",
                "client_id": "BA779C49-4D93-4785-9596-25805A24C5DC",
                "client_secret": "4AD3CE00-8ED5-4F0A-A979-ACE64A15207C",
                "code": code,
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["refresh_token"].is_string());
}

// --- SSO ---

#[tokio::test]
async fn a_live_session_skips_the_form_for_another_client() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    let response = jar.get_page(&app, &authorize_uri(&spa_request())).await;
    let url = location(&response);
    assert_eq!(base(&url), CALLBACK);
    let params = query(&url);
    assert_eq!(params["state"], "spa-state");
    assert_eq!(params["iss"], ISSUER);
    let tokens = app
        .post_json("/token", &spa_redeem_body(&params["code"], VERIFIER))
        .await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
}

#[tokio::test]
async fn prompt_login_shows_the_form_despite_a_live_session() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    let response = jar
        .get_page(
            &app,
            &authorize_uri(&with(&code_request(), "prompt", "login")),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .text()
            .contains(r#"<form method="post" action="/authorize">"#)
    );
}

#[tokio::test]
async fn prompt_none_with_a_live_session_answers_with_a_code() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    let response = jar
        .get_page(
            &app,
            &authorize_uri(&with(&code_request(), "prompt", "none")),
        )
        .await;
    assert!(query(&location(&response)).contains_key("code"));
}

#[tokio::test]
async fn a_session_ends_after_ts_session_ttl() {
    let app = TestApp::with_vars(&[("TS_SESSION_TTL", "600")]);
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    app.clock.advance(599);
    let response = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "still live");
    app.clock.advance(1);
    let response = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert_eq!(response.status, StatusCode::OK, "the form again");
}

#[tokio::test]
async fn a_made_up_session_cookie_is_no_session() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    jar.set("ts_session", &"A".repeat(43));
    let response = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert_eq!(response.status, StatusCode::OK, "the form");
}

#[tokio::test]
async fn codes_carry_the_time_of_the_login_not_of_the_sso_reuse() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let mut jar = Jar::default();
    let login_time = app.clock.now();
    code_for(&app, &mut jar, &code_request()).await;
    app.clock.advance(120);
    let response = jar.get_page(&app, &authorize_uri(&code_request())).await;
    let code = query(&location(&response))["code"].clone();
    let tokens = app.post_json("/token", &redeem_body(&code)).await.json();
    let (_, claims) = resource_server::verify(
        &server.base,
        tokens["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["auth_time"], login_time);
    assert_eq!(claims["iat"], login_time + 120);
}

// --- Redeeming codes at /token ---

#[tokio::test]
async fn the_confidential_client_redeems_its_code_with_a_json_body() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &code_request()).await;
    let response = app.post_json("/token", &redeem_body(&code)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let body = response.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["scope"], "read write");
    assert!(body["refresh_token"].is_string());
    let (typ, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["name"], "John Smith");
}

#[tokio::test]
async fn the_confidential_client_redeems_its_code_with_a_form_body_and_basic() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let request = with(&code_request(), "scope", "read");
    let code = code_for(&app, &mut jar, &request).await;
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
            ],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["scope"], "read", "the scope asked for");
}

#[tokio::test]
async fn the_public_client_redeems_its_code_with_the_pkce_verifier() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &spa_request()).await;
    let response = app
        .post_json("/token", &spa_redeem_body(&code, VERIFIER))
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["expires_in"], 300, "demo-spa's own lifetime");
    assert!(body["refresh_token"].is_string());
    let (_, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["client_id"], PUBLIC_CLIENT);
    assert_eq!(claims["scope"], "read");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &spa_request()).await;
    let wrong = "x".repeat(43);
    let response = app
        .post_json("/token", &spa_redeem_body(&code, &wrong))
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_pkce_verifier_for_a_code_without_a_challenge_is_invalid_grant() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &code_request()).await;
    let mut body = redeem_body(&code);
    body["code_verifier"] = json!(VERIFIER);
    let response = app.post_json("/token", &body).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_public_client_without_its_verifier_is_invalid_request() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &spa_request()).await;
    let mut body = spa_redeem_body(&code, VERIFIER);
    body.as_object_mut().unwrap().remove("code_verifier");
    let response = app.post_json("/token", &body).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn a_replayed_code_is_invalid_grant_and_revokes_the_refresh_token_it_issued() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &code_request()).await;
    let first = app.post_json("/token", &redeem_body(&code)).await;
    assert_eq!(first.status, StatusCode::OK);
    let refresh_token = first.json()["refresh_token"].clone();

    let replay = app.post_json("/token", &redeem_body(&code)).await;
    replay.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let refresh = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "refresh_token",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "refresh_token": refresh_token,
            }),
        )
        .await;
    refresh.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_expires_after_ts_auth_code_ttl() {
    let app = TestApp::with_vars(&[("TS_AUTH_CODE_TTL", "30")]);
    let mut jar = Jar::default();
    let live = code_for(&app, &mut jar, &code_request()).await;
    let late = code_for(&app, &mut jar, &code_request()).await;
    app.clock.advance(29);
    let response = app.post_json("/token", &redeem_body(&live)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    app.clock.advance(1);
    let response = app.post_json("/token", &redeem_body(&late)).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_redirect_uri_at_token_unlike_the_authorization_requests_is_invalid_grant() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    for redirect_uri in [json!("http://127.0.0.1:8080/demo/callback"), Value::Null] {
        let code = code_for(&app, &mut jar, &code_request()).await;
        let mut body = redeem_body(&code);
        body["redirect_uri"] = redirect_uri;
        let response = app.post_json("/token", &body).await;
        response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

#[tokio::test]
async fn a_code_works_only_for_the_client_it_was_issued_to() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &spa_request()).await;
    let mut body = redeem_body(&code);
    body["code_verifier"] = json!(VERIFIER);
    let response = app.post_json("/token", &body).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn another_client_presenting_a_code_does_not_spend_it() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &code_request()).await;
    let stolen = json!({
        "grant_type": "authorization_code",
        "client_id": PUBLIC_CLIENT,
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
    });
    let response = app.post_json("/token", &stolen).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let response = app.post_json("/token", &redeem_body(&code)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(response.json()["refresh_token"].is_string());
}

// --- Implicit ---

#[tokio::test]
async fn implicit_answers_a_token_in_the_fragment_without_a_refresh_token() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let mut jar = Jar::default();
    let request = with(&code_request(), "response_type", "token");
    let response = jar.sign_in(&app, &request, USERNAME, PASSWORD).await;
    let url = location(&response);
    assert_eq!(base(&url), CALLBACK);
    assert_eq!(url.query(), None, "nothing in the query");
    let params = fragment(&url);
    assert_eq!(params["token_type"], "Bearer");
    assert_eq!(params["expires_in"], "900");
    assert_eq!(params["scope"], "read write");
    assert_eq!(params["state"], "xyz");
    assert_eq!(params["iss"], ISSUER);
    assert!(!params.contains_key("refresh_token"));
    assert!(!params.contains_key("code"));
    let (_, claims) = resource_server::verify(
        &server.base,
        &params["access_token"],
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["client_id"], CLIENT_ID);
}

#[tokio::test]
async fn implicit_with_a_live_session_skips_the_form() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    let request = [
        ("response_type", "token"),
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", "http://localhost:3000/callback"),
        ("state", "s"),
    ];
    let response = jar.get_page(&app, &authorize_uri(&request)).await;
    let url = location(&response);
    assert_eq!(base(&url), "http://localhost:3000/callback");
    assert_eq!(fragment(&url)["expires_in"], "300");
}

// --- Logout ---

#[tokio::test]
async fn logout_asks_for_confirmation_with_a_csrf_protected_form() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let response = jar.get_page(&app, "/logout").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    let html = response.text();
    assert!(html.contains(r#"<form method="post" action="/logout">"#));
    let fields = hidden_fields(&html);
    assert_eq!(
        fields,
        [(
            "csrf_token".to_owned(),
            jar.get("ts_csrf").unwrap().to_owned()
        )]
    );
}

#[tokio::test]
async fn confirming_logout_ends_the_session_and_expires_the_cookie() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    let session = jar.get("ts_session").unwrap().to_owned();
    jar.get_page(&app, "/logout").await;
    let csrf = jar.get("ts_csrf").unwrap().to_owned();
    let response = jar.post(&app, "/logout", &[("csrf_token", &csrf)]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.text().contains("signed out"));
    let cookie = response.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("ts_session=;") && cookie.contains("Max-Age=0"),
        "{cookie}"
    );

    // Even a browser that kept the cookie has no session any more.
    jar.set("ts_session", &session);
    let response = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert_eq!(response.status, StatusCode::OK, "the form again");
}

#[tokio::test]
async fn a_logout_post_without_a_valid_csrf_token_changes_nothing() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    code_for(&app, &mut jar, &code_request()).await;
    let forged = "C".repeat(43);
    let response = jar.post(&app, "/logout", &[("csrf_token", &forged)]).await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    assert!(response.header("set-cookie").is_none());
    let response = jar.get_page(&app, &authorize_uri(&code_request())).await;
    assert_eq!(response.status, StatusCode::SEE_OTHER, "still signed in");
}

// --- The demo callback ---

#[tokio::test]
async fn the_demo_callback_shows_the_code_and_the_curl_command_that_redeems_it() {
    let app = TestApp::new();
    let mut jar = Jar::default();
    let response = jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    let url = location(&response);
    let code = query(&url)["code"].clone();
    let page = app
        .get(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    let html = page.text();
    assert!(html.contains(&format!(r#"<code class="value" id="code">{code}</code>"#)));
    assert!(
        html.contains("curl -s http://localhost:8080/token"),
        "{html}"
    );
    assert!(
        html.contains(&format!("&#34;code&#34;: &#34;{code}&#34;")),
        "{html}"
    );
    assert!(html.contains(CLIENT_SECRET));
    assert!(html.contains("&#34;redirect_uri&#34;: &#34;http://localhost:8080/demo/callback&#34;"));
    assert!(!html.contains("<script"));
}

#[tokio::test]
async fn the_demo_callback_escapes_what_it_shows_and_puts_no_foreign_code_in_a_command() {
    let app = TestApp::new();
    let code = "<b>x</b>' ; rm -rf ~ ; '";
    let page = app
        .get(&format!(
            "/demo/callback?{}",
            form(&[("code", code), ("state", "<i>s</i>")])
        ))
        .await;
    let html = page.text();
    assert!(!html.contains("<b>") && !html.contains("<i>"), "{html}");
    assert!(html.contains("&#60;b&#62;x&#60;/b&#62;"), "{html}");
    assert!(!html.contains("curl"), "{html}");
    assert!(html.contains("not a code this service issues"));
}

#[tokio::test]
async fn the_demo_callback_shows_an_error_response() {
    let app = TestApp::new();
    let response = app
        .get(&authorize_uri(&with(&code_request(), "scope", "admin")))
        .await;
    let url = location(&response);
    let html = app
        .get(&format!("{}?{}", url.path(), url.query().unwrap()))
        .await
        .text();
    assert!(html.contains("<code>invalid_scope</code>"), "{html}");
    assert!(html.contains("exceeds the client"), "{html}");
}

#[tokio::test]
async fn the_demo_callback_explains_where_an_implicit_token_is() {
    let app = TestApp::new();
    let html = app.get("/demo/callback").await.text();
    assert!(html.contains("fragment"), "{html}");
}

#[tokio::test]
async fn the_demo_callback_is_not_served_unless_the_config_enables_it() {
    let app = fixture_app();
    let response = app.get("/demo/callback?code=abc").await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
}

// --- On Redis ---

#[tokio::test]
async fn the_flow_works_on_redis_login_sso_code_and_replay() {
    let redis = redis::RedisServer::start();
    let prefix = format!("authz-{}:", real_now());
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &redis.url()), ("TS_REDIS_PREFIX", &prefix)]);
    let mut jar = Jar::default();
    let code = code_for(&app, &mut jar, &code_request()).await;
    let response = jar.get_page(&app, &authorize_uri(&spa_request())).await;
    let spa_code = query(&location(&response))["code"].clone();

    let first = app.post_json("/token", &redeem_body(&code)).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    app.post_json("/token", &redeem_body(&code))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let spa = app
        .post_json("/token", &spa_redeem_body(&spa_code, VERIFIER))
        .await;
    assert_eq!(spa.status, StatusCode::OK, "{}", spa.text());
}

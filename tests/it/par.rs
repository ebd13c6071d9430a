//! Pushed authorization requests (RFC 9126; README, "Pushed authorization requests"): `POST
//! /par` validates a request as /authorize would and answers a single-use `request_uri`;
//! /authorize takes it for the client that pushed it, within 60 s, and shows the error page
//! for any request_uri it cannot take; the login form carries the pushed request sealed; a
//! client that requires pushed requests gets no code without one, through GET or POST.

use axum::http::{StatusCode, header};
use serde_json::json;

use crate::common::login::*;
use crate::common::oidc::verify_id_token;
use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

/// A confidential client that must push (tests/fixtures/par.toml); the example client's secret.
const PAR_ONLY: &str = "par-only";
/// A public client that must push.
const PAR_SPA: &str = "par-spa";
const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// The app on tests/fixtures/par.toml, unless `vars` name another config file.
fn par_app(vars: &[(&str, &str)]) -> TestApp {
    let config = fixture("par.toml");
    let mut all = vec![("TS_CONFIG_FILE", config.as_str())];
    all.retain(|(name, _)| !vars.iter().any(|(k, _)| k == name));
    all.extend_from_slice(vars);
    TestApp::with_vars(&all)
}

fn app() -> TestApp {
    par_app(&[])
}

/// The example client's secret, for the confidential clients of the fixture.
fn basic(client_id: &str) -> Option<(&str, &str)> {
    Some((client_id, CLIENT_SECRET))
}

/// The example client's code request, as it pushes it.
fn pushed_code_request() -> Vec<(&'static str, &'static str)> {
    vec![
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("scope", "read"),
        ("state", "pushed-state"),
    ]
}

/// The public client's code request with PKCE, as it pushes it (with its `client_id`, its
/// only authentication).
const SPA_REQUEST: [(&str, &str); 5] = [
    ("client_id", PAR_SPA),
    ("response_type", "code"),
    ("redirect_uri", CALLBACK),
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

/// Pushes `pairs` for `client`; the request_uri, or a panic unless 201.
async fn push(app: &TestApp, pairs: &[(&str, &str)], client: Option<(&str, &str)>) -> String {
    let response = app.post_form("/par", pairs, client).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    response.json()["request_uri"].as_str().unwrap().to_owned()
}

/// The example client's code request, pushed.
async fn pushed(app: &TestApp) -> String {
    push(app, &pushed_code_request(), basic(CLIENT_ID)).await
}

/// `/authorize` with `client_id` and `request_uri` alone (RFC 9126 §4).
fn authorize_pushed(client_id: &str, request_uri: &str) -> String {
    authorize_uri(&[("client_id", client_id), ("request_uri", request_uri)])
}

/// Opens /authorize with `request_uri` and signs in as the example user.
async fn sign_in_pushed(
    jar: &mut Jar,
    app: &TestApp,
    client_id: &str,
    request_uri: &str,
) -> TestResponse {
    let by_reference = [("client_id", client_id), ("request_uri", request_uri)];
    jar.sign_in(app, &by_reference, USERNAME, PASSWORD).await
}

/// Redeems `code` at /token as `client_id` with the example secret.
async fn redeem(app: &TestApp, client_id: &str, code: &str) -> TestResponse {
    let body = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CALLBACK),
    ];
    app.post_form("/token", &body, basic(client_id)).await
}

/// Pushes `pairs` for `client` and asserts the 400 and RFC 6749 error /par answers.
async fn refused(app: &TestApp, pairs: &[(&str, &str)], client: Option<(&str, &str)>, error: &str) {
    let response = app.post_form("/par", pairs, client).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, error);
}

/// Asserts that /par refuses the example client's code request with `name` set to `value`.
async fn refused_with(app: &TestApp, name: &str, value: &str, error: &str) {
    let pairs = with(&pushed_code_request(), name, value);
    refused(app, &pairs, basic(CLIENT_ID), error).await;
}

/// The form fields of a login page plus the credentials.
fn filled(page: &TestResponse, password: &str) -> Vec<(String, String)> {
    let mut fields = hidden_fields(&page.text());
    fields.push(("username".into(), USERNAME.into()));
    fields.push(("password".into(), password.into()));
    fields
}

async fn post_fields(jar: &mut Jar, app: &TestApp, fields: &[(String, String)]) -> TestResponse {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    jar.post(app, "/authorize", &pairs).await
}

/// Asserts the page of a request_uri /authorize could not take.
fn assert_expired_request_page(response: &TestResponse) {
    assert_error_page(response, StatusCode::BAD_REQUEST);
    assert!(!response.text().contains("<form"), "never the login page");
    assert!(
        response.text().contains("already used or has expired"),
        "{}",
        response.text()
    );
}

// --- POST /par ---

#[tokio::test]
async fn a_push_answers_201_with_a_fresh_single_use_request_uri_for_60_seconds_never_cached() {
    let app = app();
    let response = app
        .post_form("/par", &pushed_code_request(), basic(CLIENT_ID))
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.header("content-type"), Some("application/json"));
    let body = response.json();
    assert_eq!(body["expires_in"], 60);
    let request_uri = body["request_uri"].as_str().unwrap();
    let random = request_uri.strip_prefix(PREFIX).unwrap();
    assert_eq!(random.len(), 43, "256 bits, base64url");
    assert!(token_service::token::is_opaque(random));
    assert_ne!(pushed(&app).await, request_uri, "a new one each time");
}

#[tokio::test]
async fn a_push_takes_a_json_body_as_the_token_endpoint_does() {
    let app = app();
    let body = json!({
        "response_type": "code",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": CALLBACK,
        "max_age": 300,
    });
    let response = app.post_json("/par", &body).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    assert!(response.json()["request_uri"].is_string());
}

#[tokio::test]
async fn a_public_client_pushes_with_its_client_id_and_pkce() {
    let app = app();
    let response = app.post_form("/par", &SPA_REQUEST, None).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
}

#[tokio::test]
async fn the_store_keeps_the_authorization_parameters_never_the_client_secret() {
    let app = app();
    let mut pairs = pushed_code_request();
    pairs.push(("client_id", CLIENT_ID));
    pairs.push(("client_secret", CLIENT_SECRET));
    pairs.push(("unknown_extension", "x"));
    let request_uri = push(&app, &pairs, None).await;
    let id = token_service::store::Hashed::of(&request_uri);
    let stored = app
        .state
        .store
        .take_pushed(&id, app.clock.now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.client_id, CLIENT_ID);
    assert_eq!(stored.expires_at, app.clock.now() + 60);
    let mut names: Vec<&str> = stored.params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state"
        ]
    );
}

#[tokio::test]
async fn an_unauthenticated_push_is_401_invalid_client() {
    let app = app();
    let wrong = app
        .post_form("/par", &pushed_code_request(), Some((CLIENT_ID, "wrong")))
        .await;
    wrong.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(wrong.header("www-authenticate").is_some());
    let missing = app.post_form("/par", &pushed_code_request(), None).await;
    missing.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    let confidential_without_secret = with(&pushed_code_request(), "client_id", PAR_ONLY);
    app.post_form("/par", &confidential_without_secret, None)
        .await
        .assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn a_request_uri_in_the_pushed_body_is_invalid_request() {
    let app = app();
    let request_uri = pushed(&app).await;
    refused_with(&app, "request_uri", &request_uri, "invalid_request").await;
}

#[tokio::test]
async fn a_request_object_in_the_pushed_body_is_request_not_supported() {
    let app = app();
    refused_with(
        &app,
        "request",
        "eyJhbGciOiJub25lIn0.e30.",
        "request_not_supported",
    )
    .await;
}

#[tokio::test]
async fn an_unregistered_or_missing_redirect_uri_at_par_is_invalid_request() {
    let app = app();
    refused_with(
        &app,
        "redirect_uri",
        "https://evil.example/cb",
        "invalid_request",
    )
    .await;
    let several_registered = without(&SPA_REQUEST, "redirect_uri");
    refused(&app, &several_registered, None, "invalid_request").await;
}

#[tokio::test]
async fn a_scope_beyond_the_clients_at_par_is_invalid_scope() {
    let app = app();
    refused_with(&app, "scope", "read admin", "invalid_scope").await;
}

#[tokio::test]
async fn a_response_type_the_server_does_not_issue_at_par_is_unsupported_response_type() {
    let app = app();
    refused_with(
        &app,
        "response_type",
        "code id_token",
        "unsupported_response_type",
    )
    .await;
    let missing = without(&pushed_code_request(), "response_type");
    refused(&app, &missing, basic(CLIENT_ID), "invalid_request").await;
}

#[tokio::test]
async fn a_grant_the_client_may_not_use_at_par_is_unauthorized_client() {
    let app = app();
    let implicit = with(&pushed_code_request(), "response_type", "token");
    refused(&app, &implicit, basic(PAR_ONLY), "unauthorized_client").await;
    refused(
        &app,
        &pushed_code_request(),
        Some((CC_CLIENT, CC_SECRET)),
        "unauthorized_client",
    )
    .await;
}

#[tokio::test]
async fn a_public_client_pushing_without_pkce_is_invalid_request() {
    let app = app();
    let pairs = without(
        &without(&SPA_REQUEST, "code_challenge"),
        "code_challenge_method",
    );
    refused(&app, &pairs, None, "invalid_request").await;
    let plain = with(&SPA_REQUEST, "code_challenge_method", "plain");
    refused(&app, &plain, None, "invalid_request").await;
}

#[tokio::test]
async fn openid_parameters_are_validated_at_par() {
    let app = app();
    let cases: [&[(&str, &str)]; 3] = [
        &[("prompt", "consent")],
        &[("max_age", "soon")],
        &[("response_type", "id_token"), ("scope", "openid")],
    ];
    for extra in cases {
        let mut pairs = pushed_code_request();
        for (name, value) in extra {
            pairs = with(&pairs, name, value);
        }
        refused(&app, &pairs, basic(CLIENT_ID), "invalid_request").await;
    }
}

#[tokio::test]
async fn a_pushed_request_longer_than_the_login_form_carries_is_invalid_request() {
    let app = app();
    let state = "s".repeat(7 * 1024);
    refused_with(&app, "state", &state, "invalid_request").await;
}

#[tokio::test]
async fn a_pushed_request_near_the_limit_still_signs_in_through_the_login_form() {
    let app = app();
    let state = "s".repeat(5900);
    let pairs = with(&pushed_code_request(), "state", &state);
    let request_uri = push(&app, &pairs, basic(CLIENT_ID)).await;
    let mut jar = Jar::default();
    let response = sign_in_pushed(&mut jar, &app, CLIENT_ID, &request_uri).await;
    assert_eq!(query(&location(&response))["state"], state);
}

#[tokio::test]
async fn hostile_bodies_at_par_are_4xx_json_never_5xx() {
    let app = app();
    let authorization = basic_auth(CLIENT_ID, CLIENT_SECRET);
    let authorization = Some(authorization.as_bytes());
    let form = Some("application/x-www-form-urlencoded");
    let cases: [(Option<&str>, Vec<u8>); 7] = [
        (form, b"response_type=code&state=a&state=b".to_vec()),
        (form, b"response_type=%FF".to_vec()),
        (form, b"\xff\xfe".to_vec()),
        (Some("application/json"), b"{\"response_type\":".to_vec()),
        (Some("application/json"), b"{\"scope\":[\"read\"]}".to_vec()),
        (Some("text/plain"), b"response_type=code".to_vec()),
        (None, Vec::new()),
    ];
    for (content_type, body) in cases {
        let response = app
            .post_raw("/par", content_type, authorization, body.clone())
            .await;
        response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let huge = vec![b'a'; 65 * 1024];
    let response = app.post_raw("/par", form, authorization, huge).await;
    response.assert_oauth_error(StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[tokio::test]
async fn get_on_par_is_405_with_allow_and_the_json_error() {
    let app = app();
    let response = app.get("/par").await;
    response.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    let allow = response.header("allow").unwrap();
    assert!(allow.contains("POST"), "{allow}");
}

#[tokio::test]
async fn a_browser_app_on_a_registered_origin_may_push_and_others_get_no_cors() {
    let app = app();
    let preflight = |origin: &'static str| {
        request("OPTIONS", "/par")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let registered = app.request(preflight("http://localhost:3000")).await;
    assert_eq!(registered.status, StatusCode::NO_CONTENT);
    assert_eq!(
        registered.header("access-control-allow-origin"),
        Some("http://localhost:3000")
    );
    let other = app.request(preflight("https://evil.example")).await;
    other.assert_oauth_error(StatusCode::METHOD_NOT_ALLOWED, "invalid_request");
    assert!(other.header("access-control-allow-origin").is_none());
}

// --- /authorize with a request_uri ---

#[tokio::test]
async fn a_pushed_request_signs_in_and_its_code_redeems_for_a_token_that_verifies() {
    let app = app();
    let server = TestServer::spawn(app.state.clone()).await;
    let request_uri = pushed(&app).await;
    let mut jar = Jar::default();
    let page = jar
        .get_page(&app, &authorize_pushed(CLIENT_ID, &request_uri))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert!(page.text().contains("Example app"));
    let hidden = hidden_fields(&page.text());
    let names: Vec<&str> = hidden.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        ["pushed_request", "csrf_token"],
        "the pushed parameters travel sealed, not as fields"
    );
    let response = post_fields(&mut jar, &app, &filled(&page, PASSWORD)).await;
    let url = location(&response);
    assert_eq!(base(&url), CALLBACK);
    let params = query(&url);
    assert_eq!(params["state"], "pushed-state");
    assert_eq!(params["iss"], ISSUER);

    let tokens = redeem(&app, CLIENT_ID, &params["code"]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let tokens = tokens.json();
    assert_eq!(tokens["scope"], "read");
    let (_, claims) = resource_server::verify(
        &server.base,
        tokens["access_token"].as_str().unwrap(),
        "https://api.example.com",
    )
    .await;
    assert_eq!(claims["sub"], SUBJECT);
    assert_eq!(claims["client_id"], CLIENT_ID);
    assert_eq!(claims["scope"], "read");
}

#[tokio::test]
async fn the_query_beside_client_id_and_request_uri_is_not_read() {
    let app = app();
    let request_uri = pushed(&app).await;
    let mut jar = Jar::default();
    let query_too = [
        ("client_id", CLIENT_ID),
        ("request_uri", request_uri.as_str()),
        ("response_type", "token"),
        ("scope", "read write"),
        ("state", "from-the-query"),
        ("redirect_uri", "https://evil.example/cb"),
    ];
    let response = jar.sign_in(&app, &query_too, USERNAME, PASSWORD).await;
    let url = location(&response);
    assert_eq!(base(&url), CALLBACK);
    assert_eq!(url.fragment(), None, "a code in the query, as pushed");
    let params = query(&url);
    assert_eq!(params["state"], "pushed-state");
    let tokens = redeem(&app, CLIENT_ID, &params["code"]).await.json();
    assert_eq!(tokens["scope"], "read");
}

#[tokio::test]
async fn a_request_uri_is_single_use_the_second_use_shows_the_error_page() {
    let app = app();
    let request_uri = pushed(&app).await;
    let first = app.get(&authorize_pushed(CLIENT_ID, &request_uri)).await;
    assert_eq!(first.status, StatusCode::OK);
    let second = app.get(&authorize_pushed(CLIENT_ID, &request_uri)).await;
    assert_expired_request_page(&second);
}

#[tokio::test]
async fn a_request_uri_lives_60_seconds() {
    let app = app();
    let (in_time, late) = (pushed(&app).await, pushed(&app).await);
    app.clock.advance(59);
    let response = app.get(&authorize_pushed(CLIENT_ID, &in_time)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    app.clock.advance(1);
    let response = app.get(&authorize_pushed(CLIENT_ID, &late)).await;
    assert_expired_request_page(&response);
}

#[tokio::test]
async fn another_clients_request_uri_shows_the_error_page() {
    let app = app();
    let request_uri = pushed(&app).await;
    let response = app.get(&authorize_pushed(PAR_ONLY, &request_uri)).await;
    assert_expired_request_page(&response);
    let owner = app.get(&authorize_pushed(CLIENT_ID, &request_uri)).await;
    assert_expired_request_page(&owner);
}

#[tokio::test]
async fn an_unknown_request_uri_shows_the_error_page() {
    let app = app();
    let unknown = format!("{PREFIX}{}", "A".repeat(43));
    for request_uri in [unknown.as_str(), PREFIX] {
        let response = app.get(&authorize_pushed(CLIENT_ID, request_uri)).await;
        assert_expired_request_page(&response);
    }
}

#[tokio::test]
async fn a_request_uri_without_a_known_client_id_shows_the_unknown_application_page() {
    let app = app();
    let request_uri = pushed(&app).await;
    for query in [
        authorize_uri(&[("request_uri", request_uri.as_str())]),
        authorize_pushed("no-such-client", &request_uri),
    ] {
        let response = app.get(&query).await;
        assert_error_page(&response, StatusCode::BAD_REQUEST);
        assert!(response.text().contains("not registered"));
    }
}

#[tokio::test]
async fn a_request_uri_par_did_not_hand_out_keeps_request_uri_not_supported() {
    let app = app();
    let request = with(
        &code_request(),
        "request_uri",
        "https://app.example/request.jwt",
    );
    let response = app.get(&authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "request_uri_not_supported");
}

// --- The login form of a pushed request ---

#[tokio::test]
async fn a_wrong_password_shows_the_sealed_form_again_and_the_right_one_then_signs_in() {
    let app = app();
    let request_uri = pushed(&app).await;
    let mut jar = Jar::default();
    let page = jar
        .get_page(&app, &authorize_pushed(CLIENT_ID, &request_uri))
        .await;
    let again = post_fields(&mut jar, &app, &filled(&page, "wrong")).await;
    assert_eq!(again.status, StatusCode::OK);
    assert!(again.text().contains("Invalid username or password."));
    let response = post_fields(&mut jar, &app, &filled(&again, PASSWORD)).await;
    assert_eq!(query(&location(&response))["state"], "pushed-state");
}

#[tokio::test]
async fn the_login_form_of_a_pushed_request_may_be_sent_for_ten_minutes() {
    let app = app();
    let mut jar = Jar::default();
    let (first, second) = (pushed(&app).await, pushed(&app).await);
    let in_time = jar
        .get_page(&app, &authorize_pushed(CLIENT_ID, &first))
        .await;
    let late = jar
        .get_page(&app, &authorize_pushed(CLIENT_ID, &second))
        .await;
    app.clock.advance(599);
    let response = post_fields(&mut jar, &app, &filled(&in_time, PASSWORD)).await;
    assert_eq!(query(&location(&response))["state"], "pushed-state");
    app.clock.advance(1);
    let response = post_fields(&mut Jar::default(), &app, &filled(&late, PASSWORD)).await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_sealed_form_does_not_open_in_another_browser() {
    let app = app();
    let request_uri = pushed(&app).await;
    let mut shown_to = Jar::default();
    let page = shown_to
        .get_page(&app, &authorize_pushed(CLIENT_ID, &request_uri))
        .await;
    let mut other = Jar::default();
    let other_page = other
        .get_page(&app, &authorize_pushed(CLIENT_ID, &pushed(&app).await))
        .await;
    let other_csrf = other.get("ts_csrf").unwrap().to_owned();
    let mut fields = filled(&page, PASSWORD);
    for (name, value) in &mut fields {
        if name == "csrf_token" {
            *value = other_csrf.clone();
        }
    }
    let response = post_fields(&mut other, &app, &fields).await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    assert!(response.header("set-cookie").is_none(), "nobody signed in");
    assert_eq!(other_page.status, StatusCode::OK);
}

#[tokio::test]
async fn an_altered_seal_is_403_and_signs_nobody_in() {
    let app = app();
    let request_uri = pushed(&app).await;
    let mut jar = Jar::default();
    let page = jar
        .get_page(&app, &authorize_pushed(CLIENT_ID, &request_uri))
        .await;
    let mut fields = filled(&page, PASSWORD);
    for (name, value) in &mut fields {
        if name == "pushed_request" {
            let (payload, tag) = value.split_once('.').unwrap();
            let flipped = if payload.starts_with('A') { 'B' } else { 'A' };
            *value = format!("{flipped}{}.{tag}", &payload[1..]);
        }
    }
    let response = post_fields(&mut jar, &app, &fields).await;
    assert_error_page(&response, StatusCode::FORBIDDEN);
    assert!(jar.get("ts_session").is_none());
}

// --- Clients that require pushed requests ---

#[tokio::test]
async fn a_client_that_requires_par_is_refused_at_authorize_without_a_request_uri() {
    let app = app();
    let request = with(&code_request(), "client_id", PAR_ONLY);
    let response = app.get(&authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
    assert_eq!(query(&location(&response))["state"], "xyz");
}

#[tokio::test]
async fn a_client_that_requires_par_is_refused_even_with_a_live_session() {
    let app = app();
    let mut jar = Jar::default();
    jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    let request = with(&code_request(), "client_id", PAR_ONLY);
    let response = jar.get_page(&app, &authorize_uri(&request)).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
    assert!(!query(&location(&response)).contains_key("code"));
}

#[tokio::test]
async fn the_login_forms_post_cannot_bypass_par() {
    let app = app();
    let mut jar = Jar::default();
    // A CSRF cookie and field as any page of the service gives them.
    let page = jar.get_page(&app, &authorize_uri(&code_request())).await;
    let csrf = jar.get("ts_csrf").unwrap().to_owned();
    assert_eq!(page.status, StatusCode::OK);
    let mut form = with(&code_request(), "client_id", PAR_ONLY);
    form.extend([
        ("csrf_token", csrf.as_str()),
        ("username", USERNAME),
        ("password", PASSWORD),
    ]);
    let response = jar.post(&app, "/authorize", &form).await;
    assert_error_redirect(&response, CALLBACK, "invalid_request");
    assert!(!query(&location(&response)).contains_key("code"));
    assert!(jar.get("ts_session").is_none(), "nobody signed in");
}

#[tokio::test]
async fn a_client_that_requires_par_signs_in_with_a_pushed_request() {
    let app = app();
    let request_uri = push(&app, &pushed_code_request(), basic(PAR_ONLY)).await;
    let mut jar = Jar::default();
    let response = sign_in_pushed(&mut jar, &app, PAR_ONLY, &request_uri).await;
    let code = query(&location(&response))["code"].clone();
    let tokens = redeem(&app, PAR_ONLY, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    assert!(tokens.json()["refresh_token"].is_string());
}

#[tokio::test]
async fn a_public_client_that_requires_par_redeems_its_pushed_code_with_the_verifier() {
    let app = app();
    let request_uri = push(&app, &SPA_REQUEST, None).await;
    let mut jar = Jar::default();
    let response = sign_in_pushed(&mut jar, &app, PAR_SPA, &request_uri).await;
    let code = query(&location(&response))["code"].clone();
    let body = [
        ("grant_type", "authorization_code"),
        ("client_id", PAR_SPA),
        ("code", code.as_str()),
        ("redirect_uri", CALLBACK),
        ("code_verifier", VERIFIER),
    ];
    let tokens = app.post_form("/token", &body, None).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
    let missing_verifier = app.post_form("/token", &body[..4], None).await;
    assert_eq!(missing_verifier.status, StatusCode::BAD_REQUEST);
}

// --- SSO and prompt with pushed requests ---

#[tokio::test]
async fn with_an_sso_session_a_pushed_request_gets_its_code_without_the_form() {
    let app = app();
    let mut jar = Jar::default();
    jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    let request_uri = push(&app, &pushed_code_request(), basic(PAR_ONLY)).await;
    let response = jar
        .get_page(&app, &authorize_pushed(PAR_ONLY, &request_uri))
        .await;
    let params = query(&location(&response));
    assert_eq!(params["state"], "pushed-state");
    let tokens = redeem(&app, PAR_ONLY, &params["code"]).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
}

#[tokio::test]
async fn a_pushed_prompt_none_without_a_session_redirects_login_required() {
    let app = app();
    let pairs = with(&pushed_code_request(), "prompt", "none");
    let request_uri = push(&app, &pairs, basic(PAR_ONLY)).await;
    let response = app.get(&authorize_pushed(PAR_ONLY, &request_uri)).await;
    assert_error_redirect(&response, CALLBACK, "login_required");
    assert_eq!(query(&location(&response))["state"], "pushed-state");
}

#[tokio::test]
async fn a_pushed_prompt_login_shows_the_form_despite_the_session() {
    let app = app();
    let mut jar = Jar::default();
    jar.sign_in(&app, &code_request(), USERNAME, PASSWORD).await;
    let pairs = with(&pushed_code_request(), "prompt", "login");
    let request_uri = push(&app, &pairs, basic(PAR_ONLY)).await;
    let response = sign_in_pushed(&mut jar, &app, PAR_ONLY, &request_uri).await;
    assert_eq!(query(&location(&response))["state"], "pushed-state");
}

#[tokio::test]
async fn a_pushed_openid_request_returns_its_nonce_in_an_id_token_that_verifies() {
    let app = app();
    let server = TestServer::spawn(app.state.clone()).await;
    let pairs = [
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("scope", "openid email"),
        ("nonce", "pushed-nonce"),
        ("login_hint", USERNAME),
    ];
    let request_uri = push(&app, &pairs, basic(PAR_ONLY)).await;
    let mut jar = Jar::default();
    let page = jar
        .get_page(&app, &authorize_pushed(PAR_ONLY, &request_uri))
        .await;
    assert!(
        page.text().contains(&format!("value=\"{USERNAME}\"")),
        "login_hint pre-fills"
    );
    let response = post_fields(&mut jar, &app, &filled(&page, PASSWORD)).await;
    let code = query(&location(&response))["code"].clone();
    let tokens = redeem(&app, PAR_ONLY, &code).await.json();
    let id_token = tokens["id_token"].as_str().unwrap();
    let (_, claims) = verify_id_token(&server.base, id_token, PAR_ONLY).await;
    assert_eq!(claims["nonce"], "pushed-nonce");
    assert_eq!(claims["email"], "jsmith@example.com");
}

// --- Discovery, description, configuration ---

#[tokio::test]
async fn the_api_description_gives_par_the_authorization_parameters_in_both_encodings() {
    let doc = app().get("/openapi.json").await.json();
    let operation = &doc["paths"]["/par"]["post"];
    assert_eq!(
        operation["security"],
        json!([{}, {"client_secret_basic": []}])
    );
    for media_type in ["application/x-www-form-urlencoded", "application/json"] {
        let schema = &operation["requestBody"]["content"][media_type]["schema"];
        assert_eq!(schema["required"], json!(["response_type"]), "{media_type}");
        for name in [
            "client_id",
            "client_secret",
            "redirect_uri",
            "code_challenge",
            "nonce",
        ] {
            assert!(
                schema["properties"][name].is_object(),
                "{media_type} {name}"
            );
        }
        assert!(
            schema["properties"]["request_uri"].is_null(),
            "never pushed"
        );
    }
    let created = &operation["responses"]["201"];
    let answer = &created["content"]["application/json"]["schema"]["$ref"];
    assert_eq!(answer, "#/components/schemas/PushedResponse");
    let link = &created["links"]["AuthorizePushedRequest"];
    assert_eq!(link["operationId"], "authorize");
    assert_eq!(
        link["parameters"]["request_uri"],
        "$response.body#/request_uri"
    );
    let form = &doc["paths"]["/authorize"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
        ["schema"];
    assert!(form["properties"]["pushed_request"].is_object());
    assert!(form["properties"]["request_uri"].is_null());
}

#[tokio::test]
async fn discovery_names_the_par_endpoint_and_whether_every_client_must_push() {
    let doc = app()
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        "http://localhost:8080/par"
    );
    assert_eq!(
        doc["require_pushed_authorization_requests"], false,
        "the example client may still send its parameters"
    );
    let dir = tempfile::tempdir().unwrap();
    let only_pushing = std::fs::read_to_string(fixture("par.toml"))
        .unwrap()
        .replace(
            "scopes = [\"read\", \"write\"]",
            "scopes = [\"read\", \"write\"]\nrequire_pushed_authorization_requests = true",
        );
    let config = dir.path().join("par.toml");
    std::fs::write(&config, only_pushing).unwrap();
    let config = config.display().to_string();
    let doc = par_app(&[("TS_CONFIG_FILE", &config)])
        .get("/.well-known/openid-configuration")
        .await
        .json();
    assert_eq!(
        doc["require_pushed_authorization_requests"], true,
        "every client that may use /authorize must push (a client_credentials one never does)"
    );
}

#[test]
fn requiring_par_of_a_client_that_cannot_use_authorize_stops_start_up_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("clients.toml");
    std::fs::write(
        &config,
        "[[clients]]\nid = \"m2m\"\nsecret_hash = \"$argon2id$v=19$m=19456,t=2,p=1$WSR1DqFEbLgs8S5iuUUREA$GyH9KAkaoErCl+SJnX/+H7HHpkdB+3nmuBYR7+UNOy4\"\ngrant_types = [\"client_credentials\"]\nrequire_pushed_authorization_requests = true\n",
    )
    .unwrap();
    let config = config.display().to_string();
    for args in [&[][..], &["check-config"][..]] {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_token-service"))
            .args(args)
            .env_clear()
            .env("TS_CONFIG_FILE", &config)
            .env("TS_KEYS_DIR", repo_path("keys"))
            .env("TS_LISTEN", "127.0.0.1:0")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{config}:2: client \"m2m\"")),
            "{stderr}"
        );
        assert!(
            stderr.contains("require_pushed_authorization_requests"),
            "{stderr}"
        );
    }
}

// --- Replicas and the store ---

#[tokio::test]
async fn a_request_uri_pushed_at_one_replica_is_taken_once_and_signs_in_at_others() {
    let (url, prefix) = (RedisServer::shared().url(), unique_prefix("par"));
    let vars = [("TS_REDIS_URL", url.as_str()), ("TS_REDIS_PREFIX", &prefix)];
    let replicas = [par_app(&vars), par_app(&vars), par_app(&vars)];
    let request_uri = push(&replicas[0], &pushed_code_request(), basic(PAR_ONLY)).await;
    let mut jar = Jar::default();
    let page = jar
        .get_page(&replicas[1], &authorize_pushed(PAR_ONLY, &request_uri))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let replay = replicas[0]
        .get(&authorize_pushed(PAR_ONLY, &request_uri))
        .await;
    assert_expired_request_page(&replay);
    let response = post_fields(&mut jar, &replicas[2], &filled(&page, PASSWORD)).await;
    let code = query(&location(&response))["code"].clone();
    let tokens = redeem(&replicas[0], PAR_ONLY, &code).await;
    assert_eq!(tokens.status, StatusCode::OK, "{}", tokens.text());
}

#[tokio::test]
async fn with_redis_down_par_answers_503_and_a_request_uri_shows_the_unavailable_page() {
    let mut redis = RedisServer::start();
    let (url, prefix) = (redis.url(), unique_prefix("par-down"));
    let app = par_app(&[("TS_REDIS_URL", &url), ("TS_REDIS_PREFIX", &prefix)]);
    let request_uri = pushed(&app).await;
    redis.stop();
    let response = app
        .post_form("/par", &pushed_code_request(), basic(CLIENT_ID))
        .await;
    response.assert_oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert_eq!(response.header("retry-after"), Some("1"));
    let page = app.get(&authorize_pushed(CLIENT_ID, &request_uri)).await;
    assert_error_page(&page, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.header("retry-after"), Some("1"));
}

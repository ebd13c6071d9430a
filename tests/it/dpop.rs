//! DPoP (RFC 9449; README, "DPoP") over HTTP: each check of a proof at /token, replay at one
//! replica and across two, server nonces, every grant's bound token verified through the
//! JWKS, public clients' bound refresh tokens, codes bound by `dpop_jkt`, /userinfo with the
//! DPoP scheme, introspection and discovery.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::dpop::*;
use crate::common::login::{CALLBACK, CHALLENGE, Jar, VERIFIER, assert_error_redirect, location};
use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

const DPOP_CLIENT: &str = "dpop-service";

fn app_with(vars: &[(&str, &str)]) -> TestApp {
    let config = fixture("dpop.toml");
    let mut all = vec![("TS_CONFIG_FILE", config.as_str())];
    all.extend_from_slice(vars);
    TestApp::with_vars(&all)
}

fn app() -> TestApp {
    app_with(&[])
}

fn client_credentials() -> Value {
    json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
}

fn password(scope: &str) -> Value {
    json!({"grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": USERNAME, "password": PASSWORD, "scope": scope})
}

fn refresh(client: &str, refresh_token: &Value) -> Value {
    let mut body = json!({"grant_type": "refresh_token", "client_id": client,
        "refresh_token": refresh_token});
    if client == CLIENT_ID {
        body["client_secret"] = json!(CLIENT_SECRET);
    }
    body
}

/// A proof for /token signed by `key` with `header` and `claims` bent by the test.
fn bent(key: &DpopKey, app: &TestApp, bend: impl FnOnce(&mut Value, &mut Value)) -> String {
    let mut header = key.header();
    let mut claims = claims("POST", TOKEN_URL, app.clock.now());
    bend(&mut header, &mut claims);
    key.sign(&header, &claims)
}

/// Asserts a 400 `invalid_dpop_proof` whose description says `says`.
fn assert_invalid_proof(response: &TestResponse, says: &str) {
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    let description = response.json()["error_description"].clone();
    assert!(
        description.as_str().unwrap().contains(says),
        "{description}"
    );
}

async fn refused_at_token(bend: impl FnOnce(&mut Value, &mut Value), says: &str) {
    let app = app();
    let proof = bent(&DpopKey::es256(), &app, bend);
    let response = token(&app, &client_credentials(), &[&proof]).await;
    assert_invalid_proof(&response, says);
}

#[tokio::test]
async fn a_proof_of_another_typ_is_invalid_dpop_proof() {
    refused_at_token(|h, _| h["typ"] = json!("JWT"), "typ").await;
}

#[tokio::test]
async fn a_proof_with_alg_none_is_invalid_dpop_proof() {
    refused_at_token(|h, _| h["alg"] = json!("none"), "alg").await;
}

#[tokio::test]
async fn a_proof_with_an_hmac_alg_is_invalid_dpop_proof() {
    refused_at_token(|h, _| h["alg"] = json!("HS256"), "alg").await;
}

#[tokio::test]
async fn a_proof_whose_jwk_has_a_private_member_is_invalid_dpop_proof() {
    for member in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        let bend = |h: &mut Value, _: &mut Value| h["jwk"][member] = json!("AAAA");
        refused_at_token(bend, "jwk").await;
    }
}

#[tokio::test]
async fn a_proof_signed_by_another_key_than_its_jwk_is_invalid_dpop_proof() {
    let app = app();
    let (key, other) = (DpopKey::es256(), DpopKey::es256());
    let proof = other.sign(&key.header(), &claims("POST", TOKEN_URL, app.clock.now()));
    let response = token(&app, &client_credentials(), &[&proof]).await;
    assert_invalid_proof(&response, "signature");
}

#[tokio::test]
async fn a_proof_for_another_method_is_invalid_dpop_proof() {
    refused_at_token(|_, c| c["htm"] = json!("GET"), "htm").await;
}

#[tokio::test]
async fn a_proof_for_another_url_is_invalid_dpop_proof() {
    let url = "http://localhost:8080/userinfo";
    refused_at_token(|_, c| c["htu"] = json!(url), "htu").await;
}

#[tokio::test]
async fn a_proof_older_than_60_seconds_is_invalid_dpop_proof() {
    let app = app();
    let iat = app.clock.now() - 61;
    let proof = bent(&DpopKey::es256(), &app, |_, c| c["iat"] = json!(iat));
    let response = token(&app, &client_credentials(), &[&proof]).await;
    assert_invalid_proof(&response, "iat");
}

#[tokio::test]
async fn a_proof_more_than_60_seconds_ahead_is_invalid_dpop_proof() {
    let app = app();
    let iat = app.clock.now() + 61;
    let proof = bent(&DpopKey::es256(), &app, |_, c| c["iat"] = json!(iat));
    let response = token(&app, &client_credentials(), &[&proof]).await;
    assert_invalid_proof(&response, "iat");
}

#[tokio::test]
async fn a_proof_without_jti_is_invalid_dpop_proof() {
    refused_at_token(
        |_, c| {
            c.as_object_mut().unwrap().remove("jti");
        },
        "jti",
    )
    .await;
}

#[tokio::test]
async fn a_replayed_proof_is_invalid_dpop_proof() {
    let app = app();
    let proof = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    let first = token(&app, &client_credentials(), &[&proof]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = token(&app, &client_credentials(), &[&proof]).await;
    assert_invalid_proof(&again, "used before");
}

/// Two replicas of the service on one Redis, as behind a load balancer.
fn replicas(vars: &[(&str, &str)]) -> (TestApp, TestApp) {
    let url = RedisServer::shared().url();
    let prefix = unique_prefix("dpop");
    let mut all = vec![
        ("TS_REDIS_URL", url.as_str()),
        ("TS_REDIS_PREFIX", prefix.as_str()),
    ];
    all.extend_from_slice(vars);
    (app_with(&all), app_with(&all))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_replayed_at_another_replica_is_invalid_dpop_proof() {
    let (one, other) = replicas(&[]);
    let proof = DpopKey::es256().proof("POST", TOKEN_URL, one.clock.now());
    let first = token(&one, &client_credentials(), &[&proof]).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let again = token(&other, &client_credentials(), &[&proof]).await;
    assert_invalid_proof(&again, "used before");
}

#[tokio::test]
async fn two_dpop_headers_are_invalid_dpop_proof() {
    let app = app();
    let key = DpopKey::es256();
    let now = app.clock.now();
    let (a, b) = (
        key.proof("POST", TOKEN_URL, now),
        key.proof("POST", TOKEN_URL, now),
    );
    let response = token(&app, &client_credentials(), &[&a, &b]).await;
    assert_invalid_proof(&response, "more than one DPoP header");
}

#[tokio::test]
async fn an_empty_dpop_header_reads_as_none() {
    let app = app();
    let response = token(&app, &client_credentials(), &[""]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "Bearer");
    let body = json!({"grant_type": "client_credentials", "client_id": DPOP_CLIENT,
        "client_secret": CC_SECRET});
    let response = token(&app, &body, &[""]).await;
    assert_invalid_proof(&response, "must send a DPoP proof");
}

#[tokio::test]
async fn garbage_in_the_dpop_header_is_invalid_dpop_proof_never_a_5xx() {
    let app = app();
    let key = DpopKey::es256();
    let good = key.proof("POST", TOKEN_URL, app.clock.now());
    let mut rng = Rng(0x5eed_d0b0);
    let mut cases: Vec<String> = ["a", "a.b", "a.b.c", "...", "e30.e30.e30", "e30.e30."]
        .map(str::to_owned)
        .to_vec();
    cases.push(format!("{good}."));
    cases.push(good.replacen('.', "..", 1));
    cases.push("x".repeat(9000));
    for _ in 0..50 {
        let len = rng.below(200);
        cases.push(String::from_utf8_lossy(&rng.header_bytes(len)).replace('\u{fffd}', "?"));
    }
    // Header values have no edge whitespace; an empty one is no proof (tested above).
    for case in cases.iter().map(|c| c.trim()).filter(|c| !c.is_empty()) {
        let response = token(&app, &client_credentials(), &[case]).await;
        response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
    }
}

#[tokio::test]
async fn a_client_registered_for_dpop_without_a_proof_is_invalid_dpop_proof() {
    let app = app();
    let body = json!({"grant_type": "client_credentials", "client_id": DPOP_CLIENT,
        "client_secret": CC_SECRET});
    let response = token(&app, &body, &[]).await;
    assert_invalid_proof(&response, "must send a DPoP proof");
    let proof = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &body, &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "DPoP");
}

#[tokio::test]
async fn a_request_without_a_proof_gets_a_bearer_token_without_cnf_or_nonce() {
    let app = app_with(&[("TS_DPOP_NONCE", "true")]);
    let response = token(&app, &client_credentials(), &[]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "Bearer");
    assert_eq!(response.header("dpop-nonce"), None);
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    let claims = app
        .state
        .keys
        .verify::<Value>(&access)
        .expect("the service's own token");
    assert_eq!(claims.get("cnf"), None);
}

/// Asks with a proof without nonce: `use_dpop_nonce` and the nonce to use.
async fn nonce_demanded(app: &TestApp, key: &DpopKey) -> String {
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(app, &client_credentials(), &[&proof]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    response
        .header("dpop-nonce")
        .expect("DPoP-Nonce")
        .to_owned()
}

fn proof_with_nonce(app: &TestApp, key: &DpopKey, nonce: &str) -> String {
    let mut claims = claims("POST", TOKEN_URL, app.clock.now());
    claims["nonce"] = json!(nonce);
    key.sign(&key.header(), &claims)
}

#[tokio::test]
async fn with_nonces_on_a_proof_without_one_gets_use_dpop_nonce_and_then_passes_with_it() {
    let app = app_with(&[("TS_DPOP_NONCE", "true")]);
    let key = DpopKey::es256();
    let nonce = nonce_demanded(&app, &key).await;
    let proof = proof_with_nonce(&app, &key, &nonce);
    let response = token(&app, &client_credentials(), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "DPoP");
    assert!(
        response.header("dpop-nonce").is_some(),
        "a success carries the next nonce"
    );
}

#[tokio::test]
async fn a_nonce_older_than_its_slots_gets_use_dpop_nonce_again() {
    let app = app_with(&[("TS_DPOP_NONCE", "true")]);
    let key = DpopKey::es256();
    let nonce = nonce_demanded(&app, &key).await;
    app.clock.advance(181);
    let proof = proof_with_nonce(&app, &key, &nonce);
    let response = token(&app, &client_credentials(), &[&proof]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
    assert_ne!(response.header("dpop-nonce"), Some(nonce.as_str()));
}

#[tokio::test]
async fn a_made_up_nonce_gets_use_dpop_nonce() {
    let app = app_with(&[("TS_DPOP_NONCE", "true")]);
    let key = DpopKey::es256();
    let proof = proof_with_nonce(&app, &key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let response = token(&app, &client_credentials(), &[&proof]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "use_dpop_nonce");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nonce_from_one_replica_is_accepted_by_another() {
    let (one, other) = replicas(&[("TS_DPOP_NONCE", "true")]);
    let key = DpopKey::es256();
    let nonce = nonce_demanded(&one, &key).await;
    let proof = proof_with_nonce(&other, &key, &nonce);
    let response = token(&other, &client_credentials(), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

/// Verifies an access token through the JWKS over HTTP and returns its claims, after
/// checking the response says `DPoP`.
async fn bound_claims(server: &TestServer, response: &TestResponse, audience: &str) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert_eq!(body["token_type"], "DPoP", "{body}");
    let token = body["access_token"].as_str().unwrap();
    resource_server::verify(&server.base, token, audience)
        .await
        .1
}

#[tokio::test]
async fn every_grant_answers_a_dpop_token_bound_to_the_proofs_key() {
    let app = app();
    let server = TestServer::spawn(app.state.clone()).await;
    let key = DpopKey::ed25519();
    let api = "https://api.example.com";
    let proof = || key.proof("POST", TOKEN_URL, app.clock.now());

    let response = token(&app, &client_credentials(), &[&proof()]).await;
    let claims = bound_claims(&server, &response, api).await;
    assert_eq!(
        claims["cnf"],
        json!({"jkt": key.jkt()}),
        "client_credentials"
    );

    let response = token(&app, &password("read"), &[&proof()]).await;
    let claims = bound_claims(&server, &response, api).await;
    assert_eq!(claims["cnf"]["jkt"], key.jkt(), "password");

    let refresh_token = response.json()["refresh_token"].clone();
    let response = token(&app, &refresh(CLIENT_ID, &refresh_token), &[&proof()]).await;
    let claims = bound_claims(&server, &response, api).await;
    assert_eq!(claims["cnf"]["jkt"], key.jkt(), "refresh_token");

    // A code asked for without dpop_jkt is bound by the proof it is redeemed with.
    app.put_code("a-code", None).await;
    let body = json!({"grant_type": "authorization_code", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "code": "a-code"});
    let response = token(&app, &body, &[&proof()]).await;
    let claims = bound_claims(&server, &response, api).await;
    assert_eq!(claims["cnf"]["jkt"], key.jkt(), "authorization_code");
    server.stop().await;
}

#[tokio::test]
async fn a_confidential_clients_refresh_token_is_not_bound_but_each_new_access_token_is() {
    let app = app();
    let (key, other) = (DpopKey::es256(), DpopKey::es256());
    let now = app.clock.now();
    let first = token(
        &app,
        &password("read"),
        &[&key.proof("POST", TOKEN_URL, now)],
    )
    .await;
    let refresh_token = first.json()["refresh_token"].clone();

    let unbound = token(&app, &refresh(CLIENT_ID, &refresh_token), &[]).await;
    assert_eq!(unbound.status, StatusCode::OK, "{}", unbound.text());
    assert_eq!(unbound.json()["token_type"], "Bearer");

    let next = unbound.json()["refresh_token"].clone();
    let proof = other.proof("POST", TOKEN_URL, now);
    let rebound = token(&app, &refresh(CLIENT_ID, &next), &[&proof]).await;
    assert_eq!(rebound.status, StatusCode::OK, "{}", rebound.text());
    let access = rebound.json()["access_token"].as_str().unwrap().to_owned();
    let claims = app.state.keys.verify::<Value>(&access).unwrap();
    assert_eq!(claims["cnf"]["jkt"], other.jkt());
}

/// A code for the public client, as /authorize would store it after a PKCE request, bound to
/// `dpop_jkt` if given.
async fn spa_code(app: &TestApp, code: &str, dpop_jkt: Option<&str>) {
    let now = app.clock.now();
    let record = token_service::store::CodeRecord {
        grant: token_service::store::Grant {
            client_id: PUBLIC_CLIENT.into(),
            username: Some(USERNAME.into()),
            scope: token_service::scope::Scope::parse("read").unwrap(),
            auth_time: Some(now),
            jkt: None,
        },
        redirect_uri: None,
        code_challenge: Some(CHALLENGE.into()),
        nonce: None,
        sid: None,
        dpop_jkt: dpop_jkt.map(str::to_owned),
        expires_at: now + 60,
    };
    let hashed = token_service::store::Hashed::of(code);
    app.state
        .store
        .put_code(&hashed, &record, 60)
        .await
        .unwrap();
}

fn spa_redeem(code: &str) -> Value {
    json!({"grant_type": "authorization_code", "client_id": PUBLIC_CLIENT, "code": code,
        "code_verifier": VERIFIER})
}

/// The public client's refresh token, issued with a proof by `key`.
async fn spa_refresh_token(app: &TestApp, key: &DpopKey) -> Value {
    spa_code(app, "spa-code", None).await;
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(app, &spa_redeem("spa-code"), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["refresh_token"].clone()
}

#[tokio::test]
async fn a_public_clients_refresh_token_works_only_with_a_proof_by_its_key() {
    let app = app();
    let key = DpopKey::es256();
    let refresh_token = spa_refresh_token(&app, &key).await;
    let body = refresh(PUBLIC_CLIENT, &refresh_token);

    let other = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &body, &[&other]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let response = token(&app, &body, &[]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    // Neither refused attempt consumed the token: its holder still refreshes.
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &body, &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "DPoP");
    let next = response.json()["refresh_token"].clone();
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &refresh(PUBLIC_CLIENT, &next), &[&proof]).await;
    assert_eq!(
        response.status,
        StatusCode::OK,
        "the successor is bound too"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_clients_bound_refresh_token_is_refused_with_another_key_on_redis() {
    let (app, _) = replicas(&[]);
    let key = DpopKey::es256();
    let refresh_token = spa_refresh_token(&app, &key).await;
    let body = refresh(PUBLIC_CLIENT, &refresh_token);
    let other = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    token(&app, &body, &[&other])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    token(&app, &body, &[])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &body, &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
}

/// A code for the public client through the login page, with `dpop_jkt`.
async fn code_bound_to(app: &TestApp, jkt: &str) -> String {
    let request = [
        ("response_type", "code"),
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", CALLBACK),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("dpop_jkt", jkt),
    ];
    signed_in_code(app, &request).await
}

/// Signs the example user in at /authorize with `request`; the code of the redirect.
async fn signed_in_code(app: &TestApp, request: &[(&str, &str)]) -> String {
    let response = Jar::default()
        .sign_in(app, request, USERNAME, PASSWORD)
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let url = location(&response);
    let code = url.query_pairs().find(|(k, _)| k == "code").unwrap().1;
    code.into_owned()
}

fn spa_redeem_at(code: &str) -> Value {
    let mut body = spa_redeem(code);
    body["redirect_uri"] = json!(CALLBACK);
    body
}

#[tokio::test]
async fn a_code_bound_by_dpop_jkt_redeemed_with_another_key_is_invalid_grant() {
    let app = app();
    let key = DpopKey::es256();
    let code = code_bound_to(&app, &key.jkt()).await;
    let other = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &spa_redeem_at(&code), &[&other]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_bound_by_dpop_jkt_redeemed_without_a_proof_is_invalid_grant() {
    let app = app();
    let code = code_bound_to(&app, &DpopKey::es256().jkt()).await;
    let response = token(&app, &spa_redeem_at(&code), &[]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_code_bound_by_dpop_jkt_redeems_with_a_proof_by_that_key() {
    let app = app();
    let key = DpopKey::es256();
    let code = code_bound_to(&app, &key.jkt()).await;
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &spa_redeem_at(&code), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "DPoP");
}

/// A code for the example client through a pushed request (RFC 9126) carrying `dpop_jkt`.
async fn pushed_code_bound_to(app: &TestApp, jkt: &str) -> String {
    let pairs = [
        ("response_type", "code"),
        ("redirect_uri", CALLBACK),
        ("dpop_jkt", jkt),
    ];
    let pushed = app
        .post_form("/par", &pairs, Some((CLIENT_ID, CLIENT_SECRET)))
        .await;
    assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text());
    let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
    let by_reference = [
        ("client_id", CLIENT_ID),
        ("request_uri", request_uri.as_str()),
    ];
    signed_in_code(app, &by_reference).await
}

#[tokio::test]
async fn a_code_pushed_with_dpop_jkt_redeems_only_with_a_proof_by_that_key() {
    let app = app();
    let key = DpopKey::es256();
    let redeem = |code: &str| {
        json!({"grant_type": "authorization_code", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": CALLBACK})
    };
    let code = pushed_code_bound_to(&app, &key.jkt()).await;
    let other = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    token(&app, &redeem(&code), &[&other])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let code = pushed_code_bound_to(&app, &key.jkt()).await;
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &redeem(&code), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "DPoP");
}

/// Pushes a request for a code with the client's secret in the body and `proofs` at /par.
async fn push_with_proofs(app: &TestApp, extra: Value, proofs: &[&str]) -> TestResponse {
    let mut body = json!({"response_type": "code", "redirect_uri": CALLBACK,
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    for (name, value) in extra.as_object().unwrap() {
        body[name] = value.clone();
    }
    post_json_with_proofs(app, "/par", &body, proofs).await
}

#[tokio::test]
async fn a_code_pushed_with_a_proof_redeems_only_with_a_proof_by_that_key() {
    let app = app();
    let key = DpopKey::es256();
    let redeem = |code: &str| {
        json!({"grant_type": "authorization_code", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "code": code, "redirect_uri": CALLBACK})
    };
    let code_pushed_with_proof = || async {
        let pushed = push_with_proofs(
            &app,
            json!({}),
            &[&key.proof("POST", PAR_URL, app.clock.now())],
        )
        .await;
        assert_eq!(pushed.status, StatusCode::CREATED, "{}", pushed.text());
        let request_uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
        let by_reference = [
            ("client_id", CLIENT_ID),
            ("request_uri", request_uri.as_str()),
        ];
        signed_in_code(&app, &by_reference).await
    };
    let code = code_pushed_with_proof().await;
    token(&app, &redeem(&code), &[])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");

    let code = code_pushed_with_proof().await;
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &redeem(&code), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["token_type"], "DPoP");
}

#[tokio::test]
async fn a_proof_at_par_beside_a_dpop_jkt_of_another_key_is_invalid_dpop_proof() {
    let app = app();
    let key = DpopKey::es256();
    let other = DpopKey::es256().jkt();
    let proof = key.proof("POST", PAR_URL, app.clock.now());
    push_with_proofs(&app, json!({"dpop_jkt": other}), &[&proof])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_proof_at_par_for_the_token_endpoint_is_invalid_dpop_proof() {
    let app = app();
    let proof = DpopKey::es256().proof("POST", TOKEN_URL, app.clock.now());
    push_with_proofs(&app, json!({}), &[&proof])
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_dpop_jkt_that_is_no_thumbprint_is_an_invalid_request_redirect() {
    let app = app();
    let request = [
        ("response_type", "code"),
        ("client_id", PUBLIC_CLIENT),
        ("redirect_uri", CALLBACK),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
        ("dpop_jkt", "not-a-thumbprint"),
    ];
    let response = app
        .get(&crate::common::login::authorize_uri(&request))
        .await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    assert_error_redirect(&response, CALLBACK, "invalid_request");
}

/// A DPoP-bound access token with `openid`, by `key`.
async fn bound_openid_token(app: &TestApp, key: &DpopKey) -> String {
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(app, &password("openid read"), &[&proof]).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

/// The app, a key, and a DPoP-bound token with `openid` by that key.
async fn bound() -> (TestApp, DpopKey, String) {
    let app = app();
    let key = DpopKey::es256();
    let access = bound_openid_token(&app, &key).await;
    (app, key, access)
}

fn userinfo_proof(app: &TestApp, key: &DpopKey, access_token: &str) -> String {
    let mut claims = claims("GET", USERINFO_URL, app.clock.now());
    claims["ath"] = json!(ath(access_token));
    key.sign(&key.header(), &claims)
}

/// Asserts a 401 with a `WWW-Authenticate: DPoP` challenge naming `error`.
fn assert_dpop_challenge(response: &TestResponse, error: &str) {
    assert_eq!(
        response.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        response.text()
    );
    let challenge = response.header("www-authenticate").unwrap();
    assert!(
        challenge.starts_with(&format!(r#"DPoP error="{error}""#)),
        "{challenge}"
    );
    assert!(challenge.contains(r#"algs="ES256 EdDSA PS256 RS256""#));
    assert_eq!(response.json()["error"], error);
}

#[tokio::test]
async fn userinfo_answers_a_dpop_token_with_a_proof_of_its_key() {
    let (app, key, access) = bound().await;
    let proof = userinfo_proof(&app, &key, &access);
    let response = userinfo(&app, &format!("DPoP {access}"), Some(&proof)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.json()["sub"], SUBJECT);
}

#[tokio::test]
async fn a_dpop_bound_token_sent_as_bearer_is_invalid_token() {
    let (app, key, access) = bound().await;
    let proof = userinfo_proof(&app, &key, &access);
    let response = userinfo(&app, &format!("Bearer {access}"), Some(&proof)).await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    assert_eq!(response.json()["error"], "invalid_token");
}

#[tokio::test]
async fn a_userinfo_proof_without_ath_is_invalid_dpop_proof() {
    let (app, key, access) = bound().await;
    let proof = key.proof("GET", USERINFO_URL, app.clock.now());
    let response = userinfo(&app, &format!("DPoP {access}"), Some(&proof)).await;
    assert_dpop_challenge(&response, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_userinfo_proof_whose_ath_hashes_another_token_is_invalid_dpop_proof() {
    let (app, key, access) = bound().await;
    let proof = userinfo_proof(&app, &key, "another-token");
    let response = userinfo(&app, &format!("DPoP {access}"), Some(&proof)).await;
    assert_dpop_challenge(&response, "invalid_dpop_proof");
}

#[tokio::test]
async fn a_userinfo_proof_by_another_key_than_the_tokens_is_invalid_dpop_proof() {
    let app = app();
    let access = bound_openid_token(&app, &DpopKey::es256()).await;
    let proof = userinfo_proof(&app, &DpopKey::es256(), &access);
    let response = userinfo(&app, &format!("DPoP {access}"), Some(&proof)).await;
    assert_dpop_challenge(&response, "invalid_dpop_proof");
}

#[tokio::test]
async fn the_dpop_scheme_without_a_proof_is_invalid_dpop_proof() {
    let app = app();
    let access = bound_openid_token(&app, &DpopKey::es256()).await;
    let response = userinfo(&app, &format!("DPoP {access}"), None).await;
    assert_dpop_challenge(&response, "invalid_dpop_proof");
}

#[tokio::test]
async fn an_unbound_token_with_the_dpop_scheme_is_invalid_token() {
    let app = app();
    let response = token(&app, &password("openid read"), &[]).await;
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    let key = DpopKey::es256();
    let proof = userinfo_proof(&app, &key, &access);
    let response = userinfo(&app, &format!("DPoP {access}"), Some(&proof)).await;
    assert_dpop_challenge(&response, "invalid_token");
}

#[tokio::test]
async fn a_replayed_userinfo_proof_is_invalid_dpop_proof() {
    let (app, key, access) = bound().await;
    let proof = userinfo_proof(&app, &key, &access);
    let authorization = format!("DPoP {access}");
    let first = userinfo(&app, &authorization, Some(&proof)).await;
    assert_eq!(first.status, StatusCode::OK);
    let again = userinfo(&app, &authorization, Some(&proof)).await;
    assert_dpop_challenge(&again, "invalid_dpop_proof");
}

#[tokio::test]
async fn with_nonces_on_userinfo_asks_for_one_with_a_dpop_challenge_and_then_answers() {
    let app = app_with(&[("TS_DPOP_NONCE", "true")]);
    let key = DpopKey::es256();
    let first = nonce_demanded(&app, &key).await;
    let proof = proof_with_nonce(&app, &key, &first);
    let response = token(&app, &password("openid read"), &[&proof]).await;
    let access = response.json()["access_token"].as_str().unwrap().to_owned();
    let authorization = format!("DPoP {access}");

    let proof = userinfo_proof(&app, &key, &access);
    let response = userinfo(&app, &authorization, Some(&proof)).await;
    assert_dpop_challenge(&response, "use_dpop_nonce");
    let nonce = response.header("dpop-nonce").unwrap().to_owned();

    let mut claims = claims("GET", USERINFO_URL, app.clock.now());
    claims["ath"] = json!(ath(&access));
    claims["nonce"] = json!(nonce);
    let proof = key.sign(&key.header(), &claims);
    let response = userinfo(&app, &authorization, Some(&proof)).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert!(response.header("dpop-nonce").is_some());
}

#[tokio::test]
async fn a_request_without_authorization_is_offered_both_schemes() {
    let app = app();
    let response = app.get("/userinfo").await;
    assert_eq!(response.status, StatusCode::UNAUTHORIZED);
    let challenges: Vec<&str> = response
        .headers
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(
        challenges,
        ["Bearer", r#"DPoP algs="ES256 EdDSA PS256 RS256""#]
    );
}

#[tokio::test]
async fn introspection_shows_a_bound_tokens_cnf_and_type() {
    let app = app();
    let key = DpopKey::es256();
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = token(&app, &client_credentials(), &[&proof]).await;
    let access = response.json()["access_token"].clone();
    let body = json!({"token": access, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET});
    let response = app.post_json("/introspect", &body).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let description = response.json();
    assert_eq!(description["active"], true);
    assert_eq!(description["token_type"], "DPoP");
    assert_eq!(description["cnf"], json!({"jkt": key.jkt()}));
}

#[tokio::test]
async fn discovery_lists_the_dpop_signing_algorithms() {
    let response = app().get("/.well-known/oauth-authorization-server").await;
    assert_eq!(
        response.json()["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA", "PS256", "RS256"])
    );
}

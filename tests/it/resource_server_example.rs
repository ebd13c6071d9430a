//! `examples/resource_server.rs` against a served token-service: it accepts tokens with the
//! scope, answers RFC 6750 errors, refetches the JWKS at most once per interval however many
//! forged kids arrive, keeps working across a signing-key rotation without a restart, and
//! takes DPoP-bound tokens only with a fresh proof of their key (RFC 9449 §7).

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use token_service::ServeLimits;

use crate::common::dpop::{self, DpopKey, TOKEN_URL};
use crate::common::redis::free_port;
use crate::common::*;

/// The example's binary, which `cargo test` builds beside the service's.
fn example_binary() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_BIN_EXE_token-service"))
        .with_file_name("examples")
        .join("resource_server")
}

/// The example, running against `issuer`, until dropped.
struct ResourceServer {
    child: Child,
    base: String,
}

impl ResourceServer {
    fn start(issuer: &str) -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let child = Command::new(example_binary())
            .env("ISSUER", "http://localhost:8080")
            .env("JWKS_URL", format!("{issuer}/.well-known/jwks.json"))
            .env("AUDIENCE", "https://api.example.com")
            .env("LISTEN", &listen)
            .env("PUBLIC_URL", format!("http://{listen}"))
            .env("JWKS_MIN_REFETCH_SECS", "2")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo test builds examples/resource_server.rs");
        let base = format!("http://{listen}");
        let server = ResourceServer { child, base };
        for _ in 0..200 {
            if std::net::TcpStream::connect(&listen).is_ok() {
                return server;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the resource server did not start");
    }

    async fn reports(&self, token: Option<&str>) -> (StatusCode, Option<String>, Value) {
        let mut request = http().get(format!("{}/reports", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Self::answer(request).await
    }

    /// `/reports` with `Authorization: DPoP` and `proof`.
    async fn reports_dpop(&self, token: &str, proof: &str) -> (StatusCode, Option<String>, Value) {
        let request = http()
            .get(format!("{}/reports", self.base))
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", proof);
        Self::answer(request).await
    }

    /// A proof of `key` for `/reports` with the token's `ath`.
    fn proof(&self, key: &DpopKey, token: &str) -> String {
        let mut claims = dpop::claims("GET", &format!("{}/reports", self.base), real_now());
        claims["ath"] = json!(dpop::ath(token));
        key.sign(&key.header(), &claims)
    }

    async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Option<String>, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let challenge = response
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        (
            status,
            challenge,
            response.json().await.unwrap_or(Value::Null),
        )
    }
}

impl Drop for ResourceServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn access_token(app: &TestApp, scope: &str) -> String {
    let body = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "scope": scope,
            }),
        )
        .await
        .json();
    body["access_token"].as_str().unwrap().to_owned()
}

/// How many JWKS requests the service has answered, from its /metrics.
async fn jwks_fetches(server: &TestServer) -> u64 {
    let text = http()
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("token_service_http_requests_total{"))
        .filter(|l| l.contains(r#"route="/.well-known/jwks.json""#))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn a_token_with_the_scope_is_accepted() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let (status, _, body) = api.reports(Some(&access_token(&app, "read").await)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], CLIENT_ID);
}

#[tokio::test]
async fn refusals_are_rfc_6750_challenges() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let (status, challenge, _) = api.reports(None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(challenge.as_deref(), Some(r#"Bearer realm="api""#));

    let mut forged = access_token(&app, "read").await;
    forged.push('x');
    let (status, challenge, _) = api.reports(Some(&forged)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));

    let (status, challenge, _) = api.reports(Some(&access_token(&app, "write").await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let challenge = challenge.unwrap();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"scope="read""#), "{challenge}");
}

#[tokio::test]
async fn forged_kids_refetch_the_jwks_at_most_once_per_interval() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let token = access_token(&app, "read").await;
    assert_eq!(api.reports(Some(&token)).await.0, StatusCode::OK);
    let before = jwks_fetches(&server).await;
    // The same token under 40 kids nobody published.
    let (_, payload_and_signature) = token.split_once('.').unwrap();
    for n in 0..40 {
        let header = json!({"alg": "ES256", "typ": "at+jwt", "kid": format!("forged-{n}")});
        let header = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            header.to_string(),
        );
        let forged = format!("{header}.{payload_and_signature}");
        assert_eq!(api.reports(Some(&forged)).await.0, StatusCode::UNAUTHORIZED);
    }
    let refetches = jwks_fetches(&server).await - before;
    assert!(
        refetches <= 1,
        "{refetches} JWKS fetches for 40 forged kids"
    );
}

#[tokio::test]
async fn a_signing_key_rotation_needs_no_restart_of_the_resource_server() {
    let keys = tempfile::tempdir().unwrap();
    let old_key = repo_path("tests/fixtures/keys-two/2025-01-01-es256.pem");
    std::fs::copy(&old_key, keys.path().join("2025-01-01-es256.pem")).unwrap();
    let dir = keys.path().display().to_string();
    let at: std::net::SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let before = TestApp::with_vars(&[("TS_KEYS_DIR", &dir)]);
    let server = TestServer::spawn_at(at, before.state.clone(), ServeLimits::default()).await;
    let api = ResourceServer::start(&server.base);
    let old_token = access_token(&before, "read").await;
    assert_eq!(api.reports(Some(&old_token)).await.0, StatusCode::OK);

    // The new key is added and made the signer; the service restarts on the same address.
    server.stop().await;
    let new_key = repo_path("tests/fixtures/keys-two/2026-01-01-es256.pem");
    std::fs::copy(&new_key, keys.path().join("2026-01-01-es256.pem")).unwrap();
    let after = TestApp::with_vars(&[("TS_KEYS_DIR", &dir)]);
    let _server = TestServer::spawn_at(at, after.state.clone(), ServeLimits::default()).await;
    let new_token = access_token(&after, "read").await;
    assert_ne!(
        jsonwebtoken::decode_header(&new_token).unwrap().kid,
        jsonwebtoken::decode_header(&old_token).unwrap().kid
    );

    assert_eq!(api.reports(Some(&old_token)).await.0, StatusCode::OK);
    // The new kid is unknown to the cache until one refetch, allowed once the 2 s interval
    // since the last one has passed: asked until then, bounded far beyond it.
    let accepted = async {
        loop {
            let (status, _, body) = api.reports(Some(&new_token)).await;
            if status == StatusCode::OK {
                return body;
            }
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), accepted)
        .await
        .expect("the new key's token is accepted once the interval passed");
    assert_eq!(api.reports(Some(&old_token)).await.0, StatusCode::OK);
}

/// A client_credentials token bound to `key` (scope `read`).
async fn bound_token(app: &TestApp, key: &DpopKey) -> String {
    let body = json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "scope": "read"});
    let proof = key.proof("POST", TOKEN_URL, app.clock.now());
    let response = dpop::token(app, &body, &[&proof]).await;
    assert_eq!(response.json()["token_type"], "DPoP", "{}", response.text());
    response.json()["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_dpop_bound_token_with_a_proof_of_its_key_is_accepted() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let key = DpopKey::es256();
    let token = bound_token(&app, &key).await;
    let (status, _, body) = api.reports_dpop(&token, &api.proof(&key, &token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sub"], CLIENT_ID);
}

#[tokio::test]
async fn a_replayed_proof_is_refused_inside_its_window() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let key = DpopKey::es256();
    let token = bound_token(&app, &key).await;
    let proof = api.proof(&key, &token);
    assert_eq!(api.reports_dpop(&token, &proof).await.0, StatusCode::OK);
    let (status, challenge, _) = api.reports_dpop(&token, &proof).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = challenge.unwrap();
    assert!(
        challenge.starts_with(r#"DPoP realm="api", error="invalid_dpop_proof""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn a_proof_by_another_key_or_with_another_tokens_ath_is_refused() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let key = DpopKey::es256();
    let token = bound_token(&app, &key).await;
    for proof in [
        api.proof(&DpopKey::es256(), &token),
        api.proof(&key, "another-token"),
    ] {
        let (status, challenge, _) = api.reports_dpop(&token, &proof).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.unwrap().contains(r#"error="invalid_dpop_proof""#));
    }
}

#[tokio::test]
async fn a_dpop_bound_token_sent_as_bearer_is_refused() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let token = bound_token(&app, &DpopKey::es256()).await;
    let (status, challenge, _) = api.reports(Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.unwrap().contains(r#"error="invalid_token""#));
}

#[tokio::test]
async fn an_unbound_token_with_the_dpop_scheme_is_refused() {
    let app = TestApp::new();
    let server = TestServer::spawn(app.state.clone()).await;
    let api = ResourceServer::start(&server.base);
    let key = DpopKey::es256();
    let token = access_token(&app, "read").await;
    let (status, challenge, _) = api.reports_dpop(&token, &api.proof(&key, &token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = challenge.unwrap();
    assert!(
        challenge.starts_with(r#"DPoP realm="api", error="invalid_token""#),
        "{challenge}"
    );
}

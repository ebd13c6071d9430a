//! `profile = "fapi2"` (README, "FAPI 2.0"): what the profile asks of a client beyond what each
//! of its parts does alone. The whole flow, driven by oauth4webapi, is in
//! `interop_oauth4webapi`.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::client_keys::{KeyPair, jwks_toml};
use crate::common::*;

const ISSUER: &str = "http://localhost:8080";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const CLIENT: &str = "bank";
const CALLBACK: &str = "https://bank.example/cb";
/// A PKCE S256 challenge (RFC 7636 appendix B).
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGwSmTcKxY";

/// The service with one FAPI 2.0 client; the config file lives as long as it.
struct Service {
    app: TestApp,
    key: KeyPair,
    _dir: tempfile::TempDir,
}

impl Service {
    fn new() -> Self {
        let key = KeyPair::es256("bank-key");
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("clients.toml");
        let text = format!(
            "[[clients]]\nid = \"{CLIENT}\"\nprofile = \"fapi2\"\n{}\n\
             grant_types = [\"authorization_code\", \"refresh_token\"]\n\
             redirect_uris = [\"{CALLBACK}\"]\nscopes = [\"accounts\"]\n",
            jwks_toml(&[&key])
        );
        std::fs::write(&config, text).unwrap();
        let app = TestApp::with_vars(&[("TS_CONFIG_FILE", &config.display().to_string())]);
        Service {
            app,
            key,
            _dir: dir,
        }
    }

    /// A fresh assertion of the client for `aud`.
    fn assertion(&self, aud: &str) -> String {
        let now = self.app.clock.now();
        let jti = format!("fapi2-{}", fresh_jti());
        self.key.sign(
            &json!({"iss": CLIENT, "sub": CLIENT, "aud": aud, "iat": now,
            "exp": now + 60, "jti": jti}),
        )
    }

    async fn post(&self, uri: &str, aud: &str, pairs: &[(&str, &str)]) -> TestResponse {
        let assertion = self.assertion(aud);
        let mut all = vec![
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion.as_str()),
        ];
        all.extend_from_slice(pairs);
        self.app.post_form(uri, &all, None).await
    }

    /// Pushes an authorization request with PKCE and `extra` parameters.
    async fn push(&self, aud: &str, extra: &[(&str, &str)]) -> TestResponse {
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", CLIENT),
            ("redirect_uri", CALLBACK),
            ("scope", "accounts"),
        ];
        pairs.extend_from_slice(extra);
        self.post("/par", aud, &pairs).await
    }
}

/// A `jti` no other assertion of this test binary has.
fn fresh_jti() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::SeqCst)
}

const PKCE: [(&str, &str); 2] = [
    ("code_challenge", CHALLENGE),
    ("code_challenge_method", "S256"),
];

#[tokio::test]
async fn a_fapi2_client_s_assertion_for_the_issuer_authenticates_its_push() {
    let service = Service::new();
    let response = service.push(ISSUER, &PKCE).await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let body: Value = response.json();
    assert!(
        body["request_uri"]
            .as_str()
            .unwrap()
            .starts_with("urn:ietf:params:oauth:request_uri:")
    );
}

#[tokio::test]
async fn a_fapi2_client_s_assertion_for_the_endpoint_s_url_is_invalid_client() {
    let service = Service::new();
    let response = service.push(&format!("{ISSUER}/par"), &PKCE).await;
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
}

#[tokio::test]
async fn a_fapi2_push_without_pkce_is_invalid_request() {
    let service = Service::new();
    let response = service.push(ISSUER, &[]).await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        response.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("PKCE")
    );
}

#[tokio::test]
async fn a_fapi2_client_asking_for_client_credentials_is_unauthorized_client() {
    let service = Service::new();
    let response = service
        .post(
            "/token",
            ISSUER,
            &[("grant_type", "client_credentials"), ("scope", "accounts")],
        )
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "unauthorized_client");
}

#[tokio::test]
async fn a_fapi2_client_s_request_not_pushed_is_refused_at_authorize() {
    let service = Service::new();
    let query = form(&[
        ("response_type", "code"),
        ("client_id", CLIENT),
        ("redirect_uri", CALLBACK),
        ("scope", "accounts"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let response = service.app.get(&format!("/authorize?{query}")).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{}",
        response.text()
    );
    let location = response.header("location").unwrap();
    assert!(location.starts_with(CALLBACK), "{location}");
    assert!(location.contains("error=invalid_request"), "{location}");
}

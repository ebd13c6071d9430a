//! `private_key_jwt` client authentication (RFC 7523 §2.2, §3; OpenID Connect Core §9; README,
//! "Client authentication") at `/token`, `/par`, `/revoke` and `/introspect`: clients registered with
//! public keys generated here, assertions signed here, every refusal `invalid_client` without
//! touching the store.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use serde_json::{Value, json};

use crate::common::client_keys::{KeyPair, jwks_toml};
use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

const ISSUER: &str = "http://localhost:8080";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Authenticates with keys only (no secret): confidential all the same.
const KEY_CLIENT: &str = "key-client";
/// Restricted to `private_key_jwt`, with a secret that is unused.
const KEY_CLIENT_WITH_SECRET: &str = "key-client-with-secret";
/// Restricted to `client_secret_basic`, with keys that are unused.
const BASIC_CLIENT: &str = "basic-client";
/// The test config's secret (and hash) of the example client.
const SECRET_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$WSR1DqFEbLgs8S5iuUUREA$GyH9KAkaoErCl+SJnX/+H7HHpkdB+3nmuBYR7+UNOy4";
const AUDIENCE: &str = "https://api.example.com";
const CALLBACK: &str = "https://app.example/cb";

/// Every key a client of the test config registers.
struct Keys {
    es256: KeyPair,
    ed25519: KeyPair,
    rs256: KeyPair,
    ps256: KeyPair,
}

impl Keys {
    fn new() -> Self {
        Keys {
            es256: KeyPair::es256("es"),
            ed25519: KeyPair::ed25519(),
            rs256: KeyPair::rsa(Algorithm::RS256, "rs"),
            ps256: KeyPair::rsa(Algorithm::PS256, "ps"),
        }
    }
}

/// The three clients, in a config file of their own.
fn config_text(keys: &Keys) -> String {
    let all = jwks_toml(&[&keys.es256, &keys.ed25519, &keys.rs256, &keys.ps256]);
    let es256 = jwks_toml(&[&keys.es256]);
    format!(
        "[[clients]]\nid = \"{KEY_CLIENT}\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
         {all}\ngrant_types = [\"client_credentials\", \"refresh_token\", \"authorization_code\"]\n\
         redirect_uris = [\"{CALLBACK}\"]\nscopes = [\"read\"]\naudience = [\"{AUDIENCE}\"]\n\n\
         [[clients]]\nid = \"{KEY_CLIENT_WITH_SECRET}\"\ntoken_endpoint_auth_method = \"private_key_jwt\"\n\
         secret_hash = \"{SECRET_HASH}\"\n{es256}\ngrant_types = [\"client_credentials\"]\n\n\
         [[clients]]\nid = \"{BASIC_CLIENT}\"\ntoken_endpoint_auth_method = \"client_secret_basic\"\n\
         secret_hash = \"{SECRET_HASH}\"\n{es256}\ngrant_types = [\"client_credentials\"]\n"
    )
}

/// The service on the clients above, with `vars`; the config file lives as long as it.
struct Service {
    app: TestApp,
    keys: Keys,
    config: String,
    _dir: tempfile::TempDir,
}

impl Service {
    fn new() -> Self {
        Self::with_vars(&[])
    }

    fn with_vars(vars: &[(&str, &str)]) -> Self {
        let keys = Keys::new();
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("clients.toml");
        std::fs::write(&config, config_text(&keys)).unwrap();
        let config = config.display().to_string();
        Service {
            app: Self::instance(&config, vars),
            keys,
            config,
            _dir: dir,
        }
    }

    /// Another instance on the same clients and keys (`vars` name its store).
    fn replica(&self, vars: &[(&str, &str)]) -> TestApp {
        Self::instance(&self.config, vars)
    }

    fn instance(config: &str, vars: &[(&str, &str)]) -> TestApp {
        let mut all = vec![("TS_CONFIG_FILE", config)];
        all.extend_from_slice(vars);
        TestApp::with_vars(&all)
    }

    fn now(&self) -> u64 {
        self.app.clock.now()
    }

    /// Claims a valid assertion of `client` for the issuer carries, with a fresh `jti`.
    fn claims(&self, client: &str) -> Value {
        let now = self.now();
        json!({"iss": client, "sub": client, "aud": ISSUER, "iat": now, "exp": now + 60,
            "jti": fresh_jti()})
    }

    /// A valid ES256 assertion of the key client, with `changes` to its claims (`null`
    /// removes one).
    fn assertion(&self, changes: Value) -> String {
        self.keys
            .es256
            .sign(&changed(self.claims(KEY_CLIENT), changes))
    }

    /// A form POST to `uri` authenticated by `assertion` (and `pairs`).
    async fn post(&self, uri: &str, assertion: &str, pairs: &[(&str, &str)]) -> TestResponse {
        post_with(&self.app, uri, assertion, pairs).await
    }

    async fn client_credentials(&self, assertion: &str) -> TestResponse {
        self.post("/token", assertion, &[("grant_type", "client_credentials")])
            .await
    }
}

async fn post_with(
    app: &TestApp,
    uri: &str,
    assertion: &str,
    pairs: &[(&str, &str)],
) -> TestResponse {
    let mut all = vec![
        ("client_assertion_type", JWT_BEARER),
        ("client_assertion", assertion),
    ];
    all.extend_from_slice(pairs);
    app.post_form(uri, &all, None).await
}

fn changed(mut claims: Value, changes: Value) -> Value {
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            value => claims
                .as_object_mut()
                .unwrap()
                .insert(name.clone(), value.clone()),
        };
    }
    claims
}

fn fresh_jti() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let random: [u8; 16] = ring::rand::generate(&SystemRandom::new()).unwrap().expose();
    format!(
        "{}-{}",
        NEXT.fetch_add(1, Ordering::SeqCst),
        B64.encode(random)
    )
}

/// 401 `invalid_client` with `WWW-Authenticate`, as every failed client authentication.
fn assert_invalid_client(response: &TestResponse) {
    response.assert_oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(response.header("www-authenticate").is_some());
}

fn assert_ok(response: &TestResponse) -> Value {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// An ES256 assertion of the key client with `changes` to its claims (made knowing `now`) is
/// refused at `/token`.
async fn assert_claims_refused(changes: impl Fn(u64) -> Value) {
    let service = Service::new();
    let assertion = service.assertion(changes(service.now()));
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn client_credentials_with_an_assertion_issues_a_token_the_jwks_verifies() {
    let service = Service::new();
    let server = TestServer::spawn(service.app.state.clone()).await;
    let body = assert_ok(
        &service
            .client_credentials(&service.assertion(json!({})))
            .await,
    );
    let (typ, claims) = resource_server::verify(
        &server.base,
        body["access_token"].as_str().unwrap(),
        AUDIENCE,
    )
    .await;
    assert_eq!(typ, "at+jwt");
    assert_eq!(claims["sub"], KEY_CLIENT);
    assert_eq!(claims["client_id"], KEY_CLIENT);
    assert_eq!(claims["scope"], "read");
    assert!(body["refresh_token"].is_string(), "{body}");
}

#[tokio::test]
async fn every_supported_algorithm_authenticates() {
    let service = Service::new();
    let keys = &service.keys;
    for key in [&keys.es256, &keys.ed25519, &keys.rs256, &keys.ps256] {
        let assertion = key.sign(&service.claims(KEY_CLIENT));
        let response = service.client_credentials(&assertion).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{:?}: {}",
            key.alg,
            response.text()
        );
    }
}

#[tokio::test]
async fn the_assertion_may_come_in_a_json_body_beside_its_client_id() {
    let service = Service::new();
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": KEY_CLIENT,
        "client_assertion_type": JWT_BEARER,
        "client_assertion": service.assertion(json!({})),
    });
    assert_ok(&service.app.post_json("/token", &body).await);
}

#[tokio::test]
async fn revoke_takes_an_assertion_and_revokes_the_client_s_refresh_token() {
    let service = Service::new();
    let issued = assert_ok(
        &service
            .client_credentials(&service.assertion(json!({})))
            .await,
    );
    let refresh = issued["refresh_token"].as_str().unwrap();
    let revoked = service
        .post(
            "/revoke",
            &service.assertion(json!({})),
            &[("token", refresh)],
        )
        .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let renewed = service
        .post(
            "/token",
            &service.assertion(json!({})),
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
        )
        .await;
    renewed.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn introspect_takes_an_assertion_from_a_client_with_keys_and_no_secret() {
    let service = Service::new();
    let issued = assert_ok(
        &service
            .client_credentials(&service.assertion(json!({})))
            .await,
    );
    let token = issued["access_token"].as_str().unwrap();
    let body = assert_ok(
        &service
            .post(
                "/introspect",
                &service.assertion(json!({})),
                &[("token", token)],
            )
            .await,
    );
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["client_id"], KEY_CLIENT);
}

/// The key client's code request, as it pushes it (RFC 9126 §2.1).
const CODE_REQUEST: [(&str, &str); 3] = [
    ("response_type", "code"),
    ("redirect_uri", CALLBACK),
    ("scope", "read"),
];

#[tokio::test]
async fn par_takes_an_assertion_for_the_issuer_or_its_own_url() {
    let service = Service::new();
    for aud in [ISSUER.to_owned(), format!("{ISSUER}/par")] {
        let assertion = service.assertion(json!({ "aud": aud }));
        let response = service.post("/par", &assertion, &CODE_REQUEST).await;
        assert_eq!(
            response.status,
            StatusCode::CREATED,
            "{aud}: {}",
            response.text()
        );
    }
}

#[tokio::test]
async fn a_pushed_request_keeps_no_client_assertion() {
    let service = Service::new();
    let response = service
        .post("/par", &service.assertion(json!({})), &CODE_REQUEST)
        .await;
    assert_eq!(response.status, StatusCode::CREATED, "{}", response.text());
    let request_uri = response.json()["request_uri"].as_str().unwrap().to_owned();
    let now = service.now();
    let id = token_service::store::Hashed::of(&request_uri);
    let store = &service.app.state.store;
    let stored = store.take_pushed(&id, now).await.unwrap().unwrap();
    assert_eq!(stored.client_id, KEY_CLIENT);
    let names: Vec<&str> = stored.params.iter().map(|(k, _)| k.as_str()).collect();
    assert!(
        !names.iter().any(|n| n.starts_with("client_assertion")),
        "{names:?}"
    );
}

#[tokio::test]
async fn the_endpoint_s_url_is_accepted_as_audience_alone_or_in_an_array() {
    let service = Service::new();
    let at_token = service.assertion(json!({"aud": format!("{ISSUER}/token")}));
    assert_ok(&service.client_credentials(&at_token).await);
    let in_array =
        service.assertion(json!({"aud": ["https://other.example", format!("{ISSUER}/token")]}));
    assert_ok(&service.client_credentials(&in_array).await);
    let at_introspect = service.assertion(json!({"aud": format!("{ISSUER}/introspect")}));
    let response = service
        .post("/introspect", &at_introspect, &[("token", "anything")])
        .await;
    assert_eq!(response.json(), json!({"active": false}));
}

#[tokio::test]
async fn another_endpoint_s_url_is_not_an_audience() {
    assert_claims_refused(|_| json!({"aud": format!("{ISSUER}/revoke")})).await;
}

#[tokio::test]
async fn alg_none_is_invalid_client() {
    let service = Service::new();
    let header = B64.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let claims = B64.encode(service.claims(KEY_CLIENT).to_string());
    let assertion = format!("{header}.{claims}.");
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn an_hmac_assertion_keyed_with_the_public_key_is_invalid_client() {
    let service = Service::new();
    // The classic confusion: the public key, which anyone knows, as an HMAC secret.
    let secret = service.keys.es256.jwk.to_string();
    let assertion = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &service.claims(KEY_CLIENT),
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap();
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn a_bad_signature_is_invalid_client() {
    let service = Service::new();
    let assertion = service.assertion(json!({}));
    let (signed, signature) = assertion.rsplit_once('.').unwrap();
    let mut bytes = B64.decode(signature).unwrap();
    bytes[0] ^= 1;
    let tampered = format!("{signed}.{}", B64.encode(bytes));
    assert_invalid_client(&service.client_credentials(&tampered).await);
}

#[tokio::test]
async fn a_signature_by_another_key_is_invalid_client() {
    let service = Service::new();
    let stranger = KeyPair::es256("es");
    let assertion = stranger.sign(&service.claims(KEY_CLIENT));
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn an_unknown_kid_is_invalid_client() {
    let service = Service::new();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("not-registered".into());
    let assertion = jsonwebtoken::encode(
        &header,
        &service.claims(KEY_CLIENT),
        &service.keys.es256.encoding,
    )
    .unwrap();
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn a_wrong_iss_is_invalid_client() {
    let service = Service::new();
    let assertion = service.assertion(json!({"iss": KEY_CLIENT_WITH_SECRET}));
    let response = service
        .post(
            "/token",
            &assertion,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", KEY_CLIENT),
            ],
        )
        .await;
    assert_invalid_client(&response);
}

#[tokio::test]
async fn a_client_id_beside_the_assertion_other_than_its_issuer_is_invalid_client() {
    let service = Service::new();
    // Signed by a key both clients register; iss names one, client_id the other.
    let assertion = service.assertion(json!({}));
    let response = service
        .post(
            "/token",
            &assertion,
            &[
                ("grant_type", "client_credentials"),
                ("client_id", KEY_CLIENT_WITH_SECRET),
            ],
        )
        .await;
    assert_invalid_client(&response);
}

#[tokio::test]
async fn a_wrong_sub_is_invalid_client() {
    assert_claims_refused(|_| json!({"sub": "someone-else"})).await;
}

#[tokio::test]
async fn a_wrong_aud_is_invalid_client() {
    let service = Service::new();
    for aud in [
        json!("https://other.example"),
        json!([AUDIENCE]),
        json!(null),
    ] {
        let assertion = service.assertion(json!({ "aud": aud }));
        assert_invalid_client(&service.client_credentials(&assertion).await);
    }
}

#[tokio::test]
async fn an_expired_assertion_is_invalid_client() {
    let service = Service::new();
    let assertion = service.assertion(json!({}));
    service.app.clock.advance(60);
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn an_assertion_without_exp_is_invalid_client() {
    assert_claims_refused(|_| json!({"exp": null})).await;
}

#[tokio::test]
async fn an_exp_more_than_an_hour_ahead_is_invalid_client() {
    assert_claims_refused(|now| json!({"exp": now + 3600 + 61})).await;
}

#[tokio::test]
async fn an_exp_beyond_what_redis_can_expire_is_invalid_client_not_a_5xx() {
    let url = RedisServer::shared().url();
    let prefix = unique_prefix("pkjwt-exp");
    let service = Service::with_vars(&[("TS_REDIS_URL", &url), ("TS_REDIS_PREFIX", &prefix)]);
    let assertion = service.assertion(json!({"exp": 1e30}));
    assert_invalid_client(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn an_iat_more_than_60_seconds_ahead_is_invalid_client() {
    let service = Service::new();
    let now = service.now();
    let ahead = service.assertion(json!({"iat": now + 61, "exp": now + 120}));
    assert_invalid_client(&service.client_credentials(&ahead).await);
    let within = service.assertion(json!({"iat": now + 60, "exp": now + 120}));
    assert_ok(&service.client_credentials(&within).await);
}

#[tokio::test]
async fn an_nbf_more_than_60_seconds_ahead_is_invalid_client() {
    assert_claims_refused(|now| json!({"nbf": now + 61, "exp": now + 120})).await;
}

#[tokio::test]
async fn an_assertion_without_jti_is_invalid_client() {
    assert_claims_refused(|_| json!({"jti": null})).await;
}

#[tokio::test]
async fn a_replayed_assertion_is_invalid_client() {
    let service = Service::new();
    let assertion = service.assertion(json!({}));
    assert_ok(&service.client_credentials(&assertion).await);
    assert_invalid_client(&service.client_credentials(&assertion).await);
    // Its jti is spent, whatever else changes: a new assertion with the same jti too.
    let payload = assertion.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap();
    let jti = claims["jti"].clone();
    let same_jti = service.assertion(json!({"jti": jti, "aud": format!("{ISSUER}/token")}));
    assert_invalid_client(&service.client_credentials(&same_jti).await);
}

#[tokio::test]
async fn an_assertion_replayed_at_another_replica_is_invalid_client() {
    let url = RedisServer::shared().url();
    let prefix = unique_prefix("pkjwt");
    let vars = [
        ("TS_REDIS_URL", url.as_str()),
        ("TS_REDIS_PREFIX", prefix.as_str()),
    ];
    let service = Service::with_vars(&vars);
    let replica = service.replica(&vars);
    let assertion = service.assertion(json!({}));
    assert_ok(&service.client_credentials(&assertion).await);
    let replayed = post_with(
        &replica,
        "/token",
        &assertion,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_invalid_client(&replayed);
}

#[tokio::test]
async fn a_wrong_assertion_type_is_invalid_client() {
    let service = Service::new();
    let assertion = service.assertion(json!({}));
    for assertion_type in [
        "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        "",
    ] {
        let response = service
            .app
            .post_form(
                "/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", assertion_type),
                    ("client_assertion", &assertion),
                ],
                None,
            )
            .await;
        assert_invalid_client(&response);
    }
    // The assertion was not spent by those: it still authenticates.
    assert_ok(&service.client_credentials(&assertion).await);
}

#[tokio::test]
async fn an_assertion_and_a_client_secret_together_are_invalid_request() {
    let service = Service::new();
    let response = service
        .post(
            "/token",
            &service.assertion(json!({})),
            &[
                ("grant_type", "client_credentials"),
                ("client_secret", CLIENT_SECRET),
            ],
        )
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn an_assertion_and_basic_together_are_invalid_request() {
    let service = Service::new();
    let response = service
        .app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", &service.assertion(json!({}))),
            ],
            Some((KEY_CLIENT_WITH_SECRET, CLIENT_SECRET)),
        )
        .await;
    response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
}

#[tokio::test]
async fn basic_with_the_right_secret_of_a_private_key_jwt_client_is_invalid_client_without_argon2()
{
    let service = Service::new();
    let response = service
        .app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((KEY_CLIENT_WITH_SECRET, CLIENT_SECRET)),
        )
        .await;
    assert_invalid_client(&response);
    assert_eq!(argon2_runs(&service.app).await, 0);
}

#[tokio::test]
async fn an_assertion_for_a_client_secret_basic_client_is_invalid_client() {
    let service = Service::new();
    let claims = service.claims(BASIC_CLIENT);
    let assertion = service.keys.es256.sign(&claims);
    assert_invalid_client(&service.client_credentials(&assertion).await);
    let basic = service
        .app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((BASIC_CLIENT, CLIENT_SECRET)),
        )
        .await;
    assert_ok(&basic);
}

#[tokio::test]
async fn a_client_secret_basic_client_sending_its_secret_in_the_body_is_invalid_client() {
    let service = Service::new();
    let response = service
        .app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", BASIC_CLIENT),
                ("client_secret", CLIENT_SECRET),
            ],
            None,
        )
        .await;
    assert_invalid_client(&response);
}

#[tokio::test]
async fn with_redis_down_a_badly_signed_assertion_is_invalid_client_not_503() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let service = Service::with_vars(&[("TS_REDIS_URL", &url)]);
    redis.stop();
    let stranger = KeyPair::es256("es");
    let assertion = stranger.sign(&service.claims(KEY_CLIENT));
    for uri in ["/token", "/par", "/revoke", "/introspect"] {
        let mut pairs = vec![("grant_type", "client_credentials"), ("token", "x")];
        pairs.extend_from_slice(&CODE_REQUEST);
        let response = service.post(uri, &assertion, &pairs).await;
        assert_invalid_client(&response);
    }
}

#[tokio::test]
async fn with_redis_down_a_good_assertion_is_503_as_its_jti_cannot_be_spent() {
    let mut redis = RedisServer::start();
    let url = redis.url();
    let service = Service::with_vars(&[("TS_REDIS_URL", &url)]);
    redis.stop();
    let response = service
        .client_credentials(&service.assertion(json!({})))
        .await;
    response.assert_oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
}

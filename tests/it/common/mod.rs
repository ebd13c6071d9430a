//! What every integration test uses: the app on a manual clock driven through `oneshot`, a
//! real server on 127.0.0.1:0, a resource server that verifies tokens through the JWKS, and
//! a private redis-server.

#![allow(dead_code)]

pub mod browser;
pub mod client_keys;
pub mod dpop;
pub mod interop;
pub mod login;
pub mod oidc;
pub mod redis;
pub mod resource_server;

use std::path::PathBuf;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use serde_json::Value;
use token_service::clock::Clock;
use token_service::config::Settings;
use token_service::{AppState, ServeLimits};
use tower::ServiceExt;

/// The original API description's example client and user, verbatim (config/dev.toml, and
/// tests/fixtures/service.toml).
pub const CLIENT_ID: &str = "BA779C49-4D93-4785-9596-25805A24C5DC";
pub const CLIENT_SECRET: &str = "4AD3CE00-8ED5-4F0A-A979-ACE64A15207C";
pub const USERNAME: &str = "jsmith";
pub const PASSWORD: &str = "password123";
pub const SUBJECT: &str = "3f0c2d6e-5b1a-4c8e-9f27-6a1d0b4e8c13";
/// A public client (no secret) of the dev config.
pub const PUBLIC_CLIENT: &str = "demo-spa";
/// A client_credentials-only client of the dev config.
pub const CC_CLIENT: &str = "reporting-service";
pub const CC_SECRET: &str = "reporting-secret-change-me";

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// `tests/fixtures/<relative>` as a string, for `TS_CONFIG_FILE` and `TS_KEYS_DIR`.
pub fn fixture(relative: &str) -> String {
    repo_path("tests/fixtures")
        .join(relative)
        .display()
        .to_string()
}

/// The test suite's config file and signing key (its own fixtures, not the dev setup's).
pub const TEST_CONFIG: &str = "tests/fixtures/service.toml";
pub const TEST_KEYS: &str = "tests/fixtures/keys";

/// Settings on the test config and test key, plus `vars` (`("TS_X", "v")`).
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    settings_on(TEST_CONFIG, TEST_KEYS, vars)
}

/// Settings on the shipped dev config and dev key, for the tests of the dev setup itself.
pub fn dev_settings(vars: &[(&str, &str)]) -> Settings {
    settings_on("config/dev.toml", "keys", vars)
}

fn settings_on(config: &str, keys: &str, vars: &[(&str, &str)]) -> Settings {
    let mut all = vec![
        (
            "TS_CONFIG_FILE".to_owned(),
            repo_path(config).display().to_string(),
        ),
        (
            "TS_KEYS_DIR".to_owned(),
            repo_path(keys).display().to_string(),
        ),
    ];
    all.retain(|(name, _)| !vars.iter().any(|(k, _)| k == name));
    all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    match Settings::from_vars(all) {
        Ok(settings) => settings,
        Err(e) => panic!("test settings: {e}"),
    }
}

/// The real time, so tokens minted on a manual clock also verify with jsonwebtoken.
pub fn real_now() -> u64 {
    Clock::System.now()
}

/// The service's router on a manual clock, driven request by request with `oneshot`.
pub struct TestApp {
    pub state: AppState,
    pub clock: Clock,
    router: Router,
}

impl TestApp {
    /// A code for the example client and user (scope `read`, no PKCE), put straight into
    /// the store as `/authorize` would, bound to `redirect_uri` if given.
    pub async fn put_code(&self, code: &str, redirect_uri: Option<&str>) {
        let now = self.clock.now();
        let record = token_service::store::CodeRecord {
            grant: token_service::store::Grant {
                client_id: CLIENT_ID.into(),
                username: Some(USERNAME.into()),
                scope: token_service::scope::Scope::parse("read").unwrap(),
                auth_time: Some(now),
                jkt: None,
            },
            redirect_uri: redirect_uri.map(str::to_owned),
            code_challenge: None,
            nonce: None,
            sid: None,
            dpop_jkt: None,
            expires_at: now + 60,
        };
        let code = token_service::store::Hashed::of(code);
        self.state.store.put_code(&code, &record, 60).await.unwrap();
    }

    /// The test config on the in-memory store.
    pub fn new() -> Self {
        Self::with_settings(settings(&[]))
    }

    /// The shipped dev config and dev key, as `cargo run` serves them.
    pub fn dev() -> Self {
        Self::with_settings(dev_settings(&[]))
    }

    pub fn with_vars(vars: &[(&str, &str)]) -> Self {
        Self::with_settings(settings(vars))
    }

    pub fn with_settings(settings: Settings) -> Self {
        let clock = Clock::manual(real_now());
        let state = match token_service::cli::load(settings, clock.clone()) {
            Ok(state) => state,
            Err(e) => panic!("test app: {e}"),
        };
        TestApp {
            router: token_service::app(state.clone()),
            state,
            clock,
        }
    }

    pub async fn request(&self, request: Request<Body>) -> TestResponse {
        let response = match self.router.clone().oneshot(request).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.into_body().collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => panic!("body: {e}"),
        };
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, uri: &str) -> TestResponse {
        self.request(request("GET", uri).body(Body::empty()).unwrap())
            .await
    }

    /// POSTs a JSON body, as the original API description does.
    pub async fn post_json(&self, uri: &str, body: &Value) -> TestResponse {
        self.request(
            request("POST", uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap(),
        )
        .await
    }

    /// POSTs a form body (RFC 6749), optionally with HTTP Basic client credentials.
    pub async fn post_form(
        &self,
        uri: &str,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> TestResponse {
        let mut builder =
            request("POST", uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some((id, secret)) = basic {
            builder = builder.header(header::AUTHORIZATION, basic_auth(id, secret));
        }
        self.request(builder.body(Body::from(form(pairs))).unwrap())
            .await
    }

    /// POSTs raw bytes with an optional content type and `Authorization` header.
    pub async fn post_raw(
        &self,
        uri: &str,
        content_type: Option<&str>,
        authorization: Option<&[u8]>,
        body: impl Into<Body>,
    ) -> TestResponse {
        let mut builder = request("POST", uri);
        if let Some(content_type) = content_type {
            builder = builder.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(value) = authorization {
            builder = builder.header(header::AUTHORIZATION, value);
        }
        self.request(builder.body(body.into()).unwrap()).await
    }

    /// A token by the password grant for the example client; panics unless 200.
    pub async fn password_tokens(&self) -> Value {
        let response = self.password_tokens_response().await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        response.json()
    }

    /// The answer to the password grant for the example client and user.
    pub async fn password_tokens_response(&self) -> TestResponse {
        self.post_json(
            "/token",
            &serde_json::json!({
                "grant_type": "password",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "username": USERNAME,
                "password": PASSWORD,
            }),
        )
        .await
    }
}

/// argon2 verifications so far, from `/metrics`.
pub async fn argon2_runs(app: &TestApp) -> u64 {
    let text = app.get("/metrics").await.text();
    text.lines()
        .find_map(|l| l.strip_prefix("token_service_argon2_verifications_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no argon2 counter in\n{text}"))
}

/// RFC 6749 §5.2: `error_description` holds only `%x20-21 / %x23-5B / %x5D-7E`.
pub fn assert_rfc6749_description(description: &str) {
    assert!(
        description
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
        "error_description outside RFC 6749 §5.2: {description:?}"
    );
}

pub fn request(method: &str, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}

/// `Authorization: Basic` with each half form-encoded (RFC 6749 §2.3.1).
pub fn basic_auth(id: &str, secret: &str) -> String {
    let encode = |s: &str| form_encode(s);
    let raw = format!("{}:{}", encode(id), encode(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub fn form_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        serializer.append_pair(k, v);
    }
    serializer.finish()
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn json(&self) -> Value {
        match serde_json::from_slice(&self.body) {
            Ok(v) => v,
            Err(e) => panic!("not JSON ({e}): {}", self.text()),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 6749 §5.2 error: status, `error` code, a description, JSON.
    pub fn assert_oauth_error(&self, status: StatusCode, error: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{}",
            self.text()
        );
        let body = self.json();
        assert_eq!(body["error"], error, "{body}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(!description.is_empty(), "{body}");
        assert_rfc6749_description(description);
    }
}

/// The service on a real socket, 127.0.0.1 and a free port; stops when dropped.
pub struct TestServer {
    pub base: String,
    pub addr: std::net::SocketAddr,
    pub state: AppState,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl TestServer {
    pub async fn spawn(state: AppState) -> Self {
        Self::spawn_with_limits(state, ServeLimits::default()).await
    }

    /// The service within `limits` (short timeouts, small caps).
    pub async fn spawn_with_limits(state: AppState, limits: ServeLimits) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::serve_on(listener, state, limits)
    }

    /// On a given address: a restart on the same port, as after a rolling update.
    pub async fn spawn_at(at: std::net::SocketAddr, state: AppState, limits: ServeLimits) -> Self {
        let listener = tokio::net::TcpListener::bind(at).await.unwrap();
        Self::serve_on(listener, state, limits)
    }

    /// The service whose state `build` makes knowing its base URL, e.g. for a `TS_ISSUER`
    /// that must equal it (OpenID Connect Discovery §4.3).
    pub async fn spawn_at_issuer(build: impl FnOnce(&str) -> AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        Self::serve_on(listener, build(&base), ServeLimits::default())
    }

    fn serve_on(listener: tokio::net::TcpListener, state: AppState, limits: ServeLimits) -> Self {
        let addr = listener.local_addr().unwrap();
        let base = format!("http://{addr}");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn({
            let state = state.clone();
            async move {
                let shutdown = async {
                    let _ = rx.await;
                };
                let _ = token_service::run_with_limits(listener, state, shutdown, limits).await;
            }
        });
        TestServer {
            base,
            addr,
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops accepting and waits for in-flight requests.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// xorshift64: a deterministic generator for the tests that draw cases (hostile input, random
/// operation sequences), so a failure repeats with its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Bytes a header value may hold (visible ASCII, space, tab, obs-text).
    pub fn header_bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| match self.next() as u8 {
                b @ (0x20..=0x7e | 0x80..=0xff | b'\t') => b,
                b => 0x20 + b % 0x5f,
            })
            .collect()
    }
}

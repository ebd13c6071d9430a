//! Refresh tokens (README, "What is stored", RFC 6749 §6, RFC 9700 §4.14): rotation, reuse detection that
//! revokes the family, exactly one winner under concurrency, the grace window, sliding expiry
//! on the manual clock, client binding and scope on refresh.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

/// Refreshes as the example client (form body, HTTP Basic).
async fn refresh(app: &TestApp, token: &str, scope: Option<&str>) -> TestResponse {
    let mut pairs = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    if let Some(scope) = scope {
        pairs.push(("scope", scope));
    }
    app.post_form("/token", &pairs, Some((CLIENT_ID, CLIENT_SECRET)))
        .await
}

/// Refreshes and expects a new pair; returns the body.
async fn rotate(app: &TestApp, token: &str) -> Value {
    let response = refresh(app, token, None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn access_claims(body: &Value) -> Value {
    use base64::Engine;
    let token = body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test]
async fn rotation_issues_a_new_refresh_token_and_the_old_one_then_fails() {
    let app = TestApp::new();
    let first = refresh_token_of(&app.password_tokens().await);
    let second = refresh_token_of(&rotate(&app, &first).await);
    assert_ne!(first, second);
    assert_eq!(
        second.len(),
        76,
        "version, 128-bit family id, generation, 128-bit random part, key id, 128-bit MAC"
    );
    assert_eq!(second[..22], first[..22], "the same family");
    refresh(&app, &first, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn reuse_of_a_used_refresh_token_revokes_the_whole_family() {
    let app = TestApp::new();
    let first = refresh_token_of(&app.password_tokens().await);
    let second = refresh_token_of(&rotate(&app, &first).await);
    refresh(&app, &first, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The successor, never used, is revoked with its family.
    refresh(&app, &second, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn reuse_revokes_only_its_own_family() {
    let app = TestApp::new();
    let other_family = refresh_token_of(&app.password_tokens().await);
    let first = refresh_token_of(&app.password_tokens().await);
    rotate(&app, &first).await;
    refresh(&app, &first, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    rotate(&app, &other_family).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_uses_of_one_refresh_token_give_exactly_one_success() {
    let app = Arc::new(TestApp::new());
    let token = refresh_token_of(&app.password_tokens().await);
    // Warm the client-secret cache so the 20 requests race on the store, not on argon2.
    app.post_form(
        "/token",
        &[("grant_type", "client_credentials")],
        Some((CLIENT_ID, CLIENT_SECRET)),
    )
    .await;
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, token, barrier) = (app.clone(), token.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                refresh(&app, &token, None).await
            })
        })
        .collect();
    let mut ok = 0;
    let mut invalid_grant = 0;
    for task in tasks {
        let response = task.await.unwrap();
        match response.status {
            StatusCode::OK => ok += 1,
            _ => {
                response.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
                invalid_grant += 1;
            }
        }
    }
    assert_eq!((ok, invalid_grant), (1, 19));
}

#[tokio::test]
async fn reuse_within_the_grace_window_succeeds_without_revoking() {
    let app = TestApp::with_vars(&[("TS_REFRESH_REUSE_GRACE", "30")]);
    let first = refresh_token_of(&app.password_tokens().await);
    let second = refresh_token_of(&rotate(&app, &first).await);
    app.clock.advance(29);
    let again = refresh_token_of(&rotate(&app, &first).await);
    // The consumed token's one successor, answered again: still valid, and it rotates.
    assert_eq!(again, second);
    rotate(&app, &second).await;
}

#[tokio::test]
async fn reuse_after_the_grace_window_revokes_the_family() {
    let app = TestApp::with_vars(&[("TS_REFRESH_REUSE_GRACE", "30")]);
    let first = refresh_token_of(&app.password_tokens().await);
    let second = refresh_token_of(&rotate(&app, &first).await);
    app.clock.advance(30);
    refresh(&app, &first, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(&app, &second, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn with_no_grace_an_immediate_reuse_revokes_the_family() {
    let app = TestApp::new();
    let first = refresh_token_of(&app.password_tokens().await);
    let second = refresh_token_of(&rotate(&app, &first).await);
    // Same second, default grace 0.
    refresh(&app, &first, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(&app, &second, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_token_is_valid_until_its_ttl() {
    let app = TestApp::with_vars(&[("TS_REFRESH_TOKEN_TTL", "60")]);
    let first = refresh_token_of(&app.password_tokens().await);
    app.clock.advance(59);
    rotate(&app, &first).await;
}

#[tokio::test]
async fn refresh_token_past_its_ttl_is_invalid_grant() {
    let app = TestApp::with_vars(&[("TS_REFRESH_TOKEN_TTL", "60")]);
    let first = refresh_token_of(&app.password_tokens().await);
    app.clock.advance(60);
    refresh(&app, &first, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn each_rotation_starts_a_fresh_ttl() {
    let app = TestApp::with_vars(&[("TS_REFRESH_TOKEN_TTL", "60")]);
    let mut token = refresh_token_of(&app.password_tokens().await);
    // 5 x 50 s = 250 s, far past the first token's 60 s, each step within a fresh TTL.
    for _ in 0..5 {
        app.clock.advance(50);
        token = refresh_token_of(&rotate(&app, &token).await);
    }
    app.clock.advance(60);
    refresh(&app, &token, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_token_presented_by_another_client_is_invalid_grant_and_not_consumed() {
    let app = TestApp::new();
    let token = refresh_token_of(&app.password_tokens().await);
    app.post_form(
        "/token",
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &token),
            ("client_id", PUBLIC_CLIENT),
        ],
        None,
    )
    .await
    .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // Not reuse: the right client can still use it.
    rotate(&app, &token).await;
}

#[tokio::test]
async fn narrower_scope_on_refresh_narrows_that_access_token_only() {
    let app = TestApp::new();
    let first = refresh_token_of(&app.password_tokens().await);
    let narrowed = refresh(&app, &first, Some("read")).await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.text());
    let narrowed = narrowed.json();
    assert_eq!(narrowed["scope"], "read");
    assert_eq!(access_claims(&narrowed)["scope"], "read");

    let next = rotate(&app, &refresh_token_of(&narrowed)).await;
    assert_eq!(next["scope"], "read write");
    assert_eq!(access_claims(&next)["scope"], "read write");
}

#[tokio::test]
async fn wider_scope_on_refresh_is_invalid_scope_and_consumes_nothing() {
    let app = TestApp::new();
    let issued = app
        .post_form(
            "/token",
            &[
                ("grant_type", "password"),
                ("username", USERNAME),
                ("password", PASSWORD),
                ("scope", "read"),
            ],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK, "{}", issued.text());
    let token = refresh_token_of(&issued.json());
    // "write" is the client's, but not this grant's.
    refresh(&app, &token, Some("read write"))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    let body = rotate(&app, &token).await;
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn refreshed_access_token_keeps_the_original_auth_time() {
    let app = TestApp::new();
    let first = app.password_tokens().await;
    let auth_time = access_claims(&first)["auth_time"].clone();
    app.clock.advance(120);
    let next = rotate(&app, &refresh_token_of(&first)).await;
    let claims = access_claims(&next);
    assert_eq!(claims["auth_time"], auth_time);
    assert_eq!(claims["iat"], auth_time.as_u64().unwrap() + 120);
}

#[tokio::test]
async fn client_without_the_refresh_token_grant_never_gets_a_refresh_token() {
    let config = fixture("config.toml");
    let app = TestApp::with_vars(&[("TS_CONFIG_FILE", &config)]);
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "password"),
                ("username", USERNAME),
                ("password", PASSWORD),
            ],
            Some(("no-refresh", CLIENT_SECRET)),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    let body = response.json();
    assert!(body["access_token"].is_string(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
}

/// The test config with the example client's scopes changed to `scopes` (a TOML array), as
/// an operator would edit it before a restart; on one Redis, so the families outlive it.
struct Restart {
    _config: tempfile::NamedTempFile,
    vars: Vec<(&'static str, String)>,
}

impl Restart {
    fn with_client_scopes(prefix: &str, scopes: &str) -> Self {
        let original = std::fs::read_to_string(repo_path(TEST_CONFIG)).unwrap();
        let example_client = "scopes = [\"read\", \"write\"]";
        assert!(original.contains(example_client));
        let edited = original.replacen(example_client, &format!("scopes = {scopes}"), 1);
        let config = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(config.path(), edited).unwrap();
        let vars = vec![
            ("TS_CONFIG_FILE", config.path().display().to_string()),
            ("TS_REDIS_URL", RedisServer::shared().url()),
            ("TS_REDIS_PREFIX", prefix.to_owned()),
        ];
        Restart {
            _config: config,
            vars,
        }
    }

    fn app(&self) -> TestApp {
        let vars: Vec<(&str, &str)> = self.vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        TestApp::with_vars(&vars)
    }
}

/// A refresh token granted `read write` by the unedited config, on Redis under `prefix`.
async fn read_write_family(prefix: &str) -> String {
    let before = Restart::with_client_scopes(prefix, "[\"read\", \"write\"]").app();
    let body = before.password_tokens().await;
    assert_eq!(body["scope"], "read write");
    refresh_token_of(&body)
}

#[tokio::test]
async fn a_scope_removed_from_the_client_is_gone_from_its_families_next_tokens() {
    let prefix = unique_prefix("scope-removed");
    let mut token = read_write_family(&prefix).await;
    let after = Restart::with_client_scopes(&prefix, "[\"read\"]").app();
    for _ in 0..3 {
        let body = rotate(&after, &token).await;
        assert_eq!(body["scope"], "read");
        assert_eq!(access_claims(&body)["scope"], "read");
        token = refresh_token_of(&body);
    }
}

#[tokio::test]
async fn asking_a_refresh_for_a_scope_removed_from_the_client_is_invalid_scope_and_consumes_nothing()
 {
    let prefix = unique_prefix("scope-removed-asked");
    let token = read_write_family(&prefix).await;
    let after = Restart::with_client_scopes(&prefix, "[\"read\"]").app();
    refresh(&after, &token, Some("write"))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    assert_eq!(rotate(&after, &token).await["scope"], "read");
}

#[tokio::test]
async fn a_family_left_with_no_scope_the_client_allows_is_invalid_grant() {
    let prefix = unique_prefix("scope-removed-all");
    let token = read_write_family(&prefix).await;
    let after = Restart::with_client_scopes(&prefix, "[\"admin\"]").app();
    refresh(&after, &token, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_refresh_token_of_the_earlier_format_is_invalid_grant_never_a_5xx() {
    let app = TestApp::new();
    // The earlier format: base64url of a 128-bit family id and a 256-bit secret.
    let earlier = "A".repeat(64);
    refresh(&app, &earlier, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn a_refresh_token_authenticated_by_a_key_since_removed_is_invalid_grant() {
    // One Redis, so the family outlives the restart: only the key differs.
    let prefix = unique_prefix("key-removed");
    let on_keys = |dir: &str| {
        TestApp::with_vars(&[
            ("TS_KEYS_DIR", dir),
            ("TS_REDIS_URL", &RedisServer::shared().url()),
            ("TS_REDIS_PREFIX", &prefix),
        ])
    };
    let before = on_keys(&fixture("keys-eddsa"));
    let first = refresh_token_of(&before.password_tokens().await);
    let token = refresh_token_of(&rotate(&before, &first).await);
    let after = on_keys(&fixture("keys"));
    refresh(&after, &token, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    // The family itself is untouched: the key that authenticated the token still refreshes it.
    rotate(&before, &token).await;
}

//! What the service leaves in Redis (README, "What is stored"): after a run of every flow, each key carries the
//! configured prefix and a TTL, and no key or value holds a token, code, secret or password in
//! clear.

use axum::http::StatusCode;
use serde_json::{Value, json};
use token_service::store::{Hashed, Session};

use crate::common::redis::RedisServer;
use crate::common::*;

const PREFIX: &str = "hygiene:";
const REDIRECT_URI: &str = "http://localhost:8080/demo/callback";

fn client(mut body: Value) -> Value {
    body["client_id"] = json!(CLIENT_ID);
    body["client_secret"] = json!(CLIENT_SECRET);
    body
}

/// Every secret the run handed out or received, to look for in Redis.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn keep(&mut self, body: &Value) {
        for field in ["access_token", "refresh_token"] {
            if let Some(token) = body[field].as_str() {
                self.0.push(token.to_owned());
            }
        }
    }
}

/// Runs every flow that writes to the store: password, refreshes, reuse, revoke,
/// client_credentials, a code redeemed and replayed, throttled failures, a session.
async fn run_every_flow(app: &TestApp) -> Secrets {
    let mut secrets = Secrets::default();
    secrets.0.extend(
        [
            CLIENT_SECRET,
            PASSWORD,
            "wrong-password",
            "correct horse battery staple",
        ]
        .map(String::from),
    );

    let first = app.password_tokens().await;
    secrets.keep(&first);
    let refresh =
        |token: &Value| client(json!({"grant_type": "refresh_token", "refresh_token": token}));
    let second = app
        .post_json("/token", &refresh(&first["refresh_token"]))
        .await;
    assert_eq!(second.status, StatusCode::OK);
    secrets.keep(&second.json());
    let third = app
        .post_json("/token", &refresh(&second.json()["refresh_token"]))
        .await;
    secrets.keep(&third.json());
    let reuse = app
        .post_json("/token", &refresh(&first["refresh_token"]))
        .await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);

    let other = app.password_tokens().await;
    secrets.keep(&other);
    let revoke = client(json!({"token": other["refresh_token"]}));
    assert_eq!(
        app.post_json("/revoke", &revoke).await.status,
        StatusCode::OK
    );

    let cc = app
        .post_json(
            "/token",
            &client(json!({"grant_type": "client_credentials"})),
        )
        .await;
    assert_eq!(cc.status, StatusCode::OK);
    secrets.keep(&cc.json());

    let code = "a-code-put-by-the-test-0123456789abcdefghijkl";
    secrets.0.push(code.to_owned());
    let now = app.clock.now();
    app.put_code(code, Some(REDIRECT_URI)).await;
    let redeem = client(json!({
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
    }));
    let redeemed = app.post_json("/token", &redeem).await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.text());
    secrets.keep(&redeemed.json());
    assert_eq!(
        app.post_json("/token", &redeem).await.status,
        StatusCode::BAD_REQUEST
    );

    let wrong = client(json!({
        "grant_type": "password", "username": "alice", "password": "wrong-password",
    }));
    for _ in 0..6 {
        app.post_json("/token", &wrong).await;
    }
    let throttled = app.post_json("/token", &wrong).await;
    assert_eq!(throttled.status, StatusCode::TOO_MANY_REQUESTS);

    let session_id = "a-session-id-put-by-the-test-0123456789abcdef";
    secrets.0.push(session_id.to_owned());
    let session = Session {
        username: USERNAME.into(),
        auth_time: now,
        expires_at: now + 600,
        sid: "a-session".into(),
    };
    app.state
        .store
        .put_session(&Hashed::of(session_id), &session, 600)
        .await
        .unwrap();
    secrets
}

/// Every key of the server with its TTL and a dump of its value.
fn dump(redis: &RedisServer) -> Vec<(String, i64, String)> {
    let keys = redis.cli(&["--scan"]).unwrap();
    keys.lines()
        .map(|key| {
            let ttl = redis.cli(&["TTL", key]).unwrap().parse().unwrap();
            let value = match redis.cli(&["TYPE", key]).unwrap().as_str() {
                "string" => redis.cli(&["GET", key]).unwrap(),
                "hash" => redis.cli(&["HGETALL", key]).unwrap(),
                other => panic!("unexpected type {other} of {key}"),
            };
            (key.to_owned(), ttl, value)
        })
        .collect()
}

#[tokio::test]
async fn after_every_flow_each_key_has_the_prefix_and_a_ttl_and_no_secret_is_in_clear() {
    let redis = RedisServer::start();
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &redis.url()), ("TS_REDIS_PREFIX", PREFIX)]);
    let secrets = run_every_flow(&app).await;
    let keys = dump(&redis);
    let kinds: Vec<&str> = keys
        .iter()
        .map(|(key, _, _)| key.trim_start_matches(PREFIX).split(':').next().unwrap())
        .collect();
    let count = |kind| kinds.iter().filter(|k| **k == kind).count();
    // One key per refresh family (password, revoked, client_credentials, code), whatever the
    // rotations; a code, a login throttle, a session. No key per refresh token.
    assert_eq!(
        (
            count("rt"),
            count("ac"),
            count("lf"),
            count("ss"),
            keys.len()
        ),
        (4, 1, 1, 1, 7),
        "{keys:?}"
    );
    for (key, ttl, value) in &keys {
        assert!(key.starts_with(PREFIX), "{key}");
        assert!(*ttl > 0, "{key} has TTL {ttl}");
        for secret in &secrets.0 {
            assert!(!key.contains(secret.as_str()), "{key} holds a secret");
            assert!(
                !value.contains(secret.as_str()),
                "{key} holds a secret: {value}"
            );
        }
    }
}

#[tokio::test]
async fn readyz_reports_the_eviction_policy_and_warns_unless_it_is_noeviction() {
    let redis = RedisServer::start();
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &redis.url()), ("TS_REDIS_PREFIX", PREFIX)]);
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["maxmemory_policy"], "noeviction", "{ready}");
    assert!(ready.get("warnings").is_none(), "{ready}");

    redis
        .cli(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lru"])
        .unwrap();
    let response = app.get("/readyz").await;
    assert_eq!(response.status, StatusCode::OK);
    let ready = response.json();
    assert_eq!(ready["store"], "up", "{ready}");
    assert_eq!(ready["maxmemory_policy"], "allkeys-lru", "{ready}");
    assert!(
        ready["warnings"][0].as_str().unwrap().contains("evict"),
        "{ready}"
    );
}

#[tokio::test]
async fn a_familys_one_key_keeps_its_size_over_any_number_of_rotations() {
    let redis = RedisServer::start();
    let app = TestApp::with_vars(&[("TS_REDIS_URL", &redis.url()), ("TS_REDIS_PREFIX", PREFIX)]);
    let mut token = app.password_tokens().await["refresh_token"].clone();
    let rotate = |token: Value| {
        let app = &app;
        async move {
            let body = json!({"grant_type": "refresh_token", "refresh_token": token});
            let response = app.post_json("/token", &client(body)).await;
            assert_eq!(response.status, StatusCode::OK, "{}", response.text());
            response.json()["refresh_token"].clone()
        }
    };
    token = rotate(token).await;
    let keys = dump(&redis);
    assert_eq!(keys.len(), 1, "one key per family: {keys:?}");
    let key = &keys[0].0;
    let usage = || redis.cli(&["MEMORY", "USAGE", key]).unwrap();
    let after_one = usage();
    for _ in 0..100 {
        token = rotate(token).await;
    }
    assert_eq!(dump(&redis).len(), 1);
    assert_eq!(usage(), after_one, "bytes after 1 and after 101 rotations");
    assert!(
        after_one.parse::<u32>().unwrap() <= 600,
        "{after_one} bytes"
    );
}

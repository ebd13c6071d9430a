//! Redis losing writes, skewing its clock, restarting: what a failover without `WAIT`, a
//! restart from an older snapshot or a badly set host clock does to refresh tokens, tried
//! through HTTP as a client sees it. A lost write is made by putting back the service's keys
//! as `DUMP` read them earlier, which is what a replica promoted without them holds.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

fn app_on(redis: &RedisServer, prefix: &str) -> TestApp {
    TestApp::with_vars(&[("TS_REDIS_URL", &redis.url()), ("TS_REDIS_PREFIX", prefix)])
}

async fn refresh(app: &TestApp, token: &str, scope: Option<&str>) -> TestResponse {
    let mut body = json!({
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": token,
    });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    app.post_json("/token", &body).await
}

/// Refreshes and expects a new token.
async fn rotate(app: &TestApp, token: &str) -> String {
    let response = refresh(app, token, None).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn refresh_token_of(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

/// The service's keys under `prefix` as they are now, to be put back later.
struct Snapshot(Vec<(String, Vec<u8>)>);

impl Snapshot {
    async fn take(redis: &RedisServer, prefix: &str) -> Self {
        let mut conn = connection(redis).await;
        let keys: Vec<String> = ::redis::cmd("KEYS")
            .arg(format!("{prefix}*"))
            .query_async(&mut conn)
            .await
            .unwrap();
        let mut dumps = Vec::new();
        for key in keys {
            let dump: Vec<u8> = ::redis::cmd("DUMP")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            dumps.push((key, dump));
        }
        Snapshot(dumps)
    }

    /// Every key back as it was (TTLs a day, as the service's are that long or shorter).
    async fn put_back(&self, redis: &RedisServer) {
        let mut conn = connection(redis).await;
        for (key, dump) in &self.0 {
            let _: () = ::redis::cmd("RESTORE")
                .arg(key)
                .arg(86_400_000)
                .arg(dump.as_slice())
                .arg("REPLACE")
                .query_async(&mut conn)
                .await
                .unwrap();
        }
    }
}

async fn connection(redis: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    ::redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn lost_rotations_sign_no_one_out_the_latest_token_refreshes_and_the_chain_goes_on() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("lost");
    let app = app_on(&redis, &prefix);
    let first = refresh_token_of(&app.password_tokens().await);
    let before = Snapshot::take(&redis, &prefix).await;
    let second = rotate(&app, &first).await;
    let third = rotate(&app, &second).await;
    before.put_back(&redis).await;
    // Two answered rotations are gone from Redis; the holder of the latest token goes on.
    let fourth = rotate(&app, &third).await;
    rotate(&app, &fourth).await;
    // The tokens the record was rolled past are consumed.
    refresh(&app, &second, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn after_lost_writes_a_request_asking_too_wide_a_scope_spoils_nothing() {
    let redis = RedisServer::start();
    let prefix = unique_prefix("lost-scope");
    let app = app_on(&redis, &prefix);
    let first = refresh_token_of(&app.password_tokens().await);
    let before = Snapshot::take(&redis, &prefix).await;
    let second = rotate(&app, &first).await;
    before.put_back(&redis).await;
    refresh(&app, &second, Some("read admin"))
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
    rotate(&app, &second).await;
}

#[tokio::test]
async fn a_consumed_token_is_reuse_after_the_primary_restarts() {
    // Persistence on, so the restart keeps the data (and gives Redis a new replication id).
    let mut redis = RedisServer::start_with(&["--appendonly", "yes", "--appendfsync", "always"]);
    let prefix = unique_prefix("restart");
    let app = app_on(&redis, &prefix);
    let first = refresh_token_of(&app.password_tokens().await);
    let second = rotate(&app, &first).await;
    redis.stop();
    redis.restart();
    let replayed = loop {
        let response = refresh(&app, &first, None).await;
        if response.status != StatusCode::SERVICE_UNAVAILABLE {
            break response;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    replayed.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    refresh(&app, &second, None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

/// Refresh and code redemption with Redis on a clock `shift` seconds off the service's,
/// Redis started after the service and no readiness probe asked: nothing compares the two
/// clocks.
async fn on_a_redis_clock(shift: i64) {
    let prefix = unique_prefix("skew");
    let mut redis = RedisServer::start_on_clock(shift);
    let vars = [("TS_REDIS_URL", redis.url()), ("TS_REDIS_PREFIX", prefix)];
    redis.stop();
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_vars(&vars);
    redis.restart();
    let clock = redis.cli(&["TIME"]).unwrap();
    let redis_now: u64 = clock.lines().next().unwrap().parse().unwrap();
    assert!(
        redis_now.abs_diff(real_now()) >= 4,
        "Redis runs on its own clock: {clock}"
    );
    let mut token = refresh_token_of(&app.password_tokens().await);
    for _ in 0..3 {
        token = rotate(&app, &token).await;
    }
    app.put_code("a-code-on-a-skewed-redis", None).await;
    let redeemed = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "code": "a-code-on-a-skewed-redis",
            }),
        )
        .await;
    assert_eq!(redeemed.status, StatusCode::OK, "{}", redeemed.text());
}

#[tokio::test]
async fn a_redis_whose_clock_runs_five_seconds_ahead_changes_nothing() {
    on_a_redis_clock(5).await;
}

#[tokio::test]
async fn a_redis_whose_clock_runs_five_seconds_behind_changes_nothing() {
    on_a_redis_clock(-5).await;
}

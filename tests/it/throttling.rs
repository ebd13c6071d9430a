//! Failed-login throttling at the password grant (docs/design.md, "Load, faults and bad input"), with TS_LOGIN_MAX_FAILURES=3, on
//! the memory store and on Redis; on Redis shared by every instance.

use axum::http::StatusCode;
use serde_json::json;

use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

const ALICE: &str = "alice";
const ALICE_PASSWORD: &str = "correct horse battery staple";

fn memory_app() -> TestApp {
    TestApp::with_vars(&[("TS_LOGIN_MAX_FAILURES", "3")])
}

fn redis_vars(prefix: &str) -> Vec<(&'static str, String)> {
    vec![
        ("TS_LOGIN_MAX_FAILURES", "3".into()),
        ("TS_REDIS_URL", RedisServer::shared().url()),
        ("TS_REDIS_PREFIX", prefix.into()),
    ]
}

fn redis_app_with_prefix(prefix: &str) -> TestApp {
    let vars = redis_vars(prefix);
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    TestApp::with_vars(&vars)
}

fn redis_app() -> TestApp {
    redis_app_with_prefix(&unique_prefix("throttling"))
}

async fn login(app: &TestApp, username: &str, password: &str) -> TestResponse {
    app.post_json(
        "/token",
        &json!({
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "username": username,
            "password": password,
        }),
    )
    .await
}

async fn fail(app: &TestApp, times: usize) {
    for _ in 0..times {
        login(app, USERNAME, "wrong")
            .await
            .assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
}

fn assert_throttled(response: &TestResponse, retry_after: &str) {
    response.assert_oauth_error(StatusCode::TOO_MANY_REQUESTS, "invalid_request");
    assert_eq!(
        response.json()["error_description"],
        "too many failed attempts"
    );
    assert_eq!(response.header("retry-after"), Some(retry_after));
}

macro_rules! on_both_stores {
    ($($behaviour:ident),* $(,)?) => {
        mod memory {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(super::memory_app()).await
                }
            )*
        }
        mod redis {
            $(
                #[tokio::test]
                async fn $behaviour() {
                    super::$behaviour(super::redis_app()).await
                }
            )*
        }
    };
}

on_both_stores!(
    concurrent_guesses_run_no_more_than_the_failures_left,
    a_burst_of_correct_logins_for_one_username_all_succeed,
    a_wait_lasts_its_full_length_from_the_failure_that_set_it,
    after_the_limit_even_the_right_password_answers_429,
    other_usernames_are_unaffected,
    after_the_wait_the_right_password_succeeds_and_resets_the_count,
    attempts_answered_429_do_not_count,
);

async fn concurrent_guesses_run_no_more_than_the_failures_left(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut guesses = tokio::task::JoinSet::new();
    for i in 0..30 {
        let app = app.clone();
        guesses.spawn(async move { login(&app, USERNAME, &format!("guess-{i}")).await });
    }
    let responses = guesses.join_all().await;
    let checked = responses
        .iter()
        .filter(|r| r.status == StatusCode::BAD_REQUEST)
        .count();
    let refused = responses
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    // TS_LOGIN_MAX_FAILURES=3: three guesses are checked, every other one is refused.
    assert_eq!((checked, refused), (3, 27));
    assert_throttled(&login(&app, USERNAME, PASSWORD).await, "1");
}

async fn a_burst_of_correct_logins_for_one_username_all_succeed(app: TestApp) {
    let app = std::sync::Arc::new(app);
    let mut logins = tokio::task::JoinSet::new();
    // More at once than TS_LOGIN_MAX_FAILURES=3: the others wait for those in flight.
    for _ in 0..8 {
        let app = app.clone();
        logins.spawn(async move { login(&app, USERNAME, PASSWORD).await });
    }
    for response in logins.join_all().await {
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        assert!(response.json()["access_token"].is_string());
    }
}

async fn a_wait_lasts_its_full_length_from_the_failure_that_set_it(app: TestApp) {
    fail(&app, 2).await;
    app.clock.advance_millis(400);
    fail(&app, 1).await;
    // One second from the failure: 999 ms later it still holds, whatever second that is.
    app.clock.advance_millis(999);
    assert_throttled(&login(&app, USERNAME, PASSWORD).await, "1");
    app.clock.advance_millis(1);
    assert_eq!(login(&app, USERNAME, PASSWORD).await.status, StatusCode::OK);
}

async fn after_the_limit_even_the_right_password_answers_429(app: TestApp) {
    fail(&app, 3).await;
    assert_throttled(&login(&app, USERNAME, PASSWORD).await, "1");
}

async fn other_usernames_are_unaffected(app: TestApp) {
    fail(&app, 3).await;
    assert_eq!(
        login(&app, ALICE, ALICE_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn after_the_wait_the_right_password_succeeds_and_resets_the_count(app: TestApp) {
    fail(&app, 3).await;
    app.clock.advance(1);
    assert_eq!(login(&app, USERNAME, PASSWORD).await.status, StatusCode::OK);
    // Counting starts again from zero: two failures are under the limit.
    fail(&app, 2).await;
    assert_eq!(login(&app, USERNAME, PASSWORD).await.status, StatusCode::OK);
}

async fn attempts_answered_429_do_not_count(app: TestApp) {
    fail(&app, 3).await;
    for _ in 0..5 {
        assert_throttled(&login(&app, USERNAME, "wrong").await, "1");
    }
    app.clock.advance(1);
    fail(&app, 1).await;
    // The fourth counted failure waits 2 s; had the 429s counted, it would be far longer.
    assert_throttled(&login(&app, USERNAME, PASSWORD).await, "2");
}

#[tokio::test]
async fn failures_at_one_instance_throttle_at_another_on_the_same_redis() {
    let prefix = unique_prefix("throttling-shared");
    let a = redis_app_with_prefix(&prefix);
    let b = redis_app_with_prefix(&prefix);
    // One time for both instances, as their clocks would agree.
    b.clock.advance(a.clock.now().saturating_sub(b.clock.now()));
    a.clock.advance(b.clock.now().saturating_sub(a.clock.now()));
    fail(&a, 3).await;
    assert_throttled(&login(&b, USERNAME, PASSWORD).await, "1");
}

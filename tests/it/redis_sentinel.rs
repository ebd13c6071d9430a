//! Redis Sentinel (README, "Redis"): the service finds the primary through the Sentinels,
//! follows a failover by itself with 503 only while it runs, and breaks no refresh chain when
//! the new primary lacks answered rotations, without `WAIT`. Each test has its own primary,
//! two replicas and three Sentinels.

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::redis::{MASTER_NAME, SentinelSet, unique_prefix};
use crate::common::*;

fn app(set: &SentinelSet, wait_replicas: &str) -> TestApp {
    TestApp::with_vars(&[
        ("TS_REDIS_URL", &set.urls()),
        ("TS_REDIS_SENTINEL", MASTER_NAME),
        ("TS_REDIS_WAIT_REPLICAS", wait_replicas),
        ("TS_REDIS_PREFIX", &unique_prefix("sentinel")),
    ])
}

fn refresh(token: &str) -> Value {
    json!({
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": token,
    })
}

/// Refresh-token chains, each rotated in turn; a 503 leaves its chain's token as it was.
struct Chains(Vec<String>);

impl Chains {
    async fn start(app: &TestApp, count: usize) -> Self {
        let mut tokens = Vec::new();
        for _ in 0..count {
            let body = app.password_tokens().await;
            tokens.push(body["refresh_token"].as_str().unwrap().to_owned());
        }
        Chains(tokens)
    }

    /// Rotates every chain once; the statuses seen. Any answer but 200 or 503 fails.
    async fn rotate(&mut self, app: &TestApp) -> Vec<StatusCode> {
        let mut statuses = Vec::new();
        for token in &mut self.0 {
            let response = app.post_json("/token", &refresh(token)).await;
            match response.status {
                StatusCode::OK => {
                    *token = response.json()["refresh_token"]
                        .as_str()
                        .unwrap()
                        .to_owned();
                }
                StatusCode::SERVICE_UNAVAILABLE => {
                    assert_eq!(response.json()["error"], "temporarily_unavailable");
                }
                other => panic!("a chain broke with {other}: {}", response.text()),
            }
            statuses.push(response.status);
        }
        statuses
    }

    /// Rotates every chain `rounds` times; every rotation must succeed.
    async fn rotate_cleanly(&mut self, app: &TestApp, rounds: usize) {
        for _ in 0..rounds {
            let statuses = self.rotate(app).await;
            assert!(
                statuses.iter().all(|s| *s == StatusCode::OK),
                "{statuses:?}"
            );
        }
    }

    /// Rotates through a failover away from the primary on `old` until the Sentinels name
    /// another and a round passes cleanly; the 503 window and the new primary's port.
    async fn through_failover(
        &mut self,
        app: &TestApp,
        set: &SentinelSet,
        old: u16,
    ) -> (Duration, u16) {
        let moved = || set.primary_port().is_some_and(|port| port != old);
        let window = self
            .rotate_through(app, moved, Duration::from_secs(30))
            .await;
        (
            window,
            set.wait_for_new_primary(old, Duration::from_secs(5)),
        )
    }

    /// Rotates round after round until `over` holds and a round passes with no 503, within
    /// `within`; how long the 503s lasted, from the first round.
    async fn rotate_through(
        &mut self,
        app: &TestApp,
        over: impl Fn() -> bool,
        within: Duration,
    ) -> Duration {
        let started = Instant::now();
        let mut last_unavailable = None;
        loop {
            let statuses = self.rotate(app).await;
            let clean = statuses.iter().all(|s| *s == StatusCode::OK);
            if clean && over() {
                return last_unavailable.map_or(Duration::ZERO, |at: Instant| at - started);
            }
            if !clean {
                last_unavailable = Some(Instant::now());
            }
            assert!(started.elapsed() < within, "not over after {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_finds_the_primary_through_the_sentinels() {
    let set = SentinelSet::start();
    let app = app(&set, "0");
    let mut chains = Chains::start(&app, 2).await;
    chains.rotate_cleanly(&app, 1).await;
    let ready = app.get("/readyz").await.json();
    assert_eq!(ready["store"], "up", "{ready}");
    // The families are on the primary the Sentinels name.
    let keys = set.primary.cli(&["DBSIZE"]).unwrap();
    assert_eq!(keys, "2", "one key per family");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentinel_failover_is_seen_only_as_503_while_it_runs() {
    let set = SentinelSet::start();
    let app = app(&set, "0");
    let mut chains = Chains::start(&app, 4).await;
    chains.rotate(&app).await;
    let old = set.primary.port;
    set.failover();
    let (window, promoted) = chains.through_failover(&app, &set, old).await;
    println!("SENTINEL FAILOVER {old} -> {promoted}: 503s for {window:?}");
    chains.rotate_cleanly(&app, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_wait_chains_continue_after_the_primary_is_killed_for_good() {
    let mut set = SentinelSet::start();
    let app = app(&set, "0");
    let mut chains = Chains::start(&app, 6).await;
    chains.rotate_cleanly(&app, 3).await;
    let old = set.primary.port;
    set.primary.stop();
    let (window, promoted) = chains.through_failover(&app, &set, old).await;
    println!("primary {old} killed, {promoted} promoted: 503s for {window:?}");
    chains.rotate_cleanly(&app, 3).await;
}

/// The replicas miss every rotation of the last rounds (frozen), then the primary dies: the
/// promoted replica's records are behind the tokens the clients hold, and each chain goes on
/// from its latest token (docs/design.md, "Rotation").
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failover_to_a_replica_that_missed_answered_rotations_breaks_no_chain() {
    let mut set = SentinelSet::start();
    let app = app(&set, "0");
    let mut chains = Chains::start(&app, 6).await;
    chains.rotate_cleanly(&app, 1).await;
    wait_for_replicas_in_sync(&set);
    for replica in &set.replicas {
        replica.pause();
    }
    chains.rotate_cleanly(&app, 3).await;
    let old = set.primary.port;
    set.primary.stop();
    for replica in &set.replicas {
        replica.resume();
    }
    let (window, promoted) = chains.through_failover(&app, &set, old).await;
    println!("primary {old} killed, {promoted} promoted without 3 rounds: 503s for {window:?}");
    chains.rotate_cleanly(&app, 3).await;
}

/// Until both replicas have acknowledged everything the primary wrote.
fn wait_for_replicas_in_sync(set: &SentinelSet) {
    let started = Instant::now();
    loop {
        let offset = |info: &str, field: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(field))
                .map(|v| v.trim().to_owned())
        };
        let primary = set
            .primary
            .cli(&["INFO", "replication"])
            .unwrap_or_default();
        let target = offset(&primary, "master_repl_offset:");
        let synced = set.replicas.iter().all(|replica| {
            let info = replica.cli(&["INFO", "replication"]).unwrap_or_default();
            target.is_some() && offset(&info, "slave_repl_offset:") == target
        });
        if synced {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "replicas not in sync"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_replica_down_refresh_rotates_and_a_write_that_waits_answers_503_in_time() {
    let mut set = SentinelSet::start();
    let app = app(&set, "1");
    let mut chains = Chains::start(&app, 2).await;
    for replica in &mut set.replicas {
        replica.stop();
    }
    chains.rotate_cleanly(&app, 2).await;
    let started = Instant::now();
    let login = app.password_tokens_response().await;
    login.assert_oauth_error(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    set.replicas[0].restart();
    let started = Instant::now();
    while app.password_tokens_response().await.status != StatusCode::OK {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "logins still 503"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The answer to `body` once the service is past a failover's 503s (at most 10 s).
async fn once_available(app: &TestApp, body: &Value) -> TestResponse {
    let started = Instant::now();
    loop {
        let response = app.post_json("/token", body).await;
        if response.status != StatusCode::SERVICE_UNAVAILABLE
            || started.elapsed() > Duration::from_secs(10)
        {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A family's tokens, the first rotated `rotations` times on the primary (`WAIT` 2: on both
/// replicas too), the last answer never used; then a failover, followed by another chain
/// until it is over.
async fn rotated_before_a_failover(
    app: &TestApp,
    set: &SentinelSet,
    rotations: usize,
) -> Vec<String> {
    let mut follower = Chains::start(app, 1).await;
    let first = app.password_tokens().await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut tokens = vec![first];
    for _ in 0..rotations {
        let response = app
            .post_json("/token", &refresh(tokens.last().unwrap()))
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let next = response.json()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned();
        tokens.push(next);
    }
    let old = set.primary.port;
    set.failover();
    follower.through_failover(app, set, old).await;
    tokens
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_failover_a_token_whose_successor_was_used_is_still_reuse() {
    let set = SentinelSet::start();
    let app = app(&set, "2");
    // X -> Y -> Z before the failover: Y was used, so X is reuse, failover or not.
    let tokens = rotated_before_a_failover(&app, &set, 2).await;
    let replayed = once_available(&app, &refresh(&tokens[0])).await;
    replayed.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    let latest = once_available(&app, &refresh(&tokens[2])).await;
    latest.assert_oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_warns_when_the_primary_has_more_replicas_than_every_write_waits_for() {
    let set = SentinelSet::start();
    let ready = app(&set, "1").get("/readyz").await.json();
    assert_eq!(ready["store"], "up", "{ready}");
    let warnings = ready["warnings"].to_string();
    assert!(
        warnings.contains("has 2 replicas and TS_REDIS_WAIT_REPLICAS is 1"),
        "{ready}"
    );
    let ready = app(&set, "2").get("/readyz").await.json();
    assert!(ready.get("warnings").is_none(), "{ready}");
}

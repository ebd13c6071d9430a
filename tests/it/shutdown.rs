//! Graceful shutdown (docs/design.md, "Load, faults and bad input"): stop accepting, finish in-flight requests, then return.

use std::time::Duration;

use serde_json::json;

use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

#[tokio::test]
async fn run_returns_only_after_the_request_in_flight_is_answered() {
    // A frozen Redis holds a password grant in flight for the store's bound (about 0.9 s).
    let redis = RedisServer::start();
    let app = TestApp::with_vars(&[
        ("TS_REDIS_URL", &redis.url()),
        ("TS_REDIS_PREFIX", &unique_prefix("shutdown")),
    ]);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
    let state = app.state.clone();
    // The server on a runtime of its own, dropped when `run` returns, as at process exit:
    // whatever `run` leaves running dies with it.
    let server = std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            token_service::run(listener, state, async {
                let _ = signal.await;
            })
            .await
            .unwrap();
        });
    });
    redis.pause();
    let in_flight = tokio::spawn({
        let url = format!("{base}/token");
        async move {
            http()
                .post(url)
                .json(&json!({
                    "grant_type": "password",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "username": USERNAME,
                    "password": PASSWORD,
                }))
                .send()
                .await?
                .json::<serde_json::Value>()
                .await
        }
    });
    // The request is in its handler once the client's secret was checked (the first argon2
    // run of this instance); from there it waits on the frozen Redis.
    let argon2_runs = app.state.metrics.argon2_counter();
    let polling = async {
        while argon2_runs.get() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), polling)
        .await
        .expect("the request reached its handler");
    shutdown.send(()).unwrap();
    tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();

    let body = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(
        http().get(format!("{base}/healthz")).send().await.is_err(),
        "no longer accepting after shutdown"
    );
}

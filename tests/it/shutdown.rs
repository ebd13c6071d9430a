//! Graceful shutdown (SPEC §8): stop accepting, finish in-flight requests, then return.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn run_returns_only_after_the_request_in_flight_is_answered() {
    let app = TestApp::new();
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
    // A password grant spends tens of milliseconds in argon2: long enough to be in flight.
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
    tokio::time::sleep(Duration::from_millis(10)).await;
    shutdown.send(()).unwrap();
    tokio::task::spawn_blocking(move || server.join().unwrap())
        .await
        .unwrap();

    let body = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert!(body["access_token"].is_string(), "{body}");
    assert!(
        http().get(format!("{base}/healthz")).send().await.is_err(),
        "no longer accepting after shutdown"
    );
}

//! Scale-out (README; README, "What is stored"): three instances of the service on different ports, each with its
//! own state, sharing one Redis and one key prefix, behave as one.

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::common::redis::{RedisServer, unique_prefix};
use crate::common::*;

/// Three instances over the shared Redis with one fresh prefix.
async fn instances() -> (Vec<TestApp>, Vec<TestServer>) {
    let url = RedisServer::shared().url();
    let prefix = unique_prefix("scale");
    let apps: Vec<TestApp> = (0..3)
        .map(|_| TestApp::with_vars(&[("TS_REDIS_URL", &url), ("TS_REDIS_PREFIX", &prefix)]))
        .collect();
    let mut servers = Vec::new();
    for app in &apps {
        servers.push(TestServer::spawn(app.state.clone()).await);
    }
    (apps, servers)
}

async fn post_token(server: &TestServer, body: Value) -> (StatusCode, Value) {
    let response = http()
        .post(server.url("/token"))
        .json(&body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

async fn password(server: &TestServer) -> String {
    let (status, body) = post_token(
        server,
        json!({
            "grant_type": "password",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "username": USERNAME,
            "password": PASSWORD,
        }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["refresh_token"].as_str().unwrap().to_owned()
}

async fn refresh(server: &TestServer, token: &str) -> (StatusCode, Value) {
    post_token(
        server,
        json!({
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": token,
        }),
    )
    .await
}

#[tokio::test]
async fn a_refresh_token_issued_by_one_instance_rotates_at_another() {
    let (_apps, servers) = instances().await;
    let issued = password(&servers[0]).await;
    let (status, body) = refresh(&servers[1], &issued).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_ne!(body["refresh_token"], issued);
}

#[tokio::test]
async fn a_token_replayed_at_a_third_instance_revokes_the_family_everywhere() {
    let (_apps, servers) = instances().await;
    let issued = password(&servers[0]).await;
    let (_, rotated) = refresh(&servers[1], &issued).await;
    let successor = rotated["refresh_token"].as_str().unwrap();

    let (status, body) = refresh(&servers[2], &issued).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = refresh(&servers[0], successor).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the successor is revoked too"
    );
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_refreshes_over_three_instances_give_exactly_one_success() {
    let (_apps, servers) = instances().await;
    let issued = password(&servers[0]).await;
    let urls: Vec<String> = servers.iter().map(|s| s.url("/token")).collect();
    let tasks: Vec<_> = (0..20)
        .map(|n| {
            let url = urls[n % 3].clone();
            let issued = issued.clone();
            tokio::spawn(async move {
                let response = http()
                    .post(url)
                    .json(&json!({
                        "grant_type": "refresh_token",
                        "client_id": CLIENT_ID,
                        "client_secret": CLIENT_SECRET,
                        "refresh_token": issued,
                    }))
                    .send()
                    .await
                    .unwrap();
                let status = response.status();
                let body: Value = response.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    let ok = answers.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{answers:?}");
    assert!(
        answers
            .iter()
            .all(|(s, b)| *s == StatusCode::OK || b["error"] == "invalid_grant"),
        "{answers:?}"
    );
}

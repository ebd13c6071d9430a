//! `GET /metrics`: Prometheus text with requests by route, tokens by grant, errors by code.

use axum::body::Body;
use axum::http::StatusCode;
use tower::ServiceExt;

use crate::common::*;

#[tokio::test]
async fn metrics_count_requests_by_route_tokens_by_grant_and_errors_by_code() {
    let app = TestApp::new();
    let issued = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(issued.status, StatusCode::OK);
    app.post_form("/token", &[("grant_type", "nonsense")], None)
        .await
        .assert_oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    app.get("/no/such/path?code=secret").await;

    let response = app.get("/metrics").await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text"))
    );
    let text = response.text();
    for line in [
        r#"token_service_tokens_issued_total{grant_type="client_credentials"} 1"#,
        r#"token_service_http_requests_total{method="POST",route="/token",status="200"} 1"#,
        r#"token_service_http_requests_total{method="POST",route="/token",status="400"} 1"#,
        r#"token_service_http_requests_total{method="GET",route="other",status="404"} 1"#,
        r#"token_service_oauth_errors_total{error="unsupported_grant_type"} 1"#,
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(
        !text.contains("/no/such/path") && !text.contains("code=secret"),
        "no raw paths or queries in labels"
    );
}

#[tokio::test]
async fn requests_with_unknown_methods_share_one_label() {
    let app = TestApp::new();
    for method in ["QQQ1", "QQQ2", "BREW"] {
        app.request(request(method, "/token").body(Body::empty()).unwrap())
            .await;
    }
    let text = app.get("/metrics").await.text();
    assert!(!text.contains("QQQ") && !text.contains("BREW"), "{text}");
    assert!(
        text.lines()
            .any(|l| l == r#"token_service_http_requests_total{method="other",route="/token",status="405"} 3"#),
        "{text}"
    );
}

#[tokio::test]
async fn with_ts_metrics_listen_the_public_router_answers_404_for_metrics() {
    let app = TestApp::with_vars(&[("TS_METRICS_LISTEN", "127.0.0.1:9090")]);
    app.get("/metrics")
        .await
        .assert_oauth_error(StatusCode::NOT_FOUND, "invalid_request");

    let metrics = token_service::http::metrics_router(app.state.clone());
    let response = metrics
        .oneshot(request("GET", "/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

//! Traces (README, "Running it in production"): with `TS_OTLP_ENDPOINT` the real binary
//! exports its spans over OTLP/HTTP to a receiver this test runs, under the trace id a request
//! brought in its `traceparent`, with the store's and argon2's work as child spans, and no
//! secret or token among their attributes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::StatusCode;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use crate::common::*;
use crate::config_cli::Served;

const TRACE_ID: &str = "0af7651916cd43dd8448eb211c80319c";
const PARENT_ID: &str = "b7ad6b7169203331";

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// An OTLP/HTTP receiver on 127.0.0.1: the export requests it got, decoded.
async fn receiver() -> (String, Arc<Mutex<Vec<ExportTraceServiceRequest>>>) {
    let received = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post({
            let received = received.clone();
            move |body: Bytes| async move {
                let request = ExportTraceServiceRequest::decode(body).unwrap();
                received.lock().unwrap().push(request);
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

fn spans(received: &Mutex<Vec<ExportTraceServiceRequest>>) -> Vec<Span> {
    received
        .lock()
        .unwrap()
        .iter()
        .flat_map(|r| &r.resource_spans)
        .flat_map(|r| &r.scope_spans)
        .flat_map(|s| s.spans.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_request_is_exported_as_spans_under_the_trace_id_it_brought() {
    let (base, received) = receiver().await;
    let served = Served::start(&[
        ("TS_OTLP_ENDPOINT", &base),
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    let response = http()
        .post(served.url("/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: serde_json::Value = response.json().await.unwrap();
    let access_token = body["access_token"].as_str().unwrap().to_owned();

    let ours = |spans: &[Span]| -> Vec<Span> {
        spans
            .iter()
            .filter(|s| s.trace_id == hex(TRACE_ID))
            .cloned()
            .collect()
    };
    let started = Instant::now();
    let mut traced = Vec::new();
    while started.elapsed() < Duration::from_secs(15) {
        traced = ours(&spans(&received));
        if traced.iter().any(|s| s.name == "request")
            && traced.iter().any(|s| s.name == "argon2.secret")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let names: Vec<&str> = traced.iter().map(|s| s.name.as_str()).collect();
    let request = traced
        .iter()
        .find(|s| s.name == "request")
        .unwrap_or_else(|| panic!("no request span in {names:?}"));
    assert_eq!(
        request.parent_span_id,
        hex(PARENT_ID),
        "the caller's span is the parent"
    );
    let argon2 = traced
        .iter()
        .find(|s| s.name == "argon2.secret")
        .unwrap_or_else(|| panic!("no argon2 span in {names:?}"));
    assert_eq!(
        argon2.parent_span_id, request.span_id,
        "argon2 runs inside the request"
    );
    let attributes = format!("{:?}", spans(&received));
    for secret in [CLIENT_SECRET, access_token.as_str()] {
        assert!(
            !attributes.contains(secret),
            "a span holds a secret or token"
        );
    }
    let (status, _, _) = served.stop();
    assert!(status.success());
}

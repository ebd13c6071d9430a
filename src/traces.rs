//! Traces over OTLP/HTTP when `TS_OTLP_ENDPOINT` is set (README, "Running it in production"):
//! the tracer provider that batches spans to the collector, and the W3C trace context
//! (`traceparent`, `tracestate`) an incoming request carries. With no endpoint, none of this is
//! made and the service's spans go to the log only.
//!
//! Spans carry what the log's do: method, route, status, latency, client id; store operations
//! and argon2 waits by name. Never a secret, code or token.

use std::fmt;

use axum::http::HeaderMap;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Why the exporter could not be built.
#[derive(Debug)]
pub struct TracesError(opentelemetry_otlp::ExporterBuildError);

impl fmt::Display for TracesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot export traces: {}", self.0)
    }
}

impl std::error::Error for TracesError {}

/// A provider batching spans to `endpoint`'s `/v1/traces` (OTLP/HTTP, protobuf), on a
/// thread of its own; it must be shut down at exit to send what it still holds.
pub fn provider(endpoint: &str) -> Result<SdkTracerProvider, TracesError> {
    let traces = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = SpanExporter::builder()
        .with_http()
        .with_endpoint(traces)
        .build()
        .map_err(TracesError)?;
    let resource = Resource::builder()
        .with_service_name("token-service")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// The trace an incoming request continues (W3C Trace Context), or none.
pub fn incoming(headers: &HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|name| name.as_str()).collect()
    }
}

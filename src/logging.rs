//! Logging: the global subscriber, and the JSON line format written straight into one buffer
//! (docs/design.md, "Load, faults and bad input": why the service has a formatter of its own).
//! What a line may hold is README's and SECURITY.md's business: never a secret, code or token.

use std::io::IsTerminal;

use opentelemetry::trace::TracerProvider as _;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

use crate::config::LogFormat;

/// Installs the global subscriber: `pretty` on a terminal, else JSON lines (`TS_LOG_FORMAT`
/// decides when set), filtered by `RUST_LOG` (default `info`). With an OTLP endpoint, spans
/// are exported there too (`traces`), and the provider returned must be shut down at exit.
pub fn init(
    format: Option<LogFormat>,
    otlp_endpoint: Option<&str>,
) -> Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>, crate::traces::TracesError> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = format.unwrap_or(if std::io::stdout().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let Some(endpoint) = otlp_endpoint else {
        let registry = tracing_subscriber::registry();
        match format {
            LogFormat::Pretty => registry
                .with(tracing_subscriber::fmt::layer())
                .with(filter)
                .init(),
            LogFormat::Json => registry.with(json_log()).with(filter).init(),
        }
        return Ok(None);
    };
    let log = match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer().boxed(),
        LogFormat::Json => json_log().boxed(),
    };
    // With traces, the filter is the log's alone: the spans exported go down to `debug`
    // (store operations, argon2 waits), which the log leaves out.
    let provider = crate::traces::provider(endpoint)?;
    let spans = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("token-service"))
        .with_filter(tracing_subscriber::EnvFilter::new(
            "info,token_service=debug",
        ));
    tracing_subscriber::registry()
        .with(log.with_filter(filter))
        .with(spans)
        .init();
    Ok(Some(provider))
}

/// The JSON log layer: `JsonLines` writes each event, `JsonSpanFields` keeps span fields as
/// JSON. `json()` only turns colours off: the event format it sets is replaced.
fn json_log<S>() -> tracing_subscriber::fmt::Layer<S, JsonSpanFields, JsonLines>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    tracing_subscriber::fmt::layer()
        .json()
        .fmt_fields(JsonSpanFields)
        .event_format(JsonLines::default())
}

/// The JSON log line, written straight into one buffer: the same line as tracing-subscriber's
/// JSON format with `flatten_event`, the current span and no span list (timestamp, level, the
/// event's fields, target, the span's fields and name), without its serializer writing
/// through a UTF-8-checking adaptor piece by piece. Events bridged from the `log` crate go to
/// that format itself, which normalizes their metadata.
struct JsonLines {
    bridged: tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>,
}

impl Default for JsonLines {
    fn default() -> Self {
        JsonLines {
            bridged: tracing_subscriber::fmt::format()
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false),
        }
    }
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for JsonLines
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        if meta.fields().field("log.target").is_some() {
            return self.bridged.format_event(ctx, writer, event);
        }
        let mut timestamp = String::new();
        tracing_subscriber::fmt::time::FormatTime::format_time(
            &tracing_subscriber::fmt::time::SystemTime,
            &mut tracing_subscriber::fmt::format::Writer::new(&mut timestamp),
        )?;
        let mut line = Members::default();
        line.member("timestamp", timestamp.as_str());
        line.member("level", meta.level().as_str());
        event.record(&mut line);
        line.member("target", meta.target());
        let span = event
            .parent()
            .and_then(|id| ctx.span(id))
            .or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            let extensions = span.extensions();
            let fields = extensions
                .get::<tracing_subscriber::fmt::FormattedFields<N>>()
                .and_then(|f| serde_json::from_str::<serde_json::Value>(f).ok());
            let fields = match fields {
                Some(serde_json::Value::Object(fields)) => fields,
                _ => serde_json::Map::new(),
            };
            line.member(
                "span",
                SpanObject {
                    fields,
                    name: span.metadata().name(),
                },
            );
        }
        writer.write_char('{')?;
        writer.write_str(&line.text()?)?;
        writer.write_str("}\n")
    }
}

/// A span in a log line: its fields, then its name.
struct SpanObject<'a> {
    fields: serde_json::Map<String, serde_json::Value>,
    name: &'a str,
}

impl serde::Serialize for SpanObject<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in &self.fields {
            map.serialize_entry(name, value)?;
        }
        map.serialize_entry("name", self.name)?;
        map.end()
    }
}

/// The JSON formatter's span fields, written member by member as `JsonFields` would write
/// them, and with fields recorded later (`client_id`, `status`, `latency_ms`) appended to the
/// span's JSON object instead of `JsonFields`' parse of the whole object and its rewrite on
/// every record: on `/token` that was a sixth of the service's instructions per token. The
/// log line is the same: each event re-reads the object into a sorted map (a key recorded
/// twice keeps its last value), as before.
struct JsonSpanFields;

impl<'writer> tracing_subscriber::fmt::FormatFields<'writer> for JsonSpanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        let mut members = Members::default();
        fields.record(&mut members);
        writer.write_char('{')?;
        writer.write_str(&members.text()?)?;
        writer.write_char('}')
    }

    fn add_fields(
        &self,
        current: &'writer mut tracing_subscriber::fmt::FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> std::fmt::Result {
        let mut members = Members::default();
        fields.record(&mut members);
        let added = members.text()?;
        append_json_object(&mut current.fields, &format!("{{{added}}}"));
        Ok(())
    }
}

/// `"name":value` members of a JSON object, in the order they are recorded, with the values
/// tracing-subscriber's JSON format gives each kind: the one writer of event and span fields.
#[derive(Default)]
struct Members {
    bytes: Vec<u8>,
    failed: bool,
}

impl Members {
    fn member(&mut self, name: &str, value: impl serde::Serialize) {
        if !self.bytes.is_empty() {
            self.bytes.push(b',');
        }
        let written = serde_json::to_writer(&mut self.bytes, name).and_then(|()| {
            self.bytes.push(b':');
            serde_json::to_writer(&mut self.bytes, &value)
        });
        self.failed |= written.is_err();
    }

    fn text(self) -> Result<String, std::fmt::Error> {
        if self.failed {
            return Err(std::fmt::Error);
        }
        String::from_utf8(self.bytes).map_err(|_| std::fmt::Error)
    }
}

impl tracing::field::Visit for Members {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.member(field.name(), serde_json::Value::from(value));
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.member(field.name(), value);
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.member(field.name(), value);
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.member(field.name(), value);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.member(field.name(), value);
    }

    fn record_bytes(&mut self, field: &tracing::field::Field, value: &[u8]) {
        self.member(field.name(), value);
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        let name = name.strip_prefix("r#").unwrap_or(name);
        self.member(name, format!("{value:?}"));
    }
}

/// Appends the members of the JSON object `added` to the JSON object `current` (either may be
/// empty: no text, or `{}`).
fn append_json_object(current: &mut String, added: &str) {
    let members = added
        .strip_prefix('{')
        .and_then(|rest| rest.strip_suffix('}'))
        .unwrap_or_default();
    if members.is_empty() {
        return;
    }
    if current.len() <= 2 {
        current.clear();
        current.push_str(added);
        return;
    }
    current.pop();
    current.push(',');
    current.push_str(members);
    current.push('}');
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::{JsonLines, JsonSpanFields, append_json_object};

    #[test]
    fn json_objects_are_appended_member_by_member() {
        let mut fields = String::new();
        append_json_object(&mut fields, "{}");
        assert_eq!(fields, "");
        append_json_object(&mut fields, r#"{"a":1}"#);
        assert_eq!(fields, r#"{"a":1}"#);
        append_json_object(&mut fields, "{}");
        append_json_object(&mut fields, r#"{"b":"x","c":true}"#);
        assert_eq!(fields, r#"{"a":1,"b":"x","c":true}"#);
    }

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// One request's log line (without its timestamp), from the JSON formatter with `fields`
    /// as its span fields and `format` as its event format.
    fn request_line<N, E>(fields: N, format: E) -> String
    where
        N: for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static,
        E: tracing_subscriber::fmt::FormatEvent<tracing_subscriber::Registry, N>
            + Send
            + Sync
            + 'static,
    {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(fields)
            .event_format(format)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                method = "POST",
                path = "/token",
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
                client_id = tracing::field::Empty,
                r#type = tracing::field::Empty,
                ok = tracing::field::Empty,
                signed = tracing::field::Empty,
                nan = tracing::field::Empty,
            );
            let _entered = span.enter();
            span.record("client_id", "first \"client\"");
            span.record("client_id", "reporting-service");
            span.record("status", 200);
            span.record("latency_ms", 1.5);
            span.record("type", tracing::field::debug(vec![Some(1), None]));
            span.record("ok", true);
            span.record("signed", -3_i64);
            span.record("nan", f64::NAN);
            tracing::info!("response");
            let detail = "store: \"down\"\n";
            tracing::warn!(%detail, attempts = 3_u64, ratio = 0.5, "response: unavailable");
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let (_, rest) = line.split_once(r#","level""#).unwrap();
                format!("{rest}\n")
            })
            .collect()
    }

    fn stock_json() -> tracing_subscriber::fmt::format::Format<tracing_subscriber::fmt::format::Json>
    {
        tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
    }

    #[test]
    fn appended_span_fields_and_direct_lines_log_what_the_stock_json_format_logs() {
        let stock = request_line(
            tracing_subscriber::fmt::format::JsonFields::new(),
            stock_json(),
        );
        assert_eq!(request_line(JsonSpanFields, stock_json()), stock);
        assert_eq!(request_line(JsonSpanFields, JsonLines::default()), stock);
        let first: serde_json::Value =
            serde_json::from_str(&format!("{{\"level\"{}", stock.lines().next().unwrap())).unwrap();
        assert_eq!(first["span"]["client_id"], "reporting-service");
        assert_eq!(first["span"]["type"], "[Some(1), None]");
        assert_eq!(first["span"]["nan"], serde_json::Value::Null);
        assert_eq!(stock.lines().count(), 2);
    }
}

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

mod request;
mod sink;

pub use request::{RequestFields, RequestScope, RoutePath, record_client_id, request_span};
pub use sink::FlushOnDrop;

/// The format of the log lines: `format` when set, else `pretty` on a terminal and JSON
/// lines elsewhere.
pub fn format(format: Option<LogFormat>) -> LogFormat {
    format.unwrap_or(if std::io::stdout().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    })
}

/// Installs the global subscriber: `pretty` on a terminal, else JSON lines (`TS_LOG_FORMAT`
/// decides when set), filtered by `RUST_LOG` (default `info`), on standard output through
/// `sink`, where info lines wait up to 10 ms to go out together (`FlushOnDrop` writes what
/// waits at exit). With an OTLP endpoint, spans are exported there too (`traces`), and the
/// provider returned must be shut down at exit.
pub fn init(
    format: Option<LogFormat>,
    otlp_endpoint: Option<&str>,
) -> Result<Option<opentelemetry_sdk::trace::SdkTracerProvider>, crate::traces::TracesError> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = self::format(format);
    let Some(endpoint) = otlp_endpoint else {
        let registry = tracing_subscriber::registry();
        match format {
            LogFormat::Pretty => registry
                .with(tracing_subscriber::fmt::layer().with_writer(sink::stdout()))
                .with(filter)
                .init(),
            LogFormat::Json => registry
                .with(json_log().with_writer(sink::stdout()))
                .with(filter)
                .init(),
        }
        return Ok(None);
    };
    let log = match format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(sink::stdout())
            .boxed(),
        LogFormat::Json => json_log().with_writer(sink::stdout()).boxed(),
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
        if event.metadata().fields().field("log.target").is_some() {
            return self.bridged.format_event(ctx, writer, event);
        }
        LINE.with(|kept| {
            let mut fresh = String::new();
            let mut kept = kept.try_borrow_mut();
            // A line logged while this thread writes one (from a field's `Debug`) takes a
            // buffer of its own.
            let line = match &mut kept {
                Ok(kept) => &mut **kept,
                Err(_) => &mut fresh,
            };
            line.clear();
            if line.capacity() > 4 * LINE_CAPACITY {
                line.shrink_to(LINE_CAPACITY);
            }
            line.reserve(LINE_CAPACITY);
            write_line(ctx, line, event)?;
            writer.write_str(line)
        })
    }
}

thread_local! {
    /// The line being written, kept for the thread's next: a line costs no allocation.
    static LINE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Writes the JSON line of `event` into `line`.
fn write_line<S, N>(
    ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
    line: &mut String,
    event: &tracing::Event<'_>,
) -> std::fmt::Result
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    let meta = event.metadata();
    line.push_str("{\"timestamp\":\"");
    push_timestamp(line)?;
    line.push_str("\",\"level\":");
    push_json_str(line, meta.level().as_str());
    let mut members = JsonMembers {
        out: line,
        empty: false,
    };
    event.record(&mut members);
    line.push_str(",\"target\":");
    push_json_str(line, meta.target());
    let span = event
        .parent()
        .and_then(|id| ctx.span(id))
        .or_else(|| ctx.lookup_current());
    if let Some(span) = span {
        line.push_str(",\"span\":{");
        let extensions = span.extensions();
        let fields = extensions
            .get::<tracing_subscriber::fmt::FormattedFields<N>>()
            .map_or("", |f| f.fields.as_str());
        if push_sorted_members(line, fields).is_none() {
            push_sorted_members_parsed(line, fields)?;
        }
        if !line.ends_with('{') {
            line.push(',');
        }
        line.push_str("\"name\":");
        push_json_str(line, span.metadata().name());
        line.push('}');
    } else {
        request::push_current(line);
    }
    line.push_str("}\n");
    Ok(())
}

/// Room for a request's log line without growing.
const LINE_CAPACITY: usize = 384;

/// The span fields' most members read without allocating; a span with more goes through
/// `serde_json`.
const MAX_SPAN_MEMBERS: usize = 16;

/// Writes the members of the JSON object `fields` (as `JsonSpanFields` writes it) sorted by
/// name, a name recorded twice with its last value: what parsing it into a `serde_json` map
/// and writing the map gives, without either. `None`, with nothing written, for anything but
/// an object of at most `MAX_SPAN_MEMBERS` members with plain names.
fn push_sorted_members(out: &mut String, fields: &str) -> Option<()> {
    // Each member's name, and its whole text (`"name":value`).
    let mut members = [("", ""); MAX_SPAN_MEMBERS];
    let mut count = 0;
    let inner = match fields {
        "" => "",
        fields => fields.strip_prefix('{')?.strip_suffix('}')?,
    };
    let mut rest = inner;
    while !rest.is_empty() {
        let name_len = json_string_len(rest)?;
        let name = rest.get(1..name_len - 1)?;
        if name.contains('\\') || rest.as_bytes().get(name_len) != Some(&b':') {
            return None;
        }
        let value_len = json_value_len(rest.get(name_len + 1..)?)?;
        let (member, after) = rest.split_at_checked(name_len + 1 + value_len)?;
        *members.get_mut(count)? = (name, member);
        count += 1;
        rest = match after.strip_prefix(',') {
            Some(next) if !next.is_empty() => next,
            Some(_) => return None,
            None if after.is_empty() => after,
            None => return None,
        };
    }
    let members = &mut members[..count];
    // An insertion sort, stable so that of equal names the last recorded stays last: a span
    // has a handful of members, too few for a general sort to pay.
    for i in 1..members.len() {
        let mut j = i;
        while j > 0 && before(members[j].0, members[j - 1].0) {
            members.swap(j, j - 1);
            j -= 1;
        }
    }
    let mut first = true;
    for (i, (name, member)) in members.iter().enumerate() {
        if members.get(i + 1).is_some_and(|next| next.0 == *name) {
            continue;
        }
        if !std::mem::take(&mut first) {
            out.push(',');
        }
        out.push_str(member);
    }
    Some(())
}

/// Whether the name `a` sorts before `b` (byte order, as a `String` key of a map).
fn before(a: &str, b: &str) -> bool {
    for (x, y) in a.bytes().zip(b.bytes()) {
        if x != y {
            return x < y;
        }
    }
    a.len() < b.len()
}

/// The length of the JSON string `text` starts with, quotes included.
fn json_string_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut i = 1;
    loop {
        i += bytes
            .get(i..)?
            .iter()
            .position(|&b| b == b'"' || b == b'\\')?;
        if bytes[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// The length of the JSON value `text` starts with, as `JsonMembers` writes values: a string,
/// an array of numbers, or a scalar (which has no comma).
fn json_value_len(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.first()? {
        b'"' => json_string_len(text),
        b'[' => Some(bytes.iter().position(|&b| b == b']')? + 1),
        _ => Some(bytes.iter().position(|&b| b == b',').unwrap_or(bytes.len())),
    }
}

/// The members of `fields` sorted through a `serde_json` map: the general case of
/// `push_sorted_members`.
fn push_sorted_members_parsed(out: &mut String, fields: &str) -> std::fmt::Result {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(fields)
    else {
        return Ok(());
    };
    let text = serde_json::to_string(&map).map_err(|_| std::fmt::Error)?;
    let members = text
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .unwrap_or_default();
    out.push_str(members);
    Ok(())
}

/// The current UTC time as tracing-subscriber's `SystemTime` writes it (RFC 3339, with
/// microseconds), without going through `fmt` for each part.
fn push_timestamp(out: &mut String) -> std::fmt::Result {
    match crate::clock::log_time().filter(|&(secs, _)| secs < YEAR_10000) {
        Some((secs, micros)) => {
            push_rfc3339(out, secs, micros);
            Ok(())
        }
        None => tracing_subscriber::fmt::time::FormatTime::format_time(
            &tracing_subscriber::fmt::time::SystemTime,
            &mut tracing_subscriber::fmt::format::Writer::new(out),
        ),
    }
}

/// `secs` after the Unix epoch (before year 10000) and `micros`, as
/// `2026-12-31T23:59:59.000001Z`. The text up to the second is the thread's last line's
/// when they fall in the same second, as most lines under load do.
fn push_rfc3339(out: &mut String, secs: u64, micros: u32) {
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != Some(secs) {
            text.clear();
            push_date_time(text, secs);
            *second = Some(secs);
        }
        out.push_str(text);
    });
    out.push('.');
    push_digits(out, u64::from(micros), 6);
    out.push('Z');
}

thread_local! {
    /// The second of this thread's last timestamp, and its text up to the second.
    static SECOND: std::cell::RefCell<(Option<u64>, String)> =
        const { std::cell::RefCell::new((None, String::new())) };
}

/// `secs` after the Unix epoch (before year 10000) as `2026-12-31T23:59:59`.
fn push_date_time(out: &mut String, secs: u64) {
    let (year, month, day) = crate::clock::civil_date(secs / 86_400);
    let seconds_of_day = secs % 86_400;
    push_digits(out, year, 4);
    out.push('-');
    push_digits(out, month, 2);
    out.push('-');
    push_digits(out, day, 2);
    out.push('T');
    push_digits(out, seconds_of_day / 3600, 2);
    out.push(':');
    push_digits(out, seconds_of_day / 60 % 60, 2);
    out.push(':');
    push_digits(out, seconds_of_day % 60, 2);
}

/// 10000-01-01T00:00:00Z in seconds since the Unix epoch: from there on, years take five
/// digits and the general formatter.
const YEAR_10000: u64 = 253_402_300_800;

/// The last `width` decimal digits of `n`, zero-padded.
fn push_digits(out: &mut String, n: u64, width: u32) {
    let mut divisor = 10_u64.pow(width - 1);
    while divisor > 0 {
        out.push(char::from(b'0' + (n / divisor % 10) as u8));
        divisor /= 10;
    }
}

/// The JSON formatter's span fields, written member by member as `JsonFields` would write
/// them, and with fields recorded later (`client_id`, `status`, `latency_ms`) appended to the
/// span's JSON object in place instead of `JsonFields`' parse of the whole object and its
/// rewrite on every record: on `/token` that was a sixth of the service's instructions per
/// token. The log line is the same: each event writes the object's members sorted by name (a
/// key recorded twice keeps its last value), as a `serde_json` map would.
struct JsonSpanFields;

impl<'writer> tracing_subscriber::fmt::FormatFields<'writer> for JsonSpanFields {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: tracing_subscriber::fmt::format::Writer<'writer>,
        fields: R,
    ) -> std::fmt::Result {
        let mut object = String::with_capacity(64);
        object.push('{');
        fields.record(&mut JsonMembers {
            out: &mut object,
            empty: true,
        });
        object.push('}');
        writer.write_str(&object)
    }

    fn add_fields(
        &self,
        current: &'writer mut tracing_subscriber::fmt::FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> std::fmt::Result {
        append_members(&mut current.fields, fields);
        Ok(())
    }
}

/// Appends the members `fields` records to the JSON object `object` (empty text or `{}` when
/// it has none), in place.
fn append_members(object: &mut String, fields: &tracing::span::Record<'_>) {
    // Room for what a request records after its span is made (client, status, latency) in
    // one allocation: the object was made exactly as long as its first fields.
    if object.capacity() - object.len() < SPAN_RECORD_ROOM / 2 {
        object.reserve(SPAN_RECORD_ROOM);
    }
    let had_braces = object.len() == 2;
    let fresh = object.len() <= 2;
    if fresh {
        object.clear();
        object.push('{');
    } else {
        object.pop();
    }
    let start = object.len();
    fields.record(&mut JsonMembers {
        out: object,
        empty: fresh,
    });
    if object.len() == start && fresh {
        object.clear();
        if had_braces {
            object.push_str("{}");
        }
        return;
    }
    object.push('}');
}

/// See `append_members`.
const SPAN_RECORD_ROOM: usize = 128;

/// Writes `"name":value` members of a JSON object into `out`, in the order they are
/// recorded, with the values tracing-subscriber's JSON format gives each kind and
/// `serde_json`'s text for them: the one writer of event and span fields (a request's fields
/// without a span use its writers of values, `request.rs`).
struct JsonMembers<'a> {
    out: &'a mut String,
    /// No member written yet: the next needs no comma.
    empty: bool,
}

impl JsonMembers<'_> {
    fn name(&mut self, name: &str) {
        if !std::mem::take(&mut self.empty) {
            self.out.push(',');
        }
        push_json_str(self.out, name);
        self.out.push(':');
    }

    fn str(&mut self, name: &str, value: &str) {
        self.name(name);
        push_json_str(self.out, value);
    }

    fn float(&mut self, name: &str, value: f64) {
        self.name(name);
        push_float(self.out, value);
    }

    fn unsigned(&mut self, name: &str, value: u64, negative: bool) {
        self.name(name);
        push_integer(self.out, value, negative);
    }
}

/// A float as serde_json writes it (its formatter, `zmij`, without going through `fmt`);
/// `null` for what JSON has no number for.
fn push_float(out: &mut String, value: f64) {
    if value.is_finite() {
        out.push_str(zmij::Buffer::new().format_finite(value));
    } else {
        out.push_str("null");
    }
}

/// An integer of magnitude `value`, negative or not.
fn push_integer(out: &mut String, value: u64, negative: bool) {
    if negative {
        out.push('-');
    }
    for &digit in crate::json::decimal(value, &mut [0; 20]) {
        out.push(char::from(digit));
    }
}

impl tracing::field::Visit for JsonMembers<'_> {
    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.float(field.name(), value);
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.unsigned(field.name(), value.unsigned_abs(), value < 0);
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.unsigned(field.name(), value, false);
    }

    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.name(field.name());
        self.out.push_str(if value { "true" } else { "false" });
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.str(field.name(), value);
    }

    fn record_bytes(&mut self, field: &tracing::field::Field, value: &[u8]) {
        use std::fmt::Write;
        self.name(field.name());
        self.out.push('[');
        for (i, byte) in value.iter().enumerate() {
            if i > 0 {
                self.out.push(',');
            }
            let _ = write!(self.out, "{byte}");
        }
        self.out.push(']');
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        let name = field.name();
        if name.starts_with("log.") {
            return;
        }
        self.name(name.strip_prefix("r#").unwrap_or(name));
        self.out.push('"');
        let _ = write!(JsonEscaped(self.out), "{value:?}");
        self.out.push('"');
    }
}

/// Appends `text` as a JSON string, escaped as `serde_json` escapes it.
fn push_json_str(out: &mut String, text: &str) {
    out.push('"');
    push_escaped(out, text);
    out.push('"');
}

fn push_escaped(out: &mut String, text: &str) {
    crate::json::escaped(text, |piece| out.push_str(piece));
}

/// A `fmt::Write` that escapes what it is given for the inside of a JSON string.
struct JsonEscaped<'a>(&'a mut String);

impl std::fmt::Write for JsonEscaped<'_> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        push_escaped(self.0, text);
        Ok(())
    }
}

/// The lines `emit` logs through the service's JSON log (every level), without their
/// timestamps: for tests of what other modules log.
///
/// Whether a callsite's events are wanted is cached for every thread, and a callsite another
/// test reaches first, while this subscriber is being made, can be cached as unwanted by a
/// subscriber list without it. So `emit` runs once before, with no subscriber, to register
/// its callsites, and the cache is computed again once this subscriber is live.
#[cfg(test)]
pub(crate) fn captured(emit: impl Fn()) -> Vec<String> {
    use tracing_subscriber::layer::SubscriberExt;
    let buffer = tests::Buffer::default();
    let writer = buffer.clone();
    let subscriber =
        tracing_subscriber::registry().with(json_log().with_writer(move || writer.clone()));
    tracing::subscriber::with_default(tracing::subscriber::NoSubscriber::default(), &emit);
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        emit()
    });
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .map(|line| line.split_once(r#","level""#).unwrap().1.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::{JsonLines, JsonSpanFields, push_rfc3339, push_sorted_members, push_timestamp};

    #[test]
    fn span_members_are_written_sorted_with_the_last_value_of_a_repeated_name() {
        let mut out = String::new();
        let fields =
            r#"{"method":"POST","b":[1,2],"s":"a,\"}","client_id":"x","client_id":"y","n":1.5}"#;
        assert_eq!(push_sorted_members(&mut out, fields), Some(()));
        assert_eq!(
            out,
            r#""b":[1,2],"client_id":"y","method":"POST","n":1.5,"s":"a,\"}""#
        );
        let mut empty = String::new();
        assert_eq!(push_sorted_members(&mut empty, ""), Some(()));
        assert_eq!(push_sorted_members(&mut empty, "{}"), Some(()));
        assert_eq!(empty, "");
    }

    #[test]
    fn span_members_beyond_the_plain_case_are_left_to_serde_json() {
        let mut out = String::new();
        assert_eq!(push_sorted_members(&mut out, r#"{"a\"b":1}"#), None);
        assert_eq!(push_sorted_members(&mut out, r#"{"a":1,}"#), None);
        assert_eq!(push_sorted_members(&mut out, "not json"), None);
        let many = (0..17).map(|i| format!("\"f{i}\":{i}")).collect::<Vec<_>>();
        assert_eq!(
            push_sorted_members(&mut out, &format!("{{{}}}", many.join(","))),
            None
        );
        assert_eq!(out, "");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds_like_the_stock_timer() {
        let mut out = String::new();
        push_rfc3339(&mut out, 0, 0);
        assert_eq!(out, "1970-01-01T00:00:00.000000Z");
        out.clear();
        push_rfc3339(&mut out, 1_796_367_268, 1_234);
        assert_eq!(out, "2026-12-04T06:54:28.001234Z");
        out.clear();
        push_rfc3339(&mut out, 253_402_300_799, 999_999);
        assert_eq!(out, "9999-12-31T23:59:59.999999Z");
        out.clear();
        push_rfc3339(&mut out, 253_402_300_799, 5);
        assert_eq!(out, "9999-12-31T23:59:59.000005Z", "the same second again");
        out.clear();
        push_rfc3339(&mut out, 1_796_367_269, 0);
        assert_eq!(out, "2026-12-04T06:54:29.000000Z", "another second");
        let mut now = String::new();
        push_timestamp(&mut now).unwrap();
        let mut stock = String::new();
        tracing_subscriber::fmt::time::FormatTime::format_time(
            &tracing_subscriber::fmt::time::SystemTime,
            &mut tracing_subscriber::fmt::format::Writer::new(&mut stock),
        )
        .unwrap();
        let shape = |t: &str| t.replace(|c: char| c.is_ascii_digit(), "0");
        assert_eq!(shape(&now), shape(&stock));
    }

    #[derive(Clone, Default)]
    pub(crate) struct Buffer(pub(crate) Arc<Mutex<Vec<u8>>>);

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
            tracing::warn!(%detail, attempts = 3_u64, ratio = 0.1 + 0.2, "response: unavailable");
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

//! The binary's subcommands and start-up: load everything, check it, then serve.

use std::io::{IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::{Clock, UnixTime};
use crate::config::{Config, LogFormat, Settings, StartupError};
use crate::keys::{self, Algorithm, KeySet};
use crate::state::AppState;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::store::redis::{RedisStore, Topology};

const USAGE: &str = "usage: token-service [serve | keygen [--alg ES256|EdDSA] [--dir DIR] | hash-secret | check-config]";

/// Runs the subcommand named by `args` (without the program name).
pub fn main(args: Vec<String>) -> Result<(), StartupError> {
    let (command, rest) = args
        .split_first()
        .map_or(("serve", &[][..]), |(c, r)| (c.as_str(), r));
    match command {
        "serve" if rest.is_empty() => serve(),
        "keygen" => keygen(rest),
        "hash-secret" if rest.is_empty() => hash_secret(),
        "check-config" if rest.is_empty() => check_config(),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(StartupError::new(USAGE)),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, StartupError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartupError(format!("cannot start the runtime: {e}")))
}

fn serve() -> Result<(), StartupError> {
    let settings = Settings::from_env()?;
    init_logging(settings.log_format);
    for name in Settings::unknown_variables() {
        tracing::warn!(variable = %name, "unknown TS_ variable ignored (a typo?)");
    }
    runtime()?.block_on(async {
        let shutdown = shutdown_signal()?;
        // One signal stops both listeners.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop.send(true);
        });
        let (listen, metrics_listen) = (settings.listen, settings.metrics_listen);
        let state = load(settings, Clock::System)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|e| StartupError(format!("TS_LISTEN={listen}: cannot listen: {e}")))?;
        let metrics = match metrics_listen {
            Some(addr) => Some(serve_metrics(addr, state.clone(), stopped.clone()).await?),
            None => None,
        };
        let store = state.store.health().await;
        tracing::info!(
            %listen,
            metrics_listen = metrics_listen.map(|a| a.to_string()),
            store = store.health.as_str(),
            argon2_workers = state.argon2.workers(),
            "token-service listening"
        );
        crate::run(listener, state, signalled(stopped))
            .await
            .map_err(|e| StartupError(format!("server error: {e}")))?;
        if let Some(metrics) = metrics {
            // A scrape in flight gets a moment; the main server has drained already.
            if tokio::time::timeout(Duration::from_secs(2), metrics)
                .await
                .is_err()
            {
                tracing::warn!("metrics listener still busy: closing it");
            }
        }
        tracing::info!("drained, exiting");
        Ok(())
    })
}

/// Serves `/metrics` alone on `TS_METRICS_LISTEN` until `stopped` turns true.
async fn serve_metrics(
    addr: SocketAddr,
    state: AppState,
    stopped: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, StartupError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| StartupError(format!("TS_METRICS_LISTEN={addr}: cannot listen: {e}")))?;
    let server = axum::serve(listener, crate::http::metrics_router(state))
        .with_graceful_shutdown(signalled(stopped));
    Ok(tokio::spawn(async move {
        if let Err(e) = server.await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    }))
}

/// Resolves once the shutdown signal has been received.
async fn signalled(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stopped| *stopped).await;
}

/// Loads config file, keys and store exactly as `serve` does, and mints and verifies one token so
/// that a broken key fails here and not at the first request. Redis is not contacted: it may be
/// down at start-up (docs/design.md, "Load, faults and bad input"). Needs a Tokio runtime.
pub fn load(settings: Settings, clock: Clock) -> Result<AppState, StartupError> {
    let keys = KeySet::load(&settings.keys_dir, settings.signing_key.as_deref())?;
    let store = match &settings.redis_url {
        Some(url) => Store::Redis(
            RedisStore::new(
                &topology(url, &settings),
                &settings.redis_prefix,
                settings.redis_wait_replicas,
            )
            .map_err(StartupError)?,
        ),
        None => Store::Memory(MemoryStore::new()),
    };
    let config = Config::load(settings)?;
    self_check(&keys, &config, &clock)?;
    if keys.signer().is_dev_key() && !is_local_issuer(&config.settings.issuer) {
        tracing::warn!(
            key = %keys.signer().path.display(),
            issuer = %config.settings.issuer,
            "SIGNING WITH THE COMMITTED DEVELOPMENT KEY ON A NON-LOCAL ISSUER: anyone can forge tokens; run `token-service keygen` and remove the dev key"
        );
    }
    AppState::new(config, keys, store, clock)
}

/// Which Redis `TS_REDIS_URL` names: one server, the nodes of a Cluster, or Sentinels.
fn topology(url: &str, settings: &Settings) -> Topology {
    let list = || url.split(',').map(|u| u.trim().to_owned()).collect();
    match (&settings.redis_sentinel, settings.redis_cluster) {
        (Some(master), _) => Topology::Sentinel {
            sentinels: list(),
            master: master.clone(),
        },
        (None, true) => Topology::Cluster(list()),
        (None, false) => Topology::Single(url.to_owned()),
    }
}

fn self_check(keys: &KeySet, config: &Config, clock: &Clock) -> Result<(), StartupError> {
    let now = clock.now();
    let probe =
        serde_json::json!({"iss": config.settings.issuer_base(), "iat": now, "exp": now + 60});
    let jwt = keys
        .sign(&probe)
        .map_err(|e| StartupError(format!("signing key: {e}")))?;
    let verified: Option<serde_json::Value> = keys.verify(&jwt);
    if verified.as_ref() != Some(&probe) {
        return Err(StartupError(format!(
            "{}: a token signed with this key does not verify against the JWKS",
            keys.signer().path.display()
        )));
    }
    Ok(())
}

fn is_local_issuer(issuer: &str) -> bool {
    url::Url::parse(issuer).is_ok_and(|u| {
        matches!(
            u.host_str(),
            Some("localhost") | Some("127.0.0.1") | Some("[::1]")
        )
    })
}

fn check_config() -> Result<(), StartupError> {
    let settings = Settings::from_env()?;
    for name in Settings::unknown_variables() {
        eprintln!("warning: unknown variable {name} (a typo?)");
    }
    let state = runtime()?.block_on(async { load(settings, Clock::System) })?;
    let signer = state.keys.signer();
    println!(
        "ok: {} clients, {} users; signing with {} ({}, kid {}); store: {}",
        state.config.clients.len(),
        state.config.users.len(),
        signer.path.display(),
        signer.alg.as_str(),
        signer.kid,
        store_description(&state.config.settings),
    );
    println!(
        "refresh tokens: authenticated by a key derived from {} (HKDF-SHA256); those of any \
         other key in {} verify while it stays there",
        signer.path.display(),
        state.config.settings.keys_dir.display(),
    );
    Ok(())
}

/// The store `check-config` reports: `memory`, or which Redis topology and what every write
/// waits for.
fn store_description(settings: &Settings) -> String {
    let Some(url) = &settings.redis_url else {
        return "memory".into();
    };
    let topology = match topology(url, settings) {
        Topology::Single(_) => "redis".to_owned(),
        Topology::Cluster(nodes) => format!("redis cluster ({} seed nodes)", nodes.len()),
        Topology::Sentinel { sentinels, master } => {
            format!(
                "redis sentinel, master {master} ({} sentinels)",
                sentinels.len()
            )
        }
    };
    match settings.redis_wait_replicas {
        0 => topology,
        n => format!(
            "{topology}; codes, sessions, revocations, new families and login throttles \
             acknowledged by {n} replicas, rotations by none"
        ),
    }
}

fn keygen(args: &[String]) -> Result<(), StartupError> {
    let mut alg = Algorithm::ES256;
    let mut dir =
        std::env::var_os("TS_KEYS_DIR").map_or_else(|| PathBuf::from("keys"), PathBuf::from);
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| StartupError::new(USAGE));
        match arg.as_str() {
            "--alg" => {
                alg = Algorithm::parse(value?)
                    .ok_or_else(|| StartupError::new("--alg: expected ES256 or EdDSA"))?;
            }
            "--dir" => dir = PathBuf::from(value?),
            _ => return Err(StartupError::new(USAGE)),
        }
    }
    let rng = ring::rand::SystemRandom::new();
    let der = keys::generate_pkcs8(alg, &rng).map_err(StartupError)?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
    let name = format!(
        "{}-{}.pem",
        utc_timestamp(Clock::System.now()),
        alg.as_str().to_ascii_lowercase()
    );
    let path = dir.join(name);
    let key = keys::SigningKey::from_pem(&path, pem.as_bytes()).map_err(StartupError)?;
    std::fs::create_dir_all(&dir).map_err(|e| StartupError(format!("{}: {e}", dir.display())))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&path)
        .map_err(|e| StartupError(format!("{}: {e}", path.display())))?;
    file.write_all(pem.as_bytes())
        .map_err(|e| StartupError(format!("{}: {e}", path.display())))?;
    println!("{}", path.display());
    println!("kid {}", key.kid);
    Ok(())
}

fn hash_secret() -> Result<(), StartupError> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(|e| StartupError(format!("stdin: {e}")))?;
    if input.last() == Some(&b'\n') {
        input.pop();
        if input.last() == Some(&b'\r') {
            input.pop();
        }
    }
    if input.is_empty() {
        return Err(StartupError::new("hash-secret: refusing an empty secret"));
    }
    let hash = crate::password::hash_secret(&input).map_err(StartupError)?;
    println!("{hash}");
    Ok(())
}

/// `2026-11-27T221503Z`: sortable, so the newest key is the last file by name.
fn utc_timestamp(now: UnixTime) -> String {
    let (days, secs) = (now / 86_400, now % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}{:02}{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
}

fn init_logging(format: Option<LogFormat>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = format.unwrap_or(if std::io::stdout().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Pretty => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .fmt_fields(JsonSpanFields)
            .event_format(JsonLines::default())
            .init(),
    }
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
        let mut line = EventMembers::default();
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
        let mut bytes = line.bytes;
        bytes.extend_from_slice(b"}\n");
        if line.failed {
            return Err(std::fmt::Error);
        }
        writer.write_str(std::str::from_utf8(&bytes).map_err(|_| std::fmt::Error)?)
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

/// The members of one log line's JSON object, in the order they are recorded; an event's
/// fields take the values tracing's serde visitor gives each kind.
#[derive(Default)]
struct EventMembers {
    bytes: Vec<u8>,
    failed: bool,
}

impl EventMembers {
    fn member(&mut self, name: &str, value: impl serde::Serialize) {
        self.bytes
            .push(if self.bytes.is_empty() { b'{' } else { b',' });
        let written = serde_json::to_writer(&mut self.bytes, name).and_then(|()| {
            self.bytes.push(b':');
            serde_json::to_writer(&mut self.bytes, &value)
        });
        self.failed |= written.is_err();
    }
}

impl tracing::field::Visit for EventMembers {
    fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
        self.member(field.name(), value);
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.member(field.name(), format_args!("{value:?}"));
    }

    fn record_u64(&mut self, field: &tracing::field::Field, value: u64) {
        self.member(field.name(), value);
    }

    fn record_i64(&mut self, field: &tracing::field::Field, value: i64) {
        self.member(field.name(), value);
    }

    fn record_f64(&mut self, field: &tracing::field::Field, value: f64) {
        self.member(field.name(), value);
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.member(field.name(), value);
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
        let mut members = JsonMembers::default();
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
        let mut members = JsonMembers::default();
        fields.record(&mut members);
        let added = members.text()?;
        append_json_object(&mut current.fields, &format!("{{{added}}}"));
        Ok(())
    }
}

/// `"name":value` members of a JSON object, with the values `JsonFields` gives each kind.
#[derive(Default)]
struct JsonMembers {
    bytes: Vec<u8>,
    failed: bool,
}

impl JsonMembers {
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

impl tracing::field::Visit for JsonMembers {
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

/// Listens for SIGTERM and Ctrl-C from the moment it is called (so a SIGTERM during
/// start-up is not fatal), and resolves on the first: stop accepting, drain in-flight
/// requests. Needs a Tokio runtime.
pub fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, StartupError> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| StartupError(format!("cannot listen for {name}: {e}")))
        };
        let mut terminate = listen(SignalKind::terminate(), "SIGTERM")?;
        let mut interrupt = listen(SignalKind::interrupt(), "SIGINT")?;
        Ok(async move {
            tokio::select! {
                _ = terminate.recv() => {},
                _ = interrupt.recv() => {},
            }
            tracing::info!("shutdown signal received: draining");
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown signal received: draining");
    })
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::{JsonLines, JsonSpanFields, append_json_object, utc_timestamp};

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

    #[test]
    fn utc_timestamp_formats_a_known_instant() {
        assert_eq!(utc_timestamp(0), "1970-01-01T000000Z");
        assert_eq!(utc_timestamp(1_795_815_903), "2026-11-27T214503Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T000000Z");
    }
}

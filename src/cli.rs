//! The binary's subcommands and start-up: load everything, check it, then serve.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::clock::{Clock, UnixTime};
use crate::config::{Config, Settings};
use crate::keys::{self, Algorithm, KeySet};
use crate::startup_error::StartupError;
use crate::state::AppState;
use crate::store::Store;
use crate::store::memory::MemoryStore;
use crate::store::redis::{RedisStore, Topology};

const USAGE: &str = "usage: token-service [serve | keygen [--alg ES256|EdDSA] [--dir DIR] | hash-secret | check-config | client-jwks KEY.pem... | client-assertion KEY.pem CLIENT_ID [AUDIENCE]]";

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
        "client-jwks" if !rest.is_empty() => client_jwks(rest),
        "client-assertion" => client_assertion(rest),
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
    let traces = crate::logging::init(settings.log_format, settings.otlp_endpoint.as_deref())
        .map_err(|e| StartupError(format!("TS_OTLP_ENDPOINT: {e}")))?;
    // Whichever way `serve` returns, the log lines still waiting go out.
    let _flush = crate::logging::FlushOnDrop;
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
        Ok::<(), StartupError>(())
    })?;
    // The spans still batched go out before the process ends.
    if let Some(traces) = traces
        && let Err(error) = traces.shutdown()
    {
        eprintln!("traces: {error}");
    }
    Ok(())
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
            .map_err(|e| StartupError(e.to_string()))?,
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
    let der = keys::generate_pkcs8(alg, &rng).map_err(|e| StartupError(e.to_string()))?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der));
    let name = format!(
        "{}-{}.pem",
        utc_timestamp(Clock::System.now()),
        alg.as_str().to_ascii_lowercase()
    );
    let path = dir.join(name);
    let key = keys::SigningKey::from_pem(&path, pem.as_bytes())
        .map_err(|e| StartupError(e.to_string()))?;
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
    let hash = crate::password::hash_secret(&input).map_err(|e| StartupError(e.to_string()))?;
    println!("{hash}");
    Ok(())
}

/// A client's private key, as `keygen` or `openssl genpkey` writes it.
fn client_key(path: &str) -> Result<keys::SigningKey, StartupError> {
    let path = PathBuf::from(path);
    let text =
        std::fs::read(&path).map_err(|e| StartupError(format!("{}: {e}", path.display())))?;
    keys::SigningKey::from_pem(&path, &text)
        .map_err(|e| StartupError(format!("{}: {e}", path.display())))
}

/// `client-jwks KEY.pem...`: the config file's `jwks` line with the public halves of a
/// client's keys (README, "Client authentication").
fn client_jwks(paths: &[String]) -> Result<(), StartupError> {
    let mut tables = Vec::with_capacity(paths.len());
    for path in paths {
        let key = client_key(path)?;
        let members: Vec<String> = key
            .public_jwk()
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| format!("{name} = {value}"))
            .collect();
        tables.push(format!("{{ {} }}", members.join(", ")));
    }
    println!("jwks = {{ keys = [{}] }}", tables.join(", "));
    Ok(())
}

/// `client-assertion KEY.pem CLIENT_ID [AUDIENCE]`: a `private_key_jwt` assertion valid for
/// 60 s, for `AUDIENCE` or else `TS_ISSUER` (RFC 7523 §3), to try a client's set-up with curl.
fn client_assertion(args: &[String]) -> Result<(), StartupError> {
    let (path, client_id, audience) = match args {
        [path, client_id] => (
            path,
            client_id,
            Settings::from_env()?.issuer_base().to_owned(),
        ),
        [path, client_id, audience] => (path, client_id, audience.clone()),
        _ => return Err(StartupError::new(USAGE)),
    };
    let key = client_key(path)?;
    let rng = ring::rand::SystemRandom::new();
    let jti = crate::token::random_b64::<16>(&rng).map_err(|e| StartupError(e.to_string()))?;
    let now = Clock::System.now();
    let claims = serde_json::json!({
        "iss": client_id, "sub": client_id, "aud": audience,
        "iat": now, "exp": now + 60, "jti": jti,
    });
    let assertion = key
        .sign_jwt(&rng, &claims)
        .map_err(|e| StartupError(e.to_string()))?;
    println!("{assertion}");
    Ok(())
}

/// `2026-11-27T221503Z`: sortable, so the newest key is the last file by name.
fn utc_timestamp(now: UnixTime) -> String {
    let (days, secs) = (now / 86_400, now % 86_400);
    let (year, month, day) = crate::clock::civil_date(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}{:02}{:02}Z",
        secs / 3_600,
        secs % 3_600 / 60,
        secs % 60
    )
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
    use super::utc_timestamp;

    #[test]
    fn utc_timestamp_formats_a_known_instant() {
        assert_eq!(utc_timestamp(0), "1970-01-01T000000Z");
        assert_eq!(utc_timestamp(1_795_815_903), "2026-11-27T214503Z");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29T000000Z");
    }
}

//! # token-service
//!
//! An OAuth 2.0 token service: JWT access tokens (RFC 9068) verified offline against the
//! published JWKS, rotating refresh tokens in Redis or in memory, an SSO login page.
//!
//! # Layout
//! - [`cli`]: subcommands (`serve`, `keygen`, `hash-secret`, `check-config`) and start-up
//! - [`config`]: `TS_*` environment and the clients and users of the config file
//! - [`state`]: the state every handler shares
//! - [`clock`]: the only reader of the system time
//! - [`error`]: the token endpoint's errors, RFC 6749 §5.2, rendered once
//! - [`keys`]: signing keys, `kid`, JWT signing, JWKS
//! - [`metrics`]: Prometheus counters and histograms behind `/metrics`
//! - [`token`]: access-token claims and minting, opaque random tokens
//! - [`scope`]: scope sets and narrowing
//! - [`clients`]: client authentication and the verified-secret cache
//! - [`password`]: argon2id hashing; verification on worker threads with one memory block each
//! - [`users`]: password login with per-username throttling
//! - [`grants`]: the token request enum, the one `match`, one module per grant
//! - [`store`]: refresh tokens, codes, sessions, throttling; memory and Redis backends
//! - [`http`]: the route table, layers, and the handlers of each endpoint
//! - [`authorize`]: `/authorize` (the SSO login page), SSO sessions, `/logout`, the demo callback

pub mod authorize;
pub mod cli;
pub mod clients;
pub mod clock;
pub mod config;
pub mod error;
pub mod grants;
pub mod http;
pub mod keys;
pub mod metrics;
pub mod password;
pub mod scope;
pub mod state;
pub mod store;
pub mod token;
pub mod users;

use std::future::Future;

use tokio::net::TcpListener;

pub use http::router as app;
pub use state::AppState;

/// Serves `state` on `listener` until `shutdown` resolves, then drains in-flight requests.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown)
        .await
}

//! # token-service
//!
//! An OAuth 2.0 token service: JWT access tokens (RFC 9068) verified offline against the
//! published JWKS, rotating refresh tokens in Redis or in memory, an SSO login page.
//!
//! # Layout
//! From the bottom up; each module imports only modules listed above it.
//!
//! Records and pure logic:
//! - [`clock`]: the only reader of the system time
//! - [`json`]: compact JSON as serde_json writes it, faster for token-sized strings
//! - [`startup_error`]: the one error of start-up
//! - [`failure`]: the domain's failure (unavailable, internal), logged once by the HTTP layer
//! - [`scope`]: scope sets and narrowing
//! - [`jwk`]: clients' public keys (RFC 7517) and the JWS signature check against them
//! - [`records`]: clients, users, grant types and client authentication methods
//! - [`client_assertion`]: a `private_key_jwt` assertion's signature and claims, `now` given
//! - [`oidc`]: which of a user's claims each OpenID Connect scope releases
//! - [`params`]: the one parser of form, query and JSON parameters
//! - [`pkce`]: PKCE S256 checks
//! - [`dpop`]: DPoP proofs (RFC 9449): the check, JWK thumbprints, stateless server nonces
//! - [`rotation`]: the refresh-token rotation decision, one pure function
//! - [`metrics`]: Prometheus counters and histograms behind `/metrics`
//! - [`config`]: `TS_*` environment and the clients and users of the config file
//! - [`error`]: the token endpoint's errors, RFC 6749 §5.2, rendered once
//!
//! Store and crypto:
//! - [`keys`]: signing keys, `kid`, JWT signing, JWKS
//! - [`token`]: access-token claims and minting, opaque random tokens
//! - [`id_token`]: OpenID Connect ID tokens and `at_hash`
//! - [`traces`]: OTLP export of spans, the incoming W3C trace context
//! - [`store`]: refresh tokens, codes, sessions, throttling; memory and Redis backends
//! - [`refresh_token`]: self-authenticating refresh tokens: format, MAC, successors
//! - [`password`]: argon2id hashing; verification on worker threads with one memory block
//!   each, client secrets and passwords in lanes of their own; the verified-secret cache
//!
//! Domain:
//! - [`clients`]: client authentication and the verified-secret cache
//! - [`users`]: password login with per-username throttling
//! - [`sender`]: a DPoP proof accepted once at an endpoint, with the server's nonces
//! - [`grants`]: the token request enum, the one `match`, one module per grant
//!
//! Wiring, pages and HTTP:
//! - [`state`]: the state every handler shares, and the views it hands the domain
//! - [`authorize`]: `/authorize` (the SSO login page), pushed authorization requests, SSO
//!   sessions, `/logout`, the demo callback
//! - [`http`]: the route table, layers, and the handlers of each endpoint
//! - [`serve`]: the accept loop: header-read timeout, connection cap, shutdown deadline
//! - [`timer`]: coarse deadlines on a thread of their own (header reads, requests)
//! - [`logging`]: the global subscriber and the JSON log line
//! - [`cli`]: subcommands (`serve`, `keygen`, `hash-secret`, `check-config`) and start-up

// The instrumented store and argon2 futures nest deeper than the default limit lets the
// compiler lay out.
#![recursion_limit = "256"]

pub mod authorize;
pub mod cli;
pub mod client_assertion;
pub mod clients;
pub mod clock;
pub mod config;
pub mod dpop;
pub mod error;
pub mod failure;
pub mod grants;
pub mod http;
pub mod id_token;
pub mod json;
pub mod jwk;
pub mod keys;
pub mod logging;
pub mod metrics;
pub mod oidc;
pub mod params;
pub mod password;
pub mod pkce;
pub mod records;
pub mod refresh_token;
pub mod rotation;
pub mod scope;
pub mod sender;
pub mod serve;
pub mod startup_error;
pub mod state;
pub mod store;
pub mod timer;
pub mod token;
pub mod traces;
pub mod users;

use std::future::Future;

use tokio::net::TcpListener;

pub use http::router as app;
pub use serve::ServeLimits;
pub use state::AppState;

/// Serves `state` on `listener` until `shutdown` resolves, then drains in-flight requests,
/// within the default [`ServeLimits`].
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with_limits(listener, state, shutdown, ServeLimits::default()).await
}

/// [`run`] within explicit limits.
pub async fn run_with_limits(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    limits: ServeLimits,
) -> std::io::Result<()> {
    serve::serve(listener, state, shutdown, limits).await;
    Ok(())
}

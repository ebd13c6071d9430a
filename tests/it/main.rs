//! The integration tests: one binary, one module per area.

// Denied in the service (Cargo.toml [lints]); in tests they are how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod access_tokens;
mod bad_input;
mod client_auth;
mod config_cli;
mod cors;
mod discovery;
mod metrics;
mod refresh_rotation;
mod token_errors;
mod token_grants;

//! The integration tests: one binary, one module per area.

// Tests may unwrap and panic (the house rules deny them outside tests only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod access_tokens;
mod bad_input;
mod client_auth;
mod config_cli;
mod cors;
mod discovery;
mod refresh_rotation;
mod token_errors;
mod token_grants;

//! The integration tests: one binary, one module per area.

mod common;

mod access_tokens;
mod client_auth;
mod cors;
mod discovery;
mod refresh_rotation;
mod token_errors;
mod token_grants;

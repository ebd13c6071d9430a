//! The integration tests: one binary, one module per area.

mod common;

mod client_auth;
mod token_grants;

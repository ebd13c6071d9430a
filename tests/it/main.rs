//! The integration tests: one binary, one module per area.

// Denied in the service (Cargo.toml [lints]); in tests they are how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod client_auth;
mod redis_faults;
mod redis_hygiene;
mod redis_scale_out;
mod redis_throughput;
mod revoke_introspect;
mod store_contract;
mod throttling;
mod token_grants;

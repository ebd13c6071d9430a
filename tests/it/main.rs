//! The integration tests: one binary, one module per area.

// Denied in the service (Cargo.toml [lints]); in tests they are how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

mod access_tokens;
mod argon2_floods;
mod authorize;
mod authorize_flow;
mod bad_input;
mod browser;
mod client_auth;
mod config_cli;
mod cors;
mod discovery;
mod dpop;
mod fapi2;
mod interop_oauth4webapi;
mod interop_python;
mod metrics;
mod monitoring;
mod oauth2_client;
mod oidc;
mod oidc_authorize;
mod oidc_logout;
mod oidc_relying_party;
mod openapi;
mod par;
mod private_key_jwt;
mod redis_faults;
mod redis_hygiene;
mod redis_lost_writes;
mod redis_scale_out;
mod redis_sentinel;
mod refresh_rotation;
mod resource_server_example;
mod revoke_introspect;
mod rotation_differential;
mod rotation_model;
mod shutdown;
mod slow_clients;
mod store_contract;
mod throttling;
mod token_errors;
mod token_grants;
mod traces;
mod userinfo;

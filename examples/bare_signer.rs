//! The ceiling `bench/run.sh` measures token-service against: one axum handler that does only
//! what a client_credentials token needs (parse the form, check HTTP Basic against a
//! precomputed SHA-256 of the one client's secret, sign an RFC 9068 JWT with an ES256 key
//! pair parsed once) and nothing else: no logging, metrics, spans, store or deadline.
//!
//!   cargo run --release --example bare_signer -- 127.0.0.1:18090 keys/0000-dev-es256.pem
//!
//! The client is the dev config's `reporting-service`.

// A benchmark fixture fails at start-up by panicking, like a test.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use serde::Serialize;
use subtle::ConstantTimeEq;

const CLIENT_ID: &str = "reporting-service";
const CLIENT_SECRET: &str = "reporting-secret-change-me";
const ISSUER: &str = "http://localhost:8080";
const AUDIENCE: &str = "https://reports.example.com";
const SCOPE: &str = "reports:read";
const TTL: u64 = 900;

struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    header_b64: String,
    secret_sha256: [u8; 32],
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    client_id: &'a str,
    scope: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: &'a str,
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    scope: &'a str,
}

fn error(status: StatusCode, code: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"error\":\"{code}\"}}"),
    )
        .into_response()
}

fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

async fn token(State(signer): State<Arc<Signer>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut grant_type = None;
    let mut scope = None;
    for (name, value) in form_urlencoded(&body) {
        match name.as_str() {
            "grant_type" => grant_type = Some(value),
            "scope" => scope = Some(value),
            _ => {}
        }
    }
    if grant_type.as_deref() != Some("client_credentials") {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if scope.as_deref().is_some_and(|s| s != SCOPE) {
        return error(StatusCode::BAD_REQUEST, "invalid_scope");
    }
    let Some((id, secret)) = basic(&headers) else {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, secret.as_bytes());
    if id != CLIENT_ID || !bool::from(digest.as_ref().ct_eq(&signer.secret_sha256)) {
        return error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    // A bare handler reads the clock itself; the service passes a Clock down instead.
    #[allow(clippy::disallowed_methods)]
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut jti = [0u8; 16];
    if signer.rng.fill(&mut jti).is_err() {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    }
    let jti = B64.encode(jti);
    let claims = Claims {
        iss: ISSUER,
        sub: CLIENT_ID,
        aud: AUDIENCE,
        client_id: CLIENT_ID,
        scope: SCOPE,
        iat: now,
        nbf: now,
        exp: now + TTL,
        jti: &jti,
    };
    let Ok(payload) = serde_json::to_vec(&claims) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let mut jwt = String::with_capacity(signer.header_b64.len() + payload.len() * 4 / 3 + 100);
    jwt.push_str(&signer.header_b64);
    jwt.push('.');
    B64.encode_string(&payload, &mut jwt);
    let Ok(signature) = signer.key.sign(&signer.rng, jwt.as_bytes()) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    jwt.push('.');
    B64.encode_string(signature.as_ref(), &mut jwt);
    let Ok(body) = serde_json::to_vec(&TokenResponse {
        access_token: &jwt,
        token_type: "Bearer",
        expires_in: TTL,
        scope: SCOPE,
    }) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    let mut response = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `application/x-www-form-urlencoded` pairs, percent- and plus-decoded.
fn form_urlencoded(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    body.split(|&b| b == b'&').filter_map(|pair| {
        let pair = std::str::from_utf8(pair).ok()?;
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        Some((decode(name)?, decode(value)?))
    })
}

fn decode(s: &str) -> Option<String> {
    let plus = s.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18090".into());
    let key_path = args
        .next()
        .unwrap_or_else(|| "keys/0000-dev-es256.pem".into());
    let pem_text = std::fs::read(&key_path).expect("read the key");
    let pem = pem::parse(pem_text).expect("a PEM key");
    let rng = SystemRandom::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pem.contents(), &rng)
        .expect("a PKCS#8 P-256 key");
    // A kid as long as an RFC 7638 thumbprint, so the tokens are as long as the service's.
    let kid = "b".repeat(43);
    let header = serde_json::json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"});
    let header_b64 = B64.encode(serde_json::to_vec(&header).expect("header"));
    let mut secret_sha256 = [0u8; 32];
    secret_sha256.copy_from_slice(
        ring::digest::digest(&ring::digest::SHA256, CLIENT_SECRET.as_bytes()).as_ref(),
    );
    let signer = Arc::new(Signer {
        key,
        rng,
        header_b64,
        secret_sha256,
    });
    let app = Router::new()
        .route("/token", post(token))
        .with_state(signer);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .expect("bind the address");
    axum::serve(listener, app).await.expect("serve");
}

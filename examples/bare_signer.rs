//! The ceiling `bench/run.sh` and `bench/profile.sh` measure token-service against: one axum
//! handler that does only what a client_credentials token needs, as cheaply as an honest
//! signer can, and nothing else: no logging, metrics, spans, store, deadline or connection
//! limits.
//!
//! What it still does, as the service does: reads the form (percent- and plus-decoded) and
//! refuses another grant or scope; reads HTTP Basic (each half form-decoded) and checks the
//! secret's SHA-256 against a precomputed one in constant time; signs an RFC 9068 JWT with
//! the service's claims for this client (`iss`, `sub`, `aud`, `client_id`, `scope`, `iat`,
//! `nbf`, `exp`, a fresh 128-bit `jti`) by an ES256 key pair parsed once. What it does not:
//! the header is encoded once at start-up, the claims and the response are written byte by
//! byte without serde, and the token is written, signed and answered in the one buffer that
//! becomes the response body, so a token costs one allocation of its own.
//!
//!   cargo run --release --example bare_signer -- 127.0.0.1:18090 keys/0000-dev-es256.pem
//!
//! The client is the dev config's `reporting-service`.

// A benchmark fixture fails at start-up by panicking, like a test.
#![allow(clippy::expect_used)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use subtle::ConstantTimeEq;

const CLIENT_ID: &str = "reporting-service";
const CLIENT_SECRET: &str = "reporting-secret-change-me";
const ISSUER: &str = "http://localhost:8080";
const AUDIENCE: &str = "https://reports.example.com";
const SCOPE: &str = "reports:read";
const TTL: u64 = 900;
/// The service's limit on a request body.
const BODY_LIMIT: usize = 64 * 1024;
/// Room for the decoded `id:secret` of HTTP Basic; a longer one is refused.
const BASIC_MAX: usize = 256;

struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    header_b64: String,
    secret_sha256: [u8; 32],
}

fn error(status: StatusCode, code: &'static str) -> Response {
    let mut response = Response::new(Body::from(format!("{{\"error\":\"{code}\"}}")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Whether the `application/x-www-form-urlencoded` component `encoded` decodes to `expected`.
fn form_eq(encoded: &[u8], expected: &str) -> bool {
    let plus = encoded.iter().map(|&b| if b == b'+' { b' ' } else { b });
    let mut decoded = percent_decode(plus);
    let mut expected = expected.bytes();
    loop {
        match (decoded.next(), expected.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// Percent-decodes a byte stream (RFC 3986 §2.1); a `%` without two hex digits stays as is.
fn percent_decode(mut bytes: impl Iterator<Item = u8> + Clone) -> impl Iterator<Item = u8> {
    std::iter::from_fn(move || {
        let byte = bytes.next()?;
        if byte != b'%' {
            return Some(byte);
        }
        let mut ahead = bytes.clone();
        let hex = |b: Option<u8>| (b? as char).to_digit(16);
        match (hex(ahead.next()), hex(ahead.next())) {
            (Some(high), Some(low)) => {
                bytes = ahead;
                u8::try_from(high * 16 + low).ok()
            }
            _ => Some(byte),
        }
    })
}

/// Form-decodes `encoded` into `out`; the decoded length, or `None` if it does not fit.
fn form_decode_into(encoded: &[u8], out: &mut [u8]) -> Option<usize> {
    let plus = encoded.iter().map(|&b| if b == b'+' { b' ' } else { b });
    let mut len = 0;
    for byte in percent_decode(plus) {
        *out.get_mut(len)? = byte;
        len += 1;
    }
    Some(len)
}

/// Whether HTTP Basic names the client and its secret: each half form-decoded, the secret
/// compared by its SHA-256 in constant time.
fn authenticated(signer: &Signer, authorization: Option<&HeaderValue>) -> bool {
    let Some((scheme, encoded)) = authorization.and_then(|v| v.as_bytes().split_at_checked(6))
    else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case(b"basic ") {
        return false;
    }
    let mut decoded = [0u8; BASIC_MAX];
    let Ok(len) = STANDARD.decode_slice(encoded.trim_ascii(), &mut decoded) else {
        return false;
    };
    let decoded = &decoded[..len];
    let Some(colon) = decoded.iter().position(|&b| b == b':') else {
        return false;
    };
    let (id, secret) = (&decoded[..colon], &decoded[colon + 1..]);
    let mut plain = [0u8; BASIC_MAX];
    let Some(secret_len) = form_decode_into(secret, &mut plain) else {
        return false;
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, &plain[..secret_len]);
    let secret_ok = bool::from(digest.as_ref().ct_eq(&signer.secret_sha256));
    form_eq(id, CLIENT_ID) & secret_ok
}

fn push_u64(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

/// Appends base64url (no padding) of `bytes`.
fn push_b64(out: &mut Vec<u8>, bytes: &[u8]) {
    let start = out.len();
    out.resize(start + bytes.len().div_ceil(3) * 4, 0);
    let written = B64.encode_slice(bytes, &mut out[start..]).unwrap_or(0);
    out.truncate(start + written);
}

async fn token(State(signer): State<Arc<Signer>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, BODY_LIMIT).await else {
        return error(StatusCode::BAD_REQUEST, "invalid_request");
    };
    let mut client_credentials = false;
    for pair in body.split(|&b| b == b'&') {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &[][..]),
        };
        if form_eq(name, "grant_type") {
            client_credentials = form_eq(value, "client_credentials");
        } else if form_eq(name, "scope") && !value.is_empty() && !form_eq(value, SCOPE) {
            return error(StatusCode::BAD_REQUEST, "invalid_scope");
        }
    }
    if !client_credentials {
        return error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if !authenticated(&signer, parts.headers.get(header::AUTHORIZATION)) {
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

    let mut claims = Vec::with_capacity(256);
    claims.extend_from_slice(b"{\"iss\":\"");
    claims.extend_from_slice(ISSUER.as_bytes());
    claims.extend_from_slice(b"\",\"sub\":\"");
    claims.extend_from_slice(CLIENT_ID.as_bytes());
    claims.extend_from_slice(b"\",\"aud\":\"");
    claims.extend_from_slice(AUDIENCE.as_bytes());
    claims.extend_from_slice(b"\",\"client_id\":\"");
    claims.extend_from_slice(CLIENT_ID.as_bytes());
    claims.extend_from_slice(b"\",\"scope\":\"");
    claims.extend_from_slice(SCOPE.as_bytes());
    claims.extend_from_slice(b"\",\"iat\":");
    push_u64(&mut claims, now);
    claims.extend_from_slice(b",\"nbf\":");
    push_u64(&mut claims, now);
    claims.extend_from_slice(b",\"exp\":");
    push_u64(&mut claims, now + TTL);
    claims.extend_from_slice(b",\"jti\":\"");
    push_b64(&mut claims, &jti);
    claims.extend_from_slice(b"\"}");

    // The response body, with the token written and signed in place.
    const PREFIX: &[u8] = b"{\"access_token\":\"";
    let mut out =
        Vec::with_capacity(PREFIX.len() + signer.header_b64.len() + claims.len() * 2 + 256);
    out.extend_from_slice(PREFIX);
    out.extend_from_slice(signer.header_b64.as_bytes());
    out.push(b'.');
    push_b64(&mut out, &claims);
    let Ok(signature) = signer.key.sign(&signer.rng, &out[PREFIX.len()..]) else {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "server_error");
    };
    out.push(b'.');
    push_b64(&mut out, signature.as_ref());
    out.extend_from_slice(b"\",\"token_type\":\"Bearer\",\"expires_in\":");
    push_u64(&mut out, TTL);
    out.extend_from_slice(b",\"scope\":\"");
    out.extend_from_slice(SCOPE.as_bytes());
    out.extend_from_slice(b"\"}");

    let mut response = Response::new(Body::from(out));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
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

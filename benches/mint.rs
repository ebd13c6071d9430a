//! Access-token minting cost: the service's path (a key pair parsed once at start-up, signed
//! with ring) against jsonwebtoken's `encode`, which parses the PEM key on every call.
//! Run with `cargo bench --bench mint`; compare the two in one run (the machine is shared).

// A benchmark fails by panicking, like a test.
#![allow(clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use token_service::keys::SigningKey;

fn claims() -> serde_json::Value {
    json!({
        "iss": "http://localhost:8080",
        "sub": "3f0c2d6e-5b1a-4c8e-9f27-6a1d0b4e8c13",
        "aud": "https://api.example.com",
        "client_id": "BA779C49-4D93-4785-9596-25805A24C5DC",
        "scope": "read write",
        "iat": 1_800_000_000u64,
        "nbf": 1_800_000_000u64,
        "exp": 1_800_000_900u64,
        "jti": "mkGoH0HBs2_YMCUUifMc3g",
        "auth_time": 1_800_000_000u64,
        "name": "John Smith",
    })
}

fn es256(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("keys/0000-dev-es256.pem");
    let pem = std::fs::read(&path).expect("the dev key");
    let key = SigningKey::from_pem(&path, &pem).expect("an ES256 key");
    let rng = ring::rand::SystemRandom::new();
    let claims = claims();
    let mut group = c.benchmark_group("es256_mint");
    group.bench_function("parsed_once_ring", |b| {
        b.iter(|| key.sign(&rng, black_box(&claims)).expect("signs"))
    });
    let header = {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        h.typ = Some("at+jwt".into());
        h.kid = Some(key.kid.clone());
        h
    };
    group.bench_function("jsonwebtoken_encode_from_pem", |b| {
        b.iter(|| {
            let encoding = jsonwebtoken::EncodingKey::from_ec_pem(&pem).expect("PEM");
            jsonwebtoken::encode(&header, black_box(&claims), &encoding).expect("signs")
        })
    });
    group.finish();
}

criterion_group!(benches, es256);
criterion_main!(benches);

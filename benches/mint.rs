//! Access-token minting cost: the service's path (a key pair parsed once at start-up, signed
//! with ring) against jsonwebtoken's `encode`, which parses the PEM key on every call.
//! Beside it, what a DPoP proof adds (BENCHMARKS.md, "DPoP-bound tokens"): ring checking a
//! signature against making one, for P-256 and Ed25519.
//! Run with `cargo bench --bench mint`; compare within one run (the machine is shared).

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

/// Signing a token-sized message against checking a signature of it, with one key of each
/// algorithm a DPoP proof may use most often.
fn sign_against_check(c: &mut Criterion) {
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
        Ed25519KeyPair, KeyPair, UnparsedPublicKey,
    };
    let rng = ring::rand::SystemRandom::new();
    let message = serde_json::to_vec(&claims()).expect("claims");

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let p256 = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("key");
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, p256.public_key().as_ref());
    let sign = |m: &[u8]| p256.sign(&rng, m).expect("signs");
    group_sign_and_check(c, "p256", &message, sign, |m, s| {
        public.verify(m, s).is_ok()
    });

    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
    let ed25519 = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    let public = UnparsedPublicKey::new(&ED25519, ed25519.public_key().as_ref());
    let sign = |m: &[u8]| ed25519.sign(m);
    group_sign_and_check(c, "ed25519", &message, sign, |m, s| {
        public.verify(m, s).is_ok()
    });
}

/// One group of two: `sign` making a signature of `message`, and `check` checking one.
fn group_sign_and_check<S: AsRef<[u8]>>(
    c: &mut Criterion,
    name: &str,
    message: &[u8],
    sign: impl Fn(&[u8]) -> S,
    check: impl Fn(&[u8], &[u8]) -> bool,
) {
    let signature = sign(message);
    assert!(
        check(message, signature.as_ref()),
        "{name}: the signature checks"
    );
    let mut group = c.benchmark_group(name);
    group.bench_function("sign", |b| b.iter(|| sign(black_box(message))));
    group.bench_function("check", |b| {
        b.iter(|| check(black_box(message), signature.as_ref()))
    });
    group.finish();
}

/// A DPoP proof's whole check (`dpop::check`: decoding, its header's key, the signature, the
/// thumbprint, the claims) against the check of its signature alone: what the proof's handling
/// adds beyond the one signature check.
fn dpop_proof(c: &mut Criterion) {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
    use ring::signature::{
        ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
        UnparsedPublicKey,
    };
    use token_service::dpop::{self, Expected};
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .expect("key");
    let point = pair.public_key().as_ref();
    // As a client library writes it (PyJWT's member order).
    let header = json!({"alg": "ES256", "jwk": {"crv": "P-256", "kty": "EC",
        "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])}, "typ": "dpop+jwt"});
    let now = 1_800_000_000u64;
    let url = "http://localhost:8080/token";
    let claims = json!({"htm": "POST", "htu": url, "iat": now,
        "jti": "0d4c5b1e2a7f4c3e9b8a6d5f4e3c2b1a"});
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let signature = pair.sign(&rng, input.as_bytes()).expect("signs");
    let proof = format!("{input}.{}", B64.encode(signature.as_ref()));
    let expected = Expected {
        method: "POST",
        url,
        access_token: None,
    };
    assert!(
        dpop::check(&proof, &expected, now).is_ok(),
        "the proof checks"
    );
    let public = UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point);
    let mut group = c.benchmark_group("dpop_proof");
    group.bench_function("whole_check", |b| {
        b.iter(|| dpop::check(black_box(&proof), &expected, now))
    });
    group.bench_function("signature_alone", |b| {
        b.iter(|| public.verify(black_box(input.as_bytes()), signature.as_ref()))
    });
    group.finish();
}

criterion_group!(benches, es256, sign_against_check, dpop_proof);
criterion_main!(benches);

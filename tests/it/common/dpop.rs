//! DPoP proofs as a client makes them (RFC 9449 §4): a key pair made in the test, its public
//! JWK and RFC 7638 thumbprint, and proofs signed with it, good or bent on purpose.

use axum::body::Body;
use axum::http::header;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use super::{TestApp, TestResponse, request};

pub const TOKEN_URL: &str = "http://localhost:8080/token";
pub const USERINFO_URL: &str = "http://localhost:8080/userinfo";
pub const PAR_URL: &str = "http://localhost:8080/par";

enum Pair {
    Es256(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

/// A client's DPoP key.
pub struct DpopKey {
    pair: Pair,
    pub jwk: Value,
}

impl DpopKey {
    pub fn es256() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let point = pair.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]),
            "y": B64.encode(&point[33..65])});
        DpopKey {
            pair: Pair::Es256(pair),
            jwk,
        }
    }

    pub fn ed25519() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(pair.public_key())});
        DpopKey {
            pair: Pair::Ed25519(pair),
            jwk,
        }
    }

    fn alg(&self) -> &'static str {
        match self.pair {
            Pair::Es256(_) => "ES256",
            Pair::Ed25519(_) => "EdDSA",
        }
    }

    /// RFC 7638 §3: SHA-256 of the required members, in lexicographic order.
    pub fn jkt(&self) -> String {
        let canonical = match self.pair {
            Pair::Es256(_) => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                self.jwk["x"].as_str().unwrap(),
                self.jwk["y"].as_str().unwrap()
            ),
            Pair::Ed25519(_) => format!(
                r#"{{"crv":"Ed25519","kty":"OKP","x":"{}"}}"#,
                self.jwk["x"].as_str().unwrap()
            ),
        };
        B64.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    /// The header of a good proof.
    pub fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk})
    }

    /// A good proof for `htm` `htu` at `iat`, with a fresh random `jti`.
    pub fn proof(&self, htm: &str, htu: &str, iat: u64) -> String {
        self.sign(&self.header(), &claims(htm, htu, iat))
    }

    /// A proof of any header and claims, signed with this key.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            B64.encode(header.to_string()),
            B64.encode(claims.to_string())
        );
        let signature = match &self.pair {
            Pair::Es256(pair) => pair
                .sign(&SystemRandom::new(), input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            Pair::Ed25519(pair) => pair.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", B64.encode(signature))
    }
}

/// The claims of a good proof, with a fresh random `jti`.
pub fn claims(htm: &str, htu: &str, iat: u64) -> Value {
    json!({"jti": jti(), "htm": htm, "htu": htu, "iat": iat})
}

pub fn jti() -> String {
    let mut bytes = [0u8; 16];
    SystemRandom::new().fill(&mut bytes).unwrap();
    B64.encode(bytes)
}

/// `ath` of an access token (RFC 9449 §4.2).
pub fn ath(token: &str) -> String {
    B64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        token.as_bytes(),
    ))
}

/// POSTs a JSON token request with each of `proofs` as a `DPoP` header.
pub async fn token(app: &TestApp, body: &Value, proofs: &[&str]) -> TestResponse {
    post_json_with_proofs(app, "/token", body, proofs).await
}

/// POSTs a JSON body to `uri` with each of `proofs` as a `DPoP` header.
pub async fn post_json_with_proofs(
    app: &TestApp,
    uri: &str,
    body: &Value,
    proofs: &[&str],
) -> TestResponse {
    let mut builder = request("POST", uri).header(header::CONTENT_TYPE, "application/json");
    for proof in proofs {
        builder = builder.header("dpop", *proof);
    }
    app.request(builder.body(Body::from(body.to_string())).unwrap())
        .await
}

/// `GET /userinfo` with `authorization` and, if given, a `DPoP` header.
pub async fn userinfo(app: &TestApp, authorization: &str, proof: Option<&str>) -> TestResponse {
    let mut builder = request("GET", "/userinfo").header(header::AUTHORIZATION, authorization);
    if let Some(proof) = proof {
        builder = builder.header("dpop", proof);
    }
    app.request(builder.body(Body::empty()).unwrap()).await
}

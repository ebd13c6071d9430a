//! Clients' key pairs for the tests of `private_key_jwt` (README, "Client authentication"):
//! made here (ES256, Ed25519) or read from tests/fixtures (RSA, which ring does not make),
//! with their public JWKs for the config file, and JWTs signed with them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{Value, json};

/// A client's key pair for `private_key_jwt`: how jsonwebtoken signs with it, and its public
/// JWK. (common::interop's `ClientKey` hands its private half to another process instead.)
pub struct KeyPair {
    pub alg: Algorithm,
    pub kid: Option<&'static str>,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

impl KeyPair {
    pub fn es256(kid: &'static str) -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
        let point = pair.public_key().as_ref();
        KeyPair {
            alg: Algorithm::ES256,
            kid: Some(kid),
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            jwk: json!({"kty": "EC", "crv": "P-256", "kid": kid,
                "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])}),
        }
    }

    /// Without a `kid`: picked by its algorithm.
    pub fn ed25519() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        KeyPair {
            alg: Algorithm::EdDSA,
            kid: None,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            jwk: json!({"kty": "OKP", "crv": "Ed25519", "x": B64.encode(pair.public_key())}),
        }
    }

    /// The RSA test key of tests/fixtures (ring makes no RSA keys), for RS256 or PS256.
    pub fn rsa(alg: Algorithm, kid: &'static str) -> Self {
        let pem_text = std::fs::read(super::fixture("keys-rs256/2026-01-01-rs256.pem")).unwrap();
        let der = pem::parse(&pem_text).unwrap().into_contents();
        let pair = RsaKeyPair::from_pkcs8(&der).unwrap();
        let public = signature::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public());
        KeyPair {
            alg,
            kid: Some(kid),
            encoding: EncodingKey::from_rsa_pem(&pem_text).unwrap(),
            jwk: json!({"kty": "RSA", "kid": kid, "alg": format!("{alg:?}"),
                "n": B64.encode(&public.n), "e": B64.encode(&public.e)}),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = self.kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// `jwks = { keys = [...] }`, the config file's line for `keys`.
pub fn jwks_toml(keys: &[&KeyPair]) -> String {
    let keys: Vec<String> = keys.iter().map(|k| toml_table(&k.jwk)).collect();
    format!("jwks = {{ keys = [{}] }}", keys.join(", "))
}

/// A JSON object of strings as a TOML inline table.
fn toml_table(object: &Value) -> String {
    let members: Vec<String> = object
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect();
    format!("{{ {} }}", members.join(", "))
}

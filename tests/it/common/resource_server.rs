//! Verifies access tokens as a resource server would: fetch the JWKS over HTTP, pick the key
//! by `kid`, verify with jsonwebtoken. Never the service's in-memory key.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

/// Verifies `token` against the JWKS published at `base`, for `audience`; returns the header
/// `typ` and the claims. Panics with the reason if it does not verify.
pub async fn verify(base: &str, token: &str, audience: &str) -> (String, Value) {
    verify_from(base, token, audience, "http://localhost:8080").await
}

/// [`verify`] for a service whose issuer is `issuer`.
pub async fn verify_from(base: &str, token: &str, audience: &str, issuer: &str) -> (String, Value) {
    let jwks: JwkSet = super::http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    let kid = header.kid.clone().expect("kid in the header");
    let jwk = jwks.find(&kid).expect("the kid is published in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub", "aud"]);
    let data = match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(data) => data,
        Err(e) => panic!("the token does not verify against the JWKS: {e}"),
    };
    (header.typ.unwrap_or_default(), data.claims)
}

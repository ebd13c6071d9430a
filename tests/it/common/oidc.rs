//! OpenID Connect as a relying party checks it: ID tokens verified through the JWKS fetched
//! over HTTP with jsonwebtoken (never the service's in-memory key), `at_hash` recomputed here,
//! and the requests and redemptions the OIDC tests share.

use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};

use super::login::*;
use super::*;

pub const NONCE: &str = "n-0S6_WzA2Mj";

/// The example client asking for a code with `openid`, `profile`, `email` and a nonce.
pub fn oidc_code_request() -> Vec<(&'static str, &'static str)> {
    let mut pairs = code_request();
    pairs.push(("scope", "openid profile email read"));
    pairs.push(("nonce", NONCE));
    pairs
}

/// The example client asking for `response_type` in the fragment, with `openid` and a nonce.
pub fn oidc_implicit_request(response_type: &'static str) -> Vec<(&'static str, &'static str)> {
    let mut pairs = with(&oidc_code_request(), "response_type", response_type);
    pairs.retain(|(k, _)| *k != "scope");
    pairs.push(("scope", "openid profile"));
    pairs
}

/// The redirect for `request`: by the live session if the jar has one, else by signing in.
pub async fn authorize(app: &TestApp, jar: &mut Jar, request: &[(&str, &str)]) -> url::Url {
    let mut response = jar.get_page(app, &authorize_uri(request)).await;
    if response.status == StatusCode::OK {
        response = jar.sign_in(app, request, USERNAME, PASSWORD).await;
    }
    location(&response)
}

/// Redeems `code` for the example client; the token response, 200 asserted.
pub async fn redeem(app: &TestApp, code: &str) -> Value {
    let response = app
        .post_json(
            "/token",
            &json!({
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "code": code,
                "redirect_uri": CALLBACK,
            }),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

/// The tokens of the OIDC code flow for the example client, signing in with a fresh jar.
pub async fn oidc_code_tokens(app: &TestApp) -> Value {
    let mut jar = Jar::default();
    let url = authorize(app, &mut jar, &oidc_code_request()).await;
    redeem(app, &query(&url)["code"]).await
}

/// Verifies `id_token` as an OpenID Connect relying party (Core §3.1.3.7) against the JWKS
/// published at `base`: signature by the key its `kid` names, `typ` `JWT`, `iss`, `aud` the
/// client, `exp`, `iat`, `sub`. Returns the algorithm and the claims; panics with the reason.
pub async fn verify_id_token(base: &str, id_token: &str, client_id: &str) -> (Algorithm, Value) {
    let jwks: JwkSet = http()
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    let kid = header.kid.clone().expect("kid in the header");
    let jwk = jwks.find(&kid).expect("the kid is published in the JWKS");
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[client_id]);
    validation.set_issuer(&[ISSUER]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "sub", "aud"]);
    match jsonwebtoken::decode::<Value>(id_token, &key, &validation) {
        Ok(data) => (header.alg, data.claims),
        Err(e) => panic!("the ID token does not verify against the JWKS: {e}"),
    }
}

/// `at_hash` recomputed (OpenID Connect Core §3.1.3.6): the left half of the hash of the
/// access token, SHA-256 for ES256 and RS256, SHA-512 for EdDSA (Ed25519).
pub fn at_hash(alg: Algorithm, access_token: &str) -> String {
    let hash = match alg {
        Algorithm::EdDSA => &ring::digest::SHA512,
        _ => &ring::digest::SHA256,
    };
    let digest = ring::digest::digest(hash, access_token.as_bytes());
    B64.encode(&digest.as_ref()[..digest.as_ref().len() / 2])
}

/// The claims of a JWT, unverified (for tokens a test already verified, or means to forge).
pub fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(&B64.decode(payload).unwrap()).unwrap()
}

//! The JWKS (README, "Keys and secrets", RFC 7517, RFC 7638), the metadata documents (RFC 8414) and the health
//! endpoints (README, "Endpoints").

use axum::body::Body;
use axum::http::{StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::common::*;

const JWKS: &str = "/.well-known/jwks.json";

/// The RFC 7638 §3 thumbprint of a public JWK, from its required members only, in
/// lexicographic order, without whitespace.
fn thumbprint(jwk: &Value) -> String {
    let m = |name: &str| jwk[name].as_str().unwrap().to_owned();
    let canonical = match jwk["kty"].as_str().unwrap() {
        "EC" => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            m("crv"),
            m("x"),
            m("y")
        ),
        "OKP" => format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, m("crv"), m("x")),
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, m("e"), m("n")),
        other => panic!("unexpected kty {other}"),
    };
    B64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

#[tokio::test]
async fn jwks_is_cacheable_for_five_minutes_with_an_etag() {
    let app = TestApp::new();
    let response = app.get(JWKS).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(
        response.header("cache-control"),
        Some("public, max-age=300")
    );
    let etag = response.header("etag").unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
}

#[tokio::test]
async fn jwks_has_the_jwk_set_content_type() {
    let app = TestApp::new();
    let response = app.get(JWKS).await;
    assert_eq!(
        response.header("content-type"),
        Some("application/jwk-set+json")
    );
    assert!(response.json()["keys"].is_array());
}

#[tokio::test]
async fn jwks_with_a_matching_if_none_match_is_304() {
    let app = TestApp::new();
    let first = app.get(JWKS).await;
    let etag = first.header("etag").unwrap();
    let again = app
        .request(
            request("GET", JWKS)
                .header(header::IF_NONE_MATCH, etag)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.header("etag"), Some(etag));
    assert_eq!(again.header("cache-control"), Some("public, max-age=300"));
}

#[tokio::test]
async fn jwks_with_a_stale_if_none_match_is_200() {
    let app = TestApp::new();
    let response = app
        .request(
            request("GET", JWKS)
                .header(header::IF_NONE_MATCH, "\"stale\"")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(response.json()["keys"].is_array());
}

#[tokio::test]
async fn jwks_allows_any_origin() {
    let app = TestApp::new();
    let response = app
        .request(
            request("GET", JWKS)
                .header(header::ORIGIN, "https://anyone.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn every_kid_is_the_rfc_7638_thumbprint_of_its_jwk() {
    for keys in [
        "keys",
        "tests/fixtures/keys-eddsa",
        "tests/fixtures/keys-rs256",
        "tests/fixtures/keys-two",
    ] {
        let dir = repo_path(keys).display().to_string();
        let app = TestApp::with_vars(&[("TS_KEYS_DIR", &dir)]);
        let jwks = app.get(JWKS).await.json();
        let keys = jwks["keys"].as_array().unwrap();
        assert!(!keys.is_empty());
        for jwk in keys {
            assert_eq!(jwk["kid"].as_str().unwrap(), thumbprint(jwk), "{jwk}");
            assert_eq!(jwk["use"], "sig");
            for private in ["d", "p", "q", "dp", "dq", "qi"] {
                assert!(
                    jwk.get(private).is_none(),
                    "private member {private} in {jwk}"
                );
            }
        }
    }
}

#[tokio::test]
async fn jwks_names_the_algorithm_of_each_key() {
    for (keys, alg, kty) in [
        ("keys", "ES256", "EC"),
        ("tests/fixtures/keys-eddsa", "EdDSA", "OKP"),
        ("tests/fixtures/keys-rs256", "RS256", "RSA"),
    ] {
        let dir = repo_path(keys).display().to_string();
        let app = TestApp::with_vars(&[("TS_KEYS_DIR", &dir)]);
        let jwks = app.get(JWKS).await.json();
        assert_eq!(jwks["keys"][0]["alg"], alg, "{jwks}");
        assert_eq!(jwks["keys"][0]["kty"], kty, "{jwks}");
    }
}

#[tokio::test]
async fn both_metadata_urls_serve_the_same_document() {
    let app = TestApp::new();
    let oauth = app.get("/.well-known/oauth-authorization-server").await;
    let oidc = app.get("/.well-known/openid-configuration").await;
    assert_eq!(oauth.status, StatusCode::OK);
    assert_eq!(oidc.status, StatusCode::OK);
    assert_eq!(oauth.header("content-type"), Some("application/json"));
    assert_eq!(oauth.json(), oidc.json());
}

#[tokio::test]
async fn metadata_names_the_issuer_and_its_endpoints() {
    let app = TestApp::new();
    let doc = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    assert_eq!(doc["issuer"], "http://localhost:8080");
    assert_eq!(doc["token_endpoint"], "http://localhost:8080/token");
    assert_eq!(
        doc["authorization_endpoint"],
        "http://localhost:8080/authorize"
    );
    assert_eq!(
        doc["jwks_uri"],
        "http://localhost:8080/.well-known/jwks.json"
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(
        doc["access_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let grants = doc["grant_types_supported"].as_array().unwrap();
    for grant in [
        "authorization_code",
        "password",
        "client_credentials",
        "refresh_token",
    ] {
        assert!(grants.contains(&json!(grant)), "{doc}");
    }
}

#[tokio::test]
async fn metadata_lists_private_key_jwt_and_its_algorithms_at_every_client_authenticated_endpoint()
{
    let app = TestApp::new();
    let doc = app
        .get("/.well-known/oauth-authorization-server")
        .await
        .json();
    let algs = json!(["ES256", "EdDSA", "PS256", "RS256"]);
    let all = json!([
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none"
    ]);
    for endpoint in ["token", "revocation"] {
        assert_eq!(
            doc[format!("{endpoint}_endpoint_auth_methods_supported")],
            all
        );
        assert_eq!(
            doc[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
            algs
        );
    }
    // Introspection is for confidential clients.
    assert_eq!(
        doc["introspection_endpoint_auth_methods_supported"],
        json!([
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt"
        ])
    );
    assert_eq!(
        doc["introspection_endpoint_auth_signing_alg_values_supported"],
        algs
    );
}

#[tokio::test]
async fn metadata_urls_follow_ts_issuer_without_a_trailing_slash() {
    let app = TestApp::with_vars(&[("TS_ISSUER", "https://auth.example.com/")]);
    let doc = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(doc["issuer"], "https://auth.example.com");
    assert_eq!(doc["token_endpoint"], "https://auth.example.com/token");
}

#[tokio::test]
async fn metadata_allows_any_origin() {
    let app = TestApp::new();
    let response = app
        .request(
            request("GET", "/.well-known/oauth-authorization-server")
                .header(header::ORIGIN, "https://anyone.example")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn healthz_is_200() {
    let app = TestApp::new();
    let response = app.get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_200_and_reports_the_memory_store() {
    let app = TestApp::new();
    let response = app.get("/readyz").await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.json()["store"], "memory");
}

#[tokio::test]
async fn openid_configuration_is_an_oidc_discovery_document() {
    let app = TestApp::new();
    let doc = app.get("/.well-known/openid-configuration").await.json();
    // OpenID Connect Discovery 1.0 §3: the required members, and the OpenID Connect section of README's.
    assert_eq!(doc["issuer"], "http://localhost:8080");
    assert_eq!(doc["userinfo_endpoint"], "http://localhost:8080/userinfo");
    assert_eq!(doc["end_session_endpoint"], "http://localhost:8080/logout");
    assert_eq!(doc["subject_types_supported"], json!(["public"]));
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
    let response_types = doc["response_types_supported"].as_array().unwrap();
    for response_type in ["code", "id_token", "id_token token"] {
        assert!(response_types.contains(&json!(response_type)), "{doc}");
    }
    let scopes = doc["scopes_supported"].as_array().unwrap();
    for scope in ["openid", "profile", "email"] {
        assert!(scopes.contains(&json!(scope)), "{doc}");
    }
    let claims = doc["claims_supported"].as_array().unwrap();
    for claim in ["sub", "iss", "auth_time", "nonce", "sid", "name", "email"] {
        assert!(claims.contains(&json!(claim)), "{doc}");
    }
    // Discovery §3 defaults request_uri_parameter_supported to true: say we don't.
    assert_eq!(doc["request_uri_parameter_supported"], false);
}

#[tokio::test]
async fn id_token_signing_algorithms_follow_the_keys() {
    let app = TestApp::with_vars(&[("TS_KEYS_DIR", &fixture("keys-eddsa"))]);
    let doc = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["EdDSA"])
    );
}

#[tokio::test]
async fn signing_algorithms_are_listed_once_each_when_key_types_alternate() {
    // RS256, ES256, RS256 by file name.
    let app = TestApp::with_vars(&[("TS_KEYS_DIR", &fixture("keys-alternating"))]);
    let doc = app.get("/.well-known/openid-configuration").await.json();
    assert_eq!(
        doc["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
}

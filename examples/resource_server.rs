//! A resource server that accepts token-service access tokens offline, as a production API
//! should (RFC 9068 §4, RFC 6750):
//! - the JWKS is fetched over HTTP and cached for its `max-age`; an unknown `kid` refetches it,
//!   at most once per `JWKS_MIN_REFETCH_SECS`, so forged kids cannot make it hammer the issuer;
//! - the algorithm comes from the key, never from the token; `typ` must be `at+jwt`; `crit` is
//!   refused; `iss`, `aud`, `exp` and `nbf` are checked with a small leeway; then the scope;
//! - failures answer 401 `WWW-Authenticate: Bearer error="invalid_token"` or 403
//!   `insufficient_scope`.
//!
//! ```sh
//! ISSUER=http://localhost:8080 AUDIENCE=https://api.example.com LISTEN=127.0.0.1:8090 \
//!   cargo run --example resource_server
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8090/reports   # scope read
//! ```

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Value, json};
use tokio::sync::RwLock;

/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;
/// The scope `/reports` needs.
const REQUIRED_SCOPE: &str = "read";

struct Config {
    issuer: String,
    audience: String,
    jwks_url: String,
    min_refetch: Duration,
}

/// The issuer's keys, by `kid`, with the algorithm each key is for.
struct Jwks {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fresh_until: Instant,
    fetched_at: Option<Instant>,
}

struct Api {
    config: Config,
    http: reqwest::Client,
    jwks: RwLock<Jwks>,
}

/// Why a request is refused (RFC 6750 §3.1).
enum Refusal {
    NoToken,
    InvalidToken(&'static str),
    InsufficientScope,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, challenge) = match self {
            Refusal::NoToken => (StatusCode::UNAUTHORIZED, r#"Bearer realm="api""#.to_owned()),
            Refusal::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(r#"Bearer realm="api", error="invalid_token", error_description="{why}""#),
            ),
            Refusal::InsufficientScope => (
                StatusCode::FORBIDDEN,
                format!(
                    r#"Bearer realm="api", error="insufficient_scope", scope="{REQUIRED_SCOPE}""#
                ),
            ),
        };
        let mut response = status.into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}

impl Api {
    /// The key for `kid`: from the cache while it is fresh; otherwise, or for a `kid` not yet
    /// seen, from a refetch, unless the last fetch was under `min_refetch` ago.
    async fn key(&self, kid: &str) -> Result<(DecodingKey, Algorithm), Refusal> {
        {
            let jwks = self.jwks.read().await;
            if let Some(key) = jwks.keys.get(kid)
                && Instant::now() < jwks.fresh_until
            {
                return Ok(key.clone());
            }
        }
        let mut jwks = self.jwks.write().await;
        let recently = jwks
            .fetched_at
            .is_some_and(|at| at.elapsed() < self.config.min_refetch);
        if !recently && let Ok(fetched) = self.fetch().await {
            *jwks = fetched;
        }
        // A stale key still verifies while the issuer cannot be reached.
        jwks.keys
            .get(kid)
            .cloned()
            .ok_or(Refusal::InvalidToken("unknown key"))
    }

    async fn fetch(&self) -> Result<Jwks, reqwest::Error> {
        let response = self.http.get(&self.config.jwks_url).send().await?;
        let max_age = response
            .headers()
            .get(header::CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').find_map(|d| d.trim().strip_prefix("max-age=")))
            .and_then(|s| s.parse().ok())
            .unwrap_or(300);
        let set: JwkSet = response.error_for_status()?.json().await?;
        let keys = set
            .keys
            .iter()
            .filter_map(|jwk| {
                let kid = jwk.common.key_id.clone()?;
                Some((kid, (DecodingKey::from_jwk(jwk).ok()?, algorithm_of(jwk)?)))
            })
            .collect();
        Ok(Jwks {
            keys,
            fresh_until: Instant::now() + Duration::from_secs(max_age),
            fetched_at: Some(Instant::now()),
        })
    }

    /// Verifies a bearer token and returns its claims.
    async fn verify(&self, token: &str) -> Result<Value, Refusal> {
        let header = protected_header(token).ok_or(Refusal::InvalidToken("malformed"))?;
        let typ = header["typ"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if typ != "at+jwt" && typ != "application/at+jwt" {
            return Err(Refusal::InvalidToken("not an access token"));
        }
        if header.get("crit").is_some() {
            return Err(Refusal::InvalidToken("unsupported critical header"));
        }
        let kid = header["kid"]
            .as_str()
            .ok_or(Refusal::InvalidToken("no kid"))?;
        let (key, algorithm) = self.key(kid).await?;
        // The key's algorithm, not the token's: jsonwebtoken refuses any other `alg`.
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        let data = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|_| Refusal::InvalidToken("the token does not verify"))?;
        Ok(data.claims)
    }
}

/// The JWS protected header, decoded by hand: jsonwebtoken does not expose `crit`.
fn protected_header(token: &str) -> Option<Value> {
    let encoded = token.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(encoded).ok()?).ok()
}

/// The algorithm a key is for: its `alg` member, or what its type allows.
fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return alg.to_string().parse().ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Some(Algorithm::ES256)
        }
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        _ => None,
    }
}

async fn reports(State(api): State<Arc<Api>>, headers: HeaderMap) -> Result<Response, Refusal> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(Refusal::NoToken)?;
    let claims = api.verify(token.trim()).await?;
    let scopes = claims["scope"].as_str().unwrap_or_default();
    if !scopes.split(' ').any(|s| s == REQUIRED_SCOPE) {
        return Err(Refusal::InsufficientScope);
    }
    let body = json!({"sub": claims["sub"], "client_id": claims["client_id"], "reports": []});
    Ok(axum::Json(body).into_response())
}

fn env(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let issuer = env("ISSUER", "http://localhost:8080");
    let config = Config {
        jwks_url: env("JWKS_URL", &format!("{issuer}/.well-known/jwks.json")),
        audience: env("AUDIENCE", "https://api.example.com"),
        min_refetch: Duration::from_secs(env("JWKS_MIN_REFETCH_SECS", "5").parse()?),
        issuer,
    };
    let api = Arc::new(Api {
        config,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?,
        jwks: RwLock::new(Jwks {
            keys: HashMap::new(),
            fresh_until: Instant::now(),
            fetched_at: None,
        }),
    });
    let app = Router::new()
        .route("/reports", get(reports))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind(env("LISTEN", "127.0.0.1:8090")).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

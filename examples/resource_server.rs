//! A resource server that accepts token-service access tokens offline, as a production API
//! should (RFC 9068 §4, RFC 6750):
//! - the JWKS is fetched over HTTP and cached for its `max-age`; an unknown `kid` refetches it,
//!   at most once per `JWKS_MIN_REFETCH_SECS`, so forged kids cannot make it hammer the issuer;
//! - the algorithm comes from the key, never from the token; `typ` must be `at+jwt`; `crit` is
//!   refused; `iss`, `aud`, `exp` and `nbf` are checked with a small leeway; then the scope;
//! - a DPoP-bound token (one with `cnf.jkt`) comes only as `Authorization: DPoP` with a
//!   proof (RFC 9449 §7): `typ` `dpop+jwt`, an asymmetric `alg`, a public `jwk` whose RFC 7638
//!   thumbprint is the token's `cnf.jkt` and that signed it, `htm` and `htu` of this request,
//!   `iat` within 60 s, `ath` the token's hash, and a `jti` not seen within its window; sent
//!   as Bearer it is refused, and a token without `cnf` is Bearer only;
//! - failures answer 401 `WWW-Authenticate: Bearer error="invalid_token"` (or `DPoP
//!   error="invalid_token"` / `"invalid_dpop_proof"` for DPoP) or 403 `insufficient_scope`.
//!
//! ```sh
//! ISSUER=http://localhost:8080 AUDIENCE=https://api.example.com LISTEN=127.0.0.1:8090 \
//!   PUBLIC_URL=http://127.0.0.1:8090 cargo run --example resource_server
//! curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8090/reports   # scope read
//! curl -H "Authorization: DPoP $ACCESS_TOKEN" -H "DPoP: $PROOF" http://127.0.0.1:8090/reports
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
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
/// How far a DPoP proof's `iat` may be from now, either way (RFC 9449 §11.1).
const PROOF_WINDOW_SECS: u64 = 60;
/// The algorithms DPoP proofs may use: asymmetric only (RFC 9449 §4.3 point 5).
const PROOF_ALGS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::RS256,
];

struct Config {
    issuer: String,
    audience: String,
    jwks_url: String,
    min_refetch: Duration,
    /// This server's URL as clients reach it: the base of a proof's `htu`.
    public_url: String,
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
    /// The `jkt.jti` of each proof accepted, until its `iat` leaves the window (Unix seconds).
    seen_proofs: Mutex<HashMap<String, u64>>,
}

/// Why a request is refused (RFC 6750 §3.1, RFC 9449 §7.1).
enum Refusal {
    NoToken,
    InvalidToken(&'static str),
    /// A request of the DPoP scheme, or with a DPoP-bound token, whose token is refused.
    InvalidDpopToken(&'static str),
    InvalidProof(&'static str),
    InsufficientScope,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let no_token = matches!(self, Refusal::NoToken);
        let (status, challenge) = match self {
            Refusal::NoToken => (StatusCode::UNAUTHORIZED, r#"Bearer realm="api""#.to_owned()),
            Refusal::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(r#"Bearer realm="api", error="invalid_token", error_description="{why}""#),
            ),
            Refusal::InvalidDpopToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(r#"DPoP realm="api", error="invalid_token", error_description="{why}""#),
            ),
            Refusal::InvalidProof(why) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    r#"DPoP realm="api", error="invalid_dpop_proof", error_description="{why}""#
                ),
            ),
            Refusal::InsufficientScope => (
                StatusCode::FORBIDDEN,
                format!(
                    r#"Bearer realm="api", error="insufficient_scope", scope="{REQUIRED_SCOPE}""#
                ),
            ),
        };
        let mut response = status.into_response();
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        // Either scheme will do: a challenge for each (RFC 9449 §7.1).
        if no_token {
            let dpop = r#"DPoP realm="api", algs="ES256 EdDSA PS256 RS256""#;
            headers.append(header::WWW_AUTHENTICATE, HeaderValue::from_static(dpop));
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

impl Api {
    /// Checks the DPoP proof of a request with a token bound to `jkt` (RFC 9449 §4.3, §7.1).
    fn check_proof(
        &self,
        headers: &HeaderMap,
        method: &str,
        path: &str,
        token: &str,
        jkt: &str,
        now: u64,
    ) -> Result<(), Refusal> {
        let mut proofs = headers.get_all("dpop").iter();
        let proof = match (proofs.next(), proofs.next()) {
            (Some(proof), None) => proof.to_str().ok(),
            _ => None,
        }
        .ok_or(Refusal::InvalidProof("one DPoP header is required"))?;
        let bad = Refusal::InvalidProof;
        let raw = protected_header(proof).ok_or(bad("malformed"))?;
        let header = jsonwebtoken::decode_header(proof).map_err(|_| bad("malformed"))?;
        if !header
            .typ
            .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"))
        {
            return Err(bad("typ is not dpop+jwt"));
        }
        if !PROOF_ALGS.contains(&header.alg) || raw.get("crit").is_some() {
            return Err(bad("unsupported alg or critical header"));
        }
        let jwk = header.jwk.as_ref().ok_or(bad("no jwk"))?;
        let private = ["d", "p", "q", "dp", "dq", "qi", "k", "oth"];
        if private.iter().any(|m| raw["jwk"].get(m).is_some()) {
            return Err(bad("the jwk has private members"));
        }
        if thumbprint(&raw["jwk"]).as_deref() != Some(jkt) {
            return Err(bad("not the key the token is bound to"));
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|_| bad("unsupported jwk"))?;
        // The key's type must fit the header's alg, or jsonwebtoken refuses it.
        let mut validation = Validation::new(header.alg);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let claims = jsonwebtoken::decode::<Value>(proof, &key, &validation)
            .map_err(|_| bad("the signature does not verify"))?
            .claims;
        let jti = claims["jti"].as_str().filter(|j| !j.is_empty());
        let jti = jti.ok_or(bad("no jti"))?;
        if claims["htm"].as_str() != Some(method) {
            return Err(bad("htm is not this request's method"));
        }
        let endpoint = format!("{}{path}", self.config.public_url);
        if !claims["htu"]
            .as_str()
            .is_some_and(|htu| same_url(htu, &endpoint))
        {
            return Err(bad("htu is not this URL"));
        }
        let iat = claims["iat"].as_u64().ok_or(bad("no iat"))?;
        if iat.abs_diff(now) > PROOF_WINDOW_SECS {
            return Err(bad("iat is not within 60 seconds of now"));
        }
        let hash = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
        if claims["ath"].as_str() != Some(URL_SAFE_NO_PAD.encode(hash).as_str()) {
            return Err(bad("ath is not the hash of the access token"));
        }
        // RFC 9449 §11.1: a `jti` once per key while its `iat` is acceptable.
        let mut seen = self
            .seen_proofs
            .lock()
            .map_err(|_| bad("replay cache unavailable"))?;
        seen.retain(|_, until| *until >= now);
        let until = iat + PROOF_WINDOW_SECS;
        if seen.insert(format!("{jkt}.{jti}"), until).is_some() {
            return Err(bad("the proof was used before"));
        }
        Ok(())
    }
}

/// RFC 7638: base64url SHA-256 of the JWK's required members, in lexicographic order.
fn thumbprint(jwk: &Value) -> Option<String> {
    let members: &[&str] = match jwk["kty"].as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = serde_json::Map::new();
    for name in members {
        canonical.insert(
            (*name).to_owned(),
            Value::String(jwk[name].as_str()?.to_owned()),
        );
    }
    // Inserted in lexicographic order, so written so whether or not the map keeps order.
    let bytes = serde_json::to_vec(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(ring::digest::digest(&ring::digest::SHA256, &bytes)))
}

/// RFC 9449 §4.3 point 9: the URL without query and fragment, normalized by parsing.
fn same_url(htu: &str, endpoint: &str) -> bool {
    let bare = |text: &str| {
        let mut url = url::Url::parse(text).ok()?;
        url.set_query(None);
        url.set_fragment(None);
        Some(url)
    };
    matches!((bare(htu), bare(endpoint)), (Some(a), Some(b)) if a == b)
}

/// The example's one reader of the clock, once per request (a program of its own, without the
/// service's `Clock`).
#[allow(clippy::disallowed_methods)]
fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::NoToken)?;
    let (dpop, token) = match authorization.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("Bearer") => (false, token.trim()),
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("DPoP") => (true, token.trim()),
        _ => return Err(Refusal::NoToken),
    };
    let claims = api.verify(token).await.map_err(|refusal| match refusal {
        Refusal::InvalidToken(why) if dpop => Refusal::InvalidDpopToken(why),
        other => other,
    })?;
    // RFC 9449 §7.1: a bound token only with a proof of its key, never as Bearer; the DPoP
    // scheme only with a bound token.
    match (dpop, claims["cnf"]["jkt"].as_str()) {
        (false, None) => {}
        (false, Some(_)) => return Err(Refusal::InvalidToken("the token is DPoP-bound")),
        (true, None) => return Err(Refusal::InvalidDpopToken("the token is not DPoP-bound")),
        (true, Some(jkt)) => {
            api.check_proof(&headers, "GET", "/reports", token, jkt, unix_now())?
        }
    }
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
    let listen = env("LISTEN", "127.0.0.1:8090");
    let config = Config {
        public_url: env("PUBLIC_URL", &format!("http://{listen}")),
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
        seen_proofs: Mutex::new(HashMap::new()),
    });
    let app = Router::new()
        .route("/reports", get(reports))
        .route("/healthz", get(|| async { "ok" }))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    println!("listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

//! oauth4webapi, an OpenID-certified FAPI 2.0 client library (on Node.js), runs the
//! authorization code flow against the service as a relying party would: discovery, the
//! authorization request (pushed first when asked: RFC 9126), the login page in headless
//! Chromium, the code redeemed with PKCE (RFC 7636) and the client's authentication (a secret
//! over HTTP Basic, or `private_key_jwt`: RFC 7523), DPoP proofs when asked (RFC 9449), the ID
//! token validated as the library does, a refresh, and /userinfo. The resource server's view
//! of every access token is checked here, through the JWKS.
//!
//! The driver is tests/interop/oauth4webapi/flow.mjs; it needs Node.js 18 or later and
//! `npm ci --prefix tests/interop/oauth4webapi` (`.ci/run` does both). Without them the tests
//! fail and say so.

use serde_json::Value;
use url::Url;

use crate::common::browser::{Browser, ONE_BROWSER};
use crate::common::interop::{
    ClientKey, ClientProcess, ClientSecret, Outcome, credentials_settings, credentials_toml,
    scope_set, serve,
};
use crate::common::*;

const CLIENT: &str = "interop-app";
const SCOPE: &str = "openid profile email read";
const AUDIENCE: &str = "https://api.example.com";
const INSTALL: &str =
    "install Node.js 18 or later (.ci/run installs Debian's nodejs when node is missing)";

/// How the client authenticates at the token endpoint (and /par).
#[derive(Clone, Copy, PartialEq)]
enum Auth {
    /// A secret over HTTP Basic (RFC 6749 §2.3.1); the client registers `secret_hash`.
    SecretBasic,
    /// `private_key_jwt` (RFC 7523 §2.2) by an ES256 key made per test; the client registers
    /// `token_endpoint_auth_method = "private_key_jwt"` and the public key in `jwks`.
    PrivateKeyJwt,
    /// A public client: neither secret nor keys.
    None,
}

/// What the client registers and the library uses: one setting per feature.
#[derive(Clone, Copy)]
struct Features {
    auth: Auth,
    /// RFC 9126: the library pushes its request; the client registers
    /// `require_pushed_authorization_requests = true`.
    par: bool,
    /// RFC 9449: DPoP proofs at /par, /token and /userinfo; the client registers
    /// `dpop_bound_access_tokens = true`.
    dpop: bool,
    /// `profile = "fapi2"` as well (with the three settings above it implies).
    fapi2: bool,
}

/// Today's flow: a secret, PKCE, Bearer tokens.
const BASELINE: Features = Features {
    auth: Auth::SecretBasic,
    par: false,
    dpop: false,
    fapi2: false,
};

/// The FAPI 2.0 Security Profile's client: PAR, PKCE, DPoP and private_key_jwt.
const FAPI2: Features = Features {
    auth: Auth::PrivateKeyJwt,
    par: true,
    dpop: true,
    fapi2: true,
};

/// One run of the flow.
struct Case {
    features: Features,
    /// The service demands its DPoP nonces (`TS_DPOP_NONCE=true`).
    dpop_nonce: bool,
    /// Refresh, and call /userinfo, with a second DPoP key.
    refresh_with_new_key: bool,
}

impl Case {
    fn of(features: Features) -> Self {
        Case {
            features,
            dpop_nonce: false,
            refresh_with_new_key: false,
        }
    }
}

/// What a run leaves for the assertions.
struct Run {
    outcome: Outcome,
    /// The URL the browser was sent to.
    authorize_url: Url,
    dpop_key: Option<ClientKey>,
    refresh_key: Option<ClientKey>,
}

/// The client's entry in the config file, for a server at `base`.
fn registration(
    base: &str,
    features: Features,
    key: Option<&ClientKey>,
    secret: Option<&ClientSecret>,
) -> String {
    let mut lines = vec![
        "[[clients]]".to_owned(),
        format!("id = \"{CLIENT}\""),
        "name = \"Interop app\"".to_owned(),
        format!("redirect_uris = [\"{base}/demo/callback\"]"),
        "grant_types = [\"authorization_code\", \"refresh_token\"]".to_owned(),
        "scopes = [\"read\"]".to_owned(),
        format!("audience = [\"{AUDIENCE}\"]"),
    ];
    lines.extend(credentials_toml(key, secret));
    if features.dpop {
        lines.push("dpop_bound_access_tokens = true".to_owned());
    }
    if features.par {
        lines.push("require_pushed_authorization_requests = true".to_owned());
    }
    if features.fapi2 {
        lines.push("profile = \"fapi2\"".to_owned());
    }
    lines.join("\n") + "\n"
}

/// Fails unless `npm ci` installed the oauth4webapi that package.json pins.
fn require_oauth4webapi() -> std::path::PathBuf {
    let dir = repo_path("tests/interop/oauth4webapi");
    let read = |path: &str| -> Option<Value> {
        let text = std::fs::read_to_string(dir.join(path)).ok()?;
        serde_json::from_str(&text).ok()
    };
    let pinned = read("package.json").unwrap()["dependencies"]["oauth4webapi"].clone();
    let Some(installed) = read("node_modules/oauth4webapi/package.json") else {
        panic!("oauth4webapi is not installed: run `npm ci --prefix tests/interop/oauth4webapi`");
    };
    assert_eq!(
        installed["version"], pinned,
        "node_modules holds another oauth4webapi than package.json pins: run `npm ci --prefix tests/interop/oauth4webapi`"
    );
    dir
}

/// Runs the flow: the service, the driver, and the browser in between.
async fn run(case: Case) -> Run {
    let dir = require_oauth4webapi();
    let features = case.features;
    let client_key = (features.auth == Auth::PrivateKeyJwt).then(ClientKey::generate);
    let secret = (features.auth == Auth::SecretBasic).then(ClientSecret::generate);
    let dpop_key = features.dpop.then(ClientKey::generate);
    let refresh_key = case.refresh_with_new_key.then(ClientKey::generate);
    let vars: &[(&str, &str)] = if case.dpop_nonce {
        &[("TS_DPOP_NONCE", "true")]
    } else {
        &[]
    };
    let server = serve(
        |base| registration(base, features, client_key.as_ref(), secret.as_ref()),
        vars,
    )
    .await;
    let callback = server.url("/demo/callback");

    let mut settings = vec![
        ("INTEROP_ISSUER", server.base.clone()),
        ("INTEROP_CLIENT_ID", CLIENT.to_owned()),
        ("INTEROP_REDIRECT_URI", callback.clone()),
        ("INTEROP_SCOPE", SCOPE.to_owned()),
        (
            "INTEROP_PAR",
            if features.par { "1" } else { "0" }.to_owned(),
        ),
    ];
    settings.extend(credentials_settings(client_key.as_ref(), secret.as_ref()));
    if let Some(key) = &dpop_key {
        settings.push(("INTEROP_DPOP_KEY", key.pkcs8_base64url()));
    }
    if let Some(key) = &refresh_key {
        settings.push(("INTEROP_REFRESH_DPOP_KEY", key.pkcs8_base64url()));
    }

    let _one = ONE_BROWSER.lock().await;
    let mut driver = ClientProcess::spawn("node", &["flow.mjs"], &dir, &settings, INSTALL);
    let first = driver.next_line().await;
    assert_eq!(first["event"], "authorize", "{first}");
    let authorize_url = Url::parse(first["url"].as_str().unwrap()).unwrap();

    let browser = Browser::start().await;
    browser.client.goto(authorize_url.as_str()).await.unwrap();
    browser.sign_in(USERNAME, PASSWORD).await;
    let back = browser.wait_for_url(&callback).await;
    browser.close().await;

    driver.send_line(back.as_str()).await;
    let result = driver.finish().await;
    Run {
        outcome: Outcome {
            server,
            result,
            audience: AUDIENCE,
        },
        authorize_url,
        dpop_key,
        refresh_key,
    }
}

impl Run {
    /// What every completed flow shows, whatever its features: the authorization response's
    /// `iss` (RFC 9207), the granted scope, the user's access and ID tokens, a rotated refresh
    /// token, and /userinfo answering for the user.
    async fn assert_completed(&self) {
        let done = self.outcome.done();
        assert_eq!(done["iss"], self.outcome.server.base.as_str());
        let expected_scope = scope_set(&Value::from(SCOPE));
        for token in ["token", "refresh"] {
            assert_eq!(scope_set(&done[token]["scope"]), expected_scope, "{token}");
            let claims = self.outcome.access_token_claims(token).await;
            assert_eq!(claims["sub"], SUBJECT, "{token}");
            assert_eq!(claims["client_id"], CLIENT, "{token}");
            assert_eq!(scope_set(&claims["scope"]), expected_scope, "{token}");
            assert!(claims["auth_time"].is_u64(), "{token}: {claims}");
        }
        assert_eq!(done["token"]["has_refresh_token"], true);
        assert_eq!(done["refresh"]["rotated"], true);

        let id = &done["token"]["id_token_claims"];
        assert_eq!(id["iss"], self.outcome.server.base.as_str());
        assert_eq!(id["aud"], CLIENT);
        assert_eq!(id["sub"], SUBJECT);
        assert!(
            id["nonce"].is_string(),
            "the library checked its nonce: {id}"
        );
        assert!(id["auth_time"].is_u64(), "{id}");
        assert_eq!(id["email"], "jsmith@example.com");
        assert_eq!(id["name"], "John Smith");
        let refreshed_id = &done["refresh"]["id_token_claims"];
        assert_eq!(refreshed_id["sub"], SUBJECT, "OIDC Core §12.2");
        assert_eq!(
            refreshed_id["auth_time"], id["auth_time"],
            "OIDC Core §12.2"
        );

        let userinfo = &done["userinfo"];
        assert_eq!(userinfo["sub"], SUBJECT);
        assert_eq!(userinfo["preferred_username"], USERNAME);
        assert_eq!(userinfo["email"], "jsmith@example.com");
        assert_eq!(userinfo["name"], "John Smith");
    }

    /// The access tokens are bound to the DPoP key(s): `token_type` DPoP and `cnf.jkt` the key's
    /// RFC 7638 thumbprint, as this test computes it and as the library does.
    async fn assert_dpop_bound(&self) {
        let done = self.outcome.done();
        let first = self.dpop_key.as_ref().expect("a DPoP key");
        let second = self.refresh_key.as_ref().unwrap_or(first);
        assert_eq!(done["dpop_jkt"], first.thumbprint());
        assert_eq!(done["refresh_dpop_jkt"], second.thumbprint());
        for (step, key) in [("token", first), ("refresh", second)] {
            self.outcome.assert_bound(step, key, "dpop").await;
        }
    }

    /// The library pushed its request (RFC 9126 §2.2) and the browser was sent with the
    /// `request_uri` alone (§4).
    fn assert_pushed(&self) {
        let par = &self.outcome.done()["par"];
        let request_uri = par["request_uri"].as_str().unwrap_or_default();
        assert!(
            request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
            "{par}"
        );
        assert_eq!(par["expires_in"], 60);
        let mut names: Vec<String> = self
            .authorize_url
            .query_pairs()
            .map(|(k, _)| k.into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["client_id", "request_uri"],
            "{}",
            self.authorize_url
        );
    }
}

#[tokio::test]
async fn oauth4webapi_runs_the_code_flow_with_pkce_and_a_secret_through_the_login_page() {
    let run = run(Case::of(BASELINE)).await;
    run.assert_completed().await;
    let done = run.outcome.done();
    assert_eq!(done["auth_method"], "client_secret_basic");
    for token in ["token", "refresh"] {
        assert_eq!(done[token]["token_type"], "bearer", "{token}");
        let claims = run.outcome.access_token_claims(token).await;
        assert!(
            claims.get("cnf").is_none(),
            "{token}: not sender-constrained"
        );
    }
    let query = crate::common::login::query(&run.authorize_url);
    assert_eq!(query["code_challenge_method"], "S256");
    assert!(done["par"].is_null());
}

#[tokio::test]
async fn oauth4webapi_pushes_its_request_and_the_login_page_takes_the_request_uri() {
    let run = run(Case::of(Features {
        par: true,
        ..BASELINE
    }))
    .await;
    run.assert_completed().await;
    run.assert_pushed();
}

#[tokio::test]
async fn oauth4webapi_gets_dpop_bound_tokens_refreshes_and_reads_userinfo_with_proofs() {
    let run = run(Case::of(Features {
        dpop: true,
        ..BASELINE
    }))
    .await;
    run.assert_completed().await;
    run.assert_dpop_bound().await;
}

#[tokio::test]
async fn oauth4webapi_authenticates_with_private_key_jwt() {
    let run = run(Case::of(Features {
        auth: Auth::PrivateKeyJwt,
        ..BASELINE
    }))
    .await;
    run.assert_completed().await;
    assert_eq!(run.outcome.done()["auth_method"], "private_key_jwt");
}

#[tokio::test]
async fn oauth4webapi_runs_the_fapi2_flow_par_login_pkce_dpop_private_key_jwt_refresh_userinfo() {
    let run = run(Case::of(FAPI2)).await;
    run.assert_completed().await;
    run.assert_pushed();
    run.assert_dpop_bound().await;
    assert_eq!(run.outcome.done()["auth_method"], "private_key_jwt");
    assert_eq!(
        run.outcome.done()["dpop_nonce_retries"],
        serde_json::json!({})
    );
}

#[tokio::test]
async fn oauth4webapi_learns_the_servers_dpop_nonce_once_and_completes_the_fapi2_flow() {
    let run = run(Case {
        dpop_nonce: true,
        ..Case::of(FAPI2)
    })
    .await;
    run.assert_completed().await;
    run.assert_dpop_bound().await;
    let retries = &run.outcome.done()["dpop_nonce_retries"];
    let total: u64 = retries
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(
        total, 1,
        "one use_dpop_nonce answer, then the nonce from DPoP-Nonce serves every endpoint: {retries}"
    );
}

#[tokio::test]
async fn a_public_clients_dpop_refresh_with_another_key_is_refused() {
    let run = run(Case {
        refresh_with_new_key: true,
        ..Case::of(Features {
            auth: Auth::None,
            dpop: true,
            ..BASELINE
        })
    })
    .await;
    let error = &run.outcome.result;
    assert_eq!(error["event"], "error", "{error}");
    assert_eq!(error["stage"], "refresh", "{error}");
    assert_eq!(error["status"], 400, "{error}");
    assert_eq!(error["error"], "invalid_grant", "{error}");
}

#[tokio::test]
async fn a_fapi2_clients_refresh_with_a_new_dpop_key_binds_the_new_access_token_to_it() {
    // RFC 9449 §5: a confidential client's refresh token is not bound to the DPoP key.
    let run = run(Case {
        refresh_with_new_key: true,
        ..Case::of(FAPI2)
    })
    .await;
    run.assert_completed().await;
    run.assert_dpop_bound().await;
}

//! A second client stack, in Python: authlib's OAuth 2.0 client asks for a client_credentials
//! token and refreshes it, authenticating with a secret over HTTP Basic or with authlib's
//! `private_key_jwt` (RFC 7523), with DPoP proofs made by PyJWT when asked (RFC 9449). The
//! resource server's view of every access token is checked here, through the JWKS.
//!
//! The client is tests/interop/python/client.py; it needs `python3` with authlib, PyJWT,
//! cryptography and requests on PATH (`.ci/run` installs them into its venv). Without them the
//! tests fail and say so.

use crate::common::interop::{
    ClientKey, ClientProcess, ClientSecret, Outcome, credentials_settings, credentials_toml,
    scope_set, serve,
};
use crate::common::*;

const CLIENT: &str = "interop-machine";
const SCOPE: &str = "reports:read";
const AUDIENCE: &str = "https://reports.example.com";
const INSTALL: &str = "needs python3 with authlib, PyJWT, cryptography and requests: .ci/run installs them into $HOME/.cache/token-service-ci/venv, whose bin/ goes first on PATH";

/// What the client registers and uses: one setting per feature.
#[derive(Clone, Copy)]
struct Features {
    /// RFC 7523 `private_key_jwt` by an ES256 key made per test (the client registers
    /// `token_endpoint_auth_method = "private_key_jwt"` and the key in `jwks`); else a secret
    /// over HTTP Basic (`secret_hash`).
    private_key_jwt: bool,
    /// RFC 9449: a DPoP proof with every token request; the client registers
    /// `dpop_bound_access_tokens = true`.
    dpop: bool,
}

const BASELINE: Features = Features {
    private_key_jwt: false,
    dpop: false,
};

/// One run of the client.
struct Case {
    features: Features,
    /// The service demands its DPoP nonces (`TS_DPOP_NONCE=true`).
    dpop_nonce: bool,
    /// The client sends its first DPoP proof a second time.
    replay_proof: bool,
}

impl Case {
    fn of(features: Features) -> Self {
        Case {
            features,
            dpop_nonce: false,
            replay_proof: false,
        }
    }
}

/// What a run leaves for the assertions.
struct Run {
    outcome: Outcome,
    dpop_key: Option<ClientKey>,
}

/// The client's entry in the config file.
fn registration(
    features: Features,
    key: Option<&ClientKey>,
    secret: Option<&ClientSecret>,
) -> String {
    let mut lines = vec![
        "[[clients]]".to_owned(),
        format!("id = \"{CLIENT}\""),
        "name = \"Interop machine client\"".to_owned(),
        "grant_types = [\"client_credentials\", \"refresh_token\"]".to_owned(),
        format!("scopes = [\"{SCOPE}\"]"),
        format!("audience = [\"{AUDIENCE}\"]"),
    ];
    lines.extend(credentials_toml(key, secret));
    if features.dpop {
        lines.push("dpop_bound_access_tokens = true".to_owned());
    }
    lines.join("\n") + "\n"
}

async fn run(case: Case) -> Run {
    let features = case.features;
    let client_key = features.private_key_jwt.then(ClientKey::generate);
    let secret = (!features.private_key_jwt).then(ClientSecret::generate);
    let dpop_key = features.dpop.then(ClientKey::generate);
    let vars: &[(&str, &str)] = if case.dpop_nonce {
        &[("TS_DPOP_NONCE", "true")]
    } else {
        &[]
    };
    let server = serve(
        |_| registration(features, client_key.as_ref(), secret.as_ref()),
        vars,
    )
    .await;

    let mut settings = vec![
        ("INTEROP_ISSUER", server.base.clone()),
        ("INTEROP_CLIENT_ID", CLIENT.to_owned()),
        ("INTEROP_SCOPE", SCOPE.to_owned()),
    ];
    settings.extend(credentials_settings(client_key.as_ref(), secret.as_ref()));
    if let Some(key) = &dpop_key {
        settings.push(("INTEROP_DPOP_KEY", key.pkcs8_base64url()));
    }
    if case.replay_proof {
        settings.push(("INTEROP_REPLAY_PROOF", "1".to_owned()));
    }
    let dir = repo_path("tests/interop/python");
    let client = ClientProcess::spawn("python3", &["client.py"], &dir, &settings, INSTALL);
    let result = client.finish().await;
    Run {
        outcome: Outcome {
            server,
            result,
            audience: AUDIENCE,
        },
        dpop_key,
    }
}

impl Run {
    /// A client_credentials token for the client itself, and a rotated refresh.
    async fn assert_completed(&self) {
        let done = self.outcome.done();
        assert_eq!(done["token"]["has_refresh_token"], true);
        assert_eq!(done["refresh"]["rotated"], true);
        for token in ["token", "refresh"] {
            assert_eq!(scope_set(&done[token]["scope"]), [SCOPE], "{token}");
            let claims = self.outcome.access_token_claims(token).await;
            assert_eq!(claims["sub"], CLIENT, "{token}");
            assert_eq!(claims["client_id"], CLIENT, "{token}");
            assert_eq!(claims["scope"], SCOPE, "{token}");
        }
    }

    /// `token_type` DPoP and `cnf.jkt` the RFC 7638 thumbprint of the client's DPoP key, as
    /// computed here and by the client.
    async fn assert_dpop_bound(&self) {
        let done = self.outcome.done();
        let key = self.dpop_key.as_ref().expect("a DPoP key");
        assert_eq!(done["dpop_jkt"], key.thumbprint());
        for step in ["token", "refresh"] {
            self.outcome.assert_bound(step, key, "DPoP").await;
        }
    }
}

#[tokio::test]
async fn authlib_gets_a_client_credentials_token_with_a_secret_over_basic_and_refreshes_it() {
    let run = run(Case::of(BASELINE)).await;
    run.assert_completed().await;
    let done = run.outcome.done();
    assert_eq!(done["auth_method"], "client_secret_basic");
    for token in ["token", "refresh"] {
        assert_eq!(done[token]["token_type"], "Bearer", "{token}");
    }
}

#[tokio::test]
async fn authlib_authenticates_with_private_key_jwt_addressed_to_the_token_endpoint() {
    // authlib's assertion has `aud` = the token endpoint's URL (RFC 7523 §3), accepted beside
    // the issuer for clients that are not fapi2.
    let run = run(Case::of(Features {
        private_key_jwt: true,
        ..BASELINE
    }))
    .await;
    run.assert_completed().await;
    assert_eq!(run.outcome.done()["auth_method"], "private_key_jwt");
}

#[tokio::test]
async fn authlib_with_pyjwt_dpop_proofs_gets_dpop_bound_tokens_and_refreshes_them() {
    let run = run(Case::of(Features {
        private_key_jwt: true,
        dpop: true,
    }))
    .await;
    run.assert_completed().await;
    run.assert_dpop_bound().await;
    assert_eq!(run.outcome.done()["dpop_nonce_retries"], 0);
}

#[tokio::test]
async fn a_replayed_dpop_proof_is_refused_with_invalid_dpop_proof() {
    let run = run(Case {
        replay_proof: true,
        ..Case::of(Features {
            dpop: true,
            ..BASELINE
        })
    })
    .await;
    assert_eq!(
        run.outcome.done()["replay"]["error"],
        "invalid_dpop_proof",
        "{}",
        run.outcome.result
    );
    run.assert_dpop_bound().await;
}

#[tokio::test]
async fn the_python_client_retries_once_with_the_servers_dpop_nonce() {
    let run = run(Case {
        dpop_nonce: true,
        ..Case::of(Features {
            private_key_jwt: true,
            dpop: true,
        })
    })
    .await;
    run.assert_completed().await;
    run.assert_dpop_bound().await;
    assert_eq!(
        run.outcome.done()["dpop_nonce_retries"],
        1,
        "{}",
        run.outcome.result
    );
}

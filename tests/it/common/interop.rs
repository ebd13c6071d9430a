//! What the interoperability tests share: the service at its own issuer on a config the test
//! writes (tests/fixtures/interop.toml plus the clients it registers), client keys and secrets
//! made per test, and another language's client run as a child process that reports one JSON
//! line per step, within a deadline.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use token_service::clock::Clock;
use token_service::config::Settings;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::{TEST_KEYS, TestServer, repo_path};

/// How long a client process may take for one step before the test fails.
pub const STEP_DEADLINE: Duration = Duration::from_secs(60);

/// An ES256 (P-256) key pair made for one test: a client's `private_key_jwt` key (RFC 7523) or
/// a DPoP key (RFC 9449). The private half goes to the client process as PKCS#8 DER,
/// base64url; the public half into the config file's `jwks`.
pub struct ClientKey {
    pkcs8: Vec<u8>,
    x: String,
    y: String,
}

impl ClientKey {
    pub fn generate() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        // An uncompressed point: 0x04, then x and y, 32 bytes each (SEC 1 §2.3.3).
        let point = pair.public_key().as_ref();
        ClientKey {
            pkcs8: pkcs8.as_ref().to_vec(),
            x: B64.encode(&point[1..33]),
            y: B64.encode(&point[33..65]),
        }
    }

    pub fn pkcs8_base64url(&self) -> String {
        B64.encode(&self.pkcs8)
    }

    /// The RFC 7638 thumbprint: SHA-256 of the required members in lexicographic order. It is
    /// the `kid` of the registered JWK and the `cnf.jkt` of tokens bound to this key.
    pub fn thumbprint(&self) -> String {
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        );
        B64.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canonical.as_bytes(),
        ))
    }

    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": self.x,
            "y": self.y,
            "kid": self.thumbprint(),
            "alg": "ES256",
            "use": "sig",
        })
    }

    /// The config file's `jwks = { keys = [ ... ] }` with this key's public JWK inline.
    pub fn jwks_toml(&self) -> String {
        let jwk = self.public_jwk();
        let members: Vec<String> = jwk
            .as_object()
            .unwrap()
            .iter()
            .map(|(name, value)| format!("{name} = {}", toml_string(value.as_str().unwrap())))
            .collect();
        format!("jwks = {{ keys = [ {{ {} }} ] }}", members.join(", "))
    }
}

/// A client secret made for one test and its argon2id hash for the config file.
pub struct ClientSecret {
    pub secret: String,
    pub hash: String,
}

impl ClientSecret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 24];
        SystemRandom::new().fill(&mut bytes).unwrap();
        let secret = B64.encode(bytes);
        let hash = token_service::password::hash_secret(secret.as_bytes()).unwrap();
        ClientSecret { secret, hash }
    }
}

/// The config file's lines for how a client authenticates: a `secret_hash`, or
/// `token_endpoint_auth_method = "private_key_jwt"` with the key in `jwks` (RFC 7523), or
/// neither (a public client).
pub fn credentials_toml(key: Option<&ClientKey>, secret: Option<&ClientSecret>) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(secret) = secret {
        lines.push(format!("secret_hash = {}", toml_string(&secret.hash)));
    }
    if let Some(key) = key {
        lines.push("token_endpoint_auth_method = \"private_key_jwt\"".to_owned());
        lines.push(key.jwks_toml());
    }
    lines
}

/// The client process's settings for the same credentials: `INTEROP_CLIENT_KEY` and
/// `INTEROP_CLIENT_KID`, or `INTEROP_CLIENT_SECRET`, or `INTEROP_AUTH_NONE`.
pub fn credentials_settings(
    key: Option<&ClientKey>,
    secret: Option<&ClientSecret>,
) -> Vec<(&'static str, String)> {
    match (key, secret) {
        (Some(key), _) => vec![
            ("INTEROP_CLIENT_KEY", key.pkcs8_base64url()),
            ("INTEROP_CLIENT_KID", key.thumbprint()),
        ],
        (None, Some(secret)) => vec![("INTEROP_CLIENT_SECRET", secret.secret.clone())],
        (None, None) => vec![("INTEROP_AUTH_NONE", "1".to_owned())],
    }
}

/// `s` as a TOML basic string.
pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// The service on 127.0.0.1 at its own base URL as `TS_ISSUER` (discovery requires the issuer
/// to be the URL the metadata was fetched from: RFC 8414 §3.3), on the test signing key and a
/// config of tests/fixtures/interop.toml plus `clients(base)`, with `vars` (`("TS_X", "v")`).
pub async fn serve(clients: impl FnOnce(&str) -> String, vars: &[(&str, &str)]) -> TestServer {
    TestServer::spawn_at_issuer(|base| {
        let dir = tempfile::tempdir().unwrap();
        let template = std::fs::read_to_string(repo_path("tests/fixtures/interop.toml")).unwrap();
        let config = dir.path().join("interop.toml");
        std::fs::write(&config, format!("{template}\n{}", clients(base))).unwrap();
        let mut all = vec![
            ("TS_CONFIG_FILE".to_owned(), config.display().to_string()),
            (
                "TS_KEYS_DIR".to_owned(),
                repo_path(TEST_KEYS).display().to_string(),
            ),
            ("TS_ISSUER".to_owned(), base.to_owned()),
        ];
        all.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let settings = Settings::from_vars(all).unwrap();
        // The real clock: the client library checks `iat` and `exp` against its own.
        match token_service::cli::load(settings, Clock::System) {
            Ok(state) => state,
            Err(e) => panic!("the interop config does not load: {e}"),
        }
    })
    .await
}

/// What a client process reported last, and the service that answered it, still serving:
/// the assertions fetch its JWKS. Both clients report a `token` and a `refresh`, each with the
/// `token_type` and `access_token` they got.
pub struct Outcome {
    pub server: TestServer,
    /// `"event":"done"` with what the client saw, or `"event":"error"`.
    pub result: Value,
    /// The `aud` of the client's access tokens.
    pub audience: &'static str,
}

impl Outcome {
    /// The summary of a run that completed.
    pub fn done(&self) -> &Value {
        assert_eq!(self.result["event"], "done", "{}", self.result);
        &self.result
    }

    /// The access token of `step` (`token` or `refresh`) verified as a resource server would
    /// (JWKS over HTTP, key by `kid`, `typ` `at+jwt`); its claims.
    pub async fn access_token_claims(&self, step: &str) -> Value {
        let token = self.done()[step]["access_token"].as_str();
        let token = token.unwrap_or_else(|| panic!("no {step} access_token in {}", self.result));
        let base = &self.server.base;
        let (typ, claims) =
            super::resource_server::verify_from(base, token, self.audience, base).await;
        assert_eq!(typ, "at+jwt");
        claims
    }

    /// The access token of `step` is bound to `key` (RFC 9449 §6): the client got it as
    /// `token_type` and it carries `cnf.jkt`, the key's RFC 7638 thumbprint.
    pub async fn assert_bound(&self, step: &str, key: &ClientKey, token_type: &str) {
        assert_eq!(self.done()[step]["token_type"], token_type, "{step}");
        let claims = self.access_token_claims(step).await;
        assert_eq!(claims["cnf"]["jkt"], key.thumbprint(), "{step}: {claims}");
    }
}

/// A client of another language as a child process: settings in `INTEROP_*` variables, one
/// JSON line per step on stdout, a line of input on stdin when it waits for the browser.
/// Killed when dropped; its stderr is shown when a step fails.
pub struct ClientProcess {
    what: String,
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl ClientProcess {
    /// Runs `program args` in `dir` with `settings`; `install` says how to get `program` when
    /// it is missing, so a machine without it fails here with that sentence.
    pub fn spawn(
        program: &str,
        args: &[&str],
        dir: &Path,
        settings: &[(&str, String)],
        install: &str,
    ) -> Self {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        // Only the test's own settings: none left over from the environment.
        for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("INTEROP_")) {
            command.env_remove(name);
        }
        command.envs(settings.iter().map(|(k, v)| (*k, v.as_str())));
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => panic!("cannot run `{program}` ({e}): {install}"),
        };
        ClientProcess {
            what: format!("{program} {}", args.join(" ")),
            stdin: child.stdin.take(),
            stdout: BufReader::new(child.stdout.take().unwrap()).lines(),
            child,
        }
    }

    /// The next JSON line, within [`STEP_DEADLINE`].
    pub async fn next_line(&mut self) -> Value {
        let line = match tokio::time::timeout(STEP_DEADLINE, self.stdout.next_line()).await {
            Ok(Ok(Some(line))) => line,
            Ok(Ok(None)) => self.fail("ended without a result").await,
            Ok(Err(e)) => self.fail(&format!("stdout: {e}")).await,
            Err(_) => {
                self.fail(&format!("no result within {STEP_DEADLINE:?}"))
                    .await
            }
        };
        match serde_json::from_str(&line) {
            Ok(value) => value,
            Err(e) => self.fail(&format!("printed {line:?}, not JSON: {e}")).await,
        }
    }

    /// Writes one line to the client's stdin.
    pub async fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    }

    /// The last JSON line, then the exit within [`STEP_DEADLINE`]: 0 with `"event":"done"`,
    /// 1 with `"event":"error"`.
    pub async fn finish(mut self) -> Value {
        let line = self.next_line().await;
        self.stdin.take();
        let status = match tokio::time::timeout(STEP_DEADLINE, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => self.fail("did not exit").await,
        };
        let done = line["event"] == "done";
        assert_eq!(
            status.success(),
            done,
            "{}: {status} after {line}",
            self.what
        );
        line
    }

    async fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.start_kill();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            let read = pipe.read_to_string(&mut stderr);
            let _ = tokio::time::timeout(Duration::from_secs(5), read).await;
        }
        panic!("{}: {why}; stderr:\n{stderr}", self.what)
    }
}

/// The words of a space-separated `scope`, sorted (RFC 6749 §3.3: order does not matter).
pub fn scope_set(scope: &Value) -> Vec<String> {
    let mut words: Vec<String> = scope
        .as_str()
        .unwrap_or_else(|| panic!("scope is not a string: {scope}"))
        .split(' ')
        .map(str::to_owned)
        .collect();
    words.sort();
    words
}

//! The real binary (README, "Configuration"): every bad setting stops start-up with exit code 2 and one line
//! naming the variable or file and line, never a panic; the `check-config`, `hash-secret`
//! and `keygen` subcommands; the unknown-variable warning and a clean exit on SIGTERM.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::redis::{RedisServer, free_port};
use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_token-service");

struct Output {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs the binary in `dir` with only the dev config, the dev key, `vars` and a backtrace
/// request (so a panic could not hide), feeding `stdin`.
fn run_in(dir: &Path, args: &[&str], vars: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut child = command(dir, args, vars)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A process that already exited closed its stdin; that is not the test's concern.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    wait_with_timeout(&mut child, Duration::from_secs(30));
    let output = child.wait_with_output().unwrap();
    Output {
        status: output.status,
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn run(args: &[&str], vars: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), args, vars, b"")
}

fn command(dir: &Path, args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("TS_CONFIG_FILE", repo_path("config/dev.toml"))
        .env("TS_KEYS_DIR", repo_path("keys"))
        // A start-up that wrongly succeeds must not take a real port.
        .env("TS_LISTEN", "127.0.0.1:0")
        .env("TS_LOG_FORMAT", "json")
        .env("RUST_BACKTRACE", "1");
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

/// Waits for `child` to exit; kills it and fails the test after `timeout`.
fn wait_with_timeout(child: &mut Child, timeout: Duration) -> ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Exit code 2, exactly one line on stderr that contains `names`, and no panic.
fn assert_startup_error(output: &Output, names: &str) {
    assert_eq!(output.status.code(), Some(2), "stderr: {}", output.stderr);
    let lines: Vec<&str> = output.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line on stderr: {:?}", output.stderr);
    assert!(
        lines[0].contains(names),
        "{:?} should name {names:?}",
        lines[0]
    );
    for word in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!output.stderr.contains(word), "{}", output.stderr);
        assert!(!output.stdout.contains(word), "{}", output.stdout);
    }
}

fn write_config(dir: &Path, text: &str) -> String {
    let path = dir.join("clients.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn an_unparsable_number_names_the_variable_with_its_ts_prefix() {
    let output = run(&[], &[("TS_ACCESS_TOKEN_TTL", "abc")]);
    assert_startup_error(&output, "TS_ACCESS_TOKEN_TTL");
}

#[test]
fn a_lifetime_beyond_a_year_exits_2_naming_the_variable() {
    let output = run(&[], &[("TS_ACCESS_TOKEN_TTL", "18446744073709551615")]);
    assert_startup_error(&output, "TS_ACCESS_TOKEN_TTL");
}

#[test]
fn an_auth_code_ttl_over_600_exits_2_naming_the_variable() {
    let output = run(&[], &[("TS_AUTH_CODE_TTL", "601")]);
    assert_startup_error(&output, "TS_AUTH_CODE_TTL");
}

#[test]
fn a_missing_config_file_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.toml").display().to_string();
    let output = run_in(dir.path(), &[], &[("TS_CONFIG_FILE", &missing)], b"");
    assert_startup_error(&output, &missing);
}

#[test]
fn an_unknown_field_in_the_config_file_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "demo = true\nbogus = 1\n");
    let output = run_in(dir.path(), &[], &[("TS_CONFIG_FILE", &config)], b"");
    assert_startup_error(&output, &format!("{config}:2:"));
    assert!(output.stderr.contains("bogus"), "{}", output.stderr);
}

#[test]
fn a_duplicate_client_id_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let client = "[[clients]]\nid = \"twice\"\ngrant_types = [\"implicit\"]\nredirect_uris = [\"https://app.example/cb\"]\n";
    let config = write_config(dir.path(), &format!("{client}\n{client}"));
    let output = run_in(dir.path(), &[], &[("TS_CONFIG_FILE", &config)], b"");
    assert_startup_error(&output, &format!("{config}:7:"));
    assert!(output.stderr.contains("twice"), "{}", output.stderr);
}

#[test]
fn a_public_client_with_the_password_grant_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[[clients]]\nid = \"spa\"\ngrant_types = [\"password\"]\n",
    );
    let output = run_in(dir.path(), &[], &[("TS_CONFIG_FILE", &config)], b"");
    assert_startup_error(&output, &format!("{config}:2:"));
    assert!(output.stderr.contains("password"), "{}", output.stderr);
}

#[test]
fn check_config_refuses_a_dpop_bound_implicit_client_naming_it_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        "[[clients]]\nid = \"spa\"\ngrant_types = [\"implicit\"]\n\
         redirect_uris = [\"https://app.example/cb\"]\ndpop_bound_access_tokens = true\n",
    );
    let vars = [("TS_CONFIG_FILE", config.as_str())];
    let output = run_in(dir.path(), &["check-config"], &vars, b"");
    assert_startup_error(&output, &format!("{config}:2:"));
    assert!(
        output
            .stderr
            .contains(r#"client "spa": dpop_bound_access_tokens"#),
        "{}",
        output.stderr
    );
}

#[test]
fn a_key_that_does_not_parse_exits_2_naming_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("2026-01-01-es256.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let keys = dir.path().display().to_string();
    let output = run_in(dir.path(), &[], &[("TS_KEYS_DIR", &keys)], b"");
    assert_startup_error(&output, &key.display().to_string());
}

#[test]
fn a_signing_key_naming_no_key_exits_2_naming_the_variable() {
    let output = run(&[], &[("TS_SIGNING_KEY", "no-such-key")]);
    assert_startup_error(&output, "TS_SIGNING_KEY");
}

#[test]
fn an_empty_keys_directory_exits_2_naming_the_directory() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let keys = keys.display().to_string();
    let output = run_in(dir.path(), &[], &[("TS_KEYS_DIR", &keys)], b"");
    assert_startup_error(&output, &keys);
}

#[test]
fn check_config_on_the_dev_config_exits_0() {
    let output = run(&["check-config"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert!(output.stdout.starts_with("ok:"), "{}", output.stdout);
    assert!(output.stderr.is_empty(), "{}", output.stderr);
}

#[test]
fn check_config_names_the_redis_topology_and_the_replicas_every_write_waits_for() {
    let output = run(
        &["check-config"],
        &[
            (
                "TS_REDIS_URL",
                "redis://127.0.0.1:1,redis://127.0.0.1:2,redis://127.0.0.1:3",
            ),
            ("TS_REDIS_SENTINEL", "mymaster"),
            ("TS_REDIS_WAIT_REPLICAS", "2"),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert!(
        output.stdout.contains(
            "store: redis sentinel, master mymaster (3 sentinels); codes, sessions, revocations, \
             new families and login throttles acknowledged by 2 replicas, rotations by none\n"
        ),
        "{}",
        output.stdout
    );
}

#[test]
fn check_config_says_where_the_refresh_token_key_comes_from() {
    let output = run(&["check-config"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    let line = output
        .stdout
        .lines()
        .find(|l| l.starts_with("refresh tokens:"))
        .unwrap_or_else(|| panic!("{}", output.stdout));
    assert!(line.contains("derived from "), "{line}");
    assert!(line.contains("keys/0000-dev-es256.pem"), "{line}");
    assert!(line.contains("HKDF-SHA256"), "{line}");
}

#[test]
fn check_config_reports_a_bad_setting_with_exit_2() {
    let output = run(&["check-config"], &[("TS_AUTH_CODE_TTL", "601")]);
    assert_startup_error(&output, "TS_AUTH_CODE_TTL");
}

fn hash_secret(stdin: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &["hash-secret"], &[], stdin)
}

fn argon2_verifies(phc: &str, secret: &[u8]) -> bool {
    use argon2::PasswordVerifier;
    let hash = argon2::PasswordHash::new(phc).unwrap();
    argon2::Argon2::default()
        .verify_password(secret, &hash)
        .is_ok()
}

#[test]
fn hash_secret_strips_one_trailing_newline() {
    let output = hash_secret(b"abc\n");
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    let phc = output.stdout.trim();
    assert!(phc.starts_with("$argon2id$"), "{phc}");
    assert!(argon2_verifies(phc, b"abc"));
    assert!(!argon2_verifies(phc, b"abc\n"));
}

#[test]
fn hash_secret_strips_only_one_newline() {
    let output = hash_secret(b"abc\n\n");
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert!(argon2_verifies(output.stdout.trim(), b"abc\n"));
}

#[test]
fn hash_secret_refuses_empty_input() {
    assert_startup_error(&hash_secret(b""), "empty");
}

#[test]
fn hash_secret_refuses_a_lone_newline() {
    assert_startup_error(&hash_secret(b"\n"), "empty");
}

fn keygen(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["keygen", "--dir"];
    let d = dir.display().to_string();
    all.push(&d);
    all.extend_from_slice(args);
    run_in(dir, &all, &[], b"")
}

/// The path and kid `keygen` printed.
fn printed(output: &Output) -> (String, String) {
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    let mut lines = output.stdout.lines();
    let path = lines.next().unwrap().to_owned();
    let kid = lines
        .next()
        .unwrap()
        .strip_prefix("kid ")
        .unwrap()
        .to_owned();
    (path, kid)
}

#[test]
fn keygen_writes_a_timestamped_es256_pem_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let (path, _) = printed(&keygen(dir.path(), &[]));
    let name = Path::new(&path).file_name().unwrap().to_str().unwrap();
    // <YYYY-MM-DD>T<HHMMSS>Z-es256.pem
    let (stamp, rest) = name.split_at(18);
    assert_eq!(rest, "-es256.pem", "{name}");
    let digits: String = stamp.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 14, "{name}");
    assert_eq!(&stamp[4..5], "-");
    assert_eq!(&stamp[10..11], "T");
    assert_eq!(&stamp[17..18], "Z");
    assert_eq!(Path::new(&path).parent(), Some(dir.path()));
    let metadata = std::fs::metadata(&path).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    let pem = std::fs::read_to_string(&path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
}

#[tokio::test]
async fn keygen_prints_the_kid_the_jwks_then_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let (_, kid) = printed(&keygen(dir.path(), &["--alg", "EdDSA"]));
    let keys = dir.path().display().to_string();
    let app = TestApp::with_vars(&[("TS_KEYS_DIR", &keys)]);
    let jwks = app.get("/.well-known/jwks.json").await.json();
    assert_eq!(jwks["keys"][0]["kid"], kid.as_str());
    assert_eq!(jwks["keys"][0]["alg"], "EdDSA");
}

#[test]
fn keygen_for_eddsa_writes_the_pkcs8_v1_key_openssl_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (path, kid) = printed(&keygen(dir.path(), &["--alg", "EdDSA"]));
    let pem = pem::parse(std::fs::read(&path).unwrap()).unwrap();
    assert_eq!(pem.tag(), "PRIVATE KEY");
    // RFC 8410 §7, as `openssl genpkey -algorithm ed25519` writes it: SEQUENCE { INTEGER 0
    // (v1, no public key), SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING {
    // 32-byte seed } } }. OpenSSL 3.0, Node and Python `cryptography` refuse ring's v2.
    let der = pem.contents();
    assert_eq!(der.len(), 48, "{der:02x?}");
    assert_eq!(der[..2], [0x30, 0x2e], "SEQUENCE of 46 bytes");
    assert_eq!(der[2..5], [0x02, 0x01, 0x00], "version 0");
    assert_eq!(
        der[5..12],
        [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70],
        "id-Ed25519"
    );
    assert_eq!(
        der[12..16],
        [0x04, 0x22, 0x04, 0x20],
        "the seed, wrapped twice"
    );
    let keys = token_service::keys::KeySet::load(dir.path(), None).unwrap();
    assert_eq!(keys.signer().kid, kid);
    // And OpenSSL itself, where it is installed.
    if Command::new("openssl").arg("version").output().is_ok() {
        let read = Command::new("openssl")
            .args(["pkey", "-in", &path, "-noout"])
            .output()
            .unwrap();
        assert!(
            read.status.success(),
            "openssl pkey: {}",
            String::from_utf8_lossy(&read.stderr)
        );
    }
}

#[test]
fn help_offers_keygen_for_es256_and_eddsa_only() {
    let output = run(&["--help"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert!(
        output
            .stdout
            .contains("keygen [--alg ES256|EdDSA] [--dir DIR]"),
        "RS256 keys come from openssl (README, \"Keys and secrets\"): {}",
        output.stdout
    );
}

#[test]
fn keygen_never_overwrites_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let (first, _) = printed(&keygen(dir.path(), &[]));
    let before = std::fs::read(&first).unwrap();
    // Most likely the same second, so the same file name.
    let second = keygen(dir.path(), &[]);
    assert_eq!(std::fs::read(&first).unwrap(), before);
    match second.status.code() {
        Some(0) => assert_ne!(printed(&second).0, first),
        _ => assert_startup_error(&second, &first),
    }
}

#[test]
fn keygen_for_rs256_exits_2_with_one_line_pointing_to_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let output = keygen(dir.path(), &["--alg", "RS256"]);
    assert_startup_error(&output, "openssl");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `serve` as a child process with JSON logs, up and listening.
pub struct Served {
    child: Child,
    listen: String,
    lines: mpsc::Receiver<String>,
    /// The log lines read so far.
    seen: Vec<String>,
    _dir: tempfile::TempDir,
}

impl Served {
    pub fn start(vars: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let mut all = vec![("TS_LISTEN", listen.as_str())];
        all.extend_from_slice(vars);
        let mut child = command(dir.path(), &["serve"], &all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut served = Served {
            child,
            listen,
            lines,
            seen: Vec::new(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !served.seen.iter().any(|l| l.contains("listening")) {
            let left = deadline.saturating_duration_since(Instant::now());
            match served.lines.recv_timeout(left) {
                Ok(line) => served.seen.push(line),
                Err(_) => {
                    let _ = served.child.kill();
                    panic!("no 'listening' log line: {:#?}", served.seen);
                }
            }
        }
        served
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.listen)
    }

    /// The first log line (as JSON) whose text contains `needle`.
    fn logged(&self, needle: &str) -> Option<serde_json::Value> {
        self.seen
            .iter()
            .filter(|l| l.contains(needle))
            .map(|l| serde_json::from_str(l).unwrap())
            .next()
    }

    /// Reads log lines until one contains `needle`, for at most `within`: that line, as JSON.
    fn wait_for(&mut self, needle: &str, within: Duration) -> Option<serde_json::Value> {
        let deadline = Instant::now() + within;
        while self.logged(needle).is_none() {
            let left = deadline.checked_duration_since(Instant::now())?;
            self.seen.push(self.lines.recv_timeout(left).ok()?);
        }
        self.logged(needle)
    }

    /// SIGTERM, then the exit status, the remaining log lines read, and stderr.
    pub fn stop(mut self) -> (ExitStatus, Vec<String>, String) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let status = wait_with_timeout(&mut self.child, Duration::from_secs(10));
        self.seen.extend(self.lines.try_iter());
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.seen.push(line);
        }
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr).unwrap();
        (status, self.seen, stderr)
    }
}

#[tokio::test]
async fn serve_warns_about_an_unknown_ts_variable_and_exits_0_on_sigterm() {
    let served = Served::start(&[("TS_TYPO", "1")]);
    let warning = served
        .logged("TS_TYPO")
        .unwrap_or_else(|| panic!("no warning naming TS_TYPO: {:#?}", served.seen));
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert!(
        served.logged("DEVELOPMENT KEY").is_none(),
        "the dev key on a localhost issuer is expected"
    );

    let health = http().get(served.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let (status, _, stderr) = served.stop();
    assert_eq!(status.code(), Some(0));
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[tokio::test]
async fn a_requests_log_line_is_written_within_a_moment_without_more_traffic() {
    let mut served = Served::start(&[]);
    let jwks = http()
        .get(served.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(jwks.status(), 200);
    // Info lines wait at most 10 ms for others to go out with (docs/design.md, "Log lines").
    let line = served
        .wait_for("/.well-known/jwks.json", Duration::from_secs(2))
        .unwrap_or_else(|| panic!("no line for the request within 2 s: {:#?}", served.seen));
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["span"]["status"], 200, "{line}");
    served.stop();
}

/// Posts a form to the served binary, with HTTP Basic.
async fn post_form(served: &Served, path: &str, basic: (&str, &str), form: &str) -> u16 {
    http()
        .post(served.url(path))
        .basic_auth(basic.0, Some(basic.1))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.to_owned())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_token_requests_line_names_its_route_client_status_and_latency_and_no_secret() {
    let mut served = Served::start(&[]);
    let client = ("reporting-service", "reporting-secret-change-me");
    let status = post_form(&served, "/token", client, "grant_type=client_credentials").await;
    assert_eq!(status, 200);
    let line = served
        .wait_for(r#""path":"/token""#, Duration::from_secs(2))
        .unwrap_or_else(|| panic!("no line for the request: {:#?}", served.seen));
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(line["message"], "response", "{line}");
    assert_eq!(line["target"], "token_service::http", "{line}");
    let span = &line["span"];
    assert_eq!(span["name"], "request", "{line}");
    assert_eq!(span["method"], "POST", "{line}");
    assert_eq!(span["client_id"], "reporting-service", "{line}");
    assert_eq!(span["status"], 200, "{line}");
    assert!(
        span["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{line}"
    );
    let (_, lines, _) = served.stop();
    assert!(
        !lines.iter().any(|l| l.contains("reporting-secret")),
        "{lines:#?}"
    );
}

#[tokio::test]
async fn a_warning_inside_a_request_carries_the_requests_fields() {
    let dead = format!("redis://127.0.0.1:{}", free_port());
    let mut served = Served::start(&[("TS_REDIS_URL", dead.as_str())]);
    let client = (
        "BA779C49-4D93-4785-9596-25805A24C5DC",
        "4AD3CE00-8ED5-4F0A-A979-ACE64A15207C",
    );
    // A login is throttled in the store: with Redis down it answers 503 and warns.
    let form = "grant_type=password&username=jsmith&password=password123";
    assert_eq!(post_form(&served, "/token", client, form).await, 503);
    let line = served
        .wait_for("response: unavailable", Duration::from_secs(2))
        .unwrap_or_else(|| panic!("no warning for the request: {:#?}", served.seen));
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(line["span"]["path"], "/token", "{line}");
    assert_eq!(line["span"]["client_id"], client.0, "{line}");
    assert_eq!(line["span"]["status"], 503, "{line}");
    served.stop();
}

#[tokio::test]
async fn the_last_lines_are_written_before_the_process_exits() {
    let served = Served::start(&[]);
    let (status, lines, _) = served.stop();
    assert_eq!(status.code(), Some(0));
    assert!(
        lines.last().is_some_and(|l| l.contains("drained, exiting")),
        "the line logged right before the exit: {lines:#?}"
    );
}

#[tokio::test]
async fn serve_warns_loudly_when_the_dev_key_signs_for_a_non_local_issuer() {
    let served = Served::start(&[("TS_ISSUER", "https://auth.example.com")]);
    let warning = served
        .logged("DEVELOPMENT KEY")
        .unwrap_or_else(|| panic!("no dev-key warning: {:#?}", served.seen));
    assert_eq!(warning["level"], "WARN", "{warning}");
    let (status, _, _) = served.stop();
    assert_eq!(status.code(), Some(0));
}

#[tokio::test]
async fn logs_never_contain_secrets_passwords_or_tokens() {
    let served = Served::start(&[("RUST_LOG", "trace")]);
    let client = http();
    let token = |body: serde_json::Value| client.post(served.url("/token")).json(&body).send();
    let issued: serde_json::Value = token(serde_json::json!({
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": USERNAME, "password": PASSWORD,
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let first_refresh = issued["refresh_token"].as_str().unwrap().to_owned();
    let refreshed: serde_json::Value = token(serde_json::json!({
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": first_refresh,
    }))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    // A reuse (logged as a warning) and a wrong password.
    let reused = token(serde_json::json!({
        "grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "refresh_token": first_refresh,
    }))
    .await
    .unwrap();
    assert_eq!(reused.status(), 400);
    let wrong = token(serde_json::json!({
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": USERNAME, "password": "not-password123-but-close",
    }))
    .await
    .unwrap();
    assert_eq!(wrong.status(), 400);

    let (status, lines, stderr) = served.stop();
    assert_eq!(status.code(), Some(0));
    let logs = lines.join("\n") + &stderr;
    assert!(
        logs.contains("refresh token reused"),
        "the reuse was logged"
    );
    for secret in [
        CLIENT_SECRET,
        PASSWORD,
        "not-password123-but-close",
        issued["access_token"].as_str().unwrap(),
        refreshed["access_token"].as_str().unwrap(),
        &first_refresh,
        refreshed["refresh_token"].as_str().unwrap(),
    ] {
        assert!(!logs.contains(secret), "a secret or token reached the logs");
    }
    assert!(!logs.contains("eyJ"), "no JWT fragment in the logs");
}

#[tokio::test]
async fn serve_warns_loudly_when_redis_may_evict_its_keys() {
    let redis = RedisServer::start();
    redis
        .cli(&["CONFIG", "SET", "maxmemory-policy", "volatile-lru"])
        .unwrap();
    let served = Served::start(&[("TS_REDIS_URL", &redis.url())]);
    let warning = served
        .logged("MAY EVICT")
        .unwrap_or_else(|| panic!("no eviction warning: {:#?}", served.seen));
    assert_eq!(warning["level"], "WARN", "{warning}");
    assert_eq!(warning["maxmemory_policy"], "volatile-lru", "{warning}");
    served.stop();
}

#[tokio::test]
async fn serve_says_nothing_of_eviction_on_a_noeviction_redis() {
    let redis = RedisServer::start();
    let served = Served::start(&[("TS_REDIS_URL", &redis.url())]);
    assert!(served.logged("MAY EVICT").is_none(), "{:#?}", served.seen);
    served.stop();
}

#[tokio::test]
async fn with_ts_metrics_listen_metrics_answer_only_there_and_both_listeners_stop_on_sigterm() {
    let metrics_listen = format!("127.0.0.1:{}", free_port());
    let served = Served::start(&[("TS_METRICS_LISTEN", metrics_listen.as_str())]);
    let http = http();

    let public = http.get(served.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let body: serde_json::Value = public.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request", "{body}");

    let scraped = http
        .get(format!("http://{metrics_listen}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), 200);
    let text = scraped.text().await.unwrap();
    assert!(
        text.contains(
            r#"token_service_http_requests_total{method="GET",route="other",status="404"} 1"#
        ),
        "the public port's refusal is counted: {text}"
    );
    let other = http
        .get(format!("http://{metrics_listen}/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404, "only /metrics on the metrics port");

    let (status, _, stderr) = served.stop();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        std::net::TcpStream::connect(&metrics_listen).is_err(),
        "the metrics listener closed with the process"
    );
}

/// A user entry with the test config's hash of `password123`.
fn user_entry(username: &str, subject: Option<&str>) -> String {
    let subject = subject.map_or(String::new(), |s| format!("subject = \"{s}\"\n"));
    format!(
        "[[users]]\nusername = \"{username}\"\n{subject}password_hash = \"$argon2id$v=19$m=19456,t=2,p=1$WSR1DqFEbLgs8S5iuUUREA$GyH9KAkaoErCl+SJnX/+H7HHpkdB+3nmuBYR7+UNOy4\"\n"
    )
}

#[test]
fn two_users_with_one_subject_exit_2_naming_both_at_start_up_and_in_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{}",
        user_entry("jsmith", None),
        user_entry("jsmith2", Some("jsmith"))
    );
    let config = write_config(dir.path(), &text);
    for args in [&[][..], &["check-config"][..]] {
        let output = run_in(dir.path(), args, &[("TS_CONFIG_FILE", &config)], b"");
        assert_startup_error(&output, &format!("{config}:6:"));
        assert!(
            output.stderr.contains("\"jsmith\" and \"jsmith2\""),
            "{}",
            output.stderr
        );
    }
}

#[test]
fn a_client_id_equal_to_a_users_subject_exits_2_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let client = "[[clients]]\nid = \"jsmith\"\ngrant_types = [\"implicit\"]\nredirect_uris = [\"https://app.example/cb\"]\n";
    let config = write_config(
        dir.path(),
        &format!("{client}\n{}", user_entry("jsmith", None)),
    );
    for args in [&[][..], &["check-config"][..]] {
        let output = run_in(dir.path(), args, &[("TS_CONFIG_FILE", &config)], b"");
        assert_startup_error(&output, &format!("{config}:2:"));
        assert!(
            output
                .stderr
                .contains("client id \"jsmith\" is the subject of user \"jsmith\""),
            "{}",
            output.stderr
        );
    }
}

/// A client_credentials client `m2m` whose id is on line 2, with `extra` lines.
fn m2m_client(extra: &str) -> String {
    format!("[[clients]]\nid = \"m2m\"\ngrant_types = [\"client_credentials\"]\n{extra}\n")
}

/// The test config's hash of the example client's secret.
const SECRET_HASH: &str = "secret_hash = \"$argon2id$v=19$m=19456,t=2,p=1$WSR1DqFEbLgs8S5iuUUREA$GyH9KAkaoErCl+SJnX/+H7HHpkdB+3nmuBYR7+UNOy4\"";
const ED25519_JWKS: &str = r#"jwks = { keys = [{ kty = "OKP", crv = "Ed25519", x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" }] }"#;

/// Start-up and `check-config` both exit 2 with one line naming the file, line 2 (the
/// client's id), the client and `says`.
fn assert_client_refused(text: &str, says: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), text);
    for args in [&[][..], &["check-config"][..]] {
        let output = run_in(dir.path(), args, &[("TS_CONFIG_FILE", &config)], b"");
        assert_startup_error(&output, &format!("{config}:2: client \"m2m\""));
        assert!(output.stderr.contains(says), "{args:?}: {}", output.stderr);
    }
}

#[test]
fn private_key_jwt_without_jwks_exits_2_naming_the_client() {
    let text = m2m_client(&format!(
        "{SECRET_HASH}\ntoken_endpoint_auth_method = \"private_key_jwt\""
    ));
    assert_client_refused(&text, "private_key_jwt needs jwks");
}

#[test]
fn client_secret_basic_without_a_secret_hash_exits_2_naming_the_client() {
    let text = m2m_client(&format!(
        "{ED25519_JWKS}\ntoken_endpoint_auth_method = \"client_secret_basic\""
    ));
    assert_client_refused(&text, "client_secret_basic needs a secret_hash");
}

#[test]
fn auth_method_none_with_a_secret_exits_2_naming_the_client() {
    let text = m2m_client(&format!(
        "{SECRET_HASH}\ntoken_endpoint_auth_method = \"none\""
    ));
    assert_client_refused(&text, "none is for public clients");
}

#[test]
fn a_private_key_in_jwks_exits_2_naming_the_client_and_the_member() {
    let text = m2m_client(&ED25519_JWKS.replace(
        "x = ",
        "d = \"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\", x = ",
    ));
    assert_client_refused(&text, "jwks key 1 has the private member \"d\"");
}

#[test]
fn an_unsupported_key_type_in_jwks_exits_2_naming_the_client() {
    let text = m2m_client(&ED25519_JWKS.replace("crv = \"Ed25519\"", "crv = \"X25519\""));
    assert_client_refused(&text, "curve \"X25519\" is not supported");
}

#[test]
fn an_unsupported_algorithm_in_jwks_exits_2_naming_the_client() {
    let text = m2m_client(&ED25519_JWKS.replace("kty = ", "alg = \"HS256\", kty = "));
    assert_client_refused(
        &text,
        "\"alg\" \"HS256\" is not one of ES256, EdDSA, PS256, RS256",
    );
}

#[test]
fn check_config_accepts_a_client_with_keys_and_no_secret_for_client_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &m2m_client(&format!(
            "{ED25519_JWKS}\ntoken_endpoint_auth_method = \"private_key_jwt\""
        )),
    );
    let output = run_in(
        dir.path(),
        &["check-config"],
        &[("TS_CONFIG_FILE", &config)],
        b"",
    );
    assert_eq!(output.status.code(), Some(0), "{}", output.stderr);
    assert!(
        output.stdout.starts_with("ok: 1 clients"),
        "{}",
        output.stdout
    );
}

#[tokio::test]
async fn client_jwks_and_client_assertion_set_up_a_client_the_service_authenticates() {
    let dir = tempfile::tempdir().unwrap();
    let (key, kid) = printed(&keygen(dir.path(), &["--alg", "EdDSA"]));
    let jwks = run_in(dir.path(), &["client-jwks", &key], &[], b"");
    assert_eq!(jwks.status.code(), Some(0), "{}", jwks.stderr);
    assert!(
        jwks.stdout.starts_with("jwks = { keys = [{ "),
        "{}",
        jwks.stdout
    );
    assert!(jwks.stdout.contains(&kid), "{}", jwks.stdout);
    assert!(!jwks.stdout.contains(" d = "), "{}", jwks.stdout);
    let config = write_config(
        dir.path(),
        &m2m_client(&format!(
            "{}token_endpoint_auth_method = \"private_key_jwt\"",
            jwks.stdout
        )),
    );
    let signed = run_in(dir.path(), &["client-assertion", &key, "m2m"], &[], b"");
    assert_eq!(signed.status.code(), Some(0), "{}", signed.stderr);
    let app = TestApp::with_vars(&[("TS_CONFIG_FILE", &config)]);
    let response = app
        .post_form(
            "/token",
            &[
                ("grant_type", "client_credentials"),
                (
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ),
                ("client_assertion", signed.stdout.trim()),
            ],
            None,
        )
        .await;
    assert_eq!(
        response.status,
        axum::http::StatusCode::OK,
        "{}",
        response.text()
    );
}

#[test]
fn a_fapi2_client_with_a_grant_the_profile_excludes_exits_2_naming_the_client() {
    let text = m2m_client(&format!("{ED25519_JWKS}\nprofile = \"fapi2\""));
    assert_client_refused(
        &text,
        "profile fapi2 allows only the authorization_code and refresh_token grants, not \
         client_credentials",
    );
}

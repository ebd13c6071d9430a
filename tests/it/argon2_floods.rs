//! argon2 under floods (SPEC §8): each worker reuses one memory block, so the real binary's
//! RSS stays below idle RSS plus (workers + 1) x `m_cost`; client secrets and user passwords
//! wait in separate lanes, so a flood of one does not hold up the other.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use serde_json::json;
use token_service::password::Lane;

use crate::common::redis::free_port;
use crate::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_token-service");

/// `m_cost` of the users' and clients' hashes in config/dev.toml, in bytes (m=19456 KiB).
const M_COST: u64 = 19456 * 1024;

/// The binary serving the dev config on a free 127.0.0.1 port; killed when dropped.
struct Process {
    child: Child,
    base: String,
}

impl Process {
    fn start() -> Self {
        let listen = format!("127.0.0.1:{}", free_port());
        let mut child = Command::new(BIN)
            .env_clear()
            .env("TS_CONFIG_FILE", repo_path("config/dev.toml"))
            .env("TS_KEYS_DIR", repo_path("keys"))
            .env("TS_LISTEN", &listen)
            .env("TS_LOG_FORMAT", "json")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if line.contains("listening") {
                    let _ = tx.send(());
                }
            }
        });
        let process = Process {
            child,
            base: format!("http://{listen}"),
        };
        rx.recv_timeout(Duration::from_secs(30))
            .expect("no 'listening' log line within 30 s");
        process
    }

    /// A line of /proc/<pid>/status in bytes, e.g. `VmRSS` (the kernel reports kB).
    fn status(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().strip_suffix("kB")?.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in\n{status}"));
        kb * 1024
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_after_a_login_flood_stays_below_idle_plus_one_argon2_block_per_worker_and_one() {
    let process = Process::start();
    let http = http();
    let health = http
        .get(format!("{}/healthz", process.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let idle = process.status("VmRSS");

    // 16 connections, 8 logins each: right passwords and wrong ones (unknown usernames, so
    // the throttle never answers instead of argon2).
    let url = Arc::new(format!("{}/token", process.base));
    let started = Instant::now();
    let connections: Vec<_> = (0..16)
        .map(|connection| {
            let (http, url) = (http.clone(), url.clone());
            tokio::spawn(async move {
                for n in 0..8 {
                    let (username, password) = match n % 4 {
                        0 => (USERNAME.to_owned(), PASSWORD),
                        1 => ("alice".to_owned(), "correct horse battery staple"),
                        _ => (format!("nobody-{connection}-{n}"), "wrong"),
                    };
                    let response = http
                        .post(url.as_str())
                        .json(&json!({
                            "grant_type": "password",
                            "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET,
                            "username": username,
                            "password": password,
                        }))
                        .send()
                        .await
                        .unwrap();
                    let expected = if n % 4 < 2 { 200 } else { 400 };
                    assert_eq!(response.status(), expected, "{username}");
                }
            })
        })
        .collect();
    for connection in connections {
        connection.await.unwrap();
    }
    let flood = started.elapsed();

    let rss = process.status("VmRSS");
    let peak = process.status("VmHWM");
    // The pool's worker count: half the cores, at least one.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64 / 2;
    let workers = workers.max(1);
    // 8 MiB of slack for what a flood of 16 connections itself holds: tokio's and hyper's
    // per-connection buffers and the allocator's free lists between requests.
    let bound = idle + (workers + 1) * M_COST + 8 * 1024 * 1024;
    eprintln!(
        "128 logins in {flood:?}: idle {:.1} MiB, after {:.1} MiB, peak {:.1} MiB, bound {:.1} MiB ({workers} workers)",
        mib(idle),
        mib(rss),
        mib(peak),
        mib(bound)
    );
    assert!(
        rss < bound && peak < bound,
        "RSS {:.1} MiB after the flood (peak {:.1} MiB), bound {:.1} MiB",
        mib(rss),
        mib(peak),
        mib(bound)
    );
}

fn argon2_runs(app: &TestApp) -> u64 {
    app.state.metrics.argon2_counter().get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_does_not_wait_behind_a_queue_of_wrong_client_secrets() {
    let app = Arc::new(TestApp::new());
    // The example client's secret is verified (and cached) first: the login below then
    // needs argon2 only for the user's password.
    let warm_up = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(warm_up.status, StatusCode::OK);

    // Wrong secrets for a client never verified on this instance: each costs argon2.
    let flood: Vec<_> = (0..200)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let secret = format!("wrong-{n}");
                app.post_form(
                    "/token",
                    &[("grant_type", "client_credentials")],
                    Some((CC_CLIENT, &secret)),
                )
                .await
                .status
            })
        })
        .collect();
    // The requests take the client's turn one by one, then (after the turn's 2 s wait) queue.
    let deadline = Instant::now() + Duration::from_secs(20);
    while app.state.argon2.waiting(Lane::Secrets) < 16 {
        assert!(Instant::now() < deadline, "the flood never queued");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let queued = app.state.argon2.waiting(Lane::Secrets) as u64;
    let before = argon2_runs(&app);

    let login = app.password_tokens().await;
    assert!(login["access_token"].is_string());
    let runs = argon2_runs(&app) - before;
    // The login's own run, the secret a worker was running, and one secret per turn of
    // the lanes: nowhere near the queue it arrived behind.
    assert!(
        runs < queued / 2,
        "{runs} argon2 runs during the login, behind {queued} queued wrong secrets"
    );
    for request in flood {
        let status = request.await.unwrap();
        assert!(
            status == StatusCode::UNAUTHORIZED || status == StatusCode::SERVICE_UNAVAILABLE,
            "{status}"
        );
    }
}

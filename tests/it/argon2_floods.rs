//! argon2 under floods (docs/design.md, "Load, faults and bad input"): each worker reuses one memory block, so the real binary's
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
            .env("TS_CONFIG_FILE", repo_path(TEST_CONFIG))
            .env("TS_KEYS_DIR", repo_path(TEST_KEYS))
            .env("TS_LISTEN", &listen)
            .env("TS_LOG_FORMAT", "json")
            // Concurrent right passwords of one user must all reach argon2, not the limit
            // on attempts in flight.
            .env("TS_LOGIN_MAX_FAILURES", "1000")
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

/// The dev config's hash of the reporting client's secret.
const CC_SECRET_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$zyLMTn4X0pTAOKIrU+wHrg$VTYAYp89ImIkGWJInSFhmUVfTbeEEkHcYvzETMQaeQg";

/// 200 wrong verifications in `lane`, straight into the pool, and how many of them wait
/// there once at least 16 do.
async fn flood_lane(app: &Arc<TestApp>, lane: Lane) -> (Vec<tokio::task::JoinHandle<()>>, u64) {
    let flood = (0..200)
        .map(|n| {
            let app = app.clone();
            tokio::spawn(async move {
                let wrong = format!("wrong-{n}");
                let pool = &app.state.argon2;
                let verified = match lane {
                    Lane::Secrets => pool.verify_secret(CC_SECRET_HASH, &wrong).await,
                    Lane::Passwords => pool.verify_password(None, &wrong).await,
                };
                // Either argon2 ran and refused it, or the pool shed it.
                assert!(!verified.unwrap_or(false));
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.state.argon2.waiting(lane) < 16 {
        assert!(Instant::now() < deadline, "the flood never queued");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    (flood, app.state.argon2.waiting(lane) as u64)
}

/// At most: the request's own run, the one a worker was already running, and one of the
/// other lane per turn (one per worker). Far fewer than the queue it arrived behind.
fn assert_not_behind_the_queue(runs: u64, queued: u64) {
    assert!(
        runs < queued / 2,
        "{runs} argon2 runs while the request waited, behind {queued} queued in the other lane"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_does_not_wait_behind_a_queue_of_client_secrets() {
    let app = Arc::new(TestApp::new());
    // The example client's secret verified (and cached) first: the login then needs argon2
    // only for the user's password.
    let warm_up = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(warm_up.status, StatusCode::OK);
    let (flood, queued) = flood_lane(&app, Lane::Secrets).await;

    let before = argon2_runs(&app);
    let login = app.password_tokens().await;
    assert!(login["access_token"].is_string());
    assert_not_behind_the_queue(argon2_runs(&app) - before, queued);
    for request in flood {
        request.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_does_not_wait_behind_a_queue_of_logins() {
    let app = Arc::new(TestApp::new());
    let (flood, queued) = flood_lane(&app, Lane::Passwords).await;

    let before = argon2_runs(&app);
    let token = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CC_CLIENT, CC_SECRET)),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    assert_not_behind_the_queue(argon2_runs(&app) - before, queued);
    for request in flood {
        request.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_secrets_for_one_client_hold_one_place_in_the_pool_and_another_client_gets_its_first_token()
 {
    let app = Arc::new(TestApp::new());
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let shed = Arc::new(tokio::sync::Notify::new());
    // 300 connections sending wrong secrets for the reporting client until told to stop:
    // more than the client's turn can serve within its 2 s (at 10-80 ms an argon2 run).
    let flood: Vec<_> = (0..300)
        .map(|n| {
            let (app, stop, shed) = (app.clone(), stop.clone(), shed.clone());
            tokio::spawn(async move {
                let secret = format!("wrong-{n}");
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let response = app
                        .post_form(
                            "/token",
                            &[("grant_type", "client_credentials")],
                            Some((CC_CLIENT, &secret)),
                        )
                        .await;
                    match response.status {
                        StatusCode::UNAUTHORIZED => {}
                        StatusCode::SERVICE_UNAVAILABLE => shed.notify_one(),
                        other => panic!("{other}: {}", response.text()),
                    }
                }
            })
        })
        .collect();
    // A request shed means the flood has outlasted a client's turn (2 s): without the turn
    // as a bound, the rest would now have piled into the pool.
    let mut most_waiting = 0;
    let first_shed = shed.notified();
    tokio::pin!(first_shed);
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        most_waiting = most_waiting.max(app.state.argon2.waiting(Lane::Secrets));
        tokio::select! {
            () = &mut first_shed => break,
            () = tokio::time::sleep(Duration::from_millis(1)) => {}
        }
    }
    for _ in 0..100 {
        most_waiting = most_waiting.max(app.state.argon2.waiting(Lane::Secrets));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(
        most_waiting <= 1,
        "{most_waiting} wrong secrets of one client waiting in the pool"
    );

    // The example client's first request: its turn is free and at most one of the other
    // client's secrets is queued ahead of it. Runs meanwhile: the other client's running
    // and queued ones, this one, and with more workers one more of the other client's.
    let before = argon2_runs(&app);
    let token = app
        .post_form(
            "/token",
            &[("grant_type", "client_credentials")],
            Some((CLIENT_ID, CLIENT_SECRET)),
        )
        .await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text());
    let runs = argon2_runs(&app) - before;
    assert!(runs <= 4, "{runs} argon2 runs for one first token");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for connection in flood {
        connection.await.unwrap();
    }
}

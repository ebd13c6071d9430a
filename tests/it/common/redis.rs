//! Private Redis for the tests: a `redis-server` per test (free port, persistence off), stopped,
//! restarted, paused and resumed at will for fault tests; one shared server and one 3-master
//! Redis Cluster per test binary, started lazily. Never the machine's Redis on 6379.
//!
//! Every process has a watchdog that kills it once the test binary is gone, so the shared
//! ones (held in statics, which are never dropped) do not outlive the run.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    extra: Vec<String>,
    /// Environment of the server process (a shifted clock).
    env: Vec<(String, String)>,
    /// Its own directory: a replica's full sync writes an RDB file there, which a server
    /// started in a shared directory would load.
    dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// A server started with extra `redis-server` arguments (`--replicaof host port`).
    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_in(extra, Vec::new())
    }

    /// A server whose wall clock is `shift` seconds off this host's, as a Redis host whose
    /// clock is set wrong would be: `tests/fixtures/clock_shift.c`, built with the system's C
    /// compiler and preloaded.
    pub fn start_on_clock(shift: i64) -> Self {
        let env = vec![
            ("LD_PRELOAD".to_owned(), clock_shift_library().to_owned()),
            ("CLOCK_SHIFT_SECONDS".to_owned(), shift.to_string()),
        ];
        Self::start_in(&[], env)
    }

    fn start_in(extra: &[&str], env: Vec<(String, String)>) -> Self {
        let port = free_port();
        let mut server = RedisServer {
            port,
            child: None,
            extra: extra.iter().map(|s| s.to_string()).collect(),
            env,
            dir: tempfile::tempdir().unwrap(),
        };
        server.restart();
        server
    }

    /// One server for every test of the binary that does not stop or pause it; tests keep
    /// apart by a unique key prefix (`unique_prefix`), never FLUSHALL.
    pub fn shared() -> &'static RedisServer {
        static SHARED: OnceLock<RedisServer> = OnceLock::new();
        SHARED.get_or_init(RedisServer::start)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts (again) on the same port.
    pub fn restart(&mut self) {
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let child = spawn_redis(self.port, self.dir.path(), &extra, &self.env);
        self.child = Some(child);
        wait_for_ping(self.port);
    }

    /// Kills the server at once (SIGKILL), as a crash would: connections are refused until
    /// `restart`.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Freezes the server (SIGSTOP): connections hang until `resume`.
    pub fn pause(&self) {
        self.signal("STOP");
    }

    pub fn resume(&self) {
        self.signal("CONT");
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .args([&format!("-{signal}"), &child.id().to_string()])
                .status();
        }
    }

    /// Runs a redis-cli command against this server; its trimmed stdout.
    pub fn cli(&self, args: &[&str]) -> Option<String> {
        cli(self.port, args)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.resume();
        self.stop();
    }
}

/// `tests/fixtures/clock_shift.c` built once per test binary; its path.
fn clock_shift_library() -> &'static str {
    static BUILT: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    let (_, path) = BUILT.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let library = dir.path().join("clock_shift.so");
        let source = crate::common::repo_path("tests/fixtures/clock_shift.c");
        let built = Command::new("cc")
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&library)
            .arg(&source)
            .status()
            .expect("a C compiler (cc) builds the clock shim");
        assert!(built.success(), "cc could not build {}", source.display());
        let path = library.display().to_string();
        (dir, path)
    });
    path
}

/// A 3-master Redis Cluster on three free ports, its node files in a temporary directory.
pub struct RedisCluster {
    pub ports: [u16; 3],
    _dir: tempfile::TempDir,
    _children: Vec<Child>,
}

impl RedisCluster {
    /// The cluster of this test binary, created on first use.
    pub fn shared() -> &'static RedisCluster {
        static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
        CLUSTER.get_or_init(RedisCluster::start)
    }

    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let ports = [cluster_port(), cluster_port(), cluster_port()];
        let children = ports
            .iter()
            .map(|&port| {
                let conf = dir.path().join(format!("nodes-{port}.conf"));
                let child = spawn_redis(
                    port,
                    dir.path(),
                    &[
                        "--cluster-enabled",
                        "yes",
                        "--cluster-config-file",
                        &conf.display().to_string(),
                    ],
                    &[],
                );
                wait_for_ping(port);
                child
            })
            .collect();
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let created = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("redis-cli is installed (apt-get install redis-tools)");
        assert!(created.success(), "redis-cli --cluster create failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        for &port in &ports {
            while !cli(port, &["CLUSTER", "INFO"])
                .is_some_and(|info| info.contains("cluster_state:ok"))
            {
                assert!(
                    Instant::now() < deadline,
                    "the cluster did not reach state ok"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        RedisCluster {
            ports,
            _dir: dir,
            _children: children,
        }
    }

    /// `TS_REDIS_URL` for this cluster (with `TS_REDIS_CLUSTER=true`).
    pub fn urls(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A key prefix no other test uses: `t<pid>-<n>-<label>:`.
pub fn unique_prefix(label: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    format!("t{}-{n}-{label}:", std::process::id())
}

/// A `redis-server` on `port` with its files in `dir` (never the checkout, never shared).
fn spawn_redis(
    port: u16,
    dir: &std::path::Path,
    extra: &[&str],
    env: &[(String, String)],
) -> Child {
    let child = Command::new("redis-server")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--port", &port.to_string()])
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--dir", &dir.display().to_string()])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server is installed (apt-get install redis-server)");
    watchdog(child.id());
    child
}

/// Kills `pid` once this test process has exited, however it exits.
fn watchdog(pid: u32) {
    let me = std::process::id();
    let script = format!(
        "while kill -0 {me} 2>/dev/null; do sleep 1; done; kill -CONT {pid} 2>/dev/null; kill {pid} 2>/dev/null"
    );
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

fn wait_for_ping(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while cli(port, &["PING"]).as_deref() != Some("PONG") {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn cli(port: u16, args: &[&str]) -> Option<String> {
    let output = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// A free port whose cluster bus port (port + 10000) is free too.
fn cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port < 55000 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A primary, two replicas and three Sentinels watching them (quorum 2), all on free
/// loopback ports, their Sentinel configs in a temporary directory.
pub struct SentinelSet {
    pub primary: RedisServer,
    pub replicas: Vec<RedisServer>,
    pub sentinel_ports: Vec<u16>,
    _sentinels: Vec<Child>,
    _dir: tempfile::TempDir,
}

/// The master name the Sentinels of `SentinelSet` watch.
pub const MASTER_NAME: &str = "tsmaster";

impl SentinelSet {
    pub fn start() -> Self {
        let primary = RedisServer::start();
        let replicas: Vec<RedisServer> = (0..2)
            .map(|_| {
                RedisServer::start_with(&["--replicaof", "127.0.0.1", &primary.port.to_string()])
            })
            .collect();
        for replica in &replicas {
            wait_until(Duration::from_secs(10), "a replica in sync", || {
                replica
                    .cli(&["INFO", "replication"])
                    .is_some_and(|info| info.contains("master_link_status:up"))
            });
        }
        let dir = tempfile::tempdir().unwrap();
        let sentinel_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let sentinels = sentinel_ports
            .iter()
            .map(|&port| {
                let conf = dir.path().join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &conf,
                    format!(
                        "port {port}\nbind 127.0.0.1\ndir {dir}\n\
                         sentinel monitor {MASTER_NAME} 127.0.0.1 {primary} 2\n\
                         sentinel down-after-milliseconds {MASTER_NAME} 1000\n\
                         sentinel failover-timeout {MASTER_NAME} 10000\n\
                         sentinel parallel-syncs {MASTER_NAME} 2\n",
                        dir = dir.path().display(),
                        primary = primary.port,
                    ),
                )
                .unwrap();
                let child = Command::new("redis-server")
                    .arg(&conf)
                    .arg("--sentinel")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .expect("redis-server is installed (apt-get install redis-server)");
                watchdog(child.id());
                wait_for_ping(port);
                child
            })
            .collect();
        let set = SentinelSet {
            primary,
            replicas,
            sentinel_ports,
            _sentinels: sentinels,
            _dir: dir,
        };
        // Each Sentinel must know the replicas and the other two, or it cannot fail over.
        for &port in &set.sentinel_ports {
            wait_until(
                Duration::from_secs(20),
                "Sentinels that know each other",
                || {
                    cli(port, &["SENTINEL", "SENTINELS", MASTER_NAME])
                        .is_some_and(|s| s.matches("runid").count() == 2)
                        && cli(port, &["SENTINEL", "REPLICAS", MASTER_NAME])
                            .is_some_and(|r| r.matches("runid").count() == 2)
                },
            );
        }
        set
    }

    /// `TS_REDIS_URL` listing the Sentinels (with `TS_REDIS_SENTINEL`).
    pub fn urls(&self) -> String {
        self.sentinel_ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The port of the primary the Sentinels name now.
    pub fn primary_port(&self) -> Option<u16> {
        let answer = cli(
            self.sentinel_ports[0],
            &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", MASTER_NAME],
        )?;
        answer.lines().nth(1)?.trim().parse().ok()
    }

    /// Asks the Sentinels to fail the primary over to a replica.
    pub fn failover(&self) {
        let answer = cli(
            self.sentinel_ports[0],
            &["SENTINEL", "FAILOVER", MASTER_NAME],
        );
        assert_eq!(answer.as_deref(), Some("OK"), "SENTINEL FAILOVER");
    }

    /// Waits until the Sentinels name a primary other than the one on `old` port, and it
    /// answers as a primary.
    pub fn wait_for_new_primary(&self, old: u16, within: Duration) -> u16 {
        let mut promoted = 0;
        wait_until(within, "a new primary", || match self.primary_port() {
            Some(port) if port != old => {
                promoted = port;
                cli(port, &["ROLE"]).is_some_and(|role| role.starts_with("master"))
            }
            _ => false,
        });
        promoted
    }
}

fn wait_until(within: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

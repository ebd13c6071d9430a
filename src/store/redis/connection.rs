//! Connections to Redis in its three topologies: one server, a Redis Cluster, or the primary
//! that Redis Sentinel names (README, "Redis"), followed across failovers. Every operation is
//! bounded in time; a write can be made to wait for replicas (`WAIT`, in the same round trip).

use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::cluster_async::ClusterConnection;
use redis::sentinel::{SentinelClient, SentinelNodeConnectionInfo, SentinelServerType};
use redis::{
    AsyncConnectionConfig, Cmd, ErrorKind, FromRedisValue, IntoConnectionInfo, Pipeline,
    RedisFuture, RedisResult, Script, ServerErrorKind, ToRedisArgs, Value,
};
use tokio::sync::OnceCell;

use crate::store::{StoreError, StoreResult};

use super::timing::{CONNECT_TIMEOUT, REPLICAS_MISSING, RESPONSE_TIMEOUT, WAIT_MILLIS};

/// Where the Redis of the service is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topology {
    /// One server (or a primary behind a stable address).
    Single(String),
    /// A Redis Cluster, by some of its nodes.
    Cluster(Vec<String>),
    /// The primary of `master`, as the Sentinels at `sentinels` name it.
    Sentinel {
        sentinels: Vec<String>,
        master: String,
    },
}

/// A connection to any of the topologies, cheap to clone.
#[derive(Clone)]
pub enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
    /// To a Sentinel-found primary, or a connection of its own (`Connection::dedicated`).
    Multiplexed(MultiplexedConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
            Conn::Multiplexed(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Multiplexed(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
            Conn::Multiplexed(c) => c.get_db(),
        }
    }
}

enum Target {
    /// The manager every operation shares, and the client for connections of their own.
    Single(Box<(ConnectionManager, redis::Client)>),
    /// A cluster connection needs the cluster up to be made; it is made on first use.
    Cluster(Box<(redis::cluster::ClusterClient, OnceCell<ClusterConnection>)>),
    Sentinel(Box<Sentinel>),
}

/// The primary as the Sentinels last named it. A connection that fails, times out or finds
/// a replica (`READONLY`) is dropped, and the next operation asks the Sentinels again: that
/// is how a failover is followed.
struct Sentinel {
    client: tokio::sync::Mutex<SentinelClient>,
    primary: RwLock<Option<MultiplexedConnection>>,
    /// The last primary found, kept when its connection is dropped: an undo goes there
    /// without waiting for the Sentinels (whose client a reconnection may hold).
    last_primary: RwLock<Option<redis::Client>>,
    /// Loaded into each primary found: a promoted replica has none of the scripts, and a
    /// write that waits for replicas cannot afford a `NOSCRIPT` round trip.
    scripts: Vec<Script>,
}

impl Sentinel {
    fn cached(&self) -> Option<MultiplexedConnection> {
        self.primary.read().ok().and_then(|p| p.clone())
    }

    async fn connect(&self) -> RedisResult<MultiplexedConnection> {
        let mut client = self.client.lock().await;
        // Another request may have found the primary while this one waited.
        if let Some(primary) = self.cached() {
            return Ok(primary);
        }
        let found = client.async_get_client().await?;
        let mut primary = found
            .get_multiplexed_async_connection_with_config(&connection_config())
            .await?;
        for script in &self.scripts {
            script.load_async(&mut primary).await?;
        }
        if let Ok(mut cached) = self.primary.write() {
            *cached = Some(primary.clone());
        }
        if let Ok(mut last) = self.last_primary.write() {
            *last = Some(found);
        }
        tracing::info!("connected to the primary named by Redis Sentinel");
        Ok(primary)
    }

    fn forget(&self) {
        if let Ok(mut cached) = self.primary.write() {
            *cached = None;
        }
    }
}

/// The service's connection to its Redis, and how many replicas must acknowledge a write.
pub struct Connection {
    target: Target,
    wait_replicas: u32,
    /// Until when (milliseconds since `started`) writes skip Redis: see `REPLICAS_MISSING`.
    replicas_missing_until: AtomicU64,
    started: Instant,
}

fn connection_config() -> AsyncConnectionConfig {
    AsyncConnectionConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(None)
}

/// Why `TS_REDIS_URL` names no Redis the service can use.
#[derive(Debug)]
pub enum UrlError {
    /// Sentinel, but no Sentinel URL.
    NoSentinel,
    /// A URL the redis crate does not take.
    Redis(redis::RedisError),
}

impl std::fmt::Display for UrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UrlError::NoSentinel => f.write_str("TS_REDIS_URL: no Sentinel URL"),
            UrlError::Redis(error) => write!(f, "TS_REDIS_URL: {error}"),
        }
    }
}

impl std::error::Error for UrlError {}

impl Connection {
    /// Prepares the connection. Does not connect: Redis may be down at start-up and the
    /// service must still start (docs/design.md, "Load, faults and bad input").
    pub fn new(
        topology: &Topology,
        wait_replicas: u32,
        scripts: Vec<Script>,
    ) -> Result<Self, UrlError> {
        let target = match topology {
            Topology::Single(url) => {
                let client = redis::Client::open(url.as_str()).map_err(UrlError::Redis)?;
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECT_TIMEOUT))
                    .set_response_timeout(None)
                    .set_number_of_retries(1)
                    .set_min_delay(Duration::from_millis(20))
                    .set_max_delay(Duration::from_millis(200));
                let manager = ConnectionManager::new_lazy_with_config(client.clone(), config)
                    .map_err(UrlError::Redis)?;
                Target::Single(Box::new((manager, client)))
            }
            Topology::Cluster(nodes) => {
                let client = redis::cluster::ClusterClientBuilder::new(nodes.clone())
                    .connection_timeout(CONNECT_TIMEOUT)
                    .response_timeout(RESPONSE_TIMEOUT)
                    .retries(1)
                    .build()
                    .map_err(UrlError::Redis)?;
                Target::Cluster(Box::new((client, OnceCell::new())))
            }
            Topology::Sentinel { sentinels, master } => {
                // The primary is reached with the credentials, database and TLS of the first
                // Sentinel URL.
                let first = sentinels
                    .first()
                    .ok_or(UrlError::NoSentinel)?
                    .as_str()
                    .into_connection_info()
                    .map_err(UrlError::Redis)?;
                let node = SentinelNodeConnectionInfo::default()
                    .set_redis_connection_info(first.redis_settings().clone());
                let client = SentinelClient::build(
                    sentinels.iter().map(String::as_str).collect(),
                    master.as_str(),
                    Some(node),
                    SentinelServerType::Master,
                )
                .map_err(UrlError::Redis)?;
                Target::Sentinel(Box::new(Sentinel {
                    client: tokio::sync::Mutex::new(client),
                    primary: RwLock::new(None),
                    last_primary: RwLock::new(None),
                    scripts,
                }))
            }
        };
        Ok(Connection {
            target,
            wait_replicas,
            replicas_missing_until: AtomicU64::new(0),
            started: Instant::now(),
        })
    }

    /// Replicas that must acknowledge each write, if any.
    pub fn wait_replicas(&self) -> Option<u32> {
        (self.wait_replicas > 0).then_some(self.wait_replicas)
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a write its replicas did not acknowledge was seen in the last
    /// `REPLICAS_MISSING`: writes that must wait for them then answer 503 at once.
    pub fn replicas_missing(&self) -> bool {
        self.wait_replicas > 0
            && self.millis() < self.replicas_missing_until.load(Ordering::Relaxed)
    }

    /// Records a write its replicas did not acknowledge.
    pub fn unacknowledged(&self) {
        let until = self.millis() + REPLICAS_MISSING.as_millis() as u64;
        self.replicas_missing_until.store(until, Ordering::Relaxed);
    }

    async fn conn(&self) -> RedisResult<Conn> {
        match &self.target {
            Target::Single(single) => Ok(Conn::Single(single.0.clone())),
            Target::Cluster(cluster) => cluster
                .1
                .get_or_try_init(|| cluster.0.get_async_connection())
                .await
                .map(|c| Conn::Cluster(c.clone())),
            Target::Sentinel(sentinel) => match sentinel.cached() {
                Some(primary) => Ok(Conn::Multiplexed(primary)),
                None => sentinel.connect().await.map(Conn::Multiplexed),
            },
        }
    }

    /// A new connection used by nothing else: for an undo that must not queue behind writes
    /// held by `WAIT` on the shared one. With Sentinel it goes to the last primary found,
    /// where the write to undo went (an undo that finds nothing to undo does nothing). A
    /// cluster has no `WAIT`: its shared connection serves.
    async fn dedicated(&self) -> RedisResult<Conn> {
        let client = match &self.target {
            Target::Single(single) => single.1.clone(),
            Target::Cluster(_) => return self.conn().await,
            Target::Sentinel(sentinel) => {
                let last = sentinel.last_primary.read().ok().and_then(|c| c.clone());
                match last {
                    Some(client) => client,
                    None => sentinel.client.lock().await.async_get_client().await?,
                }
            }
        };
        client
            .get_multiplexed_async_connection_with_config(&connection_config())
            .await
            .map(Conn::Multiplexed)
    }

    /// Runs one operation within `limit`; an error or a timeout is `Unavailable`, and makes a
    /// Sentinel-found primary be looked up again.
    ///
    /// The operation, its connecting and its timer are boxed: they take kilobytes, and a
    /// future holds room for every future it may await, so without the box every store
    /// operation's future, and every request's that may await one, would carry (and move,
    /// and copy into its task) that room on every request, on the memory store too
    /// (docs/design.md, "Small futures"). One allocation is nothing beside a round trip.
    pub async fn run_within<T, F, Fut>(&self, limit: Duration, op: F) -> StoreResult<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let work = async { op(self.conn().await?).await };
        self.classify(Box::pin(tokio::time::timeout(limit, work)).await)
    }

    /// An operation on a connection of its own (`dedicated`), within `limit`.
    pub async fn run_dedicated_within<T, F, Fut>(&self, limit: Duration, op: F) -> StoreResult<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        let work = async { op(self.dedicated().await?).await };
        self.classify(Box::pin(tokio::time::timeout(limit, work)).await)
    }

    /// An operation's outcome: an error or a timeout is `Unavailable`, and makes a
    /// Sentinel-found primary be looked up again. Whether a write that failed ran or not does
    /// not matter to any decision (`rotation`), so it is not told apart.
    fn classify<T>(
        &self,
        outcome: Result<RedisResult<T>, tokio::time::error::Elapsed>,
    ) -> StoreResult<T> {
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => {
                if is_connection_error(&error) {
                    self.forget_primary();
                }
                Err(StoreError::Unavailable(error.to_string()))
            }
            Err(_) => {
                self.forget_primary();
                Err(StoreError::Unavailable(
                    "redis did not answer in time".into(),
                ))
            }
        }
    }

    fn forget_primary(&self) {
        if let Target::Sentinel(sentinel) = &self.target {
            sentinel.forget();
        }
    }
}

/// Errors after which the connection may lead to a dead or demoted server.
fn is_connection_error(error: &redis::RedisError) -> bool {
    error.is_io_error()
        || error.is_connection_dropped()
        || error.is_timeout()
        || matches!(
            error.kind(),
            ErrorKind::Server(ServerErrorKind::ReadOnly | ServerErrorKind::MasterDown)
        )
}

/// One call of a script on one key, by its SHA-1 (`EVALSHA`), written straight into the
/// command that is sent: `ScriptInvocation` keeps each argument in a buffer of its own and
/// copies them all into a new command at every call.
pub struct ScriptCall<'a> {
    script: &'a Script,
    cmd: Cmd,
}

impl<'a> ScriptCall<'a> {
    pub fn new(script: &'a Script, key: &str) -> Self {
        let mut cmd = Cmd::with_capacity(16, 256);
        cmd.arg("EVALSHA").arg(script.get_hash()).arg(1).arg(key);
        ScriptCall { script, cmd }
    }

    /// Adds the next `ARGV` of the script.
    pub fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Self {
        self.cmd.arg(arg);
        self
    }
}

/// Runs a script that writes. With `wait`, `WAIT n` follows in the same round trip, and the
/// answer says whether `n` replicas acknowledged the write. A server without the script
/// (new, restarted, or a failover) gets it loaded and the call sent again.
pub async fn write_script<T: FromRedisValue>(
    conn: &mut Conn,
    call: &ScriptCall<'_>,
    wait: Option<u32>,
) -> RedisResult<(T, bool)> {
    let Some(replicas) = wait else {
        let value = match call.cmd.query_async::<T>(conn).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                call.script.load_async(conn).await?;
                call.cmd.query_async::<T>(conn).await?
            }
            other => other?,
        };
        return Ok((value, true));
    };
    let mut pipe = redis::pipe();
    pipe.add_command(call.cmd.clone())
        .cmd("WAIT")
        .arg(replicas)
        .arg(WAIT_MILLIS);
    let answer = match pipe.query_async::<(T, u32)>(conn).await {
        Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
            call.script.load_async(conn).await?;
            pipe.query_async::<(T, u32)>(conn).await?
        }
        other => other?,
    };
    Ok((answer.0, answer.1 >= replicas))
}

/// Runs a pipeline of writes (`atomic` or one command), followed by `WAIT` as for scripts.
/// Its replies are ignored.
pub async fn write_pipe(
    conn: &mut Conn,
    mut pipe: Pipeline,
    wait: Option<u32>,
) -> RedisResult<bool> {
    let Some(replicas) = wait else {
        return pipe.query_async::<()>(conn).await.map(|()| true);
    };
    pipe.cmd("WAIT").arg(replicas).arg(WAIT_MILLIS);
    let replies: Vec<Value> = pipe.query_async(conn).await?;
    let acknowledged = replies
        .last()
        .and_then(|v| u32::from_redis_value(v.clone()).ok())
        .unwrap_or(0);
    Ok(acknowledged >= replicas)
}

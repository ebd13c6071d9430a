//! The Redis backend, shared by every replica. Single use is decided inside Redis by Lua
//! scripts that each touch one key, so every operation also works on Redis Cluster.
//!
//! Keys (`p` is `TS_REDIS_PREFIX`; every key gets a TTL):
//! - `p:rf:{<family>}`: the one key of a refresh-token family, which every token names
//!   (SPEC §7): `grant` (JSON), `cid` and `scope` (for the scripts), `revoked`, and
//!   `t:<hash of secret>` = `issued:expires[:used]` for each live secret; a used secret's field
//!   is dropped after the grace window, so the key's size is constant over any number of
//!   rotations, and a token of this family whose field is gone is reuse
//! - `p:ac:<hash>`: authorization code: `rec`, `exp` and `cid` (the client it was issued
//!   to, checked before anything is spent); once redeemed also `fam`, all kept for the
//!   refresh TTL so that a replay at any time revokes that family
//! - `p:ss:<hash>`: SSO session
//! - `p:lf:<sha256(username)>`: failed logins, times in milliseconds: `n`, `until`
//!   (throttled until), `last` (last failure; the count restarts 15 minutes after it, by the
//!   `now` passed in), `inf` and `infu` (attempts in flight, and when their reservation lapses)

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, Pipeline, RedisFuture, Script, Value};
use tokio::sync::OnceCell;

use super::{
    Attempt, CodeRecord, CodeRedemption, Grant, Hashed, IN_FLIGHT_WAIT_MILLIS, RESERVATION_MILLIS,
    RefreshInfo, RefreshPolicy, RefreshToken, Rotate, Rotation, Session, StoreError, StoreHealth,
    StoreReport, StoreResult, THROTTLE_MAX_WAIT, THROTTLE_WINDOW,
};
use crate::clock::{UnixMillis, UnixTime};

/// Every store operation answers within this (SPEC §8: 503 within 1 s when Redis refuses
/// connections, 2 s when it hangs).
const OPERATION_TIMEOUT: Duration = Duration::from_millis(900);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(800);
/// After a write answered too late, how long the look at whether it took effect may take:
/// together with `OPERATION_TIMEOUT` still within SPEC §8's 2 s.
const RECOVERY_TIMEOUT: Duration = Duration::from_millis(700);
/// `/readyz` answers well within a probe's usual 1 s timeout even with Redis hung.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(300);

const CREATE_FAMILY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'grant', ARGV[1], 'cid', ARGV[6], 'scope', ARGV[7],
  't:' .. ARGV[2], ARGV[3] .. ':' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"#;

const ROTATE: &str = r#"
local f = KEYS[1]
local old, new = 't:' .. ARGV[1], 't:' .. ARGV[2]
local now, ttl, grace = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local grant = redis.call('HGET', f, 'grant')
if not grant or redis.call('HEXISTS', f, 'revoked') == 1 then return {0, false} end
if redis.call('HGET', f, 'cid') ~= ARGV[6] then return {0, false} end
local state = redis.call('HGET', f, old)
if not state then
  redis.call('HSET', f, 'revoked', '1')
  return {2, false}
end
local issued, exp, used = string.match(state, '^(%d+):(%d+):?(%d*)$')
if tonumber(exp) <= now then return {0, false} end
if used ~= '' and (grace == 0 or now >= tonumber(used) + grace) then
  redis.call('HSET', f, 'revoked', '1')
  return {2, false}
end
if ARGV[7] ~= '' then
  local granted = ' ' .. (redis.call('HGET', f, 'scope') or '') .. ' '
  for token in string.gmatch(ARGV[7], '%S+') do
    if not string.find(granted, ' ' .. token .. ' ', 1, true) then return {3, false} end
  end
end
if used == '' then
  redis.call('HSET', f, old, issued .. ':' .. exp .. ':' .. now)
end
local fields = redis.call('HGETALL', f)
for i = 1, #fields, 2 do
  local k = fields[i]
  if string.sub(k, 1, 2) == 't:' then
    local u = string.match(fields[i + 1], '^%d+:%d+:(%d+)$')
    if u and (grace == 0 or now >= tonumber(u) + grace) then redis.call('HDEL', f, k) end
  end
end
redis.call('HSET', f, new, now .. ':' .. (now + ttl))
if redis.call('TTL', f) < ttl then redis.call('EXPIRE', f, ttl) end
return {1, grant}
"#;

const REVOKE_FAMILY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
else
  redis.call('HSET', KEYS[1], 'revoked', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1
"#;

const REVOKE_OWNED_FAMILY: &str = r#"
if redis.call('HGET', KEYS[1], 'cid') == ARGV[1] then redis.call('HSET', KEYS[1], 'revoked', '1') end
return 1
"#;

const REDEEM_CODE: &str = r#"
if redis.call('HGET', KEYS[1], 'cid') ~= ARGV[4] then return {0, false} end
local fam = redis.call('HGET', KEYS[1], 'fam')
if fam then return {2, fam} end
local rec = redis.call('HGET', KEYS[1], 'rec')
if not rec or tonumber(redis.call('HGET', KEYS[1], 'exp')) <= tonumber(ARGV[2]) then return {0, false} end
redis.call('HSET', KEYS[1], 'fam', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, rec}
"#;

/// Shared by the login scripts: forget failures older than the window (ARGV[2], ms) and
/// reservations that lapsed, by `now` (ARGV[1], ms). Times are milliseconds.
const LOGIN_SETTLE: &str = r#"
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local f = KEYS[1]
if now >= tonumber(redis.call('HGET', f, 'last') or '0') + window then
  redis.call('HDEL', f, 'n', 'until', 'last')
end
if now >= tonumber(redis.call('HGET', f, 'infu') or '0') then
  redis.call('HDEL', f, 'inf', 'infu')
end
redis.call('EXPIRE', f, math.ceil(window / 1000))
"#;

const RESERVE_LOGIN: &str = r#"
local n = tonumber(redis.call('HGET', f, 'n') or '0')
local held = tonumber(redis.call('HGET', f, 'until') or '0')
if held > now then return held - now end
local max = tonumber(ARGV[3])
local allowed = math.max(max - n, 1)
if tonumber(redis.call('HGET', f, 'inf') or '0') >= allowed then return tonumber(ARGV[5]) end
redis.call('HINCRBY', f, 'inf', 1)
redis.call('HSET', f, 'infu', string.format('%d', now + tonumber(ARGV[4])))
return 0
"#;

const LOGIN_FAILED: &str = r#"
if tonumber(redis.call('HGET', f, 'inf') or '0') > 0 then redis.call('HINCRBY', f, 'inf', -1) end
local n = redis.call('HINCRBY', f, 'n', 1)
local max = tonumber(ARGV[3])
if n >= max then
  local wait = math.min(2 ^ math.min(n - max, 16), tonumber(ARGV[4]))
  redis.call('HSET', f, 'until', string.format('%d', now + wait * 1000))
end
redis.call('HSET', f, 'last', ARGV[1])
return n
"#;

const LOGIN_RELEASED: &str = r#"
if tonumber(redis.call('HGET', KEYS[1], 'inf') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'inf', -1)
end
return 1
"#;

/// A connection to one Redis or to a Redis Cluster; both reconnect by themselves.
#[derive(Clone)]
enum Conn {
    Single(ConnectionManager),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
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
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

enum Target {
    Single(ConnectionManager),
    /// A cluster connection needs the cluster up to be made; it is made on first use.
    Cluster(Box<(redis::cluster::ClusterClient, OnceCell<ClusterConnection>)>),
}

pub struct RedisStore {
    target: Target,
    prefix: String,
    scripts: Scripts,
    eviction_warned: Mutex<Option<Instant>>,
}

/// How often a Redis that may evict keys is warned about.
const EVICTION_WARNING_INTERVAL: Duration = Duration::from_secs(600);

struct Scripts {
    create_family: Script,
    rotate: Script,
    revoke_family: Script,
    revoke_owned_family: Script,
    redeem_code: Script,
    reserve_login: Script,
    login_failed: Script,
    login_released: Script,
}

impl RedisStore {
    /// Prepares a client for `url` (or a comma-separated node list with `cluster`). Does not
    /// connect: Redis may be down at start-up and the service must still start (SPEC §8).
    pub fn new(url: &str, cluster: bool, prefix: &str) -> Result<Self, String> {
        let target = if cluster {
            let nodes: Vec<&str> = url.split(',').map(str::trim).collect();
            let client = redis::cluster::ClusterClientBuilder::new(nodes)
                .connection_timeout(CONNECT_TIMEOUT)
                .response_timeout(RESPONSE_TIMEOUT)
                .retries(1)
                .build()
                .map_err(|e| format!("TS_REDIS_URL: {e}"))?;
            Target::Cluster(Box::new((client, OnceCell::new())))
        } else {
            let client = redis::Client::open(url).map_err(|e| format!("TS_REDIS_URL: {e}"))?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(CONNECT_TIMEOUT))
                .set_response_timeout(Some(RESPONSE_TIMEOUT))
                .set_number_of_retries(1)
                .set_min_delay(Duration::from_millis(20))
                .set_max_delay(Duration::from_millis(200));
            let manager = ConnectionManager::new_lazy_with_config(client, config)
                .map_err(|e| format!("TS_REDIS_URL: {e}"))?;
            Target::Single(manager)
        };
        Ok(RedisStore {
            target,
            eviction_warned: Mutex::new(None),
            prefix: prefix.to_owned(),
            scripts: Scripts {
                create_family: Script::new(CREATE_FAMILY),
                rotate: Script::new(ROTATE),
                revoke_family: Script::new(REVOKE_FAMILY),
                revoke_owned_family: Script::new(REVOKE_OWNED_FAMILY),
                redeem_code: Script::new(REDEEM_CODE),
                reserve_login: Script::new(&format!("{LOGIN_SETTLE}{RESERVE_LOGIN}")),
                login_failed: Script::new(&format!("{LOGIN_SETTLE}{LOGIN_FAILED}")),
                login_released: Script::new(LOGIN_RELEASED),
            },
        })
    }

    async fn conn(&self) -> StoreResult<Conn> {
        match &self.target {
            Target::Single(manager) => Ok(Conn::Single(manager.clone())),
            Target::Cluster(cluster) => cluster
                .1
                .get_or_try_init(|| cluster.0.get_async_connection())
                .await
                .map(|c| Conn::Cluster(c.clone()))
                .map_err(|e| StoreError::Unavailable(e.to_string())),
        }
    }

    /// Runs one store operation within `OPERATION_TIMEOUT`.
    async fn run<T, F, Fut>(&self, op: F) -> StoreResult<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.run_within(OPERATION_TIMEOUT, op).await
    }

    async fn run_within<T, F, Fut>(&self, limit: Duration, op: F) -> StoreResult<T>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let work = async {
            let conn = self.conn().await?;
            op(conn)
                .await
                .map_err(|e| StoreError::Unavailable(e.to_string()))
        };
        tokio::time::timeout(limit, work)
            .await
            .map_err(|_| StoreError::Unavailable("redis did not answer in time".into()))?
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn family_key(&self, family: &str) -> String {
        format!("{}rf:{{{family}}}", self.prefix)
    }

    fn login_key(&self, username: &str) -> String {
        self.key("lf", &crate::token::sha256_b64(username.as_bytes()))
    }

    async fn revoke_family(&self, family: &str, ttl: u64) -> StoreResult<()> {
        let key = self.family_key(family);
        self.run(|mut c| async move {
            self.scripts
                .revoke_family
                .key(key)
                .arg(ttl)
                .invoke_async::<i64>(&mut c)
                .await
                .map(drop)
        })
        .await
    }

    pub async fn create_family(
        &self,
        token: &RefreshToken,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        let (grant_client, grant_scope) = (grant.client_id.clone(), grant.scope.to_string());
        let grant = encode(grant)?;
        let key = self.family_key(&token.family);
        self.run(|mut c| async move {
            self.scripts
                .create_family
                .key(key)
                .arg(grant)
                .arg(token.secret.as_str())
                .arg(now)
                .arg(now + policy.ttl)
                .arg(policy.ttl)
                .arg(&grant_client)
                .arg(&grant_scope)
                .invoke_async::<i64>(&mut c)
                .await
                .map(|created| created == 1)
        })
        .await
    }

    /// One script call on the family's one key (SPEC §7). If Redis answers too late, one more
    /// look tells whether the rotation took effect, so the client gets the tokens it caused
    /// rather than a 503 whose retry would look like reuse.
    pub async fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        let Rotate { old, new, now, .. } = *rotate;
        let scope = rotate.scope.map(|s| s.to_string()).unwrap_or_default();
        let key = self.family_key(&old.family);
        let outcome: StoreResult<(i64, Option<String>)> = self
            .run(|mut c| {
                let key = key.clone();
                async move {
                    self.scripts
                        .rotate
                        .key(key)
                        .arg(old.secret.as_str())
                        .arg(new.as_str())
                        .arg(now)
                        .arg(policy.ttl)
                        .arg(policy.reuse_grace)
                        .arg(rotate.client_id)
                        .arg(scope)
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await;
        let (outcome, grant) = match outcome {
            Ok(answer) => answer,
            Err(error) => match self.rotation_landed(&key, new).await {
                Some(grant) => (1, Some(grant)),
                None => return Err(error),
            },
        };
        Ok(match (outcome, grant) {
            (1, Some(grant)) => Rotation::Rotated(decode(&grant)?),
            (2, _) => Rotation::Reused,
            (3, _) => Rotation::ScopeExceeded,
            _ => Rotation::Invalid,
        })
    }

    /// The family's grant if `new` is one of its live secrets: the rotation that failed to
    /// answer in time did take effect. Sent on the same connection after the script, so Redis
    /// answers it after the script ran.
    async fn rotation_landed(&self, key: &str, new: &Hashed) -> Option<String> {
        let field = format!("t:{}", new.as_str());
        let look = self
            .run_within(RECOVERY_TIMEOUT, |mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("grant")
                    .arg("revoked")
                    .arg(field)
                    .query_async::<(Option<String>, Option<String>, Option<String>)>(&mut c)
                    .await
            })
            .await;
        match look {
            Ok((Some(grant), None, Some(_))) => {
                tracing::warn!("a rotation answered late took effect: answering its tokens");
                Some(grant)
            }
            _ => None,
        }
    }

    pub async fn refresh_info(
        &self,
        token: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        let key = self.family_key(&token.family);
        let field = format!("t:{}", token.secret.as_str());
        let (grant, revoked, state): (Option<String>, Option<String>, Option<String>) = self
            .run(|mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("grant")
                    .arg("revoked")
                    .arg(field)
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let (Some(grant), None, Some(state)) = (grant, revoked, state) else {
            return Ok(None);
        };
        let mut parts = state.split(':');
        let issued_at = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let expires_at: UnixTime = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        if parts.next().is_some() || expires_at <= now {
            return Ok(None);
        }
        Ok(Some(RefreshInfo {
            grant: decode(&grant)?,
            issued_at,
            expires_at,
        }))
    }

    pub async fn revoke_refresh(&self, token: &RefreshToken, client_id: &str) -> StoreResult<()> {
        let key = self.family_key(&token.family);
        self.run(|mut c| async move {
            self.scripts
                .revoke_owned_family
                .key(key)
                .arg(client_id)
                .invoke_async::<i64>(&mut c)
                .await
                .map(drop)
        })
        .await
    }

    pub async fn put_code(&self, code: &Hashed, record: &CodeRecord, ttl: u64) -> StoreResult<()> {
        let key = self.key("ac", code.as_str());
        let rec = encode(record)?;
        self.run(|mut c| async move {
            redis::pipe()
                .atomic()
                .hset_multiple(
                    &key,
                    &[
                        ("rec", rec),
                        ("exp", record.expires_at.to_string()),
                        ("cid", record.grant.client_id.clone()),
                    ],
                )
                .ignore()
                .expire(&key, ttl as i64)
                .ignore()
                .query_async(&mut c)
                .await
        })
        .await
    }

    pub async fn redeem_code(
        &self,
        code: &Hashed,
        client_id: &str,
        family: &str,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<CodeRedemption> {
        let key = self.key("ac", code.as_str());
        let answer: StoreResult<(i64, Option<String>)> = self
            .run(|mut c| {
                let key = key.clone();
                async move {
                    self.scripts
                        .redeem_code
                        .key(key)
                        .arg(family)
                        .arg(now)
                        .arg(policy.ttl)
                        .arg(client_id)
                        .invoke_async(&mut c)
                        .await
                }
            })
            .await;
        // As for rotations: a redemption answered too late may have taken effect.
        let (outcome, value) = match answer {
            Ok(answer) => answer,
            Err(error) => match self.redemption_landed(&key, family).await {
                Some(record) => (1, Some(record)),
                None => return Err(error),
            },
        };
        match (outcome, value) {
            (1, Some(record)) => Ok(CodeRedemption::Redeemed(decode(&record)?)),
            (2, Some(issued)) => {
                self.revoke_family(&issued, policy.ttl).await?;
                Ok(CodeRedemption::Replayed)
            }
            _ => Ok(CodeRedemption::Unknown),
        }
    }

    /// The code's record if it was spent for `family`, the family this request chose.
    async fn redemption_landed(&self, key: &str, family: &str) -> Option<String> {
        let look = self
            .run_within(RECOVERY_TIMEOUT, |mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("fam")
                    .arg("rec")
                    .query_async::<(Option<String>, Option<String>)>(&mut c)
                    .await
            })
            .await;
        match look {
            Ok((Some(spent_for), Some(record))) if spent_for == family => {
                tracing::warn!("a code redemption answered late took effect: answering its tokens");
                Some(record)
            }
            _ => None,
        }
    }

    pub async fn put_session(&self, id: &Hashed, session: &Session, ttl: u64) -> StoreResult<()> {
        let key = self.key("ss", id.as_str());
        let value = encode(session)?;
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("EX")
                .arg(ttl)
                .query_async(&mut c)
                .await
        })
        .await
    }

    pub async fn session(&self, id: &Hashed, now: UnixTime) -> StoreResult<Option<Session>> {
        let key = self.key("ss", id.as_str());
        let value: Option<String> = self
            .run(|mut c| async move { redis::cmd("GET").arg(key).query_async(&mut c).await })
            .await?;
        let session = value.map(|v| decode::<Session>(&v)).transpose()?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    pub async fn delete_session(&self, id: &Hashed) -> StoreResult<()> {
        let key = self.key("ss", id.as_str());
        self.run(|mut c| async move { redis::cmd("DEL").arg(key).query_async(&mut c).await })
            .await
    }

    pub async fn reserve_login(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<Attempt> {
        let key = self.login_key(username);
        let wait: u64 = self
            .run(|mut c| async move {
                self.scripts
                    .reserve_login
                    .key(key)
                    .arg(now)
                    .arg(THROTTLE_WINDOW * 1000)
                    .arg(max_failures)
                    .arg(RESERVATION_MILLIS)
                    .arg(IN_FLIGHT_WAIT_MILLIS)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(match wait {
            0 => Attempt::Reserved,
            wait => Attempt::Throttled(wait),
        })
    }

    pub async fn login_failed(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<()> {
        let key = self.login_key(username);
        self.run(|mut c| async move {
            self.scripts
                .login_failed
                .key(key)
                .arg(now)
                .arg(THROTTLE_WINDOW * 1000)
                .arg(max_failures)
                .arg(THROTTLE_MAX_WAIT)
                .invoke_async::<i64>(&mut c)
                .await
                .map(drop)
        })
        .await
    }

    pub async fn login_released(&self, username: &str) -> StoreResult<()> {
        let key = self.login_key(username);
        self.run(|mut c| async move {
            self.scripts
                .login_released
                .key(key)
                .invoke_async::<i64>(&mut c)
                .await
                .map(drop)
        })
        .await
    }

    pub async fn login_succeeded(&self, username: &str) -> StoreResult<()> {
        let key = self.login_key(username);
        self.run(|mut c| async move { redis::cmd("DEL").arg(key).query_async(&mut c).await })
            .await
    }

    /// Whether Redis answers, and its eviction policy (from `INFO memory`, which managed
    /// Redis services answer even where `CONFIG` is disabled).
    pub async fn health(&self) -> StoreReport {
        let info = self
            .run_within(HEALTH_TIMEOUT, |mut c| async move {
                redis::cmd("INFO")
                    .arg("memory")
                    .query_async::<String>(&mut c)
                    .await
            })
            .await;
        match info {
            Ok(info) => {
                let policy = info
                    .lines()
                    .find_map(|line| line.strip_prefix("maxmemory_policy:"))
                    .map(|p| p.trim().to_owned());
                let report = StoreReport {
                    health: StoreHealth::Up,
                    maxmemory_policy: policy,
                };
                if report.evicts() {
                    self.warn_eviction(&report);
                }
                report
            }
            Err(_) => StoreReport::of(StoreHealth::Down),
        }
    }

    /// Every security decision rests on keys Redis must not evict (SPEC §8): say so loudly,
    /// at most once per `EVICTION_WARNING_INTERVAL`.
    fn warn_eviction(&self, report: &StoreReport) {
        let Ok(mut last) = self.eviction_warned.lock() else {
            return;
        };
        if last.is_some_and(|at: Instant| at.elapsed() < EVICTION_WARNING_INTERVAL) {
            return;
        }
        *last = Some(Instant::now());
        tracing::warn!(
            maxmemory_policy = report.maxmemory_policy.as_deref().unwrap_or("unknown"),
            "REDIS MAY EVICT THE SERVICE'S KEYS: set maxmemory-policy noeviction; under eviction \
             refresh-token families, spent codes and login throttles vanish (they fail closed: \
             tokens stop working, users must sign in again)"
        );
    }
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(value: &str) -> StoreResult<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("decode: {e}")))
}

//! The Redis backend, shared by every replica: one server, a Redis Cluster, or a primary
//! found through Redis Sentinel. Single use is decided inside Redis by Lua scripts that each
//! touch one key, so every operation also works on Redis Cluster. With
//! `TS_REDIS_WAIT_REPLICAS` the writes that cannot be rolled forward (codes, sessions,
//! revocation, new families, login throttles) wait for that many replicas in the same round
//! trip, and one they did not acknowledge answers 503 (a code redemption is undone first). A
//! rotation waits for none: it stays correct when Redis loses it (`rotation`).
//!
//! Keys (`p` is `TS_REDIS_PREFIX`; every key gets a TTL):
//! - `p:rt:{<family>}`: the one key of a refresh-token family, which every token names: a
//!   string `generation|rotated_at|expires_at|live digest|revoked|grant JSON`
//!   (`rotation::Record`), the same size after any number of rotations
//! - `p:ac:<hash>`: authorization code: `rec`, `exp` and `cid` (the client it was issued
//!   to, checked before anything is spent); once redeemed also `fam`, all kept for the
//!   refresh TTL so that a replay at any time revokes that family
//! - `p:ss:<hash>`: SSO session
//! - `p:lf:<sha256(username)>`: failed logins, times in milliseconds: `n`, `until`
//!   (throttled until), `last` (last failure; the count restarts 15 minutes after it, by the
//!   `now` passed in), `inf` and `infu` (attempts in flight, and when their reservation lapses)

mod connection;
mod scripts;
mod timing;

use std::sync::Mutex;
use std::time::Instant;

use redis::{Pipeline, Script};

use self::connection::{Connection, ScriptCall, write_pipe, write_script};
pub use self::connection::{Topology, UrlError};
use self::timing::{HEALTH_TIMEOUT, OPERATION_TIMEOUT, UNDO_TIMEOUT, WARNING_INTERVAL};
use super::{
    Attempt, CodeRecord, CodeRedemption, Grant, Hashed, OnceKind, PushedRequest,
    RESERVATION_MILLIS, RefreshInfo, RefreshPolicy, Rotate, Rotation, Session, StoreError,
    StoreHealth, StoreReport, StoreResult, THROTTLE_MAX_WAIT, THROTTLE_WINDOW, TokenRef,
    refresh_info,
};
use crate::clock::{UnixMillis, UnixTime};
use crate::rotation::Record;

/// ROTATE's answer (`lua/rotate.lua`'s head lists them), with the grant where it answers one.
enum RotateAnswer {
    Invalid,
    Rotated(String),
    Reused,
    ScopeExceeded,
    Repeated(String),
}

impl redis::FromRedisValue for RotateAnswer {
    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        let mut items = Vec::<redis::Value>::from_redis_value(value)?.into_iter();
        let outcome = match items.next() {
            Some(outcome) => i64::from_redis_value(outcome)?,
            None => return Err("an empty rotation answer".into()),
        };
        let mut grant = || match items.next() {
            Some(grant) => String::from_redis_value(grant),
            None => Err("a rotation answer without its grant".into()),
        };
        Ok(match outcome {
            0 => RotateAnswer::Invalid,
            1 => RotateAnswer::Rotated(grant()?),
            2 => RotateAnswer::Reused,
            3 => RotateAnswer::ScopeExceeded,
            4 => RotateAnswer::Repeated(grant()?),
            other => return Err(format!("unknown rotation outcome {other}").into()),
        })
    }
}

/// REDEEM_CODE's answer (`lua/redeem_code.lua`).
enum RedeemAnswer {
    /// Spent now: the code's record.
    Redeemed(String),
    /// Spent before, for this family.
    Replayed(String),
    /// Unknown, expired, or another client's.
    Unknown,
}

impl redis::FromRedisValue for RedeemAnswer {
    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        let mut items = Vec::<redis::Value>::from_redis_value(value)?.into_iter();
        let outcome = match items.next() {
            Some(outcome) => i64::from_redis_value(outcome)?,
            None => return Err("an empty redemption answer".into()),
        };
        let mut value = || match items.next() {
            Some(value) => String::from_redis_value(value),
            None => Err("a redemption answer without its value".into()),
        };
        Ok(match outcome {
            0 => RedeemAnswer::Unknown,
            1 => RedeemAnswer::Redeemed(value()?),
            2 => RedeemAnswer::Replayed(value()?),
            other => return Err(format!("unknown redemption outcome {other}").into()),
        })
    }
}

/// RESERVE_LOGIN's answer (`lua/reserve_login.lua`): 0, a wait in milliseconds, or -1.
impl redis::FromRedisValue for Attempt {
    fn from_redis_value(value: redis::Value) -> Result<Self, redis::ParsingError> {
        Ok(match i64::from_redis_value(value)? {
            0 => Attempt::Reserved,
            -1 => Attempt::Busy,
            wait if wait > 0 => Attempt::Throttled(wait.unsigned_abs()),
            other => return Err(format!("unknown login reservation answer {other}").into()),
        })
    }
}

/// What a write no replica acknowledged answers.
fn not_replicated() -> StoreError {
    StoreError::Unavailable(
        "the write was not acknowledged by TS_REDIS_WAIT_REPLICAS replicas".into(),
    )
}

pub struct RedisStore {
    connection: Connection,
    prefix: String,
    scripts: Scripts,
    eviction_warned: Mutex<Option<Instant>>,
    replication_warned: Mutex<Option<Instant>>,
}

struct Scripts {
    create_family: Script,
    rotate: Script,
    revoke_family: Script,
    revoke_owned_family: Script,
    put_code: Script,
    redeem_code: Script,
    unredeem: Script,
    reserve_login: Script,
    login_failed: Script,
    login_released: Script,
}

impl Scripts {
    fn all(&self) -> Vec<Script> {
        [
            &self.create_family,
            &self.rotate,
            &self.revoke_family,
            &self.revoke_owned_family,
            &self.put_code,
            &self.redeem_code,
            &self.unredeem,
            &self.reserve_login,
            &self.login_failed,
            &self.login_released,
        ]
        .into_iter()
        .cloned()
        .collect()
    }
}

impl RedisStore {
    /// Prepares the store on `topology`; does not connect (Redis may be down at start-up).
    pub fn new(topology: &Topology, prefix: &str, wait_replicas: u32) -> Result<Self, UrlError> {
        let scripts = Scripts {
            create_family: Script::new(scripts::CREATE_FAMILY),
            rotate: Script::new(scripts::ROTATE),
            revoke_family: Script::new(scripts::REVOKE_FAMILY),
            revoke_owned_family: Script::new(scripts::REVOKE_OWNED_FAMILY),
            put_code: Script::new(scripts::PUT_CODE),
            redeem_code: Script::new(scripts::REDEEM_CODE),
            unredeem: Script::new(scripts::UNREDEEM),
            reserve_login: Script::new(scripts::RESERVE_LOGIN),
            login_failed: Script::new(scripts::LOGIN_FAILED),
            login_released: Script::new(scripts::LOGIN_RELEASED),
        };
        Ok(RedisStore {
            connection: Connection::new(topology, wait_replicas, scripts.all())?,
            prefix: prefix.to_owned(),
            eviction_warned: Mutex::new(None),
            replication_warned: Mutex::new(None),
            scripts,
        })
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    /// The key of a family's record (the hash tag keeps it whole on Redis Cluster).
    pub fn family_key(&self, family: &str) -> String {
        [self.prefix.as_str(), "rt:{", family, "}"].concat()
    }

    fn login_key(&self, username: &str) -> String {
        self.key("lf", &crate::token::sha256_b64(username.as_bytes()))
    }

    /// Runs a writing script within the operation bound; the answer, and whether the replicas
    /// asked for acknowledged it. While they are missing it answers 503 without running.
    async fn script<T: redis::FromRedisValue>(
        &self,
        call: &ScriptCall<'_>,
    ) -> StoreResult<(T, bool)> {
        if self.connection.replicas_missing() {
            return Err(not_replicated());
        }
        let wait = self.connection.wait_replicas();
        let answer = self
            .connection
            .run_within(OPERATION_TIMEOUT, |mut c| async move {
                write_script(&mut c, call, wait).await
            })
            .await?;
        if !answer.1 {
            self.connection.unacknowledged();
        }
        Ok(answer)
    }

    /// Undoes a code redemption its replicas did not acknowledge, so that the client's retry
    /// is not taken for a replay. It waits for no replica and goes on a connection of its own:
    /// on the shared one it would queue behind writes held by `WAIT`.
    async fn undo(&self, undo: ScriptCall<'_>, what: &str) {
        let undone = self
            .connection
            .run_dedicated_within(UNDO_TIMEOUT, |mut c| async move {
                write_script::<i64>(&mut c, &undo, None).await
            })
            .await;
        if let Err(error) = undone {
            tracing::warn!(%error, "{what} could not be undone");
        }
    }

    /// A writing script whose answer is only useful if replicated: otherwise 503.
    async fn replicated<T: redis::FromRedisValue>(&self, call: &ScriptCall<'_>) -> StoreResult<T> {
        match self.script(call).await? {
            (value, true) => Ok(value),
            (_, false) => Err(not_replicated()),
        }
    }

    /// One command that writes, replicated as asked.
    async fn write(&self, pipe: Pipeline) -> StoreResult<()> {
        if self.connection.replicas_missing() {
            return Err(not_replicated());
        }
        let wait = self.connection.wait_replicas();
        let replicated = self
            .connection
            .run_within(OPERATION_TIMEOUT, |mut c| async move {
                write_pipe(&mut c, pipe, wait).await
            })
            .await?;
        if replicated {
            Ok(())
        } else {
            self.connection.unacknowledged();
            Err(not_replicated())
        }
    }

    async fn read<T: redis::FromRedisValue>(&self, cmd: redis::Cmd) -> StoreResult<T> {
        self.connection
            .run_within(OPERATION_TIMEOUT, |mut c| async move {
                cmd.query_async(&mut c).await
            })
            .await
    }

    async fn revoke_family(&self, family: &str, now: UnixTime, ttl: u64) -> StoreResult<()> {
        let mut call = ScriptCall::new(&self.scripts.revoke_family, &self.family_key(family));
        let tombstone = Record::tombstone(now.saturating_add(ttl));
        call.arg(ttl).arg(tombstone.encode(""));
        self.replicated::<i64>(&call).await.map(drop)
    }

    pub async fn create_family(
        &self,
        token: TokenRef<'_>,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        let record = Record::first(token.generation, token.digest, now, policy.ttl);
        let mut call = ScriptCall::new(&self.scripts.create_family, &self.family_key(token.family));
        call.arg(record.encode(&encode(grant)?)).arg(policy.ttl);
        self.replicated::<i64>(&call)
            .await
            .map(|created| created == 1)
    }

    /// One script call on the family's one key, waiting for no replica (`rotation`): a
    /// rotation Redis loses is rolled forward by the next one. An error or no answer in time
    /// is a 503; whether the script ran or not, the client's retry is decided like any other
    /// presentation (SECURITY.md, "Refresh-token rotation").
    pub async fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        let mut call = ScriptCall::new(
            &self.scripts.rotate,
            &self.family_key(rotate.presented.family),
        );
        call.arg(rotate.presented.generation)
            .arg(rotate.presented.digest)
            .arg(rotate.successor)
            .arg(rotate.now)
            .arg(policy.ttl)
            .arg(policy.reuse_grace)
            .arg(rotate.client_id)
            .arg(rotate.scope.map(|s| s.to_string()).unwrap_or_default())
            .arg(rotate.jkt.unwrap_or_default());
        let (answer, _) = self
            .connection
            .run_within(OPERATION_TIMEOUT, |mut c| async move {
                write_script::<RotateAnswer>(&mut c, &call, None).await
            })
            .await?;
        Ok(match answer {
            RotateAnswer::Rotated(grant) | RotateAnswer::Repeated(grant) => {
                Rotation::Rotated(decode(&grant)?)
            }
            RotateAnswer::Reused => Rotation::Reused,
            RotateAnswer::ScopeExceeded => Rotation::ScopeExceeded,
            RotateAnswer::Invalid => Rotation::Invalid,
        })
    }

    pub async fn refresh_info(
        &self,
        token: TokenRef<'_>,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        let stored: Option<String> = self
            .read(redis::cmd("GET").arg(self.family_key(token.family)).clone())
            .await?;
        let Some(stored) = stored else {
            return Ok(None);
        };
        let (record, grant) = Record::parse(&stored)
            .ok_or_else(|| StoreError::Corrupt("refresh-token family record".into()))?;
        if grant.is_empty() {
            return Ok(None);
        }
        Ok(refresh_info(&record, &decode(grant)?, token, now))
    }

    pub async fn revoke_refresh(&self, token: TokenRef<'_>, client_id: &str) -> StoreResult<()> {
        let mut call = ScriptCall::new(
            &self.scripts.revoke_owned_family,
            &self.family_key(token.family),
        );
        call.arg(client_id);
        self.replicated::<i64>(&call).await.map(drop)
    }

    pub async fn family_snapshot(&self, family: &str) -> StoreResult<Option<String>> {
        self.read(redis::cmd("GET").arg(self.family_key(family)).clone())
            .await
    }

    pub async fn restore_family(&self, family: &str, snapshot: Option<&str>) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        match snapshot {
            Some(stored) => {
                let (record, _) = Record::parse(stored)
                    .ok_or_else(|| StoreError::Corrupt("family snapshot".into()))?;
                pipe.cmd("SET")
                    .arg(self.family_key(family))
                    .arg(stored)
                    .arg("EXAT")
                    .arg(record.expires_at)
            }
            None => pipe.cmd("DEL").arg(self.family_key(family)),
        };
        self.write(pipe).await
    }

    pub async fn put_code(&self, code: &Hashed, record: &CodeRecord, ttl: u64) -> StoreResult<()> {
        let mut call = ScriptCall::new(&self.scripts.put_code, &self.key("ac", code.as_str()));
        call.arg(encode(record)?)
            .arg(record.expires_at)
            .arg(&record.grant.client_id)
            .arg(ttl);
        self.replicated::<i64>(&call).await.map(drop)
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
        let mut call = ScriptCall::new(&self.scripts.redeem_code, &key);
        call.arg(family).arg(now).arg(policy.ttl).arg(client_id);
        // A redemption its replicas did not acknowledge is undone, so the client's retry is not
        // a replay. One that did not answer in time is a 503: its retry may be taken for a
        // replay, and the user signs in again (SECURITY.md, "Redis without WAIT").
        let answer = match self.script::<RedeemAnswer>(&call).await {
            Ok((RedeemAnswer::Redeemed(_), false)) => {
                let undo = self.unredeem(&key, family);
                self.undo(undo, "an unreplicated code redemption").await;
                return Err(not_replicated());
            }
            Ok((_, false)) => return Err(not_replicated()),
            Ok((answer, true)) => answer,
            Err(error) => return Err(error),
        };
        match answer {
            RedeemAnswer::Redeemed(record) => Ok(CodeRedemption::Redeemed(decode(&record)?)),
            RedeemAnswer::Replayed(issued) => {
                self.revoke_family(&issued, now, policy.ttl).await?;
                Ok(CodeRedemption::Replayed)
            }
            RedeemAnswer::Unknown => Ok(CodeRedemption::Unknown),
        }
    }

    fn unredeem(&self, key: &str, family: &str) -> ScriptCall<'_> {
        let mut call = ScriptCall::new(&self.scripts.unredeem, key);
        call.arg(family);
        call
    }

    pub async fn release_code(&self, code: &Hashed, family: &str) {
        let key = self.key("ac", code.as_str());
        let undo = self.unredeem(&key, family);
        self.undo(undo, "a code whose family was not stored").await;
    }

    /// `SET NX EXAT`: one command, no script and no `WAIT` (docs/design.md, "Single-use
    /// identifiers").
    pub async fn spend_once(
        &self,
        kind: OnceKind,
        id: &Hashed,
        until: UnixTime,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let until = until.max(now + 1);
        let set: Option<String> = self
            .read(
                redis::cmd("SET")
                    .arg(self.key(kind.tag(), id.as_str()))
                    .arg(1)
                    .arg("NX")
                    .arg("EXAT")
                    .arg(until)
                    .clone(),
            )
            .await?;
        Ok(set.is_some())
    }

    pub async fn put_pushed(
        &self,
        id: &Hashed,
        request: &PushedRequest,
        ttl: u64,
    ) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.key("par", id.as_str()))
            .arg(encode(request)?)
            .arg("EX")
            .arg(ttl);
        self.write(pipe).await
    }

    /// `GETDEL`: whoever takes it first has it.
    pub async fn take_pushed(
        &self,
        id: &Hashed,
        now: UnixTime,
    ) -> StoreResult<Option<PushedRequest>> {
        let value: Option<String> = self
            .read(
                redis::cmd("GETDEL")
                    .arg(self.key("par", id.as_str()))
                    .clone(),
            )
            .await?;
        let request = value.map(|v| decode::<PushedRequest>(&v)).transpose()?;
        Ok(request.filter(|r| r.expires_at > now))
    }

    pub async fn put_session(&self, id: &Hashed, session: &Session, ttl: u64) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("SET")
            .arg(self.key("ss", id.as_str()))
            .arg(encode(session)?)
            .arg("EX")
            .arg(ttl);
        self.write(pipe).await
    }

    pub async fn session(&self, id: &Hashed, now: UnixTime) -> StoreResult<Option<Session>> {
        let value: Option<String> = self
            .read(redis::cmd("GET").arg(self.key("ss", id.as_str())).clone())
            .await?;
        let session = value.map(|v| decode::<Session>(&v)).transpose()?;
        Ok(session.filter(|s| s.expires_at > now))
    }

    pub async fn delete_session(&self, id: &Hashed) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(self.key("ss", id.as_str()));
        self.write(pipe).await
    }

    pub async fn reserve_login(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<Attempt> {
        let mut call = ScriptCall::new(&self.scripts.reserve_login, &self.login_key(username));
        call.arg(now)
            .arg(THROTTLE_WINDOW * 1000)
            .arg(max_failures)
            .arg(RESERVATION_MILLIS);
        self.replicated::<Attempt>(&call).await
    }

    pub async fn login_failed(
        &self,
        username: &str,
        now: UnixMillis,
        max_failures: u32,
    ) -> StoreResult<()> {
        let mut call = ScriptCall::new(&self.scripts.login_failed, &self.login_key(username));
        call.arg(now)
            .arg(THROTTLE_WINDOW * 1000)
            .arg(max_failures)
            .arg(THROTTLE_MAX_WAIT);
        self.replicated::<i64>(&call).await.map(drop)
    }

    pub async fn login_released(&self, username: &str) -> StoreResult<()> {
        let call = ScriptCall::new(&self.scripts.login_released, &self.login_key(username));
        self.replicated::<i64>(&call).await.map(drop)
    }

    pub async fn login_succeeded(&self, username: &str) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.cmd("DEL").arg(self.login_key(username));
        self.write(pipe).await
    }

    /// Whether Redis answers, its eviction policy and the primary's replicas (from `INFO`,
    /// which managed Redis services answer even where `CONFIG` is disabled).
    pub async fn health(&self) -> StoreReport {
        let answer = self
            .connection
            .run_within(HEALTH_TIMEOUT, |mut c| async move {
                redis::pipe()
                    .cmd("INFO")
                    .arg("memory")
                    .cmd("INFO")
                    .arg("replication")
                    .query_async::<(String, String)>(&mut c)
                    .await
            })
            .await;
        let Ok((info, replication)) = answer else {
            return StoreReport::of(StoreHealth::Down);
        };
        let field = |info: &str, name: &str| {
            info.lines()
                .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
                .map(|value| value.trim().to_owned())
        };
        let report = StoreReport {
            health: StoreHealth::Up,
            maxmemory_policy: field(&info, "maxmemory_policy"),
            replicas: field(&replication, "connected_slaves").and_then(|n| n.parse().ok()),
            wait_replicas: self.connection.wait_replicas().unwrap_or(0),
        };
        if report.evicts() {
            self.warn_eviction(&report);
        }
        if let Some(warning) = report.replication_warning()
            && rarely(&self.replication_warned)
        {
            tracing::warn!("{warning}");
        }
        report
    }

    /// Every security decision rests on keys Redis must not evict (docs/design.md, "Load, faults
    /// and bad input"): say so loudly, at most once per `WARNING_INTERVAL`.
    fn warn_eviction(&self, report: &StoreReport) {
        if !rarely(&self.eviction_warned) {
            return;
        }
        tracing::warn!(
            maxmemory_policy = report.maxmemory_policy.as_deref().unwrap_or("unknown"),
            "REDIS MAY EVICT THE SERVICE'S KEYS: set maxmemory-policy noeviction; under eviction \
             refresh-token families, spent codes and login throttles vanish (they fail closed: \
             tokens stop working, users must sign in again)"
        );
    }
}

/// Whether a warning last given at `last` is due again (`WARNING_INTERVAL`); if so, it is
/// given now.
fn rarely(last: &Mutex<Option<Instant>>) -> bool {
    let Ok(mut last) = last.lock() else {
        return false;
    };
    if last.is_some_and(|at: Instant| at.elapsed() < WARNING_INTERVAL) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

fn encode<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(format!("encode: {e}")))
}

fn decode<T: serde::de::DeserializeOwned>(value: &str) -> StoreResult<T> {
    serde_json::from_str(value).map_err(|e| StoreError::Corrupt(format!("decode: {e}")))
}

//! The Redis backend, shared by every replica: one server, a Redis Cluster, or a primary
//! found through Redis Sentinel. Single use is decided inside Redis by Lua scripts that each
//! touch one key, so every operation also works on Redis Cluster. With
//! `TS_REDIS_WAIT_REPLICAS` every write waits for that many replicas in the same round trip,
//! and one they did not acknowledge answers 503 (a rotation or code redemption is undone
//! first, so the client's retry is not taken for reuse).
//!
//! Keys (`p` is `TS_REDIS_PREFIX`; every key gets a TTL):
//! - `p:rf:{<family>}`: the one key of a refresh-token family, which every token names
//!   (SPEC §7): `grant` (JSON), `cid` and `scope` (for the scripts), `revoked`, and
//!   `t:<hash of secret>` = `issued:expires[:used]` for each live secret; a used secret's field
//!   is dropped after the grace window, so the key's size is constant over any number of
//!   rotations, and a token of this family whose field is gone is reuse; `last` =
//!   `old:new:replication id` of the latest rotation, so that one made before a failover can
//!   be done again (`scripts::ROTATE`)
//! - `p:ac:<hash>`: authorization code: `rec`, `exp` and `cid` (the client it was issued
//!   to, checked before anything is spent); once redeemed also `fam`, all kept for the
//!   refresh TTL so that a replay at any time revokes that family
//! - `p:ss:<hash>`: SSO session
//! - `p:lf:<sha256(username)>`: failed logins, times in milliseconds: `n`, `until`
//!   (throttled until), `last` (last failure; the count restarts 15 minutes after it, by the
//!   `now` passed in), `inf` and `infu` (attempts in flight, and when their reservation lapses)

mod connection;
mod scripts;

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use redis::{Pipeline, Script};

pub use self::connection::Topology;
use self::connection::{Connection, Failed, ScriptCall, write_pipe, write_script};
use super::{
    Attempt, CodeRecord, CodeRedemption, Grant, Hashed, RESERVATION_MILLIS, RefreshInfo,
    RefreshPolicy, RefreshToken, Rotate, Rotation, Session, StoreError, StoreHealth, StoreReport,
    StoreResult, THROTTLE_MAX_WAIT, THROTTLE_WINDOW,
};
use crate::clock::{Clock, UnixMillis, UnixTime};

/// Every store operation answers within this (SPEC §8: 503 within 1 s when Redis refuses
/// connections, 2 s when it hangs).
const OPERATION_TIMEOUT: Duration = Duration::from_millis(900);
/// After a write answered too late, how long the look at whether it took effect may take.
const RECOVERY_TIMEOUT: Duration = Duration::from_millis(500);
/// By when after a rotation or redemption was sent its undo, if any, must be done: within
/// SPEC §8's 2 s, with a margin for the answer.
const UNDO_BY: Duration = Duration::from_millis(1900);
/// `/readyz` answers well within a probe's usual 1 s timeout even with Redis hung.
const HEALTH_TIMEOUT: Duration = Duration::from_millis(300);
/// How often a Redis that may evict keys, or whose replicas are not the number every write
/// waits for, is warned about.
const WARNING_INTERVAL: Duration = Duration::from_secs(600);

/// ROTATE's answer: the outcome, the grant, and the old secret's state before the rotation.
type RotateAnswer = (i64, Option<String>, Option<String>);

/// How long after it is sent a rotation or code redemption may still take effect: past the
/// operation bound, so that one Redis runs late can still be answered by the look-up after
/// it, and before that look-up's end, so that its outcome is settled by then.
const WRITE_DEADLINE: Duration = Duration::from_millis(1200);
/// How much later than `WRITE_DEADLINE` an undo is sent, for the error in Redis's clock
/// offset (measured across half a round trip).
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);

/// What a rotation or redemption that ran past its deadline answers: nothing was written.
fn given_up() -> StoreError {
    StoreError::Unavailable("the write reached redis after its deadline: nothing written".into())
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
    /// Redis's clock minus ours, in milliseconds, as last measured by `health`.
    clock_offset: AtomicI64,
}

struct Scripts {
    create_family: Script,
    rotate: Script,
    unrotate: Script,
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
            &self.unrotate,
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
    pub fn new(topology: &Topology, prefix: &str, wait_replicas: u32) -> Result<Self, String> {
        let scripts = Scripts {
            create_family: Script::new(scripts::CREATE_FAMILY),
            rotate: Script::new(scripts::ROTATE),
            unrotate: Script::new(scripts::UNROTATE),
            revoke_family: Script::new(scripts::REVOKE_FAMILY),
            revoke_owned_family: Script::new(scripts::REVOKE_OWNED_FAMILY),
            put_code: Script::new(scripts::PUT_CODE),
            redeem_code: Script::new(scripts::REDEEM_CODE),
            unredeem: Script::new(scripts::UNREDEEM),
            reserve_login: Script::new(&format!(
                "{}{}",
                scripts::LOGIN_SETTLE,
                scripts::RESERVE_LOGIN
            )),
            login_failed: Script::new(&format!(
                "{}{}",
                scripts::LOGIN_SETTLE,
                scripts::LOGIN_FAILED
            )),
            login_released: Script::new(scripts::LOGIN_RELEASED),
        };
        Ok(RedisStore {
            connection: Connection::new(topology, wait_replicas, scripts.all())?,
            prefix: prefix.to_owned(),
            eviction_warned: Mutex::new(None),
            replication_warned: Mutex::new(None),
            clock_offset: AtomicI64::new(0),
            scripts,
        })
    }

    /// The deadline of a rotation or redemption sent now, on Redis's clock.
    fn deadline(&self) -> i64 {
        let now = i64::try_from(Clock::System.now_millis()).unwrap_or(i64::MAX);
        now.saturating_add(self.clock_offset.load(Ordering::Relaxed))
            .saturating_add(WRITE_DEADLINE.as_millis() as i64)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.prefix)
    }

    fn family_key(&self, family: &str) -> String {
        [self.prefix.as_str(), "rf:{", family, "}"].concat()
    }

    fn login_key(&self, username: &str) -> String {
        self.key("lf", &crate::token::sha256_b64(username.as_bytes()))
    }

    /// Runs a writing script within the operation bound; the answer, and whether the replicas
    /// asked for acknowledged it. While they are missing it answers 503 without running.
    async fn script<T: redis::FromRedisValue>(
        &self,
        call: &ScriptCall<'_>,
    ) -> Result<(T, bool), Failed> {
        if self.connection.replicas_missing() {
            return Err(Failed {
                error: not_replicated(),
                may_have_run: false,
            });
        }
        let wait = self.connection.wait_replicas();
        let answer = self
            .connection
            .write_within(OPERATION_TIMEOUT, |mut c| async move {
                write_script(&mut c, call, wait).await
            })
            .await?;
        if !answer.1 {
            self.connection.unacknowledged();
        }
        Ok(answer)
    }

    /// Undoes a rotation or redemption sent at `sent` that must not stand: one its replicas did
    /// not acknowledge, or one whose outcome is `unknown` (no answer, and no look-up after it
    /// found it). The latter is undone once its deadline has passed, when it can no longer take
    /// effect, so the undo has the last word. Either way the client's retry is not
    /// taken for reuse. The undo waits for no replica and goes on a connection of its own:
    /// on the shared one it would queue behind writes held by `WAIT`.
    async fn undo(&self, undo: ScriptCall<'_>, sent: Instant, unknown: bool, what: &str) {
        if unknown {
            tokio::time::sleep_until((sent + WRITE_DEADLINE + DEADLINE_MARGIN).into()).await;
        }
        let left = (sent + UNDO_BY).saturating_duration_since(Instant::now());
        let undone = self
            .connection
            .run_dedicated_within(left, |mut c| async move {
                write_script::<i64>(&mut c, &undo, None).await
            })
            .await;
        if let Err(error) = undone {
            tracing::warn!(%error, "{what} could not be undone");
        }
    }

    /// A writing script whose answer is only useful if replicated: otherwise 503.
    async fn replicated<T: redis::FromRedisValue>(&self, call: &ScriptCall<'_>) -> StoreResult<T> {
        match self.script(call).await.map_err(|f| f.error)? {
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

    async fn revoke_family(&self, family: &str, ttl: u64) -> StoreResult<()> {
        let mut call = ScriptCall::new(&self.scripts.revoke_family, &self.family_key(family));
        call.arg(ttl);
        self.replicated::<i64>(&call).await.map(drop)
    }

    pub async fn create_family(
        &self,
        token: &RefreshToken,
        grant: &Grant,
        now: UnixTime,
        policy: RefreshPolicy,
    ) -> StoreResult<bool> {
        let mut call =
            ScriptCall::new(&self.scripts.create_family, &self.family_key(&token.family));
        call.arg(encode(grant)?)
            .arg(token.secret.as_str())
            .arg(now)
            .arg(now + policy.ttl)
            .arg(policy.ttl)
            .arg(&grant.client_id)
            .arg(grant.scope.to_string());
        self.replicated::<i64>(&call)
            .await
            .map(|created| created == 1)
    }

    /// One script call on the family's one key (SPEC §7). If Redis answers too late, one more
    /// look tells whether the rotation took effect, so the client gets the tokens it caused
    /// rather than a 503 whose retry would look like reuse. A rotation the replicas did not
    /// acknowledge, or whose outcome stays unknown, is undone before answering 503, for the
    /// same reason.
    pub async fn rotate_refresh(
        &self,
        rotate: &Rotate<'_>,
        policy: RefreshPolicy,
    ) -> StoreResult<Rotation> {
        let Rotate { old, new, now, .. } = *rotate;
        let key = self.family_key(&old.family);
        let mut call = ScriptCall::new(&self.scripts.rotate, &key);
        call.arg(old.secret.as_str())
            .arg(new.as_str())
            .arg(now)
            .arg(policy.ttl)
            .arg(policy.reuse_grace)
            .arg(rotate.client_id)
            .arg(rotate.scope.map(|s| s.to_string()).unwrap_or_default())
            .arg(self.deadline());
        let sent = Instant::now();
        let (outcome, grant) = match self.script::<RotateAnswer>(&call).await {
            Ok(((1, _, Some(state)), false)) => {
                let undo = self.unrotate(&key, old, new, &state);
                self.undo(undo, sent, false, "an unreplicated rotation")
                    .await;
                return Err(not_replicated());
            }
            // Any other answer of a primary whose replicas do not acknowledge (a failover may be
            // under way) is not to be trusted either: a reuse it saw may be a write the new
            // primary never got.
            Ok((_, false)) => return Err(not_replicated()),
            Ok(((outcome, grant, _), true)) => (outcome, grant),
            Err(Failed {
                error,
                may_have_run: false,
            }) => return Err(error),
            Err(Failed { error, .. }) => match self.rotation_landed(&key, new).await {
                Some(grant) => (1, Some(grant)),
                None => {
                    // No state known for the old secret: the new one's stands in.
                    let undo = self.unrotate(&key, old, new, "");
                    let what = "a rotation of unknown outcome";
                    self.undo(undo, sent, true, what).await;
                    return Err(error);
                }
            },
        };
        Ok(match (outcome, grant) {
            (1, Some(grant)) => Rotation::Rotated(decode(&grant)?),
            (2, _) => Rotation::Reused,
            (3, _) => Rotation::ScopeExceeded,
            (4, _) => return Err(given_up()),
            _ => Rotation::Invalid,
        })
    }

    fn unrotate(&self, key: &str, old: &RefreshToken, new: &Hashed, state: &str) -> ScriptCall<'_> {
        let mut call = ScriptCall::new(&self.scripts.unrotate, key);
        call.arg(old.secret.as_str()).arg(new.as_str()).arg(state);
        call
    }

    /// The family's grant if `new` is one of its live secrets: the rotation that failed to
    /// answer in time did take effect.
    async fn rotation_landed(&self, key: &str, new: &Hashed) -> Option<String> {
        let field = format!("t:{}", new.as_str());
        let (grant, revoked, secret): (Option<String>, Option<String>, Option<String>) = self
            .look(
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("grant")
                    .arg("revoked")
                    .arg(field),
            )
            .await?;
        match (grant, revoked, secret) {
            (Some(grant), None, Some(_)) => {
                tracing::warn!("a rotation answered late took effect: answering its tokens");
                Some(grant)
            }
            _ => None,
        }
    }

    /// A read after a write that answered late: `None` unless it answers in time. Usually on
    /// the same connection, after the write, but not always: a timeout may have dropped that
    /// connection. So with `TS_REDIS_WAIT_REPLICAS` it is not made at all: a `WAIT` on another
    /// connection would not cover the write, and a write found but not known to be replicated
    /// must not be answered. The undo after the deadline settles it instead.
    async fn look<T: redis::FromRedisValue>(&self, cmd: &redis::Cmd) -> Option<T> {
        if self.connection.wait_replicas().is_some() {
            return None;
        }
        self.connection
            .run_within(RECOVERY_TIMEOUT, |mut c| async move {
                cmd.query_async(&mut c).await
            })
            .await
            .ok()
    }

    pub async fn refresh_info(
        &self,
        token: &RefreshToken,
        now: UnixTime,
    ) -> StoreResult<Option<RefreshInfo>> {
        let (grant, revoked, state): (Option<String>, Option<String>, Option<String>) = self
            .read(
                redis::cmd("HMGET")
                    .arg(self.family_key(&token.family))
                    .arg("grant")
                    .arg("revoked")
                    .arg(format!("t:{}", token.secret.as_str()))
                    .clone(),
            )
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
        let mut call = ScriptCall::new(
            &self.scripts.revoke_owned_family,
            &self.family_key(&token.family),
        );
        call.arg(client_id);
        self.replicated::<i64>(&call).await.map(drop)
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
        call.arg(family)
            .arg(now)
            .arg(policy.ttl)
            .arg(client_id)
            .arg(self.deadline());
        let sent = Instant::now();
        // As for rotations: a redemption answered too late may have taken effect, and one the
        // replicas did not acknowledge, or whose outcome stays unknown, is undone.
        let (outcome, value) = match self.script::<(i64, Option<String>)>(&call).await {
            Ok(((1, _), false)) => {
                let undo = self.unredeem(&key, family);
                self.undo(undo, sent, false, "an unreplicated code redemption")
                    .await;
                return Err(not_replicated());
            }
            Ok((_, false)) => return Err(not_replicated()),
            Ok((answer, true)) => answer,
            Err(Failed {
                error,
                may_have_run: false,
            }) => return Err(error),
            Err(Failed { error, .. }) => match self.redemption_landed(&key, family).await {
                Some(record) => (1, Some(record)),
                None => {
                    let undo = self.unredeem(&key, family);
                    let what = "a code redemption of unknown outcome";
                    self.undo(undo, sent, true, what).await;
                    return Err(error);
                }
            },
        };
        match (outcome, value) {
            (1, Some(record)) => Ok(CodeRedemption::Redeemed(decode(&record)?)),
            (2, Some(issued)) => {
                self.revoke_family(&issued, policy.ttl).await?;
                Ok(CodeRedemption::Replayed)
            }
            (4, _) => Err(given_up()),
            _ => Ok(CodeRedemption::Unknown),
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
        let what = "a code whose family was not stored";
        self.undo(undo, Instant::now(), false, what).await;
    }

    /// The code's record if it was spent for `family`, the family this request chose.
    async fn redemption_landed(&self, key: &str, family: &str) -> Option<String> {
        let (spent_for, record): (Option<String>, Option<String>) = self
            .look(redis::cmd("HMGET").arg(key).arg("fam").arg("rec"))
            .await?;
        match (spent_for, record) {
            (Some(spent_for), Some(record)) if spent_for == family => {
                tracing::warn!("a code redemption answered late took effect: answering its tokens");
                Some(record)
            }
            _ => None,
        }
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
        Ok(match self.replicated::<i64>(&call).await? {
            0 => Attempt::Reserved,
            wait if wait > 0 => Attempt::Throttled(wait.unsigned_abs()),
            _ => Attempt::Busy,
        })
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
        let before = Clock::System.now_millis();
        let answer = self
            .connection
            .run_within(HEALTH_TIMEOUT, |mut c| async move {
                redis::pipe()
                    .cmd("INFO")
                    .arg("memory")
                    .cmd("INFO")
                    .arg("replication")
                    .cmd("TIME")
                    .query_async::<(String, String, (u64, u64))>(&mut c)
                    .await
            })
            .await;
        let after = Clock::System.now_millis();
        let Ok((info, replication, (seconds, micros))) = answer else {
            return StoreReport::of(StoreHealth::Down);
        };
        // Redis's clock against ours, halfway through the round trip, so the write deadlines
        // survive clock skew between the hosts.
        let theirs = seconds.saturating_mul(1000).saturating_add(micros / 1000);
        let ours = before / 2 + after / 2;
        let offset = i64::try_from(theirs).unwrap_or(0) - i64::try_from(ours).unwrap_or(0);
        self.clock_offset.store(offset, Ordering::Relaxed);
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

    /// Every security decision rests on keys Redis must not evict (SPEC §8): say so loudly,
    /// at most once per `WARNING_INTERVAL`.
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

//! The Lua scripts of the Redis backend: each decides one store operation on one key, so
//! single use is atomic inside Redis and every operation works on Redis Cluster.

/// Starts a family unless its key exists (a tombstone left by a replayed code).
/// KEYS[1] the family; ARGV[1] its record (`rotation::Record::encode`), ARGV[2] its TTL.
pub const CREATE_FAMILY: &str = r#"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return 0
"#;

/// `rotation::decide` and its write, in Lua: see the file's head for its KEYS and ARGV.
pub const ROTATE: &str = include_str!("rotate.lua");

/// Revokes a family (a replayed code), or leaves a revoked tombstone for one not yet stored.
/// KEYS[1] the family; ARGV[1] the tombstone's TTL, ARGV[2] its record.
pub const REVOKE_FAMILY: &str = r#"
local stored = redis.call('GET', KEYS[1])
if stored then
  local head, tail = string.match(stored, '^(%d+|%d+|%d+|[^|]*|)[01](|.*)$')
  if head then redis.call('SET', KEYS[1], head .. '1' .. tail, 'KEEPTTL') end
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
end
return 1
"#;

/// Revokes a family if it was granted to the client asking (RFC 7009 §2.1).
/// KEYS[1] the family; ARGV[1] the client.
pub const REVOKE_OWNED_FAMILY: &str = r#"
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local head, tail = string.match(stored, '^(%d+|%d+|%d+|[^|]*|)[01]|(.*)$')
if not head or tail == '' or cjson.decode(tail).client_id ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], head .. '1|' .. tail, 'KEEPTTL')
return 1
"#;

/// Spends a code for a family. KEYS[1] the code; ARGV[1] the family, ARGV[2] now, ARGV[3]
/// the refresh TTL (a spent code is kept that long, so a replay revokes the family), ARGV[4]
/// the client. Returns {1, record} spent now, {2, family} spent before, {0} unknown.
pub const REDEEM_CODE: &str = r#"
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
pub const LOGIN_SETTLE: &str = r#"
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

/// Reserves a login attempt (ARGV[3] max failures, ARGV[4] reservation ms): 0 reserved, the
/// throttle's remaining wait in ms, or -1 when as many attempts are in flight as failures
/// are left.
pub const RESERVE_LOGIN: &str = r#"
local n = tonumber(redis.call('HGET', f, 'n') or '0')
local held = tonumber(redis.call('HGET', f, 'until') or '0')
if held > now then return held - now end
local max = tonumber(ARGV[3])
local allowed = math.max(max - n, 1)
if tonumber(redis.call('HGET', f, 'inf') or '0') >= allowed then return -1 end
redis.call('HINCRBY', f, 'inf', 1)
redis.call('HSET', f, 'infu', string.format('%d', now + tonumber(ARGV[4])))
return 0
"#;

pub const LOGIN_FAILED: &str = r#"
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

pub const LOGIN_RELEASED: &str = r#"
if tonumber(redis.call('HGET', KEYS[1], 'inf') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'inf', -1)
end
return 1
"#;

/// Undoes a code redemption that no replica acknowledged: the code is unspent again if it
/// was spent for this request's family (ARGV[1]).
pub const UNREDEEM: &str = r#"
if redis.call('HGET', KEYS[1], 'fam') == ARGV[1] then redis.call('HDEL', KEYS[1], 'fam') end
return 1
"#;

pub const PUT_CODE: &str = r#"
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2], 'cid', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"#;

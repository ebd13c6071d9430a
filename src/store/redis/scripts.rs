//! The Lua scripts of the Redis backend: each decides one store operation on one key, so
//! single use is atomic inside Redis and every operation works on Redis Cluster.

pub const CREATE_FAMILY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'grant', ARGV[1], 'cid', ARGV[6], 'scope', ARGV[7],
  't:' .. ARGV[2], ARGV[3] .. ':' .. ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"#;

/// ARGV[8]: the deadline (milliseconds, Redis's clock) past which the service has given up on
/// the answer and told the client 503; a rotation stalled until then writes nothing, so the
/// client's retry of the same token is a rotation, not reuse.
///
/// `last` = `old:new:epoch` records the latest rotation and the replication id of the primary
/// that made it. A failover gives the promoted replica a new replication id. When a rotation
/// made before it is retried with the same token, and the new token is still unused, the
/// rotation may have answered 503 or not answered at all. Its undo may have gone to the old
/// primary and been lost with it. So the rotation is done again, once, instead of being taken
/// for reuse (SPEC §10). Any other presentation of a used secret is reuse.
pub const ROTATE: &str = r#"
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[8]) then
  return {4, false, false}
end
local f = KEYS[1]
local old, new = 't:' .. ARGV[1], 't:' .. ARGV[2]
local now, ttl, grace = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local grant = redis.call('HGET', f, 'grant')
if not grant or redis.call('HEXISTS', f, 'revoked') == 1 then return {0, false, false} end
if redis.call('HGET', f, 'cid') ~= ARGV[6] then return {0, false, false} end
local state = redis.call('HGET', f, old)
local issued, exp, used
if state then
  issued, exp, used = string.match(state, '^(%d+):(%d+):?(%d*)$')
  if tonumber(exp) <= now then return {0, false, false} end
end
local epoch = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)') or ''
if not state or (used ~= '' and (grace == 0 or now >= tonumber(used) + grace)) then
  local o, n, e = string.match(redis.call('HGET', f, 'last') or '', '^([^:]+):([^:]+):(%x*)$')
  local successor = n and redis.call('HGET', f, 't:' .. n)
  if o ~= ARGV[1] or e == epoch or not successor or not string.match(successor, '^%d+:%d+$') then
    redis.call('HSET', f, 'revoked', '1')
    return {2, false, false}
  end
  redis.call('HDEL', f, 't:' .. n)
  state = successor
  issued, exp = string.match(state, '^(%d+):(%d+)$')
  used = ''
end
if ARGV[7] ~= '' then
  local granted = ' ' .. (redis.call('HGET', f, 'scope') or '') .. ' '
  for token in string.gmatch(ARGV[7], '%S+') do
    if not string.find(granted, ' ' .. token .. ' ', 1, true) then return {3, false, false} end
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
redis.call('HSET', f, new, now .. ':' .. (now + ttl), 'last', ARGV[1] .. ':' .. ARGV[2] .. ':' .. epoch)
if redis.call('TTL', f) < ttl then redis.call('EXPIRE', f, ttl) end
return {1, grant, state}
"#;

pub const REVOKE_FAMILY: &str = r#"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'revoked', '1')
else
  redis.call('HSET', KEYS[1], 'revoked', '1')
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1
"#;

pub const REVOKE_OWNED_FAMILY: &str = r#"
if redis.call('HGET', KEYS[1], 'cid') == ARGV[1] then redis.call('HSET', KEYS[1], 'revoked', '1') end
return 1
"#;

/// ARGV[5]: the deadline, as for ROTATE.
pub const REDEEM_CODE: &str = r#"
local clock = redis.call('TIME')
if tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000) > tonumber(ARGV[5]) then
  return {4, false}
end
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

/// Undoes a rotation that no replica acknowledged (`TS_REDIS_WAIT_REPLICAS`), or whose outcome
/// is unknown: the old secret gets back the state ROTATE found (ARGV[1], ARGV[3]; when that is
/// unknown, `''`, the new secret's `issued:expires`) and the new one goes, so the client's
/// retry is a rotation, not reuse. Nothing happens if the rotation did not take effect.
pub const UNROTATE: &str = r#"
local successor = redis.call('HGET', KEYS[1], 't:' .. ARGV[2])
if successor then
  local state = ARGV[3]
  if state == '' then state = string.match(successor, '^%d+:%d+') end
  redis.call('HDEL', KEYS[1], 't:' .. ARGV[2])
  redis.call('HSET', KEYS[1], 't:' .. ARGV[1], state)
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

-- The rotation decision of src/rotation.rs (`decide`) on a family's one key, and its write.
-- KEYS[1]  the family's record: generation|rotated_at|expires_at|live|revoked|grant (JSON)
-- ARGV[1]  the presented token's generation
-- ARGV[2]  the presented token's digest
-- ARGV[3]  the digest of its successor
-- ARGV[4]  now, seconds (the service's clock, as every record time is)
-- ARGV[5]  the refresh-token TTL, seconds
-- ARGV[6]  the grace window, seconds (TS_REFRESH_REUSE_GRACE)
-- ARGV[7]  the client presenting the token
-- ARGV[8]  the scope asked for, space-separated, or ''
-- ARGV[9]  the thumbprint of the request's DPoP key, or '': a family bound to a key (the
--          grant's `jkt`) is the presenting client's only with a proof by that key
-- Returns {outcome, grant}: 0 invalid, 1 rotated, 2 reused (the family is now revoked),
-- 3 scope exceeded, 4 repeated (consumed within the grace window); the grant on 1 and 4.
local stored = redis.call('GET', KEYS[1])
if not stored then return {0} end
local gen_s, rotated_s, expires_s, live, revoked, grant =
  string.match(stored, '^(%d+)|(%d+)|(%d+)|([^|]*)|([01])|(.*)$')
if not gen_s then return redis.error_reply('ERR corrupt refresh-token family record') end
local gen, rotated, expires = tonumber(gen_s), tonumber(rotated_s), tonumber(expires_s)
local presented, now = tonumber(ARGV[1]), tonumber(ARGV[4])
if revoked == '1' or now >= expires then return {0} end
local granted = cjson.decode(grant)
if granted.client_id ~= ARGV[7] then return {0} end
if type(granted.jkt) == 'string' and granted.jkt ~= ARGV[9] then return {0} end
if ARGV[8] ~= '' then
  local scope = ' ' .. granted.scope .. ' '
  for token in string.gmatch(ARGV[8], '%S+') do
    if not string.find(scope, ' ' .. token .. ' ', 1, true) then return {3} end
  end
end
if presented == 4294967295 then return {0} end
local rotate
if presented == gen then
  rotate = ARGV[2] == live
elseif presented > gen then
  rotate = true
elseif presented + 1 == gen and ARGV[3] == live and tonumber(ARGV[6]) > 0
    and now < rotated + tonumber(ARGV[6]) then
  return {4, grant}
else
  rotate = false
end
if not rotate then
  redis.call('SET', KEYS[1],
    gen_s .. '|' .. rotated_s .. '|' .. expires_s .. '|' .. live .. '|1|' .. grant, 'KEEPTTL')
  return {2}
end
local ttl = tonumber(ARGV[5])
redis.call('SET', KEYS[1],
  string.format('%d|%d|%d|%s|0|%s', presented + 1, now, now + ttl, ARGV[3], grant), 'EX', ttl)
return {1, grant}

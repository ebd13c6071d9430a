-- After login_settle.lua: reserves a login attempt.
-- ARGV[3]  TS_LOGIN_MAX_FAILURES
-- ARGV[4]  how long a reservation lasts unsettled, ms
-- Returns 0 reserved, the throttle's remaining wait in ms, or -1 when as many attempts are in
-- flight as failures are left.
local n = tonumber(redis.call('HGET', f, 'n') or '0')
local held = tonumber(redis.call('HGET', f, 'until') or '0')
if held > now then return held - now end
local max = tonumber(ARGV[3])
local allowed = math.max(max - n, 1)
if tonumber(redis.call('HGET', f, 'inf') or '0') >= allowed then return -1 end
redis.call('HINCRBY', f, 'inf', 1)
redis.call('HSET', f, 'infu', string.format('%d', now + tonumber(ARGV[4])))
return 0

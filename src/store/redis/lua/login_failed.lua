-- After login_settle.lua: counts a failed login and settles its reservation.
-- ARGV[3]  TS_LOGIN_MAX_FAILURES
-- ARGV[4]  the longest wait, seconds
-- Returns the count.
if tonumber(redis.call('HGET', f, 'inf') or '0') > 0 then redis.call('HINCRBY', f, 'inf', -1) end
local n = redis.call('HINCRBY', f, 'n', 1)
local max = tonumber(ARGV[3])
if n >= max then
  local wait = math.min(2 ^ math.min(n - max, 16), tonumber(ARGV[4]))
  redis.call('HSET', f, 'until', string.format('%d', now + wait * 1000))
end
redis.call('HSET', f, 'last', ARGV[1])
return n

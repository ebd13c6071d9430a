-- The head of the login scripts: forgets failures older than the window and reservations that
-- lapsed. Times are milliseconds (the service's clock).
-- KEYS[1]  the username's failed logins: n, until, last, inf (in flight), infu (they lapse)
-- ARGV[1]  now
-- ARGV[2]  the window after the last failure that the count lasts
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local f = KEYS[1]
if now >= tonumber(redis.call('HGET', f, 'last') or '0') + window then
  redis.call('HDEL', f, 'n', 'until', 'last')
end
if now >= tonumber(redis.call('HGET', f, 'infu') or '0') then
  redis.call('HDEL', f, 'inf', 'infu')
end
redis.call('EXPIRE', f, math.ceil(window / 1000))

-- Settles a reservation whose attempt could not be checked (the argon2 pool was full).
-- KEYS[1]  the username's failed logins
-- Returns 1.
if tonumber(redis.call('HGET', KEYS[1], 'inf') or '0') > 0 then
  redis.call('HINCRBY', KEYS[1], 'inf', -1)
end
return 1

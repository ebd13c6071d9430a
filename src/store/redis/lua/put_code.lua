-- Stores an authorization code.
-- KEYS[1]  the code (hash of its value)
-- ARGV[1]  its record (JSON)
-- ARGV[2]  its expiry, seconds (the service's clock)
-- ARGV[3]  the client it was issued to
-- ARGV[4]  its TTL, seconds
-- Returns 1.
redis.call('HSET', KEYS[1], 'rec', ARGV[1], 'exp', ARGV[2], 'cid', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1

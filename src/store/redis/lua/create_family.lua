-- Starts a refresh-token family unless its key exists (a tombstone left by a replayed code).
-- KEYS[1]  the family's record
-- ARGV[1]  the record (`rotation::Record::encode`)
-- ARGV[2]  its TTL, seconds
-- Returns 1 started, 0 the key existed.
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
return 0

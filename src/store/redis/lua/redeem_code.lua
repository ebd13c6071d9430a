-- Spends a code for the refresh-token family that will be issued from it.
-- KEYS[1]  the code
-- ARGV[1]  the family
-- ARGV[2]  now, seconds
-- ARGV[3]  the refresh TTL, seconds: a spent code is kept that long, so a replay revokes the family
-- ARGV[4]  the client redeeming it
-- Returns {1, record} spent now, {2, family} spent before, {0} unknown or another client's.
if redis.call('HGET', KEYS[1], 'cid') ~= ARGV[4] then return {0, false} end
local fam = redis.call('HGET', KEYS[1], 'fam')
if fam then return {2, fam} end
local rec = redis.call('HGET', KEYS[1], 'rec')
if not rec or tonumber(redis.call('HGET', KEYS[1], 'exp')) <= tonumber(ARGV[2]) then return {0, false} end
redis.call('HSET', KEYS[1], 'fam', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, rec}

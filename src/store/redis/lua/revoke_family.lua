-- Revokes a family (its code was replayed), or leaves a revoked tombstone for one not stored yet.
-- KEYS[1]  the family's record
-- ARGV[1]  the tombstone's TTL, seconds
-- ARGV[2]  the tombstone's record
-- Returns 1.
local stored = redis.call('GET', KEYS[1])
if stored then
  local head, tail = string.match(stored, '^(%d+|%d+|%d+|[^|]*|)[01](|.*)$')
  if head then redis.call('SET', KEYS[1], head .. '1' .. tail, 'KEEPTTL') end
else
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[1])
end
return 1

-- Revokes a family if it was granted to the client asking (RFC 7009 §2.1).
-- KEYS[1]  the family's record
-- ARGV[1]  the client
-- Returns 1 revoked, 0 not this client's family (or none).
local stored = redis.call('GET', KEYS[1])
if not stored then return 0 end
local head, tail = string.match(stored, '^(%d+|%d+|%d+|[^|]*|)[01]|(.*)$')
if not head or tail == '' or cjson.decode(tail).client_id ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], head .. '1|' .. tail, 'KEEPTTL')
return 1

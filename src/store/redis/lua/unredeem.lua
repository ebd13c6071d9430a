-- Makes a code spendable again if it was spent for this family: its replicas did not
-- acknowledge the redemption, or the family could not be stored.
-- KEYS[1]  the code
-- ARGV[1]  the family
-- Returns 1.
if redis.call('HGET', KEYS[1], 'fam') == ARGV[1] then redis.call('HDEL', KEYS[1], 'fam') end
return 1

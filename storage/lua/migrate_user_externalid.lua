-- migrate_user_externalid: move one entry of the externalId hash of earlier
-- releases (externalId -> id, unique) into the set of that value, or drop
-- it when its user no longer holds the value. Step "user-externalid-sets"
-- of scimd migrate; running it twice changes nothing the second time.
--
-- KEYS[1]  t:{t}:idx:user:externalId        legacy hash externalId -> id
-- KEYS[2]  t:{t}:idx:user:externalId:<v>    set of ids with externalId v
-- KEYS[3]  t:{t}:user:<id>                  the record the entry names (t:{t}:tenant
--                                           for an id that cannot name a record)
-- ARGV[1]  v, the hash field
-- ARGV[2]  id, its value as read
--
-- Returns
--   {0, 1}  the entry is gone from the hash (moved to the set, or stale)
--   {0, 0}  the entry no longer names id: nothing done
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then
  return {0, 0}
end
if redis.call('HGET', KEYS[3], 'externalId') == ARGV[1] then
  redis.call('SADD', KEYS[2], ARGV[2])
end
redis.call('HDEL', KEYS[1], ARGV[1])
return {0, 1}

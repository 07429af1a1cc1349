-- decision_by_username: the stored access decision of the user holding a
-- userName, in one round trip (read only).
--
-- KEYS[1]  t:{t}:idx:user:userName  hash UserNameKey(userName) -> user id
-- ARGV[1]  UserNameKey(userName)
-- ARGV[2]  the key of releases before UserNameKey ('' when the same)
-- ARGV[3]  t:{t}:access:user:   prefix of the decision records
-- ARGV[4]  t:{t}:user:          prefix of the user records
--
-- The record keys are built from the id the index holds: they share the
-- tenant's hash tag, so they are in KEYS[1]'s slot on a cluster.
--
-- Returns
--   {}                            nobody holds the userName
--   {id, record|false, userName}  the holder, its decision (false: none yet),
--                                 and the userName its record holds (false:
--                                 no record), for the caller to check that
--                                 the index entry is not a stale one
local id = redis.call('HGET', KEYS[1], ARGV[1])
if not id and ARGV[2] ~= '' then
  id = redis.call('HGET', KEYS[1], ARGV[2])
end
if not id then
  return {}
end
local held = redis.call('HGET', ARGV[4] .. id, 'userName')
return {id, redis.call('GET', ARGV[3] .. id), held}

-- migrate_user_username: re-key one user's userName index entry from the
-- key of earlier releases (lower(userName)) to UserNameKey. Step
-- "user-username-keys" of scimd migrate; running it twice changes nothing
-- the second time.
--
-- KEYS[1]  t:{t}:idx:user:userName   hash userName key -> id
-- KEYS[2]  t:{t}:user:<id>           the record
-- ARGV[1]  id
-- ARGV[2]  userName as read
-- ARGV[3]  its key (UserNameKey)
-- ARGV[4]  its old key (lower-cased)
--
-- Returns
--   {0, 1}                      re-keyed
--   {0, 0}                      nothing to do: already keyed, or the userName
--                               changed since the read (its write keyed it)
--   {3, 'userName', holderId}   another user holds the key: two userNames that
--                               are the same under UserNameKey; nothing done
if redis.call('HGET', KEYS[2], 'userName') ~= ARGV[2] then
  return {0, 0}
end
local holder = redis.call('HGET', KEYS[1], ARGV[3])
if holder == ARGV[1] then
  if redis.call('HGET', KEYS[1], ARGV[4]) == ARGV[1] then
    redis.call('HDEL', KEYS[1], ARGV[4])
    return {0, 1}
  end
  return {0, 0}
end
if holder then
  return {3, 'userName', holder}
end
redis.call('HSET', KEYS[1], ARGV[3], ARGV[1])
if redis.call('HGET', KEYS[1], ARGV[4]) == ARGV[1] then
  redis.call('HDEL', KEYS[1], ARGV[4])
end
return {0, 1}

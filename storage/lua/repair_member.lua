-- repair_member: one repair of Check (scimd check --repair) to a user's
-- reverse set of groups, decided on the member set as it is now: the member
-- set is the truth, the reverse set follows it.
--
-- KEYS[1]  t:{t}:tenant               settings hash (must exist)
-- KEYS[2]  t:{t}:group:<gid>          the group's record
-- KEYS[3]  t:{t}:group:<gid>:members  its member set
-- KEYS[4]  t:{t}:user:<uid>           the user's record
-- KEYS[5]  t:{t}:user:<uid>:groups    the user's reverse set
-- KEYS[6]  t:{t}:access:outbox        stream (outbox.lua: the user's groups moved)
-- KEYS[7]  t:{t}:access:gen           counter
-- ARGV[1]  gid
-- ARGV[2]  uid
-- ARGV[3]  'add': add gid to the reverse set, if the group and the user exist
--                 and the user is in the member set
--          'rem': remove gid from the reverse set, unless the group exists
--                 and the user is in its member set
--
-- Returns
--   {0, 1}         done: the reverse entry now agrees with the member set
--   {0, 0}         nothing done: the member set or a record moved since the read
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local held = redis.call('HEXISTS', KEYS[2], 'v') == 1
    and redis.call('SISMEMBER', KEYS[3], ARGV[2]) == 1
if ARGV[3] == 'add' then
  if not held or redis.call('HEXISTS', KEYS[4], 'v') == 0 then
    return {0, 0}
  end
  redis.call('SADD', KEYS[5], ARGV[1])
elseif ARGV[3] == 'rem' then
  if held then
    return {0, 0}
  end
  redis.call('SREM', KEYS[5], ARGV[1])
else
  return redis.error_reply('repair_member: unknown op ' .. ARGV[3])
end
outbox_add(KEYS[6], KEYS[7], 'users', ARGV[2], outbox_cause('repair', ARGV[1]))
return {0, 1}

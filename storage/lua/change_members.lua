-- change_members: add and remove members of a group without a version check
-- (member sets need no read-modify-write, so concurrent member changes all
-- land), bump the group's version and modified time, append the audit event.
-- Work is O(added + removed).
--
-- KEYS[1]            t:{t}:tenant                 settings hash (must exist; maxMembers)
-- KEYS[2]            t:{t}:group:<id>             the record (must exist)
-- KEYS[3]            t:{t}:group:<id>:members     member set
-- KEYS[4]            t:{t}:audit                  stream
-- KEYS[3+2i]         (i = 1..na) t:{t}:user:<added i>
-- KEYS[4+2i]         (i = 1..na) t:{t}:user:<added i>:groups
-- KEYS[4+2na+i]      (i = 1..nr) t:{t}:user:<removed i>:groups
-- last three         t:{t}:grants, t:{t}:access:outbox, t:{t}:access:gen (outbox.lua)
-- ARGV[1]   id
-- ARGV[2]   modified time (Unix nanoseconds)
-- ARGV[3]   audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[4]   audit event JSON ('' = none)
-- ARGV[5]   na, members to add (distinct)
-- ARGV[6]   nr, members to remove (distinct)
-- ARGV[7]   members quota when the tenant sets none (field maxMembers)
-- ARGV[8..7+na]        added ids
-- ARGV[8+na..7+na+nr]  removed ids
--
-- Returns
--   {0, version}    changed; the group's new version
--   {1, 'tenant'}   no such tenant
--   {1, 'group'}    no such group
--   {7}             the group is managed in the app: a SCIM change takes it
--                   over, which rewrites the record (update_group)
--   {6, userId}     an added member names no user
--   {11, 'members', limit, size}  the group would grow past its quota
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]
local na = tonumber(ARGV[5])
local nr = tonumber(ARGV[6])

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[4], ARGV[3], ARGV[4])
if full then
  return full
end
if redis.call('HEXISTS', KEYS[2], 'v') == 0 then
  return {1, 'group'}
end
if redis.call('HGET', KEYS[2], 'managedBy') == 'manual' then
  return {7}
end
for i = 1, na do
  if redis.call('EXISTS', KEYS[3 + 2 * i]) == 0 then
    return {6, ARGV[7 + i]}
  end
end
local quota = tonumber(redis.call('HGET', KEYS[1], 'maxMembers')) or tonumber(ARGV[7])
local size = redis.call('SCARD', KEYS[3])
if na > 0 and size + na > quota then
  -- Only now count exactly (O(changed)): adds of members already in and
  -- removes of members in do not grow the group.
  local after = size
  for i = 1, na do
    after = after + 1 - redis.call('SISMEMBER', KEYS[3], ARGV[7 + i])
  end
  for i = 1, nr do
    after = after - redis.call('SISMEMBER', KEYS[3], ARGV[7 + na + i])
  end
  if after > quota and after > size then
    return {11, 'members', quota, size}
  end
end

local changed = outbox_member_changes(KEYS[#KEYS - 2], id, KEYS[3], {{8, na, true}, {8 + na, nr, false}})
for i = 1, na do
  redis.call('SADD', KEYS[3], ARGV[7 + i])
  redis.call('SADD', KEYS[4 + 2 * i], id)
end
for i = 1, nr do
  redis.call('SREM', KEYS[3], ARGV[7 + na + i])
  redis.call('SREM', KEYS[4 + 2 * na + i], id)
end
local v = redis.call('HINCRBY', KEYS[2], 'v', 1)
redis.call('HSET', KEYS[2], 'modified', ARGV[2])
if ARGV[4] ~= '' then
  audit_add(KEYS[4], ARGV[3], ARGV[4])
end
outbox_users(KEYS[#KEYS - 1], KEYS[#KEYS], changed, outbox_cause('membership', id))
return {0, v}

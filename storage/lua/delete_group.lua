-- delete_group: remove a group, its indexes, its member set and the reverse
-- entries of its members, and append the audit event. Go reads the version,
-- index values and members first, because the members' reverse-set keys must
-- be declared in KEYS; the script verifies that read still holds and answers
-- {7} (read again) if it does not.
--
-- KEYS[1]    t:{t}:tenant                          settings hash (must exist)
-- KEYS[2]    t:{t}:groups                          zset id -> sequence
-- KEYS[3]    t:{t}:group:<id>                      the record
-- KEYS[4]    t:{t}:group:<id>:members              member set
-- KEYS[5]    t:{t}:idx:group:displayName           hash lower(displayName) -> id
-- KEYS[6]    t:{t}:idx:group:externalId:<v>        set
-- KEYS[7]    t:{t}:audit                           stream
-- KEYS[8]    t:{t}:grants                          hash group id -> grants JSON
-- KEYS[8+i]  t:{t}:user:<member i>:groups, one per member id in ARGV[6+i]
-- last two   t:{t}:access:outbox, t:{t}:access:gen (outbox.lua)
-- ARGV[1]    id
-- ARGV[2]    version read (field v)
-- ARGV[3]    lower(displayName) read
-- ARGV[4]    audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[5]    audit event JSON ('' = none)
-- ARGV[6]    n, the number of members read
-- ARGV[7..]  the member ids read
--
-- Returns
--   {0}            deleted
--   {1, 'tenant'}  no such tenant
--   {1, 'group'}   no such group
--   {7}            the version or the member set moved since the read
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]
local n = tonumber(ARGV[6])

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[7], ARGV[4], ARGV[5])
if full then
  return full
end
local v = redis.call('HGET', KEYS[3], 'v')
if not v then
  return {1, 'group'}
end
if v ~= ARGV[2] or redis.call('SCARD', KEYS[4]) ~= n then
  return {7}
end
for i = 1, n do
  if redis.call('SISMEMBER', KEYS[4], ARGV[6 + i]) == 0 then
    return {7}
  end
end

local changed = outbox_member_changes(KEYS[8], id, KEYS[4], {{7, n, false}})
for i = 1, n do
  redis.call('SREM', KEYS[8 + i], id)
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('HDEL', KEYS[8], id)
if redis.call('HGET', KEYS[5], ARGV[3]) == id then
  redis.call('HDEL', KEYS[5], ARGV[3])
end
redis.call('SREM', KEYS[6], id)
redis.call('ZREM', KEYS[2], id)
if ARGV[5] ~= '' then
  audit_add(KEYS[7], ARGV[4], ARGV[5])
end
outbox_users(KEYS[#KEYS - 1], KEYS[#KEYS], changed, outbox_cause('membership', id))
return {0}

-- create_group: store a new group with its indexes and initial members (the
-- reverse set of each member included), and append the audit event. Every
-- check runs before the first write, so a refusal changes nothing.
--
-- KEYS[1]    t:{t}:tenant                          settings hash (must exist; maxGroups, maxMembers)
-- KEYS[2]    t:{t}:seq                             creation sequence
-- KEYS[3]    t:{t}:groups                          zset id -> sequence
-- KEYS[4]    t:{t}:group:<id>                      the record
-- KEYS[5]    t:{t}:group:<id>:members              member set
-- KEYS[6]    t:{t}:idx:group:displayName           hash lower(displayName) -> id
-- KEYS[7]    t:{t}:idx:group:externalId:<v>        set (unused when ARGV[3] is '')
-- KEYS[8]    t:{t}:audit                           stream
-- KEYS[9..]  per member i (ARGV[8+m+i]): t:{t}:user:<uid> at 7+2i, t:{t}:user:<uid>:groups at 8+2i
-- last three t:{t}:grants, t:{t}:access:outbox, t:{t}:access:gen (outbox.lua; a
--            new group grants nothing, unless grants outlived a group of its id)
-- ARGV[1]    id
-- ARGV[2]    lower(displayName)
-- ARGV[3]    externalId ('' = none)
-- ARGV[4]    audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[5]    audit event JSON ('' = none)
-- ARGV[6]    groups quota when the tenant sets none (field maxGroups)
-- ARGV[7]    members quota when the tenant sets none (field maxMembers)
-- ARGV[8]    m, the number of record ARGVs that follow
-- ARGV[9..8+m]  record field, value pairs
-- ARGV[9+m..]   member user ids, distinct
--
-- Returns
--   {0}                            created
--   {1, 'tenant'}                  no such tenant
--   {2, 'group'}                   the id is taken
--   {3, 'displayName', holderId}   lower(displayName) is held
--   {6, userId}                    a member names no user
--   {11, 'groups', limit, used}     the tenant holds its quota of groups
--   {11, 'members', limit, n}       more members than a group may have
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]
local m = tonumber(ARGV[8])
local first = 9 + m
local n = #ARGV - first + 1

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[8], ARGV[4], ARGV[5])
if full then
  return full
end
if redis.call('EXISTS', KEYS[4]) == 1 then
  return {2, 'group'}
end
local holder = redis.call('HGET', KEYS[6], ARGV[2])
if holder then
  return {3, 'displayName', holder}
end
for i = 1, n do
  if redis.call('EXISTS', KEYS[7 + 2 * i]) == 0 then
    return {6, ARGV[first + i - 1]}
  end
end
local quota = tonumber(redis.call('HGET', KEYS[1], 'maxGroups')) or tonumber(ARGV[6])
local groups = redis.call('ZCARD', KEYS[3])
if groups >= quota then
  return {11, 'groups', quota, groups}
end
quota = tonumber(redis.call('HGET', KEYS[1], 'maxMembers')) or tonumber(ARGV[7])
if n > quota then
  return {11, 'members', quota, n}
end

local changed = outbox_member_changes(KEYS[#KEYS - 2], id, KEYS[5], {{first, n, true}})
redis.call('HSET', KEYS[4], unpack(ARGV, 9, 8 + m))
redis.call('HSET', KEYS[6], ARGV[2], id)
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[7], id)
end
redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[2]), id)
for i = 1, n do
  redis.call('SADD', KEYS[5], ARGV[first + i - 1])
  redis.call('SADD', KEYS[8 + 2 * i], id)
end
if ARGV[5] ~= '' then
  audit_add(KEYS[8], ARGV[4], ARGV[5])
end
outbox_users(KEYS[#KEYS - 1], KEYS[#KEYS], changed, outbox_cause('membership', id))
return {0}

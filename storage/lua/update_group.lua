-- update_group: compare-and-set a group's record on its version, moving its
-- index entries, then change its members and append the audit event. Member
-- work is O(added + removed): one SADD/SREM on the member set and one on each
-- affected user's reverse set. A replace first drops the current members,
-- which Go read (their reverse-set keys must be declared in KEYS); the script
-- verifies that read still holds and answers {7} (read again) if it does not.
-- Every check runs before the first write.
--
-- KEYS[1]   t:{t}:tenant                          settings hash (must exist; maxMembers)
-- KEYS[2]   t:{t}:group:<id>                      the record
-- KEYS[3]   t:{t}:group:<id>:members              member set
-- KEYS[4]   t:{t}:idx:group:displayName           hash lower(displayName) -> id
-- KEYS[5]   t:{t}:idx:group:externalId:<old>      set
-- KEYS[6]   t:{t}:idx:group:externalId:<new>      set
-- KEYS[7]   t:{t}:audit                           stream
-- KEYS[7+i]            (i = 1..nc) t:{t}:user:<current member i>:groups
-- KEYS[6+nc+2i]        (i = 1..na) t:{t}:user:<added i>
-- KEYS[7+nc+2i]        (i = 1..na) t:{t}:user:<added i>:groups
-- KEYS[7+nc+2na+i]     (i = 1..nr) t:{t}:user:<removed i>:groups
-- last three           t:{t}:grants, t:{t}:access:outbox, t:{t}:access:gen (outbox.lua)
-- ARGV[1]   id
-- ARGV[2]   version read (field v)
-- ARGV[3]   displayName read     ARGV[4] externalId read
-- ARGV[5]   old lower(displayName)   ARGV[6] new lower(displayName)
-- ARGV[7]   new externalId ('' = none)
-- ARGV[8]   audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[9]   audit event JSON ('' = none)
-- ARGV[10]  '1' to replace the members, else '0'
-- ARGV[11]  nc, current members read (0 unless replacing)
-- ARGV[12]  na, members to add (distinct)
-- ARGV[13]  nr, members to remove (distinct)
-- ARGV[14]  m, the number of record ARGVs that follow
-- ARGV[15]  members quota when the tenant sets none (field maxMembers)
-- ARGV[16..15+m]  record field, value pairs
-- then nc current ids, na added ids, nr removed ids
--
-- Returns
--   {0}                            updated
--   {1, 'tenant'}                  no such tenant
--   {1, 'group'}                   no such group
--   {5}                            version (or an indexed value read) differs from the stored one
--   {3, 'displayName', holderId}   new lower(displayName) is held by another group
--   {7}                            replacing, and the member set moved since the read
--   {6, userId}                    an added member names no user
--   {11, 'members', limit, size}    the group would grow past its quota
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]
local replace = ARGV[10] == '1'
local nc = tonumber(ARGV[11])
local na = tonumber(ARGV[12])
local nr = tonumber(ARGV[13])
local m = tonumber(ARGV[14])
local base = 16 + m

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[7], ARGV[8], ARGV[9])
if full then
  return full
end
local cur = redis.call('HMGET', KEYS[2], 'v', 'displayName', 'externalId')
if not cur[1] then
  return {1, 'group'}
end
if cur[1] ~= ARGV[2] or (cur[2] or '') ~= ARGV[3] or (cur[3] or '') ~= ARGV[4] then
  return {5}
end
if ARGV[6] ~= ARGV[5] then
  local holder = redis.call('HGET', KEYS[4], ARGV[6])
  if holder and holder ~= id then
    return {3, 'displayName', holder}
  end
end
if replace then
  if redis.call('SCARD', KEYS[3]) ~= nc then
    return {7}
  end
  for i = 1, nc do
    if redis.call('SISMEMBER', KEYS[3], ARGV[base + i - 1]) == 0 then
      return {7}
    end
  end
end
for i = 1, na do
  if redis.call('EXISTS', KEYS[6 + nc + 2 * i]) == 0 then
    return {6, ARGV[base + nc + i - 1]}
  end
end
local quota = tonumber(redis.call('HGET', KEYS[1], 'maxMembers')) or tonumber(ARGV[15])
local size = redis.call('SCARD', KEYS[3])
if na > 0 and (replace and na or size + na) > quota then
  -- Count exactly (O(changed)): with a replace the set starts empty.
  local after = 0
  if replace then
    after = na
  else
    after = size
    for i = 1, na do
      after = after + 1 - redis.call('SISMEMBER', KEYS[3], ARGV[base + nc + i - 1])
    end
    for i = 1, nr do
      after = after - redis.call('SISMEMBER', KEYS[3], ARGV[base + nc + na + i - 1])
    end
  end
  if after > quota and after > size then
    return {11, 'members', quota, size}
  end
end

local changed = outbox_member_changes(KEYS[#KEYS - 2], id, KEYS[3],
  {{base, replace and nc or 0, false}, {base + nc, na, true}, {base + nc + na, nr, false}})
redis.call('HSET', KEYS[2], unpack(ARGV, 16, 15 + m))
if ARGV[6] ~= ARGV[5] then
  if redis.call('HGET', KEYS[4], ARGV[5]) == id then
    redis.call('HDEL', KEYS[4], ARGV[5])
  end
end
redis.call('HSET', KEYS[4], ARGV[6], id)
if ARGV[7] ~= ARGV[4] then
  if ARGV[4] ~= '' then
    redis.call('SREM', KEYS[5], id)
  end
  if ARGV[7] ~= '' then
    redis.call('SADD', KEYS[6], id)
  end
end
if replace then
  for i = 1, nc do
    redis.call('SREM', KEYS[3], ARGV[base + i - 1])
    redis.call('SREM', KEYS[7 + i], id)
  end
end
for i = 1, na do
  redis.call('SADD', KEYS[3], ARGV[base + nc + i - 1])
  redis.call('SADD', KEYS[7 + nc + 2 * i], id)
end
for i = 1, nr do
  redis.call('SREM', KEYS[3], ARGV[base + nc + na + i - 1])
  redis.call('SREM', KEYS[7 + nc + 2 * na + i], id)
end
if ARGV[9] ~= '' then
  audit_add(KEYS[7], ARGV[8], ARGV[9])
end
outbox_users(KEYS[#KEYS - 1], KEYS[#KEYS], changed, outbox_cause('membership', id))
return {0}

-- delete_user: remove a user, its indexes, its seat and its membership of
-- every group, and append the audit event. Go reads the record's version and
-- index values and the user's groups (the reverse set) first, because the
-- member-set keys of those groups must be declared in KEYS; the script
-- verifies that read still holds and answers {7} (read again) if it does not.
--
-- KEYS[1]     t:{t}:tenant                           settings hash (must exist)
-- KEYS[2]     t:{t}:seats                            active-user counter
-- KEYS[3]     t:{t}:users                            zset id -> sequence
-- KEYS[4]     t:{t}:user:<id>                        the record
-- KEYS[5]     t:{t}:user:<id>:groups                 reverse set of group ids
-- KEYS[6]     t:{t}:idx:user:userName                hash userName key -> id (see UserNameKey)
-- KEYS[7]     t:{t}:idx:user:externalId              legacy hash externalId -> id (see keys.go)
-- KEYS[8]     t:{t}:idx:user:email:<lower email>     set
-- KEYS[9]     t:{t}:idx:user:employeeNumber:<v>      set
-- KEYS[10]    t:{t}:lex:user:userName                zset of lower(userName) NUL id
-- KEYS[11]    t:{t}:audit                            stream
-- KEYS[12]    t:{t}:idx:user:externalId:<v>          set (unused when ARGV[4] is '')
-- KEYS[13..]  t:{t}:group:<gid>:members, one per group id in ARGV[9..]
-- last two    t:{t}:access:outbox, t:{t}:access:gen  (outbox.lua; the stored
--             decision stays for the resolver, which deletes it with its feed entry)
-- ARGV[1]     id
-- ARGV[2]     version read (field v)
-- ARGV[3]     userName key read
-- ARGV[4]     externalId read ('' = none)
-- ARGV[5]     lex member read (lower(userName) NUL id; lower(userName) is
--             also the key of releases before UserNameKey)
-- ARGV[6]     audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[7]     audit event JSON ('' = none)
-- ARGV[8]     n, the number of groups read
-- ARGV[9..]   the group ids read
--
-- Returns
--   {0}            deleted
--   {1, 'tenant'}  no such tenant
--   {1, 'user'}    no such user
--   {7}            the version or the reverse set moved since the read
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]
local n = tonumber(ARGV[8])

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[11], ARGV[6], ARGV[7])
if full then
  return full
end
local cur = redis.call('HMGET', KEYS[4], 'v', 'active', 'userName')
if not cur[1] then
  return {1, 'user'}
end
if cur[1] ~= ARGV[2] or redis.call('SCARD', KEYS[5]) ~= n then
  return {7}
end
for i = 1, n do
  if redis.call('SISMEMBER', KEYS[5], ARGV[8 + i]) == 0 then
    return {7}
  end
end

for i = 1, n do
  redis.call('SREM', KEYS[12 + i], id)
end
redis.call('DEL', KEYS[4], KEYS[5])
local legacy = string.sub(ARGV[5], 1, #ARGV[5] - #id - 1)
for _, k in ipairs({ARGV[3], legacy}) do
  if redis.call('HGET', KEYS[6], k) == id then
    redis.call('HDEL', KEYS[6], k)
  end
end
if ARGV[4] ~= '' then
  redis.call('SREM', KEYS[12], id)
  if redis.call('HGET', KEYS[7], ARGV[4]) == id then
    redis.call('HDEL', KEYS[7], ARGV[4])
  end
end
redis.call('SREM', KEYS[8], id)
redis.call('SREM', KEYS[9], id)
redis.call('ZREM', KEYS[10], ARGV[5])
redis.call('ZREM', KEYS[3], id)
if cur[2] == '1' then
  redis.call('DECR', KEYS[2])
end
if ARGV[7] ~= '' then
  audit_add(KEYS[11], ARGV[6], ARGV[7])
end
outbox_user_deleted(KEYS[#KEYS - 1], KEYS[#KEYS], id, cur[3] or '', ARGV[4])
return {0}

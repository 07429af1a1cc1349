-- update_user: compare-and-set a user's record on its version, moving index
-- entries, taking or freeing a seat when active changes, and appending the
-- audit event. The old index values come from the caller's read (ARGV[3..6]);
-- they must equal the stored ones, so a caller never moves index entries it
-- did not read. Every check runs before the first write.
--
-- KEYS[1]   t:{t}:tenant                               settings hash (must exist; licenseLimit)
-- KEYS[2]   t:{t}:seats                                active-user counter
-- KEYS[3]   t:{t}:user:<id>                            the record
-- KEYS[4]   t:{t}:idx:user:userName                    hash userName key -> id (see UserNameKey)
-- KEYS[5]   t:{t}:idx:user:externalId                  legacy hash externalId -> id (see keys.go)
-- KEYS[6]   t:{t}:idx:user:email:<old lower email>     set
-- KEYS[7]   t:{t}:idx:user:email:<new lower email>     set
-- KEYS[8]   t:{t}:idx:user:employeeNumber:<old>        set
-- KEYS[9]   t:{t}:idx:user:employeeNumber:<new>        set
-- KEYS[10]  t:{t}:lex:user:userName                    zset of lower(userName) NUL id
-- KEYS[11]  t:{t}:audit                                stream
-- KEYS[12]  t:{t}:idx:user:externalId:<old>            set
-- KEYS[13]  t:{t}:idx:user:externalId:<new>            set
-- KEYS[14]  t:{t}:access:outbox                        stream (outbox.lua; only active moves the decision)
-- KEYS[15]  t:{t}:access:gen                           counter
-- ARGV[1]   id
-- ARGV[2]   version read (field v)
-- ARGV[3]   userName read      ARGV[4] externalId read
-- ARGV[5]   workEmail read     ARGV[6] employeeNumber read
-- ARGV[7]   old userName key        ARGV[8]  new userName key
-- ARGV[9]   new externalId ('' = none)
-- ARGV[10]  old lower(workEmail)    ARGV[11] new lower(workEmail) ('' = none)
-- ARGV[12]  new employeeNumber ('' = none)
-- ARGV[13]  old lex member          ARGV[14] new lex member (lower(userName) NUL id;
--           lower(userName) is also the key of releases before UserNameKey)
-- ARGV[15]  '1' if the new record is active, else '0'
-- ARGV[16]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[17]  audit event JSON ('' = none)
-- ARGV[18..] record field, value pairs
--
-- Returns
--   {0}                         updated
--   {1, 'tenant'}               no such tenant
--   {1, 'user'}                 no such user
--   {5}                         version (or an indexed value read) differs from the stored one
--   {3, 'userName', holderId}   the new userName key (or old key) is held by another user
--   {4, limit, used}            reactivation, and no seat is left
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[11], ARGV[16], ARGV[17])
if full then
  return full
end
local cur = redis.call('HMGET', KEYS[3], 'v', 'active', 'userName', 'externalId', 'workEmail', 'employeeNumber')
if not cur[1] then
  return {1, 'user'}
end
if cur[1] ~= ARGV[2] or (cur[3] or '') ~= ARGV[3] or (cur[4] or '') ~= ARGV[4]
    or (cur[5] or '') ~= ARGV[5] or (cur[6] or '') ~= ARGV[6] then
  return {5}
end
local function lexValue(m)
  return string.sub(m, 1, #m - #id - 1)
end
local oldLegacy, newLegacy = lexValue(ARGV[13]), lexValue(ARGV[14])
-- keep is where the user's entry goes: its key, unless another user holds
-- that already and the key does not change (two users whose userNames
-- collided only once keys came in: the user stays under its old key, and
-- migrate reports the pair).
local keep = ARGV[8]
local holder = redis.call('HGET', KEYS[4], ARGV[8])
if holder and holder ~= id then
  if ARGV[8] ~= ARGV[7] then
    return {3, 'userName', holder}
  end
  keep = newLegacy
end
if ARGV[8] ~= ARGV[7] or keep ~= ARGV[8] then
  holder = redis.call('HGET', KEYS[4], newLegacy)
  if holder and holder ~= id then
    return {3, 'userName', holder}
  end
end
local was = cur[2] == '1'
local now = ARGV[15] == '1'
if now and not was then
  local limit = tonumber(redis.call('HGET', KEYS[1], 'licenseLimit')) or 0
  local used = tonumber(redis.call('GET', KEYS[2])) or 0
  if used >= limit then
    return {4, limit, used}
  end
end

if now and not was then
  redis.call('INCR', KEYS[2])
elseif was and not now then
  redis.call('DECR', KEYS[2])
end
for _, k in ipairs({ARGV[7], oldLegacy, ARGV[8], newLegacy}) do
  if k ~= keep and redis.call('HGET', KEYS[4], k) == id then
    redis.call('HDEL', KEYS[4], k)
  end
end
redis.call('HSET', KEYS[4], keep, id)
if ARGV[9] ~= ARGV[4] then
  if ARGV[4] ~= '' then
    redis.call('SREM', KEYS[12], id)
    if redis.call('HGET', KEYS[5], ARGV[4]) == id then
      redis.call('HDEL', KEYS[5], ARGV[4])
    end
  end
  if ARGV[9] ~= '' then
    redis.call('SADD', KEYS[13], id)
  end
end
if ARGV[11] ~= ARGV[10] then
  if ARGV[10] ~= '' then
    redis.call('SREM', KEYS[6], id)
  end
  if ARGV[11] ~= '' then
    redis.call('SADD', KEYS[7], id)
  end
end
if ARGV[12] ~= ARGV[6] then
  if ARGV[6] ~= '' then
    redis.call('SREM', KEYS[8], id)
  end
  if ARGV[12] ~= '' then
    redis.call('SADD', KEYS[9], id)
  end
end
if ARGV[14] ~= ARGV[13] then
  redis.call('ZREM', KEYS[10], ARGV[13])
  redis.call('ZADD', KEYS[10], 0, ARGV[14])
end
redis.call('HSET', KEYS[3], unpack(ARGV, 18))
if ARGV[17] ~= '' then
  audit_add(KEYS[11], ARGV[16], ARGV[17])
end
if now ~= was then
  outbox_add(KEYS[14], KEYS[15], 'users', id, outbox_cause('active', id))
end
return {0}

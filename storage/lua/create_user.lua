-- create_user: store a new user with its indexes, its seat (when active), its
-- place in the listing order and its audit event. Every check runs before the
-- first write, so a refusal changes nothing.
--
-- KEYS[1]   t:{t}:tenant                          settings hash (must exist; licenseLimit, maxUsers)
-- KEYS[2]   t:{t}:seats                           active-user counter
-- KEYS[3]   t:{t}:seq                             creation sequence
-- KEYS[4]   t:{t}:users                           zset id -> sequence
-- KEYS[5]   t:{t}:user:<id>                       the record
-- KEYS[6]   t:{t}:idx:user:userName               hash userName key -> id (see UserNameKey)
-- KEYS[7]   t:{t}:idx:user:externalId:<v>         set of ids (unused when ARGV[3] is '')
-- KEYS[8]   t:{t}:idx:user:email:<lower email>    set of ids (unused when ARGV[4] is '')
-- KEYS[9]   t:{t}:idx:user:employeeNumber:<v>     set of ids (unused when ARGV[5] is '')
-- KEYS[10]  t:{t}:lex:user:userName               zset, score 0, lower(userName) NUL id
-- KEYS[11]  t:{t}:audit                           stream
-- KEYS[12]  t:{t}:access:outbox                   stream (outbox.lua)
-- KEYS[13]  t:{t}:access:gen                      counter
-- KEYS[14]  t:{t}:user:                           prefix of the user records:
--           a refusal to link reads the holders' records (the tag keeps
--           them in the tenant's slot)
-- ARGV[1]   id
-- ARGV[2]   the userName key (UserNameKey)
-- ARGV[3]   externalId ('' = none)
-- ARGV[4]   lower(workEmail) ('' = none)
-- ARGV[5]   employeeNumber ('' = none)
-- ARGV[6]   lex member: lower(userName) NUL id; lower(userName) is also the
--           key of releases before UserNameKey, which is checked too until
--           the migration has re-keyed every user
-- ARGV[7]   '1' if active, else '0'; followed by 'l' (e.g. '1l'): a SCIM
--           create that may have to link a manual user instead, refused
--           with {7, ...} when any of its identifiers (userName key, work
--           email, employeeNumber) is held, with what deciding needs
-- ARGV[8]   audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[9]   audit event JSON ('' = none)
-- ARGV[10]  users quota when the tenant sets none (field maxUsers)
-- ARGV[11..] record field, value pairs
--
-- Returns
--   {0}                         created
--   {1, 'tenant'}               no such tenant
--   {2, 'user'}                 the id is taken
--   {3, 'userName', holderId}   the userName key (or the old key) is held
--   {7, matchBy, {nameHolder, legacyHolder}, emailHolders,
--    employeeNumberHolders[, {id, record, ...}]}
--                               'l' given, and an identifier is held:
--                               the tenant's matchBy field ('' = unset),
--                               the ids the userName index names for
--                               ARGV[2] and for the legacy key ('' = none),
--                               the ids of KEYS[8] and KEYS[9] (none when
--                               ARGV[4], ARGV[5] is ''), and each distinct
--                               id with its record as pack_hash packs it
--                               ('' = gone); the records are left out when
--                               there are more than max_holders ids, for
--                               the caller to read
--   {4, limit, used}            active, and no seat is left
--   {11, 'users', limit, used}   the tenant holds its quota of users
--   {12, ms}       audit log full: appending would drop an event of ms
local id = ARGV[1]

-- max_holders bounds the records a refusal to link reads: a work email
-- many users share would otherwise hold Redis for every one.
local max_holders = 50

-- may_link is the reply {7, ...} when an identifier is held, else nil.
local function may_link(holder, legacy_holder)
  local names = {holder or '', legacy_holder or ''}
  local emails, numbers = {}, {}
  if ARGV[4] ~= '' then
    emails = redis.call('SMEMBERS', KEYS[8])
  end
  if ARGV[5] ~= '' then
    numbers = redis.call('SMEMBERS', KEYS[9])
  end
  local ids, seen = {}, {}
  for _, list in ipairs({names, emails, numbers}) do
    for _, h in ipairs(list) do
      if h ~= '' and not seen[h] then
        seen[h] = true
        ids[#ids + 1] = h
      end
    end
  end
  if #ids == 0 then
    return nil
  end
  local reply = {7, redis.call('HGET', KEYS[1], 'matchBy') or '', names, emails, numbers}
  if #ids <= max_holders then
    local records = {}
    for _, h in ipairs(ids) do
      records[#records + 1] = h
      records[#records + 1] = pack_hash(KEYS[14] .. h)
    end
    reply[6] = records
  end
  return reply
end

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[11], ARGV[8], ARGV[9])
if full then
  return full
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  return {2, 'user'}
end
local holder = redis.call('HGET', KEYS[6], ARGV[2])
local legacy_holder = false
local legacy = string.sub(ARGV[6], 1, #ARGV[6] - #id - 1)
if legacy ~= ARGV[2] and (not holder or string.sub(ARGV[7], 2) == 'l') then
  legacy_holder = redis.call('HGET', KEYS[6], legacy)
end
if string.sub(ARGV[7], 2) == 'l' then
  local refusal = may_link(holder, legacy_holder)
  if refusal then
    return refusal
  end
elseif holder or legacy_holder then
  return {3, 'userName', holder or legacy_holder}
end
local active = string.sub(ARGV[7], 1, 1) == '1'
if active then
  local limit = tonumber(redis.call('HGET', KEYS[1], 'licenseLimit')) or 0
  local used = tonumber(redis.call('GET', KEYS[2])) or 0
  if used >= limit then
    return {4, limit, used}
  end
end
local quota = tonumber(redis.call('HGET', KEYS[1], 'maxUsers')) or tonumber(ARGV[10])
local users = redis.call('ZCARD', KEYS[4])
if users >= quota then
  return {11, 'users', quota, users}
end

redis.call('HSET', KEYS[5], unpack(ARGV, 11))
redis.call('HSET', KEYS[6], ARGV[2], id)
if ARGV[3] ~= '' then
  redis.call('SADD', KEYS[7], id)
end
if ARGV[4] ~= '' then
  redis.call('SADD', KEYS[8], id)
end
if ARGV[5] ~= '' then
  redis.call('SADD', KEYS[9], id)
end
redis.call('ZADD', KEYS[10], 0, ARGV[6])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[3]), id)
if active then
  redis.call('INCR', KEYS[2])
end
if ARGV[9] ~= '' then
  audit_add(KEYS[11], ARGV[8], ARGV[9])
end
outbox_add(KEYS[12], KEYS[13], 'users', id, outbox_cause('user_created', id))
return {0}

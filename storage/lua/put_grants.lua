-- put_grants: replace a group's role grants, after checking that the group
-- and every sub-account named exist, and append the audit event.
--
-- KEYS[1]  t:{t}:tenant      settings hash (must exist)
-- KEYS[2]  t:{t}:group:<id>  the group's record (must exist)
-- KEYS[3]  t:{t}:accounts    hash id -> JSON record
-- KEYS[4]  t:{t}:grants      hash group id -> JSON list of grants
-- KEYS[5]  t:{t}:audit       stream
-- KEYS[6]  t:{t}:roles       hash name -> JSON record of the custom roles
-- KEYS[7]  t:{t}:access:outbox  stream (outbox.lua)
-- KEYS[8]  t:{t}:access:gen     counter
-- ARGV[1]  group id
-- ARGV[2]  grants JSON ('[]' removes the group's grants)
-- ARGV[3]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[4]  audit event JSON ('' = none)
-- ARGV[5]  n, the number of distinct sub-accounts named
-- ARGV[6..5+n]  their ids
-- ARGV[6+n]     m, the number of distinct custom roles named
-- then m pairs  role name, the level the caller checked the grants against
--
-- Returns
--   {0}             stored
--   {1, 'tenant'}   no such tenant
--   {1, 'group'}    no such group
--   {8, id}         the named sub-account does not exist
--   {10, name}      the named custom role was deleted, or its level changed,
--                   since the caller checked the grants
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[5], ARGV[3], ARGV[4])
if full then
  return full
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  return {1, 'group'}
end
local n = tonumber(ARGV[5])
for i = 1, n do
  if redis.call('HEXISTS', KEYS[3], ARGV[5 + i]) == 0 then
    return {8, ARGV[5 + i]}
  end
end
local at = 6 + n
local m = tonumber(ARGV[at])
for i = 1, m do
  local name, level = ARGV[at + 2 * i - 1], ARGV[at + 2 * i]
  local rec = redis.call('HGET', KEYS[6], name)
  if not rec then
    return {10, name}
  end
  local ok, role = pcall(cjson.decode, rec)
  if not ok or type(role) ~= 'table' or role.level ~= level then
    return {10, name}
  end
end
if (redis.call('HGET', KEYS[4], ARGV[1]) or '[]') ~= ARGV[2] then
  outbox_add(KEYS[7], KEYS[8], 'group', ARGV[1], outbox_cause('grants', ARGV[1]))
end
if ARGV[2] == '[]' then
  redis.call('HDEL', KEYS[4], ARGV[1])
else
  redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
end
if ARGV[4] ~= '' then
  audit_add(KEYS[5], ARGV[3], ARGV[4])
end
return {0}

-- revoke_admin_tokens: remove every admin token of one name, the tenant's
-- first token (kept in the settings) included, with the audit event.
--
-- KEYS[1]  t:{t}:tenant       settings hash (must exist; adminTokenHash, adminName)
-- KEYS[2]  t:{t}:adminTokens  hash token hash -> name
-- KEYS[3]  t:{t}:audit        stream
-- ARGV[1]  name
-- ARGV[2]  the first token's name when the settings name none
-- ARGV[3]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[4]  audit event JSON ('' = none)
--
-- Returns
--   {0, n}              n tokens revoked
--   {1, 'tenant'}       no such tenant
--   {1, 'admin token'}  no token has that name
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[3], ARGV[3], ARGV[4])
if full then
  return full
end
local revoke = {}
local all = redis.call('HGETALL', KEYS[2])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then
    revoke[#revoke + 1] = all[i]
  end
end
local first = false
local firstHash = redis.call('HGET', KEYS[1], 'adminTokenHash')
if firstHash and firstHash ~= '' then
  local firstName = redis.call('HGET', KEYS[1], 'adminName')
  if not firstName or firstName == '' then
    firstName = ARGV[2]
  end
  first = firstName == ARGV[1]
end
if #revoke == 0 and not first then
  return {1, 'admin token'}
end
if #revoke > 0 then
  redis.call('HDEL', KEYS[2], unpack(revoke))
end
local n = #revoke
if first then
  redis.call('HSET', KEYS[1], 'adminTokenHash', '')
  n = n + 1
end
if ARGV[4] ~= '' then
  audit_add(KEYS[3], ARGV[3], ARGV[4])
end
return {0, n}

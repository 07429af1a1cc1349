-- put_admin_token: add a named token (by its hash) to a tenant, and append
-- the audit event. Admin tokens and decision tokens both go through it.
--
-- KEYS[1]  t:{t}:tenant       settings hash (must exist)
-- KEYS[2]  t:{t}:adminTokens  hash token hash -> name (or t:{t}:decisionTokens)
-- KEYS[3]  t:{t}:audit        stream
-- ARGV[1]  token hash
-- ARGV[2]  name
-- ARGV[3]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[4]  audit event JSON ('' = none)
-- ARGV[5]  the most tokens of the kind a tenant may have
-- ARGV[6]  the cap's name in the reply (absent: 'adminTokens')
--
-- Returns
--   {0}            added
--   {1, 'tenant'}  no such tenant
--   {11, cap, limit, n}  a new entry, and the tenant has limit of them
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[3], ARGV[3], ARGV[4])
if full then
  return full
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local n = redis.call('HLEN', KEYS[2])
  if n >= tonumber(ARGV[5]) then
    return {11, ARGV[6] or 'adminTokens', tonumber(ARGV[5]), n}
  end
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  audit_add(KEYS[3], ARGV[3], ARGV[4])
end
return {0}

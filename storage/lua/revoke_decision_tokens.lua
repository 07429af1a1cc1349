-- revoke_decision_tokens: remove every token of one name from a hash of
-- token hash -> name, with the audit event: a tenant's decision tokens, or
-- (KEYS[1] alone, no audit) the platform's.
--
-- KEYS[1]  t:{t}:decisionTokens  hash token hash -> name (or platform:decisionTokens)
-- KEYS[2]  t:{t}:tenant          settings hash (must exist); absent for the platform's
-- KEYS[3]  t:{t}:audit           stream; absent for the platform's
-- ARGV[1]  name
-- ARGV[2]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[3]  audit event JSON ('' = none)
--
-- Returns
--   {0, n}                 n tokens revoked
--   {1, 'tenant'}          no such tenant
--   {1, 'decision token'}  no token has that name
--   {12, ms}               audit log full: appending would drop an event of ms
local tenant = #KEYS >= 3
if tenant then
  if redis.call('EXISTS', KEYS[2]) == 0 then
    return {1, 'tenant'}
  end
  local full = audit_full(KEYS[3], ARGV[2], ARGV[3])
  if full then
    return full
  end
end
local revoke = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if all[i + 1] == ARGV[1] then
    revoke[#revoke + 1] = all[i]
  end
end
if #revoke == 0 then
  return {1, 'decision token'}
end
redis.call('HDEL', KEYS[1], unpack(revoke))
if tenant and ARGV[3] ~= '' then
  audit_add(KEYS[3], ARGV[2], ARGV[3])
end
return {0, #revoke}

-- delete_account: remove a sub-account and every grant made for it, so that
-- an account created later under the same id starts without access.
--
-- KEYS[1]  t:{t}:tenant    settings hash (must exist)
-- KEYS[2]  t:{t}:accounts  hash id -> JSON record
-- KEYS[3]  t:{t}:grants    hash group id -> JSON list of grants
-- KEYS[4]  t:{t}:audit     stream
-- KEYS[5]  t:{t}:access:outbox  stream (outbox.lua)
-- KEYS[6]  t:{t}:access:gen     counter
-- ARGV[1]  account id
-- ARGV[2]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[3]  audit event JSON ('' = none)
--
-- Returns
--   {0, n}          deleted, with n grants removed
--   {1, 'tenant'}   no such tenant
--   {1, 'account'}  no such account
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[4], ARGV[2], ARGV[3])
if full then
  return full
end
if redis.call('HDEL', KEYS[2], ARGV[1]) == 0 then
  return {1, 'account'}
end
local removed = 0
local all = redis.call('HGETALL', KEYS[3])
for i = 1, #all, 2 do
  local grants = cjson.decode(all[i + 1])
  local kept = {}
  for _, g in ipairs(grants) do
    if g.scope == 'account' and g.account == ARGV[1] then
      removed = removed + 1
    else
      kept[#kept + 1] = g
    end
  end
  if #kept ~= #grants then
    if #kept == 0 then
      redis.call('HDEL', KEYS[3], all[i])
    else
      redis.call('HSET', KEYS[3], all[i], cjson.encode(kept))
    end
  end
end
if ARGV[3] ~= '' then
  audit_add(KEYS[4], ARGV[2], ARGV[3])
end
outbox_add(KEYS[5], KEYS[6], 'all', '', outbox_cause('account', ARGV[1]))
return {0, removed}

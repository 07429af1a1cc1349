-- delete_role: delete a custom role no grant names, and append the audit
-- event.
--
-- KEYS[1]  t:{t}:tenant  settings hash (must exist)
-- KEYS[2]  t:{t}:roles   hash name -> JSON record
-- KEYS[3]  t:{t}:audit   stream
-- KEYS[4]  t:{t}:grants  hash group id -> JSON list of grants
-- KEYS[5]  t:{t}:access:outbox  stream (outbox.lua; no grant names the role,
--                               but the policy's input holds every custom role)
-- KEYS[6]  t:{t}:access:gen     counter
-- ARGV[1]  role name
-- ARGV[2]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[3]  audit event JSON ('' = none)
--
-- Returns
--   {0}            deleted
--   {1, 'tenant'}  no such tenant
--   {1, 'role'}    no such custom role
--   {9, uses}      grants name the role: uses is a JSON list of
--                  {group, scope, account}
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[3], ARGV[2], ARGV[3])
if full then
  return full
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  return {1, 'role'}
end
local uses = role_uses(KEYS[4], ARGV[1])
if #uses > 0 then
  return {9, cjson.encode(uses)}
end
redis.call('HDEL', KEYS[2], ARGV[1])
outbox_add(KEYS[5], KEYS[6], 'role', ARGV[1], outbox_cause('role', ARGV[1]))
if ARGV[3] ~= '' then
  audit_add(KEYS[3], ARGV[2], ARGV[3])
end
return {0}

-- append_audit: append one event to an existing tenant's audit stream. The
-- tenant check keeps a deleted tenant from getting its stream back.
--
-- KEYS[1]  t:{t}:tenant  settings hash (must exist)
-- KEYS[2]  t:{t}:audit   stream
-- ARGV[1]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[2]  event JSON, stored as field "e"
--
-- Returns
--   {0}            appended
--   {1, 'tenant'}  no such tenant
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[2], ARGV[1], ARGV[2])
if full then
  return full
end
audit_add(KEYS[2], ARGV[1], ARGV[2])
return {0}

-- update_tenant: change settings of an existing tenant if the fields it
-- writes still hold the values the caller read, with the change's audit
-- event. A failed check changes nothing.
--
-- KEYS[1]   t:{t}:tenant   settings hash
-- KEYS[2]   t:{t}:audit    stream
-- ARGV[1]   audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[2]   audit event JSON ('' = none)
-- ARGV[3..] field, value read, new value triples (an absent field reads '')
--
-- Returns
--   {0}            updated
--   {1, 'tenant'}  no such tenant
--   {5}            a field changed since it was read
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[2], ARGV[1], ARGV[2])
if full then
  return full
end
for i = 3, #ARGV, 3 do
  local cur = redis.call('HGET', KEYS[1], ARGV[i]) or ''
  if cur ~= ARGV[i + 1] then
    return {5}
  end
end
for i = 3, #ARGV, 3 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 2])
end
if ARGV[2] ~= '' then
  audit_add(KEYS[2], ARGV[1], ARGV[2])
end
return {0}

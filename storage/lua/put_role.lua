-- put_role: create or replace a custom role and append the audit event. A
-- role whose level changes while grants name it is refused: those grants
-- would be stranded at the wrong level.
--
-- KEYS[1]  t:{t}:tenant  settings hash (must exist)
-- KEYS[2]  t:{t}:roles   hash name -> JSON record
-- KEYS[3]  t:{t}:audit   stream
-- KEYS[4]  t:{t}:grants  hash group id -> JSON list of grants
-- KEYS[5]  t:{t}:access:outbox  stream (outbox.lua)
-- KEYS[6]  t:{t}:access:gen     counter
-- ARGV[1]  role name
-- ARGV[2]  record JSON
-- ARGV[3]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[4]  audit event JSON ('' = none)
-- ARGV[5]  the role's level in the record
-- ARGV[6]  the most custom roles a tenant may have
--
-- Returns
--   {0, 1}         created
--   {0, 0}         updated
--   {1, 'tenant'}  no such tenant
--   {9, uses}      the level changes and grants name the role: uses is a
--                  JSON list of {group, scope, account}
--   {11, 'roles', limit, n}  a new role, and the tenant has limit of them
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[3], ARGV[3], ARGV[4])
if full then
  return full
end
local old = redis.call('HGET', KEYS[2], ARGV[1])
if old then
  local ok, rec = pcall(cjson.decode, old)
  if not ok or type(rec) ~= 'table' or rec.level ~= ARGV[5] then
    local uses = role_uses(KEYS[4], ARGV[1])
    if #uses > 0 then
      return {9, cjson.encode(uses)}
    end
  end
else
  local n = redis.call('HLEN', KEYS[2])
  if n >= tonumber(ARGV[6]) then
    return {11, 'roles', tonumber(ARGV[6]), n}
  end
end
if old ~= ARGV[2] then
  outbox_add(KEYS[5], KEYS[6], 'role', ARGV[1], outbox_cause('role', ARGV[1]))
end
local created = redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  audit_add(KEYS[3], ARGV[3], ARGV[4])
end
return {0, created}

-- put_role: create or replace a custom role and append the audit event.
--
-- KEYS[1]  t:{t}:tenant  settings hash (must exist)
-- KEYS[2]  t:{t}:roles   hash name -> JSON record
-- KEYS[3]  t:{t}:audit   stream
-- ARGV[1]  role name
-- ARGV[2]  record JSON
-- ARGV[3]  audit MAXLEN (approximate)
-- ARGV[4]  audit event JSON ('' = none)
--
-- Returns
--   {0, 1}         created
--   {0, 0}         updated
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local created = redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[4])
end
return {0, created}

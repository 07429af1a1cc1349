-- update_tenant: overwrite settings of an existing tenant.
--
-- KEYS[1]   t:{t}:tenant   settings hash
-- ARGV[1..] field, value pairs (name, licenseLimit, mode, scimTokenHash,
--           adminTokenHash)
--
-- Returns
--   {0}            updated
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {0}

-- create_tenant: store a new tenant's settings hash unless the id is taken.
-- The global tenant list is not touched here: it lives outside the tenant's
-- hash tag, so Go adds the id to it before running this script.
--
-- KEYS[1]   t:{t}:tenant   settings hash
-- ARGV[1..] field, value pairs (name, licenseLimit, mode, created,
--           scimTokenHash, adminTokenHash)
--
-- Returns
--   {0}            created
--   {2, 'tenant'}  the hash exists already
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {2, 'tenant'}
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return {0}

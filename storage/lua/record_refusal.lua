-- record_refusal: count a refused license seat and remember when, on an
-- existing tenant only (a bare HINCRBY would recreate a deleted tenant).
--
-- KEYS[1]  t:{t}:tenant  settings hash
-- ARGV[1]  the refusal time, Unix nanoseconds
--
-- Returns
--   {0}            counted
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
redis.call('HINCRBY', KEYS[1], 'licenseRefusals', 1)
redis.call('HSET', KEYS[1], 'lastLicenseRefusal', ARGV[1])
return {0}

-- webhook_lease: renew (or release) the lease on delivering a tenant's
-- webhook, only for the replica that holds it.
--
-- KEYS[1]  t:{t}:webhook:lease  string: the replica delivering
-- ARGV[1]  replica id
-- ARGV[2]  milliseconds to hold it from now ('0' = release)
--
-- Returns
--   {0}           renewed or released
--   {1, 'lease'}  another replica holds it, or nobody
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {1, 'lease'}
end
if ARGV[2] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return {0}

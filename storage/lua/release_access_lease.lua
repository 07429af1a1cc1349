-- release_access_lease: drop the tenant's resolver lease, only if the
-- replica releasing it holds it (it may have expired and been taken).
--
-- KEYS[1]  t:{t}:access:lease
-- ARGV[1]  the replica id
--
-- Returns 1 if dropped, 0 if another replica (or none) held it.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

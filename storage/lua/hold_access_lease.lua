-- hold_access_lease: take the tenant's resolver lease, or renew it for the
-- replica that holds it.
--
-- KEYS[1]  t:{t}:access:lease
-- ARGV[1]  the replica id
-- ARGV[2]  time to live, ms
-- ARGV[3]  '1': renew only; a lease nobody holds is not taken (absent: take)
--
-- Returns 1 if ARGV[1] holds the lease now, 0 if another replica (or, when
-- renewing only, nobody) does.
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if cur or ARGV[3] == '1' then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1

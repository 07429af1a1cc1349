-- flush_status: add one process's SCIM request counts to the tenant's
-- provisioning status, shared by every replica: counts add up, the last
-- request and the last error keep the latest. Buckets older than keep are
-- pruned, at most once an hour (HKEYS over at most a day of buckets).
--
-- KEYS[1]  t:{t}:tenant      settings hash (must exist)
-- KEYS[2]  t:{t}:scimStatus  hash: '<bucketMs>:<outcome>' -> count,
--                            'last' -> ms, 'lastErrorAt' -> ms,
--                            'lastError' -> JSON, 'pruned' -> ms
-- ARGV[1]  now, Unix milliseconds
-- ARGV[2]  keep, milliseconds
-- ARGV[3]  this process's last request, ms (0: none)
-- ARGV[4]  this process's last error, ms (0: none)
-- ARGV[5]  that error as JSON
-- ARGV[6..] pairs: bucket field, increment
--
-- Returns
--   {0}            flushed
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
for i = 6, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
local last = tonumber(ARGV[3])
if last > 0 and last > tonumber(redis.call('HGET', KEYS[2], 'last') or '0') then
  redis.call('HSET', KEYS[2], 'last', ARGV[3])
end
local errAt = tonumber(ARGV[4])
if errAt > 0 and errAt > tonumber(redis.call('HGET', KEYS[2], 'lastErrorAt') or '0') then
  redis.call('HSET', KEYS[2], 'lastErrorAt', ARGV[4], 'lastError', ARGV[5])
end
local now, keep = tonumber(ARGV[1]), tonumber(ARGV[2])
if now - tonumber(redis.call('HGET', KEYS[2], 'pruned') or '0') >= 3600000 then
  for _, f in ipairs(redis.call('HKEYS', KEYS[2])) do
    local b = string.match(f, '^(%d+):')
    if b and tonumber(b) < now - keep then
      redis.call('HDEL', KEYS[2], f)
    end
  end
  redis.call('HSET', KEYS[2], 'pruned', ARGV[1])
end
return {0}

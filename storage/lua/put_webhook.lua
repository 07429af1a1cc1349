-- put_webhook: set a tenant's webhook (URL and signing secret), clearing its
-- delivery status; delivery starts after the feed's newest entry unless a
-- cursor is kept from an earlier webhook (a changed URL resumes there).
--
-- KEYS[1]  t:{t}:tenant          settings hash (must exist)
-- KEYS[2]  t:{t}:webhook         hash: url, secret, created, status fields
-- KEYS[3]  t:{t}:webhook:cursor  string: last feed entry delivered
-- KEYS[4]  t:{t}:access:feed     stream: the change feed
-- ARGV[1]  url
-- ARGV[2]  secret
-- ARGV[3]  created (Unix ns)
--
-- Returns
--   {0}            set
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], 'url', ARGV[1], 'secret', ARGV[2], 'created', ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 0 then
  local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
  local id = '0-0'
  if #last > 0 then
    id = last[1][1]
  end
  redis.call('SET', KEYS[3], id)
end
return {0}

-- webhook_progress: record a delivery attempt of a tenant's webhook, by the
-- replica that holds its lease: status fields, and when a batch is done
-- (delivered or given up) the new cursor and any dead letter.
--
-- KEYS[1]  t:{t}:webhook         hash (must exist)
-- KEYS[2]  t:{t}:webhook:cursor  string
-- KEYS[3]  t:{t}:webhook:lease   string: the replica delivering
-- KEYS[4]  t:{t}:webhook:dead    stream of dead letters, field d
-- ARGV[1]  replica id (must hold the lease)
-- ARGV[2]  new cursor ('' = unchanged)
-- ARGV[3]  dead letter JSON ('' = none)
-- ARGV[4]  dead letters kept
-- ARGV[5]  entries delivered by this attempt (added to 'delivered')
-- ARGV[6..] field, value pairs set on the hash
--
-- Returns
--   {0}             recorded
--   {1, 'lease'}    the lease is another replica's (or gone): stop
--   {1, 'webhook'}  the webhook was deleted: stop
if redis.call('GET', KEYS[3]) ~= ARGV[1] then
  return {1, 'lease'}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'webhook'}
end
if ARGV[2] ~= '' then
  redis.call('SET', KEYS[2], ARGV[2])
end
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'd', ARGV[3])
end
if tonumber(ARGV[5]) > 0 then
  redis.call('HINCRBY', KEYS[1], 'delivered', ARGV[5])
end
if #ARGV > 5 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
end
return {0}

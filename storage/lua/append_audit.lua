-- append_audit: append one event to an existing tenant's audit stream. The
-- tenant check keeps a deleted tenant from getting its stream back.
--
-- KEYS[1]  t:{t}:tenant  settings hash (must exist)
-- KEYS[2]  t:{t}:audit   stream
-- ARGV[1]  MAXLEN for approximate trimming
-- ARGV[2]  event JSON, stored as field "e"
--
-- Returns
--   {0}            appended
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[2])
return {0}

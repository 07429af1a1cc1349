-- enqueue_access: append a cause decided in Go (a policy revision change, a
-- repair) to the tenant's outbox (see outbox.lua). The tenant check keeps a
-- deleted tenant from getting keys back.
--
-- KEYS[1]  t:{t}:tenant         settings hash (must exist)
-- KEYS[2]  t:{t}:access:outbox  stream
-- KEYS[3]  t:{t}:access:gen     counter
-- ARGV[1]  kind: 'users', 'group', 'role' or 'all'
-- ARGV[2]  id (user ids separated by one space for 'users'; '' for 'all')
-- ARGV[3]  cause JSON
--
-- Returns
--   {0, generation}  appended; the generation of the last entry
--   {1, 'tenant'}    no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
if ARGV[1] == 'users' then
  local ids = {}
  for uid in string.gmatch(ARGV[2], '[^ ]+') do
    ids[#ids + 1] = uid
  end
  return {0, outbox_users(KEYS[2], KEYS[3], ids, ARGV[3])}
end
return {0, outbox_add(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3])}

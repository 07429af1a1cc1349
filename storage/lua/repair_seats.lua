-- repair_seats: one repair of Check (scimd check --repair): set the seat
-- counter to the number of active users Check counted, if the counter is
-- still the value Check read before it counted. Every write that changes a
-- user's active state moves the counter in the same script, so a counter
-- that has not moved means no such write ran during the count (barring one
-- that took a seat and another that freed one in between).
--
-- KEYS[1]  t:{t}:tenant  settings hash (must exist)
-- KEYS[2]  t:{t}:seats   active-user counter
-- ARGV[1]  the counter as read ('' = the key did not exist)
-- ARGV[2]  the number of active users
--
-- Returns
--   {0, 1}         set
--   {0, 0}         nothing done: the counter moved since the read
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then
  return {0, 0}
end
redis.call('SET', KEYS[2], ARGV[2])
return {0, 1}

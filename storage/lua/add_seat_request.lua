-- add_seat_request: record a tenant admin's request for more seats, keep the
-- newest ARGV[3] of them, and append the audit event.
--
-- KEYS[1]  t:{t}:tenant        settings hash (must exist)
-- KEYS[2]  t:{t}:seatRequests  list of JSON records, newest first
-- KEYS[3]  t:{t}:audit         stream
-- ARGV[1]  record JSON
-- ARGV[2]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[3]  the most requests kept
-- ARGV[4]  audit event JSON
--
-- Returns
--   {0, n}         recorded; n requests are kept
--   {1, 'tenant'}  no such tenant
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[3], ARGV[2], ARGV[4])
if full then
  return full
end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[3]) - 1)
audit_add(KEYS[3], ARGV[2], ARGV[4])
return {0, redis.call('LLEN', KEYS[2])}

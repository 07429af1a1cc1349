-- sign_in_failure: count a failed console sign-in against an existing
-- tenant in its window, and record it in the audit log only while the
-- window holds few: the first ARGV[3] failures are events, the one after
-- them is a notice that the rest of the window is only counted. Anybody
-- can fail a sign-in, from as many addresses as they hold: without the
-- bound they could roll a tenant's audit log over (or, under a minimum
-- age, fill it until every change is refused).
--
-- KEYS[1]  t:{t}:tenant                           settings hash (must exist)
-- KEYS[2]  t:{t}:audit                            stream
-- KEYS[3]  t:{t}:console:signInFailures:<window>  failures in the window
-- ARGV[1]  audit retention (see audit.lua)
-- ARGV[2]  the window key's expiry, seconds
-- ARGV[3]  failures recorded per window
-- ARGV[4]  the failure's event JSON
-- ARGV[5]  the notice's event JSON
--
-- Returns
--   {0, n}         counted: the window's nth failure
--   {1, 'tenant'}  no such tenant (no key is made)
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local n = tonumber(redis.call('GET', KEYS[3]) or '0') + 1
local recorded = tonumber(ARGV[3])
local event = ''
if n <= recorded then
  event = ARGV[4]
elseif n == recorded + 1 then
  event = ARGV[5]
end
local full = audit_full(KEYS[2], ARGV[1], event)
if full then
  return full
end
redis.call('SET', KEYS[3], n, 'EX', ARGV[2])
if event ~= '' then
  audit_add(KEYS[2], ARGV[1], event)
end
return {0, n}

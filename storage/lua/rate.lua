-- rate: take cost units (one request, or the records a scan examines) from
-- a tenant's bucket, shared by every scimd (GCRA: the key holds the
-- theoretical arrival time of the next unit). Redis's clock decides, so
-- replicas' clocks do not matter.
--
-- KEYS[1]  t:{t}:rate or t:{t}:scanrate   theoretical arrival time, microseconds
-- ARGV[1]  emission interval, microseconds (one second / rate)
-- ARGV[2]  burst (units allowed at once)
-- ARGV[3]  cost in units; absent means 1; 0 only asks whether one unit
--          would be allowed, taking nothing
--
-- Returns
--   {0}          allowed
--   {1, wait}    refused; wait microseconds until cost units are allowed
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then
  tat = now
end
local cost = tonumber(ARGV[3] or '1')
local ask = cost == 0
if ask then
  cost = 1
end
local ahead = tat + interval * cost - now
local limit = interval * tonumber(ARGV[2])
if ahead > limit then
  return {1, ahead - limit}
end
if ask then
  return {0}
end
-- %d: tostring would round a 16-digit number to 14 digits.
redis.call('SET', KEYS[1], string.format('%d', tat + interval * cost), 'PX', math.ceil(ahead / 1000) + 1)
return {0}

-- refuse: record a refused provisioning request, grouped so that a retrying
-- identity provider cannot flood the audit stream: the first refusal of a
-- group (identifier and reason) within the window appends its audit event,
-- the repeats only count. The hash expires a window after its last refusal;
-- past maxGroups groups it starts over (more events, never unbounded).
--
-- KEYS[1]  t:{t}:tenant    settings hash (must exist)
-- KEYS[2]  t:{t}:refusals  hash: 'c:'..group -> 'count:firstMs:lastMs',
--                          'd:'..group -> descriptor JSON
-- KEYS[3]  t:{t}:audit     stream
-- ARGV[1]  group (identifier and reason, hashed)
-- ARGV[2]  now, Unix milliseconds
-- ARGV[3]  window, milliseconds
-- ARGV[4]  descriptor JSON (identifiers, reason, status; never the body)
-- ARGV[5]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[6]  audit event JSON
-- ARGV[7]  maxGroups
--
-- Returns
--   {0, 1}         the first refusal of its group in the window: event appended
--   {0, n}         the n-th refusal of its group in the window: counted only
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local now, window = tonumber(ARGV[2]), tonumber(ARGV[3])
local cf, df = 'c:' .. ARGV[1], 'd:' .. ARGV[1]
local cur = redis.call('HGET', KEYS[2], cf)
if cur then
  local n, first = string.match(cur, '^(%d+):(%d+):')
  if n and first and now - tonumber(first) < window then
    n, first = tonumber(n), tonumber(first)
    redis.call('HSET', KEYS[2], cf, string.format('%d:%d:%d', n + 1, first, now))
    redis.call('PEXPIRE', KEYS[2], window)
    return {0, n + 1}
  end
elseif redis.call('HLEN', KEYS[2]) >= 2 * tonumber(ARGV[7]) then
  redis.call('DEL', KEYS[2])
end
redis.call('HSET', KEYS[2], cf, string.format('%d:%d:%d', 1, now, now), df, ARGV[4])
redis.call('PEXPIRE', KEYS[2], window)
-- A log full of young events keeps them: the refusal is then counted only.
if not audit_full(KEYS[3], ARGV[5], ARGV[6]) then
  audit_add(KEYS[3], ARGV[5], ARGV[6])
end
return {0, 1}

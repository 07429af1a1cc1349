-- policy_heartbeat: record the policy revision a replica runs (or drop the
-- replica on a clean shutdown), forget the replicas that stopped beating,
-- and decide the active revision: the one every live replica runs. While
-- the live replicas run several revisions (a rolling deploy), the active
-- one stays what it was. Global keys only; never part of a tenant script.
--
-- KEYS[1]  {policy}:replicas  hash replica id -> JSON {revision, seen_ms}
-- KEYS[2]  {policy}:active    string: the active revision
-- ARGV[1]  the replica id
-- ARGV[2]  the revision it runs
-- ARGV[3]  now, Unix milliseconds (the replica's clock)
-- ARGV[4]  how long a replica stays live after its last beat, ms
-- ARGV[5]  "1": the replica leaves (its entry is dropped), "0": it beats
--
-- Returns {active, live, revision, count, revision, count, ...}: the active
-- revision ("" while none was ever decided), the number of live replicas,
-- and how many of them run each revision.
local now = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
if ARGV[5] == '1' then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode({revision = ARGV[2], seen_ms = now}))
end
local entries = redis.call('HGETALL', KEYS[1])
local counts, order, live = {}, {}, 0
for i = 1, #entries, 2 do
  local ok, e = pcall(cjson.decode, entries[i + 1])
  local seen, rev
  if ok and type(e) == 'table' then
    seen, rev = tonumber(e.seen_ms), e.revision
  end
  if seen == nil or type(rev) ~= 'string' or rev == '' or seen < now - ttl then
    -- Stopped beating (or unreadable): no longer holds the rollout back.
    redis.call('HDEL', KEYS[1], entries[i])
  else
    live = live + 1
    if counts[rev] == nil then
      counts[rev] = 0
      order[#order + 1] = rev
    end
    counts[rev] = counts[rev] + 1
  end
end
local active = redis.call('GET', KEYS[2]) or ''
if #order == 1 and order[1] ~= active then
  active = order[1]
  redis.call('SET', KEYS[2], active)
end
local out = {active, live}
for _, rev in ipairs(order) do
  out[#out + 1] = rev
  out[#out + 1] = counts[rev]
end
return out

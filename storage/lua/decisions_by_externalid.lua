-- decisions_by_externalid: the stored access decisions of the users with an
-- externalId (not unique), in one round trip (read only).
--
-- KEYS[1]  t:{t}:idx:user:externalId:<value>  set of user ids
-- KEYS[2]  t:{t}:idx:user:externalId          hash value -> id of releases
--                                             before the sets (until migrated)
-- ARGV[1]  the externalId
-- ARGV[2]  the most users answered
-- ARGV[3]  t:{t}:access:user:   prefix of the decision records
--
-- Returns {more, id1, record1|false, id2, record2|false, ...}: the first
-- ARGV[2] holders by id, and more = 1 when there were others.
local ids = redis.call('SMEMBERS', KEYS[1])
local legacy = redis.call('HGET', KEYS[2], ARGV[1])
if legacy then
  local seen = false
  for _, id in ipairs(ids) do
    if id == legacy then
      seen = true
      break
    end
  end
  if not seen then
    ids[#ids + 1] = legacy
  end
end
table.sort(ids)
local limit = tonumber(ARGV[2])
local out = {0}
if #ids > limit then
  out[1] = 1
end
for i = 1, math.min(#ids, limit) do
  out[#out + 1] = ids[i]
  out[#out + 1] = redis.call('GET', ARGV[3] .. ids[i])
end
return out

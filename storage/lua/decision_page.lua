-- decision_page: one page of the tenant's users in creation order with
-- their stored access decisions, in one round trip (read only).
--
-- KEYS[1]  t:{t}:users  sorted set of user ids by creation sequence
-- ARGV[1]  the page starts after this score ('-inf' at first)
-- ARGV[2]  page size
-- ARGV[3]  t:{t}:access:user:   prefix of the decision records
--
-- Returns {id1, score1, record1|false, id2, ...}
local start = ARGV[1]
if start ~= '-inf' then
  start = '(' .. start
end
local page = redis.call('ZRANGEBYSCORE', KEYS[1], start, '+inf', 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #page, 2 do
  out[#out + 1] = page[i]
  out[#out + 1] = page[i + 1]
  out[#out + 1] = redis.call('GET', ARGV[3] .. page[i])
end
return out

-- repair_entry: one repair of Check (scimd check --repair): add or remove one
-- index or listing entry, or drop one orphan key, but only if the record the
-- decision rests on is still as Check read it, so a repair racing a write
-- never undoes that write.
--
-- KEYS[1]  t:{t}:tenant    settings hash (must exist, so that a repair never
--                          recreates a key behind DeleteTenant's scan)
-- KEYS[2]  the record the decision rests on: t:{t}:user:<id> or t:{t}:group:<id>
--          (unused when ARGV[1] is '*')
-- KEYS[3]  the key to fix
-- KEYS[4]  t:{t}:seq       creation sequence (op 'list' only)
-- ARGV[1]  the record's version (field v) as read; '' = it had no record, so it
--          must still have none; '*' = the entry names no valid id: no check
-- ARGV[2]  op:
--            'hset'  HSET KEYS[3] ARGV[3] ARGV[4], unless another id holds the field
--            'hdel'  HDEL KEYS[3] ARGV[3], if it still holds ARGV[4] ('' = any value)
--            'sadd'  SADD KEYS[3] ARGV[3]       'srem'  SREM KEYS[3] ARGV[3]
--            'zadd'  ZADD KEYS[3] 0 ARGV[3]     'zrem'  ZREM KEYS[3] ARGV[3]
--            'list'  ZADD KEYS[3] <INCR KEYS[4]> ARGV[3], unless already there
--            'del'   DEL KEYS[3]
-- ARGV[3]  hash field or (sorted) set member ('' for del)
-- ARGV[4]  hash value (hset, hdel), else ''
--
-- Returns
--   {0, 1}         done: the entry is now as the record says
--   {0, 0}         nothing done: the record or the entry moved since the read
--   {1, 'tenant'}  no such tenant
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
if ARGV[1] ~= '*' then
  local v = redis.call('HGET', KEYS[2], 'v')
  if ARGV[1] == '' then
    if v then
      return {0, 0}
    end
  elseif v ~= ARGV[1] then
    return {0, 0}
  end
end

local op, member, value = ARGV[2], ARGV[3], ARGV[4]
if op == 'hset' then
  local holder = redis.call('HGET', KEYS[3], member)
  if holder and holder ~= value then
    return {0, 0}
  end
  redis.call('HSET', KEYS[3], member, value)
elseif op == 'hdel' then
  local holder = redis.call('HGET', KEYS[3], member)
  if holder and value ~= '' and holder ~= value then
    return {0, 0}
  end
  redis.call('HDEL', KEYS[3], member)
elseif op == 'sadd' then
  redis.call('SADD', KEYS[3], member)
elseif op == 'srem' then
  redis.call('SREM', KEYS[3], member)
elseif op == 'zadd' then
  redis.call('ZADD', KEYS[3], 0, member)
elseif op == 'zrem' then
  redis.call('ZREM', KEYS[3], member)
elseif op == 'list' then
  if not redis.call('ZSCORE', KEYS[3], member) then
    redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), member)
  end
elseif op == 'del' then
  redis.call('DEL', KEYS[3])
else
  return redis.error_reply('repair_entry: unknown op ' .. op)
end
return {0, 1}

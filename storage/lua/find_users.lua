-- find_users: the users an index names, read in the same round trip as the
-- index (run as EVALSHA_RO / EVAL_RO: it writes nothing).
--
-- KEYS[1]     t:{t}:user:   the prefix of the tenant's user records; the
--                           script appends each id found (the hash tag keeps
--                           every record in the tenant's slot)
-- KEYS[2..]   index keys, read as ARGV says
-- ARGV[1]     most records to read: when the index names more ids, only
--             the ids are returned, for the caller to charge and read
-- ARGV[1+i]   how to read KEYS[1+i]: 's' SMEMBERS, or 'h' followed by a
--             field name: HGET of that field
--
-- Returns
--   {ids}                 more ids than ARGV[1] (ids may repeat)
--   {ids, r1, ..., rn}    ids (may repeat) and, for each, HGETALL of its
--                         record packed in one string: each field and
--                         value as its length in bytes, ':' and its bytes
--                         (empty when the record is gone). One string
--                         rather than twenty is far less for the client
--                         to parse and allocate.
local ids = {}
for i = 2, #KEYS do
  local how = ARGV[i]
  if how == 's' then
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[i])) do
      ids[#ids + 1] = id
    end
  else
    local id = redis.call('HGET', KEYS[i], string.sub(how, 2))
    if id then
      ids[#ids + 1] = id
    end
  end
end
if #ids > tonumber(ARGV[1]) then
  return {ids}
end
local out = {ids}
for i, id in ipairs(ids) do
  local parts = {}
  for _, s in ipairs(redis.call('HGETALL', KEYS[1] .. id)) do
    parts[#parts + 1] = #s .. ':'
    parts[#parts + 1] = s
  end
  out[i + 1] = table.concat(parts)
end
return out

-- find_users: the users an index names, read in the same round trip as the
-- index (run as EVALSHA_RO / EVAL_RO: it writes nothing).
--
-- KEYS[1]     t:{t}:user:   the prefix of the tenant's user records; the
--                           script appends each id found (the hash tag keeps
--                           every record in the tenant's slot)
-- KEYS[2..]   index keys, read as ARGV says
-- ARGV[1]     most records to read: when the index names more ids, only
--             the ids are returned, for the caller to charge and read
-- ARGV[2i], ARGV[2i+1]
--             how to read KEYS[1+i]: 's' SMEMBERS (ARGV[2i+1] unused), or
--             'h' HGET of the field ARGV[2i+1]
--
-- Returns one string, each item in it packed as its length in bytes, ':'
-- and its bytes (one string rather than arrays of them is far less for
-- the client to parse and allocate):
--   'i' id1 id2 ...               more ids than ARGV[1] (ids may repeat)
--   'r' id1 rec1 id2 rec2 ...     ids (may repeat) and, for each, HGETALL
--                                 of its record, each field and value
--                                 packed the same way (rec empty when the
--                                 record is gone)
local ids = {}
for i = 2, #KEYS do
  local how = ARGV[2 * (i - 1)]
  if how == 's' then
    for _, id in ipairs(redis.call('SMEMBERS', KEYS[i])) do
      ids[#ids + 1] = id
    end
  else
    local id = redis.call('HGET', KEYS[i], ARGV[2 * (i - 1) + 1])
    if id then
      ids[#ids + 1] = id
    end
  end
end
local out = {'r'}
local function add(s)
  out[#out + 1] = #s .. ':'
  out[#out + 1] = s
end
if #ids > tonumber(ARGV[1]) then
  out[1] = 'i'
  for _, id in ipairs(ids) do
    add(id)
  end
  return table.concat(out)
end
for _, id in ipairs(ids) do
  add(id)
  local parts = {}
  for _, s in ipairs(redis.call('HGETALL', KEYS[1] .. id)) do
    parts[#parts + 1] = #s .. ':'
    parts[#parts + 1] = s
  end
  add(table.concat(parts))
end
return table.concat(out)

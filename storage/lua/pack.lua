-- pack: pack_hash(key) is HGETALL of key packed in one string, each field
-- and value as its length in bytes, ':' and its bytes ('' when key does
-- not exist); storage/user.go's unpackHash reads it. One string rather
-- than twenty is far less for the client to parse and allocate.
-- (Prepended by storage/scripts.go to the scripts that return records.)
local function pack_hash(key)
  local parts = {}
  for _, s in ipairs(redis.call('HGETALL', key)) do
    parts[#parts + 1] = #s .. ':'
    parts[#parts + 1] = s
  end
  return table.concat(parts)
end


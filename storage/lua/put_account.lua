-- put_account: create or rename a sub-account and append the audit event.
--
-- KEYS[1]  t:{t}:tenant    settings hash (must exist)
-- KEYS[2]  t:{t}:accounts  hash id -> JSON record
-- KEYS[3]  t:{t}:audit     stream
-- ARGV[1]  account id
-- ARGV[2]  record JSON
-- ARGV[3]  audit MAXLEN (approximate)
-- ARGV[4]  audit event JSON ('' = none)
-- ARGV[5]  the most sub-accounts a tenant may have
--
-- Returns
--   {0, 1}         created
--   {0, 0}         updated
--   {1, 'tenant'}  no such tenant
--   {11, 'accounts', limit, n}  a new entry, and the tenant has limit of them
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local n = redis.call('HLEN', KEYS[2])
  if n >= tonumber(ARGV[5]) then
    return {11, 'accounts', tonumber(ARGV[5]), n}
  end
end
local created = redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ARGV[4] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'e', ARGV[4])
end
return {0, created}

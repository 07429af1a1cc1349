-- put_account: create or rename a sub-account and append the audit event.
--
-- KEYS[1]  t:{t}:tenant    settings hash (must exist)
-- KEYS[2]  t:{t}:accounts  hash id -> JSON record
-- KEYS[3]  t:{t}:audit     stream
-- KEYS[4]  t:{t}:access:outbox  stream (outbox.lua; a new sub-account is in
--                               every user's decision, a rename in none)
-- KEYS[5]  t:{t}:access:gen     counter
-- ARGV[1]  account id
-- ARGV[2]  record JSON
-- ARGV[3]  audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[4]  audit event JSON ('' = none)
-- ARGV[5]  the most sub-accounts a tenant may have
--
-- Returns
--   {0, 1}         created
--   {0, 0}         updated
--   {1, 'tenant'}  no such tenant
--   {11, 'accounts', limit, n}  a new entry, and the tenant has limit of them
--   {12, ms}       audit log full: appending would drop an event of ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
local full = audit_full(KEYS[3], ARGV[3], ARGV[4])
if full then
  return full
end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  local n = redis.call('HLEN', KEYS[2])
  if n >= tonumber(ARGV[5]) then
    return {11, 'accounts', tonumber(ARGV[5]), n}
  end
end
local created = redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if created == 1 then
  outbox_add(KEYS[4], KEYS[5], 'all', '', outbox_cause('account', ARGV[1]))
end
if ARGV[4] ~= '' then
  audit_add(KEYS[3], ARGV[3], ARGV[4])
end
return {0, created}

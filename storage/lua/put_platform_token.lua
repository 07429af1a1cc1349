-- put_platform_token: add a named platform decision token (by its hash),
-- within the cap.
--
-- KEYS[1]  platform:decisionTokens  hash token hash -> name
-- ARGV[1]  token hash
-- ARGV[2]  name
-- ARGV[3]  the most platform decision tokens there may be
--
-- Returns
--   {0}                                   added
--   {11, 'platformDecisionTokens', limit, n}  a new entry, and there are limit
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  local n = redis.call('HLEN', KEYS[1])
  if n >= tonumber(ARGV[3]) then
    return {11, 'platformDecisionTokens', tonumber(ARGV[3]), n}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {0}

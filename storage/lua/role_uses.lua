-- role_uses: a helper prepended to the scripts that must not strand a
-- granted role (put_role changing its level, delete_role).
--
-- role_uses(grants_key, role) lists the grants that name role, as
-- {group, scope, account} tables ('' for an enterprise grant's account),
-- reading the grants hash (group id -> JSON list of grants).
local function role_uses(grants_key, role)
  local uses = {}
  local all = redis.call('HGETALL', grants_key)
  for i = 1, #all, 2 do
    for _, g in ipairs(cjson.decode(all[i + 1])) do
      if g.role == role then
        uses[#uses + 1] = {group = all[i], scope = g.scope, account = g.account or ''}
      end
    end
  end
  return uses
end


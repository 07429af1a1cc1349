-- outbox: helpers every script that can change a user's effective access
-- starts with (prepended by storage/outbox.go, after a line setting
-- outbox_max and outbox_users_max). Rego runs in Go, so a write cannot decide
-- in its own script: it records here what it made stale, atomically with the
-- change, and the resolver decides later. Each entry of the outbox stream has
-- the fields
--   k   kind: 'users' (id = user ids separated by one space), 'group' (id =
--       a group id: all its members), 'role' (id = a role name: the members
--       of every group granting it), 'all' (id = '': every user)
--   id  see k
--   g   the tenant's decision generation this entry took (INCR of gen_key)
--   c   the cause, JSON {"kind": ..., "id": ...} (see outbox_cause)
--
-- The outbox is bounded: once it holds outbox_max entries (the resolver is
-- far behind), a new entry is an 'all' instead, which supersedes every entry
-- before it; an 'all' at the tail is then replaced (XDEL, XADD) rather than
-- followed by another, so the stream never holds more than outbox_max + 1.
--
-- outbox_cause(kind, id) is the cause JSON {"kind":kind,"id":id}.
-- outbox_add(outbox_key, gen_key, kind, id, cause) appends one entry and
-- returns its generation.
-- outbox_users(outbox_key, gen_key, ids, cause) appends 'users' entries for
-- the list ids (none when it is empty), at most outbox_users_max ids each,
-- and returns the last generation (nil if none).
-- Call them after the script's last refusal: they write.
--
-- A script that appends takes the outbox and the generation counter as its
-- last two KEYS (KEYS[#KEYS - 1], KEYS[#KEYS]; storage/outbox.go outboxKeys),
-- so that its other KEYS keep their places.
--
-- outbox_member_changes(grants_key, group_id, members_key, lists) reads,
-- before a script changes a group's members, whose membership the change
-- moves: lists is a list of {first, n, member}, ARGV[first..first+n-1] being
-- user ids that end up in the group (member true) or out of it (false), a
-- later list winning over an earlier one (the order the script applies
-- them). It returns those ids whose membership moves, in list order; none
-- when the group grants nothing, because then its members do not enter the
-- policy's input (policies.RoleInput.Grants holds only granting groups).
--
-- outbox_user_deleted(outbox_key, gen_key, id, user_name, external_id)
-- appends a deleted user's 'users' entry with the cause
-- {"kind":"user_deleted","id":..,"userName":..,"externalId":..}: the
-- resolver can no longer read the names, and the feed entry shows them. The
-- stored decision stays for the resolver, which deletes it with the feed
-- entry (new: null) that its old value goes into (write_decisions.lua).
local function outbox_cause(kind, id)
  return '{"kind":' .. cjson.encode(kind) .. ',"id":' .. cjson.encode(id) .. '}'
end

local function outbox_add(outbox_key, gen_key, kind, id, cause)
  if redis.call('XLEN', outbox_key) >= outbox_max then
    local last = redis.call('XREVRANGE', outbox_key, '+', '-', 'COUNT', 1)[1]
    if last and last[2][1] == 'k' and last[2][2] == 'all' then
      redis.call('XDEL', outbox_key, last[1])
    end
    kind, id = 'all', ''
  end
  local g = redis.call('INCR', gen_key)
  redis.call('XADD', outbox_key, '*', 'k', kind, 'id', id, 'g', g, 'c', cause)
  return g
end

local function outbox_users(outbox_key, gen_key, ids, cause)
  local g
  for i = 1, #ids, outbox_users_max do
    local j = math.min(i + outbox_users_max - 1, #ids)
    g = outbox_add(outbox_key, gen_key, 'users', table.concat(ids, ' ', i, j), cause)
  end
  return g
end

local function outbox_member_changes(grants_key, group_id, members_key, lists)
  local changed = {}
  if redis.call('HEXISTS', grants_key, group_id) == 0 then
    return changed
  end
  local final, order = {}, {}
  for _, l in ipairs(lists) do
    for i = l[1], l[1] + l[2] - 1 do
      if final[ARGV[i]] == nil then
        order[#order + 1] = ARGV[i]
      end
      final[ARGV[i]] = l[3]
    end
  end
  for _, uid in ipairs(order) do
    if (redis.call('SISMEMBER', members_key, uid) == 1) ~= final[uid] then
      changed[#changed + 1] = uid
    end
  end
  return changed
end

local function outbox_user_deleted(outbox_key, gen_key, id, user_name, external_id)
  local cause = '{"kind":"user_deleted","id":' .. cjson.encode(id) .. ',"userName":' .. cjson.encode(user_name)
      .. ',"externalId":' .. cjson.encode(external_id) .. '}'
  return outbox_add(outbox_key, gen_key, 'users', id, cause)
end

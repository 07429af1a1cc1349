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

-- write_decisions: store a batch of users' access decisions and, for each
-- user whose decision changed, append its entry to the change feed, in one
-- script, so that no decision changes without its entry. Each record is
-- written only if the stored one is still the one the resolver read (its
-- SHA-1), and only for a user that still exists; a record of a user that is
-- gone is deleted instead. The resolver's progress on the tenant's state hash
-- moves in the same script, and the last batch of a cause drops the cause
-- from the outbox and appends the cause's one audit event.
--
-- KEYS[1]     t:{t}:tenant               settings hash (must exist)
-- KEYS[2]     t:{t}:access:lease         the resolver lease
-- KEYS[3]     t:{t}:access:state         hash: cursor, revision, resolved_gen, job_*
-- KEYS[4]     t:{t}:access:feed          stream, field e
-- KEYS[5]     t:{t}:access:feed:floor    id of the newest entry trimmed from the feed
-- KEYS[6]     t:{t}:access:outbox        stream of causes
-- KEYS[7]     t:{t}:audit                stream
-- KEYS[8..]   per record: t:{t}:user:<id>, t:{t}:access:user:<id>
-- KEYS[8+2n]  t:{t}:access:log           stream of sampled re-resolutions,
--             fields u (the user) and e
-- ARGV[1]     lease owner: the write is refused unless KEYS[2] holds it
--             ('' = no lease needed: a record written where none was)
-- ARGV[2]     n, the number of records
-- ARGV[3]     feed retention '<maxlen> <cutoff ms>': entries older than the
--             cutoff (stream time; 0 = none) and beyond maxlen are trimmed
-- ARGV[4]     m, the number of state fields to set
-- ARGV[5]     '1': count the batch in the job's progress (job_done,
--             job_changed, job_first, job_last), '' not
-- ARGV[6]     '' or, for the last batch of a cause, the outbox id every
--             entry before which is resolved (they are trimmed, and the
--             job_* fields deleted)
-- ARGV[7]     audit retention '<maxlen> <cutoff ms>' (see audit.lua)
-- ARGV[8]     '' or the cause's audit event (JSON): two changes are added
--             to its list here (usersAffected, feed {first, last})
--             and the event is appended if users were affected and the
--             audit log has room (it is never refused for it)
-- ARGV[9]     a, the number of merged causes' audit events below
-- ARGV[10..]  m state field/value pairs, then a audit events (JSON, as
--             ARGV[8]: each appended, with its changes added, if a record
--             naming it changed access), then per record: SHA-1 hex of the
--             record read ('' = none), the new record ('' = delete: the
--             user is gone), the feed entry ('' = none), the index of its
--             cause's audit event among the a ('0' = none)
-- then, after the records (absent: none):
--             the log's max length, k, then k triples: a record's index
--             (1..n), its user and its log entry, appended if that record
--             was written
-- ARGV[#ARGV-1], ARGV[#ARGV]  the channel and the tenant to publish the
--             users whose record was written or deleted on ('tenant id id...'),
--             so that every replica's decision cache drops them (last, so
--             that the layout above may change freely)
--
-- Returns
--   {0, written, entries, first id, last id, audit events appended, {conflicting record indexes}}
--   {1, 'tenant'}  no such tenant
--   {13}           the lease is not ARGV[1]'s
local n = tonumber(ARGV[2])
local m = tonumber(ARGV[4])
local a = tonumber(ARGV[9])

if redis.call('EXISTS', KEYS[1]) == 0 then
  return {1, 'tenant'}
end
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return {13}
end

local written, entries, first, last = 0, 0, '', ''
local changed = {ARGV[#ARGV]}
local conflicts = {}
local done = {}
local per_cause = {}
for c = 1, a do
  per_cause[c] = {n = 0, first = '', last = ''}
end
local base = 9 + 2 * m + a
for i = 1, n do
  local ukey, akey = KEYS[6 + 2 * i], KEYS[7 + 2 * i]
  local prev, rec, entry = ARGV[base + 4 * i - 3], ARGV[base + 4 * i - 2], ARGV[base + 4 * i - 1]
  local cause = per_cause[tonumber(ARGV[base + 4 * i])]
  local cur = redis.call('GET', akey)
  local h = ''
  if cur then
    h = redis.sha1hex(cur)
  end
  local exists = redis.call('EXISTS', ukey) == 1
  if h ~= prev or (rec == '' and exists) then
    conflicts[#conflicts + 1] = i
  elseif rec ~= '' and not exists then
    -- deleted meanwhile: its record went with it; write none
  else
    if rec ~= '' then
      redis.call('SET', akey, rec)
    elseif cur then
      redis.call('DEL', akey)
    end
    written = written + 1
    done[i] = true
    changed[#changed + 1] = string.match(akey, '}:access:user:(.*)$')
    if entry ~= '' then
      last = redis.call('XADD', KEYS[4], '*', 'e', entry)
      if first == '' then
        first = last
      end
      entries = entries + 1
      if cause then
        cause.n = cause.n + 1
        cause.last = last
        if cause.first == '' then
          cause.first = last
        end
      end
    end
  end
end

-- The re-resolution log: the resolver samples which records carry an
-- entry; only records written get theirs, the log trimmed exactly to its
-- bound.
local lbase = base + 4 * n
local lmax, k = tonumber(ARGV[lbase + 1] or '0'), tonumber(ARGV[lbase + 2] or '0')
for j = 1, k do
  local at = lbase + 3 * j
  if done[tonumber(ARGV[at])] then
    redis.call('XADD', KEYS[8 + 2 * n], 'MAXLEN', '=', lmax, '*', 'u', ARGV[at + 1], 'e', ARGV[at + 2])
  end
end

-- Feed retention: by age, then by length; floor remembers the newest
-- entry trimmed, so a reader's cursor older than it is known to be lost.
-- The oldest entry is looked at first: XREVRANGE from an id below every
-- entry walks the whole stream (Redis seeks from its end), 60 ms a batch
-- on a feed of 100,000.
local maxlen, cutoff = string.match(ARGV[3], '^(%d+) (%d+)$')
maxlen, cutoff = tonumber(maxlen), tonumber(cutoff)
local head = {}
if cutoff > 0 then
  head = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', 1)
end
if #head > 0 and tonumber(string.match(head[1][1], '^(%d+)')) < cutoff then
  local old = redis.call('XREVRANGE', KEYS[4], tostring(cutoff - 1), '-', 'COUNT', 1)
  if #old > 0 then
    redis.call('SET', KEYS[5], old[1][1])
    redis.call('XTRIM', KEYS[4], 'MINID', tostring(cutoff))
  end
end
-- By length: all but one of the excess go first, then the oldest left is
-- the newest trimmed (reading the excess back would copy every entry
-- into Lua, a batch's worth each time once the feed is full).
if redis.call('XLEN', KEYS[4]) > maxlen then
  redis.call('XTRIM', KEYS[4], 'MAXLEN', '=', maxlen + 1)
  local dropped = redis.call('XRANGE', KEYS[4], '-', '+', 'COUNT', 1)
  redis.call('SET', KEYS[5], dropped[1][1])
  redis.call('XTRIM', KEYS[4], 'MAXLEN', '=', maxlen)
end

for j = 1, m do
  redis.call('HSET', KEYS[3], ARGV[8 + 2 * j], ARGV[9 + 2 * j])
end
if ARGV[5] == '1' then
  redis.call('HINCRBY', KEYS[3], 'job_done', n)
  redis.call('HINCRBY', KEYS[3], 'job_changed', entries)
  if first ~= '' then
    redis.call('HSETNX', KEYS[3], 'job_first', first)
    redis.call('HSET', KEYS[3], 'job_last', last)
  end
end

-- audit appends a cause's event with the users it affected, unless the
-- audit log is full (then it is skipped: decisions must move on).
local audited = 0
local function audit(template, changed, first, last)
  local ev = cjson.decode(template)
  local changes = ev.changes
  if type(changes) ~= 'table' then
    changes = {}
  end
  changes[#changes + 1] = {attribute = 'usersAffected', new = changed}
  changes[#changes + 1] = {attribute = 'feed', new = {first = first, last = last}}
  ev.changes = changes
  local event = cjson.encode(ev)
  if not audit_full(KEYS[7], ARGV[7], event) then
    audit_add(KEYS[7], ARGV[7], event)
    audited = audited + 1
  end
end
for c = 1, a do
  if per_cause[c].n > 0 then
    audit(ARGV[9 + 2 * m + c], per_cause[c].n, per_cause[c].first, per_cause[c].last)
  end
end
if ARGV[6] ~= '' then
  local job = redis.call('HMGET', KEYS[3], 'job_changed', 'job_first', 'job_last')
  local changed = tonumber(job[1] or '0') or 0
  if ARGV[8] ~= '' and changed > 0 then
    audit(ARGV[8], changed, job[2] or '', job[3] or '')
  end
  redis.call('HDEL', KEYS[3], 'job_cause', 'job_total', 'job_done', 'job_started', 'job_pos',
    'job_changed', 'job_first', 'job_last')
  redis.call('XTRIM', KEYS[6], 'MINID', ARGV[6])
end
if written > 0 then
  redis.call('PUBLISH', ARGV[#ARGV - 1], table.concat(changed, ' '))
end
return {0, written, entries, first, last, audited, conflicts}

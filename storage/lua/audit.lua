-- audit: helpers every script that appends an audit event starts with
-- (prepended by storage/scripts.go). Retention keeps the newest MAXLEN
-- events, but never drops one younger than the cutoff: an append that
-- would is refused, so that nobody can push recent events out by volume.
--
-- retention  '<maxlen> <cutoff ms>': the cutoff is the stream id time
--            (Redis's clock) before which events may be trimmed; 0 lets
--            any be trimmed (no minimum age)
--
-- audit_full(key, retention, event) is nil when event ('' = none) may be
-- appended, else the reply {12, ms}: the time of the youngest event the
-- append would have to drop. Call it before the script's first write.
-- audit_add(key, retention, event) appends, trimming exactly (at most 100
-- entries at a time, so that a lowered MAXLEN costs little per write).
local function audit_retention(retention)
  local maxlen, cutoff = string.match(retention, '^(%d+) (%d+)$')
  return tonumber(maxlen), tonumber(cutoff)
end

local function audit_excess(key, maxlen)
  return math.min(redis.call('XLEN', key) + 1 - maxlen, 100)
end

local function audit_full(key, retention, event)
  if event == '' then
    return nil
  end
  local maxlen, cutoff = audit_retention(retention)
  local n = audit_excess(key, maxlen)
  if n <= 0 or cutoff == 0 then
    return nil
  end
  local dropped = redis.call('XRANGE', key, '-', '+', 'COUNT', n)
  local ms = tonumber(string.match(dropped[#dropped][1], '^(%d+)'))
  if ms >= cutoff then
    return {12, ms}
  end
  return nil
end

local function audit_add(key, retention, event)
  local maxlen = audit_retention(retention)
  local n = audit_excess(key, maxlen)
  if n > 0 then
    redis.call('XTRIM', key, 'MAXLEN', '=', redis.call('XLEN', key) - n)
  end
  redis.call('XADD', key, '*', 'e', event)
end


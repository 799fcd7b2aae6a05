"""Lua scripts of the ``redis`` queue: each step that must not be split runs in one.

Redis runs a script atomically (https://redis.io/docs/latest/develop/interact/programmability/eval-intro/),
so a job is never half moved between the delayed set and a stream, and a lease check
and the change it guards cannot interleave with another worker's.

Stream entries carry the fields ``id`` (the job id), ``a`` (attempts before this entry),
``d`` (due time, ms), ``e`` (last retry reason) and ``p`` (payload). A delayed job is a
member of a sorted set scored by its due time, with its body in a hash:
``"<attempts>\\n<due>\\n<reason length>\\n<reason><payload>"`` (lengths in bytes; Lua
strings are byte strings).
"""

from __future__ import annotations

# A lease token names the stream entry and its delivery count, which XREADGROUP sets to
# 1 and every reclaim raises (https://redis.io/docs/latest/commands/xautoclaim/): a
# token whose count is no longer the entry's belongs to a lease that was lost.
_HELD = """
local function held(stream, group, entry, deliveries)
  local info = redis.call('XPENDING', stream, group, entry, entry, 1)
  return info[1] ~= nil and info[1][4] == tonumber(deliveries)
end

local function fields_of(stream, entry)
  local found = redis.call('XRANGE', stream, entry, entry)[1]
  if not found then return nil end
  local fields = {}
  for i = 1, #found[2], 2 do fields[found[2][i]] = found[2][i + 1] end
  return fields
end

-- Take a held entry off the stream; its fields (nil when it is gone already).
local function take(stream, group, entry)
  local fields = fields_of(stream, entry)
  redis.call('XACK', stream, group, entry)
  redis.call('XDEL', stream, entry)
  return fields
end
"""

# KEYS: the kinds set, the signals stream, then per kind (stream, delayed set, bodies
# hash, live ids hash). ARGV: due ms, "1" when the jobs wait in the delayed set, the
# attempts each job counts as having had (0, or 1 for a job queued again that may have
# run before), the number of kinds, the kind names, then (kind index, job id, payload)
# per job. One call per batch, so a batch is stored whole or not at all, and one command
# carries it (far cheaper for the client than a command per job). A job whose id the
# queue holds already (waiting, delayed or leased) is skipped: queueing a job again is
# harmless, which the outbox's relay and reconciler rely on. Returns the jobs stored.
ENQUEUE = """
local due, delayed, before, kinds = ARGV[1], ARGV[2] == '1', ARGV[3], tonumber(ARGV[4])
local stored = 0
for k = 1, kinds do
  redis.call('SADD', KEYS[1], ARGV[4 + k])
end
local head = before .. '\\n' .. due .. '\\n0\\n'
for i = 5 + kinds, #ARGV, 3 do
  local base = 2 + (tonumber(ARGV[i]) - 1) * 4
  local id, payload = ARGV[i + 1], ARGV[i + 2]
  if redis.call('HSETNX', KEYS[base + 4], id, 1) == 1 then
    stored = stored + 1
    if delayed then
      redis.call('ZADD', KEYS[base + 2], due, id)
      redis.call('HSET', KEYS[base + 3], id, head .. payload)
    else
      redis.call('XADD', KEYS[base + 1], '*',
        'id', id, 'a', before, 'd', due, 'e', '', 'p', payload)
    end
  end
end
if delayed and stored > 0 then
  for k = 1, kinds do
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', 1000, '*', 'k', ARGV[4 + k])
  end
end
return stored
"""

# KEYS: per kind (stream, delayed set, bodies hash), then the reclaim cursors hash.
# ARGV: group, consumer, wanted, lease ms (the idle time after which entries are
# reclaimed), now ms. Returns one string per job (one bulk reply each is far cheaper to
# parse than nested arrays):
# "<kind index> <entry id> <deliveries> <attempts before> <due> <id length> <reason
# length>\n<id><reason><payload>".
LEASE = """
local group, consumer = ARGV[1], ARGV[2]
local wanted, min_idle, now = tonumber(ARGV[3]), ARGV[4], ARGV[5]
local cursors = KEYS[#KEYS]
local out = {}

local function packed(kind, entry, deliveries, flat)
  local f = {}
  for i = 1, #flat, 2 do f[flat[i]] = flat[i + 1] end
  local head = {kind, entry, deliveries, f['a'], f['d'], #f['id'], #f['e']}
  return table.concat(head, ' ') .. '\\n' .. f['id'] .. f['e'] .. f['p']
end

local function promote(stream, delayed, bodies, limit)
  local due = redis.call('ZRANGEBYSCORE', delayed, '-inf', now, 'LIMIT', 0, limit)
  for _, id in ipairs(due) do
    local body = redis.call('HGET', bodies, id)
    if body then
      local a_end = string.find(body, '\\n', 1, true)
      local d_end = string.find(body, '\\n', a_end + 1, true)
      local l_end = string.find(body, '\\n', d_end + 1, true)
      local e_len = tonumber(string.sub(body, d_end + 1, l_end - 1))
      redis.call('XADD', stream, '*', 'id', id,
        'a', string.sub(body, 1, a_end - 1),
        'd', string.sub(body, a_end + 1, d_end - 1),
        'e', string.sub(body, l_end + 1, l_end + e_len),
        'p', string.sub(body, l_end + e_len + 1))
      redis.call('HDEL', bodies, id)
    end
    redis.call('ZREM', delayed, id)
  end
end

for i = 1, #KEYS - 1, 3 do
  local stream, kind = KEYS[i], (i + 2) / 3
  promote(stream, KEYS[i + 1], KEYS[i + 2], wanted)
  local need = wanted - #out
  if need > 0 then
    local cursor = redis.call('HGET', cursors, stream) or '0-0'
    local claimed = redis.call(
      'XAUTOCLAIM', stream, group, consumer, min_idle, cursor, 'COUNT', need)
    redis.call('HSET', cursors, stream, claimed[1])
    for _, entry in ipairs(claimed[2]) do
      if entry[2] then
        local info = redis.call('XPENDING', stream, group, entry[1], entry[1], 1)
        table.insert(out, packed(kind, entry[1], info[1][4], entry[2]))
      end
    end
  end
  need = wanted - #out
  if need > 0 then
    local fresh = redis.call(
      'XREADGROUP', 'GROUP', group, consumer, 'COUNT', need, 'STREAMS', stream, '>')
    if fresh then
      for _, entry in ipairs(fresh[1][2]) do
        table.insert(out, packed(kind, entry[1], 1, entry[2]))
      end
    end
  end
  if #out >= wanted then break end
end
return out
"""

# KEYS: the stream, the live ids hash. ARGV: group, then (entry id, delivery count, job
# id) triples.
ACK = (
    _HELD
    + """
local done = 0
for i = 2, #ARGV, 3 do
  if held(KEYS[1], ARGV[1], ARGV[i], ARGV[i + 1]) then
    redis.call('XACK', KEYS[1], ARGV[1], ARGV[i])
    redis.call('XDEL', KEYS[1], ARGV[i])
    redis.call('HDEL', KEYS[2], ARGV[i + 2])
    done = done + 1
  end
end
return done
"""
)

# KEYS: stream, delayed set, bodies hash, signals stream.
# ARGV: group, entry id, delivery count, due ms, reason, kind.
RETRY = (
    _HELD
    + """
if not held(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
local fields = take(KEYS[1], ARGV[1], ARGV[2])
if not fields then return 0 end
local attempts = tonumber(fields['a']) + tonumber(ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], fields['id'])
redis.call('HSET', KEYS[3], fields['id'],
  attempts .. '\\n' .. ARGV[4] .. '\\n' .. #ARGV[5] .. '\\n' .. ARGV[5] .. fields['p'])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', 1000, '*', 'k', ARGV[6])
return 1
"""
)

# KEYS: stream, dead letters stream, live ids hash. ARGV: group, entry id, delivery
# count, reason, now.
DEAD = (
    _HELD
    + """
if not held(KEYS[1], ARGV[1], ARGV[2], ARGV[3]) then return 0 end
local fields = take(KEYS[1], ARGV[1], ARGV[2])
if not fields then return 0 end
redis.call('HDEL', KEYS[3], fields['id'])
redis.call('XADD', KEYS[2], '*', 'id', fields['id'],
  'a', tonumber(fields['a']) + tonumber(ARGV[3]), 'r', ARGV[4], 'f', ARGV[5], 'p', fields['p'])
return 1
"""
)

# KEYS: the stream. ARGV: group, consumer, entry id, delivery count.
# XCLAIM with JUSTID resets the entry's idle time without counting a delivery, so the
# token stays valid (https://redis.io/docs/latest/commands/xclaim/).
EXTEND = (
    _HELD
    + """
if not held(KEYS[1], ARGV[1], ARGV[3], ARGV[4]) then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""
)

# KEYS: the streams a queue used. ARGV: group, consumer, idle ms. Removes the consumer,
# and any other idle that long, when it holds no pending entry: XGROUP DELCONSUMER drops
# a consumer's pending entries with it, which would strand their jobs
# (https://redis.io/docs/latest/commands/xgroup-delconsumer/).
RELEASE = """
local group, me, idle_limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
for _, stream in ipairs(KEYS) do
  local consumers = redis.pcall('XINFO', 'CONSUMERS', stream, group)
  if type(consumers) == 'table' and not consumers.err then
    for _, flat in ipairs(consumers) do
      local c = {}
      for i = 1, #flat, 2 do c[flat[i]] = flat[i + 1] end
      if c['pending'] == 0 and (c['name'] == me or c['idle'] > idle_limit) then
        redis.call('XGROUP', 'DELCONSUMER', stream, group, c['name'])
      end
    end
  end
end
return 1
"""

# KEYS: the kind's dead stream, its job stream, its live ids hash. ARGV: the dead entry's
# id, the job id, due ms. Moves that dead letter back into the job stream as leased once
# before (attempts 1, its reason as the last error: whoever runs it knows it may be partly
# done), in one step, so it is never in both streams or in neither. The caller finds the entry.
REVIVE = """
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if not found then return 0 end
local f = {}
for i = 1, #found[2], 2 do f[found[2][i]] = found[2][i + 1] end
if f['id'] ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[3], f['id'], 1)
redis.call('XADD', KEYS[2], '*', 'id', f['id'], 'a', 1, 'd', ARGV[3], 'e', f['r'], 'p', f['p'])
redis.call('XDEL', KEYS[1], ARGV[1])
return 1
"""

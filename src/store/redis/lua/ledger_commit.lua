-- ledger_commit.lua: one ledger event's whole change, checked and applied atomically.
--
-- KEYS[1]  processed mark of the event           ({shop}; unused without an event)
-- KEYS[2]  per-topic processed counts (hash)       ({shop}; unused without an event)
-- KEYS[3]  dirty marks: sorted set scored by the time of the last change ({shop})
-- KEYS[4 .. 3+E]        expected records           ({shop})
-- KEYS[4+E .. 3+E+W]    written records            ({shop})
-- KEYS[4+E+W .. 3+E+2W] per written record, its item's level index (any {shop} key when the
--                       record is not a level; it is then left alone)
-- KEYS[4+E+2W .. 3+E+2W+L] per line write, the variant's line set ({shop})
-- KEYS[#KEYS]           the shop's tombstone (shop/redact): while it lives, nothing is written
-- ARGV[1]  mark ttl in ms, or "" when the commit is not an event: no mark is checked or left,
--          and nothing is counted
-- ARGV[2]  topic
-- ARGV[3]  E: number of expected records; ARGV[4]  W: number of written records;
-- ARGV[5]  L: number of line writes;       ARGV[6]  D: number of dirty marks
-- ARGV[7]  now, in ms (the score of the dirty marks: settling counts from the last change)
-- ARGV[8]  "1" when the commit revives a redacted shop (a new install): it lifts the tombstone
-- then E pairs (present "1"/"0", bytes), W pairs (present, bytes), W level locations ("" when
-- the record is not a level), L pairs (old member or "", new member or ""), D dirty marks.
--
-- Returns 1 applied, 0 already processed, -1 conflict, -2 the shop was redacted (nothing written
-- in the last three cases).

local event = ARGV[1] ~= ''
if event and redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end

local gone = KEYS[#KEYS]
local revive = ARGV[8] == '1'
if not revive and redis.call('EXISTS', gone) == 1 then
  return -2
end

local e, w, l, d = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local a = 9

-- One call per kind of command rather than per record: each call from a script costs a few
-- microseconds of its own, and a flash sale commits thousands of these a second. In slices of
-- SLICE values (even, so pairs stay whole): `unpack` of a few thousand values overflows Lua's
-- stack, and a commit that rebooks a long queue writes that many records.
local SLICE = 1000
local function sliced(list, call)
  for i = 1, #list, SLICE do
    call(unpack(list, i, math.min(i + SLICE - 1, #list)))
  end
end

if e > 0 then
  local keys, current = {}, {}
  for i = 1, e do keys[i] = KEYS[3 + i] end
  sliced(keys, function(...)
    local values = redis.call('MGET', ...)
    for j = 1, #values do current[#current + 1] = values[j] end
  end)
  for i = 1, e do
    local present, bytes = ARGV[a], ARGV[a + 1]
    a = a + 2
    if present == '1' then
      if current[i] ~= bytes then return -1 end
    elseif current[i] then
      return -1
    end
  end
end

if revive then
  redis.call('DEL', gone)
end

local k = 4 + e
local levels = 4 + e + w
local set, del = {}, {}
for i = 1, w do
  local present, bytes = ARGV[a], ARGV[a + 1]
  a = a + 2
  if present == '1' then
    set[#set + 1] = KEYS[k + i - 1]
    set[#set + 1] = bytes
  else
    del[#del + 1] = KEYS[k + i - 1]
  end
end
sliced(set, function(...) redis.call('MSET', ...) end)
sliced(del, function(...) redis.call('DEL', ...) end)
for i = 1, w do
  local location = ARGV[a]
  a = a + 1
  if location ~= '' then
    if redis.call('EXISTS', KEYS[k + i - 1]) == 1 then
      redis.call('ZADD', KEYS[levels + i - 1], 0, location)
    else
      redis.call('ZREM', KEYS[levels + i - 1], location)
    end
  end
end

local lines = levels + w
for i = 1, l do
  local old, new = ARGV[a], ARGV[a + 1]
  a = a + 2
  if old ~= '' then redis.call('ZREM', KEYS[lines + i - 1], old) end
  if new ~= '' then redis.call('ZADD', KEYS[lines + i - 1], 0, new) end
end

local marks = {}
for i = 1, d do
  marks[#marks + 1] = ARGV[7]
  marks[#marks + 1] = ARGV[a]
  a = a + 1
end
sliced(marks, function(...) redis.call('ZADD', KEYS[3], ...) end)

if event then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
end
return 1

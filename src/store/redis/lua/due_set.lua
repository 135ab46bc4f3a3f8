-- due_set.lua: make shops due at a time or earlier, in the index of shops with work due.
--
-- KEYS[1]  the due index: sorted set of shops scored by when their work is due, in ms (the lane's hash tag)
-- ARGV[1]  the time (ms) each shop is due at the latest
-- ARGV[2 ..] the shops
--
-- A shop that is absent is added at ARGV[1]. A shop that is present moves to ARGV[1] or, when
-- it is due by then already, 1 ms earlier than it was: every call changes the score, so a pass
-- that read the old score cannot take the shop out afterwards (due_reschedule.lua compares).
--
-- Returns the number of shops added.

local at = tonumber(ARGV[1])
local added = 0
for i = 2, #ARGV do
  local current = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if current then
    local score = math.max(0, math.min(at, tonumber(current) - 1))
    -- '%d': Lua would write a number as '%.14g', which rounds past 14 digits.
    redis.call('ZADD', KEYS[1], string.format('%d', score), ARGV[i])
  else
    redis.call('ZADD', KEYS[1], at, ARGV[i])
    added = added + 1
  end
end
return added

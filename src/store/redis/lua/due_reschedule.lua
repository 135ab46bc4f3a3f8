-- due_reschedule.lua: after a pass over a shop, move it to when its next work is due, or take it
-- out of the index, unless something made it due again since the pass read it.
--
-- KEYS[1]  the due index: sorted set of shops scored by when their work is due, in ms (the lane's hash tag)
-- ARGV[1]  the shop
-- ARGV[2]  the score the pass read
-- ARGV[3]  when its next work is due (ms), or "" to take it out
--
-- Returns 1 when moved or taken out, 0 when the score changed meanwhile (or the shop is gone,
-- forgotten by shop/redact): nothing is written then.

local current = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not current or tonumber(current) ~= tonumber(ARGV[2]) then
  return 0
end
if ARGV[3] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return 1

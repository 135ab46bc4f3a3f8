-- clear_dirty.lua: drop dirty marks whose effects have been reconciled, unless the ledger
-- changed them again meanwhile (their score, the time of the last change, moved on).
--
-- KEYS[1]  dirty marks, sorted set scored by the time of the last change ({shop})
-- ARGV     pairs: mark, the score it had when it was read
--
-- Returns the number of marks removed.

local removed = 0
for i = 1, #ARGV, 2 do
  local score = redis.call('ZSCORE', KEYS[1], ARGV[i])
  if score and tonumber(score) == tonumber(ARGV[i + 1]) then
    redis.call('ZREM', KEYS[1], ARGV[i])
    removed = removed + 1
  end
end
return removed

-- promote.lua: move retries whose delay is over from the delayed set back into the queue.
--
-- KEYS[1]  delayed sorted set (the lane's hash tag), scored by due time in ms
-- KEYS[2]  queue stream (the lane's hash tag)
-- ARGV[1]  now, ms since the Unix epoch (passed in rather than read with TIME so the script
--          stays deterministic and instances agree on one clock source per call)
-- ARGV[2]  most members to move in one call (keeps the script short; callers loop)
--
-- Returns how many entries were moved.

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'e', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due

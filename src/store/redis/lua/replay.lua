-- replay.lua: move one dead letter back into the queue.
--
-- KEYS[1]  dead-letter stream (the lane's hash tag)
-- KEYS[2]  queue stream (the lane's hash tag)
-- ARGV[1]  dead-letter entry id
-- ARGV[2]  the encoded envelope, attempt count reset to 0
--
-- Returns 1 when replayed, 0 when the dead letter no longer exists.

-- XDEL doubles as the guard: of two concurrent replays of one dead letter, only the one that
-- deletes it queues it.
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then
  return 0
end
redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
return 1

-- ack.lua: an entry is done; it leaves the consumer group's pending list and the stream.
--
-- KEYS[1]  queue stream (the lane's hash tag)
-- ARGV[1]  consumer group
-- ARGV[2]  entry id
--
-- Returns 1 when the entry was still pending, 0 when it had been settled already.

-- Deleting the entry too keeps the stream as long as the backlog, not as long as history.
local acked = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return acked

-- dead.lua: move an entry from the queue to the dead-letter stream with the reason.
--
-- KEYS[1]  queue stream (the lane's hash tag)
-- KEYS[2]  dead-letter stream (the lane's hash tag)
-- ARGV[1]  consumer group
-- ARGV[2]  entry id
-- ARGV[3]  the encoded envelope
-- ARGV[4]  reason
-- ARGV[5]  kind of dead letter ("webhook")
-- ARGV[6]  failure time, ms since the Unix epoch
--
-- Returns 1 when dead-lettered, 0 when the entry had been settled already (nothing added).

-- Same guard as retry.lua: an entry another consumer already settled must not show up as dead.
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'e', ARGV[3], 'reason', ARGV[4], 'kind', ARGV[5], 'at', ARGV[6])
return 1

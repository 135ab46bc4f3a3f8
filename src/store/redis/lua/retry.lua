-- retry.lua: take an entry away from its consumer and park it until its retry delay is over.
--
-- KEYS[1]  queue stream (the lane's hash tag)
-- KEYS[2]  delayed sorted set (the lane's hash tag), scored by due time in ms
-- ARGV[1]  consumer group
-- ARGV[2]  entry id
-- ARGV[3]  due time, ms since the Unix epoch
-- ARGV[4]  the envelope re-encoded with its attempt count raised by one
--
-- Returns 1 when parked, 0 when the entry had been settled already (nothing parked).

-- XACK tells whether the entry is still pending. If another consumer re-claimed and settled it
-- meanwhile, parking it again would process the webhook twice for no reason.
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1

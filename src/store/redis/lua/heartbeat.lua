-- heartbeat.lua: an instance says it is alive, and learns how many are.
--
-- KEYS[1]  the live instances ({instances}): sorted set of instance ids scored by when their
--          heartbeat lapses, in ms
-- ARGV[1]  the instance
-- ARGV[2]  now, ms since the Unix epoch (passed in, as promote.lua does)
-- ARGV[3]  how long this heartbeat lasts, in ms
--
-- Returns the number of live instances, this one included. Instances whose heartbeat lapsed
-- (they died without saying so) are dropped here, so the count settles within one lifetime.

local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[3])), ARGV[1])
return redis.call('ZCARD', KEYS[1])

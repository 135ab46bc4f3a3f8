-- lease.lua: take or renew a lease, so one instance at a time does a shop's work.
--
-- KEYS[1]  the lease ({shop})
-- ARGV[1]  holder (an id unique to the instance)
-- ARGV[2]  ttl in ms (a holder that dies frees the lease after it)
--
-- Returns 1 when the holder has the lease now, 0 when another holder does.

local current = redis.call('GET', KEYS[1])
if current and current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1

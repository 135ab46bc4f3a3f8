-- release.lua: give a lease back, only if this holder still has it.
--
-- KEYS[1]  the lease ({shop})
-- ARGV[1]  holder
--
-- Returns 1 when released, 0 when the holder no longer had it.

if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0

-- renew.lua: a consumer about to process an entry of its batch renews its hold on it, so the
-- entries waiting their turn behind the shop lock do not look idle to the re-claimer (L10).
--
-- KEYS[1]  queue stream (the lane's hash tag)
-- ARGV[1]  consumer group
-- ARGV[2]  entry id
-- ARGV[3]  consumer
--
-- Returns 1 when the consumer still held the entry (its idle time is reset, its delivery count
-- unchanged), 0 when another consumer has taken it over or it was settled.

local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then
  return 0
end
-- JUSTID: the claim resets the idle time and leaves the delivery count as it is.
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1

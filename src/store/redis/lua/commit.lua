-- commit.lua: record that an event of a shop has been processed, unless it already was.
--
-- KEYS[1]  processed mark of the event ({shop})
-- KEYS[2]  hash of processed counts by topic ({shop})
-- KEYS[3]  the shop's tombstone (shop/redact): while it lives, nothing is recorded
-- ARGV[1]  how long the mark lives, in milliseconds
-- ARGV[2]  topic
--
-- Returns 1 when this call recorded the event, 0 when it was recorded before or the shop was
-- redacted.

if redis.call('EXISTS', KEYS[3]) == 1 then
  return 0
end

if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', tonumber(ARGV[1])) then
  return 0
end
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return 1
